"""Client side of yr's framed connections: connect, authenticate, send and read.

One `Connection` per (this process, peer). Frames go out in order through one buffer:
`send` writes it out at once; `send_encoded(..., deferred=True)` (a user's invoke) leaves
the frame there so a burst of invokes leaves in one system call. Deferred frames are written before
anything waits for a result (`flush_all`, called by every blocking wait), when the buffer
grows large, and otherwise by a flusher thread within a few milliseconds.

Reading: a thread that waits for a result on this connection reads the socket itself
(`read_for`), so a synchronous call costs no thread hand-off. Whoever holds the reading
role turns bytes into frame bodies and hands them, in batches, to `on_frames`. When no one
has waited for a couple of milliseconds, a pump thread takes the role, so results nobody
waits for (callbacks, dependencies) still arrive at once. When the peer goes away
`on_close(reason, closed_by_us)` runs once.
"""
from __future__ import annotations

import os
import select
from os import sched_yield as _sched_yield
from time import perf_counter as _perf_counter
import socket
import threading
import time
from _thread import start_new_thread as _start_new_thread

from yr_runtime.wire import address, frames, preamble

from .exceptions import RuntimeUnavailableError

RECV_CHUNK = 1 << 18
# A new connection's receive buffer: most carry small frames only, and a 256 KiB one cost
# every new connection (one per instance) a fresh mapping to zero, ~0.1-0.15 ms. A read that
# fills it swaps it for a RECV_CHUNK one (the decoder copies what it keeps).
RECV_FIRST = 1 << 16
# How long a waiting reader polls (yielding the CPU between polls) before it sleeps in the
# kernel. A bound in time, not in polls: a poll and a yield cost ~1.4 us on an idle core, so
# the 20 polls this was cost ~28 us, less than a worker takes to answer a trivial call, and
# every sync call paid a sleep and a wake-up each way (2.5x fewer calls/s and more CPU per
# call than with a 300 us spin; benchmarks/RESULTS.md "2026-12-01 (3)").
SPIN_SECONDS = float(os.environ.get("YR_SPIN_US", "300")) / 1e6
FLUSH_FRAMES, FLUSH_BYTES = 256, 1 << 18
PUMP_AFTER = 0.002   # s without a waiter on a connection before its pump thread reads it


def spin(ready, seconds: float) -> bool:
    """Whether `ready()` became true within `seconds`, asked again after each yield of the CPU
    (never sleeping): for waits that usually end within microseconds, where a sleep and a
    wake-up cost more than the wait. The bound is in time, not in polls (see SPIN_SECONDS)."""
    until = _perf_counter() + seconds
    while True:
        _sched_yield()
        if ready():
            return True
        if _perf_counter() >= until:
            return False


class _Flusher:
    """Writes out deferred frames nobody waited for. Sleeps deeply while nothing happens."""

    def __init__(self):
        self.dirty: set = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._deep = True
        self._thread = None

    def mark(self, conn) -> None:
        with self._lock:
            self.dirty.add(conn)
            if self._deep:
                self._deep = False
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="yr-flush", daemon=True)
                    self._thread.start()
                self._wake.set()

    def flush_all(self) -> None:
        with self._lock:
            conns, self.dirty = self.dirty, set()
        for c in conns:
            c.flush()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            idle = 0
            while idle < 25:          # about 50 ms without deferred frames: sleep deeply
                time.sleep(0.002)
                if self.dirty:
                    self.flush_all()
                    idle = 0
                else:
                    idle += 1
            with self._lock:
                if not self.dirty:
                    self._deep = True
                    continue
            self._wake.set()


_flusher = _Flusher()


def flush_all() -> None:
    """Writes every deferred frame of this process (cheap when there is none)."""
    if _flusher.dirty:
        _flusher.flush_all()


class Connection:
    def __init__(self, peer: "str | socket.socket", token: bytes, on_frames, on_close, name: str,
                 connect_timeout: float = 10.0, epoch: int = 0):
        """`peer` is an address (unix:, tcp:, mem: or a bare socket path: see
        yr_runtime.wire.address) or an already connected stream socket; the connection
        works the same over any of them. `epoch`: the placement a data-port preamble names
        (0: none; see yr_runtime.wire.preamble)."""
        self.name = name
        self._on_frames, self._on_close = on_frames, on_close
        if isinstance(peer, socket.socket):
            self._sock = peer
        else:
            try:
                self._sock = address.dial(peer, connect_timeout)
            except OSError as e:
                raise RuntimeUnavailableError(f"cannot connect to {name} at {peer}: {e}") from e
        self._send_lock = threading.Lock()
        self._out: list[bytes] = []
        self._out_bytes = 0
        self._dirty = False
        self._closed = False
        # The first frame waits for the first call (one write, and the worker wakes once for
        # both), or for the flusher, within a few milliseconds.
        self.send_encoded(preamble.first_frame(peer, token, epoch), deferred=True)
        self._decoder = frames.FrameDecoder()
        # recv_into a reused buffer: recv(256 KiB) would mmap and munmap a fresh buffer per call
        self._rbuf = bytearray(RECV_FIRST)
        self._rview = memoryview(self._rbuf)
        self._rlock = threading.Lock()          # held by whoever reads the socket
        self._poller = select.poll()            # used only under _rlock
        self._poller.register(self._sock.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
        self._wlock = threading.Lock()
        self._waiters = 0
        self._last_wait = 0.0
        self.ended = False
        # Not threading.Thread.start(): it waits until the new thread runs, a scheduler round
        # trip (0.05-0.5 ms here, more under load) on the path of a create's first call.
        pump_poller = select.poll()   # registered here: the socket may be closed before the pump runs
        pump_poller.register(self._sock.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
        _start_new_thread(self._pump_loop, (pump_poller,))

    def send(self, body: bytes) -> None:
        """Frames `body` and writes it (and anything deferred before it) at once."""
        self.send_encoded(frames.encode(body))

    def send_encoded(self, data: bytes, deferred: bool = False) -> None:
        """Sends bytes that are already whole frames; `deferred` leaves them in the buffer
        until a wait, a full buffer or the flusher writes them."""
        with self._send_lock:
            if self._closed:
                raise ConnectionError(f"connection to {self.name} is closed")
            self._out.append(data)
            self._out_bytes += len(data)
            if deferred and len(self._out) < FLUSH_FRAMES and self._out_bytes < FLUSH_BYTES:
                if not self._dirty:
                    self._dirty = True
                    _flusher.mark(self)
                return
            self._write_out()

    def flush(self) -> None:
        with self._send_lock:
            if self._out and not self._closed:
                try:
                    self._write_out()
                except OSError:
                    pass  # whoever reads next sees the broken connection and reports it

    def _write_out(self) -> None:
        data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out.clear()
        self._out_bytes = 0
        self._dirty = False
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

    # ---- reading ---------------------------------------------------------------------------
    def enter_wait(self) -> None:
        with self._wlock:
            self._waiters += 1

    def leave_wait(self) -> None:
        with self._wlock:
            self._waiters -= 1
            self._last_wait = time.monotonic()

    def read_for(self, timeout: float) -> bool:
        """Reads and dispatches what arrives within `timeout` seconds. Returns False at once
        if another thread is reading (it will dispatch whatever arrives)."""
        if not self._rlock.acquire(False):
            return False
        try:
            if not self.ended and self._ready(timeout):
                self._read_available()
        finally:
            self._rlock.release()
        return True

    def _ready(self, timeout: float) -> bool:
        # Answers to short calls come within microseconds: poll without sleeping a few
        # times (yielding the CPU) before sleeping in the kernel until data arrives.
        poll = self._poller.poll
        if poll(0):
            return True
        start = _perf_counter()
        if spin(lambda: poll(0), min(SPIN_SECONDS, timeout)):
            return True
        return bool(poll(max(timeout - (_perf_counter() - start), 0.0) * 1000))

    def _read_available(self) -> None:
        rbuf = self._rbuf
        try:
            n = self._sock.recv_into(rbuf, len(rbuf), socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError as e:
            self._end(f"connection error: {e}")
            return
        if not n:
            self._end("connection closed by peer")
            return
        try:
            bodies = self._decoder.feed(self._rview[:n])
        except frames.FrameError as e:
            self._end(f"protocol error: {e}")
            return
        if n == len(rbuf) and n < RECV_CHUNK:   # large values come: read them in larger pieces
            self._rbuf = bytearray(RECV_CHUNK)
            self._rview = memoryview(self._rbuf)
        if bodies:
            self._on_frames(bodies)

    def _end(self, reason: str) -> None:
        if self.ended:
            return
        self.ended = True
        was_closed = self._closed
        self.close()
        self._on_close(reason, was_closed)

    def _pump_loop(self, poller) -> None:
        while not self.ended:
            quiet = time.monotonic() - self._last_wait
            if self._waiters or quiet < PUMP_AFTER:
                # A waiter reads; stay out of its way until it has been gone PUMP_AFTER (one
                # wake-up per PUMP_AFTER while a synchronous caller loops, not one per ms)
                time.sleep(PUMP_AFTER if self._waiters else max(PUMP_AFTER - quiet, 0.0005))
                continue
            try:
                ready = poller.poll(1000)   # woken by data or a close; the timeout is a safety net
            except (OSError, ValueError):
                ready = True
            if ready and not self.read_for(0):
                time.sleep(0.0005)
            if self._closed and not self.ended:
                with self._rlock:
                    self._end("connection closed by this process")
