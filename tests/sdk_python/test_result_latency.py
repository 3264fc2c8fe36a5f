"""A result leaves its worker when its call ends, not when the slower calls read with it end.

Each test first makes the worker busy, so that the calls after it queue up and reach the
worker in one socket read: the case where a worker used to hold every result of a read
until the last call of that read had run. No timing asserts beyond "clearly before the
slow call ends".
"""
import os
import time

import pytest

import yr
from yr.config import InvokeOptions


def nap(s):
    time.sleep(s)
    return s


def wait_for_file(path, timeout):
    """Returns True once `path` exists (the driver creates it after an earlier result came)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.01)
    return False


@yr.instance
class Sleeper:
    def sleep(self, s):
        return nap(s)

    def wait_for_file(self, path, timeout):
        return wait_for_file(path, timeout)


def one_executor(*fns):
    """The functions as stateless functions of a pool that can have one executor only (it
    needs the runtime's only "ssd"), so that their calls queue behind each other there."""
    opts = InvokeOptions(custom_resources={"ssd": 1})
    return [yr.invoke(fn).options(opts).invoke for fn in fns]


@pytest.fixture(params=["method", "stateless"])
def calls(request, driver):
    """(sleep, wait_for_file): submit functions of one instance, or of one stateless executor."""
    if request.param == "method":
        h = Sleeper.invoke()
        yr.get(h.sleep.invoke(0))
        return h.sleep.invoke, h.wait_for_file.invoke
    sleep, wait = one_executor(nap, wait_for_file)
    yr.get(sleep(0))
    return sleep, wait


def test_quick_result_does_not_wait_for_a_slow_call_read_with_it(calls):
    sleep, _ = calls
    busy = sleep(0.3)
    f = sleep(0.05)
    s = sleep(2.5)
    assert yr.get(f, timeout=1.5) == 0.05
    assert yr.wait([s], 1, timeout=0.01)[0] == []   # it came before the slow call ended
    assert yr.get([busy, s], timeout=30) == [0.3, 2.5]


def test_pipelined_calls_return_one_by_one(calls):
    sleep, _ = calls
    busy = sleep(0.2)
    refs = [sleep(0.5) for _ in range(5)]
    assert yr.get(refs[0], timeout=30) == 0.5
    ready, _ = yr.wait(refs, len(refs), timeout=0.01)
    assert refs[-1] not in ready
    assert yr.get([busy, *refs], timeout=30) == [0.2] + [0.5] * 5


def test_wait_returns_when_the_quick_ones_are_done(calls):
    sleep, _ = calls
    busy = sleep(0.2)
    quick = [sleep(0.01), sleep(0.01)]
    slow = [sleep(2), sleep(2)]
    ready, _ = yr.wait(quick + slow, wait_num=2, timeout=30)
    assert {r.id for r in ready} == {r.id for r in quick}
    assert yr.wait(slow, 1, timeout=0.01)[0] == []
    yr.get([busy, *slow], timeout=30)


def test_driver_acting_on_a_result_before_the_next_call_ends_does_not_deadlock(calls, tmp_path):
    sleep, wait = calls
    gate = tmp_path / "result-1-arrived"
    busy = sleep(0.2)
    first = sleep(0.01)
    second = wait(str(gate), 20)   # finishes only once the driver has seen the first result
    assert yr.get(first, timeout=10) == 0.01
    gate.touch()
    assert yr.get(second, timeout=30) is True
    yr.get(busy)
