"""The SDK's link to its node agent: the node object store (put, get with wait, free)."""
from __future__ import annotations

import itertools
import threading

from . import _protocol as P
from ._transport import Connection
from .exceptions import GetTimeoutError, ResourceUnavailableError, RuntimeUnavailableError


class AgentClient:
    def __init__(self, path: str, token: bytes):
        self._pending: dict[int, list] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed_reason = None
        self._conn = Connection(path, token, self._on_frames, self._on_close, "node agent")

    def close(self) -> None:
        self._conn.close()

    def put(self, object_id: str, body: bytes, job: str, error: bool = False) -> None:
        self._send({"t": "obj_put", "id": object_id, "data": body, "error": error, "job": job})

    def free(self, object_ids: list[str]) -> None:
        if object_ids:
            self._send({"t": "obj_free", "ids": object_ids})

    def put_state(self, instance_id: str, data: bytes, timeout: float) -> None:
        self._request({"t": "state_put", "instance_id": instance_id, "data": data}, timeout, "save state")

    def get_state(self, instance_id: str, timeout: float) -> bytes | None:
        return self._request({"t": "state_get", "instance_id": instance_id}, timeout, "load state").get("data")

    def _request(self, msg: dict, timeout: float, what: str) -> dict:
        rid = next(self._ids)
        box = [threading.Event(), None]
        with self._lock:
            self._pending[rid] = box
        self._send(dict(msg, rid=rid))
        if not box[0].wait(timeout):
            with self._lock:
                self._pending.pop(rid, None)
            raise GetTimeoutError(f"{what}: the node agent did not answer within {timeout}s")
        if box[1]["t"] == "closed":
            raise RuntimeUnavailableError(f"{what}: {box[1]['reason']}")
        return box[1]

    def get(self, object_id: str, timeout: float | None) -> tuple[bytes, bool]:
        """(body, is_error) once the object is in the store; GetTimeoutError after `timeout`."""
        rid = next(self._ids)
        ev = threading.Event()
        box = [ev, None]
        with self._lock:
            self._pending[rid] = box
        self._send({"t": "obj_get", "rid": rid, "id": object_id, "timeout": -1 if timeout is None else timeout})
        if not ev.wait(None if timeout is None else timeout + 5):
            with self._lock:
                self._pending.pop(rid, None)
            raise GetTimeoutError(f"failed to get object {object_id}: the node store did not answer in time")
        msg = box[1]
        if msg["t"] == "obj_missing":
            raise GetTimeoutError(f"failed to get object {object_id}: not ready after {timeout}s")
        if msg["t"] == "closed":
            raise RuntimeUnavailableError(f"failed to get object {object_id}: {msg['reason']}")
        if msg["t"] == "obj_refused":
            raise ResourceUnavailableError(f"failed to get object {object_id}: {msg['reason']}")
        return msg["data"], msg["error"]

    def get_async(self, object_id: str, on_answer) -> None:
        """Asks for an object without waiting: `on_answer(msg)` runs on the connection's
        reader thread with the agent's answer (obj_value, obj_refused) or {"t": "closed"}."""
        rid = next(self._ids)
        with self._lock:
            self._pending[rid] = on_answer
        self._send({"t": "obj_get", "rid": rid, "id": object_id, "timeout": -1})

    def _send(self, msg: dict) -> None:
        try:
            self._conn.send(P.pack(msg))
        except OSError as e:
            raise RuntimeUnavailableError(f"the node agent is unreachable ({e}); is the runtime running?") from None

    def _on_frames(self, bodies) -> None:
        for body in bodies:
            msg = P.unpack(body)
            with self._lock:
                box = self._pending.pop(msg.get("rid"), None)
            if callable(box):
                box(msg)
            elif box is not None:
                box[1] = msg
                box[0].set()

    def _on_close(self, reason, by_us) -> None:
        with self._lock:
            boxes, self._pending = list(self._pending.values()), {}
        for box in boxes:
            msg = {"t": "closed", "reason": "the node agent went away"}
            if callable(box):
                box(msg)
            else:
                box[1] = msg
                box[0].set()
