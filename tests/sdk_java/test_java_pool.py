"""The node's warm JVM pool (yr._jvm_pool), through a real runtime and real JVMs: Java
instances and functions created after the node's first Java worker run in JVMs the
zygote started ahead; each is its instance's alone (own pid, own state, own environment),
a crash of one leaves the others, constructor errors still reach the caller, and the
pool's idle JVMs end with their node."""
from __future__ import annotations

import os
import time

import psutil
import pytest
import yr
from yr_testing import Daemon

from _java_support import NEEDS_JAVA, idle_in_pool

pytestmark = NEEDS_JAVA


def pooled(pid: int) -> bool:
    """The JVM was started by the pool (its start environment says so; a worker's own JVM
    is started without YR_JAVA_WARM)."""
    return psutil.Process(pid).environ().get("YR_JAVA_WARM") == "1"


def idle_pool_jvms(daemon: Daemon) -> list[psutil.Process]:
    out = []
    for p in psutil.Process(daemon.proc.pid).children(recursive=True):
        try:
            if "JavaWorkerMain" in " ".join(p.cmdline()) and idle_in_pool(p):
                out.append(p)
        except psutil.Error:
            continue
    return out


@pytest.fixture(scope="module")
def pool_runtime(sdk, programs):
    """A runtime of its own (the test stops it) and a driver whose Java code path is the
    test programs; the node's first Java instance (cold) has filled the pool."""
    old = os.environ.get("YR_JAVA_CODE_PATH")
    os.environ["YR_JAVA_CODE_PATH"] = sdk.classpath(programs)
    d = Daemon()
    yr.init(d.config())
    try:
        first = yr.java_instance_class("com.yrtest.Probe").invoke()
        assert yr.get(first.add.invoke(1), 120) == 1
        yield d, first
    finally:
        yr.finalize()
        d.stop()
        if old is None:
            os.environ.pop("YR_JAVA_CODE_PATH", None)
        else:
            os.environ["YR_JAVA_CODE_PATH"] = old


def probe(*args, env=None):
    opts = yr.InvokeOptions(env_vars=env or {})
    return yr.java_instance_class("com.yrtest.Probe").options(opts).invoke(*args)


def test_pooled_instances_are_isolated_and_keep_their_own_state(pool_runtime):
    _, first = pool_runtime
    assert not pooled(yr.get(first.pid.invoke(), 60))   # the node's first starts its own JVM
    probes = [probe(10 * (i + 1)) for i in range(3)]
    for _ in range(2):
        for i, p in enumerate(probes):
            yr.get(p.add.invoke(i + 1), 60)
    assert [yr.get(p.add.invoke(0), 60) for p in probes] == [12, 24, 36]
    pids = [yr.get(p.pid.invoke(), 60) for p in probes]
    assert len(set(pids)) == 3 and yr.get(first.pid.invoke(), 60) not in pids
    assert all(pooled(pid) for pid in pids)
    for p in probes:
        p.terminate()


def test_a_pooled_jvm_takes_the_instance_environment(pool_runtime):
    a = probe(env={"PROBE_VALUE": "alpha"})
    b = probe(env={"PROBE_VALUE": "beta"})
    assert yr.get(a.env.invoke("PROBE_VALUE"), 60) == "alpha"
    assert yr.get(b.env.invoke("PROBE_VALUE"), 60) == "beta"
    assert yr.get(a.env.invoke("YR_JAVA_WARM"), 60) == "null"   # the pool's own variable is not shown
    assert pooled(yr.get(a.pid.invoke(), 60)) and pooled(yr.get(b.pid.invoke(), 60))
    a.terminate()
    b.terminate()


def test_a_crash_of_one_pooled_instance_leaves_the_others(pool_runtime):
    a, b = probe(), probe()
    pid_a, pid_b = yr.get(a.pid.invoke(), 60), yr.get(b.pid.invoke(), 60)
    assert pooled(pid_a) and pooled(pid_b)
    with pytest.raises(Exception):
        yr.get(a.halt.invoke(3), 60)
    assert yr.get(b.add.invoke(5), 60) == 5
    assert psutil.Process(pid_b).is_running()
    c = probe()
    assert yr.get(c.add.invoke(2), 60) == 2
    b.terminate()
    c.terminate()


def test_constructor_errors_are_reported_from_a_pooled_jvm(pool_runtime):
    bad = probe(-1)
    with pytest.raises(Exception, match="start must be >= 0, got -1"):
        yr.get(bad.add.invoke(1), 60)
    good = probe(4)
    assert yr.get(good.add.invoke(1), 60) == 5
    assert pooled(yr.get(good.pid.invoke(), 60))
    good.terminate()


def test_stateless_functions_run_in_pooled_jvms(pool_runtime):
    pid = yr.get(yr.java_function("com.yrtest.Probe", "staticPid").invoke(), 120)
    assert psutil.Process(pid).is_running()
    # The function's executor may have been the node's first for its code path; a second
    # executor (two calls at once) is pooled.
    pids = set(yr.get([yr.java_function("com.yrtest.Probe", "staticPid").invoke() for _ in range(6)], 120))
    assert any(pooled(p) for p in pids | {pid})


def test_the_pool_ends_with_its_node(pool_runtime):
    daemon, _ = pool_runtime
    deadline = time.monotonic() + 60
    while not idle_pool_jvms(daemon) and time.monotonic() < deadline:
        time.sleep(0.2)   # a replacement may still be starting
    idle = idle_pool_jvms(daemon)
    assert idle, "the pool has no idle JVM after the node's Java creations"
    dirs = [os.path.dirname(p.environ()["YR_JAVA_CALL_SOCKET"]) for p in idle]
    assert all(os.path.isdir(d) for d in dirs)
    yr.finalize()
    daemon.stop()
    gone, alive = psutil.wait_procs(idle, timeout=30)
    assert alive == []
    assert [d for d in dirs if os.path.exists(d)] == []   # each JVM removed its socket's directory
