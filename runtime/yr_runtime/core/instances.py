"""The cluster core's records and the actions it returns: values only, no behaviour.

- `Instance`: one instance's record (its request, its state, where it runs, its epoch).
  States: PENDING (waiting for capacity), STARTING (a worker is assigned and runs the
  constructor), RUNNING (constructor finished), DEAD (final).
- `Node`: a node's books (total and available resources, labels, instance labels).
- `Running`: a worker a registering node reports (reconciled by recovery.py).
- Actions the shell carries out: `StartWorker`, `StopWorker`, `Answer` (to a waiter),
  `Publish` (an instance's record changed: tell watchers, write it to the store).
- `CoreError`: an answer the core gives instead of an instance.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yr_runtime.wire.errors import ErrorCode

from .placement import NO_POLICY, Policy
from .resources import Resources

PENDING, STARTING, RUNNING, DEAD = "PENDING", "STARTING", "RUNNING", "DEAD"


class CoreError(Exception):
    """An answer the core gives instead of an instance. `kind` (an ErrorCode, carried to the
    caller as it is) says what went wrong and whose fault it is."""

    def __init__(self, kind: ErrorCode, message: str):
        super().__init__(message)
        self.kind = ErrorCode(kind)


@dataclass
class Instance:
    id: str
    job_id: str
    resources: Resources
    class_name: str = ""
    language: str = "python"
    name: str = ""
    namespace: str = ""
    detached: bool = False
    hidden: bool = False
    recover_retry_times: int = 0
    schedule_deadline: float | None = None
    schedule_timeout: float | None = None   # seconds; a restart on another node waits this long again
    payload: Any = None            # the shell's spec; the core never looks inside
    state: str = PENDING
    node_id: str = ""
    worker_id: str = ""
    pid: int = 0
    endpoint: str = ""
    exit_reason: str = ""
    restarts: int = 0
    blocked: bool = False          # its cpu is lent to its node (see the rules above)
    labels: tuple = ()             # seen by other instances' INSTANCE affinity
    affinity: Policy = NO_POLICY
    requester_node: str = ""       # the node of the driver/worker that asked: preferred when it fits
    epoch: int = 0                 # placements so far (the first is 1): a fencing token (wire.preamble)
    resource_group: str = ""       # placed into a bundle of this resource group (groups.py)
    bundle_index: int = -1         # which bundle; -1: the first with room

    @property
    def key(self) -> tuple[str, str] | None:
        return (self.namespace, self.name) if self.name else None


# ---- actions -------------------------------------------------------------------------
@dataclass(frozen=True)
class StartWorker:
    instance_id: str
    node_id: str
    restart: bool = False


@dataclass(frozen=True)
class StopWorker:
    instance_id: str
    worker_id: str
    node_id: str = ""              # given when it is not the instance's node (a stale worker)


@dataclass(frozen=True)
class Answer:
    waiter: Any
    instance_id: str | None
    error: CoreError | None = None
    existed: bool = False


@dataclass(frozen=True)
class Publish:
    instance_id: str


@dataclass(frozen=True)
class Running:
    """A worker a registering node reports: it hosts `instance_id` (ready: its constructor ran)."""
    instance_id: str
    worker_id: str
    pid: int
    endpoint: str
    ready: bool


@dataclass
class Node:
    id: str
    total: Resources
    available: Resources
    labels: dict = field(default_factory=dict)
    instance_labels: dict = field(default_factory=dict)   # label -> how many instances here carry it
