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
The clock is passed in; waiters are futures (anything with done()/set_result); session
queues are anything with put_nowait. No sockets, processes, gRPC or asyncio here.
"""
from __future__ import annotations

import dataclasses
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from yr_runtime.core import cluster as core
from yr_runtime.core import kv, streams
from yr_runtime.core.resources import Resources
from yr_runtime.node.link import NodeLink
from yr_runtime.observe.book import MetricsBook

log = logging.getLogger("yr.master")


@dataclass(frozen=True)
class LogLines:
    """Lines a job's worker wrote, for the job's driver."""
    label: str
    lines: list


class Master:
    def __init__(self, clock: Callable[[], float], request_stop: Callable[[str], None] = lambda reason: None):
        self.cluster = core.Cluster()
        self.now = clock
        self.request_stop = request_stop
        self.links: dict[str, NodeLink] = {}
        self.sessions: dict[str, Any] = {}       # job id -> its driver's event queue
        self.states: dict[str, bytes] = {}       # instance id -> its last saved state
        self._queue: deque = deque()             # actions, and events (callables) that came meanwhile
        self.book = MetricsBook()                # what nodes and workers counted (observe/)
        self._draining = False
        self.kv = kv.KVStore()                   # yr.kv_* (docs/kv.md)
        self.streams = streams.Streams()         # yr.create_stream_producer/consumer

    # ---- nodes --------------------------------------------------------------------------------
    def add_node(self, link: NodeLink, capacity: Resources, labels: dict | None = None) -> None:
        self.links[link.node_id] = link
        self._event(lambda: self.cluster.add_node(link.node_id, capacity, labels, self.now()))

    def remove_node(self, node_id: str, reason: str) -> None:
        """The node is gone: no more starts go there; its instances with restarts left start
        on other nodes from their last saved state (see core/cluster.py), the others die with `reason`."""
        self.book.node_gone(node_id)
        if self.links.pop(node_id, None) is not None:
            self._event(lambda: self.cluster.remove_node(node_id, reason, self.now()))

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

    def open_session(self, job_id: str, queue, pid: int = 0) -> None:
        self.sessions[job_id] = queue
        self.book.job_started(job_id, pid, self.now())

    def close_session(self, job_id: str, owns_runtime: bool) -> None:
        self.sessions.pop(job_id, None)
        self.book.job_ended(job_id, self.now())
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
        self._event(lambda: self.cluster.tick(self.now()))
        self.cluster.forget_dead()
        self.kv.expire(self.now())
        self.streams.expire(self.now())

    # ---- NodeEvents ---------------------------------------------------------------------------------
    def worker_assigned(self, instance_id: str, worker_id: str, pid: int, endpoint: str) -> None:
        self._event(lambda: self.cluster.worker_assigned(instance_id, worker_id, pid, endpoint))

    def worker_exited(self, instance_id: str, worker_id: str, reason: str) -> None:
        self._event(lambda: self.cluster.worker_exited(instance_id, worker_id, reason, self.now()))

    def initialized(self, instance_id: str, error: str | None) -> None:
        self._event(lambda: self.cluster.instance_initialized(instance_id))

    def blocked(self, instance_id: str, is_blocked: bool) -> None:
        self._event(lambda: self.cluster.set_blocked(instance_id, is_blocked, self.now()))

    def state_saved(self, instance_id: str, data: bytes) -> None:
        inst = self.cluster.instances.get(instance_id)
        if inst is not None and inst.state != core.DEAD:
            self.states[instance_id] = data

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
            while self._queue:
                item = self._queue.popleft()
                if callable(item):
                    self._queue.extend(item())
                else:
                    self._perform(item)
        finally:
            self._draining = False

    def _perform(self, a) -> None:
        if isinstance(a, core.StartWorker):
            self._start(a)
        elif isinstance(a, core.StopWorker):
            link = self._link_of(a.instance_id)
            if link is not None:
                link.stop_worker(a.instance_id, a.worker_id)
        elif isinstance(a, core.Answer):
            if not a.waiter.done():
                a.waiter.set_result(a)
        elif isinstance(a, core.Publish):
            self._publish(a.instance_id)

    def _start(self, a: core.StartWorker) -> None:
        inst = self.cluster.instances[a.instance_id]
        assign = inst.payload
        if a.restart and a.instance_id in self.states:   # resume from yr.save_state
            assign = dataclasses.replace(assign, state=self.states[a.instance_id])
        link = self.links.get(a.node_id)
        if link is not None:   # else its node left meanwhile, and the instance died with it
            link.start_worker(assign)

    def _publish(self, instance_id: str) -> None:
        inst = self.cluster.instances.get(instance_id)
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
