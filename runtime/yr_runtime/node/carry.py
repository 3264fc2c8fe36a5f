"""First calls carried by a create: the agent's side (docs/architecture.md "Creation").

A driver on the master's node sends `CreateOnNode(carry=instance id)` and, until it has the
answer, the calls it makes on the new instance as `CarryCall`s on the same connection
instead of waiting to connect to the worker. Rules:
- Calls are kept per instance from its CreateOnNode until its Assign is written to a worker
  of this node: the Assign takes them all (`take`), in arrival order; the worker runs them
  right after the constructor and keeps their results until the creator's connection
  claims them (`P.CLAIM`).
- Calls arriving after that Assign, or for a create placed on another node, refused, or past
  the bounds below, are dropped here: the answer says how many went (`CarryTaken`, written
  right before the `Created` on the same connection) and the driver sends the others on its
  own connection, after the claim (so the worker runs them in submission order).
- An entry ends with its answer, or with the connection that asked.
"""
from __future__ import annotations

import dataclasses

from yr_runtime.wire import messages as m

MAX_CALLS = 64          # carried calls per create; later ones are sent by the driver itself
MAX_BYTES = 1 << 20     # and their total size (the Assign is one frame)


class _Entry:
    __slots__ = ("writer", "calls", "size", "taken", "full")

    def __init__(self, writer):
        self.writer = writer
        self.calls: list[bytes] = []
        self.size = 0
        self.taken: int | None = None   # how many the Assign took, once written
        self.full = False               # past the bounds: no later call may be kept either


class Carried:
    """The carried calls of this node's pending creates, by instance id."""

    def __init__(self):
        self._by_id: dict[str, _Entry] = {}

    def gather(self, batch: list, writer) -> list:
        """The messages of one read of `writer`'s connection, less the CarryCalls, which are
        kept with their creates first: a create is answered (its Assign written) while its
        message is handled, and the calls made right after it arrive in the same read."""
        if not any(type(x) is m.CarryCall for x in batch):
            return batch
        for msg in batch:
            if type(msg) is m.CreateOnNode and msg.carry:
                self._by_id[msg.carry] = _Entry(writer)
            elif type(msg) is m.CarryCall:
                self.add(msg, writer)
        return [x for x in batch if type(x) is not m.CarryCall]

    def answer_writer(self, msg: m.CreateOnNode, writer):
        """The writer a create's answer must go through (`writer` itself if it carries nothing)."""
        if not msg.carry:
            return writer
        if msg.carry not in self._by_id:   # not made by gather: no call came in its read
            self._by_id[msg.carry] = _Entry(writer)
        return AnswerWriter(self, msg.carry, writer, msg.rid)

    def add(self, msg: m.CarryCall, writer) -> None:
        """One carried call (dropped when its create is not waiting for an Assign here)."""
        e = self._by_id.get(msg.instance_id)
        if e is None or e.writer is not writer or e.taken is not None or e.full:
            return
        if len(e.calls) >= MAX_CALLS or e.size + len(msg.call) > MAX_BYTES:
            e.full = True   # none after this one either: the driver sends them all, in order
            return
        e.calls.append(msg.call)
        e.size += len(msg.call)

    def take(self, assign: m.Assign) -> m.Assign:
        """The Assign to write to the worker: with the calls carried for its instance."""
        e = self._by_id.get(assign.instance_id)
        if e is None or e.taken is not None or assign.language != "python":
            return assign
        e.taken = len(e.calls)
        calls, e.calls = e.calls, []
        return dataclasses.replace(assign, calls=calls) if calls else assign

    def answered(self, instance_id: str) -> int:
        """The create of `instance_id` is answered: how many of its calls went (entry ends)."""
        e = self._by_id.pop(instance_id, None)
        return 0 if e is None else (e.taken or 0)

    def drop(self, writer) -> None:
        """The connection `writer` ended: its pending creates carry nothing more."""
        for iid in [i for i, e in self._by_id.items() if e.writer is writer]:
            del self._by_id[iid]


class AnswerWriter:
    """The writer `services/node_creates` answers one create through: `CarryTaken` goes
    right before its `Created` (the only frame written through it)."""

    def __init__(self, carried: Carried, instance_id: str, writer, rid: int):
        self._carried, self._iid, self._writer, self._rid = carried, instance_id, writer, rid

    def is_closing(self) -> bool:
        return self._writer.is_closing()

    def write(self, frame: bytes) -> None:
        n = self._carried.answered(self._iid)
        if n:
            frame = m.CarryTaken(rid=self._rid, count=n).frame() + frame
        self._writer.write(frame)
