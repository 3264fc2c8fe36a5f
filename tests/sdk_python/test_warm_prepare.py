"""Idle warm workers take the latest driver environment ahead and import the modules of its
classes (runtime/yr_runtime/node/warm.py); a create never lands on a worker prepared for
another environment."""
import time

import yr

from prepared_probe import Probe, probe

P = yr.instance(Probe)


def _create_until(creator, want, tries: int = 60) -> list:
    """Reports of successive instances until one satisfies `want` (bounded: not a speed test)."""
    reports = []
    for _ in range(tries):
        h = creator.invoke()
        reports.append(yr.get(h.report.invoke(), timeout=60))
        h.terminate()
        if want(reports[-1]):
            break
        time.sleep(0.2)   # the pool refills and prepares meanwhile
    return reports


def test_a_class_from_a_module_is_imported_by_a_warm_worker_before_its_create(driver):
    reports = _create_until(P, lambda r: r["ahead"])
    assert reports[-1]["ahead"], reports


def test_a_worker_prepared_for_one_environment_never_serves_another(driver):
    a = P.options(env_vars={"YR_PREP_TEST_A": "1"})
    b = P.options(env_vars={"YR_PREP_TEST_B": "1"})
    assert _create_until(a, lambda r: r["ahead"])[-1]["ahead"]   # the pool holds workers prepared for a
    first_b = yr.get(b.invoke().report.invoke(), timeout=60)
    assert first_b["env"] == {"YR_PREP_TEST_B": "1"}, first_b   # a's env vars never leak into b
    assert not first_b["ahead"]
    later_b = _create_until(b, lambda r: r["ahead"])
    assert all(r["env"] == {"YR_PREP_TEST_B": "1"} for r in later_b), later_b
    assert later_b[-1]["ahead"]


def test_stateless_functions_from_a_module_use_prepared_workers_too(driver):
    f = yr.invoke(probe)
    assert yr.get(f.invoke(), timeout=60)["env"] == {}
