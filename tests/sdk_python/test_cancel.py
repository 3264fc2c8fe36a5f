"""yr.cancel (openYuanrong's signature): a stateless call not sent yet never runs, a running
one is interrupted (its executor survives and serves the next call) or, if it does not stop
within the grace, stopped with its executor; yr.get raises CancelError; instance calls are
left alone."""
import os
import signal
import time

import psutil
import pytest

import yr


def wait_gone(pid, limit=30):
    """Waits until process `pid` has exited (raises if it has not within `limit` s)."""
    def gone():
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True
    deadline = time.monotonic() + limit
    while not gone():
        assert time.monotonic() < deadline, f"process {pid} is still running"
        time.sleep(0.05)


def wait_for(path, limit=30):
    """Waits until `path` exists with something written in it (the worker opens it, then
    writes: reading between the two found it empty)."""
    deadline = time.monotonic() + limit
    while not (os.path.exists(path) and os.path.getsize(path) > 0):
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


@yr.invoke
def spin(started):
    """A pure-Python busy loop: only an interrupt stops it."""
    with open(started, "w") as f:
        f.write(str(os.getpid()))
    n = 0
    while True:
        n += 1


@yr.invoke
def stuck(started, seconds=60, swallow=False):
    """A call that does not stop when interrupted: blocked in C with the signal masked (as C
    code that never returns to Python), or catching the interrupt and going on."""
    if not swallow:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
    with open(started, "w") as f:
        f.write(str(os.getpid()))
    try:
        time.sleep(seconds)
    except BaseException:
        time.sleep(seconds)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR2})
    return "stuck call ended"


@yr.invoke
def child(started, finished, seconds):
    """Says whether it was interrupted (a file), else finishes after `seconds`."""
    with open(started, "w") as f:
        f.write(str(os.getpid()))
    try:
        time.sleep(seconds)
    except BaseException as e:
        with open(finished, "w") as f:
            f.write(f"interrupted: {type(e).__name__}")
        raise
    with open(finished, "w") as f:
        f.write("finished")
    return "child done"


@yr.invoke
def parent(started, finished, seconds):
    return yr.get(child.invoke(started, finished, seconds))


@yr.invoke
def pid_of():
    return os.getpid()


def cancelled(ref):
    with pytest.raises(yr.CancelError, match="cancelled") as e:
        yr.get(ref, timeout=30)
    assert isinstance(e.value, RuntimeError)   # openYuanrong raises a RuntimeError


@pytest.mark.parametrize("kind", ["sleep", "busy loop"])
def test_a_running_call_is_interrupted_and_its_worker_serves_the_next_call(driver, tmp_path, kind):
    started, finished = str(tmp_path / "started"), str(tmp_path / "finished")
    ref = long_call.invoke(started, finished) if kind == "sleep" else spin.invoke(started)
    wait_for(started)
    pid = int(open(started).read())
    t0 = time.monotonic()
    yr.cancel(ref)
    cancelled(ref)
    assert time.monotonic() - t0 < 30          # not after the 60 s call
    assert yr.get(pid_of.invoke(), timeout=30) == pid   # the same executor, alive
    assert psutil.pid_exists(pid) and not os.path.exists(finished)
    assert yr.get(long_call.invoke(str(tmp_path / "s2"), finished, 0), timeout=60) == "done"


@pytest.mark.parametrize("swallow", [False, True])
def test_a_call_that_does_not_stop_is_stopped_with_its_executor(driver, tmp_path, swallow):
    started = str(tmp_path / "started")
    ref = stuck.invoke(started, 60, swallow)
    wait_for(started)
    pid = int(open(started).read())
    yr.cancel(ref)
    cancelled(ref)                 # once the grace is over and the executor is out of the pool
    wait_gone(pid)   # restarted after the grace
    assert yr.get(pid_of.invoke(), timeout=60) != pid   # a new executor serves later calls


def test_without_force_a_call_that_does_not_stop_keeps_its_executor(driver, tmp_path):
    from yr import _interrupt
    started = str(tmp_path / "started")
    ref = stuck.invoke(started, 2 * _interrupt.GRACE + 1)
    wait_for(started)
    pid = int(open(started).read())
    yr.cancel(ref, allow_force=False)
    cancelled(ref)
    # the stuck call runs to its end on its executor, which then serves the next call
    assert yr.get(pid_of.invoke(), timeout=60) == pid


@pytest.mark.parametrize("recursive", [True, False])
def test_allow_recursive_cancels_the_calls_the_cancelled_call_made(driver, tmp_path, recursive):
    started, finished = str(tmp_path / "child-started"), str(tmp_path / "child-ended")
    ref = parent.invoke(started, finished, 60 if recursive else 3)
    wait_for(started)
    yr.cancel(ref, allow_recursive=recursive)
    cancelled(ref)
    wait_for(finished)
    assert open(finished).read() == ("interrupted: CallCancelled" if recursive else "finished")


def test_a_call_on_a_call_thread_is_interrupted_and_its_neighbour_runs_once(driver, tmp_path):
    """Concurrency 2: the busy loop runs on a call thread (an asynchronous exception stops
    it); the other call, on the other thread, is not disturbed."""
    opts = yr.InvokeOptions(concurrency=2)
    started = str(tmp_path / "spin")
    ref = spin.options(opts).invoke(started)
    other = long_call.options(opts).invoke(str(tmp_path / "o"), str(tmp_path / "of"), 2)
    wait_for(started)
    pid = int(open(started).read())
    yr.cancel(ref)
    cancelled(ref)
    assert yr.get(other, timeout=60) == "done"
    assert int(open(str(tmp_path / "o")).read()) == pid   # ran once, on the same executor
    assert yr.get(pid_of.options(opts).invoke(), timeout=30) == pid


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
    """Concurrency 2: a call sleeping on a call thread does not see the interrupt before its
    sleep ends, so its executor is stopped after the grace; the other call, which was not
    cancelled, completes (run again elsewhere if it was still running)."""
    opts = yr.InvokeOptions(concurrency=2)
    a_started = str(tmp_path / "a")
    a = long_call.options(opts).invoke(a_started, str(tmp_path / "af"))
    b = sleep_then.options(opts).invoke("b", 1.0)
    wait_for(a_started)
    pid = int(open(a_started).read())
    yr.cancel(a)
    assert yr.get(b, timeout=60) == "b"
    with pytest.raises(yr.CancelError):
        yr.get(a)
    wait_gone(pid)


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
