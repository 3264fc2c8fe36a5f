"""Length-prefixed frames over a byte stream, without I/O.

A frame is a 4-byte little-endian length followed by that many bytes. `FrameDecoder` is a
pure state machine: feed it bytes in any chunking and it returns the complete frame bodies.
A length above the decoder's limit raises `FrameTooLarge` at once, before any body is
buffered, so a hostile length prefix cannot make a peer allocate.
"""
from __future__ import annotations

import struct

HEADER = struct.Struct("<I")
DEFAULT_MAX_FRAME = 256 * 1024 * 1024  # values above this travel through shared memory


class FrameError(ValueError):
    """The peer sent bytes that are not a valid frame stream."""


class FrameTooLarge(FrameError):
    pass


def encode(body: bytes) -> bytes:
    return HEADER.pack(len(body)) + body


class FrameDecoder:
    """Turns a byte stream into frame bodies. `feed` returns the bodies completed so far."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, first_max: int | None = None):
        """`first_max` limits the first frame alone (a connection's hello, read before the
        peer is authenticated), so an unauthenticated peer cannot make us buffer more."""
        self._buf = bytearray()
        self._max = max_frame if first_max is None else first_max
        self._next_max = max_frame

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        out = []
        pos = 0
        end = len(buf)
        limit = self._max
        while end - pos >= 4:
            (n,) = HEADER.unpack_from(buf, pos)
            if n > limit:
                raise FrameTooLarge(f"frame of {n} bytes exceeds the limit of {limit} bytes")
            if end - pos - 4 < n:
                break
            out.append(bytes(buf[pos + 4:pos + 4 + n]))
            pos += 4 + n
            limit = self._next_max
        if pos:
            del buf[:pos]
            self._max = limit
        return out

    @property
    def buffered(self) -> int:
        return len(self._buf)
