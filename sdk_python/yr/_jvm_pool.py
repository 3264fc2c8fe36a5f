"""A node's warm pool of worker JVMs (issue 16: Java creation without a JVM start).

Starting a worker JVM costs ~250-400 ms on this machine, most of a Java instance's
creation. The zygote (one per node, `yr._zygote`) keeps a few JVMs per *command* (java
executable, options, class path) and working directory already started and listening;
a Python worker that needs a JVM for a Java instance or function takes one instead of
starting its own.

Protocol (an abstract Unix socket, name in $YR_JVM_POOL, which forked workers inherit;
connections of other users are refused): the worker connects and sends one JSON line
``{"cmd": [...], "cwd": "..."}``; the zygote answers one JSON line, either
``{"none": true}`` (no pool for this command yet) or ``{"pid", "port", "token",
"socket"}`` (at once, or when a starting JVM of the command is ready) carrying two file
descriptors (SCM_RIGHTS): the write end of the JVM's stdin and the read end of its
stdout. The zygote closes its copies, so the JVM's life is then the worker's exactly as
for a JVM the worker started itself (it exits at stdin EOF). Either way the zygote then
tops the command's pool up to its size, so the first Java worker of a node starts cold
and the following ones find warm JVMs.

Bounds: `YR_JAVA_POOL_SIZE` JVMs per command (default 2; 0 turns the pool off), at most
`_MAX_COMMANDS` commands (the oldest's idle JVMs are ended when a new one comes); a
command whose JVMs failed to start `_MAX_FAILURES` times is not started again. Idle JVMs
end with the zygote (their stdin is its pipe), hence with their node.

The worker side sends its environment to the JVM it took (op ``adopt``), which replaces
what System.getenv returns there, so options' env vars reach user code as with a JVM of
its own (`org.yuanrong.runtime.worker.Adopt`).
"""
from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

__all__ = ["PoolServer", "Taken", "take", "ENV", "PORT_LINE"]

ENV = "YR_JVM_POOL"
SIZE_ENV = "YR_JAVA_POOL_SIZE"
PORT_LINE = b"YR_JAVA_PORT="
_MAX_COMMANDS = 4
_MAX_FAILURES = 3
_CLIENT_TIMEOUT_S = 2.0
_TAKE_TIMEOUT_S = float(os.environ.get("YR_JAVA_START_TIMEOUT", "60"))


def pool_size() -> int:
    try:
        return max(0, int(os.environ.get(SIZE_ENV, "2")))
    except ValueError:
        return 2


# ---------------------------------------------------------------- worker side

@dataclass
class Taken:
    """A pooled JVM handed to this worker: ours to keep alive (stdin) and to read (stdout)."""
    pid: int
    port: int
    token: str
    socket: str
    stdin_fd: int
    stdout_fd: int


def take(cmd: list[str], cwd: str) -> Taken | None:
    """A warm JVM started with ``cmd`` in ``cwd`` from this node's pool, or None (no pool,
    the first take of this command, or no answer within YR_JAVA_START_TIMEOUT, 60 s: the
    zygote parks a take while one of the command's JVMs is still starting). Never raises
    for pool trouble: the caller then starts its own JVM."""
    path = os.environ.get(ENV)
    if not path or pool_size() == 0:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fds: list[int] = []
    try:
        sock.settimeout(_CLIENT_TIMEOUT_S)
        sock.connect("\0" + path[1:] if path.startswith("@") else path)
        sock.sendall(json.dumps({"cmd": cmd, "cwd": cwd}).encode() + b"\n")
        sock.settimeout(_TAKE_TIMEOUT_S)   # the zygote may park us until a starting JVM is ready
        data, fds, _flags, _addr = socket.recv_fds(sock, 65536, 2)
        answer = json.loads(data)
        if answer.get("none") or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            return None
        return Taken(int(answer["pid"]), int(answer["port"]), str(answer["token"]),
                     str(answer["socket"]), fds[0], fds[1])
    except (OSError, ValueError, KeyError):
        for fd in fds:
            os.close(fd)
        return None
    finally:
        sock.close()


class TakenProcess:
    """The face of subprocess.Popen that `_java_host._Jvm` uses, for a JVM this process did
    not start (the zygote is its parent and reaps it). Liveness comes from a pidfd; the
    exit code is not ours to know (``returncode`` is -1 once it has exited)."""

    def __init__(self, taken: Taken, args: list[str]) -> None:
        self.pid = taken.pid
        self.args = args
        self.stdin = os.fdopen(taken.stdin_fd, "wb", buffering=0)
        self.stdout = os.fdopen(taken.stdout_fd, "rb")
        self._pidfd = os.pidfd_open(taken.pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self.returncode = -1
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"pooled JVM {self.pid}", timeout)
            self.returncode = -1
        return self.returncode

    def kill(self) -> None:
        try:
            os.kill(self.pid, 9) if self.returncode is None else None
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------- zygote side

@dataclass
class _Jvm:
    proc: subprocess.Popen
    key: tuple
    token: str
    socket: str
    buf: bytes = b""
    port: int = 0


@dataclass
class _Pool:
    jvms: list = field(default_factory=list)   # started, oldest first (ready or not)
    failures: int = 0
    used: float = 0.0
    waiting: list = field(default_factory=list)   # takers' connections parked until one is ready


class PoolServer:
    """The zygote's end: serves takes and keeps pools topped up. Single-threaded: the
    zygote's selector calls ``on_event`` for the objects this registers; nothing here
    blocks longer than a client's 2 s timeout."""

    def __init__(self, sel) -> None:
        self._sel = sel
        # An abstract socket: no file to leave behind when the zygote is killed. Anyone on
        # the host may connect, so a connection of another user is refused (SO_PEERCRED).
        self.path = f"@yr-jvmpool-{os.getpid()}-{secrets.token_hex(8)}"
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind("\0" + self.path[1:])
        self._listener.listen(64)
        self._pools: dict[tuple, _Pool] = {}
        self._pids: set[int] = set()      # every JVM started here and not reaped yet
        self._count = 0
        self.java_seen = False   # a take came: Java runs on this node (the zygote then imports its host)
        sel.register(self._listener, 1, self)
        os.environ[ENV] = self.path        # forked workers find the pool here

    def fds(self) -> list[int]:
        """Descriptors a forked worker must not keep (a JVM's stdin kept open elsewhere
        would keep it alive)."""
        out = [self._listener.fileno()]
        for pool in self._pools.values():
            out += [conn.fileno() for conn in pool.waiting]
            for jvm in pool.jvms:
                out += [jvm.proc.stdin.fileno(), jvm.proc.stdout.fileno()]
        return out

    def reaped(self, pid: int) -> bool:
        """True if ``pid`` was one of our JVMs (the zygote then does not report it)."""
        if pid in self._pids:
            self._pids.discard(pid)
            return True
        return False

    def on_event(self, key) -> None:
        obj = key.data
        if obj is self:
            self._serve_one()
        else:
            self._read_port(key.fileobj, obj[1])

    # -- takes

    def _serve_one(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        try:
            conn.settimeout(_CLIENT_TIMEOUT_S)
            _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(
                socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
            if uid != os.getuid():
                raise ValueError(f"a connection of uid {uid}")
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(65536)
                if not chunk:
                    raise ValueError("no request")
                data += chunk
            req = json.loads(data)
            key = (tuple(str(c) for c in req["cmd"]), str(req["cwd"]))
        except (OSError, ValueError, KeyError, TypeError):
            conn.close()
            return
        pool = self._pools.get(key)
        jvm = self._ready(pool) if pool is not None else None
        if jvm is None and pool is not None and pool.jvms:
            pool.waiting.append(conn)   # one is starting: nearer to ready than a JVM started now
        else:
            self._answer(conn, jvm)   # none at the first take of a command: it starts cold
        self._top_up(key)
        self.java_seen = True

    def _answer(self, conn: socket.socket, jvm: _Jvm | None) -> None:
        """Hands ``jvm`` (or none) to the worker on ``conn``; a JVM the worker did not get
        (it went away meanwhile) goes back to its pool."""
        with conn:
            try:
                if jvm is None:
                    conn.sendall(b'{"none": true}\n')
                    return
                socket.send_fds(conn, [json.dumps({
                    "pid": jvm.proc.pid, "port": jvm.port, "token": jvm.token,
                    "socket": jvm.socket}).encode() + b"\n"],
                    [jvm.proc.stdin.fileno(), jvm.proc.stdout.fileno()])
            except OSError:
                if jvm is not None and jvm.key in self._pools:
                    self._pools[jvm.key].jvms.insert(0, jvm)
                elif jvm is not None:
                    self._drop(jvm)
                return
        jvm.proc.stdin.close()   # the worker holds the JVM's stdin now: its life is the worker's
        jvm.proc.stdout.close()

    def _ready(self, pool: _Pool) -> _Jvm | None:
        for jvm in list(pool.jvms):
            if jvm.port and jvm.proc.poll() is not None:   # died while idle
                pool.jvms.remove(jvm)
                self._drop(jvm)
            elif jvm.port:
                pool.jvms.remove(jvm)
                return jvm
        return None

    # -- starting

    def _top_up(self, key: tuple) -> None:
        """Starts JVMs for ``key`` until it has its size idle or starting, besides one for
        each parked taker."""
        size = pool_size()
        if size == 0:
            return
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool()
            while len(self._pools) > _MAX_COMMANDS:
                oldest = min((k for k in self._pools if k != key), key=lambda k: self._pools[k].used)
                old = self._pools.pop(oldest)
                for jvm in old.jvms:
                    self._drop(jvm)
                for conn in old.waiting:
                    self._answer(conn, None)
        pool.used = time.monotonic()
        while len(pool.jvms) < size + len(pool.waiting) and pool.failures < _MAX_FAILURES:
            try:
                pool.jvms.append(self._start(key))
            except OSError:
                pool.failures += 1

    def _start(self, key: tuple) -> _Jvm:
        cmd, cwd = key
        self._count += 1
        token = secrets.token_hex(24)
        # A directory per JVM (mode 0700: only this user), which the JVM removes with its
        # socket when it exits (CallSocket): the zygote is killed with its node and cannot.
        sock_path = os.path.join(tempfile.mkdtemp(prefix="yr-jvmpool-"), "calls.sock")
        env = dict(os.environ, YR_PY4J_TOKEN=token, YR_JAVA_CALL_SOCKET=sock_path, YR_JAVA_WARM="1")
        env.pop(ENV, None)
        proc = subprocess.Popen(list(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                env=env, cwd=cwd or None)
        self._pids.add(proc.pid)
        jvm = _Jvm(proc, key, token, sock_path)
        os.set_blocking(proc.stdout.fileno(), False)
        self._sel.register(proc.stdout, 1, ("jvm", jvm))
        return jvm

    def _read_port(self, stdout, jvm: _Jvm) -> None:
        try:
            chunk = os.read(stdout.fileno(), 4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        jvm.buf += chunk
        if b"\n" in jvm.buf or not chunk:
            self._sel.unregister(stdout)
            os.set_blocking(stdout.fileno(), True)
            line = jvm.buf.split(b"\n", 1)[0].strip()
            pool = self._pools.get(jvm.key)
            if pool is None or jvm not in pool.jvms:
                return
            if line.startswith(PORT_LINE) and chunk:
                jvm.port = int(line[len(PORT_LINE):])
                if pool.waiting:
                    pool.jvms.remove(jvm)
                    self._answer(pool.waiting.pop(0), jvm)
                    self._top_up(jvm.key)
            else:   # failed to start: not again and again
                pool.jvms.remove(jvm)
                pool.failures += 1
                self._drop(jvm)
                shutil.rmtree(os.path.dirname(jvm.socket), ignore_errors=True)
                while pool.waiting and not pool.jvms:
                    self._answer(pool.waiting.pop(0), None)

    def _drop(self, jvm: _Jvm) -> None:
        try:
            self._sel.unregister(jvm.proc.stdout)
        except (KeyError, ValueError):
            pass
        for f in (jvm.proc.stdin, jvm.proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def close(self) -> None:
        """Ends the idle JVMs (stdin EOF; each removes its socket's directory)."""
        for pool in self._pools.values():
            for jvm in pool.jvms:
                self._drop(jvm)
            for conn in pool.waiting:
                conn.close()
        self._pools.clear()
        self._listener.close()
