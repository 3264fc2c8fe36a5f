"""Stateful instances: creation, ordering, state, parallelism, options, named instances."""
import os
import tempfile
import time

import pytest

import yr


@yr.instance
class Counter:
    def __init__(self, start=0, step=1):
        self.count = start
        self.step = step

    def add(self, n=None):
        self.count += self.step if n is None else n
        return self.count

    def get(self):
        return self.count

    def pid(self):
        return os.getpid()

    def wait_for_file(self, path, limit=20.0):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if os.path.exists(path):
                return True
            time.sleep(0.01)
        return False

    def touch(self, path):
        open(path, "w").close()
        return True

    def cwd_and_path(self):
        import sys
        return os.getcwd(), list(sys.path)


def test_invoke_returns_handle_and_calls_share_state(driver):
    c = Counter.invoke()
    assert isinstance(c, yr.InstanceProxy)
    r1, r2 = c.add.invoke(3), c.get.invoke()
    assert isinstance(r1, yr.ObjectRef)
    assert yr.get(r1) == 3 and yr.get(r2) == 3


def test_constructor_args_and_kwargs(driver):
    c = Counter.invoke(10, step=5)
    assert yr.get(c.add.invoke()) == 15
    assert yr.get(c.add.invoke(n=1)) == 16


def test_calls_run_in_submission_order(driver):
    c = Counter.invoke()
    refs = [c.add.invoke(i) for i in range(500)]
    values = yr.get(refs)
    expected = [sum(range(i + 1)) for i in range(500)]
    assert values == expected


def test_each_instance_is_its_own_process(driver):
    a, b = Counter.invoke(), Counter.invoke()
    pa, pb = yr.get([a.pid.invoke(), b.pid.invoke()])
    assert pa != pb and os.getpid() not in (pa, pb)
    yr.get(a.add.invoke(1))
    assert yr.get(b.get.invoke()) == 0  # state is per instance


def test_different_instances_run_in_parallel(driver, tmp_path):
    flag = str(tmp_path / "flag")
    a, b = Counter.invoke(), Counter.invoke()
    waiting = a.wait_for_file.invoke(flag)   # returns True only if b runs while a waits
    yr.get(b.touch.invoke(flag), timeout=30)
    assert yr.get(waiting, timeout=30) is True


def test_concurrency_above_one_runs_calls_of_one_instance_together(driver, tmp_path):
    flag = str(tmp_path / "flag")
    c = Counter.options(yr.InvokeOptions(concurrency=2)).invoke()
    waiting = c.wait_for_file.invoke(flag)
    yr.get(c.touch.invoke(flag), timeout=30)
    assert yr.get(waiting, timeout=30) is True


def test_concurrency_one_serializes_calls(driver, tmp_path):
    flag = str(tmp_path / "flag")
    c = Counter.invoke()
    waiting = c.wait_for_file.invoke(flag, 1.0)
    touched = c.touch.invoke(flag)
    assert yr.get(waiting, timeout=30) is False   # touch could only run after the wait gave up
    assert yr.get(touched, timeout=30) is True


def test_worker_gets_driver_cwd_and_import_path(driver):
    c = Counter.invoke()
    cwd, path = yr.get(c.cwd_and_path.invoke())
    assert cwd == os.getcwd()
    assert os.path.dirname(__file__) in path


def test_terminate_then_calls_fail_at_once(driver):
    c = Counter.invoke()
    assert yr.get(c.add.invoke(1)) == 1
    c.terminate()
    with pytest.raises(yr.InstanceTerminatedError, match="terminated"):
        c.add.invoke(1)
    c.terminate()  # idempotent


def test_terminate_frees_resources(driver):
    c = Counter.options(yr.InvokeOptions(cpu=1000, memory=100)).invoke()
    yr.get(c.get.invoke())
    before = yr.resources()[0]["allocatable"]["CPU"]
    c.terminate(is_sync=True)
    deadline = time.monotonic() + 10
    while yr.resources()[0]["allocatable"]["CPU"] != before + 1000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert yr.resources()[0]["allocatable"]["CPU"] == before + 1000


def test_custom_resources_are_scheduled(driver):
    c = Counter.options(yr.InvokeOptions(cpu=1000, memory=1024, custom_resources={"ssd": 1})).invoke()
    assert yr.get(c.add.invoke(3)) == 3
    ssd = yr.resources()[0]["allocatable"]["ssd"]
    assert ssd == 0
    c.terminate(is_sync=True)


def test_instance_waits_for_busy_capacity(driver):
    opt = yr.InvokeOptions(custom_resources={"gpu": 2})
    first = Counter.options(opt).invoke()
    yr.get(first.get.invoke())
    second = Counter.options(opt).invoke()
    ref = second.add.invoke(7)
    ready, _ = yr.wait([ref], 1, 1.0)
    assert ready == []                      # no gpu free: the second instance waits
    first.terminate()
    assert yr.get(ref, timeout=30) == 7     # and runs once the first one is gone


def test_named_instance_is_get_or_create_and_found_by_name(driver):
    opt = yr.InvokeOptions(name="shared-counter", namespace="tests")
    a = Counter.options(opt).invoke()
    yr.get(a.add.invoke(5))
    b = Counter.options(opt).invoke()
    assert b.instance_id == a.instance_id
    assert yr.get(b.get.invoke()) == 5
    c = yr.get_instance("shared-counter", "tests", timeout=10)
    assert yr.get(c.add.invoke(1)) == 6
    a.terminate()


def test_get_instance_missing_and_slow(driver):
    with pytest.raises(yr.InstanceNotFoundError):
        yr.get_instance("no-such-instance", "tests", timeout=1)

    @yr.instance
    class Slow:
        def __init__(self):
            time.sleep(3)

        def ping(self):
            return "pong"
    Slow.options(yr.InvokeOptions(name="slow-one")).invoke()
    with pytest.raises(TimeoutError):
        yr.get_instance("slow-one", timeout=0.5)
    assert yr.get(yr.get_instance("slow-one", timeout=30).ping.invoke()) == "pong"


def test_options_do_not_leak_into_the_class(driver):
    Counter.options(yr.InvokeOptions(cpu=1000))
    assert Counter._options.cpu == 500


def test_calling_the_class_directly_is_an_error():
    with pytest.raises(RuntimeError, match="Counter.invoke"):
        Counter()


def test_ray_style_keyword_options(driver):
    @yr.instance
    class Env:
        def var(self):
            return os.environ.get("YR_TEST_VAR")
    e = Env.options(name="ray-style", namespace="tests", lifetime="detached", resources={"ssd": 1},
                    runtime_env={"env_vars": {"YR_TEST_VAR": "set"}}).invoke()
    assert yr.get(e.var.invoke()) == "set"
    assert yr.resources()[0]["allocatable"]["ssd"] == 0
    from yr import _context
    assert _context.current().master.get_instance(instance_id=e.instance_id).detached
    e.terminate(is_sync=True)
    with pytest.raises(ValueError, match="unknown option 'bogus'"):
        Env.options(bogus=1)
    with pytest.raises(ValueError, match="runtime_env"):
        Env.options(runtime_env={"pip": ["x"]})


def _states(master, ids):
    """instance id -> its state at the master ("" while its create has not arrived)."""
    out = {}
    for iid in ids:
        try:
            out[iid] = master.get_instance(instance_id=iid).state
        except yr.InstanceNotFoundError:
            out[iid] = ""
    return out


def test_terminate_right_after_create_leaves_nothing_alive(driver):
    # The create is sent asynchronously, so the terminate may reach the master first; the
    # instance must still end up dead (not alive until the driver exits) and its worker gone.
    from yr import _context
    master = _context.current().master
    ids = []
    for _ in range(100):
        c = Counter.invoke()
        c.terminate()
        ids.append(c.instance_id)
    deadline = time.monotonic() + 20
    while set((states := _states(master, ids)).values()) != {"DEAD"} and time.monotonic() < deadline:
        time.sleep(0.2)
    assert {i: s for i, s in states.items() if s != "DEAD"} == {}
    pids = {master.get_instance(instance_id=i).pid for i in ids} - {0}
    deadline = time.monotonic() + 15
    while (alive := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive == []


def _alive(pid: int) -> bool:
    import psutil
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
