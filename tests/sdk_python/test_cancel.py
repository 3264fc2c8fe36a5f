"""yr.cancel (openYuanrong's signature): a stateless call not sent yet never runs, a running
one is stopped with its executor, yr.get raises CancelError; instance calls are left alone."""
import os
import time

import psutil
import pytest

import yr


def wait_for(path, limit=30):
    deadline = time.monotonic() + limit
    while not os.path.exists(path):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


@yr.invoke
def long_call(started, finished, seconds=60):
    with open(started, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(seconds)
    with open(finished, "w") as f:
        f.write("finished")
    return "done"


@yr.invoke
def mark(path, *_deps):
    with open(path, "w") as f:
        f.write("ran")
    return "ran"


@yr.invoke
def sleep_then(x, seconds):
    time.sleep(seconds)
    return x


@yr.instance
class Slow:
    def wait(self, seconds):
        time.sleep(seconds)
        return "instance call"


def test_a_running_call_is_stopped_and_get_raises_cancel_error(driver, tmp_path):
    started, finished = str(tmp_path / "started"), str(tmp_path / "finished")
    ref = long_call.invoke(started, finished)
    wait_for(started)
    pid = int(open(started).read())
    t0 = time.monotonic()
    yr.cancel(ref)
    with pytest.raises(yr.CancelError, match="cancelled") as e:
        yr.get(ref, timeout=30)
    assert isinstance(e.value, RuntimeError)   # openYuanrong raises a RuntimeError
    assert time.monotonic() - t0 < 30          # not after the 60 s call
    psutil.Process(pid).wait(30)               # its executor was stopped (raises if still alive)
    assert not os.path.exists(finished)
    # later calls of the same function run on a new executor
    assert yr.get(long_call.invoke(str(tmp_path / "s2"), str(tmp_path / "f2"), 0), timeout=60) == "done"


def test_a_call_waiting_for_its_arguments_never_runs(driver, tmp_path):
    path = str(tmp_path / "ran")
    dep = sleep_then.invoke(1, 1.0)
    ref = mark.invoke(path, dep)
    yr.cancel([ref])
    with pytest.raises(yr.CancelError):
        yr.get(ref)
    assert yr.get(dep) == 1
    assert yr.get(mark.invoke(str(tmp_path / "other"), dep)) == "ran"   # later calls still run
    assert not os.path.exists(path)


def test_a_call_queued_for_capacity_never_runs(driver, tmp_path):
    """ssd=1 on the test node: one executor at a time, so the second call waits in its pool."""
    opts = yr.InvokeOptions(cpu=100, custom_resources={"ssd": 1})
    started, finished = str(tmp_path / "s"), str(tmp_path / "f")
    first = long_call.options(opts).invoke(started, finished, 1.5)
    path = str(tmp_path / "ran")
    queued = mark.options(opts).invoke(path)
    wait_for(started)
    pid = open(started).read()
    yr.cancel(queued)
    with pytest.raises(yr.CancelError):
        yr.get(queued)
    assert yr.get(first, timeout=60) == "done"
    assert open(started).read() == pid   # the first call was not disturbed (run once, same executor)
    assert yr.get(mark.options(opts).invoke(str(tmp_path / "after")), timeout=60) == "ran"
    assert not os.path.exists(path)


def test_other_calls_of_a_stopped_executor_run_again(driver, tmp_path):
    """Concurrency 2: cancelling one running call stops the executor; the other call, which
    was not cancelled, runs again elsewhere and completes."""
    opts = yr.InvokeOptions(concurrency=2)
    a_started = str(tmp_path / "a")
    a = long_call.options(opts).invoke(a_started, str(tmp_path / "af"))
    b = sleep_then.options(opts).invoke("b", 1.0)
    wait_for(a_started)
    yr.cancel(a)
    assert yr.get(b, timeout=60) == "b"
    with pytest.raises(yr.CancelError):
        yr.get(a)


def test_instance_calls_and_finished_calls_are_left_alone(driver):
    s = Slow.invoke()
    ref = s.wait.invoke(0.5)
    yr.cancel(ref)   # openYuanrong: no effect on instance requests, and no error
    assert yr.get(ref, timeout=60) == "instance call"
    done = sleep_then.invoke(3, 0)
    assert yr.get(done) == 3
    yr.cancel(done)
    assert yr.get(done) == 3
    s.terminate()


def test_bad_arguments_raise_type_error(driver):
    ref = sleep_then.invoke(1, 0)
    with pytest.raises(TypeError, match="ObjectRef"):
        yr.cancel(1)
    with pytest.raises(TypeError, match="ObjectRef"):
        yr.cancel([ref, "x"])
    with pytest.raises(TypeError, match="allow_force"):
        yr.cancel(ref, allow_force="yes")
    with pytest.raises(TypeError, match="allow_recursive"):
        yr.cancel(ref, False, 1)
    assert yr.get(ref) == 1


def test_cancel_needs_an_initialized_driver():
    with pytest.raises(yr.YRError):
        yr.cancel([])
