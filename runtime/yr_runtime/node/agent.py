"""The node agent: starts and watches workers, keeps a warm pool, stores node objects.

It listens on one Unix socket (authenticated like every yr connection). Workers say hello
there and report when their instance's constructor finished; SDKs use it as the node
object store. The messages are those of `wire.messages`; the agent never unpickles, and a
connection that sends a bad one is closed (only that one). It is the local implementation of
`NodeLink` (node/link.py): the master asks it to start and stop workers, and it reports
back through the master's `NodeEvents`, on the daemon's event loop. Everything runs on the
daemon's event loop; the daemon passes callbacks for what the master must learn.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import signal
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from yr_runtime.wire import bodies, frames, handshake
from yr_runtime.wire import messages as m
from yr_runtime.local import session as sessions
from yr_runtime.wire.errors import ErrorCode

from . import dataport, processes, templates, warm
from .logs import LogRead, read_log, remember_log
from .telemetry import NodeTelemetry
from .link import NodeEvents, NodeStatus

log = logging.getLogger("yr.agent")
STOP_GRACE = 1.0      # after the terminate message, before SIGTERM
KILL_GRACE = 3.0      # after SIGTERM, before SIGKILL
REFILL_DELAY = 0.01   # after a warm worker is taken, before forking its replacement
# What workers and SDKs may send the agent; anything else closes their connection.
_INBOUND = (m.WorkerHello, m.Initialized, m.TaskBlocked, m.ObjPut, m.ObjGet, m.ObjFree, m.ObjHold, m.ObjRelease, m.StatePut, m.StateGet,
            m.Metrics, m.CreateOnNode)


@dataclass
class WorkerProc:
    id: str
    proc: "asyncio.subprocess.Process | processes.ForkedProcess"
    language: str
    executable: str = ""
    writer: asyncio.StreamWriter | None = None
    endpoint: str = ""
    instance_id: str = ""
    job_id: str = ""
    label: str = ""
    hello: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    gone: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    stopping: bool = False
    ready: bool = False    # its instance's constructor ran
    grace: float = STOP_GRACE   # after the terminate message, before SIGTERM (GRACEFUL_SHUTDOWN_TIME)
    epoch: int = 0         # its instance's placement (Assign.epoch): the data port refuses callers of another
    prepared: str = ""   # idle: the driver environment it took ahead (node/warm.py)

    @property
    def pid(self) -> int:
        return self.proc.pid




def _graceful_shutdown_time(driver_env: str) -> float:
    """The instance's custom_extensions GRACEFUL_SHUTDOWN_TIME (seconds), which the SDK puts in
    the driver environment it sends; STOP_GRACE when unset or unreadable."""
    if "graceful_shutdown_time" not in driver_env:   # the common case: no JSON parse
        return STOP_GRACE
    try:
        return max(0.0, float(json.loads(driver_env)["graceful_shutdown_time"]))
    except (ValueError, KeyError, TypeError):
        return STOP_GRACE


class ObjectStore:
    """Objects published by SDKs, with waiting readers. Bodies are opaque bytes.

    The bytes held are bounded (`max_bytes`; values in shared memory count only their
    small descriptor): a put that would pass the bound is refused, and whoever reads that
    object is told why, instead of the daemon growing without limit.
    """

    def __init__(self, max_bytes: int = int(os.environ.get("YR_STORE_MAX_BYTES", 2 << 30))):
        self.objects: dict[str, tuple[bytes, bool, str]] = {}
        self.waiters: dict[str, list] = {}
        self.refused: dict[str, str] = {}      # object id -> why it was not stored (bounded)
        self.max_bytes = max_bytes
        self.states: dict[str, bytes] = {}   # instance id -> its last yr.save_state()
        self.bytes = 0
        self.holds: dict[str, int] = {}      # object id -> how many borrows keep it (ObjHold)
        self.dropped: dict[str, bool] = {}   # held objects freed meanwhile -> freed by their owner
        self.contained: dict[str, list] = {}   # stored value -> the ids of the refs inside it (held)
        self.transfers: dict[str, str] = {}    # token of a transfer hold -> its object id

    def put(self, oid: str, data: bytes, error: bool, job: str, contains=()) -> list:
        """Stores a value; `contains`: ids of the refs inside it, held while it is stored (a
        reader may rebuild them after their owner let go of them)."""
        if oid in self.objects:
            return []
        if self.bytes + len(data) > self.max_bytes:
            self._refuse(oid, f"the node object store is full ({self.bytes >> 20} MiB held, limit "
                              f"{self.max_bytes >> 20} MiB): object {oid} ({len(data) >> 20} MiB) was not stored")
            _unlink_shm(data)
            return self.waiters.pop(oid, [])
        self.objects[oid] = (data, error, job)
        self.bytes += len(data)
        if contains:
            self.contained[oid] = list(contains)
            self.hold(contains)
        return self.waiters.pop(oid, [])

    def free(self, oids, by_owner: bool = False, force: bool = False) -> None:
        """Drops the objects (their files too). `by_owner`: the owner dropped its last
        reference; a reader that still asks is told so instead of waiting for the value.
        An object some process holds (`hold`) is dropped only when its last hold goes,
        unless `force` (its job ended)."""
        for oid in oids:
            if not force and oid in self.holds:
                self.dropped[oid] = by_owner   # the last release frees it
                continue
            item = self.objects.pop(oid, None)
            if item is not None:
                self.bytes -= len(item[0])
                _unlink_shm(item[0])
                inside = self.contained.pop(oid, None)
                if inside and not force:
                    self.release(inside)
                if by_owner:
                    self._refuse(oid, f"object {oid} was freed: the process that made it and every process "
                                      f"that kept a ref to it had let go of it (a ref rebuilt on a thread of a "
                                      f"worker outside its calls is not kept: keep a ref in the caller meanwhile)")

    def hold(self, oids) -> None:
        """A process borrows these objects (keeps refs to them past the call that brought
        them): they outlive their owner's free until `release`d as often as held."""
        for oid in oids:
            self.holds[oid] = self.holds.get(oid, 0) + 1

    def hold_transfers(self, oids, tokens) -> None:
        """Holds taken for refs sent in a call's result, one per token, ended by
        `release_transfers` from whichever process received them."""
        for oid, token in zip(oids, tokens):
            if token not in self.transfers:
                self.transfers[token] = oid
                self.hold([oid])

    def release_transfers(self, tokens) -> None:
        self.release([oid for oid in (self.transfers.pop(t, None) for t in tokens) if oid is not None])

    def release(self, oids) -> None:
        """One hold on each object goes; an object its owner freed meanwhile goes with the last."""
        for oid in oids:
            n = self.holds.get(oid, 0) - 1
            if n > 0:
                self.holds[oid] = n
                continue
            self.holds.pop(oid, None)
            if oid in self.dropped:
                self.free([oid], by_owner=self.dropped.pop(oid))

    def _refuse(self, oid: str, why: str) -> None:
        if len(self.refused) > 10_000:
            self.refused.pop(next(iter(self.refused)))
        self.refused[oid] = why

    def free_job(self, job: str) -> None:
        oids = [oid for oid, (_, _, j) in self.objects.items() if j == job]
        for oid in oids:
            self.holds.pop(oid, None)
            self.dropped.pop(oid, None)
        self.free(oids, force=True)
        gone = set(oids)
        self.transfers = {t: oid for t, oid in self.transfers.items() if oid not in gone}


def _unlink_shm(body: bytes) -> None:
    """Frees the shared-memory or spill file of a body the store drops."""
    bodies.unlink_file(body)


class Agent:
    """The node: a NodeLink for the master, which it reports to through `events`."""

    def __init__(self, node_id: str, session_dir: Path, token: bytes, warm: int, events: NodeEvents,
                 use_zygote: bool = True, worker_tcp: str = "", data_host: str = ""):
        self.node_id = node_id
        self.session_dir, self.token, self.warm_target = session_dir, token, warm
        self.worker_tcp = worker_tcp   # a host: workers also listen on TCP there and give that endpoint
        self.data_host = data_host     # a host: the node's one TCP data port listens there ("": none)
        self.data_address = ""         # tcp:HOST:PORT of the data port, once it listens
        self.dataport: dataport.DataPort | None = None
        self._pulls: set[str] = set()  # objects being pulled from other nodes
        self.copies: set[str] = set()  # objects pulled from other nodes held in this store
        self.pulled_by: dict[str, set[str]] = {}   # object of this node -> data addresses of nodes that pulled it
        self._holds_of: dict[object, dict[str, int]] = {}   # connection (writer) -> the borrows it holds
        self._after_pull: dict[str, list] = {}   # object being pulled -> callbacks once it landed or failed
        self.cb = events
        self.address = str(sessions.socket_dir(session_dir) / "agent.sock")
        self.workers: dict[str, WorkerProc] = {}
        self.idle: list[WorkerProc] = []
        self.store = ObjectStore()
        self._ids = itertools.count(1)
        self._server = None
        self._closing = False
        self._tasks: set[asyncio.Task] = set()
        self.zygote = processes.Zygote() if use_zygote else None
        self.templates = templates.CppTemplates() if use_zygote else None   # C++: a forking template per executable
        self._early_hellos: dict[str, tuple] = {}
        self._warming = 0   # warm workers being started (refill's tasks not yet finished)
        self.telemetry = NodeTelemetry()
        self.log_files: dict[str, Path] = {}   # instance id -> its (last) worker's log, for `yr logs`
        # On the master's own node, the daemon sets this to `f(msg, writer)`: it answers a
        # CreateOnNode without the gRPC hop. None on a joined node (no master here).
        self.on_create = None
        self.prepare_for = ""   # the environment of the latest Python create (node/warm.py)

    # ---- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=self.address, limit=1 << 20)
        os.chmod(self.address, 0o600)
        if self.data_host:
            self.dataport = dataport.DataPort(self, self.data_host)
            await self.dataport.start()
            self.data_address = self.dataport.address
        if self.zygote is not None:
            await self.zygote.start()
        self.refill()

    def refill(self) -> None:
        if self._closing:
            return
        # Counted from the moment the start is decided, not once the worker is in
        # self.workers: a fork still in flight must count, or overlapping refills (one per
        # create answered from the pool) each start a whole pool.
        for _ in range(self.warm_target - len(self.idle) - self._warming):
            self._warming += 1
            self._spawn_task(self._start_warm())
        self._prepare_idle()

    def _prepare_idle(self) -> None:
        for w in warm.to_prepare(self.idle, self.prepare_for):
            w.prepared = self.prepare_for
            w.writer.write(m.Prepare(driver_env=w.prepared).frame())

    async def shutdown(self) -> None:
        self._closing = True
        if self._server is not None:
            self._server.close()
        if self.dataport is not None:
            self.dataport.close()
        for w in list(self.workers.values()):
            self._stop(w.id)
        if self.workers:
            await asyncio.wait([w.gone for w in self.workers.values()], timeout=STOP_GRACE + KILL_GRACE + 2)
        for w in list(self.workers.values()):
            processes.signal_process(w.pid, signal.SIGKILL)
        if self.zygote is not None:
            await self.zygote.stop()
        if self.templates is not None:
            await self.templates.stop()
        self.store.free(list(self.store.objects))

    # ---- NodeLink -------------------------------------------------------------------------------
    def start_worker(self, assign: m.Assign) -> None:
        """Hands the instance to a warm worker at once (reported before this returns), or
        starts a worker for it; the outcome is reported through the events."""
        if assign.state is not None:   # a restart brings its state: yr.load_state reads it here
            self.store.states[assign.instance_id] = assign.state
        w = self.assign_warm(assign)
        if w is None:
            self._spawn_task(self._start_worker(assign))
        else:
            self.cb.worker_assigned(assign.instance_id, w.id, w.pid, w.endpoint)

    def stop_worker(self, instance_id: str, worker_id: str) -> None:
        self._stop(worker_id)

    def free_job(self, job_id: str) -> None:
        self.store.free_job(job_id)   # every node frees the job: no FreeCopies needed
        if self.templates is not None:
            for w in self.templates.job_ended(job_id):   # its warm C++ workers
                self._stop(w.id)
        objects = self.store.objects
        self.copies.intersection_update(objects)
        self.pulled_by = {oid: p for oid, p in self.pulled_by.items() if oid in objects}

    def forget_state(self, instance_id: str) -> None:
        self.store.states.pop(instance_id, None)

    def status(self) -> NodeStatus:
        return NodeStatus(self.node_id, len(self.idle))

    def read_log(self, instance_id: str, offset: int, tail_lines: int, max_bytes: int, reply) -> None:
        path = self.log_files.get(instance_id)
        if path is not None and not path.exists():   # its worker wrote nothing yet: the file comes with its first output
            reply(LogRead(b"", 0, True))
            return
        reply(read_log(path, offset, tail_lines, max_bytes))

    def metrics_report(self) -> dict:
        return self.telemetry.report(self.store, len(self.idle))
    def lost(self) -> None:
        """(The master's own node holds no lease: it lives and dies with the master.)"""

    def running(self) -> list[WorkerProc]:
        """The workers hosting an instance (for a node that registers again)."""
        return [w for w in self.workers.values() if w.instance_id and not w.stopping]

    async def _start_worker(self, assign: m.Assign) -> None:
        iid = assign.instance_id
        try:
            w = await self.assign(assign)
        except (RuntimeError, OSError, asyncio.TimeoutError) as e:
            log.error("could not start a worker for %s: %s", iid, e)
            self.cb.worker_exited(iid, "", f"its worker could not start: {e}")
            return
        self.cb.worker_assigned(iid, w.id, w.pid, w.endpoint)
        if w.id not in self.workers:  # it died while being assigned
            self.cb.worker_exited(iid, w.id, "its worker exited during start")

    # ---- workers --------------------------------------------------------------------------------
    async def _start_warm(self) -> None:
        try:
            w = await self._spawn("python")
            await asyncio.wait_for(asyncio.shield(w.hello), 60)
        except (OSError, RuntimeError, asyncio.TimeoutError) as e:
            log.error("could not start a warm worker: %s", e)
            return
        finally:
            self._warming -= 1
        if not w.instance_id and w.id in self.workers and not self._closing:
            self.idle.append(w)
            self._prepare_idle()

    async def _start_warm_cpp(self, executable: str, job_id: str) -> None:
        """One forked worker of the job's C++ template kept warm (templates.py); made a moment
        later, not competing for the CPU with the create that asked for it."""
        await asyncio.sleep(REFILL_DELAY)
        key = self.templates.reserve_warm(executable, job_id) if self.templates is not None else None
        if key is None:
            return
        w = None
        try:
            w = await self._spawn("cpp", executable, job_id)
            await asyncio.wait_for(asyncio.shield(w.hello), 60)
        except (OSError, RuntimeError, asyncio.TimeoutError) as e:
            log.error("could not start a warm C++ worker: %s", e)
        finally:
            wanted = w is not None and not w.instance_id and w.id in self.workers and not self._closing
            if not self.templates.add_warm(key, w if wanted else None) and w is not None and not w.instance_id:
                self._stop(w.id)

    async def _spawn(self, language: str, executable: str = "", job_id: str = "") -> WorkerProc:
        wid = f"{os.getpid()}-{next(self._ids)}"
        boot = m.Bootstrap(session_dir=str(self.session_dir), agent=self.address, worker_id=wid,
                           language=language, tcp=self.worker_tcp, data=self.data_address)
        zygote = None if executable else self.zygote
        if executable and self.templates is not None:
            zygote = await self.templates.template(executable, job_id)
        if zygote is not None and zygote.alive:
            try:
                proc = await zygote.fork(boot)
            except RuntimeError:   # a C++ template that died: the program started directly says why
                if not executable:
                    raise
                self.templates.failed(executable, zygote)
                proc = await processes.spawn_worker(boot, executable)
        else:
            proc = await processes.spawn_worker(boot, executable)
        w = WorkerProc(wid, proc, language, executable)
        self.workers[wid] = w
        early = self._early_hellos.pop(wid, None)
        if early is not None:  # a forked worker can say hello before its fork is acknowledged
            self._greet(w, *early)
        self._spawn_task(self._watch(w))
        return w

    def assign_warm(self, spec: m.Assign) -> WorkerProc | None:
        """Hands the instance to an idle warm worker at once, if there is one (no awaiting:
        the create is answered in the same turn of the loop)."""
        if spec.language == "cpp":
            w = self.templates.take_warm(spec.executable, spec.job_id) if self.templates is not None else None
            if w is not None:
                self._hand_over(w, spec)
                self._spawn_task(self._start_warm_cpp(spec.executable, spec.job_id))
            return w
        w = warm.pick(self.idle, spec.language, spec.driver_env)
        if w is None:
            return None
        self.idle.remove(w)
        self._hand_over(w, spec)
        return w

    async def assign(self, spec: m.Assign) -> WorkerProc:
        """Starts a worker for an instance (C++: the user's program), hands it the instance."""
        language, exe = spec.language, spec.executable
        if language == "cpp":
            if not exe or not os.access(exe, os.X_OK):
                raise RuntimeError(f"C++ executable {exe!r} does not exist or is not executable")
            w = await self._spawn(language, exe, spec.job_id)
            for _ in range(templates.WARM):
                self._spawn_task(self._start_warm_cpp(exe, spec.job_id))
        else:
            w = await self._spawn("python")
        w.instance_id = spec.instance_id   # claimed: refill() must not count it as warm
        await asyncio.wait_for(asyncio.shield(w.hello), 60)
        self._hand_over(w, spec)
        return w

    def _hand_over(self, w: WorkerProc, spec: m.Assign) -> None:
        if warm.preparable(spec.language, spec.driver_env) and spec.driver_env != self.prepare_for:
            self.prepare_for = spec.driver_env   # idle workers take it ahead, at the refill below
            for old in warm.stale(self.idle, spec.driver_env):
                self._stop(old.id)
        w.instance_id, w.job_id, w.epoch = spec.instance_id, spec.job_id, spec.epoch
        remember_log(self.log_files, spec.instance_id, self.session_dir / "logs" / f"worker-{w.id}.log")
        w.label = f"{spec.class_name or 'worker'} pid={w.pid}"
        w.grace = _graceful_shutdown_time(spec.driver_env)
        w.writer.write(spec.frame())
        # Refill a moment later: a fork competes for the CPU with the answer to this create.
        asyncio.get_running_loop().call_later(REFILL_DELAY, self.refill)

    def _stop(self, wid: str) -> None:
        w = self.workers.get(wid)
        if w is None or w.stopping:
            return
        w.stopping = True
        if w in self.idle:
            self.idle.remove(w)
        if w.writer is not None and not w.writer.is_closing():
            w.writer.write(m.Terminate().frame())
        self._spawn_task(self._escalate(w))

    async def _escalate(self, w: WorkerProc) -> None:
        for sig, grace in ((signal.SIGTERM, w.grace), (signal.SIGKILL, KILL_GRACE)):
            try:
                await asyncio.wait_for(asyncio.shield(w.gone), grace)
                return
            except asyncio.TimeoutError:
                processes.signal_process(w.pid, sig)

    async def _watch(self, w: WorkerProc) -> None:
        """Copies the worker's output to its log file and the owner; reports its exit with
        the last lines it wrote (often the only trace of why it died)."""
        path = self.session_dir / "logs" / f"worker-{w.id}.log"
        tail: deque[str] = deque(maxlen=processes.TAIL_LINES)
        # Opened at the first output, or at the exit: most workers write nothing, and creating
        # a file per worker was a quarter of the daemon's time in a burst of 500 creates.
        logf = None
        try:
            partial = b""   # a line written in pieces is forwarded once, when it is complete
            while True:
                chunk = await w.proc.stdout.read(1 << 16)
                if not chunk:
                    break
                logf = logf or open(path, "ab", buffering=0)
                logf.write(chunk)
                partial += chunk
                complete, _, partial = partial.rpartition(b"\n")
                if len(partial) > 1 << 16:   # a very long line without newline: forward it anyway
                    complete, partial = complete + b"\n" + partial if complete else partial, b""
                if complete:
                    self._output(w, complete, tail)
            if partial:
                self._output(w, partial, tail)
            rc = await w.proc.wait()
            reason = processes.exit_report(rc, w.pid, tail)
            logf = logf or open(path, "ab", buffering=0)
            logf.write(f"[yr] {w.label or 'worker'}: {reason}\n".encode())
        finally:
            if logf is not None:
                logf.close()
        self.workers.pop(w.id, None)
        w.gone.set_result(rc)
        if w in self.idle:
            self.idle.remove(w)
        if not w.hello.done():
            w.hello.set_exception(RuntimeError(f"worker exited before it was ready: {reason}"))
            w.hello.exception()
        if w.writer is not None:
            w.writer.close()
        # A killed worker cannot remove its socket file: do it for it.
        sessions.worker_socket(self.session_dir, w.id).unlink(missing_ok=True)
        self.telemetry.forget(f"worker:{w.id}")
        if w.instance_id:
            self.cb.worker_exited(w.instance_id, w.id, reason)
        self.refill()

    def _output(self, w: WorkerProc, data: bytes, tail: deque) -> None:
        lines = data.decode(errors="replace").splitlines()
        tail.extend(lines)
        if w.job_id:
            self.cb.log(w.job_id, w.label or f"worker pid={w.pid}", lines)

    def _spawn_task(self, coro) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    # ---- connections ----------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = frames.FrameDecoder(max_frame=frames.DEFAULT_MAX_FRAME, first_max=handshake.MAX_HELLO)
        worker: str | None = None   # the id of the worker on the other end, once it said hello
        authed = False
        try:
            while True:
                data = await reader.read(1 << 18)
                if not data:
                    break
                for body in decoder.feed(data):
                    if not authed:
                        handshake.check_hello(body, self.token)
                        authed = True
                        continue
                    worker = self._handle(m.decode(body, *_INBOUND), writer, worker)
        except (handshake.AuthError, frames.FrameError, m.MessageError, ValueError) as e:
            log.warning("closing a connection that sent bad input: %s", e)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            held = self._holds_of.pop(writer, None)
            if held:   # a process that ends (or crashes) lets go of what it borrowed
                self.store.release([oid for oid, n in held.items() for _ in range(n)])

    def _handle(self, msg: m.Message, writer, worker: str | None) -> str | None:
        """Acts on one message of a connection; returns the id of the worker on its other
        end (set by its hello). Raises ValueError for a message the connection may not send."""
        if isinstance(msg, m.WorkerHello):
            return self._on_hello(msg, writer)
        if isinstance(msg, (m.Initialized, m.TaskBlocked)):
            self._on_worker_report(msg, self.workers.get(worker))
        elif isinstance(msg, m.ObjPut):
            for waiter, rid in self.store.put(msg.id, msg.data, msg.error, msg.job, [str(i) for i in msg.contains]):
                self._reply_object(waiter, rid, msg.id)
        elif isinstance(msg, m.ObjGet):
            self._get_object(writer, msg)
        elif isinstance(msg, m.Metrics):
            self.telemetry.put(msg)
        elif isinstance(msg, m.ObjFree):
            self.store.free([str(i) for i in msg.ids], by_owner=True)
            self._free_pulled_copies([str(i) for i in msg.ids])
        elif isinstance(msg, m.ObjHold):
            self._hold(writer, msg)
        elif isinstance(msg, m.ObjRelease):
            self._release(writer, [str(i) for i in msg.ids])
            if msg.tokens:
                self.store.release_transfers([str(t) for t in msg.tokens])
        elif isinstance(msg, m.CreateOnNode):
            if self.on_create is None:
                writer.write(m.Created(rid=msg.rid, kind=int(ErrorCode.ERR_INNER_COMMUNICATION),
                                       error="this node's agent has no master: create through the master").frame())
            else:
                self.on_create(msg, writer)
        elif isinstance(msg, m.StatePut):
            self.store.states[msg.instance_id] = msg.data
            # the worker's save returns once the master holds the state (it places restarts):
            # a call acknowledged after it survives this node's death
            self.cb.state_saved(msg.instance_id, msg.data, lambda: writer.write(m.StateSaved(rid=msg.rid).frame()))
        else:   # m.StateGet
            writer.write(m.State(rid=msg.rid, data=self.store.states.get(msg.instance_id)).frame())
        return worker

    def _on_hello(self, msg: m.WorkerHello, writer) -> str:
        w = self.workers.get(msg.worker_id)
        if w is None:
            if len(self._early_hellos) > 1000:
                raise ValueError("hello from an unknown worker")
            self._early_hellos[msg.worker_id] = (writer, msg)
        else:
            self._greet(w, writer, msg)
        return msg.worker_id

    def _on_worker_report(self, msg: "m.Initialized | m.TaskBlocked", w: WorkerProc | None) -> None:
        """A report of the worker on this connection (none before its hello: ignored)."""
        if w is None or not w.instance_id:
            return
        if isinstance(msg, m.Initialized):
            w.ready = True
            self.cb.initialized(w.instance_id, msg.error)
        else:
            self.cb.blocked(w.instance_id, msg.blocked)

    def _greet(self, w: WorkerProc, writer, msg: m.WorkerHello) -> None:
        if w.pid != msg.pid:
            raise ValueError(f"hello from pid {msg.pid} for worker {w.id} (pid {w.pid})")
        w.writer, w.endpoint = writer, msg.endpoint
        if not w.hello.done():
            w.hello.set_result(None)

    def _get_object(self, writer, msg: m.ObjGet) -> None:
        oid, rid, timeout = msg.id, msg.rid, msg.timeout
        if oid in self.store.objects or oid in self.store.refused:
            self._reply_object(writer, rid, oid)
            return
        entry = (writer, rid)
        self.store.waiters.setdefault(oid, []).append(entry)
        if msg.owner and msg.owner != self.data_address and oid not in self._pulls:
            self._start_pull(msg)
        if timeout >= 0:
            def expire():
                lst = self.store.waiters.get(oid, [])
                if entry in lst:
                    lst.remove(entry)
                    if not writer.is_closing():
                        writer.write(m.ObjMissing(rid=rid).frame())
            asyncio.get_running_loop().call_later(timeout, expire)

    get_object_for = _get_object   # the data port's pull server asks through this

    def job_of(self, oid: str) -> str:
        item = self.store.objects.get(oid)
        return item[2] if item is not None else ""

    # ---- borrows: refs a process keeps past the call that brought them ---------------------------
    def _hold(self, writer, msg: m.ObjHold) -> None:
        """Holds the objects for this connection and answers once they are held here: an
        object of another node not copied here yet is pulled first (bounded by PULL_WAIT per
        request), so this node's copy outlives its owner's free."""
        ids = [str(i) for i in msg.ids]
        if msg.tokens:   # transfer holds: whoever receives the refs ends them (by token)
            if len(msg.tokens) != len(ids):
                raise ValueError(f"obj_hold with {len(ids)} ids and {len(msg.tokens)} tokens")
            self.store.hold_transfers(ids, [str(t) for t in msg.tokens])
        else:
            mine = self._holds_of.setdefault(writer, {})
            for oid in ids:
                mine[oid] = mine.get(oid, 0) + 1
            self.store.hold(ids)
        store = self.store
        remote = bool(msg.owner) and msg.owner != self.data_address
        missing = {oid for oid in ids if remote and oid not in store.objects and oid not in store.refused}

        def answer(_oid=None) -> None:
            missing.discard(_oid)
            if not missing and not writer.is_closing():
                writer.write(m.ObjHeld(rid=msg.rid).frame())
        if not missing:
            answer()
            return
        for oid in list(missing):
            self._after_pull.setdefault(oid, []).append(answer)
            if oid not in self._pulls:
                self._start_pull(m.ObjGet(rid=0, id=oid, timeout=dataport.PULL_WAIT, owner=msg.owner,
                                          owner_node=msg.owner_node))

    def _release(self, writer, ids: list) -> None:
        """Lets go of holds this connection took (others' holds are not its to release)."""
        mine = self._holds_of.get(writer, {})
        going = []
        for oid in ids:
            n = mine.get(oid, 0)
            if n:
                going.append(oid)
                if n == 1:
                    del mine[oid]
                else:
                    mine[oid] = n - 1
        self.store.release(going)

    # ---- objects of other nodes and the data port ----------------------------------------------
    def _start_pull(self, msg: m.ObjGet) -> None:
        """Pulls an object from the node that holds it (a thread: blocking I/O, and the owner
        may still be computing it); the answer fills this node's store and its waiters."""
        oid = msg.id
        self._pulls.add(oid)
        loop = asyncio.get_running_loop()
        where = f"node {msg.owner_node or '?'} ({msg.owner})"

        def run():
            try:
                while True:   # each request is bounded (dataport.PULL_WAIT); ask again while getters wait
                    got = dataport.pull(msg.owner, self.token, oid, msg.timeout, self.session_dir, self.data_address)
                    if not isinstance(got, m.ObjMissing) or self._closing:
                        break
                    # read from this thread (a copy of the list): a stale answer costs one round
                    if not any(not w.is_closing() for w, _ in list(self.store.waiters.get(oid, ()))):
                        log.info("pull of %s from %s ended: nobody waits for it any more", oid, where)
                        break
            except dataport.ObjectLost as e:
                got = m.ObjLost(rid=0, reason=f"object {oid} is lost: its {where} is gone or unreachable ({e})")
            except Exception as e:   # a bug must not leave the getters waiting forever
                log.exception("pulling %s from %s", oid, where)
                got = m.ObjLost(rid=0, reason=f"object {oid} could not be pulled from {where}: {e!r}")
            loop.call_soon_threadsafe(self._pulled, oid, got)
        threading.Thread(target=run, name="yr-pull", daemon=True).start()

    def _pulled(self, oid: str, got: m.Message) -> None:
        self._pulls.discard(oid)
        for landed in self._after_pull.pop(oid, ()):   # holds waiting for this copy (answered after the put below)
            asyncio.get_running_loop().call_soon(landed, oid)
        if self._closing:
            if isinstance(got, m.PulledObject):
                bodies.unlink_file(got.data)
            return
        if isinstance(got, m.PulledObject):   # kept here too: later getters on this node read it at once
            self.copies.add(oid)
            for waiter, rid in self.store.put(oid, got.data, got.error, got.job):
                self._reply_object(waiter, rid, oid)
            return
        for waiter, rid in self.store.waiters.pop(oid, []):   # missing, refused or lost: not cached
            if waiter.is_closing():
                continue
            if isinstance(got, m.ObjMissing):
                waiter.write(m.ObjMissing(rid=rid).frame())
            elif isinstance(got, m.ObjRefused):
                waiter.write(m.ObjRefused(rid=rid, reason=got.reason).frame())
            else:
                waiter.write(m.ObjLost(rid=rid, reason=got.reason).frame())

    # ---- pulled copies: freed on every node when their owner frees the object -----------------------
    def note_pulled(self, oid: str, puller: str) -> None:
        """(The owner's side, from the pull server) node `puller` took a copy of `oid`."""
        if oid in self.store.objects and puller != self.data_address:
            self.pulled_by.setdefault(oid, set()).add(puller)

    def _free_pulled_copies(self, oids: list) -> None:
        """The owner freed `oids`: the nodes that pulled them drop their copies (a thread: dials)."""
        by_puller: dict[str, list] = {}
        for oid in oids:
            for puller in self.pulled_by.pop(oid, ()):
                by_puller.setdefault(puller, []).append(oid)
        for puller, ids in by_puller.items():
            threading.Thread(target=dataport.free_copies, args=(puller, self.token, ids),
                             name="yr-free-copies", daemon=True).start()

    def drop_copies(self, oids: list) -> None:
        """(A puller's side) the owner freed these: drop the copies pulled here, nothing else."""
        mine = [oid for oid in oids if oid in self.copies]
        self.copies.difference_update(mine)
        self.store.free(mine)

    def hand_caller(self, worker_id: str, sock: socket.socket, tries: int = 100) -> None:
        """Passes a caller connection accepted on the data port to its worker, with the
        CallerHandoff message, over the worker's link (SCM_RIGHTS). Sent only when nothing
        else waits in that link's buffer, so the fd rides on this message's own bytes."""
        w = self.workers.get(worker_id)
        if w is None or w.writer is None or w.writer.is_closing() or w.stopping:
            log.info("data port: no worker %r here for a caller", worker_id[:40])
            sock.close()
            return
        if w.writer.transport.get_write_buffer_size() and tries:
            asyncio.get_running_loop().call_later(0.001, self.hand_caller, worker_id, sock, tries - 1)
            return
        frame = m.CallerHandoff().frame()
        link = socket.socket(fileno=w.writer.get_extra_info("socket").fileno())
        try:
            n = socket.send_fds(link, [frame], [sock.fileno()])
        except BlockingIOError:
            n = -1
        except OSError as e:
            log.info("data port: could not hand a caller to worker %s: %s", worker_id, e)
            n = len(frame)
        finally:
            link.detach()
        if n < 0 and tries:
            asyncio.get_running_loop().call_later(0.001, self.hand_caller, worker_id, sock, tries - 1)
            return
        if 0 <= n < len(frame):
            w.writer.write(frame[n:])
        sock.close()   # the worker holds its own copy now

    def _reply_object(self, writer, rid: int, oid: str) -> None:
        if writer.is_closing():
            return
        if oid in self.store.refused:
            writer.write(m.ObjRefused(rid=rid, reason=self.store.refused[oid]).frame())
            return
        data, error, _ = self.store.objects[oid]
        writer.write(m.ObjValue(rid=rid, data=data, error=error).frame())
