"""Frames of the data plane (caller <-> worker) and messages of the agent link.

Call frames: 1 kind byte + 8-byte call id + a `_serialization` body.
  caller -> worker: CALL (method, args, kwargs) | FUNC (key, args, kwargs)
                    | DEFINE (raw: key, NUL, code), sent once per function and connection
  worker -> caller: OK (value) | ERR (YRInvokeError or another yr error)
Agent messages (worker/SDK <-> daemon) are msgpack maps with a "t" field; the daemon
never unpickles anything.
"""
from __future__ import annotations

import struct

import msgpack

HEADER = struct.Struct("<cQ")
CALL, FUNC, OK, ERR, DEFINE = b"C", b"F", b"O", b"E", b"D"


_FRAMED = struct.Struct("<IcQ")


def call_frame(kind: bytes, call_id: int, body: bytes) -> bytes:
    """A whole call frame, length prefix included, in one allocation (every call's hot path)."""
    return _FRAMED.pack(HEADER.size + len(body), kind, call_id) + body


def split(frame: bytes) -> tuple[bytes, int, bytes]:
    kind, call_id = HEADER.unpack_from(frame)
    return kind, call_id, frame[HEADER.size:]


def pack(msg: dict) -> bytes:
    return msgpack.packb(msg, use_bin_type=True)


def unpack(body: bytes) -> dict:
    msg = msgpack.unpackb(body, raw=False, strict_map_key=False)
    if not isinstance(msg, dict) or "t" not in msg:
        raise ValueError("agent message is not a map with a type")
    return msg
