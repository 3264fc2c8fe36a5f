"""Node leases, registering again and a restarted master, without sockets: the pure lease
table (core/liveness.py), the core's reconciliation of a node's report, and the master with
fake nodes on a hand-moved clock (FakeNode from test_master)."""
from concurrent.futures import Future

import pytest

from test_master import Clock, FakeNode, Queue, instance
from yr_runtime import records
from yr_runtime.core import cluster as c
from yr_runtime.core.liveness import Leases
from yr_runtime.core.resources import Resources
from yr_runtime.master import JOB_GRACE, Master

TTL = 2.0


# ---- the lease table ---------------------------------------------------------------------------
def test_a_lease_expires_ttl_after_the_last_heartbeat_and_is_reported_once():
    leases = Leases(TTL)
    leases.grant("a", 0.0)
    leases.grant("b", 0.0)
    assert leases.expired(1.0) == []
    assert leases.renew("a", 1.5)
    assert leases.expired(2.0) == ["b"]
    assert leases.expired(3.0) == [] and leases.holds("a") and not leases.holds("b")
    assert leases.expired(3.5) == ["a"]
    assert not leases.renew("a", 3.6)   # a dead node's heartbeat renews nothing


def test_a_stalled_master_extends_every_lease_instead_of_expiring_all():
    leases = Leases(TTL)
    leases.grant("a", 0.0)
    leases.expired(0.5)
    assert leases.expired(30.0) == []   # the master did not run for 29.5s: nobody could heartbeat
    assert leases.expired(30.0 + TTL) == ["a"]


def test_a_forgotten_lease_never_expires_and_bad_ttls_are_refused():
    leases = Leases(TTL)
    leases.grant("a", 0.0)
    leases.forget("a")
    assert leases.expired(100.0) == []
    with pytest.raises(ValueError, match="positive"):
        Leases(0)


# ---- the master: heartbeats and expiry -----------------------------------------------------------
@pytest.fixture
def leased():
    """A master with its own node (no lease) and two joined nodes n1, n2 (leased), 2000 m each."""
    clock = Clock()
    master = Master(clock, node_ttl=TTL)
    local = FakeNode("local", master)
    master.add_node(local, Resources(2000, 1000))
    nodes = {n: FakeNode(n, master) for n in ("n1", "n2")}
    for node in nodes.values():
        master.add_node(node, Resources(2000, 1000), leased=True)
    return master, clock, local, nodes


def _run_on(master, iid, node_id, retries=0, cpu=1500):
    inst = instance(iid, cpu=cpu, retries=retries, requester_node=node_id)
    master.create(inst, Future())
    assert inst.node_id == node_id
    master.worker_assigned(iid, f"w-{iid}", 7, f"tcp:{node_id}:1")
    master.initialized(iid, None)
    return inst


def test_a_node_without_heartbeats_is_declared_dead_and_its_instances_move_or_die(leased):
    master, clock, local, nodes = leased
    movable = _run_on(master, "movable", "n1", retries=1)
    master.state_saved("movable", b"saved")
    doomed = _run_on(master, "doomed", "n1", cpu=500)
    for t in (1.0, 1.9, 2.8, 3.7):   # n2 heartbeats, n1 is silent (hung: its connection stays open)
        clock.t = t
        assert master.heartbeat("n2")
        master.tick()
        if t < TTL:
            assert "n1" in master.cluster.nodes
    assert "n1" not in master.cluster.nodes and "n1" not in master.links
    assert ("lost",) in nodes["n1"].calls and ("lost",) not in nodes["n2"].calls
    assert doomed.state == c.DEAD and "node n1 was lost (no heartbeat for 2s)" in doomed.exit_reason
    (restart,) = [a for a in (local.starts() + nodes["n2"].starts()) if a.instance_id == "movable"]
    assert restart.state == b"saved" and movable.state == c.STARTING and movable.node_id != "n1"
    assert movable.restarts == 1 and movable.epoch == 2
    assert not master.heartbeat("n1")   # a dead node's late heartbeat is refused


def test_the_masters_own_node_needs_no_heartbeat(leased):
    master, clock, local, nodes = leased
    for t in range(1, 10):
        clock.t = float(t)
        master.heartbeat("n1")
        master.heartbeat("n2")
        master.tick()
    assert set(master.cluster.nodes) == {"local", "n1", "n2"}


# ---- registering again ---------------------------------------------------------------------------
def test_a_node_that_registers_again_keeps_its_instances_and_stale_workers_are_stopped(leased):
    master, clock, local, nodes = leased
    kept = _run_on(master, "kept", "n1", cpu=1000)
    gone = _run_on(master, "gone", "n1", cpu=500, retries=1)
    master.terminate("gone")   # (its stop never reached the node: it still reports the worker)
    n1 = nodes["n1"]
    n1.calls.clear()
    report = [c.Running("kept", "w-kept", 7, "tcp:n1:1", True), c.Running("gone", "w-gone", 8, "tcp:n1:2", True),
              c.Running("stranger", "w-x", 9, "tcp:n1:3", True)]
    master.add_node(n1, Resources(2000, 1000), leased=True, running=report)
    assert kept.state == c.RUNNING and kept.worker_id == "w-kept" and kept.node_id == "n1"
    assert ("stop", "gone", "w-gone") in n1.calls and ("stop", "stranger", "w-x") in n1.calls
    assert ("stop", "kept", "w-kept") not in n1.calls
    assert master.cluster.nodes["n1"].available.cpu == 1000   # only the adopted instance holds cpu
    assert n1.starts() == []   # nothing started twice


def test_an_instance_whose_worker_the_node_no_longer_runs_is_lost_like_a_lost_nodes(leased):
    master, clock, local, nodes = leased
    inst = _run_on(master, "a", "n1", retries=1)
    master.add_node(nodes["n1"], Resources(2000, 1000), leased=True, running=[])
    assert inst.restarts == 1 and inst.state == c.STARTING
    assert "its worker was gone when node n1 registered again" in inst.exit_reason


# ---- a restarted master ----------------------------------------------------------------------------
def _records_of(master):
    """What the recorder would have stored: the live records, as their JSON round trip."""
    return [records.instance_from_json(records.instance_to_json(i)) for i in master.cluster.instances.values()
            if i.state != c.DEAD]


def test_a_restarted_master_adopts_what_nodes_report_and_expects_the_others_for_a_lease(leased):
    old, clock, _, _ = leased
    on_n1 = _run_on(old, "on-n1", "n1", cpu=1000)
    named = instance("named", cpu=500, retries=1, requester_node="n2", name="svc", namespace="ns")
    old.create(named, Future())
    old.worker_assigned("named", "w-named", 7, "tcp:n2:1")
    on_local = _run_on(old, "on-local", "local", retries=0, cpu=500)
    saved = _records_of(old)

    new = Master(clock, node_ttl=TTL)
    local = FakeNode("local", new)
    new.add_node(local, Resources(2000, 1000))
    new.restore(saved, ["j1"])
    restored = new.cluster.instances
    assert restored["on-local"].state == c.DEAD   # the master's own node restarted with it
    assert new.cluster.find(key=("ns", "svc")).id == "named"
    n1 = FakeNode("n1", new)
    new.add_node(n1, Resources(2000, 1000), leased=True,
                 running=[c.Running("on-n1", "w-on-n1", 7, "tcp:n1:1", True)])
    assert restored["on-n1"].state == c.RUNNING and restored["on-n1"].endpoint == "tcp:n1:1"
    assert n1.calls == [] and new.cluster.nodes["n1"].available.cpu == 1000
    clock.t += TTL + 0.1   # n2 never comes back: its instance restarts elsewhere
    new.heartbeat("n1")
    new.tick()
    assert restored["named"].restarts == 1 and restored["named"].node_id in ("n1", "local")
    assert "node n2 was lost" in restored["named"].exit_reason
    assert on_n1.id in restored and on_local.id in restored


def test_a_restored_job_whose_driver_does_not_come_back_ends(leased):
    old, clock, _, _ = leased
    _run_on(old, "mine", "n1")
    _run_on(old, "theirs", "n1", cpu=400)
    old.cluster.instances["theirs"].job_id = "j2"
    new = Master(clock, node_ttl=JOB_GRACE * 2)
    n1 = FakeNode("n1", new)
    new.restore(_records_of(old), ["j1", "j2"])
    new.add_node(n1, Resources(2000, 1000), leased=True,
                 running=[c.Running("mine", "w-mine", 7, "e", True), c.Running("theirs", "w-theirs", 8, "e", True)])
    new.open_session("j2", Queue())   # j2's driver reopens its session; j1's does not
    clock.t += JOB_GRACE + 0.1
    new.heartbeat("n1")
    new.tick()
    assert new.cluster.instances["mine"].state == c.DEAD and "job j1" in new.cluster.instances["mine"].exit_reason
    assert new.cluster.instances["theirs"].state == c.RUNNING
    assert ("stop", "mine", "w-mine") in n1.calls


# ---- durable saves: a save returns once the master holds it ------------------------------------
def test_a_save_waits_for_the_master_while_connected_and_returns_at_once_without_it():
    from yr_runtime.services.uplink import Saves
    saves, done = Saves(), []
    saves.connected = True
    s1 = saves.saved("a", b"1", lambda: done.append(1))
    s2 = saves.saved("a", b"2", lambda: done.append(2))
    saves.saved("b", b"x", lambda: done.append("b"))
    assert done == [] and [u.state_saved.data for u in saves.resend()] == [b"2", b"x"]   # the latest of each
    saves.stored("a", s1)
    assert done == [1] and [u.state_saved.data for u in saves.resend()] == [b"2", b"x"]
    saves.stored("a", s2)
    assert done == [1, 2] and [u.state_saved.instance_id for u in saves.resend()] == ["b"]
    saves.down()   # the stream broke: the waiting save returns, its state is sent again later
    assert done == [1, 2, "b"] and [u.state_saved.data for u in saves.resend()] == [b"x"]
    saves.saved("c", b"y", lambda: done.append("c"))   # no master now: at once
    assert done[-1] == "c" and {u.state_saved.instance_id for u in saves.resend()} == {"b", "c"}
    saves.connected = True
    saves.saved("d", b"z", lambda: done.append("d"))
    saves.down(fenced=True)   # the node's lease is gone and its workers stop: the save never returns
    assert "d" not in done


def test_a_state_saved_by_a_node_that_no_longer_hosts_the_instance_is_not_kept(leased):
    master, clock, local, nodes = leased
    _run_on(master, "fenced", "n1", retries=1)
    acked = []
    master.state_saved("fenced", b"from-n1", lambda: acked.append(1), node_id="n1")
    master.state_saved("fenced", b"stale", lambda: acked.append(2), node_id="n2")   # not its host
    assert master.states["fenced"] == b"from-n1" and acked == [1, 2]   # both answered, one kept


# ---- a node's own view of its lease: it fences itself no later than the master declares it dead --------
def test_a_nodes_own_lease_runs_from_the_last_answered_heartbeats_sending():
    from yr_runtime.core.liveness import OwnLease
    own = OwnLease(TTL, now=0.0)
    assert not own.expired(1.9) and own.expired(2.0)   # the registration's renewal
    first = own.heartbeat(0.6)
    second = own.heartbeat(1.2)
    own.answered(second)              # answered: the master renewed at or after 1.2
    assert own.deadline == 1.2 + TTL and not own.expired(3.1) and own.expired(3.2)
    own.answered(first)               # a late answer to an older heartbeat never shortens it
    assert own.deadline == 1.2 + TTL
    own.heartbeat(2.0)                # sent, never answered (a partition): no renewal
    assert own.expired(1.2 + TTL)


def test_the_master_answers_heartbeats_only_while_the_node_holds_its_lease(leased):
    from yr_runtime.proto import control_pb2 as pb
    from yr_runtime.services.nodes import RemoteNodeLink, deliver
    master, clock, local, nodes = leased
    link = RemoteNodeLink("n3", "127.0.0.1", {}, "")
    master.add_node(link, Resources(2000, 1000), leased=True)
    deliver(master, link, pb.NodeUp(heartbeat=pb.Heartbeat(seq=7)))
    assert link.outbox.get_nowait().lease_renewed.seq == 7
    clock.t = 3 * TTL
    master.tick()   # n3's lease ran out: declared dead
    while not link.outbox.empty():   # what the master said to it meanwhile (its shutdown)
        link.outbox.get_nowait()
    deliver(master, link, pb.NodeUp(heartbeat=pb.Heartbeat(seq=8)))
    assert link.outbox.empty()   # a dead node's heartbeat is not answered: it fences itself
