"""The data path of a Java driver's bridge process: Java's calls over a Unix socket.

A Java driver reached its bridge process (``python -m yr._bridge_py4j``) through py4j's
callback channel: a text protocol with base64 bodies, parsed by a Python thread per call,
the largest per-call cost left in a Java sync call (benchmarks/RESULTS.md, 2026-11-30).
Once attached, the driver's ``Link`` sends every call over this socket instead
(``org.yuanrong.runtime.bridge.DataSocket``); py4j is left for attaching.

Frames, both ways: u32 big-endian length, then the body. A request body::

    i64 seq        Java's batch number of the deferred invokes it carries (0: none)
    u32 n, n bytes the encoded [id, entry, ...] of those invokes (n = 0: none)
    u32 m, m bytes the encoded list of ids Java released (m = 0: none)
    u16 k, k bytes the operation's name (UTF-8)
    the rest       the encoded argument list

is ``_BridgeService.callBatched`` (or ``call`` when seq is 0) after the releases; the
answer body is what that returns (``{"ok": ...}`` or ``{"err": [...]}``, encoded). A
connection carries one call at a time; Java keeps a pool of connections, one per
concurrent caller, and this server reads each on a thread of its own (so a blocked get
holds one connection and one thread, as a py4j call did). The socket lives in a
directory only the driver's user can enter (made by the JVM, which owns this process),
so only the driver connects.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from typing import Any

_U32 = struct.Struct(">I")
_HEAD = struct.Struct(">qI")
_U16 = struct.Struct(">H")

SOCKET_ENV = "YR_BRIDGE_SOCKET"


def recv_exact(sock: socket.socket, n: int) -> bytearray:
    """Exactly `n` bytes from `sock` (also used by the worker's call socket to its JVM,
    `_java_host`); EOFError if the peer closes first."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:])
        if k == 0:
            raise EOFError
        got += k
    return buf


_RECV_BUF = 65536


def read_frame(sock: socket.socket, buf: bytearray) -> memoryview | bytearray:
    """The body of the next frame on `sock`, read into `buf` (valid until the next read) when
    it fits. A driver's connection carries one call at a time, so nothing follows a request
    in the stream: one recv usually brings the whole frame (the length and the body were
    two recvs, a syscall more per call). EOFError if the peer closes first."""
    view = memoryview(buf)
    got = 0
    while got < 4:
        k = sock.recv_into(view[got:])
        if k == 0:
            raise EOFError
        got += k
    n = _U32.unpack_from(buf, 0)[0]
    if got > 4 + n:
        raise ValueError("bridge frame followed by data before its answer")
    if 4 + n > len(buf):   # a large value: a buffer of its own
        body = bytearray(n)
        body[:got - 4] = view[4:got]
        return _recv_rest(sock, body, got - 4)
    while got < 4 + n:
        k = sock.recv_into(view[got:4 + n])
        if k == 0:
            raise EOFError
        got += k
    return view[4:4 + n]


def _recv_rest(sock: socket.socket, body: bytearray, got: int) -> bytearray:
    view = memoryview(body)
    while got < len(body):
        k = sock.recv_into(view[got:])
        if k == 0:
            raise EOFError
        got += k
    return body


def parse(body: bytes | bytearray) -> tuple[int, bytes, bytes, str, bytes]:
    """A request body -> (seq, invokes, released, op, payload); pure (tested alone)."""
    view = memoryview(body)
    seq, n = _HEAD.unpack_from(view, 0)
    pos = _HEAD.size
    invokes = bytes(view[pos:pos + n])
    pos += n
    m = _U32.unpack_from(view, pos)[0]
    pos += 4
    released = bytes(view[pos:pos + m])
    pos += m
    k = _U16.unpack_from(view, pos)[0]
    pos += 2
    op = str(view[pos:pos + k], "utf-8")
    pos += k
    if pos > len(view):
        raise ValueError("truncated bridge frame")
    return seq, invokes, released, op, bytes(view[pos:])


class DataServer:
    """Serves ``service`` (a ``_bridge_py4j._BridgeService``) on a Unix socket at ``path``."""

    def __init__(self, path: str, service: Any) -> None:
        self.path = path
        self._service = service
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.bind(path)
            self._sock.listen(64)
        except BaseException:
            self._sock.close()
            raise
        threading.Thread(target=self._accept_loop, name="yr-bridge-accept", daemon=True).start()

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return   # closed
            threading.Thread(target=self._serve, args=(conn,), name="yr-bridge-data", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        service = self._service
        buf = bytearray(_RECV_BUF)
        try:
            while True:
                answer = self.handle(service, read_frame(conn, buf))
                conn.sendall(_U32.pack(len(answer)) + answer)
        except (EOFError, OSError, ValueError):
            pass   # the driver closed this connection, is gone, or broke the framing
        finally:
            conn.close()

    @staticmethod
    def handle(service: Any, body: bytes | bytearray) -> bytes:
        """One request body -> its answer body (errors are answers too)."""
        try:
            seq, invokes, released, op, payload = parse(body)
            if released:
                service.release_encoded(released)
        except BaseException as exc:  # noqa: BLE001 - every error must reach Java as data
            return service.error(exc)
        if seq:
            return service.callBatched(seq, invokes, op, payload)
        return service.call(op, payload)

    def close(self) -> None:
        try:
            self._sock.close()
        finally:
            try:   # the JVM made the directory, but a killed JVM cannot remove it
                os.unlink(self.path)
                os.rmdir(os.path.dirname(self.path))
            except OSError:
                pass   # gone already, or not empty: not ours to empty
