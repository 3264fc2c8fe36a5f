"""Frames of the data plane (caller <-> worker).

Call frames: 1 kind byte + 8-byte call id + a `_serialization` body.
  caller -> worker: CALL (method, args, kwargs) | FUNC (key, args, kwargs)
                    | DEFINE (raw: key, NUL, code), sent once per function and connection
  worker -> caller: OK (value) | ERR (YRInvokeError or another yr error)
                    | REFUSED (call id 0, raw UTF-8 reason): the data port or worker refused the
                      connection's preamble (a stale epoch: yr_runtime.wire.preamble.refusal),
                      then closes; no call of the connection ran
Streaming calls (generators, see `yr._results`): the caller sends SCALL (method) or SFUNC
(function) instead of CALL/FUNC; the worker answers ITEM (one yielded value) per item, in
order, as they are produced, then OK (None: the end) or ERR (raised mid-stream).
Messages of the agent link (worker/SDK <-> daemon) are not frames of this kind: they are
defined once in `yr_runtime.wire.messages`.
"""
from __future__ import annotations

import struct

HEADER = struct.Struct("<cQ")
CALL, FUNC, OK, ERR, DEFINE = b"C", b"F", b"O", b"E", b"D"
SCALL, SFUNC, ITEM = b"S", b"G", b"I"
REFUSED = b"R"
STREAMS = (SCALL, SFUNC)
CHECKPOINT_METHOD = "__yr_checkpoint__"   # a CALL of it answers (function type, saved state): h.snapshot()


_FRAMED = struct.Struct("<IcQ")


def call_frame(kind: bytes, call_id: int, body: bytes) -> bytes:
    """A whole call frame, length prefix included, in one allocation (every call's hot path)."""
    return _FRAMED.pack(HEADER.size + len(body), kind, call_id) + body


def split(frame: bytes) -> tuple[bytes, int, bytes]:
    kind, call_id = HEADER.unpack_from(frame)
    return kind, call_id, frame[HEADER.size:]

