"""The scheduler and instance directory as a pure state machine: no sockets, no processes."""
import pytest

from yr_runtime.core import cluster as c
from yr_runtime.core.resources import ResourceError, Resources, validate_request
from yr_runtime.wire.errors import ErrorCode


def make(iid, cpu=500, mem=500, custom=None, **kw):
    return c.Instance(id=iid, job_id=kw.pop("job", "j1"), resources=Resources(cpu, mem, custom or {}),
                      class_name="C", **kw)


def answers(actions):
    return [a for a in actions if isinstance(a, c.Answer)]


@pytest.fixture
def cl():
    cluster = c.Cluster()
    cluster.add_node("n", Resources(1000, 1000, {"ssd": 1.0}))
    return cluster


def start(cl, iid, now=0.0, **kw):
    acts = cl.create(make(iid, **kw), f"w-{iid}", now)
    assert any(isinstance(a, c.StartWorker) and a.instance_id == iid for a in acts)
    acts = cl.worker_assigned(iid, f"wk-{iid}", 100, f"/ep/{iid}")
    assert answers(acts) == [c.Answer(f"w-{iid}", iid)]
    return acts


def test_create_takes_resources_and_answers_when_assigned(cl):
    acts = cl.create(make("a"), "w", 0)
    assert answers(acts) == []
    assert cl.nodes["n"].available.cpu == 500
    start_acts = cl.worker_assigned("a", "wk", 10, "/ep")
    assert answers(start_acts)[0].instance_id == "a"
    assert cl.instances["a"].state == c.STARTING
    cl.instance_initialized("a")
    assert cl.instances["a"].state == c.RUNNING


def test_request_that_can_never_fit_fails_at_once_naming_the_resource(cl):
    (ans,) = answers(cl.create(make("a", cpu=2000), "w", 0))
    assert ans.error.kind is ErrorCode.ERR_RESOURCE_NOT_ENOUGH and "cpu 2000" in str(ans.error)
    (ans,) = answers(cl.create(make("b", custom={"gpu": 1}), "w", 0))
    # a resource no node declares is a malformed request (openYuanrong: 1006), not a shortage
    assert ans.error.kind is ErrorCode.ERR_RESOURCE_CONFIG_ERROR and "invalid resource parameter" in str(ans.error)
    assert "'gpu'" in str(ans.error) and "no node declares it" in str(ans.error)
    (ans,) = answers(cl.create(make("c", custom={"ssd": 2}), "w", 0))
    assert "'ssd'" in str(ans.error)
    assert cl.nodes["n"].available == cl.nodes["n"].total


def test_busy_capacity_waits_then_runs_when_freed(cl):
    start(cl, "a", cpu=1000)
    acts = cl.create(make("b", cpu=600), "wb", 0)
    assert not any(isinstance(a, c.StartWorker) for a in acts)
    assert cl.instances["b"].state == c.PENDING
    acts = cl.terminate("a", 1.0)
    assert c.StopWorker("a", "wk-a") in acts
    assert any(isinstance(a, c.StartWorker) and a.instance_id == "b" for a in acts)
    assert cl.nodes["n"].available.cpu == 400


def test_pending_instance_times_out_with_a_resource_error(cl):
    start(cl, "a", cpu=1000)
    cl.create(make("b", cpu=600, schedule_deadline=5.0), "wb", 0)
    assert answers(cl.tick(4.9)) == []
    (ans,) = answers(cl.tick(5.0))
    assert ans.error.kind is ErrorCode.ERR_RESOURCE_NOT_ENOUGH and "timed out waiting for free resources" in str(ans.error)
    assert cl.instances["b"].state == c.DEAD
    assert cl.nodes["n"].available.cpu == 0  # a's resources untouched


def test_resources_are_returned_exactly_once(cl):
    start(cl, "a")
    cl.worker_exited("a", "wk-a", "killed by SIGKILL", 1)
    cl.terminate("a", 2)
    cl.worker_exited("a", "wk-a", "again", 3)
    assert cl.nodes["n"].available == cl.nodes["n"].total
    assert cl.instances["a"].exit_reason == "killed by SIGKILL"


def test_named_instance_is_get_or_create(cl):
    start(cl, "a", name="x", namespace="ns")
    (ans,) = answers(cl.create(make("b", name="x", namespace="ns"), "w2", 0))
    assert ans.instance_id == "a" and ans.existed
    assert "b" not in cl.instances
    cl.terminate("a", 1)
    acts = cl.create(make("c", name="x", namespace="ns"), "w3", 2)
    assert any(isinstance(a, c.StartWorker) and a.instance_id == "c" for a in acts)


def test_lookup_waits_for_running_or_times_out(cl):
    cl.create(make("a", name="x"), "w", 0)
    assert answers(cl.lookup("look", 0, name="x", timeout=2)) == []
    cl.worker_assigned("a", "wk", 1, "/ep")
    assert answers(cl.instance_initialized("a")) == [c.Answer("look", "a")]
    (ans,) = answers(cl.lookup("missing", 0, name="nope", timeout=2))
    assert ans.error.kind is ErrorCode.ERR_INSTANCE_NOT_FOUND
    cl.create(make("b", name="y"), "w", 0)
    cl.lookup("slow", 0, name="y", timeout=2)
    (ans,) = answers(cl.tick(2.0))
    assert ans.waiter == "slow"
    assert ans.error.kind is ErrorCode.ERR_GET_OPERATION_FAILED


def test_restart_keeps_resources_until_budget_is_spent(cl):
    start(cl, "a", recover_retry_times=1)
    acts = cl.worker_exited("a", "wk-a", "killed by SIGKILL", 1)
    assert c.StartWorker("a", "n", restart=True) in acts
    assert cl.instances["a"].state == c.STARTING and cl.nodes["n"].available.cpu == 500
    cl.worker_assigned("a", "wk2", 11, "/ep2")
    cl.worker_exited("a", "wk2", "killed by SIGKILL", 2)
    assert cl.instances["a"].state == c.DEAD
    assert cl.nodes["n"].available.cpu == 1000


def test_job_end_kills_its_instances_but_not_detached_ones(cl):
    start(cl, "a", cpu=100, mem=100)
    start(cl, "b", cpu=100, mem=100, detached=True)
    start(cl, "c", cpu=100, mem=100, job="other")
    acts = cl.job_ended("j1", 5)
    assert [a.instance_id for a in acts if isinstance(a, c.StopWorker)] == ["a"]
    assert cl.instances["b"].state != c.DEAD and cl.instances["c"].state != c.DEAD


def test_validate_request_names_the_bad_field():
    assert validate_request(500, 500, {"ssd": 1}) == Resources(500, 500, {"ssd": 1.0})
    for args, word in [((0, 500, {}), "cpu"), ((-5, 500, {}), "cpu"), ((500, 0, {}), "memory"),
                       ((10**12, 500, {}), "cpu"), ((500, 500, {"ssd": -1}), "ssd"),
                       (("x", 500, {}), "cpu"), ((500, 500, []), "custom_resources")]:
        with pytest.raises(ResourceError, match=word):
            validate_request(*args)


# ---- blocked instances lend their cpu ----------------------------------------------------
def test_a_blocked_instance_lends_its_cpu_and_a_waiting_create_is_scheduled(cl):
    start(cl, "a", cpu=1000, mem=100)
    assert answers(cl.create(make("b", cpu=1000, mem=100), "w-b", 0)) == []
    assert cl.instances["b"].state == c.PENDING
    acts = cl.set_blocked("a", True, 0)
    assert any(isinstance(x, c.StartWorker) and x.instance_id == "b" for x in acts)
    assert cl.nodes["n"].available.cpu == 0 and cl.nodes["n"].available.memory == 800


def test_resuming_takes_the_cpu_back_even_if_the_node_is_oversubscribed(cl):
    start(cl, "a", cpu=1000)
    cl.set_blocked("a", True, 0)
    start(cl, "b", cpu=1000)
    assert cl.set_blocked("a", False, 0) == []
    assert cl.nodes["n"].available.cpu == -1000
    assert answers(cl.create(make("c", cpu=100), "w-c", 0)) == []
    assert cl.instances["c"].state == c.PENDING     # nothing new while oversubscribed
    cl.terminate("b", 0)
    assert cl.instances["c"].state == c.PENDING     # back to exactly full
    cl.terminate("a", 0)
    assert cl.instances["c"].state == c.STARTING


def test_blocking_twice_or_unblocking_an_unblocked_instance_changes_nothing(cl):
    start(cl, "a", cpu=400)
    cl.set_blocked("a", False, 0)
    assert cl.nodes["n"].available.cpu == 600
    cl.set_blocked("a", True, 0)
    cl.set_blocked("a", True, 0)
    assert cl.nodes["n"].available.cpu == 1000
    assert cl.set_blocked("nobody", True, 0) == []


@pytest.mark.parametrize("end", ["terminate", "exit", "restart"])
def test_a_blocked_instance_that_ends_gives_back_exactly_what_it_holds(cl, end):
    start(cl, "a", cpu=400, mem=300, recover_retry_times=1 if end == "restart" else 0)
    cl.set_blocked("a", True, 0)
    if end == "terminate":
        cl.terminate("a", 0)
    else:
        cl.worker_exited("a", "wk-a", "killed", 0)
    held = Resources(400, 300) if end == "restart" else Resources(0, 0)
    assert cl.nodes["n"].available.cpu == 1000 - held.cpu
    assert cl.nodes["n"].available.memory == 1000 - held.memory
    assert cl.instances["a"].blocked is False


def test_a_terminate_that_overtakes_its_create_refuses_the_create(cl):
    assert cl.terminate("a", 0) == []           # the create is still on its way
    acts = cl.create(make("a"), "wa", 1)
    (ans,) = answers(acts)
    assert ans.error.kind == ErrorCode.ERR_INSTANCE_EXITED and c.TERMINATED_BEFORE_CREATED in str(ans.error)
    assert not any(isinstance(x, c.StartWorker) for x in acts)
    assert cl.instances["a"].state == c.DEAD
    assert cl.nodes["n"].available == cl.nodes["n"].total
    start(cl, "b")                              # other ids are unaffected
    cl.terminate("a", 2)                        # a second terminate of the dead one: no tombstone
    acts = cl.create(make("a"), "wa2", 3)
    assert answers(acts)[0].error.kind == ErrorCode.ERR_PARAM_INVALID   # the id stays used, not reborn


def test_tombstones_are_bounded_keeping_the_newest(cl):
    for i in range(c.TOMBSTONES + 10):
        cl.terminate(f"gone-{i}", 0)
    start(cl, "gone-9")                         # the oldest were forgotten
    newest = f"gone-{c.TOMBSTONES + 9}"
    assert answers(cl.create(make(newest), "w", 0))[0].error.kind == ErrorCode.ERR_INSTANCE_EXITED
    assert cl.instances[newest].state == c.DEAD
