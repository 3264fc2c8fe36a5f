"""YR.cancel and YR.getInstance from Java (programs/com/yrtest/Parity.java) against the real runtime."""
import os

from _java_support import NEEDS_JAVA, parse, run_java, wait_no_java_processes

pytestmark = NEEDS_JAVA


def run_parity(sdk, programs, daemon, scenario, tmp_path) -> dict:
    env = dict(os.environ, YR_SERVER_ADDRESS=str(daemon.session_dir))
    env.pop("YR_BRIDGE_MODULE", None)
    proc = run_java(sdk.classpath(programs), "com.yrtest.Parity", scenario, str(tmp_path), env=env, timeout=180)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-6000:]}"
    assert wait_no_java_processes() == []
    return parse(proc.stdout)


def test_cancel(sdk, programs, daemon, tmp_path):
    out = run_parity(sdk, programs, daemon, "cancel", tmp_path)
    assert out == {"cancelled": "true", "cancelled.fast": "true", "done": "0", "done.after_cancel": "0",
                   "empty.code": "1001", "instance_call": "2"}
    assert not (tmp_path / "running").exists()


def test_get_instance_is_the_named_creator(sdk, programs, daemon, tmp_path):
    out = run_parity(sdk, programs, daemon, "get_instance", tmp_path)
    assert out == {"first": "5", "same": "true", "second": "6"}
