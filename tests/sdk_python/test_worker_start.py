"""What a new worker does off its first call's path (docs/architecture.md "Creation"): its
metrics reporter's thread starts once the worker is first idle, and a prepared warm worker
makes its runtime context while idle."""
from __future__ import annotations

import os
import time

import yr
from yr import _context, _telemetry


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


@yr.instance
class Probe:
    def __init__(self):
        self.at_init = _threads()
        # the driver connects and sends its first call meanwhile (it has the endpoint from the
        # create's answer), so the worker finds that call waiting when the constructor ends
        # instead of going idle first on a slow machine (which starts the reporter's thread)
        time.sleep(0.5)

    def threads(self):
        return self.at_init, _threads(), _telemetry.started()


def test_the_first_call_runs_before_the_reporter_thread_starts_and_a_later_one_after(driver):
    for _ in range(3):
        h = Probe.invoke()
        at_init, at_first, started = yr.get(h.threads.invoke(), timeout=60)
        assert started   # the reporter exists (a user metric would report as this worker) ...
        # ... but no thread started since the constructor (modules the worker imported while
        # idle may run threads of their own: counted in at_init)
        assert at_first == at_init, (at_init, at_first)
        deadline = time.monotonic() + 30
        while yr.get(h.threads.invoke(), timeout=60)[1] <= at_init:   # started once the worker was idle
            assert time.monotonic() < deadline, "the reporter's thread never started"
            time.sleep(0.01)
        h.terminate()


def test_a_prepared_worker_makes_its_runtime_context_while_idle_and_its_instance_uses_it(driver):
    """An idle warm worker prepared for the driver's environment makes its runtime context
    before its Assign; the instance then runs with that context, of its own job and id."""
    from prepared_runtime_probe import RuntimeProbe
    probe = yr.instance(RuntimeProbe)
    for _ in range(60):   # bounded: until an instance lands on a prepared worker
        h = probe.invoke()
        got = yr.get(h.report.invoke(), timeout=60)
        h.terminate()
        if got["imported_ahead"]:
            break
        time.sleep(0.2)   # the pool refills and prepares meanwhile
    assert got["imported_ahead"], got
    assert got["same"], got
    job, iid, env_iid = got["ids"]
    assert job == _context.current().job_id, got   # the driver's job
    assert iid == env_iid == h._target.instance_id, got
