"""The SDK's link to its node agent: the node object store (put, get with wait, free) and
saved state. The messages are those of `yr_runtime.wire.messages`."""
from __future__ import annotations

import itertools
import logging
import threading

from yr_runtime.wire import messages as m
from yr_runtime.wire.errors import ErrorCode

from ._transport import Connection
from .exceptions import (GetTimeoutError, ObjectLostError, ResourceUnavailableError, RuntimeUnavailableError,
                         error_for)

log = logging.getLogger("yr.agent_client")
_ANSWERS = (m.ObjValue, m.ObjMissing, m.ObjRefused, m.StateSaved, m.State, m.ObjLost, m.Created, m.ObjHeld)
_GONE = "the node agent went away"


class AgentClient:
    def __init__(self, path: str, token: bytes):
        self._pending: dict[int, object] = {}   # rid -> [Event, answer] or a callback
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed_reason = None
        self._conn = Connection(path, token, self._on_frames, self._on_close, "node agent")

    def close(self) -> None:
        self._conn.close()

    def put(self, object_id: str, body: bytes, job: str, error: bool = False, contains=()) -> None:
        """Stores a value; `contains`: the ids of the refs inside it (held while it is stored)."""
        self._send(m.ObjPut(id=object_id, data=body, error=error, job=job, contains=list(contains)))

    def free(self, object_ids: list[str]) -> None:
        """The owner dropped these (no answer; written with the next flush: frees of a loop
        of calls leave together)."""
        if object_ids:
            self._send(m.ObjFree(ids=list(object_ids)), deferred=True)

    def hold(self, object_ids: list[str], owner: str = "", owner_node: str = "", timeout: float = 60,
             tokens: list[str] = ()) -> None:
        """Borrows the objects (see `m.ObjHold`; with `tokens`, transfer holds); returns once
        the node store holds them."""
        self._request(lambda rid: m.ObjHold(rid=rid, ids=list(object_ids), owner=owner, owner_node=owner_node,
                                            tokens=list(tokens)),
                      timeout, f"keep objects {', '.join(object_ids)}")

    def release(self, object_ids: list[str] = (), tokens: list[str] = ()) -> None:
        """Ends borrows taken with `hold`, and transfer holds by their tokens (no answer)."""
        if object_ids or tokens:
            self._send(m.ObjRelease(ids=list(object_ids), tokens=list(tokens)))

    def put_state(self, instance_id: str, data: bytes, timeout: float) -> None:
        self._request(lambda rid: m.StatePut(rid=rid, instance_id=instance_id, data=data), timeout, "save state")

    def get_state(self, instance_id: str, timeout: float) -> bytes | None:
        return self._request(lambda rid: m.StateGet(rid=rid, instance_id=instance_id), timeout, "load state").data

    def _request(self, make, timeout: float, what: str):
        """The answer to the message `make(rid)`; GetTimeoutError after `timeout`."""
        rid = next(self._ids)
        box = [threading.Event(), None]
        with self._lock:
            self._pending[rid] = box
        self._send(make(rid))
        if not box[0].wait(timeout):
            with self._lock:
                self._pending.pop(rid, None)
            raise GetTimeoutError(f"{what}: the node agent did not answer within {timeout}s")
        if box[1] is None:
            raise RuntimeUnavailableError(f"{what}: {_GONE}")
        return box[1]

    def get(self, object_id: str, timeout: float | None) -> tuple[bytes, bool]:
        """(body, is_error) once the object is in the store; GetTimeoutError after `timeout`."""
        rid = next(self._ids)
        box = [threading.Event(), None]
        with self._lock:
            self._pending[rid] = box
        self._send(m.ObjGet(rid=rid, id=object_id, timeout=-1.0 if timeout is None else float(timeout)))
        if not box[0].wait(None if timeout is None else timeout + 5):
            with self._lock:
                self._pending.pop(rid, None)
            raise GetTimeoutError(f"failed to get object {object_id}: the node store did not answer in time")
        answer = box[1]
        if isinstance(answer, m.ObjMissing):
            raise GetTimeoutError(f"failed to get object {object_id}: not ready after {timeout}s")
        if not isinstance(answer, m.ObjValue):
            raise fetch_error(object_id, answer)
        return answer.data, answer.error

    def get_async(self, object_id: str, on_answer, owner: str = "", owner_node: str = "") -> None:
        """Asks for an object without waiting: `on_answer(answer)` runs on the connection's
        reader thread with an `m.ObjValue`, or the exception the fetch failed with. With
        `owner` (a data address), the agent pulls it from that node if it has no copy."""
        rid = next(self._ids)
        with self._lock:
            self._pending[rid] = lambda answer: on_answer(
                answer if isinstance(answer, m.ObjValue) else fetch_error(object_id, answer))
        self._send(m.ObjGet(rid=rid, id=object_id, timeout=-1.0, owner=owner, owner_node=owner_node))

    def report(self, msg: m.Metrics) -> None:
        """Sends this process's metrics (yr._telemetry); no answer."""
        self._send(msg)

    def create(self, spec: bytes, done=None) -> "CreateAnswer":
        """Asks the agent of the master's own node for an instance (`spec`: a serialized
        InstanceSpec) without the gRPC hop; the answer comes as a future. `done(answer)`
        runs on the connection's reader thread once answered, never within this call."""
        rid = next(self._ids)
        answer = CreateAnswer(done)
        with self._lock:
            self._pending[rid] = answer._set
        try:
            self._send(m.CreateOnNode(rid=rid, spec=spec))
        except RuntimeUnavailableError:
            with self._lock:
                self._pending.pop(rid, None)
            raise
        return answer

    def _send(self, msg: m.Message, deferred: bool = False) -> None:
        try:
            self._conn.send_encoded(msg.frame(), deferred)
        except OSError as e:
            raise RuntimeUnavailableError(f"the node agent is unreachable ({e}); is the runtime running?") from None

    def _on_frames(self, bodies) -> None:
        for body in bodies:
            try:
                msg = m.decode(body, *_ANSWERS)
            except m.MessageError as e:   # the agent is broken: fail what waits on it
                log.error("the node agent sent a bad message: %s", e)
                self._conn.close()
                return
            with self._lock:
                box = self._pending.pop(msg.rid, None)
            _deliver(box, msg)

    def _on_close(self, reason, by_us) -> None:
        with self._lock:
            boxes, self._pending = list(self._pending.values()), {}
        for box in boxes:
            _deliver(box, None)


def _deliver(box, answer) -> None:
    """Hands an answer (None: the connection ended) to a waiting box or a callback."""
    if callable(box):
        box(answer)
    elif box is not None:
        box[1] = answer
        box[0].set()


class CreateAnswer:
    """The answer to `AgentClient.create`: `result(what)` waits for it; `done(self)`, if
    given, runs on the agent connection's reader thread when it comes. Unbounded like the
    master's own create: the master answers within the instance's schedule timeout, and a
    lost connection fails it."""

    def __init__(self, done=None):
        self._done = threading.Event()
        self._msg: m.Created | None = None
        self._on_done = done

    def _set(self, msg: "m.Created | None") -> None:
        self._msg = msg
        self._done.set()
        if self._on_done is not None:
            try:
                self._on_done(self)
            except Exception:   # a bug there must not end the connection's reader (as gRPC's callbacks)
                log.exception("a create's answer callback failed")

    def result(self, what: str, timeout: float | None = None):
        """The `CreateInstanceReply`, or the yr error of the refusal (prefixed with `what`)."""
        from yr_runtime.proto import control_pb2 as pb
        if not self._done.wait(timeout):
            raise GetTimeoutError(f"{what}: the node agent did not answer within {timeout}s")
        msg = self._msg
        if msg is None:
            raise RuntimeUnavailableError(f"{what}: {_GONE}; is the runtime running? (`yr status`)")
        if msg.reply is None:
            kind = msg.kind if msg.kind in ErrorCode._value2member_map_ else None
            raise error_for(kind and ErrorCode(kind), f"{what}: {msg.error}")
        return pb.CreateInstanceReply.FromString(msg.reply)


def fetch_error(object_id: str, answer) -> BaseException:
    """The exception a get of `object_id` fails with, for an answer that is not a value
    (None: the agent went away)."""
    if isinstance(answer, m.ObjRefused):
        return ResourceUnavailableError(f"failed to get object {object_id}: {answer.reason}")
    if isinstance(answer, m.ObjLost):
        return ObjectLostError(f"failed to get object {object_id}: {answer.reason}")
    return RuntimeUnavailableError(f"failed to get object {object_id}: {_GONE}")
