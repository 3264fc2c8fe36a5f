"""The seed page's Python examples, verbatim, with a temporary runtime and with `yr start`."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from yr_testing import ROOT, run_script, wait_no_runtime_processes

EXAMPLES = ROOT / "examples" / "python"
SEED = Path(os.environ.get("YR_SEED_PAGE", ROOT.parent / "shared" / "seed" / "stateful-functions.md"))


def yr_cli(*args, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "yr_runtime.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, **(env or {})))


@pytest.fixture
def fresh_root(tmp_path):
    """A session root nobody else uses: no runtime is running there."""
    return {"YR_SESSION_ROOT": str(tmp_path / "sessions")}


@pytest.mark.skipif(not SEED.exists(), reason="the seed page is not beside this checkout")
def test_examples_are_the_seed_page_verbatim():
    import re
    blocks = re.findall(r"```python\n(.*?)```", SEED.read_text(), re.S)
    files = ["counter.py", "resources.py", "pass_handle.py"]
    assert [(EXAMPLES / f).read_text() for f in files] == blocks


@pytest.mark.parametrize("script, expected", [("counter.py", "3 3\n"), ("pass_handle.py", "3\n3\n")])
def test_examples_with_a_temporary_runtime(script, expected, fresh_root):
    out = run_script(EXAMPLES / script, env=fresh_root)
    assert out.returncode == 0, out.stderr
    assert out.stdout == expected
    assert wait_no_runtime_processes(10, root=fresh_root["YR_SESSION_ROOT"]) == []


def test_examples_against_yr_start(fresh_root):
    started = yr_cli("start", "--master", "-s", 'function_agent.args.custom_resources="{\\"ssd\\":1}"',
                     env=fresh_root)
    assert started.returncode == 0, started.stderr
    try:
        for script, expected in [("counter.py", "3 3\n"), ("resources.py", "3\n"), ("pass_handle.py", "3\n3\n")]:
            out = run_script(EXAMPLES / script, env=fresh_root)
            assert (out.returncode, out.stdout) == (0, expected), out.stderr
        status = yr_cli("status", env=fresh_root)
        assert status.returncode == 0
        assert "ssd: 1/1 available" in status.stdout
        assert status.stdout.count("terminated by its owner") >= 3
    finally:
        stopped = yr_cli("stop", env=fresh_root)
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stdout
    assert wait_no_runtime_processes(10, root=fresh_root["YR_SESSION_ROOT"]) == []


def test_resources_example_without_ssd_fails_clearly(fresh_root):
    out = run_script(EXAMPLES / "resources.py", env=fresh_root)
    assert out.returncode != 0
    assert "custom resource 'ssd' requested, but no node declares it" in out.stderr
