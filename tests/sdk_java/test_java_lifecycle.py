"""A Java driver killed with SIGKILL takes its bridge process, its session and its worker
JVMs with it: the bridge sees its stdin close, finalizes and exits."""
import signal
import subprocess
import time

from _java_support import NEEDS_JAVA, java_processes, wait_no_java_processes

pytestmark = NEEDS_JAVA


def test_a_killed_driver_leaves_nothing_behind(sdk, programs, backend):
    proc = subprocess.Popen(["java", "-cp", sdk.classpath(programs), "com.yrtest.Checks", "killed"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=backend)
    try:
        assert proc.stdout.readline().strip() == "killed.ready=1"
        assert any("JavaWorkerMain" in " ".join(p.cmdline()) for p in java_processes())
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        t0 = time.monotonic()
        assert wait_no_java_processes(30) == []
        assert time.monotonic() - t0 < 30
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
