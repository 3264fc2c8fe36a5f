"""The zygote: a process that has already imported the worker and forks new workers.

A fork of a warm interpreter starts in about a millisecond instead of a Python start-up,
and shares its memory with its siblings copy-on-write. The agent talks to the zygote over
a socketpair (fd $YR_ZYGOTE_FD): each request is a `messages.ForkRequest` carrying one file
descriptor (the write end of the new worker's output pipe); the zygote answers `Forked`
and later `ChildExited` when it reaps a child.
The zygote is single-threaded, so forking it is safe.

A C++ program runs the same loop as its executable's *template* (`main(host)` from
`yr._bridge.serve_worker`): its children serve with the program's C++ host.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import socket
import sys
import traceback

from yr_runtime.wire import frames
from yr_runtime.wire import messages as m
from yr_runtime.local.lifetime import die_with_parent

from . import _worker  # noqa: F401  (imported here so that every fork starts with it loaded)
from . import _calls, _context, _decorators, _serialization  # noqa: F401



def _send(sock: socket.socket, msg: m.Message) -> None:
    sock.sendall(msg.frame())


def _child(sock: socket.socket, boot: m.Bootstrap, out_fd: int, extra_fds, host=None) -> None:
    sock.close()
    for fd in extra_fds:
        os.close(fd)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    from . import object_ref
    object_ref.reseed()   # ids made in this process must not repeat a sibling's
    cache_bytecode(boot.session_dir)
    boot = dataclasses.replace(boot, parent_pid=os.getppid())
    if host is not None:   # a C++ template's child: its own bootstrap, as if started with it
        os.environ[m.BOOTSTRAP_ENV] = boot.to_env()
    try:
        _worker.serve(host, boot)
    except BaseException:   # serve() exits the process itself; this is a worker that never served
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


def cache_bytecode(session_dir: str) -> None:
    """With PYTHONDONTWRITEBYTECODE (set in many container images, and on the benchmark
    machine) no worker saved the bytecode of the driver's modules, so each one compiled them
    again: 2.5 of a worker's 14 ms of CPU for one small module (measured per phase with
    getrusage). Workers then keep it in the session's directory instead (sys.pycache_prefix):
    the first worker to import a module compiles it, the others load it, and the user's tree
    stays untouched. A prefix the user chose (PYTHONPYCACHEPREFIX) is left alone."""
    if sys.dont_write_bytecode and sys.pycache_prefix is None and session_dir:
        sys.pycache_prefix = os.path.join(session_dir, "pycache")
        sys.dont_write_bytecode = False


def _reap(sock: socket.socket, pool=None) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pool is not None and pool.reaped(pid):
            continue   # a pooled JVM (yr._jvm_pool), not a worker the agent knows
        _send(sock, m.ChildExited(pid=pid, status=os.waitstatus_to_exitcode(status)))


def main(host=None) -> None:
    """Serves fork requests until the agent is gone; children serve through `host` (None:
    the host the assignment's language picks)."""
    die_with_parent(int(os.environ.get("YR_ZYGOTE_PARENT", "0")))
    sock = socket.socket(fileno=int(os.environ["YR_ZYGOTE_FD"]))
    for name in ("YR_ZYGOTE_FD", "YR_ZYGOTE_PARENT", "YR_CPP_TEMPLATE"):   # not for the workers' own children
        os.environ.pop(name, None)
    decoder = frames.FrameDecoder()
    pending_fds: list[int] = []
    r, w = os.pipe()
    os.set_blocking(w, False)
    signal.set_wakeup_fd(w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, "control")
    sel.register(r, selectors.EVENT_READ, "signal")
    pool = _pool(sel) if host is None else None   # a C++ template's zygote runs no Java
    while True:
        for key, _ in sel.select():
            if key.data == "signal":
                os.read(r, 4096)
                _reap(sock, pool)
                continue
            if key.data != "control":
                pool.on_event(key)
                if pool.java_seen and "yr._java_host" not in sys.modules:
                    from . import _java_host  # noqa: F401  (py4j and the Java host, ~130 ms of a Java worker's start under load)
                continue
            data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 16, 64)
            if not data:
                if pool is not None:
                    pool.close()
                sys.exit(0)   # the agent is gone
            pending_fds += fds
            for body in decoder.feed(data):
                msg = m.decode(body, m.ForkRequest)   # a bad one ends the zygote: the agent broke
                boot = m.Bootstrap.from_dict(msg.boot)
                out_fd = pending_fds.pop(0)
                pid = os.fork()
                if pid == 0:
                    sel.close()
                    signal.set_wakeup_fd(-1)
                    _child(sock, boot, out_fd, [r, w, *pending_fds, *(pool.fds() if pool else [])], host)
                os.close(out_fd)
                _send(sock, m.Forked(rid=msg.rid, pid=pid))
        _reap(sock, pool)


def _pool(sel):
    """This node's warm JVMs (yr._jvm_pool), or None when it cannot listen."""
    from ._jvm_pool import PoolServer
    try:
        return PoolServer(sel)
    except OSError as e:
        print(f"yr._zygote: no JVM pool ({e})", file=sys.stderr, flush=True)
        return None


if __name__ == "__main__":
    main()
