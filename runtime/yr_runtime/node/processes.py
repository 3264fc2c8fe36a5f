"""The only module that starts or kills processes.

Workers are started with a `messages.Bootstrap` (docs/bridge.md; environment variable
`messages.BOOTSTRAP_ENV`), their stdout and stderr merged into one pipe the agent reads. No code
runs between fork and exec (that would trip gRPC's fork handlers and is slow); a worker
arms PR_SET_PDEATHSIG itself, first thing, so a crashed daemon does not leave it behind.
"""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import os
import signal
import socket
import sys

from yr_runtime.wire import frames
from yr_runtime.wire import messages as m

log = logging.getLogger("yr.processes")
CPP_TEMPLATE_ENV = "YR_CPP_TEMPLATE"   # a C++ worker started with it serves as a template (yr._bridge.serve_worker)


async def spawn_worker(boot: m.Bootstrap, executable: str = "") -> asyncio.subprocess.Process:
    """Starts a Python worker, or the user's program in worker mode when `executable` is set."""
    env = dict(os.environ)
    env[m.BOOTSTRAP_ENV] = dataclasses.replace(boot, parent_pid=os.getpid()).to_env()
    env["PYTHONUNBUFFERED"] = "1"
    argv = [executable] if executable else [sys.executable, "-m", "yr._worker"]
    return await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=env, close_fds=True)


def signal_process(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "its process is gone"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"its worker process was killed by {name}"
    return f"its worker process exited with code {returncode}"


TAIL_LINES = 20       # lines of a dead worker's last output carried in its exit reason
TAIL_LINE_CHARS = 300


def exit_report(returncode: int | None, pid: int, tail) -> str:
    """How a worker ended and the last lines it wrote, for its callers and `yr status`."""
    head = f"{describe_exit(returncode)} (pid {pid})"
    lines = [line[:TAIL_LINE_CHARS] for line in tail if line.strip()]
    if not lines:
        return head + "; it wrote no output"
    return head + "; its last output:\n" + "\n".join(f"  | {line}" for line in lines)


class ForkedProcess:
    """A worker forked by the zygote: the same face as asyncio's Process (pid, stdout, wait)."""

    def __init__(self, pid: int, stdout: asyncio.StreamReader):
        self.pid, self.stdout = pid, stdout
        self.returncode: int | None = None
        self._exit = asyncio.get_running_loop().create_future()

    def _exited(self, code: int) -> None:
        self.returncode = code
        if not self._exit.done():
            self._exit.set_result(code)

    async def wait(self) -> int:
        return await self._exit


class Zygote:
    """Client of `python -m yr._zygote`: forks pre-imported Python workers on request.

    With `executable` (a C++ program built with the C++ SDK) it is the client of that
    program's *template*: the program started once in worker mode with $YR_CPP_TEMPLATE set,
    whose embedded Python runs the same zygote loop and forks a worker per instance (see
    docs/architecture.md "C++ workers: a template per executable").
    """

    def __init__(self, executable: str = ""):
        self.executable = executable
        self.proc = None
        self.sock: socket.socket | None = None
        self._decoder = frames.FrameDecoder()
        self._replies: dict[int, asyncio.Future] = {}
        self._children: dict[int, ForkedProcess] = {}
        self._early_exits: dict[int, int] = {}
        self._rids = itertools.count(1)
        self._in_flight = asyncio.Semaphore(32)  # bounds requests queued in the socketpair
        self.on_child_exit = None   # called after a child's exit is reported (templates.py)
        self.stopped = False        # stop() was called: its end is no failure of the program

    async def start(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(os.environ, YR_ZYGOTE_FD=str(theirs.fileno()), YR_ZYGOTE_PARENT=str(os.getpid()),
                   PYTHONUNBUFFERED="1")
        argv = [sys.executable, "-m", "yr._zygote"]
        if self.executable:   # the C++ program in worker mode, told to be a template
            argv = [self.executable]
            env[CPP_TEMPLATE_ENV] = "1"
            env[m.BOOTSTRAP_ENV] = m.Bootstrap(session_dir="", agent="", worker_id="template",
                                               language="cpp", parent_pid=os.getpid()).to_env()
        self.proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, env=env,
            pass_fds=(theirs.fileno(),), close_fds=True)
        theirs.close()
        self.sock = mine
        mine.setblocking(False)
        asyncio.get_running_loop().add_reader(mine.fileno(), self._on_readable)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None and self.sock is not None

    @property
    def busy(self) -> bool:
        """It has live children or forks on their way."""
        return bool(self._children or self._replies)

    async def fork(self, boot: m.Bootstrap, timeout: float = 30.0) -> ForkedProcess:
        async with self._in_flight:
            return await self._fork(boot, timeout)

    async def _fork(self, boot: m.Bootstrap, timeout: float) -> ForkedProcess:
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        rid = next(self._rids)
        fut = self._replies[rid] = loop.create_future()
        try:
            socket.send_fds(self.sock, [m.ForkRequest(rid=rid, boot=boot.to_dict()).frame()], [w])
        finally:
            os.close(w)
        try:
            pid = await asyncio.wait_for(fut, timeout)
        except BaseException:
            os.close(r)
            raise
        reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(r, "rb", 0))
        child = self._children[pid] = ForkedProcess(pid, reader)
        if pid in self._early_exits:
            child._exited(self._early_exits.pop(pid))
        return child

    def _on_readable(self) -> None:
        try:
            data = self.sock.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._lost()
            return
        try:
            for body in self._decoder.feed(data):
                self._on_message(m.decode(body, m.Forked, m.ChildExited))
        except ValueError as e:   # frames.FrameError, m.MessageError: our own child misbehaves
            log.error("the zygote sent bad input (%s): no more forks from it", e)
            self._lost()

    def _on_message(self, msg: "m.Forked | m.ChildExited") -> None:
        if isinstance(msg, m.Forked):
            fut = self._replies.pop(msg.rid, None)
            if fut is not None and not fut.done():
                fut.set_result(msg.pid)
            return
        child = self._children.pop(msg.pid, None)
        if child is None:
            self._early_exits[msg.pid] = msg.status
        else:
            child._exited(msg.status)
            if self.on_child_exit is not None:
                self.on_child_exit()

    def _lost(self) -> None:
        """The zygote died: its children died with it (PDEATHSIG); report them all."""
        if self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
        for fut in self._replies.values():
            if not fut.done():
                fut.set_exception(RuntimeError("the zygote exited"))
        for child in self._children.values():
            child._exited(-signal.SIGKILL)
        self._children.clear()

    async def stop(self) -> None:
        self.stopped = True
        if self.sock is not None:
            self._lost()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
