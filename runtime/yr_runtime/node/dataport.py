"""A node's one TCP data port: callers of its workers and object pulls from other nodes.

Contract:
- `open_listener(host)` makes the listening socket. In a --tls cluster (`wire.datatls`) the
  clear first frame is only a route (a preamble with an empty token); the stream that follows
  is TLS, wrapped by whoever serves it: the worker a caller is handed to, or the pull thread
  here (`_serve_tls_pulls`); the token preamble then comes inside TLS.
- `DataPort` accepts on it from the agent's event loop. Each connection's first frame is a
  `wire.preamble`: its length is refused above MAX_PREAMBLE before the body is read, its token
  checked (constant time) before anything else is decoded, and no byte after it is read here
  (so nothing a caller pipelined behind it is lost). A bad or late preamble closes that
  connection only (PREAMBLE_TIMEOUT), never the node.
- purpose CALLER: the socket goes to the named worker over its Unix link to the agent
  (`Agent.hand_caller`, SCM_RIGHTS); the worker serves it like any caller connection.
- purpose OBJECTS: a thread serves object pulls on it (`serve_pulls`), with blocking I/O;
  chunks of a mapped body leave with sendfile(2) from the owner's shared-memory file.
- `pull(owner, token, oid, timeout, session_dir)` is the other end, run by the agent of the
  node that wants the object (in a thread): it returns the body, rebuilt to point at a local
  shared-memory file (or spill file) filled with several chunk requests in flight.
"""
from __future__ import annotations

import asyncio
import logging
import os
import queue
import socket
import struct
import threading
import uuid

from yr_runtime.wire import address, bodies, datatls, frames, handshake, preamble
from yr_runtime.wire import messages as m

log = logging.getLogger("yr.dataport")
PREAMBLE_TIMEOUT = 10.0   # s: a connection that has not sent its preamble by then is closed
CONNECT_TIMEOUT = 10.0
CHUNK = 4 << 20           # bytes per PullChunk
WINDOW = 4                # chunk requests in flight
IO_TIMEOUT = 60.0         # s: a pull whose owner sends nothing for this long fails
PULL_WAIT = 10.0          # s: the longest one PullObject waits on the owner for a value not yet
                          # there; a getter that waits longer (or forever) makes its agent ask
                          # again while it still waits (Agent._start_pull), so no thread on either
                          # node waits past its getters
SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"
_OK, _FAIL = b"\x00", b"\x01"
_TLS_PENDING = threading.BoundedSemaphore(64)   # pull connections of a --tls port not past their token yet
_LEN = struct.Struct("<I")


class ObjectLost(ConnectionError):
    """The owning node cannot be reached, or broke off while sending."""


def open_listener(host: str) -> socket.socket:
    """The data port's listening socket at `host` (a free port), non-blocking for the loop."""
    sock = address.listen(address.tcp(host, 0))
    sock.setblocking(False)
    return sock


class DataPort:
    def __init__(self, agent, host: str):
        self.agent, self.host = agent, host
        self.listener: socket.socket | None = None
        self.address = ""
        self._task: asyncio.Task | None = None
        self._conns: set[asyncio.Task] = set()

    async def start(self) -> None:
        datatls.use_session(self.agent.session_dir)   # a --tls cluster's node: TLS on this port
        self.listener = open_listener(self.host)
        self.address = address.bound_address(self.listener)
        self._task = asyncio.get_running_loop().create_task(self._accept_loop())

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for t in list(self._conns):
            t.cancel()
        if self.listener is not None:
            self.listener.close()

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(self.listener)
            except OSError as e:   # EMFILE and the like: do not spin, do not die
                log.warning("data port accept failed: %s", e)
                await asyncio.sleep(0.1)
                continue
            t = loop.create_task(self._admit(sock))
            self._conns.add(t)
            t.add_done_callback(self._conns.discard)

    async def _admit(self, sock: socket.socket) -> None:
        try:
            route = datatls.route_token()   # with TLS the clear frame is a route; the token comes inside TLS
            pre = await asyncio.wait_for(_read_preamble(sock, self.agent.token if route is None else route),
                                         PREAMBLE_TIMEOUT)
        except (handshake.AuthError, preamble.PreambleError, asyncio.TimeoutError, OSError, EOFError) as e:
            log.warning("data port: closing a connection: %s", e or type(e).__name__)
            sock.close()
            return
        if pre.purpose == preamble.CALLER:
            w = self.agent.workers.get(pre.target)
            if w is not None and preamble.stale(pre.epoch, w.epoch):   # once per connection, never per call
                await _refuse(sock, preamble.refusal(w.instance_id, pre.epoch, w.epoch))
                return
            self.agent.hand_caller(pre.target, sock)
        else:
            loop = asyncio.get_running_loop()
            if route is not None and not _TLS_PENDING.acquire(blocking=False):
                log.warning("data port: closing a connection: too many TLS handshakes at once")
                sock.close()
                return
            serve = serve_pulls if route is None else _serve_tls_pulls
            threading.Thread(target=serve, args=(sock, self.agent, loop),
                             name="yr-pull-serve", daemon=True).start()


async def _refuse(sock: socket.socket, frame: bytes) -> None:
    """Answers a caller's preamble with a refusal frame and closes the connection, all within
    PREAMBLE_TIMEOUT. What the caller pipelined behind its preamble is read and dropped until
    it closes its end: a close with unread bytes would reset the connection, and a reset can
    discard the refusal before the caller reads it."""
    log.warning("data port: %s", frame[13:].decode())
    loop = asyncio.get_running_loop()

    async def answer():
        await loop.sock_sendall(sock, frame)
        sock.shutdown(socket.SHUT_WR)
        while await loop.sock_recv(sock, 1 << 16):
            pass
    try:
        await asyncio.wait_for(answer(), PREAMBLE_TIMEOUT)
    except (OSError, asyncio.TimeoutError):
        pass
    finally:
        sock.close()


async def _read_preamble(sock: socket.socket, token: bytes) -> preamble.Preamble:
    """Reads exactly the first frame (nothing behind it) and checks it."""
    head = await _recv_exactly(sock, 4)
    (n,) = _LEN.unpack(head)
    preamble.check_length(n)
    return preamble.decode(await _recv_exactly(sock, n), token)


async def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    loop = asyncio.get_running_loop()
    buf = b""
    while len(buf) < n:
        part = await loop.sock_recv(sock, n - len(buf))
        if not part:
            raise EOFError("the peer closed before its preamble")
        buf += part
    return buf


# ---- serving pulls (a thread per connection, blocking I/O) ----------------------------------------
def _serve_tls_pulls(sock: socket.socket, agent, loop) -> None:
    """serve_pulls behind the TLS server handshake and the token preamble inside it (bounded by
    tls.HANDSHAKE_TIMEOUT and PREAMBLE_TIMEOUT); a failure closes this connection only."""
    sock.setblocking(True)
    try:
        sock = datatls.server(sock)
        sock.settimeout(PREAMBLE_TIMEOUT)
        (n,) = _LEN.unpack(_recv_exactly_blocking(sock, 4))
        preamble.check_length(n)
        pre = preamble.decode(_recv_exactly_blocking(sock, n), agent.token)
        if pre.purpose != preamble.OBJECTS:
            raise preamble.PreambleError("a caller preamble inside an object-pull route")
        sock.settimeout(None)
    except (handshake.AuthError, preamble.PreambleError, OSError, EOFError) as e:
        log.warning("data port: closing a TLS connection: %s", e or type(e).__name__)
        sock.close()
        return
    finally:
        _TLS_PENDING.release()
    serve_pulls(sock, agent, loop)


class _Answer:
    """Stands in for a connection's writer in the agent's object waiters: the agent's answer
    frame (ObjValue, ObjMissing or ObjRefused) is handed to the pull thread."""

    def __init__(self):
        self.q: queue.SimpleQueue = queue.SimpleQueue()
        self.closed = False

    def is_closing(self) -> bool:
        return self.closed

    def write(self, frame: bytes) -> None:
        self.q.put(frame)


def serve_pulls(sock: socket.socket, agent, loop) -> None:
    sock.setblocking(True)
    decoder = frames.FrameDecoder(max_frame=1 << 16)
    fd = -1
    try:
        while True:
            data = sock.recv(1 << 16)
            if not data:
                return
            for body in decoder.feed(data):
                msg = m.decode(body, m.PullObject, m.PullChunk, m.FreeCopies)
                if isinstance(msg, m.FreeCopies):
                    loop.call_soon_threadsafe(agent.drop_copies, [str(i) for i in msg.ids])
                elif isinstance(msg, m.PullObject):
                    if fd >= 0:
                        os.close(fd)
                    fd = _answer_pull(sock, agent, loop, msg)
                else:
                    _send_chunk(sock, fd, msg)
    except (OSError, frames.FrameError, m.MessageError) as e:
        log.info("object pull connection ended: %s", e)
    finally:
        if fd >= 0:
            os.close(fd)
        sock.close()


def _answer_pull(sock, agent, loop, msg: m.PullObject) -> int:
    """Answers a PullObject; returns the fd of the body's file to send chunks from (-1: none)."""
    ans = _Answer()
    wait = bounded_wait(msg.timeout)   # a puller asking to wait forever (or an old one) waits PULL_WAIT
    loop.call_soon_threadsafe(agent.get_object_for, ans, m.ObjGet(rid=msg.rid, id=msg.id, timeout=wait))
    try:   # the agent answers ObjMissing at `wait`; the margin only guards against a lost answer
        got = m.decode(memoryview(ans.q.get(timeout=wait + IO_TIMEOUT))[4:], m.ObjValue, m.ObjMissing, m.ObjRefused)
    except queue.Empty:
        got = m.ObjMissing(rid=msg.rid)
    finally:
        ans.closed = True
    if not isinstance(got, m.ObjValue):
        sock.sendall(got.frame())
        return -1
    if msg.puller:
        loop.call_soon_threadsafe(agent.note_pulled, msg.id, msg.puller)
    data = got.data
    if data[:1] != bodies.MAPPED:
        sock.sendall(m.PulledObject(rid=msg.rid, data=data, error=got.error, job=agent.job_of(msg.id)).frame())
        return -1
    desc, off = bodies.split_mapped(data)
    try:
        fd = os.open(desc["path"], os.O_RDONLY)
    except OSError as e:   # freed meanwhile (its job ended)
        sock.sendall(m.ObjRefused(rid=msg.rid, reason=f"object {msg.id} was freed on its node ({e.strerror})").frame())
        return -1
    size = os.fstat(fd).st_size
    desc = {k: v for k, v in desc.items() if k != "path"}
    sock.sendall(m.PulledObject(rid=msg.rid, data=bytes(data[off:]), error=got.error, job=agent.job_of(msg.id),
                                desc=desc, size=size).frame())
    return fd


def _send_chunk(sock, fd: int, msg: m.PullChunk) -> None:
    if fd < 0 or msg.offset < 0 or msg.length <= 0 or msg.length > CHUNK * 4:
        why = b"no object file to send from, or a bad chunk"
        sock.sendall(_LEN.pack(1 + len(why)) + _FAIL + why)
        return
    size = os.fstat(fd).st_size
    length = max(0, min(msg.length, size - msg.offset))
    sock.sendall(_LEN.pack(1 + length) + _OK)
    if datatls.enabled():   # an SSL stream: the kernel cannot encrypt, so no sendfile
        for start in range(msg.offset, msg.offset + length, 1 << 20):
            piece = os.pread(fd, min(1 << 20, msg.offset + length - start), start)
            if not piece:
                raise OSError("the object's file ended early")
            sock.sendall(piece)
        return
    sent = 0
    while sent < length:
        n = os.sendfile(sock.fileno(), fd, msg.offset + sent, length - sent)
        if n == 0:
            raise OSError("the object's file ended early")
        sent += n


# ---- pulling (the receiving node's agent, in a thread) ---------------------------------------------
def bounded_wait(timeout: float) -> float:
    """How long one pull request waits for a value not produced yet: `timeout`, at most PULL_WAIT
    (a negative one, "forever", is PULL_WAIT too)."""
    return timeout if 0 <= timeout <= PULL_WAIT else PULL_WAIT


def pull(owner: str, token: bytes, oid: str, timeout: float, session_dir, puller: str = "") -> m.Message:
    """The object `oid` from the node whose data port is `owner`: an `m.PulledObject` whose
    `data` is a whole local body (a MAPPED one points at a new local file), or the owner's
    ObjMissing / ObjRefused. Bounded: the owner waits `bounded_wait(timeout)` for a value not
    produced yet (ObjMissing after that), and every read waits at most that plus IO_TIMEOUT.
    Raises ObjectLost when the owner cannot be reached or breaks off.
    Connections to an owner are kept for later pulls (at most MAX_IDLE idle ones each); a kept
    one that went stale is replaced once before the object is declared lost."""
    for attempt in (0, 1):
        sock, reused = _take(owner, token)
        try:
            got = _pull_on(sock, oid, timeout, session_dir, puller)
        except NoRoom as e:   # chunk answers may still be in flight: this connection is done
            sock.close()
            return m.ObjRefused(rid=1, reason=f"object {oid} could not be pulled here: {e}")
        except (OSError, EOFError, m.MessageError, frames.FrameError) as e:
            sock.close()
            if reused and attempt == 0:
                continue
            raise ObjectLost(f"the connection to {owner} broke: {e}") from None
        except BaseException:
            sock.close()
            raise
        _give_back((owner, token), sock)
        return got
    raise AssertionError("unreachable")


def free_copies(puller: str, token: bytes, ids: list) -> None:
    """Tells the node whose data port is `puller` that objects `ids` it pulled from here were
    freed (FreeCopies, not answered). A puller that cannot be reached is gone with its copies."""
    try:
        sock, _ = _take(puller, token)
    except ObjectLost as e:
        log.info("could not tell %s to free %d pulled copies: %s", puller, len(ids), e)
        return
    try:
        sock.sendall(m.FreeCopies(ids=list(ids)).frame())
    except OSError as e:
        sock.close()
        log.info("could not tell %s to free %d pulled copies: %s", puller, len(ids), e)
        return
    _give_back((puller, token), sock)


MAX_IDLE = 4
_idle: dict[tuple, list] = {}   # (owner, token) -> idle connections past their preamble
_idle_lock = threading.Lock()


def _take(owner: str, token: bytes) -> tuple[socket.socket, bool]:
    """(a connection to `owner` past its preamble, whether it was kept from an earlier pull)."""
    with _idle_lock:
        kept = _idle.get((owner, token))
        if kept:
            return kept.pop(), True
    try:
        sock = address.dial(owner, CONNECT_TIMEOUT)
    except OSError as e:
        raise ObjectLost(f"cannot reach it at {owner}: {e.strerror or e}") from None
    try:
        sock.sendall(frames.encode(preamble.encode(token, preamble.OBJECTS)))
    except OSError as e:
        sock.close()
        raise ObjectLost(f"cannot reach it at {owner}: {e.strerror or e}") from None
    return sock, False


def _give_back(key: tuple, sock: socket.socket) -> None:
    with _idle_lock:
        kept = _idle.setdefault(key, [])
        if len(kept) < MAX_IDLE:
            kept.append(sock)
            return
    sock.close()


def _pull_on(sock: socket.socket, oid: str, timeout: float, session_dir, puller: str) -> m.Message:
    wait = bounded_wait(timeout)
    sock.sendall(m.PullObject(rid=1, id=oid, timeout=wait, puller=puller).frame())
    sock.settimeout(wait + IO_TIMEOUT)   # the object may still be computed: the owner answers by `wait`
    meta = m.decode(_recv_frame(sock), m.PulledObject, m.ObjMissing, m.ObjRefused)
    if not isinstance(meta, m.PulledObject) or meta.desc is None:
        return meta
    sock.settimeout(IO_TIMEOUT)
    path = _fill_file(sock, meta.size, session_dir)
    body = bodies.mapped_header(dict(meta.desc, path=path)) + meta.data
    return m.PulledObject(rid=meta.rid, data=body, error=meta.error, job=meta.job)


def _recv_frame(sock) -> bytes:
    (n,) = _LEN.unpack(_recv_exactly_blocking(sock, 4))
    if n > frames.DEFAULT_MAX_FRAME:
        raise frames.FrameTooLarge(f"frame of {n} bytes")
    return _recv_exactly_blocking(sock, n)


def _recv_exactly_blocking(sock, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:])
        if not k:
            raise EOFError("the owner closed the connection")
        got += k
    return bytes(buf)


def _fill_file(sock, size: int, session_dir) -> str:
    """A new local file of `size` bytes filled from chunk answers; WINDOW requests in flight."""
    path, fd = _new_file(session_dir, size)
    try:
        offsets = list(range(0, size, CHUNK))
        sent = 0
        for _ in range(min(WINDOW, len(offsets))):
            sock.sendall(m.PullChunk(offset=offsets[sent], length=CHUNK).frame())
            sent += 1
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        for off in offsets:
            (n,) = _LEN.unpack(_recv_exactly_blocking(sock, 4))
            status = _recv_exactly_blocking(sock, 1)
            if n - 1 > CHUNK:
                raise frames.FrameTooLarge(f"a chunk of {n} bytes")
            got = 0
            while got < n - 1:
                k = sock.recv_into(view[got:n - 1])
                if not k:
                    raise EOFError("the owner closed the connection")
                got += k
            if status != _OK:
                raise OSError(f"the owner refused a chunk: {bytes(view[:got]).decode(errors='replace')}")
            if sent < len(offsets):   # keep the window full before writing this one out
                sock.sendall(m.PullChunk(offset=offsets[sent], length=CHUNK).frame())
                sent += 1
            try:
                _write_all(fd, view[:got], off)
            except OSError as e:
                raise NoRoom(f"writing a pulled object of {size >> 20} MiB to {path} failed: {e.strerror}") from None
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    return path


def _write_all(fd: int, view, off: int) -> None:
    while view.nbytes:
        n = os.pwrite(fd, view, off)
        view, off = view[n:], off + n


class NoRoom(OSError):
    """Neither /dev/shm nor the spill directory can take a pulled body."""


def _new_file(session_dir, size: int) -> tuple[str, int]:
    """A new file for a pulled body: in /dev/shm, else (too little room there) the session's
    spill directory. Free space is checked up front (statvfs; reserving it with
    posix_fallocate cost a third of a pull: tmpfs zeroes the pages, then they are written);
    a write that fails later (a race) fails the pull with NoRoom."""
    errors = []
    for directory in (SHM_DIR, bodies.spill_dir(session_dir)):
        path = os.path.join(directory, f"yr-pull-{uuid.uuid4().hex}")
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            st = os.statvfs(directory)
            if st.f_bavail * st.f_frsize < size:
                errors.append(f"{directory}: {st.f_bavail * st.f_frsize >> 20} MiB free")
                continue
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as e:
            errors.append(f"{directory}: {e.strerror}")
            continue
        if not size:
            os.ftruncate(fd, 1)   # as the SDK does: an empty mapping cannot be made
        return path, fd
    raise NoRoom(f"no room for a pulled object of {size >> 20} MiB ({'; '.join(errors)})")
