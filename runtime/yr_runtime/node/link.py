"""The seam between the master and its nodes: what each may tell the other, and nothing more.

The master reaches a node only through a `NodeLink`; a node reports only through
`NodeEvents`. Everything that crosses is a value (an `m.Assign`, ids, bytes, strings): no
object is shared, so either side can be put behind a network. The local node (`node.agent`)
implements NodeLink in the daemon's process; a remote node will implement it with messages.

Rules of the seam:
- NodeLink calls never block and return nothing the master must wait for: their outcome
  comes back as a NodeEvents call (maybe at once, from inside the NodeLink call: the master
  queues such events and handles them after the action that caused them).
- A start is answered by `worker_assigned` or by `worker_exited` (the worker could not
  start, or died); a worker's end is always reported by `worker_exited`.
- A saved state is reported with `state_saved`; the master keeps the last one per instance
  and hands it back with the Assign of a restart, on whichever node that runs. `stored()`
  is called once the master holds it (at once on the master's own node; for a joined node
  when the master confirms it, or when its stream to the master breaks: see uplink.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from yr_runtime.wire import messages as m


@dataclass(frozen=True)
class NodeStatus:
    """A node's report of itself (for `yr status`)."""
    node_id: str
    warm_workers: int


class NodeLink(Protocol):
    """What the master may ask of one node."""
    node_id: str

    def start_worker(self, assign: m.Assign) -> None:
        """Starts (or takes from the warm pool) a worker and hands it the instance."""

    def stop_worker(self, instance_id: str, worker_id: str) -> None:
        """Asks the worker to exit, escalating to signals; ends in `worker_exited`."""

    def free_job(self, job_id: str) -> None:
        """Drops the objects the job put in this node's store."""

    def forget_state(self, instance_id: str) -> None:
        """The instance is dead: drop the node's copy of its saved state."""

    def status(self) -> NodeStatus:
        ...

    def read_log(self, instance_id: str, offset: int, tail_lines: int, max_bytes: int, reply) -> None:
        """Reads the instance's worker log on this node (node.logs.read_log); the `LogRead`
        comes back through `reply(read)`, at once or later (never blocks)."""

    async def shutdown(self) -> None:
        """Stops every worker and frees every object of the node."""

    def lost(self) -> None:
        """The master declared the node dead (its lease expired): cut it off; a node cut off
        stops its workers, whose instances run elsewhere by now."""


class NodeEvents(Protocol):
    """What a node reports to the master."""

    def worker_assigned(self, instance_id: str, worker_id: str, pid: int, endpoint: str) -> None: ...

    def worker_exited(self, instance_id: str, worker_id: str, reason: str) -> None: ...

    def initialized(self, instance_id: str, error: str | None) -> None: ...

    def blocked(self, instance_id: str, is_blocked: bool) -> None: ...

    def state_saved(self, instance_id: str, data: bytes, stored: Callable[[], None] | None = None) -> None: ...

    def log(self, job_id: str, label: str, lines: list[str]) -> None: ...
