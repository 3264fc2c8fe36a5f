"""Node loss and master restart: what happens to instances whose node is gone, or whose
records come back from the metadata store. A mixin of `cluster.Cluster` (its state is
declared there; the annotations below name what this part uses).

Rules it keeps:
- When a node is lost, its instances with `recover_retry_times` left are restarted on other
  nodes: each counts a restart, keeps its request and goes back to PENDING, placed like a
  create among the remaining nodes (waiting up to its schedule timeout, counted again from
  the loss, if none has room now), and its start is a restart (the shell adds its last
  saved state). Those with no restarts left, or that no remaining node can ever fit, become
  DEAD with a reason naming the node (and what does not fit). Their resources went with
  the node's books; the new node's are taken when placed, and given back at death as usual.
- After a master restart (or a standby master's takeover) the records come back from the
  metadata store (`restore`); a node that registers reports the workers it runs
  (`add_node(running=...)`): a recorded instance whose worker the node still runs is
  adopted (its resources taken again); one the node no longer runs is lost as with a lost
  node; a worker the master has no live record for is stopped, so no instance runs twice.
  A recorded node that never registers again is removed like a lost node (`remove_node`
  works on its records alone).
"""
from __future__ import annotations

from .instances import DEAD, PENDING, RUNNING, STARTING, Instance, Node, Publish, Running, StopWorker


class Recovery:
    """Node loss and reconciliation, for `Cluster` (which provides `_kill`, `_schedule`,
    `_never_fits` and `_answer_ready_waiters`)."""

    nodes: dict
    instances: dict
    names: dict
    _pending: list

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
        """The workers a registering node reports against the records placed on it: adopted,
        lost (moved or killed), or stopped (no live record here). Called before the node is
        in `nodes`, so a lost instance gives back nothing it never took."""
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
            actions += self._adopt(node, inst, r)
        # workers of no live record here (dead, unknown, or placed elsewhere meanwhile): never twice
        return actions + [StopWorker(r.instance_id, r.worker_id, node.id) for r in reported.values()]

    def _adopt(self, node: Node, inst: Instance, r: Running) -> list:
        """A recorded instance whose worker the node still runs: its resources are taken again."""
        node.available = node.available - inst.resources
        for label in inst.labels:
            node.instance_labels[label] = node.instance_labels.get(label, 0) + 1
        if r.worker_id:
            inst.worker_id, inst.pid, inst.endpoint = r.worker_id, r.pid, r.endpoint
        inst.blocked = False
        actions = []
        if r.ready and inst.state == STARTING:
            inst.state = RUNNING
            actions += self._answer_ready_waiters(inst)
        return actions + [Publish(inst.id)]

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
