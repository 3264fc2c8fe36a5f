"""A new worker's metrics reporter starts its thread once the worker is first idle, not on
its first call's path (docs/architecture.md "Creation"), and still reports what the worker
does, user metrics made in the constructor included."""
from __future__ import annotations

import os
import time

import yr
from yr import _telemetry


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


@yr.instance
class Probe:
    def __init__(self):
        self.at_init = _threads()

    def threads(self):
        return self.at_init, _threads(), _telemetry.started()


def test_the_first_call_runs_before_the_reporter_thread_starts_and_a_later_one_after(driver):
    for _ in range(3):
        h = Probe.invoke()
        at_init, at_first, started = yr.get(h.threads.invoke(), timeout=60)
        assert started   # the reporter exists (a user metric would report as this worker) ...
        assert at_first == at_init == 1, (at_init, at_first)   # ... but runs no thread yet
        deadline = time.monotonic() + 30
        while yr.get(h.threads.invoke(), timeout=60)[1] < 2:   # started once the worker was idle
            assert time.monotonic() < deadline, "the reporter's thread never started"
            time.sleep(0.01)
        h.terminate()
