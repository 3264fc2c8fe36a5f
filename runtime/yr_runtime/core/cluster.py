"""The instance directory and scheduler, as a pure state machine.

Rules it keeps:
- An instance is PENDING (waiting for capacity), STARTING (a worker is assigned and runs
  the constructor), RUNNING (constructor finished, successfully or not) or DEAD. DEAD is final.
- Resources are taken when an instance leaves PENDING and given back exactly once, when it
  becomes DEAD. A restart (recover_retry_times) keeps the resources.
- A request no node can ever satisfy (by total resources, or by its REQUIRED resource
  affinity against the nodes' labels) fails at once; one that fits a node's total but not
  what is free now waits, up to its schedule timeout, first come first served. Which node
  it goes on is placement.py's choice (labels, affinity, local node first, most free).
- When a node is lost, its instances with `recover_retry_times` left are restarted on other
  nodes: each counts a restart, keeps its request and goes back to PENDING, placed like a
  create among the remaining nodes (waiting up to its schedule timeout, counted again from
  the loss, if none has room now), and its start is a restart (the shell adds its last
  saved state). Those with no restarts left, or that no remaining node can ever fit, become
  DEAD with a reason naming the node (and what does not fit). Their resources went with
  the node's books; the new node's are taken when placed, and given back at death as usual.
- (namespace, name) maps to at most one live instance: a second create with the same name
  returns the existing one.
- An instance whose calls all wait for other calls' results (yr.get / yr.wait) is
  *blocked*: its cpu returns to its node while it is, so the calls it waits for can be
  scheduled (a recursion deeper than the node's cores would otherwise deadlock). When it
  resumes it takes its cpu back at once, even if the node is then oversubscribed for a
  while (the node's available cpu may go below zero; nothing new is placed there until it
  is positive again). Memory and custom resources stay taken. Death or a restart of a
  blocked instance gives back only what it still holds.
- A terminate of an id the core does not know leaves a tombstone (the newest TOMBSTONES are
  kept): creates are sent asynchronously, so a terminate sent right after its create can
  arrive first. A create of a tombstoned id is refused at once and recorded DEAD, so no
  worker starts for an instance its owner already terminated.
- Every placement of an instance (its first, each restart) counts one *epoch*, recorded with
  it in the metadata store, so a later fencing step can refuse a stale worker.
- After a master restart the records come back from the metadata store (`restore`); a
  node that registers reports the workers it runs (`add_node(running=...)`): a recorded
  instance whose worker the node still runs is adopted (its resources taken again); one the
  node no longer runs is lost as with a lost node; a worker the master has no live record
  for is stopped, so no instance runs twice. A recorded node that never registers again is
  removed like a lost node (`remove_node` works on its records alone).
- Resource groups (bundles reserved all or nothing, instances placed into a bundle's
  reservation) keep the rules written at the top of groups.py; this module calls them.
- Every event method returns the actions the shell must carry out; the clock is passed in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yr_runtime.wire.errors import ErrorCode

from . import groups as rg
from . import placement
from .placement import NO_POLICY, Policy
from .resources import Resources

PENDING, STARTING, RUNNING, DEAD = "PENDING", "STARTING", "RUNNING", "DEAD"
TOMBSTONES = 4096
TERMINATED_BEFORE_CREATED = "terminated by its owner before its creation arrived"


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
    epoch: int = 0                 # placements so far (the first is 1): a fencing token for later
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
class _Waiter:
    token: Any
    instance_id: str | None
    key: tuple[str, str] | None
    until: str                     # "assigned" (endpoint known) | "running"
    deadline: float | None


@dataclass
class Node:
    id: str
    total: Resources
    available: Resources
    labels: dict = field(default_factory=dict)
    instance_labels: dict = field(default_factory=dict)   # label -> how many instances here carry it


class Cluster:
    def __init__(self):
        self.nodes: dict[str, Node] = {}
        self.instances: dict[str, Instance] = {}
        self.names: dict[tuple[str, str], str] = {}
        self._pending: list[str] = []
        self._waiters: list[_Waiter] = []
        self._tombstones: dict[str, None] = {}   # ids terminated before their create (oldest first)
        self.groups = rg.Groups()                 # resource groups and their bundles (groups.py)

    # ---- nodes ---------------------------------------------------------------------------
    def add_node(self, node_id: str, total: Resources, labels: dict | None = None, now: float = 0.0,
                 running: "list[Running] | None" = None, keep_unassigned: bool = False) -> list:
        """A node joins; pending instances (waiting creates, restarts of a lost node's
        instances) may now fit there. With `running` (the node registers again, after a
        broken connection or a master restart) its workers are reconciled with the records
        (see the rules above); `keep_unassigned`: starts sent to it before are still queued
        for it (the same master), so its instances not yet assigned a worker are kept."""
        self.nodes.pop(node_id, None)   # (registering again: its books are made anew below)
        node = Node(node_id, total, total, dict(labels or {}))
        # reconciled before the node is in self.nodes, so a lost instance gives back nothing it never took
        actions = [] if running is None else self._reconcile(node, running, now, keep_unassigned)
        self.nodes[node_id] = node
        return actions + self._schedule(now)

    def restore(self, inst: Instance) -> list:
        """A record reloaded from the metadata store after a master restart. Its node's
        resources are taken when that node registers again and reports the worker."""
        if inst.id in self.instances or inst.state == DEAD:
            return []
        self.instances[inst.id] = inst
        if inst.key:
            self.names[inst.key] = inst.id
        if inst.state == PENDING:
            self._pending.append(inst.id)
        return []

    def _reconcile(self, node: Node, running: "list[Running]", now: float, keep_unassigned: bool) -> list:
        reported = {r.instance_id: r for r in running}
        actions = []
        for inst in list(self.instances.values()):
            if inst.node_id != node.id or inst.state not in (STARTING, RUNNING):
                continue
            r = reported.pop(inst.id, None)
            if r is None and not inst.worker_id and keep_unassigned:
                r = Running(inst.id, "", 0, "", False)   # its start is still on the way to the node
            if r is None or (inst.worker_id and r.worker_id != inst.worker_id):
                if r is not None:
                    actions.append(StopWorker(r.instance_id, r.worker_id, node.id))
                inst.blocked = False
                actions += self._move_or_kill(inst, f"its worker was gone when node {node.id} registered again", now)
                continue
            node.available = node.available - inst.resources
            for label in inst.labels:
                node.instance_labels[label] = node.instance_labels.get(label, 0) + 1
            if r.worker_id:
                inst.worker_id, inst.pid, inst.endpoint = r.worker_id, r.pid, r.endpoint
            inst.blocked = False
            if r.ready and inst.state == STARTING:
                inst.state = RUNNING
                actions += self._answer_ready_waiters(inst)
            actions.append(Publish(inst.id))
        # workers of no live record here (dead, unknown, or placed elsewhere meanwhile): never twice
        return actions + [StopWorker(r.instance_id, r.worker_id, node.id) for r in reported.values()]

    def remove_node(self, node_id: str, reason: str, now: float) -> list:
        """A node is gone (its connection broke, or it was stopped): nothing is placed there
        any more. Its instances with restarts left go back to PENDING (counting a restart,
        keeping their request) and are placed among the remaining nodes as a create is (the
        shell's StartWorker(restart=True) carries their saved state); the others, and those
        no remaining node can ever fit, become DEAD naming the node. Pending instances stay
        pending: another node may join."""
        known = self.nodes.pop(node_id, None) is not None
        if not known and not any(i.node_id == node_id and i.state in (STARTING, RUNNING)
                                 for i in self.instances.values()):
            return []   # (a node restored records name, that never came back, is removed too)
        actions = []
        self.groups.node_lost(node_id)
        for inst in list(self.instances.values()):
            if inst.node_id == node_id and inst.state in (STARTING, RUNNING):
                inst.blocked = False   # its node's books are gone with it
                actions += self._move_or_kill(inst, reason, now)
        return actions + self._schedule(now)

    def _move_or_kill(self, inst: Instance, reason: str, now: float) -> list:
        """An instance whose node is gone: back to PENDING for another node, or DEAD."""
        never = self._never_fits(inst) if inst.restarts < inst.recover_retry_times else None
        if inst.restarts >= inst.recover_retry_times or never:
            why = reason if not never else f"{reason}; it cannot be restarted elsewhere: {never}"
            return self._kill(inst, why, now, stop=False)
        inst.restarts += 1
        inst.state, inst.node_id, inst.worker_id, inst.pid, inst.endpoint = PENDING, "", "", 0, ""
        inst.exit_reason = reason
        if inst.schedule_timeout is not None:
            inst.schedule_deadline = now + inst.schedule_timeout   # its wait starts again now
        self._pending.append(inst.id)
        return [Publish(inst.id)]

    # ---- events ----------------------------------------------------------------------------
    def create(self, inst: Instance, waiter: Any, now: float) -> list:
        """A driver asks for an instance; the waiter is answered once its endpoint is known."""
        if inst.key and inst.key in self.names:
            existing = self.instances[self.names[inst.key]]
            if existing.state != DEAD:
                return self._wait_or_answer(_Waiter(waiter, existing.id, None, "assigned", None), existed=True)
        if inst.id in self.instances:
            return [Answer(waiter, None, CoreError(ErrorCode.ERR_PARAM_INVALID,
                                                   f"instance id {inst.id} is already in use"))]
        if inst.id in self._tombstones:
            return self._refuse_terminated(inst, waiter)
        unknown = self._undeclared(inst.resources)
        if unknown:
            return [Answer(waiter, None, CoreError(ErrorCode.ERR_RESOURCE_CONFIG_ERROR,
                                                   f"cannot create {inst.class_name or 'instance'}: "
                                                   f"invalid resource parameter: {unknown}"))]
        try:
            reason = self._never_fits(inst)
        except rg.GroupError as e:
            return [Answer(waiter, None, CoreError(e.kind, f"cannot create {inst.class_name or 'instance'}: {e}"))]
        if reason:
            return [Answer(waiter, None, CoreError(ErrorCode.ERR_RESOURCE_NOT_ENOUGH,
                                                   f"cannot create {inst.class_name or 'instance'}: {reason}"))]
        self.instances[inst.id] = inst
        if inst.key:
            self.names[inst.key] = inst.id
        self._waiters.append(_Waiter(waiter, inst.id, None, "assigned", None))
        self._pending.append(inst.id)
        return self._schedule(now)

    def worker_assigned(self, instance_id: str, worker_id: str, pid: int, endpoint: str) -> list:
        inst = self.instances.get(instance_id)
        if inst is None or inst.state not in (STARTING, RUNNING):   # dead, or moved back to PENDING
            return [StopWorker(instance_id, worker_id)]
        inst.worker_id, inst.pid, inst.endpoint = worker_id, pid, endpoint
        return self._answer_ready_waiters(inst) + [Publish(instance_id)]

    def instance_initialized(self, instance_id: str) -> list:
        inst = self.instances.get(instance_id)
        if inst is None or inst.state != STARTING:
            return []
        inst.state = RUNNING
        return self._answer_ready_waiters(inst) + [Publish(instance_id)]

    def set_blocked(self, instance_id: str, blocked: bool, now: float) -> list:
        """The instance's calls all wait for results (True) or one resumed (False)."""
        inst = self.instances.get(instance_id)
        if inst is None or inst.state not in (STARTING, RUNNING) or inst.blocked == blocked:
            return []
        inst.blocked = blocked
        pool = self.groups.placed.get(instance_id) or self.nodes[inst.node_id]   # lent where it was taken from
        cpu = Resources(cpu=inst.resources.cpu)
        pool.available = pool.available + cpu if blocked else pool.available - cpu
        return self._schedule(now) if blocked else []

    def worker_exited(self, instance_id: str, worker_id: str, reason: str, now: float) -> list:
        inst = self.instances.get(instance_id)
        if inst is None or inst.state == DEAD or inst.worker_id != worker_id:
            return []
        self.set_blocked(instance_id, False, now)   # a restarted worker starts unblocked
        if inst.restarts < inst.recover_retry_times:
            inst.restarts += 1
            inst.epoch += 1
            inst.state, inst.worker_id, inst.pid, inst.endpoint = STARTING, "", 0, ""
            inst.exit_reason = reason
            return [StartWorker(inst.id, inst.node_id, restart=True), Publish(inst.id)]
        return self._kill(inst, reason, now, stop=False)

    def terminate(self, instance_id: str, now: float) -> list:
        inst = self.instances.get(instance_id)
        if inst is None:
            self._bury(instance_id)
            return []
        if inst.state == DEAD:
            return []
        return self._kill(inst, "terminated by its owner", now, stop=True)

    def job_ended(self, job_id: str, now: float) -> list:
        actions = []
        for inst in list(self.instances.values()):
            if inst.job_id == job_id and not inst.detached and inst.state != DEAD:
                actions += self._kill(inst, f"its driver (job {job_id}) ended", now, stop=True)
        for group in [g for g in self.groups.groups.values() if g.job_id == job_id]:
            actions += self.remove_group(group.name, f"its driver (job {job_id}) ended", now)
        return actions

    def lookup(self, waiter: Any, now: float, *, instance_id: str = "", name: str = "",
               namespace: str = "", timeout: float = 0.0) -> list:
        """Answers with the instance once it is RUNNING, waiting up to `timeout` seconds."""
        key = (namespace, name) if name else None
        deadline = now + timeout if timeout > 0 else now
        return self._wait_or_answer(_Waiter(waiter, instance_id or None, key, "running", deadline))

    def tick(self, now: float) -> list:
        actions = []
        for iid in list(self._pending):
            inst = self.instances[iid]
            if inst.schedule_deadline is not None and now >= inst.schedule_deadline:
                rules = placement.unmet(inst.affinity)
                actions += self._kill(inst, "timed out waiting for free resources "
                                            f"({_describe(inst.resources)})"
                                            + (f" on a node allowed by its {rules}" if rules else ""),
                                      now, stop=False, kind=ErrorCode.ERR_RESOURCE_NOT_ENOUGH)
        for group in self.groups.expire(now):
            actions += [Answer(w, None, CoreError(ErrorCode.ERR_RESOURCE_NOT_ENOUGH, group.error)) for w in group.waiters]
        for w in list(self._waiters):
            if w.deadline is not None and now >= w.deadline:
                self._waiters.remove(w)
                inst = self.instances.get(w.instance_id or "")
                label = f"{inst.class_name} {inst.id}" if inst else w.instance_id
                actions.append(Answer(w.token, None, CoreError(ErrorCode.ERR_GET_OPERATION_FAILED,
                                                               f"instance {label} was not ready in time")))
        return actions

    # ---- resource groups (rules: groups.py) ----------------------------------------------------
    def create_group(self, name: str, job_id: str, bundles: list, strategy: str, waiter: Any, now: float,
                     timeout: float | None) -> list:
        """Reserves the bundles now, or keeps the group PENDING up to `timeout` seconds (None:
        no bound); `waiter` is answered (instance_id None) once it is reserved or has failed."""
        try:
            group = self.groups.create(name, job_id, bundles, strategy, self.nodes,
                                       None if timeout is None else now + timeout)
        except rg.GroupError as e:
            return [Answer(waiter, None, CoreError(e.kind, str(e)))]
        if group.state == rg.CREATED:
            return [Answer(waiter, None)] + self._schedule(now)
        group.waiters.append(waiter)
        return []

    def remove_group(self, name: str, reason: str, now: float) -> list:
        """Kills the group's instances, then gives its reservations back (a no-op if unknown)."""
        if name not in self.groups.groups:
            return []
        actions = []
        why = f"its resource group {name!r} was removed ({reason})"
        for inst in [i for i in self.instances.values() if i.resource_group == name and i.state == PENDING]:
            actions += self._kill(inst, why, now, stop=False)   # first, so none takes a place freed below
        for iid in self.groups.instances_of(name):
            actions += self._kill(self.instances[iid], why, now, stop=True)
        group = self.groups.remove(name, self.nodes)
        actions += [Answer(w, None, CoreError(ErrorCode.ERR_RESOURCE_NOT_ENOUGH, group.error)) for w in group.waiters]
        return actions + self._schedule(now)

    def _reserve_groups(self) -> list:
        """Pending groups first (they asked before the instances waiting behind them could)."""
        actions = []
        for group in self.groups.retry(self.nodes):
            actions += [Answer(w, None) for w in group.waiters]
            group.waiters.clear()
        return actions

    def _place(self, inst: Instance) -> Node | None:
        """Chooses the instance's node and takes its resources there (or in its bundle)."""
        if not inst.resource_group:
            node = placement.choose(inst.resources, inst.affinity, inst.requester_node, self.nodes.values())
            if node is not None:
                node.available = node.available - inst.resources
            return node
        bundle = self.groups.choose(inst.resources, inst.resource_group, inst.bundle_index)
        if bundle is None:
            return None
        self.groups.take(inst.id, bundle, inst.resources)
        return self.nodes[bundle.node_id]

    # ---- queries ------------------------------------------------------------------------------
    def find(self, instance_id: str = "", key: tuple[str, str] | None = None) -> Instance | None:
        if key is not None:
            instance_id = self.names.get(key, "")
        return self.instances.get(instance_id)

    def forget_dead(self, keep: int = 1000) -> None:
        """Bounds memory: drops the oldest DEAD records beyond `keep`."""
        dead = [i for i in self.instances.values() if i.state == DEAD]
        for inst in dead[:-keep] if len(dead) > keep else []:
            del self.instances[inst.id]

    # ---- internals ------------------------------------------------------------------------------
    def _undeclared(self, req: Resources) -> str:
        """The custom resources of `req` that no node declares, quoted ('' if none): a
        request that names them is malformed, not merely too big (openYuanrong: 1006)."""
        declared = {k for n in self.nodes.values() for k in n.total.custom}
        unknown = [repr(k) for k in req.custom if k not in declared]
        return f"custom resource {', '.join(unknown)} requested, but no node declares it" if unknown else ""

    def _bury(self, instance_id: str) -> None:
        """Remembers a terminate that may have overtaken its create (bounded: oldest dropped)."""
        self._tombstones[instance_id] = None
        if len(self._tombstones) > TOMBSTONES:
            del self._tombstones[next(iter(self._tombstones))]

    def _refuse_terminated(self, inst: Instance, waiter: Any) -> list:
        """The create of an instance already terminated: recorded DEAD, never scheduled."""
        del self._tombstones[inst.id]
        inst.state, inst.exit_reason = DEAD, TERMINATED_BEFORE_CREATED
        self.instances[inst.id] = inst
        err = CoreError(ErrorCode.ERR_INSTANCE_EXITED, f"instance {inst.id} ({inst.class_name}) is dead: {TERMINATED_BEFORE_CREATED}")
        return [Answer(waiter, None, err), Publish(inst.id)]

    def _never_fits(self, inst: Instance) -> str | None:
        if not self.nodes:
            return "there are no nodes"
        if inst.resource_group:   # its bundle's total is what counts (GroupError if it never can)
            return self.groups.check(inst.resources, inst.resource_group, inst.bundle_index)
        refusal = placement.never_allowed(inst.affinity, self.nodes.values())
        if refusal:
            return refusal
        # only the nodes its required resource affinity allows count (instance affinity may change)
        static = Policy(tuple(inst.affinity.required(placement.RESOURCE)))
        reasons = [inst.resources.shortfall(n.total) for n in self.nodes.values()
                   if placement.allowed(static, n)]
        return None if any(r is None for r in reasons) else reasons[0]

    def _schedule(self, now: float) -> list:
        actions = self._reserve_groups()
        again = True
        while again:   # an instance placed with labels may let an earlier one (instance affinity) in
            again = False
            for iid in list(self._pending):
                inst = self.instances[iid]
                node = self._place(inst)
                if node is None:
                    continue
                for label in inst.labels:
                    node.instance_labels[label] = node.instance_labels.get(label, 0) + 1
                inst.node_id, inst.state = node.id, STARTING
                inst.epoch += 1
                self._pending.remove(iid)
                # a pending instance with restarts lost its node: its start is a restart
                actions += [StartWorker(iid, node.id, restart=inst.restarts > 0), Publish(iid)]
                again = again or bool(inst.labels)
        return actions

    def _kill(self, inst: Instance, reason: str, now: float, *, stop: bool,
              kind: ErrorCode = ErrorCode.ERR_INSTANCE_EXITED) -> list:
        was = inst.state
        actions = [StopWorker(inst.id, inst.worker_id)] if stop and inst.worker_id else []
        if inst.blocked:
            self.set_blocked(inst.id, False, now)   # its cpu is back: all of it returns below
        inst.state, inst.exit_reason = DEAD, reason
        if was == PENDING:
            self._pending.remove(inst.id)
        elif inst.node_id in self.nodes:   # (not on a removed node)
            node = self.nodes[inst.node_id]
            if not self.groups.give_back(inst.id, inst.resources):
                node.available = node.available + inst.resources
            for label in inst.labels:
                node.instance_labels[label] -= 1
                if not node.instance_labels[label]:
                    del node.instance_labels[label]
        if inst.key and self.names.get(inst.key) == inst.id:
            del self.names[inst.key]
        for w in [w for w in self._waiters if w.instance_id == inst.id]:
            self._waiters.remove(w)
            actions.append(Answer(w.token, None, CoreError(kind, f"instance {inst.id} ({inst.class_name}) is dead: {reason}")))
        return actions + [Publish(inst.id)] + self._schedule(now)

    def _wait_or_answer(self, w: _Waiter, existed: bool = False) -> list:
        inst = self.find(w.instance_id or "", w.key)
        if inst is not None and self._satisfies(inst, w.until):
            return [Answer(w.token, inst.id, None, existed)]
        if inst is None:
            what = f"named {w.key[1]!r} in namespace {w.key[0]!r}" if w.key else f"with id {w.instance_id}"
            return [Answer(w.token, None, CoreError(ErrorCode.ERR_INSTANCE_NOT_FOUND, f"there is no instance {what}"))]
        if inst.state == DEAD:
            return [Answer(w.token, None, CoreError(ErrorCode.ERR_INSTANCE_EXITED,
                                                    f"instance {inst.id} ({inst.class_name}) is dead: {inst.exit_reason}"))]
        w.instance_id, w.key = inst.id, None
        self._waiters.append(w)
        return []

    @staticmethod
    def _satisfies(inst: Instance, until: str) -> bool:
        if until == "assigned":
            return bool(inst.endpoint) and inst.state in (STARTING, RUNNING)
        return inst.state == RUNNING

    def _answer_ready_waiters(self, inst: Instance) -> list:
        actions = []
        for w in list(self._waiters):
            if w.instance_id == inst.id and self._satisfies(inst, w.until):
                self._waiters.remove(w)
                actions.append(Answer(w.token, inst.id))
        return actions


def _describe(r: Resources) -> str:
    extra = "".join(f", {k}={v:g}" for k, v in r.custom.items())
    return f"cpu={r.cpu}m, memory={r.memory}MiB{extra}"

