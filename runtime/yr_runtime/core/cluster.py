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
- What happens when a node is lost or the master restarts is recovery.py's (rules there);
  names and waiters are lookups.py's; resource groups (bundles reserved all or nothing,
  instances placed into a bundle's reservation) are group_ops.py's and groups.py's.
  `Cluster` joins them: one state, declared here.
- Every event method returns the actions the shell must carry out; the clock is passed in.
"""
from __future__ import annotations

from typing import Any

from yr_runtime.wire.errors import ErrorCode

from . import groups as rg
from . import placement
from .group_ops import GroupOps
from .instances import (DEAD, PENDING, RUNNING, STARTING, Answer, CoreError, Instance, Node, Publish,  # noqa: F401
                        Running, StartWorker, StopWorker)
from .lookups import Lookups, _Waiter
from .placement import Policy
from .recovery import Recovery
from .resources import Resources

TOMBSTONES = 4096
TERMINATED_BEFORE_CREATED = "terminated by its owner before its creation arrived"


class Cluster(Recovery, Lookups, GroupOps):
    """The instance directory and scheduler (rules at the top of this module and of its
    mixins). Every event method returns the actions the shell must carry out."""

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
        return actions + self._expire_groups(now) + self._expire_waiters(now)

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
        actions += self._fail_waiters(inst, CoreError(kind, f"instance {inst.id} ({inst.class_name}) is dead: {reason}"))
        return actions + [Publish(inst.id)] + self._schedule(now)


def _describe(r: Resources) -> str:
    extra = "".join(f", {k}={v:g}" for k, v in r.custom.items())
    return f"cpu={r.cpu}m, memory={r.memory}MiB{extra}"

