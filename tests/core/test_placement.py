"""Placement across nodes: spread, local node first, labels and affinity (pure core, no sockets)."""
import pytest

from yr_runtime.core import cluster as c
from yr_runtime.core import placement as p
from yr_runtime.core.resources import Resources
from yr_runtime.wire.errors import ErrorCode

CPU10 = Resources(10_000, 100_000)


def cluster(n=4, labels=None, total=CPU10):
    cl = c.Cluster()
    for i in range(n):
        cl.add_node(f"n{i}", total, (labels or {}).get(f"n{i}", {}))
    return cl


def rule(kind, type_, *ops):
    return p.Rule(kind, type_, tuple(p.Operator(op, key, tuple(vals)) for op, key, *vals in ops))


def create(cl, iid, *rules, cpu=1000, labels=(), requester="", now=0.0, **policy):
    inst = c.Instance(id=iid, job_id="j", resources=Resources(cpu, 100), class_name="C", labels=tuple(labels),
                      affinity=p.Policy(tuple(rules), **policy) if rules or policy else p.NO_POLICY,
                      requester_node=requester, schedule_deadline=now + 30)
    return cl.create(inst, f"w-{iid}", now)


def node_of(cl, iid):
    assert cl.instances[iid].state == c.STARTING, cl.instances[iid]
    return cl.instances[iid].node_id


def refusal(acts):
    (ans,) = [a for a in acts if isinstance(a, c.Answer)]
    assert ans.error is not None
    return ans.error


def counts(cl):
    out = {}
    for inst in cl.instances.values():
        if inst.state == c.PENDING:
            continue
        out[inst.node_id] = out.get(inst.node_id, 0) + 1
    return out


# ---- spread and local node -------------------------------------------------------------------------
@pytest.mark.parametrize("requester", ["", "n2"])
def test_40_instances_of_one_cpu_spread_10_per_node_of_10_cpus(requester):
    cl = cluster(4)
    for i in range(40):
        create(cl, f"i{i}", requester=requester)
    assert counts(cl) == {"n0": 10, "n1": 10, "n2": 10, "n3": 10}
    assert all(n.available.cpu == 0 for n in cl.nodes.values())
    create(cl, "extra")   # a 41st waits for capacity rather than failing
    assert cl.instances["extra"].state == c.PENDING


def test_without_a_requester_the_node_with_most_free_resources_is_chosen():
    cl = cluster(3)
    create(cl, "big", cpu=5000)
    first = node_of(cl, "big")
    create(cl, "next", cpu=1000)
    assert node_of(cl, "next") != first


def test_the_requesters_node_comes_first_while_it_fits_then_the_most_free():
    cl = cluster(3)
    for i in range(10):
        create(cl, f"l{i}", requester="n1")
        assert node_of(cl, f"l{i}") == "n1"
    create(cl, "spill", requester="n1")
    assert node_of(cl, "spill") in ("n0", "n2")
    create(cl, "unknown-requester", requester="elsewhere")
    assert cl.instances["unknown-requester"].state == c.STARTING


def test_a_request_bigger_than_every_node_fails_at_once_one_bigger_than_free_waits():
    cl = cluster(2)
    err = refusal(create(cl, "huge", cpu=20_000))
    assert err.kind is ErrorCode.ERR_RESOURCE_NOT_ENOUGH and "cpu 20000" in str(err)
    create(cl, "a", cpu=10_000)
    create(cl, "b", cpu=10_000)
    create(cl, "c", cpu=10_000)
    assert cl.instances["c"].state == c.PENDING
    acts = cl.tick(31.0)
    assert "timed out waiting for free resources" in str(refusal(acts))


# ---- resource affinity: operators ---------------------------------------------------------------------
ZONES = {"n0": {"zone": "a", "disk": "ssd"}, "n1": {"zone": "b"}, "n2": {"zone": "c", "disk": "hdd"}, "n3": {}}


@pytest.mark.parametrize("op, expected", [
    (("LABEL_IN", "zone", "b", "c"), {"n1", "n2"}),
    (("LABEL_NOT_IN", "zone", "a", "b"), {"n2"}),          # needs the key: n3 (no zone) is out
    (("LABEL_EXISTS", "disk"), {"n0", "n2"}),
    (("LABEL_NOT_EXISTS", "disk"), {"n1", "n3"}),
])
def test_required_resource_affinity_operators(op, expected):
    cl = cluster(4, ZONES)
    for i in range(12):
        create(cl, f"i{i}", rule(p.RESOURCE, p.REQUIRED, op))
    assert set(counts(cl)) == expected


@pytest.mark.parametrize("op, excluded", [
    (("LABEL_IN", "zone", "a"), {"n0"}),
    (("LABEL_EXISTS", "disk"), {"n0", "n2"}),
])
def test_required_anti_resource_affinity_keeps_off_matching_nodes(op, excluded):
    cl = cluster(4, ZONES)
    for i in range(12):
        create(cl, f"i{i}", rule(p.RESOURCE, p.REQUIRED_ANTI, op))
    assert set(counts(cl)) == {"n0", "n1", "n2", "n3"} - excluded


def test_operators_of_one_rule_are_anded_rules_of_one_type_are_ored():
    cl = cluster(4, ZONES)
    both = rule(p.RESOURCE, p.REQUIRED, ("LABEL_EXISTS", "disk"), ("LABEL_IN", "zone", "c"))
    create(cl, "and", both)
    assert node_of(cl, "and") == "n2"
    for i in range(6):
        create(cl, f"or{i}", rule(p.RESOURCE, p.REQUIRED, ("LABEL_IN", "zone", "a")),
               rule(p.RESOURCE, p.REQUIRED, ("LABEL_IN", "zone", "b")))
    assert {node_of(cl, f"or{i}") for i in range(6)} == {"n0", "n1"}


def test_node_id_is_a_label():
    cl = cluster(4)
    for i in range(3):
        create(cl, f"i{i}", rule(p.RESOURCE, p.REQUIRED, ("LABEL_IN", "NODE_ID", "n3")))
        assert node_of(cl, f"i{i}") == "n3"


def test_required_resource_affinity_no_node_satisfies_fails_at_once_naming_it():
    cl = cluster(4, ZONES)
    err = refusal(create(cl, "x", rule(p.RESOURCE, p.REQUIRED, ("LABEL_IN", "zone", "mars"))))
    assert err.kind is ErrorCode.ERR_RESOURCE_NOT_ENOUGH
    assert "REQUIRED RESOURCE affinity [LABEL_IN(zone, [mars])]" in str(err) and "zone=a" in str(err)
    err = refusal(create(cl, "y", rule(p.RESOURCE, p.REQUIRED_ANTI, ("LABEL_EXISTS", "NODE_ID"))))
    assert "REQUIRED_ANTI" in str(err)
    assert "x" not in cl.instances and "y" not in cl.instances
    assert all(n.available == n.total for n in cl.nodes.values())


def test_required_affinity_to_nodes_too_small_fails_at_once_naming_the_resource():
    cl = c.Cluster()
    cl.add_node("small", Resources(1000, 1000), {"zone": "a"})
    cl.add_node("big", Resources(8000, 8000), {"zone": "b"})
    err = refusal(create(cl, "x", rule(p.RESOURCE, p.REQUIRED, ("LABEL_IN", "zone", "a")), cpu=4000))
    assert "cpu 4000" in str(err)


def test_required_priority_prefers_the_earlier_rule():
    cl = cluster(4, ZONES)
    rules = (rule(p.RESOURCE, p.REQUIRED, ("LABEL_IN", "zone", "c")), rule(p.RESOURCE, p.REQUIRED, ("LABEL_IN", "zone", "a")))
    create(cl, "busy", cpu=5000, requester="n0")
    create(cl, "prio", *rules, required_priority=True)
    assert node_of(cl, "prio") == "n2"
    create(cl, "noprio", *rules, required_priority=False, requester="n0")
    assert node_of(cl, "noprio") == "n0"


# ---- preferred ----------------------------------------------------------------------------------------------
def test_preferred_resource_affinity_is_chosen_while_it_fits_then_falls_back():
    cl = cluster(4, ZONES)
    pref = rule(p.RESOURCE, p.PREFERRED, ("LABEL_IN", "zone", "b"))
    for i in range(10):
        create(cl, f"p{i}", pref, requester="n0")
        assert node_of(cl, f"p{i}") == "n1"
    create(cl, "fallback", pref)
    assert node_of(cl, "fallback") != "n1"


def test_preferred_to_a_label_no_node_has_still_runs():
    cl = cluster(2)
    create(cl, "x", rule(p.RESOURCE, p.PREFERRED, ("LABEL_IN", "zone", "mars")))
    assert cl.instances["x"].state == c.STARTING


def test_preferred_anti_avoids_matching_nodes_while_others_fit():
    cl = cluster(2, {"n0": {"gpu": "yes"}})
    create(cl, "x", rule(p.RESOURCE, p.PREFERRED_ANTI, ("LABEL_EXISTS", "gpu")), requester="n0")
    assert node_of(cl, "x") == "n1"


def test_preferred_priority_orders_the_conditions_else_counts_them():
    cl = cluster(4, ZONES)
    first = rule(p.RESOURCE, p.PREFERRED, ("LABEL_IN", "zone", "b"))
    second = rule(p.RESOURCE, p.PREFERRED, ("LABEL_EXISTS", "disk"))
    third = rule(p.RESOURCE, p.PREFERRED, ("LABEL_IN", "zone", "c"))
    create(cl, "ordered", first, second, third)
    assert node_of(cl, "ordered") == "n1"                 # satisfies the first, only it
    create(cl, "counted", first, second, third, preferred_priority=False)
    assert node_of(cl, "counted") == "n2"                 # satisfies two of three


def test_preferred_anti_other_labels_refuses_nodes_that_satisfy_no_preference():
    cl = cluster(4, ZONES)
    pref = rule(p.RESOURCE, p.PREFERRED, ("LABEL_IN", "zone", "b"))
    for i in range(10):
        create(cl, f"p{i}", pref, preferred_anti_other_labels=True)
    create(cl, "waits", pref, preferred_anti_other_labels=True)
    assert cl.instances["waits"].state == c.PENDING
    assert "LABEL_IN(zone, [b])" in str(refusal(cl.tick(31.0)))


# ---- instance affinity ---------------------------------------------------------------------------------------
def test_required_instance_affinity_follows_a_running_instance_label():
    cl = cluster(4)
    create(cl, "db", labels=["database"])
    home = node_of(cl, "db")
    for i in range(5):
        create(cl, f"near{i}", rule(p.INSTANCE, p.REQUIRED, ("LABEL_EXISTS", "database")))
        assert node_of(cl, f"near{i}") == home


def test_required_instance_affinity_waits_for_the_label_and_its_timeout_names_it():
    cl = cluster(2)
    create(cl, "lonely", rule(p.INSTANCE, p.REQUIRED, ("LABEL_EXISTS", "database")))
    assert cl.instances["lonely"].state == c.PENDING     # may appear: not refused at once
    err = refusal(cl.tick(31.0))
    assert err.kind is ErrorCode.ERR_RESOURCE_NOT_ENOUGH
    assert "REQUIRED INSTANCE affinity [LABEL_EXISTS(database)]" in str(err)


def test_a_pending_instance_with_instance_affinity_starts_when_the_label_appears():
    cl = cluster(2)
    create(cl, "follower", rule(p.INSTANCE, p.REQUIRED, ("LABEL_EXISTS", "leader")))
    assert cl.instances["follower"].state == c.PENDING
    create(cl, "leader", labels=["leader"])
    assert node_of(cl, "follower") == node_of(cl, "leader")


def test_required_anti_instance_affinity_spreads_instances_with_the_same_label():
    cl = cluster(4)
    anti = rule(p.INSTANCE, p.REQUIRED_ANTI, ("LABEL_EXISTS", "replica"))
    for i in range(4):
        create(cl, f"r{i}", anti, labels=["replica"], requester="n0")
    assert counts(cl) == {"n0": 1, "n1": 1, "n2": 1, "n3": 1}
    create(cl, "r4", anti, labels=["replica"])
    assert cl.instances["r4"].state == c.PENDING         # every node has one: waits
    cl.terminate("r2", 1.0)                              # its label leaves n2 with it
    assert node_of(cl, "r4") == "n2"


def test_preferred_anti_instance_affinity_spreads_then_doubles_up():
    cl = cluster(3)
    anti = rule(p.INSTANCE, p.PREFERRED_ANTI, ("LABEL_EXISTS", "replica"))
    for i in range(3):
        create(cl, f"r{i}", anti, labels=["replica"], requester="n0")
    assert counts(cl) == {"n0": 1, "n1": 1, "n2": 1}
    create(cl, "r3", anti, labels=["replica"], requester="n0")
    assert node_of(cl, "r3") == "n0"


def test_preferred_instance_affinity_and_not_exists():
    cl = cluster(3)
    create(cl, "cache", labels=["cache"], requester="n2")
    create(cl, "user", rule(p.INSTANCE, p.PREFERRED, ("LABEL_EXISTS", "cache")))
    assert node_of(cl, "user") == "n2"
    create(cl, "away", rule(p.INSTANCE, p.REQUIRED, ("LABEL_NOT_EXISTS", "cache")), requester="n2")
    assert node_of(cl, "away") != "n2"


def test_a_restart_keeps_the_node_and_its_labels_dead_instances_drop_them():
    cl = cluster(2)
    create(cl, "a", labels=["x", "x2"])
    node = cl.nodes[node_of(cl, "a")]
    assert node.instance_labels == {"x": 1, "x2": 1}
    cl.terminate("a", 1.0)
    assert node.instance_labels == {}
