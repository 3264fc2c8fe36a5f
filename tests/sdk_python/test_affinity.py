"""Labels and affinity on a real node started with `--labels` (the pure rules: tests/core/test_placement.py)."""
import pytest

import yr


@pytest.fixture(scope="module")
def labelled():
    from yr_testing import Daemon   # not at the top: workers import this module to run `twice`
    d = Daemon("--labels", "zone=a,disk=ssd", "--warm", "0")
    yield d
    d.stop()


@pytest.fixture
def drv(labelled):
    yr.init(labelled.config())
    yield
    yr.finalize()


@yr.instance
class Probe:
    def ping(self):
        return "pong"


def on(kind, type_, op, key, *values, **opts):
    rule = yr.Affinity(getattr(yr.AffinityKind, kind), getattr(yr.AffinityType, type_),
                       [yr.LabelOperator(getattr(yr.OperatorType, op), key, list(values))])
    return yr.InvokeOptions(cpu=100, memory=64, schedule_affinities=[rule], **opts)


def twice(x):
    return 2 * x


@pytest.mark.parametrize("rule", [
    ("RESOURCE", "REQUIRED", "LABEL_IN", "zone", "a", "b"),
    ("RESOURCE", "REQUIRED", "LABEL_EXISTS", "disk"),
    ("RESOURCE", "REQUIRED", "LABEL_IN", "NODE_ID", "node-0"),
    ("RESOURCE", "REQUIRED_ANTI", "LABEL_IN", "zone", "b"),
    ("RESOURCE", "PREFERRED", "LABEL_IN", "zone", "mars"),     # preferred: falls back to the node there is
])
def test_an_instance_whose_affinity_the_node_satisfies_runs(drv, rule):
    p = Probe.options(on(*rule)).invoke()
    assert yr.get(p.ping.invoke(), timeout=60) == "pong"
    p.terminate()


@pytest.mark.parametrize("rule, word", [
    (("RESOURCE", "REQUIRED", "LABEL_IN", "zone", "mars"), r"REQUIRED RESOURCE affinity \[LABEL_IN\(zone, \[mars\]\)\]"),
    (("RESOURCE", "REQUIRED", "LABEL_NOT_EXISTS", "disk"), r"LABEL_NOT_EXISTS\(disk\)"),
    (("RESOURCE", "REQUIRED_ANTI", "LABEL_EXISTS", "NODE_ID"), r"REQUIRED_ANTI RESOURCE affinity"),
])
def test_an_affinity_no_node_satisfies_fails_at_once_naming_it(drv, rule, word):
    # a schedule timeout of ten minutes: the answer must come from the labels, not the timeout
    p = Probe.options(on(*rule, schedule_timeout_ms=600_000)).invoke()
    with pytest.raises(yr.YRError, match=word) as info:
        yr.get(p.ping.invoke(), timeout=60)
    assert "zone=a" in str(info.value)                  # the node labels are named too


def test_a_stateless_function_with_an_unsatisfiable_affinity_fails_at_once(drv):
    f = yr.invoke(twice).options(on("RESOURCE", "REQUIRED", "LABEL_IN", "zone", "mars", schedule_timeout_ms=600_000))
    with pytest.raises(yr.YRError, match=r"LABEL_IN\(zone, \[mars\]\)"):
        yr.get(f.invoke(2), timeout=60)
    ok = yr.invoke(twice).options(on("RESOURCE", "REQUIRED", "LABEL_IN", "zone", "a"))
    assert yr.get(ok.invoke(2), timeout=60) == 4


def test_instance_affinity_to_a_running_instances_label(drv):
    db = Probe.options(yr.InvokeOptions(cpu=100, memory=64, labels=["database"])).invoke()
    assert yr.get(db.ping.invoke(), timeout=60) == "pong"
    near = Probe.options(on("INSTANCE", "REQUIRED", "LABEL_EXISTS", "database")).invoke()
    assert yr.get(near.ping.invoke(), timeout=60) == "pong"
    # anti-affinity to it: the only node has it, so this one waits, and its timeout names the rule
    away = Probe.options(on("INSTANCE", "REQUIRED_ANTI", "LABEL_EXISTS", "database", schedule_timeout_ms=500)).invoke()
    with pytest.raises(yr.YRError, match=r"REQUIRED_ANTI INSTANCE affinity \[LABEL_EXISTS\(database\)\]"):
        yr.get(away.ping.invoke(), timeout=60)
    for p in (near, db):
        p.terminate()


def test_anti_affinity_waits_until_the_label_leaves_the_node(drv):
    db = Probe.options(yr.InvokeOptions(cpu=100, memory=64, labels=["solo"])).invoke()
    assert yr.get(db.ping.invoke(), timeout=60) == "pong"
    later = Probe.options(on("INSTANCE", "REQUIRED_ANTI", "LABEL_EXISTS", "solo", schedule_timeout_ms=60_000)).invoke()
    ref = later.ping.invoke()
    ready, _ = yr.wait([ref], timeout=1)
    assert ready == []                                   # still waiting: the node carries "solo"
    db.terminate()
    assert yr.get(ref, timeout=60) == "pong"
    later.terminate()
