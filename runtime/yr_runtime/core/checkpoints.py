"""Checkpoints: saved states of instances kept under an id by the master (pure, no I/O).

Rules it keeps (openYuanrong's snapshot / restore_from_checkpoint / list_checkpoints /
delete_checkpoint; docs/groups.md):
- A checkpoint is the state an instance saves with `yr.save_state` (opaque bytes here),
  taken when its owner asks (`handle.snapshot()`), with the function type
  (`module.Class`) and namespace it was taken from.
- Its id is `{instance_id}-{function_type}-{uuid}` (openYuanrong's `{instanceID}-{functionID}-{uuid}`,
  with the function type standing for the function id); ids are never reused.
- It lives until deleted or until its ttl runs out (ttl < 0: DEFAULT_TTL seconds, as
  openYuanrong's docstring says; ttl 0: until deleted); an expired one is gone for every call.
- Listing filters by function type and namespace ("" matches all), oldest first.
- At most MAX_CHECKPOINTS are kept and each state at most MAX_STATE bytes: more is refused,
  not evicted, so a checkpoint a user holds an id of is never dropped silently.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

DEFAULT_TTL = 600.0
MAX_CHECKPOINTS = 10_000
MAX_STATE = 256 << 20


class CheckpointError(ValueError):
    """A refused snapshot, or an id that names no checkpoint."""


@dataclass(frozen=True)
class Checkpoint:
    id: str
    instance_id: str
    function_type: str
    namespace: str
    state: bytes
    expires: float | None


class Checkpoints:
    def __init__(self):
        self._by_id: dict[str, Checkpoint] = {}

    def take(self, instance_id: str, function_type: str, namespace: str, state: bytes,
             ttl: float, now: float) -> str:
        """Keeps `state` as a new checkpoint and returns its id."""
        self.expire(now)
        if not instance_id or not function_type:
            raise CheckpointError("a checkpoint needs the instance id and its function type")
        if len(state) > MAX_STATE:
            raise CheckpointError(f"the state is {len(state)} bytes, over the {MAX_STATE} a checkpoint may hold")
        if len(self._by_id) >= MAX_CHECKPOINTS:
            raise CheckpointError(f"{MAX_CHECKPOINTS} checkpoints are kept already: delete some first")
        ttl = DEFAULT_TTL if ttl < 0 else ttl
        cid = f"{instance_id}-{function_type}-{uuid.uuid4()}"
        self._by_id[cid] = Checkpoint(cid, instance_id, function_type, namespace, state,
                                      None if ttl == 0 else now + ttl)
        return cid

    def get(self, checkpoint_id: str, now: float) -> Checkpoint:
        self.expire(now)
        found = self._by_id.get(checkpoint_id)
        if found is None:
            raise CheckpointError(f"there is no checkpoint {checkpoint_id!r} (never taken, deleted or expired)")
        return found

    def list(self, function_type: str, namespace: str, now: float) -> list:
        self.expire(now)
        return [c for c in self._by_id.values()
                if function_type in ("", c.function_type) and namespace in ("", c.namespace)]

    def delete(self, checkpoint_id: str, now: float) -> None:
        self.get(checkpoint_id, now)
        del self._by_id[checkpoint_id]

    def expire(self, now: float) -> None:
        for cid in [c.id for c in self._by_id.values() if c.expires is not None and now >= c.expires]:
            del self._by_id[cid]
