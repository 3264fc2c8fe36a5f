"""The master: the instance directory and scheduler (`core.Cluster`) with its nodes, the
sessions of drivers and the saved states, as one object with no I/O of its own.

It reaches nodes only through their `NodeLink` and learns from them through its
`NodeEvents` methods (node/link.py); drivers reach it through the gRPC servicer, which only
translates. Rules it keeps:
- Actions are carried out one at a time, in order, from one queue. An event that arrives
  while actions are carried out (a node may report at once, from inside a NodeLink call) is
  queued and handled after them: `execute` never recurses, so no action runs against a
  state that a nested event already changed.
- A start goes to the link of the node the core placed the instance on
  (`StartWorker.node_id`); a restart carries the instance's last saved state.
- A dead instance's saved state is forgotten, here and on its node.
- When a job ends, its instances die and every node frees the job's objects.
- A joined node holds a lease (core/liveness.py) renewed by its heartbeats: one that
  expires removes the node, as a broken connection of a node that does not come back does.
- What changed is told to the recorder (recorder.py), which writes it to the metadata
  store on its own time: never on the path of a call or a create. A restarted master
  `restore`s the records, and the nodes they name are expected back within their lease.
The clock is passed in; waiters are futures (anything with done()/set_result); session
queues are anything with put_nowait. No sockets, processes, gRPC or asyncio here.
"""
from __future__ import annotations

import dataclasses
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from yr_runtime import records
from yr_runtime.core import cluster as core
from yr_runtime.core import checkpoints, kv, streams
from yr_runtime.core.liveness import Leases
from yr_runtime.core.resources import Resources
from yr_runtime.node.link import NodeLink
from yr_runtime.observe.book import MetricsBook

log = logging.getLogger("yr.master")
DEFAULT_NODE_TTL = 6.0   # seconds without a heartbeat before a joined node is declared dead
JOB_GRACE = 15.0         # after a restart, seconds a recorded job's driver has to reopen its session


@dataclass(frozen=True)
class LogLines:
    """Lines a job's worker wrote, for the job's driver."""
    label: str
    lines: list


class Master:
    def __init__(self, clock: Callable[[], float], request_stop: Callable[[str], None] = lambda reason: None,
                 recorder=None, node_ttl: float = DEFAULT_NODE_TTL):
        self.cluster = core.Cluster()
        self.recorder = recorder if recorder is not None else records.NoRecorder()
        self.leases = Leases(node_ttl)
        self._unleased: set[str] = set()          # nodes in this process (no heartbeat: kept alive by tick)
        self._renewed = 0.0
        self._awaited_jobs: dict[str, float] = {}  # restored job -> when it ends unless its driver is back
        self.suspects: set[str] = set()            # nodes whose connection broke, waiting on their lease
        self._store_renewed: dict[str, float] = {}  # node -> when its store lease was last kept alive
        self.now = clock
        self.request_stop = request_stop
        self.links: dict[str, NodeLink] = {}
        self.sessions: dict[str, Any] = {}       # job id -> its driver's event queue
        self.states: dict[str, bytes] = {}       # instance id -> its last saved state
        self._queue: deque = deque()             # actions, and events (callables) that came meanwhile
        self.book = MetricsBook()                # what nodes and workers counted (observe/)
        self._draining = False
        self._records: deque = deque()           # Publish actions, carried out once the queue is empty (_drain)
        self.kv = kv.KVStore()                   # yr.kv_* (docs/kv.md)
        self.streams = streams.Streams()         # yr.create_stream_producer/consumer
        self.checkpoints = checkpoints.Checkpoints()   # h.snapshot(), yr.restore_from_checkpoint (docs/groups.md)

    # ---- nodes --------------------------------------------------------------------------------
    def add_node(self, link: NodeLink, capacity: Resources, labels: dict | None = None, *, leased: bool = False,
                 running: list | None = None, info: dict | None = None) -> None:
        """A node joins (`leased`: it heartbeats; `running`: the workers it reports, when it
        registers again after a broken connection or a master restart)."""
        again = link.node_id in self.links and self.links[link.node_id] is link
        self.suspects.discard(link.node_id)
        self.links[link.node_id] = link
        if leased:
            self.leases.grant(link.node_id, self.now())
        else:
            self._unleased.add(link.node_id)
        self.recorder.node_joined(link.node_id, info or {"labels": dict(labels or {})})
        self._event(lambda: self.cluster.add_node(link.node_id, capacity, labels, self.now(), running,
                                                  keep_unassigned=again))

    def remove_node(self, node_id: str, reason: str) -> None:
        """The node is gone: no more starts go there; its instances with restarts left start
        on other nodes from their last saved state (see core/cluster.py), the others die with `reason`.
        Also for a node only the restored records name (it never came back)."""
        self.book.node_gone(node_id)
        self.links.pop(node_id, None)
        self.suspects.discard(node_id)
        self._store_renewed.pop(node_id, None)
        self.leases.forget(node_id)
        self._unleased.discard(node_id)
        self.recorder.node_left(node_id)
        self._event(lambda: self.cluster.remove_node(node_id, reason, self.now()))

    def disconnected(self, node_id: str) -> None:
        """The node's connection broke: it is suspect until it registers again or its lease ends."""
        if node_id in self.links:
            self.suspects.add(node_id)

    def heartbeat(self, node_id: str) -> bool:
        """A joined node is alive; False if it holds no lease (declared dead: it must stop)."""
        now = self.now()
        if not self.leases.renew(node_id, now):
            return False
        if now - self._store_renewed.get(node_id, -1e9) >= self.leases.ttl / 3:   # not one store write per message
            self._store_renewed[node_id] = now
            self.recorder.node_alive(node_id)
        return True

    def restore(self, instances: list, jobs: list[str]) -> None:
        """A restarted master: the records of the metadata store come back; the nodes they
        name are expected to register again within their lease, the drivers of the jobs to
        reopen their sessions within JOB_GRACE."""
        now = self.now()
        for inst in instances:
            self._event(lambda inst=inst: self.cluster.restore(inst))
            if inst.node_id and inst.node_id not in self.links and inst.state != core.PENDING:
                self.leases.grant(inst.node_id, now)
        for job in jobs:
            self._awaited_jobs[job] = now + JOB_GRACE
        for node_id in self._unleased:   # this process's node restarted with the master: it runs nothing
            node = self.cluster.nodes[node_id]
            self._event(lambda n=node: self.cluster.add_node(n.id, n.total, n.labels, now, running=[]))

    def warm_workers(self) -> int:
        return sum(link.status().warm_workers for link in self.links.values())

    # ---- driver requests (from the servicer) -----------------------------------------------------
    def create(self, inst: core.Instance, waiter) -> None:
        self._event(lambda: self.cluster.create(inst, waiter, self.now()))

    def terminate(self, instance_id: str) -> bool:
        """Kills the instance; True if it was alive."""
        inst = self.cluster.instances.get(instance_id)
        alive = inst is not None and inst.state != core.DEAD
        self._event(lambda: self.cluster.terminate(instance_id, self.now()))
        return alive

    def lookup(self, waiter, **query) -> None:
        self._event(lambda: self.cluster.lookup(waiter, self.now(), **query))

    def create_group(self, name: str, job_id: str, bundles: list, strategy: str, waiter, timeout: float) -> None:
        self._event(lambda: self.cluster.create_group(name, job_id, bundles, strategy, waiter, self.now(), timeout))

    def remove_group(self, name: str) -> None:
        self._event(lambda: self.cluster.remove_group(name, "removed by its owner", self.now()))

    def open_session(self, job_id: str, queue, pid: int = 0) -> None:
        self.sessions[job_id] = queue
        self.book.job_started(job_id, pid, self.now())
        self._awaited_jobs.pop(job_id, None)
        self.recorder.job_started(job_id, {})

    def close_session(self, job_id: str, owns_runtime: bool) -> None:
        self.sessions.pop(job_id, None)
        self.book.job_ended(job_id, self.now())
        self.recorder.job_ended(job_id)
        self._event(lambda: self.cluster.job_ended(job_id, self.now()))
        self.streams.job_ended(job_id)
        for link in self.links.values():
            link.free_job(job_id)
        if owns_runtime:
            self.request_stop(f"its driver (job {job_id}) ended")

    def end_sessions(self) -> None:
        """The runtime stops: every driver's event stream ends (with None)."""
        for q in self.sessions.values():
            q.put_nowait(None)

    def tick(self) -> None:
        now = self.now()
        self._event(lambda: self.cluster.tick(now))
        self.cluster.forget_dead()
        self.kv.expire(self.now())
        self.streams.expire(self.now())
        for node_id in self.leases.expired(now):
            log.warning("node %s sent no heartbeat for %gs: declared dead", node_id, self.leases.ttl)
            link = self.links.get(node_id)
            self.remove_node(node_id, f"its node {node_id} was lost (no heartbeat for {self.leases.ttl:g}s)")
            if link is not None:
                link.lost()
        for job in [j for j, until in self._awaited_jobs.items() if now >= until]:
            del self._awaited_jobs[job]
            self.close_session(job, False)
        if now - self._renewed >= self.leases.ttl / 3:   # nodes in this process have no heartbeat
            self._renewed = now
            for node_id in self._unleased:
                self.recorder.node_alive(node_id)

    # ---- NodeEvents ---------------------------------------------------------------------------------
    def worker_assigned(self, instance_id: str, worker_id: str, pid: int, endpoint: str) -> None:
        self._event(lambda: self.cluster.worker_assigned(instance_id, worker_id, pid, endpoint))

    def worker_exited(self, instance_id: str, worker_id: str, reason: str) -> None:
        self._event(lambda: self.cluster.worker_exited(instance_id, worker_id, reason, self.now()))

    def initialized(self, instance_id: str, error: str | None) -> None:
        self._event(lambda: self.cluster.instance_initialized(instance_id))

    def blocked(self, instance_id: str, is_blocked: bool) -> None:
        self._event(lambda: self.cluster.set_blocked(instance_id, is_blocked, self.now()))

    def state_saved(self, instance_id: str, data: bytes, stored=None, node_id: str | None = None) -> None:
        """Keeps the state for a restart; `node_id` (a joined node's report) fences: a node that
        no longer hosts the instance (declared dead, it was restarted elsewhere) is not heard."""
        inst = self.cluster.instances.get(instance_id)
        if inst is not None and inst.state != core.DEAD and node_id in (None, inst.node_id):
            self.states[instance_id] = data
        if stored is not None:
            stored()

    def node_metrics(self, node_id: str, report: dict) -> None:
        """A node's periodic metrics report (node/telemetry.py), kept in the book."""
        if node_id in self.links:
            self.book.node_report(node_id, report, self.now())

    def log(self, job_id: str, label: str, lines: list[str]) -> None:
        q = self.sessions.get(job_id)
        if q is not None and lines:
            q.put_nowait(LogLines(label, lines))

    # ---- the queue ------------------------------------------------------------------------------------
    def execute(self, actions) -> None:
        """Carries out the core's actions (after any queued before them)."""
        self._queue.extend(actions)
        self._drain()

    def _event(self, happen: Callable[[], list]) -> None:
        """Lets an event happen to the core now, or after the actions being carried out."""
        self._queue.append(happen)
        self._drain()

    def _drain(self) -> None:
        if self._draining:
            return   # the loop below, further up this stack, will get to it
        self._draining = True
        try:
            while self._queue or self._records:
                if not self._queue:
                    self._perform(self._records.popleft())
                    continue
                item = self._queue.popleft()
                if callable(item):
                    self._queue.extend(item())
                elif isinstance(item, core.Publish):
                    # After the answers and starts of this drain, in their own order: a warm
                    # worker's create is answered in this drain, and recording the new
                    # instance (its record encoded for the metadata store) came before it.
                    self._records.append(item)
                else:
                    self._perform(item)
        finally:
            self._draining = False

    def _perform(self, a) -> None:
        if isinstance(a, core.StartWorker):
            self._start(a)
        elif isinstance(a, core.StopWorker):
            link = self.links.get(a.node_id) if a.node_id else self._link_of(a.instance_id)
            if link is not None:
                link.stop_worker(a.instance_id, a.worker_id)
        elif isinstance(a, core.Answer):
            if not a.waiter.done():
                a.waiter.set_result(a)
        elif isinstance(a, core.Publish):
            self._publish(a.instance_id)

    def _start(self, a: core.StartWorker) -> None:
        inst = self.cluster.instances[a.instance_id]
        assign = dataclasses.replace(inst.payload, epoch=inst.epoch)   # fences callers of other placements
        if a.restart and a.instance_id in self.states:   # resume from yr.save_state
            assign = dataclasses.replace(assign, state=self.states[a.instance_id])
        link = self.links.get(a.node_id)
        if link is not None:   # else its node left meanwhile, and the instance died with it
            link.start_worker(assign)

    def _publish(self, instance_id: str) -> None:
        inst = self.cluster.instances.get(instance_id)
        if inst is not None:
            self.recorder.instance(inst)
        if inst is None or inst.state != core.DEAD:
            return
        self.states.pop(instance_id, None)
        link = self.links.get(inst.node_id)
        if link is not None:   # its node may hold a copy (saved there, or brought by a restart)
            link.forget_state(instance_id)
        q = self.sessions.get(inst.job_id)
        if q is not None:
            q.put_nowait(dataclasses.replace(inst))   # a snapshot: the record may change later

    def _link_of(self, instance_id: str) -> NodeLink | None:
        inst = self.cluster.instances.get(instance_id)
        return None if inst is None else self.links.get(inst.node_id)
