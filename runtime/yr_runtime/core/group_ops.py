"""Resource groups as the cluster core sees them: creating and removing a group and
reserving pending groups' bundles before instances are placed. The bundles' own rules
(all or nothing, placement strategies, expiry) are groups.py's; this mixin of
`cluster.Cluster` ties them to the instances (its state is declared there).
"""
from __future__ import annotations

from typing import Any

from yr_runtime.wire.errors import ErrorCode

from . import groups as rg
from .instances import PENDING, Answer, CoreError


class GroupOps:
    """Resource groups, for `Cluster` (which provides `_kill` and `_schedule`)."""

    nodes: dict
    instances: dict
    groups: rg.Groups

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

    def _expire_groups(self, now: float) -> list:
        """The waiters of groups that stayed PENDING past their timeout, answered with an error."""
        return [Answer(w, None, CoreError(ErrorCode.ERR_RESOURCE_NOT_ENOUGH, group.error))
                for group in self.groups.expire(now) for w in group.waiters]

    def _reserve_groups(self) -> list:
        """Pending groups first (they asked before the instances waiting behind them could)."""
        actions = []
        for group in self.groups.retry(self.nodes):
            actions += [Answer(w, None) for w in group.waiters]
            group.waiters.clear()
        return actions
