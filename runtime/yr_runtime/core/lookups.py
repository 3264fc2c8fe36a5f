"""Names and waiters: finding an instance by id or (namespace, name), and answering those
who wait for one to be assigned a worker or to run. A mixin of `cluster.Cluster` (its
state is declared there; the annotations below name what this part uses).

Rules it keeps:
- (namespace, name) maps to at most one live instance (`names`); a dead instance's name
  is free again (cluster.py removes it).
- A waiter waits "assigned" (the instance's endpoint is known: a create's answer) or
  "running" (its constructor finished: a lookup's answer); it is answered once, when the
  instance gets there, dies (an error naming why), or at its deadline (`_expire_waiters`).
- An instance that does not exist is answered at once (ERR_INSTANCE_NOT_FOUND).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yr_runtime.wire.errors import ErrorCode

from .instances import DEAD, RUNNING, STARTING, Answer, CoreError, Instance


@dataclass
class _Waiter:
    token: Any
    instance_id: str | None
    key: tuple[str, str] | None
    until: str                     # "assigned" (endpoint known) | "running"
    deadline: float | None


class Lookups:
    """Names and waiters, for `Cluster`."""

    instances: dict
    names: dict
    _waiters: list

    def find(self, instance_id: str = "", key: tuple[str, str] | None = None) -> Instance | None:
        """The record of an id, or of the live instance holding a (namespace, name); None."""
        if key is not None:
            instance_id = self.names.get(key, "")
        return self.instances.get(instance_id)

    def lookup(self, waiter: Any, now: float, *, instance_id: str = "", name: str = "",
               namespace: str = "", timeout: float = 0.0) -> list:
        """Answers with the instance once it is RUNNING, waiting up to `timeout` seconds."""
        key = (namespace, name) if name else None
        deadline = now + timeout if timeout > 0 else now
        return self._wait_or_answer(_Waiter(waiter, instance_id or None, key, "running", deadline))

    def _expire_waiters(self, now: float) -> list:
        """The waiters whose deadline passed, answered with an error."""
        actions = []
        for w in list(self._waiters):
            if w.deadline is not None and now >= w.deadline:
                self._waiters.remove(w)
                inst = self.instances.get(w.instance_id or "")
                label = f"{inst.class_name} {inst.id}" if inst else w.instance_id
                actions.append(Answer(w.token, None, CoreError(ErrorCode.ERR_GET_OPERATION_FAILED,
                                                               f"instance {label} was not ready in time")))
        return actions

    def _fail_waiters(self, inst: Instance, error: CoreError) -> list:
        """The waiters of an instance that died, answered with `error`."""
        actions = []
        for w in [w for w in self._waiters if w.instance_id == inst.id]:
            self._waiters.remove(w)
            actions.append(Answer(w.token, None, error))
        return actions

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
