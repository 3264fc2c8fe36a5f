"""Resource groups, function groups and checkpoints on a real runtime (the pure rules:
tests/core/test_group_core.py, test_checkpoint_core.py; two joined nodes: tests/e2e/test_multinode_groups.py)."""
import os
import time

import pytest

import yr

NODE = 4000   # this module's node: 4000 millicores, 4000 MiB


@pytest.fixture(scope="module")
def small():
    from yr_testing import Daemon   # not at the top: workers import this module for the classes below
    d = Daemon("--cpu", str(NODE), "--memory", str(NODE), "--warm", "0")
    yield d
    d.stop()


@pytest.fixture
def drv(small):
    yr.init(small.config())
    yield
    yr.finalize()


def free_cpu() -> int:
    (node,) = yr.resources()
    return int(node["allocatable"]["CPU"])


@yr.instance
class Counter:
    def __init__(self, start=0):
        self.n = start

    def add(self, k=1):
        self.n += k
        return self.n

    def rank(self):
        return yr.get_function_group_context().rank_id, yr.get_function_group_context().world_size, os.getpid()


@yr.instance
class Other:
    def ping(self):
        return "pong"


def in_group(name, index=-1, cpu=1000, **kw):
    return yr.InvokeOptions(cpu=cpu, memory=100, resource_group_options=yr.ResourceGroupOptions(name, index), **kw)


# ---- resource groups ---------------------------------------------------------------------------
def test_group_reserves_and_instances_use_the_bundle_not_the_node(drv):
    before = free_cpu()
    rg = yr.create_resource_group([{"CPU": 1000, "Memory": 200}, {"CPU": 2000, "Memory": 200}], "rg-a")
    assert isinstance(rg, yr.ResourceGroup) and rg.bundle_count == 2 and rg.resource_group_name == "rg-a"
    rg.wait(30)
    assert free_cpu() == before - 3000
    c = Counter.options(in_group("rg-a", 0)).invoke(5)
    assert yr.get(c.add.invoke(), 30) == 6
    assert free_cpu() == before - 3000   # the bundle paid, not the node
    # bundle 0 is full now: another instance for it waits, then times out naming the wait
    late = Counter.options(in_group("rg-a", 0, schedule_timeout_ms=500)).invoke()
    with pytest.raises(yr.ResourceUnavailableError, match="timed out waiting for free resources"):
        yr.get(late.add.invoke(), 30)
    # -1: the first bundle with room (bundle 1 holds two)
    two = [Counter.options(in_group("rg-a")).invoke() for _ in range(2)]
    assert yr.get([t.add.invoke() for t in two], 30) == [1, 1]
    yr.remove_resource_group(rg)
    assert free_cpu() == before


def test_group_that_can_never_fit_fails_naming_the_resource(drv):
    rg = yr.create_resource_group([{"CPU": 3000}, {"CPU": NODE}], "too-big")
    with pytest.raises(yr.ResourceUnavailableError, match=r"can never be reserved: bundle 0 \(cpu=3000m.*beside the larger bundles: nodes: node-0 has cpu=0m"):
        rg.wait(30)
    rg = yr.create_resource_group([{"CPU": 100}] * 2, "spread", strategy="STRICT_SPREAD")
    with pytest.raises(yr.ResourceUnavailableError, match="STRICT_SPREAD needs 2 nodes, there are 1"):
        rg.wait()
    with pytest.raises(yr.ResourceUnavailableError, match="'tpu'"):
        yr.create_resource_group([{"tpu": 1}], "tpu").wait(30)


def test_group_waits_for_capacity_all_or_nothing_then_is_reserved(drv):
    before = free_cpu()
    hog = Counter.options(cpu=3500, memory=100).invoke()
    yr.get(hog.add.invoke(), 30)
    rg = yr.create_resource_group([{"CPU": 400}, {"CPU": 1000}], "waits")
    with pytest.raises(yr.YRTimeoutError):
        rg.wait(1)
    assert free_cpu() == before - 3500   # nothing taken while it waits: the first bundle would fit
    hog.terminate()
    rg.wait(30)
    assert free_cpu() == before - 1400
    yr.remove_resource_group("waits")


def test_removing_a_group_terminates_its_instances(drv):
    before = free_cpu()
    yr.create_resource_group([{"CPU": 1000}], "doomed").wait(30)
    c = Counter.options(in_group("doomed")).invoke()
    outside = Counter.options(cpu=500, memory=100).invoke()
    assert yr.get(c.add.invoke(), 30) == 1
    yr.remove_resource_group("doomed")
    with pytest.raises(yr.YRError, match="resource group 'doomed' was removed"):
        for _ in range(100):   # the removal is asynchronous: calls fail once it is carried out
            yr.get(c.add.invoke(), 30)
    assert yr.get(outside.add.invoke(), 30) == 1
    outside.terminate(is_sync=True)
    assert free_cpu() == before
    yr.remove_resource_group("doomed")   # removing again: a no-op


def test_bad_group_input_is_refused_clearly(drv):
    with pytest.raises(TypeError, match="expect: list"):
        yr.create_resource_group({"CPU": 1})
    with pytest.raises(ValueError, match="expect: > 0"):
        yr.create_resource_group([])
    with pytest.raises(ValueError, match="'primary'"):
        yr.create_resource_group([{"CPU": 1}], "primary")
    with pytest.raises(ValueError, match="must be >= 0"):
        yr.create_resource_group([{"CPU": -1}])
    with pytest.raises(TypeError, match="must be a number"):
        yr.create_resource_group([{"CPU": "1"}])
    with pytest.raises(ValueError, match="invalid strategy"):
        yr.create_resource_group([{"CPU": 1}], strategy="BEST")
    with pytest.raises(TypeError, match="should be a str"):
        yr.remove_resource_group(3)
    with pytest.raises(ValueError, match="timeout_seconds"):
        yr.create_resource_group([{"CPU": 100}], "t").wait(-2)
    yr.remove_resource_group("t")
    rg = yr.create_resource_group([{"CPU": 100}], "dup")
    rg.wait(30)
    with pytest.raises(ValueError, match="already exists"):
        yr.create_resource_group([{"CPU": 100}], "dup").wait(30)
    with pytest.raises(TypeError, match="ResourceGroupOptions"):
        yr.InvokeOptions(resource_group_options="dup").check()
    with pytest.raises(ValueError, match="bundle_index"):
        yr.InvokeOptions(resource_group_options=yr.ResourceGroupOptions("dup", -2)).check()
    bad = Counter.options(in_group("dup", 3, cpu=100)).invoke()
    with pytest.raises(ValueError, match="bundle_index 3 is out of range"):
        yr.get(bad.add.invoke(), 30)
    nowhere = Counter.options(in_group("no-such-group", cpu=100)).invoke()
    with pytest.raises(ValueError, match="no resource group named 'no-such-group'"):
        yr.get(nowhere.add.invoke(), 30)
    yr.remove_resource_group(rg)


def test_a_driver_that_ends_gives_its_groups_back(small):
    yr.init(small.config())
    before = free_cpu()
    yr.create_resource_group([{"CPU": 2000}], "ends-with-job").wait(30)
    yr.finalize()
    yr.init(small.config())
    try:
        for _ in range(200):   # the job's end is carried out when its session stream breaks
            if free_cpu() == before:
                break
            time.sleep(0.05)
        assert free_cpu() == before
        yr.create_resource_group([{"CPU": 2000}], "ends-with-job").wait(30)   # the name is free again
    finally:
        yr.finalize()


# ---- function groups ---------------------------------------------------------------------------
def ranked(x):
    ctx = yr.get_function_group_context()
    return x, ctx.rank_id, ctx.world_size, os.getpid()


def test_function_group_of_instances_starts_all_together(drv):
    before = free_cpu()
    opts = yr.FunctionGroupOptions(cpu=500, memory=100, scheduling_affinity_each_bundle_size=2, timeout=30)
    handler = yr.create_function_group(Counter, (10,), 4, opts)
    assert isinstance(handler, yr.FunctionGroupHandler)
    assert yr.get(handler.add.invoke(1), 30) == [11, 11, 11, 11]
    ranks = yr.get(handler.rank.invoke(), 30)
    assert sorted(r[:2] for r in ranks) == [(0, 4), (1, 4), (2, 4), (3, 4)] and len({r[2] for r in ranks}) == 4
    assert free_cpu() == before - 2000
    handler.terminate()
    with pytest.raises(AttributeError):
        handler.nope
    assert yr.get_function_group_context() == yr.FunctionGroupContext()   # outside a group


def test_function_group_of_calls_runs_each_rank_and_then_gives_its_reservation_back(drv):
    before = free_cpu()
    opts = yr.FunctionGroupOptions(cpu=300, memory=100, scheduling_affinity_each_bundle_size=1, timeout=30)
    refs = yr.create_function_group(yr.invoke(ranked), ("x",), 3, opts)
    out = yr.get(refs, 60)
    assert sorted(o[:3] for o in out) == [("x", 0, 3), ("x", 1, 3), ("x", 2, 3)]
    assert len({o[3] for o in out}) == 3   # three executors, one per rank: they ran together
    for _ in range(200):   # the reservation is removed once the last call is done (asynchronously)
        if free_cpu() == before:
            break
        time.sleep(0.05)
    assert free_cpu() == before


def test_function_group_that_cannot_all_fit_starts_none_and_says_why(drv):
    before = free_cpu()
    opts = yr.FunctionGroupOptions(cpu=1500, memory=100, scheduling_affinity_each_bundle_size=1, timeout=30)
    with pytest.raises(yr.ResourceUnavailableError, match="can never be reserved.*cpu=1500m"):
        yr.create_function_group(Counter, (), 3, opts)   # 4500 > 4000: two would fit, none starts
    assert free_cpu() == before and not [i for i in yr._context.current().master.status().instances
                                         if i.state != "DEAD" and i.class_name == "Counter"]
    # one that must wait for capacity and does not get it within its timeout: none starts either
    hog = Counter.options(cpu=2500, memory=100).invoke()
    yr.get(hog.add.invoke(), 30)
    opts = yr.FunctionGroupOptions(cpu=1000, memory=100, scheduling_affinity_each_bundle_size=1, timeout=1)
    with pytest.raises(yr.YRTimeoutError):
        yr.create_function_group(Counter, (), 2, opts)
    hog.terminate(is_sync=True)
    assert free_cpu() == before


def test_function_group_options_are_checked(drv):
    for size, opts, match in [
            (4, yr.FunctionGroupOptions(), "bundle size should bigger than 0"),
            (1, yr.FunctionGroupOptions(scheduling_affinity_each_bundle_size=2), "bigger or equal to bundle size"),
            (3, yr.FunctionGroupOptions(scheduling_affinity_each_bundle_size=2), "not divisible"),
            (2, yr.FunctionGroupOptions(scheduling_affinity_each_bundle_size=1, timeout=-5), "invalid timeout"),
            (257, yr.FunctionGroupOptions(scheduling_affinity_each_bundle_size=1), "invalid group size")]:
        with pytest.raises(ValueError, match=match):
            yr.create_function_group(Counter, (), size, opts)
    with pytest.raises(TypeError):
        yr.create_function_group(Counter, (), 2, {"cpu": 1})


# ---- checkpoints -------------------------------------------------------------------------------
def test_snapshot_restore_list_delete(drv):
    c = Counter.invoke(100)
    assert yr.get(c.add.invoke(5), 30) == 105
    ckpt = c.snapshot(leave_running=True)
    assert ckpt.startswith(c.instance_id + "-") and "Counter" in ckpt
    assert yr.get(c.add.invoke(1), 30) == 106   # still running, and moving on
    restored = yr.restore_from_checkpoint(ckpt, Counter)
    assert restored.instance_id != c.instance_id
    assert yr.get(restored.add.invoke(1), 30) == 106   # from the checkpoint's 105, constructor not run
    again = yr.restore_from_checkpoint(ckpt, Counter)   # a checkpoint restores any number of times
    assert yr.get(again.add.invoke(10), 30) == 115
    assert ckpt in yr.list_checkpoints(Counter) and ckpt in yr.list_checkpoints()
    assert ckpt in Counter.list_checkpoints()
    assert ckpt in yr.list_checkpoints(Counter.function_type())
    assert ckpt not in yr.list_checkpoints(Other) and yr.list_checkpoints("no.Such") == []
    with pytest.raises(ValueError, match="taken of .*Counter, not .*Other"):
        yr.restore_from_checkpoint(ckpt, Other)
    yr.delete_checkpoint(ckpt)
    assert ckpt not in yr.list_checkpoints()
    with pytest.raises(ValueError, match="no checkpoint"):
        yr.restore_from_checkpoint(ckpt, Counter)
    with pytest.raises(ValueError, match="no checkpoint"):
        yr.delete_checkpoint(ckpt)


def test_snapshot_terminates_unless_leave_running(drv):
    c = Counter.invoke(1)
    ckpt = c.snapshot()
    assert not c.is_activate()
    with pytest.raises(yr.YRError):
        yr.get(c.add.invoke(), 30)
    with pytest.raises(RuntimeError, match="is not active"):
        c.snapshot()
    assert yr.get(yr.restore_from_checkpoint(ckpt, Counter).add.invoke(), 30) == 2
    yr.delete_checkpoint(ckpt)


def test_checkpoint_bad_input(drv):
    c = Counter.invoke()
    with pytest.raises(TypeError):
        c.snapshot(ttl="1")
    with pytest.raises(ValueError, match="ttl"):
        c.snapshot(ttl=-3)
    with pytest.raises(TypeError):
        yr.restore_from_checkpoint(1, Counter)
    with pytest.raises(TypeError, match="@yr.instance"):
        yr.restore_from_checkpoint("x", object)
    with pytest.raises(TypeError):
        yr.list_checkpoints(3)
    with pytest.raises(TypeError):
        yr.delete_checkpoint(None)


def test_device_and_server_info_have_openyuanrongs_fields_and_defaults():
    """openYuanrong 0.9.10's config.DeviceInfo / ServerInfo: field names, order and defaults
    (positional construction as its programs may do); a context's server_list holds them."""
    d = yr.DeviceInfo(3, "10.0.0.7", 1)
    assert (d.device_id, d.device_ip, d.rank_id) == (3, "10.0.0.7", 1)
    assert yr.DeviceInfo() == yr.DeviceInfo(device_id=0, device_ip="", rank_id=0)
    s = yr.ServerInfo([d], "node-a")
    assert s.devices == [d] and s.server_id == "node-a"
    assert yr.ServerInfo().devices == [] and yr.ServerInfo().devices is not yr.ServerInfo().devices
    ctx = yr.FunctionGroupContext(rank_id=1, world_size=2, server_list=[s])
    assert ctx.server_list[0].devices[0].device_ip == "10.0.0.7"
