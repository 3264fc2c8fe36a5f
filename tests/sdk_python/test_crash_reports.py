"""A dead worker leaves a trace: the caller's error names the function or class, the exit
status and the last lines the worker wrote; the worker's log file has its output; remote
tracebacks name real files; a temporary runtime keeps its logs (<root>/logs-kept)."""
import os
import signal
import time
from pathlib import Path

import pytest
from yr_testing import run_script

import yr


@yr.invoke
def say_bye_and_exit(marker, code):
    print(f"first line {marker}")
    print(f"bye {marker}", end="", flush=True)   # no newline: still reported
    os._exit(code)


@yr.invoke
def segfault():
    import ctypes
    print("about to crash")
    ctypes.string_at(0)


@yr.instance
class Victim:
    def pid(self):
        return os.getpid()

    def shout_and_die(self, marker):
        print(f"dying {marker}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


def test_exit_of_a_stateless_function_names_it_the_code_and_its_last_output(driver):
    with pytest.raises(yr.InstanceDiedError) as info:
        yr.get(say_bye_and_exit.invoke("m1", 3), timeout=60)
    msg = str(info.value)
    assert "say_bye_and_exit" in msg and "exited with code 3" in msg
    assert "first line m1" in msg and "bye m1" in msg


def test_killed_method_names_the_class_method_and_signal(driver):
    v = Victim.invoke()
    with pytest.raises(yr.InstanceDiedError) as info:
        yr.get(v.shout_and_die.invoke("m2"), timeout=60)
    msg = str(info.value)
    assert "Victim.shout_and_die" in msg and "SIGKILL" in msg and "dying m2" in msg


def test_segfault_reports_the_signal_and_the_python_stack(driver):
    with pytest.raises(yr.InstanceDiedError) as info:
        yr.get(segfault.invoke(), timeout=60)
    msg = str(info.value)
    assert "segfault" in msg and "SIGSEGV" in msg
    assert "Fatal Python error" in msg or "in segfault" in msg


def test_worker_interrupted_while_idle_does_not_exit_with_code_0(driver):
    v = Victim.invoke()
    os.kill(yr.get(v.pid.invoke(), timeout=60), signal.SIGINT)
    with pytest.raises(yr.InstanceDiedError) as info:
        for _ in range(100):   # the calls sent before the worker is gone may still succeed
            yr.get(v.pid.invoke(), timeout=60)
            time.sleep(0.05)
    msg = str(info.value)
    assert "exited with code 1" in msg and "KeyboardInterrupt" in msg


def test_worker_log_file_has_what_the_worker_printed(driver):
    marker = f"log-marker-{time.time_ns()}"
    with pytest.raises(yr.InstanceDiedError):
        yr.get(say_bye_and_exit.invoke(marker, 4), timeout=60)
    logs = Path(driver.session_dir) / "logs"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        texts = [p.read_text(errors="replace") for p in logs.glob("worker-*.log")]
        hit = [t for t in texts if f"bye {marker}" in t]
        if hit and "exited with code 4" in hit[0]:
            break
        time.sleep(0.1)
    assert hit, f"no worker log in {logs} has the output"
    assert f"first line {marker}" in hit[0] and "exited with code 4" in hit[0]


def test_traceback_of_a_function_sent_by_value_names_its_file_and_line(driver):
    @yr.invoke
    def local_failure():   # a local function travels by value (cloudpickle)
        raise ValueError("failed here")
    with pytest.raises(ValueError) as info:
        yr.get(local_failure.invoke(), timeout=60)
    msg = str(info.value)
    assert "<dynamic-code>" not in msg
    assert f'File "{__file__}", line ' in msg and 'raise ValueError("failed here")' in msg


SCRIPT = """
import yr
yr.init()

@yr.invoke
def talk():
    print("MARKER from a temporary runtime")
    raise ValueError("boom in main")

try:
    yr.get(talk.invoke(), timeout=60)
except ValueError as e:
    print("CAUGHT", str(e))
yr.finalize()
"""


def test_temporary_runtime_keeps_its_logs_where_documented(tmp_path):
    root = tmp_path / "sessions"
    script = tmp_path / "driver_script.py"
    script.write_text(SCRIPT)
    r = run_script(script, env={"YR_SESSION_ROOT": str(root)}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f'File "{script}", line 8, in talk' in r.stdout   # the __main__ function's real file
    kept = root / "logs-kept"
    deadline = time.monotonic() + 30
    found = []
    while time.monotonic() < deadline and not found:
        found = [p for p in kept.glob("*/worker-*.log") if "MARKER from a temporary runtime" in p.read_text()]
        time.sleep(0.1)
    assert found, f"no kept worker log under {kept}: {list(kept.rglob('*')) if kept.exists() else 'missing'}"
    assert (found[0].parent / "daemon.log").exists()
    assert [p.name for p in root.iterdir() if p.name not in ("logs-kept", "latest")] == []   # session dir gone
