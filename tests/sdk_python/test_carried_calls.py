"""First calls carried by a create (docs/architecture.md "Creation", runtime/yr_runtime/node/carry.py):
calls made on a new instance before its create is answered go to the agent with the create
and to the worker with its Assign; the worker runs them after the constructor and the
creator's connection claims their results. Order, errors, terminate and bursts stay right."""
from __future__ import annotations

import threading
import time

import pytest

import yr
from yr import _calls, _telemetry
from yr_runtime.node import carry


@yr.instance
class Tally:
    def __init__(self, start=0):
        self.seen = [start]

    def add(self, k):
        self.seen.append(k)
        return list(self.seen)

    def reporter_running(self):
        r = _telemetry._reporter
        return r is not None and r.running


@yr.instance
class Broken:
    def __init__(self):
        raise KeyError("no such thing")

    def f(self):
        return 1


@pytest.fixture
def claims(monkeypatch):
    """How many calls each connection claimed (a spy around the real Channel.claim)."""
    seen: list[int] = []
    real = _calls.Channel.claim

    def claim(self, instance_id, calls):
        seen.append(len(calls))
        return real(self, instance_id, calls)
    monkeypatch.setattr(_calls.Channel, "claim", claim)
    return seen


def test_the_first_calls_go_with_the_create_and_run_once_each_in_order(driver, claims):
    for _ in range(3):
        h = Tally.invoke(7)
        refs = [h.add.invoke(i) for i in range(10)]
        assert yr.get(refs, timeout=60)[-1] == [7] + list(range(10))
        assert [r[-1] for r in yr.get(refs, timeout=60)] == list(range(10))
        assert yr.get(h.add.invoke(99), timeout=60) == [7] + list(range(10)) + [99]   # after them, on the connection
        h.terminate()
    assert len(claims) == 3 and all(n >= 1 for n in claims), claims


def test_more_calls_than_a_create_carries_still_run_in_submission_order(driver, claims):
    h = Tally.invoke()
    n = carry.MAX_CALLS + 36
    refs = [h.add.invoke(i) for i in range(n)]
    assert yr.get(refs[-1], timeout=60) == [0] + list(range(n))
    assert claims == [carry.MAX_CALLS]   # the others went on the connection, after the claim
    h.terminate()


def test_a_call_waiting_for_an_argument_is_not_carried_and_later_calls_wait_behind_it(driver, claims):
    slow = Tally.invoke()
    pending = slow.add.invoke(1)          # not ready when the next instance's calls are made
    h = Tally.invoke()
    first = h.add.invoke("a")
    waits = h.add.invoke(pending)
    last = h.add.invoke("z")
    assert yr.get(last, timeout=60) == [0, "a", [0, 1], "z"]
    assert yr.get([first, waits], timeout=60)[0] == [0, "a"]
    slow.terminate()
    h.terminate()


def test_a_failed_constructor_fails_the_carried_calls_with_its_error(driver, claims):
    h = Broken.invoke()
    refs = [h.f.invoke() for _ in range(3)]
    for r in refs:
        with pytest.raises(KeyError, match="no such thing"):
            yr.get(r, timeout=60)
    assert claims == [3]
    h.terminate()


def test_a_refused_create_fails_its_carried_calls_with_the_refusal(driver, claims):
    h = Tally.options(yr.InvokeOptions(custom_resources={"tpu": 1})).invoke()
    refs = [h.add.invoke(i) for i in range(3)]
    for r in refs:
        with pytest.raises(yr.ResourceUnavailableError, match="'tpu'"):
            yr.get(r, timeout=60)
    assert claims == []


def test_an_instance_terminated_right_after_its_create_fails_the_carried_calls_and_the_next_one_works(driver):
    for _ in range(5):
        h = Tally.invoke()
        r = h.add.invoke(1)
        h.terminate()
        with pytest.raises(yr.YRError):   # terminated before (or while) the call ran: not a result
            yr.get(r, timeout=60)
    h = Tally.invoke()
    assert yr.get(h.add.invoke(2), timeout=60) == [0, 2]
    h.terminate()


def test_many_instances_created_at_once_each_answer_their_own_calls_in_order(driver, claims):
    small = Tally.options(yr.InvokeOptions(cpu=10, memory=8))
    hs = [small.invoke(i) for i in range(40)]
    refs = [[h.add.invoke(k) for k in range(3)] for h in hs]
    for i, rs in enumerate(refs):
        assert yr.get(rs[-1], timeout=120) == [i, 0, 1, 2]
    assert claims and all(1 <= n <= 3 for n in claims)   # some (those not yet assigned) carried
    for h in hs:
        h.terminate()


def test_threads_waiting_for_carried_calls_each_get_their_result(driver, claims):
    h = Tally.invoke()
    refs = [h.add.invoke(i) for i in range(8)]
    got = {}
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, yr.get(refs[i], timeout=60)), daemon=True)
               for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert got == {i: [0] + list(range(i + 1)) for i in range(8)}
    assert claims == [8]
    h.terminate()


def test_a_new_workers_metrics_reporter_starts_once_its_first_calls_are_answered(driver):
    h = Tally.invoke()
    assert yr.get(h.reporter_running.invoke(), timeout=60) is False   # not on the first call's path
    deadline = time.monotonic() + 30
    while not yr.get(h.reporter_running.invoke(), timeout=60):   # started once the worker was idle
        assert time.monotonic() < deadline, "the reporter never started"
        time.sleep(0.01)
    h.terminate()
