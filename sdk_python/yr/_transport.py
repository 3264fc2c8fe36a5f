"""Client side of yr's framed connections: connect, authenticate, send, and a reader thread.

One `Connection` per (this process, peer). Sends happen on the caller's thread under a
lock; a daemon reader thread turns incoming bytes into frame bodies and hands them, in
batches, to `on_frames`. When the peer goes away `on_close(reason)` runs once.
"""
from __future__ import annotations

import socket
import threading

from yr_runtime.wire import frames, handshake

from .exceptions import RuntimeUnavailableError

RECV_CHUNK = 1 << 18


class Connection:
    def __init__(self, path: str, token: bytes, on_frames, on_close, name: str, connect_timeout: float = 10.0):
        self.name = name
        self._on_frames, self._on_close = on_frames, on_close
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(connect_timeout)
        try:
            self._sock.connect(path)
        except OSError as e:
            self._sock.close()
            raise RuntimeUnavailableError(f"cannot connect to {name} at {path}: {e}") from e
        self._sock.settimeout(None)
        self._send_lock = threading.Lock()
        self._closed = False
        self._sock.sendall(frames.encode(handshake.hello(token)))
        self._reader = threading.Thread(target=self._read_loop, name=f"yr-read-{name}", daemon=True)
        self._reader.start()

    def send(self, body: bytes) -> None:
        data = frames.encode(body)
        with self._send_lock:
            if self._closed:
                raise ConnectionError(f"connection to {self.name} is closed")
            self._sock.sendall(data)

    def send_many(self, bodies: list[bytes]) -> None:
        data = b"".join(frames.encode(b) for b in bodies)
        with self._send_lock:
            if self._closed:
                raise ConnectionError(f"connection to {self.name} is closed")
            self._sock.sendall(data)

    def close(self) -> None:
        with self._send_lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def _read_loop(self) -> None:
        decoder = frames.FrameDecoder()
        reason = "connection closed by peer"
        sock = self._sock
        try:
            while True:
                data = sock.recv(RECV_CHUNK)
                if not data:
                    break
                bodies = decoder.feed(data)
                if bodies:
                    self._on_frames(bodies)
        except OSError as e:
            reason = f"connection error: {e}"
        except frames.FrameError as e:
            reason = f"protocol error: {e}"
        finally:
            was_closed = self._closed
            self.close()
            self._on_close(reason, was_closed)
