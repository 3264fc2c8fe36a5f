"""The master with fake nodes: no sockets, processes or event loop. A FakeNode records what
the master asks of it (the NodeLink calls) and may report back at once, as the local node
does when a warm worker takes an instance."""
from concurrent.futures import Future

import pytest

from yr_runtime.core import cluster as c
from yr_runtime.core.resources import Resources
from yr_runtime.master import LogLines, Master
from yr_runtime.node.link import NodeLink, NodeStatus
from yr_runtime.wire import messages as m
from yr_runtime.wire.errors import ErrorCode


class FakeNode:
    def __init__(self, node_id, master=None, warm=0):
        self.node_id, self.master, self.warm = node_id, master, warm
        self.calls = []
        self.report_at_once = False   # a warm worker: the assignment is reported inside start_worker

    def start_worker(self, assign):
        self.calls.append(("start", assign))
        if self.report_at_once:
            self.master.worker_assigned(assign.instance_id, f"w-{assign.instance_id}", 7, "unix:/ep")

    def stop_worker(self, instance_id, worker_id):
        self.calls.append(("stop", instance_id, worker_id))

    def free_job(self, job_id):
        self.calls.append(("free_job", job_id))

    def forget_state(self, instance_id):
        self.calls.append(("forget_state", instance_id))

    def status(self):
        return NodeStatus(self.node_id, self.warm)

    async def shutdown(self):
        pass

    def starts(self):
        return [a for kind, *rest in self.calls if kind == "start" for a in rest]


class Queue(list):
    put_nowait = list.append


class Clock:
    t = 0.0

    def __call__(self):
        return self.t


@pytest.fixture
def cluster():
    master = Master(Clock())
    small, big = FakeNode("small", master, warm=1), FakeNode("big", master, warm=2)
    master.add_node(small, Resources(1000, 1000))
    master.add_node(big, Resources(8000, 8000))
    return master, small, big


def instance(iid, cpu=500, job="j1", retries=0, **kw):
    return c.Instance(id=iid, job_id=job, resources=Resources(cpu, 100), class_name="C",
                      recover_retry_times=retries,
                      payload=m.Assign(instance_id=iid, job_id=job, class_name="C", recover_retry_times=retries),
                      **kw)


def test_the_fake_node_has_every_method_of_the_link():
    assert {n for n in dir(NodeLink) if not n.startswith("_")} <= set(dir(FakeNode))


def test_create_asks_the_link_of_the_node_the_core_chose(cluster):
    master, small, big = cluster
    waiter = Future()
    master.create(instance("a", cpu=4000), waiter)     # fits only the big node
    assert small.starts() == []
    (assign,) = big.starts()
    assert assign == m.Assign(instance_id="a", job_id="j1", class_name="C")
    assert master.cluster.instances["a"].node_id == "big"
    assert not waiter.done()
    master.worker_assigned("a", "w1", 10, "unix:/a")
    assert waiter.result().instance_id == "a"
    assert master.cluster.instances["a"].endpoint == "unix:/a"


def test_a_restart_carries_the_last_saved_state(cluster):
    master, small, big = cluster
    master.create(instance("a", cpu=4000, retries=2), Future())
    master.worker_assigned("a", "w1", 10, "unix:/a")
    master.state_saved("a", b"first")
    master.state_saved("a", b"second")
    master.worker_exited("a", "w1", "killed")
    first, restart = big.starts()
    assert first.state is None and restart.state == b"second"
    assert restart.instance_id == "a" and master.cluster.instances["a"].restarts == 1


@pytest.fixture
def one():
    """A master with one node (1000 millicores)."""
    master = Master(Clock())
    node = FakeNode("n", master, warm=1)
    master.add_node(node, Resources(1000, 1000))
    return master, node


def test_a_restart_without_a_saved_state_starts_afresh(one):
    master, node = one
    master.create(instance("a", retries=1), Future())
    master.worker_assigned("a", "w1", 10, "unix:/a")
    master.worker_exited("a", "w1", "killed")
    assert [a.state for a in node.starts()] == [None, None]


def test_death_without_restarts_forgets_the_state_here_and_on_the_node(one):
    master, node = one
    master.create(instance("a"), Future())
    master.worker_assigned("a", "w1", 10, "unix:/a")
    master.state_saved("a", b"s")
    master.worker_exited("a", "w1", "crashed")
    assert master.cluster.instances["a"].state == c.DEAD
    assert ("forget_state", "a") in node.calls and "a" not in master.states
    master.state_saved("a", b"late")   # a save racing the death is not kept
    assert "a" not in master.states


def test_terminate_asks_the_instances_node_to_stop_its_worker(cluster):
    master, small, big = cluster
    master.create(instance("a", cpu=4000), Future())
    master.worker_assigned("a", "w1", 10, "unix:/a")
    assert master.terminate("a") is True
    assert ("stop", "a", "w1") in big.calls and not any(k == "stop" for k, *_ in small.calls)
    assert master.terminate("a") is False


def test_job_ended_stops_its_instances_and_frees_its_objects_on_every_node(cluster):
    master, small, big = cluster
    master.open_session("j1", Queue())
    master.create(instance("a"), Future())
    master.worker_assigned("a", "w1", 10, "unix:/a")
    master.create(instance("other", job="j2"), Future())
    master.close_session("j1", owns_runtime=False)
    assert ("free_job", "j1") in small.calls and ("free_job", "j1") in big.calls
    assert ("stop", "a", "w1") in big.calls
    assert master.cluster.instances["a"].state == c.DEAD
    assert master.cluster.instances["other"].state == c.STARTING


def test_a_driver_that_owns_the_runtime_stops_it_when_it_ends():
    reasons = []
    master = Master(Clock(), reasons.append)
    master.add_node(FakeNode("n", master), Resources(1000, 1000))
    master.open_session("j1", Queue())
    master.close_session("j1", owns_runtime=True)
    assert reasons == ["its driver (job j1) ended"]


def _trace(master, seen):
    """Records each action performed and each assignment event handled, in order."""
    perform, assigned, exited = master._perform, master.cluster.worker_assigned, master.cluster.worker_exited

    def traced_perform(a):
        seen.append(("perform", a))
        perform(a)

    def traced_assigned(iid, *a):
        seen.append(("assigned", iid))
        return assigned(iid, *a)

    def traced_exited(*a):
        batch = exited(*a)
        seen.append(("batch", list(batch)))
        return batch
    master._perform, master.cluster.worker_assigned = traced_perform, traced_assigned
    master.cluster.worker_exited = traced_exited


def test_an_event_raised_while_executing_is_handled_after_the_current_actions(one):
    """The local node reports a warm assignment from inside start_worker. A recursive shell
    handled that report in the middle of the actions that caused it; the master queues it
    behind them."""
    master, node = one
    node.report_at_once = True
    master.create(instance("p", cpu=600), Future())       # starts, reported at once
    waiter = Future()
    master.create(instance("q", cpu=600), waiter)         # waits for capacity
    assert [a.instance_id for a in node.starts()] == ["p"]
    seen = []
    _trace(master, seen)
    master.worker_exited("p", "w-p", "gone")              # frees 600: q starts
    (batch,) = [b for kind, b in seen if kind == "batch"]
    assert any(isinstance(a, c.StartWorker) and a.instance_id == "q" for a in batch)
    at = seen.index(("assigned", "q"))
    performed_before = [a for kind, a in seen[:at] if kind == "perform"]
    assert performed_before == batch                      # every action of the batch, first
    assert waiter.done() and master.cluster.instances["q"].worker_id == "w-q"
    assert not master._queue and not master._draining


def test_an_event_from_a_node_during_a_driver_request_is_not_lost(one):
    master, node = one
    node.report_at_once = True
    w = Future()
    master.create(instance("x", cpu=1000), w)
    assert w.result().instance_id == "x"
    assert master.cluster.instances["x"].endpoint == "unix:/ep"


def test_logs_and_deaths_reach_the_jobs_session_as_values(cluster):
    master, small, big = cluster
    q = Queue()
    master.open_session("j1", q)
    master.log("j1", "C pid=1", ["hello"])
    master.log("j1", "C pid=1", [])
    master.log("nobody", "C pid=2", ["lost"])
    master.create(instance("a"), Future())
    master.worker_assigned("a", "w1", 10, "unix:/a")
    master.worker_exited("a", "w1", "crashed")
    assert q[0] == LogLines("C pid=1", ["hello"])
    assert isinstance(q[1], c.Instance) and q[1].state == c.DEAD and q[1].exit_reason == "crashed"
    master.end_sessions()
    assert q[-1] is None


def test_blocked_lends_cpu_and_the_waiting_instance_starts(one):
    master, node = one
    master.create(instance("a", cpu=1000), Future())
    master.worker_assigned("a", "w1", 10, "unix:/a")
    master.create(instance("b", cpu=1000), Future())
    assert [a.instance_id for a in node.starts()] == ["a"]
    master.blocked("a", True)
    assert [a.instance_id for a in node.starts()] == ["a", "b"]


def test_status_sums_the_warm_pools_of_all_nodes(cluster):
    master, small, big = cluster
    assert master.warm_workers() == 3


def test_schedule_timeouts_come_from_the_passed_clock():
    clock = Clock()
    master = Master(clock)
    master.add_node(FakeNode("n", master), Resources(1000, 1000))
    master.create(instance("a", cpu=1000), Future())
    w = Future()
    master.create(instance("b", cpu=1000, schedule_deadline=5.0), w)
    master.tick()
    assert not w.done()
    clock.t = 6.0
    master.tick()
    assert w.result().error.kind == ErrorCode.ERR_RESOURCE_NOT_ENOUGH


def test_a_removed_node_takes_its_instances_down_and_gets_nothing_more(cluster):
    master, small, big = cluster
    q = Queue()
    master.open_session("j1", q)
    live = [instance(f"b{i}", cpu=3000, retries=2) for i in range(2)]   # fit only the big node
    for inst in live:
        master.create(inst, Future())
        master.worker_assigned(inst.id, f"w-{inst.id}", 7, "tcp:h:1")
    assert all(i.node_id == "big" and i.state == c.STARTING for i in live)
    master.remove_node("big", "its node big was lost (its connection broke)")
    assert all(i.state == c.DEAD and "node big was lost" in i.exit_reason for i in live)   # no restart
    assert "big" not in master.cluster.nodes and "big" not in master.links
    late = Future()
    master.create(instance("later", cpu=3000), late)   # fits no node left
    assert late.result().error.kind == ErrorCode.ERR_RESOURCE_NOT_ENOUGH
    master.worker_exited("b0", "w-b0", "late report")   # reports of a gone node change nothing
    master.remove_node("big", "again")
    assert [s.id for s in q if isinstance(s, c.Instance) and s.state == c.DEAD] == ["b0", "b1"]
    assert len(big.starts()) == 2 and small.starts() == []
