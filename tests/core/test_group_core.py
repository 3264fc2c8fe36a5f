"""Resource groups in the pure core: bundles reserved all or nothing across nodes, instances
placed into a bundle's reservation, removal, job end, node loss. No sockets, no processes."""
import pytest

from yr_runtime.core import cluster as c
from yr_runtime.core import groups as g
from yr_runtime.core.resources import Resources
from yr_runtime.wire.errors import ErrorCode


def R(cpu, mem=100, **custom):
    return Resources(cpu, mem, {k: float(v) for k, v in custom.items()})


def answers(actions):
    return [a for a in actions if isinstance(a, c.Answer)]


def starts(actions):
    return [a for a in actions if isinstance(a, c.StartWorker)]


def inst(iid, cpu=500, mem=100, group="", index=-1, **kw):
    return c.Instance(id=iid, job_id=kw.pop("job", "j1"), resources=R(cpu, mem), class_name="C",
                      resource_group=group, bundle_index=index, **kw)


@pytest.fixture
def two():
    cl = c.Cluster()
    cl.add_node("a", R(4000, 4000))
    cl.add_node("b", R(4000, 4000))
    return cl


def avail(cl):
    return {n.id: n.available.cpu for n in cl.nodes.values()}


def test_group_that_fits_is_reserved_on_nodes_at_once(two):
    (ans,) = answers(two.create_group("rg", "j1", [R(1000), R(1000)], "PACK", "w", 0, None))
    assert ans.error is None and two.groups.groups["rg"].state == g.CREATED
    assert sorted(avail(two).values()) == [2000, 4000]   # PACK: both on one node


def test_spread_and_strict_spread_use_different_nodes(two):
    two.create_group("s", "j1", [R(1000), R(1000)], "SPREAD", "w", 0, None)
    assert avail(two) == {"a": 3000, "b": 3000}
    (ans,) = answers(two.create_group("ss", "j1", [R(100)] * 3, "STRICT_SPREAD", "w2", 0, None))
    assert ans.error.kind is ErrorCode.ERR_RESOURCE_NOT_ENOUGH and "STRICT_SPREAD needs 3 nodes, there are 2" in str(ans.error)


def test_strict_pack_needs_one_node(two):
    (ans,) = answers(two.create_group("sp", "j1", [R(3000), R(3000)], "STRICT_PACK", "w", 0, None))
    assert ans.error.kind is ErrorCode.ERR_RESOURCE_NOT_ENOUGH and "STRICT_PACK needs one node" in str(ans.error)
    (ans,) = answers(two.create_group("p", "j1", [R(3000), R(3000)], "PACK", "w", 0, None))
    assert ans.error is None and avail(two) == {"a": 1000, "b": 1000}   # PACK falls back to two nodes


def test_group_that_can_never_fit_fails_at_once_naming_the_resource_and_takes_nothing(two):
    (ans,) = answers(two.create_group("big", "j1", [R(1000), R(5000)], "PACK", "w", 0, None))
    assert ans.error.kind is ErrorCode.ERR_RESOURCE_NOT_ENOUGH
    assert "can never be reserved" in str(ans.error) and "bundle 1 (cpu=5000m" in str(ans.error)
    (ans,) = answers(two.create_group("gpu", "j1", [R(100, gpu=1)], "PACK", "w", 0, None))
    assert "gpu=1" in str(ans.error)
    assert avail(two) == {"a": 4000, "b": 4000} and not two.groups.groups


def test_reservation_is_all_or_nothing_then_waits_bounded_for_capacity(two):
    two.create(inst("x", cpu=3500), "wx", 0)
    two.create(inst("y", cpu=3500), "wy", 0)
    # each node has 500 free: the first bundle would fit, the second not; nothing is taken
    acts = two.create_group("rg", "j1", [R(400), R(1000)], "SPREAD", "w", 0, timeout=10)
    assert answers(acts) == [] and two.groups.groups["rg"].state == g.PENDING
    assert avail(two) == {"a": 500, "b": 500}
    acts = two.terminate("x", 1)
    (ans,) = [a for a in answers(acts) if a.waiter == "w"]
    assert ans.error is None and two.groups.groups["rg"].state == g.CREATED
    # a second group waiting past its deadline fails, naming what it waited for
    assert answers(two.create_group("late", "j1", [R(3500)], "PACK", "w2", 2, timeout=5)) == []
    assert answers(two.tick(6.9)) == []
    (ans,) = answers(two.tick(7.0))
    assert ans.waiter == "w2" and ans.error.kind is ErrorCode.ERR_RESOURCE_NOT_ENOUGH
    assert "timed out waiting for free resources (cpu=3500m" in str(ans.error) and "late" not in two.groups.groups


def test_bad_names_and_duplicates_are_refused(two):
    for name in ("", "primary"):
        (ans,) = answers(two.create_group(name, "j1", [R(100)], "PACK", "w", 0, None))
        assert ans.error.kind is ErrorCode.ERR_PARAM_INVALID
    two.create_group("rg", "j1", [R(100)], "PACK", "w", 0, None)
    (ans,) = answers(two.create_group("rg", "j1", [R(100)], "PACK", "w", 0, None))
    assert "already exists" in str(ans.error)
    (ans,) = answers(two.create_group("x", "j1", [R(100)], "BEST", "w", 0, None))
    assert "invalid resource group strategy 'BEST'" in str(ans.error)


def test_instance_in_a_bundle_uses_the_bundle_not_the_node(two):
    two.create_group("rg", "j1", [R(1000), R(2000)], "SPREAD", "w", 0, None)
    node_free = avail(two)
    acts = two.create(inst("i", cpu=1000, group="rg", index=0), "wi", 0)
    (s,) = starts(acts)
    assert s.node_id == two.groups.groups["rg"].bundles[0].node_id
    assert avail(two) == node_free   # the node's books do not move: the bundle's do
    assert two.groups.groups["rg"].bundles[0].available.cpu == 0
    # the bundle is full: the next one waits, though its node has room
    acts = two.create(inst("j", cpu=500, group="rg", index=0, schedule_deadline=5), "wj", 0)
    assert starts(acts) == [] and two.instances["j"].state == c.PENDING
    # index -1 takes the first bundle with room (bundle 1)
    (s,) = starts(two.create(inst("k", cpu=500, group="rg"), "wk", 0))
    assert s.node_id == two.groups.groups["rg"].bundles[1].node_id
    # when i dies, j gets its place in bundle 0; the bundle's books come back exactly once
    acts = two.terminate("i", 1)
    assert [s.instance_id for s in starts(acts)] == ["j"]
    two.terminate("j", 2)
    two.terminate("j", 3)
    assert two.groups.groups["rg"].bundles[0].available.cpu == 1000 and avail(two) == node_free


def test_instance_that_can_never_go_into_the_bundle_fails_at_once(two):
    two.create_group("rg", "j1", [R(1000), R(2000)], "PACK", "w", 0, None)
    (ans,) = answers(two.create(inst("a", cpu=1500, group="rg", index=0), "wa", 0))
    assert ans.error.kind is ErrorCode.ERR_RESOURCE_NOT_ENOUGH and "bundle 0 of resource group 'rg'" in str(ans.error)
    assert "the bundle has 1000" in str(ans.error)
    (ans,) = answers(two.create(inst("b", cpu=3000, group="rg"), "wb", 0))
    assert "any bundle" in str(ans.error)
    (ans,) = answers(two.create(inst("c", group="rg", index=2), "wc", 0))
    assert ans.error.kind is ErrorCode.ERR_PARAM_INVALID and "bundle_index 2 is out of range" in str(ans.error)
    (ans,) = answers(two.create(inst("d", group="nope"), "wd", 0))
    assert ans.error.kind is ErrorCode.ERR_PARAM_INVALID and "no resource group named 'nope'" in str(ans.error)


def test_removing_a_group_kills_its_instances_and_returns_the_reservation(two):
    two.create_group("rg", "j1", [R(1000)], "PACK", "w", 0, None)
    two.create(inst("i", cpu=600, group="rg"), "wi", 0)
    two.worker_assigned("i", "wk-i", 1, "/ep")
    two.create(inst("p", cpu=600, group="rg", schedule_deadline=9), "wp", 0)   # waits for the bundle
    two.create(inst("free", cpu=100), "wf", 0)
    acts = two.remove_group("rg", "removed by its owner", 1)
    assert c.StopWorker("i", "wk-i") in acts
    assert two.instances["i"].state == c.DEAD and "resource group 'rg' was removed" in two.instances["i"].exit_reason
    assert two.instances["p"].state == c.DEAD
    assert two.instances["free"].state != c.DEAD
    assert sum(avail(two).values()) == 8000 - 100 and not two.groups.groups
    assert two.remove_group("rg", "again", 2) == []


def test_a_pending_group_removed_answers_its_waiter(two):
    two.create(inst("x", cpu=4000), "wx", 0)
    two.create(inst("y", cpu=4000), "wy", 0)
    two.create_group("rg", "j1", [R(1000)], "PACK", "w", 0, None)
    (ans,) = answers(two.remove_group("rg", "removed", 1))
    assert ans.waiter == "w" and "removed before it was reserved" in str(ans.error)
    assert avail(two) == {"a": 0, "b": 0}


def test_job_end_removes_its_groups(two):
    two.create_group("mine", "j1", [R(1000)], "PACK", "w", 0, None)
    two.create_group("theirs", "j2", [R(1000)], "PACK", "w", 0, None)
    two.job_ended("j1", 1)
    assert list(two.groups.groups) == ["theirs"] and sum(avail(two).values()) == 7000


def test_blocked_instance_lends_its_cpu_to_its_bundle(two):
    two.create_group("rg", "j1", [R(1000, 200)], "PACK", "w", 0, None)   # memory for both: only cpu is lent
    two.create(inst("i", cpu=1000, group="rg"), "wi", 0)
    two.worker_assigned("i", "wk", 1, "/ep")
    acts = two.create(inst("j", cpu=1000, group="rg", schedule_deadline=9), "wj", 0)
    assert starts(acts) == []
    node_free = avail(two)
    acts = two.set_blocked("i", True, 1)
    assert [s.instance_id for s in starts(acts)] == ["j"] and avail(two) == node_free


def test_node_loss_unplaces_its_bundles_and_reserves_them_again(two):
    two.create_group("rg", "j1", [R(1000), R(1000)], "STRICT_SPREAD", "w", 0, None)
    two.create(inst("i", cpu=1000, group="rg", index=0, recover_retry_times=1), "wi", 0)
    lost = two.groups.groups["rg"].bundles[0].node_id
    two.worker_assigned("i", "wk", 1, "/ep")
    two.add_node("c", R(4000, 4000))
    acts = two.remove_node(lost, "its node was lost", 1)
    b0 = two.groups.groups["rg"].bundles[0]
    assert b0.node_id and b0.node_id != lost
    (s,) = starts(acts)
    assert s.instance_id == "i" and s.restart and s.node_id == b0.node_id


def test_bundles_from_openyuanrong_dicts():
    rs = g.bundles_from([{"CPU": 2000, "Memory": 0, "NPU": 0}, {"gpu": 2}])
    assert rs == [R(2000, 128), R(300, 128, gpu=2)]
    for bad in ([{"CPU": -1}], [{"": 1}], [{"CPU": "x"}], ["cpu"]):
        with pytest.raises(g.GroupError):
            g.bundles_from(bad)
