"""`yr start | status | stop` as a user types them."""
import os
import re

import pytest

from yr_testing import run_script, wait_no_runtime_processes
from test_examples import yr_cli


@pytest.fixture
def root(tmp_path):
    return {"YR_SESSION_ROOT": str(tmp_path / "sessions")}


def test_start_status_stop_with_capacity(root):
    out = yr_cli("start", "--master", "--cpu", "3000", "--memory", "2048", env=root)
    assert out.returncode == 0, out.stderr
    assert "yr runtime started" in out.stdout and "yr.init()" in out.stdout
    session_dir = re.search(r"session: (\S+)", out.stdout).group(1)
    assert oct(os.stat(session_dir).st_mode & 0o777) == "0o700"
    assert oct(os.stat(os.path.join(session_dir, "token")).st_mode & 0o777) == "0o600"
    try:
        again = yr_cli("start", "--master", env=root)
        assert again.returncode != 0 and "already running" in again.stderr
        code = ("import yr, time\n"
                "@yr.instance\nclass A:\n    def ping(self): return 1\n"
                "yr.init(); a = A.options(yr.InvokeOptions(cpu=1000, memory=512)).invoke(); yr.get(a.ping.invoke())\n"
                "import subprocess, sys\n"
                "print(subprocess.run([sys.executable, '-m', 'yr_runtime.cli', 'status'], capture_output=True, text=True).stdout)\n"
                "yr.finalize()\n")
        res = run_script(code, env=root)
        assert res.returncode == 0, res.stderr
        assert "cpu 2000/3000 millicores available" in res.stdout
        assert "memory 1536/2048 MiB available" in res.stdout
        assert re.search(r"A\s+RUNNING\s+pid=\d+", res.stdout)
        status = yr_cli("status", env=root)
        assert "cpu 3000/3000 millicores available" in status.stdout
    finally:
        stop = yr_cli("stop", env=root)
    assert stop.returncode == 0
    assert wait_no_runtime_processes(10, root=root["YR_SESSION_ROOT"]) == []
    none = yr_cli("status", env=root)
    assert none.returncode != 0 and "no yr runtime is running" in none.stderr


def test_bad_settings_are_refused(root):
    out = yr_cli("start", "--master", "-s", "nonsense", env=root)
    assert out.returncode != 0 and "KEY=VALUE" in out.stderr
    out = yr_cli("start", "--master", "-s", "function_agent.args.custom_resources=\"{\\\"ssd\\\":-1}\"", env=root)
    assert out.returncode != 0 and "positive" in out.stderr
    out = yr_cli("start", "--master", "-s", "foo.bar=1", env=root)
    assert out.returncode != 0 and "unknown setting" in out.stderr


@pytest.mark.parametrize("labels, word", [("zone", "key=value"), ("=a", "key=value"), ("NODE_ID=n1", "NODE_ID")])
def test_malformed_node_labels_are_refused(root, labels, word):
    out = yr_cli("start", "--master", "--labels", labels, env=root)
    assert out.returncode != 0 and "--labels" in out.stderr and word in out.stderr
