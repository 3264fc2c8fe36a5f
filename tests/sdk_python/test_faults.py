"""Workers that die: at most once by default, restarts with recover_retry_times."""
import os
import signal
import threading
import time

import pytest

import yr


@yr.instance
class Victim:
    def __init__(self):
        self.n = 0

    def pid(self):
        return os.getpid()

    def inc(self):
        self.n += 1
        return self.n

    def sleep(self, seconds):
        time.sleep(seconds)
        return "slept"


def test_killed_worker_fails_in_flight_and_later_calls_naming_the_signal(driver):
    v = Victim.invoke()
    pid = yr.get(v.pid.invoke())
    in_flight = v.sleep.invoke(30)
    time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    t = time.monotonic()
    with pytest.raises(yr.InstanceDiedError, match="SIGKILL") as info:
        yr.get(in_flight, timeout=20)
    assert time.monotonic() - t < 10     # at once, not by the call's own timeout
    assert info.value.code == 1007
    with pytest.raises(yr.InstanceDiedError, match="SIGKILL"):
        yr.get(v.inc.invoke(), timeout=20)


def test_dead_instance_frees_its_resources_and_shows_in_status(driver):
    v = Victim.options(yr.InvokeOptions(cpu=1000)).invoke()
    pid = yr.get(v.pid.invoke())
    before = yr.resources()[0]["allocatable"]["CPU"]
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(yr.InstanceDiedError):
        yr.get(v.inc.invoke(), timeout=20)
    assert yr.resources()[0]["allocatable"]["CPU"] == before + 1000
    from yr import _context
    info = _context.current().master.get_instance(instance_id=v.instance_id)
    assert info.state == "DEAD" and "SIGKILL" in info.exit_reason


def test_restart_budget_restarts_then_stays_dead(driver):
    v = Victim.options(yr.InvokeOptions(recover_retry_times=1)).invoke()
    first = yr.get(v.pid.invoke())
    os.kill(first, signal.SIGKILL)
    second = yr.get(v.pid.invoke(), timeout=30)      # a new worker answers
    assert second != first
    assert yr.get(v.inc.invoke(), timeout=30) == 1   # fresh state (no saved state yet)
    in_flight = v.sleep.invoke(0.5)
    os.kill(second, signal.SIGKILL)
    with pytest.raises(yr.InstanceDiedError, match="SIGKILL"):
        yr.get(in_flight, timeout=30)
    with pytest.raises(yr.InstanceDiedError):
        yr.get(v.inc.invoke(), timeout=30)


def test_calls_in_flight_at_a_recovered_death_run_again(driver, tmp_path):
    v = Victim.options(yr.InvokeOptions(recover_retry_times=2)).invoke()
    pid = yr.get(v.pid.invoke())
    in_flight = v.sleep.invoke(2)
    time.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    assert yr.get(in_flight, timeout=30) == "slept"
    assert yr.get(v.pid.invoke(), timeout=30) != pid


@yr.instance
class Saver:
    def __init__(self):
        self.n = 0
        self.inits = getattr(self, "inits", 0) + 1

    def inc(self, save=True):
        self.n += 1
        if save:
            yr.save_state()
        return self.n

    def pid(self):
        return os.getpid()

    def rollback(self):
        yr.load_state()
        return self.n


def test_restart_resumes_from_saved_state(driver):
    s = Saver.options(yr.InvokeOptions(recover_retry_times=1)).invoke()
    assert yr.get([s.inc.invoke() for _ in range(3)]) == [1, 2, 3]
    assert yr.get(s.inc.invoke(save=False)) == 4      # not saved: lost at the death
    os.kill(yr.get(s.pid.invoke()), signal.SIGKILL)
    assert yr.get(s.inc.invoke(), timeout=30) == 4     # resumed from n == 3, constructor not rerun


def test_load_state_puts_back_the_saved_state(driver):
    s = Saver.invoke()
    yr.get(s.inc.invoke())
    yr.get(s.inc.invoke(save=False))
    assert yr.get(s.rollback.invoke()) == 1


def test_save_state_outside_an_instance_is_an_error(driver):
    with pytest.raises(RuntimeError, match="inside a method"):
        yr.save_state()


def test_constructor_failure_does_not_restart_in_a_loop(driver):
    @yr.instance
    class Broken:
        def __init__(self):
            raise RuntimeError("no")

        def pid(self):
            return os.getpid()
    b = Broken.options(yr.InvokeOptions(recover_retry_times=3)).invoke()
    for _ in range(3):
        with pytest.raises(RuntimeError, match="no"):
            yr.get(b.pid.invoke(), timeout=30)
    from yr import _context
    info = _context.current().master.get_instance(instance_id=b.instance_id)
    assert info.restarts == 0 and info.state == "RUNNING"


@yr.instance
class Stubborn:
    def pid(self):
        return os.getpid()

    def forever(self, ignore_sigterm):
        if ignore_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(0.05)

    def quick(self, i):
        return i


def _gone(pid: int, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split()[2] == "Z":
                    return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("ignore_sigterm", [False, True])
def test_terminate_stops_a_method_that_never_returns(driver, ignore_sigterm):
    s = Stubborn.invoke()
    pid = yr.get(s.pid.invoke())
    stuck = s.forever.invoke(ignore_sigterm)
    time.sleep(0.2)
    s.terminate()
    assert _gone(pid, 10), "SIGTERM, then SIGKILL after the grace period, should have ended it"
    with pytest.raises((yr.InstanceTerminatedError, yr.InstanceDiedError)):
        yr.get(stuck, timeout=10)


def test_terminate_racing_calls_ends_every_call(driver):
    s = Stubborn.invoke()
    yr.get(s.pid.invoke())
    refs = [s.quick.invoke(i) for i in range(200)]
    s.terminate()
    s.terminate()
    for i, ref in enumerate(refs):
        try:
            assert yr.get(ref, timeout=15) == i
        except (yr.InstanceTerminatedError, yr.InstanceDiedError):
            pass   # either its result or a terminated error, never a hang


class Unpicklable(Exception):
    def __init__(self, msg):
        super().__init__(msg)
        self.lock = threading.Lock()


def test_unpicklable_exception_arrives_as_text_with_traceback(driver):
    @yr.invoke
    def raise_it():
        raise Unpicklable("cannot travel")
    with pytest.raises(yr.YRInvokeError) as info:
        yr.get(raise_it.invoke(), timeout=30)
    assert "cannot travel" in str(info.value) and "Traceback" in str(info.value)
    assert yr.get(yr.put(1)) == 1
