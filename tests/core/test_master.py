"""The master with fake nodes: no sockets, processes or event loop. A FakeNode records what
the master asks of it (the NodeLink calls) and may report back at once, as the local node
does when a warm worker takes an instance."""
from concurrent.futures import Future
from queue import Queue

import pytest

from yr_runtime.core import cluster as c
from yr_runtime.core import placement as P
from yr_runtime.core.resources import Resources
from yr_runtime.master import LogLines, Master
from yr_runtime.node.link import NodeLink, NodeStatus
from yr_runtime.node.logs import LogRead
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

    def read_log(self, instance_id, offset, tail_lines, max_bytes, reply):
        self.calls.append(("read_log", instance_id))
        reply(LogRead(b"out\n", 4, True))

    async def shutdown(self):
        pass

    def lost(self):
        self.calls.append(("lost",))

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
    assert assign == m.Assign(instance_id="a", job_id="j1", class_name="C", epoch=1)   # its first placement
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
    assert (first.epoch, restart.epoch) == (1, 2)   # each placement its own: callers of the other are refused
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
    # Every action of the batch first, but its records (Publish): those come once the queue
    # is empty, in their order (a warm create is answered before it is recorded).
    assert performed_before == [a for a in batch if not isinstance(a, c.Publish)]
    records = [a for a in batch if isinstance(a, c.Publish)]
    recorded_after = [a for kind, a in seen[at:] if kind == "perform" and isinstance(a, c.Publish)]
    assert records and recorded_after[:len(records)] == records
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
    assert all(i.state == c.DEAD and "node big was lost" in i.exit_reason for i in live)   # none fits the small one
    assert "big" not in master.cluster.nodes and "big" not in master.links
    late = Future()
    master.create(instance("later", cpu=3000), late)   # fits no node left
    assert late.result().error.kind == ErrorCode.ERR_RESOURCE_NOT_ENOUGH
    master.worker_exited("b0", "w-b0", "late report")   # reports of a gone node change nothing
    master.remove_node("big", "again")
    assert [s.id for s in q if isinstance(s, c.Instance) and s.state == c.DEAD] == ["b0", "b1"]
    assert len(big.starts()) == 2 and small.starts() == []


@pytest.fixture
def three():
    """A master with three nodes of 2000 millicores each."""
    master = Master(Clock())
    nodes = {n: FakeNode(n, master) for n in ("n1", "n2", "n3")}
    for node in nodes.values():
        master.add_node(node, Resources(2000, 1000))
    return master, nodes


def _running(master, inst):
    master.create(inst, Future())
    master.worker_assigned(inst.id, f"w-{inst.id}", 7, f"tcp:{inst.node_id}:1")
    master.initialized(inst.id, None)
    return inst


def test_a_lost_nodes_instance_with_restarts_starts_elsewhere_from_its_saved_state(three):
    master, nodes = three
    q = Queue()
    master.open_session("j1", q)
    a = _running(master, instance("a", cpu=1500, retries=1))
    lost = a.node_id
    master.state_saved("a", b"counter=3")
    master.remove_node(lost, f"its node {lost} was lost")
    assert a.state == c.STARTING and a.node_id not in ("", lost) and a.restarts == 1
    assert a.exit_reason == f"its node {lost} was lost" and a.resources == Resources(1500, 100)
    (restart,) = nodes[a.node_id].starts()
    assert restart.instance_id == "a" and restart.state == b"counter=3" and restart.epoch == 2
    assert restart.recover_retry_times == 1
    free = {n.id: n.available.cpu for n in master.cluster.nodes.values()}
    assert free[a.node_id] == 500 and sum(free.values()) == 2000 + 500   # taken once, on the new node
    master.worker_assigned("a", "w2", 8, "tcp:new:1")
    master.initialized("a", None)
    assert a.state == c.RUNNING and a.endpoint == "tcp:new:1"
    master.worker_exited("a", "w2", "crashed")   # its one restart is used up
    assert a.state == c.DEAD and "a" not in master.states
    assert all(n.available.cpu == 2000 for n in master.cluster.nodes.values())   # given back once


def test_a_lost_nodes_instance_waits_pending_for_room_and_starts_when_a_node_joins(three):
    master, nodes = three
    a = _running(master, instance("a", cpu=2000, retries=3, schedule_timeout=10.0, schedule_deadline=10.0))
    others = [_running(master, instance(f"f{i}", cpu=2000)) for i in range(2)]   # fill the other two
    assert {a.node_id} | {o.node_id for o in others} == set(nodes)
    lost = a.node_id
    master.state_saved("a", b"s1")
    master.now.t = 8.0
    master.remove_node(lost, f"its node {lost} was lost")
    assert a.state == c.PENDING and a.node_id == "" and a.restarts == 1 and a.endpoint == ""
    master.now.t = 17.0   # past the create's deadline, within the one counted from the loss
    master.tick()
    assert a.state == c.PENDING
    late = FakeNode("n4", master)
    master.add_node(late, Resources(2000, 1000))
    assert a.state == c.STARTING and a.node_id == "n4"
    (restart,) = late.starts()
    assert restart.state == b"s1"
    assert master.cluster.nodes["n4"].available.cpu == 0


def test_a_lost_nodes_pending_restart_times_out_naming_what_it_waited_for(three):
    master, nodes = three
    a = _running(master, instance("a", cpu=2000, retries=1, schedule_timeout=5.0, schedule_deadline=5.0))
    for i in range(2):
        _running(master, instance(f"f{i}", cpu=2000))
    master.remove_node(a.node_id, f"its node {a.node_id} was lost")
    master.now.t = 5.0
    master.tick()
    assert a.state == c.DEAD and "timed out waiting for free resources (cpu=2000m" in a.exit_reason


def test_a_lost_nodes_instances_without_restarts_or_room_die_naming_the_node(three):
    master, nodes = three
    q = Queue()
    master.open_session("j1", q)
    pinned = c.Policy((P.Rule(P.RESOURCE, P.REQUIRED, (P.Operator(P.LABEL_IN, P.NODE_ID, ("n1",)),)),))
    plain = _running(master, instance("plain", cpu=500, affinity=pinned))
    used = _running(master, instance("used", cpu=500, retries=1, affinity=pinned))
    master.worker_exited("used", "w-used", "crashed")   # restarted in place: its one restart is used
    master.worker_assigned("used", "w2", 9, "tcp:n1:2")
    only_n1 = _running(master, instance("only_n1", cpu=500, retries=2, affinity=pinned))
    assert {i.node_id for i in (plain, used, only_n1)} == {"n1"}
    master.remove_node("n1", "its node n1 was lost")
    assert plain.state == used.state == only_n1.state == c.DEAD
    assert plain.exit_reason == used.exit_reason == "its node n1 was lost"
    assert only_n1.exit_reason.startswith("its node n1 was lost; it cannot be restarted elsewhere: ")
    assert "NODE_ID" in only_n1.exit_reason and only_n1.restarts == 0
    assert [s.id for s in q if isinstance(s, c.Instance) and s.state == c.DEAD] == ["plain", "used", "only_n1"]
    assert all(n.available.cpu == 2000 for n in master.cluster.nodes.values())
    assert nodes["n2"].starts() == nodes["n3"].starts() == []


def test_metrics_reports_of_known_nodes_and_jobs_go_to_the_book(cluster):
    master, small, big = cluster
    master.node_metrics("nobody", {"sources": {"w": {"instance_id": "i", "class_name": "C", "calls": {},
                                                     "queued": 0, "user": []}}})
    assert master.book.sources == {}   # not a node of the cluster: ignored
    master.node_metrics(small.node_id, {"sources": {}, "objects": 3, "object_bytes": 30, "warm": 1})
    assert master.book.nodes[small.node_id]["objects"] == 3
    master.open_session("job-x", Queue(), pid=42)
    assert master.book.jobs["job-x"]["state"] == "RUNNING" and master.book.jobs["job-x"]["driver_pid"] == 42
    master.close_session("job-x", owns_runtime=False)
    assert master.book.jobs["job-x"]["state"] == "FINISHED"
    master.remove_node(small.node_id, "gone")
    assert small.node_id not in master.book.nodes
