"""The worker process: hosts one instance (or serves stateless calls) and runs its calls.

A worker connects to its node agent, waits for an assignment, builds the instance through a
*host* (Python here; C++ and Java bring their own, see docs/bridge.md), then serves call
connections from any caller holding the instance's handle. With concurrency 1 calls run on
the loop thread, one at a time, in the order each connection delivered them; with
concurrency N they run on N threads. It exits when told to, or when its agent goes away.
"""
from __future__ import annotations

import faulthandler
import importlib
import json
import os
import pickle
import select
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
import types
from bisect import bisect_left as _bisect
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from yr_runtime.wire import address, datatls, frames, handshake, preamble
from yr_runtime.wire import messages as m
from yr_runtime.local.lifetime import die_with_parent
from yr_runtime.local.session import worker_socket

from . import _context   # here, not in _assign: an import statement there touched 4-5 more pages after the fork
from . import _protocol as P
from . import _serialization
from . import _telemetry
from ._call_values import as_invoke_error, dump_sending, resolve_args, run_coroutine, send_items
from ._transport import spin
from .exceptions import SerializationError, YRInvokeError
from ._hosts import ForeignHost, PythonHost, host_for

_PLAIN_RESULTS = _serialization._PLAIN | {bytes}   # results that cannot hold refs

_pickle_loads = pickle.loads
_HEADER_UNPACK, _HEADER_SIZE = P.HEADER.unpack_from, P.HEADER.size
_Coroutine = types.CoroutineType   # inspect.iscoroutine's test (it cannot be subclassed)

# How long a worker that answered a lone call polls for the caller's next one before it
# sleeps (a bound in time, as the driver's: yr._transport.SPIN_SECONDS and spin).
WORKER_SPIN_SECONDS = float(os.environ.get("YR_WORKER_SPIN_US", "300")) / 1e6
TLS_HANDSHAKES = 16     # callers of a --tls cluster in their handshake at once; more are closed
IDLE_LEND_AFTER = 0.05   # an executor idle this long lends its cpu to its node until a call comes
FLUSH_AFTER = 0.0003   # s: the result of a quick call waits at most this long for the next ones
FLUSH_WATCH = 0.001    # s: results pending when a long call starts leave within about this
WATCH_ROUNDS = 20      # rounds of FLUSH_WATCH without a call started behind results: stop watching
_now = time.perf_counter
_calls = _telemetry.calls   # this worker's call counters (plain integer increments per call)
_by_where = _calls.by
_FIRST_BUCKET, _BOUNDS = _telemetry.FIRST_BUCKET, _telemetry.LATENCY_BOUNDS
current: "Worker | None" = None   # the worker of this process, once it hosts an instance


_RECV_BUF = bytearray(1 << 18)    # the loop thread's receive buffer, reused for every read
_RECV_VIEW = memoryview(_RECV_BUF)


def _answer_and_close(sock, frame: bytes, limit: float = 10.0) -> None:
    """Sends `frame`, ends the sending side, drains what the peer still sends until it closes
    (at most `limit` seconds), then closes the socket."""
    end = time.monotonic() + limit
    try:
        sock.settimeout(limit)
        sock.sendall(frame)
        sock.shutdown(socket.SHUT_WR)
        while time.monotonic() < end and sock.recv(1 << 16):
            pass
    except (OSError, ValueError):
        pass
    finally:
        sock.close()

class _CallerConn:
    __slots__ = ("sock", "decoder", "authed", "lock", "out", "since", "remote")

    def __init__(self, sock, remote: bool = False):
        self.sock, self.decoder, self.authed = sock, frames.FrameDecoder(first_max=handshake.MAX_HELLO), False
        self.remote = remote   # a caller on another machine: results travel inline (no shared memory)
        self.lock = threading.Lock()
        self.out: deque = deque()   # result frames not written yet (concurrency 1)
        self.since = 0.0            # when the oldest of them was made

    def send(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)

    def flush(self) -> None:
        """Writes the pending results in one system call. The loop thread appends to `out`
        and both it and the watcher flush: append and popleft are atomic, the lock keeps two
        flushes from interleaving their writes."""
        with self.lock:
            out = self.out
            n = len(out)
            if n:
                self.sock.sendall(out.popleft() if n == 1 else b"".join([out.popleft() for _ in range(n)]))


class _Watcher:
    """Writes the results that wait while a long call runs (concurrency 1).

    The loop thread writes the results of the quick calls of one read together. When it
    starts a call while results are still pending, it arms this thread, which then writes
    whatever is pending every FLUSH_WATCH until calls stop coming for WATCH_ROUNDS rounds.
    So a burst of quick calls still costs few writes and few wake-ups (none while
    calls come one at a time), and no result waits for a slow call read with it.
    """

    def __init__(self):
        self.conn: _CallerConn | None = None
        self.armed = False
        self.idle = False
        self.cond = threading.Condition(threading.Lock())
        threading.Thread(target=self._run, name="yr-result-watcher", daemon=True).start()

    def watch(self, conn: _CallerConn) -> None:
        """Called by the loop thread before a call, with results of `conn` pending."""
        self.conn = conn
        self.armed = True
        if self.idle:   # read without the lock: _run sets it before it looks at `armed`
            with self.cond:
                self.cond.notify()

    def _run(self) -> None:
        while True:
            with self.cond:
                self.idle = True
                while not self.armed:
                    self.cond.wait()
                self.idle = False
            quiet = 0
            while quiet < WATCH_ROUNDS:
                self.armed = False
                time.sleep(FLUSH_WATCH)
                conn = self.conn
                if conn is not None and conn.out:
                    try:
                        conn.flush()
                    except OSError:
                        pass   # the caller is gone; the loop thread drops the connection
                quiet = 0 if self.armed else quiet + 1


class Worker:
    def __init__(self, host, boot: m.Bootstrap):
        self.host = host
        self.boot = boot
        self.token = (open(os.path.join(boot.session_dir, "token"), "rb").read().strip())
        self.endpoint = address.unix(worker_socket(boot.session_dir, boot.worker_id))
        self.instance = None
        self.init_error: BaseException | None = None
        self.class_name = "worker"
        self.methods: dict = {}
        self._hot_methods: dict = {}     # name -> (where, counters, callable): see _run
        self._hot_functions: dict = {}
        self.functions: dict = {}
        self.pool: ThreadPoolExecutor | None = None
        self.autosave = False   # save a foreign instance's declared state after every call
        self.lone_call = False  # the last read carried exactly one call: a synchronous caller
        self.blocked_calls = 0  # calls waiting in yr.get / yr.wait (the agent lends our CPU meanwhile)
        self.lends_when_idle = False   # a stateless executor with concurrency 1: see _sleep
        self.idle_timeout: float | None = None   # InvokeOptions.idle_timeout: end the instance when idle
        self.running = 0                # calls running on the pool's threads (counted with idle_timeout)
        self._ending = None             # the request that ends this idle instance
        self.borrows = ()               # refs rebuilt during calls, not yet settled (yr._context "borrows")
        self.instance_id = ""
        self.epoch = 0                  # its placement (Assign.epoch): TLS callers of another are refused
        self.report_later = False       # its metrics reporter's thread starts when it is first idle
        self._agent_lock = threading.Lock()   # call threads report blocking on the agent socket too
        self.watcher: _Watcher | None = None   # started by the first read of several calls
        self.sel = selectors.DefaultSelector()
        self.listeners = [address.listen(self.endpoint)]
        # `--worker-tcp HOST` (off by default: no TCP port on one machine). A node with a data
        # port never reports such a port (callers come through the data port), so it opens none.
        if boot.tcp and not boot.data:
            self.listeners.append(address.listen(address.tcp(boot.tcp, 0)))
            self.endpoint = address.bound_address(self.listeners[-1])   # callers reach it over TCP
        if boot.data:   # callers on other nodes reach it through its node's data port
            self.endpoint = f"{boot.data}/{boot.worker_id}"
            datatls.use_session(boot.session_dir)   # a --tls cluster: handed callers speak TLS
        self._handed: deque = deque()   # fds of caller connections the agent passed (SCM_RIGHTS)
        self._handshaking = threading.BoundedSemaphore(TLS_HANDSHAKES)
        self.agent = address.dial(boot.agent, None)
        self.agent.sendall(frames.encode(handshake.hello(self.token)))
        self._agent_send(m.WorkerHello(worker_id=boot.worker_id, pid=os.getpid(), endpoint=self.endpoint))
        self.agent_decoder = frames.FrameDecoder()
        for listener in self.listeners:
            self.sel.register(listener, selectors.EVENT_READ, "listen")
        self.sel.register(self.agent, selectors.EVENT_READ, "agent")

    # ---- loop --------------------------------------------------------------------------------
    def run(self) -> None:
        select_ = self.sel.select
        ready = _readiness_probe(self.sel)
        code = 0
        try:
            while True:
                events = select_(0) if ready(0, 1) else ()
                if not events and self.lone_call:
                    # A caller that sends one call at a time (a synchronous loop) sends the
                    # next one microseconds after our answer: catch it before sleeping,
                    # which costs a wake-up each way. Bursts of calls never spin.
                    if spin(lambda: ready(0, 1), WORKER_SPIN_SECONDS):
                        events = select_(0)
                self.lone_call = False
                for key, _ in events or self._sleep():
                    if key.data == "listen":
                        sock, _ = key.fileobj.accept()
                        self.sel.register(sock, selectors.EVENT_READ, _CallerConn(sock, sock.family != socket.AF_UNIX))
                    elif key.data == "agent":
                        if not self._on_agent():
                            return
                    else:
                        self._on_caller(key.data)
        except BaseException:   # a bug or a signal: say so in the log and the exit status
            traceback.print_exc()
            code = 1
        finally:
            self._shutdown(code)

    def _sleep(self) -> list:
        """Waits for events. An idle executor holds no cpu (as a task that is not running):
        after IDLE_LEND_AFTER without calls it lends its cpu to the node, like a blocked
        call, and takes it back when woken. Busy executors never pay for this."""
        if self.report_later:   # the first calls are answered: see _assign
            self.report_later = False
            _telemetry.run_thread()
        if self.idle_timeout is not None:
            return self._sleep_or_end()
        if not self.lends_when_idle:
            return self.sel.select()
        events = self.sel.select(IDLE_LEND_AFTER)
        if events:
            return events
        self._block()
        try:
            return self.sel.select()
        finally:
            self._unblock()

    def _sleep_or_end(self) -> list:
        """Waits for events; an instance with no call for idle_timeout seconds asks the master
        to end it (the terminate then arrives from the agent)."""
        while True:
            events = self.sel.select(self.idle_timeout)
            if events or self._ending is not None:
                return events or self.sel.select()
            if self.running == 0:
                from . import _context
                try:
                    self._ending = _context.current().master.terminate(self.instance_id)
                except Exception:   # noqa: BLE001  the runtime is going away: its agent ends us
                    self._ending = False

    def _on_agent(self) -> bool:
        data, fds, _, _ = socket.recv_fds(self.agent, 1 << 16, 16)
        self._handed.extend(fds)
        if not data:
            return False  # the agent is gone: nobody can reach or clean up this worker
        for body in self.agent_decoder.feed(data):
            msg = m.decode(body, m.Assign, m.Terminate, m.CallerHandoff, m.Prepare)
            if isinstance(msg, m.Terminate):
                return False
            if isinstance(msg, m.CallerHandoff):
                self._adopt_caller()
            elif isinstance(msg, m.Prepare):
                _prepare(msg.driver_env, self.boot, self.token)
            else:
                self._assign(msg)
        return True

    def _adopt_caller(self) -> None:
        """A caller accepted on the node's data port: the agent checked its preamble (with TLS:
        only its route; the token comes inside TLS) and passed its fd with the message (it
        arrived with the message's first byte)."""
        if not self._handed:
            return
        sock = socket.socket(fileno=self._handed.popleft())
        sock.setblocking(True)   # the agent's event loop had made it non-blocking
        if datatls.enabled():   # the stream is TLS: handshake off the loop thread (bounded), then
            if not self._handshaking.acquire(blocking=False):   # a flood of half-open peers: refuse
                sock.close()
                return
            threading.Thread(target=self._adopt_tls, args=(sock,), name="yr-tls-accept", daemon=True).start()
            return
        conn = _CallerConn(sock, remote=True)
        conn.authed = True
        self.sel.register(sock, selectors.EVENT_READ, conn)

    def _adopt_tls(self, sock) -> None:
        """A handed caller of a --tls cluster: the TLS server handshake (a client certificate of
        the cluster CA required, tls.HANDSHAKE_TIMEOUT), then it is served like any caller; its
        first frame inside TLS is the token preamble, checked by _on_caller."""
        try:
            sock = datatls.server(sock)
        except OSError as e:
            print(f"yr worker: refused a data-port caller in the TLS handshake: {e}", file=sys.stderr)
            return
        finally:
            self._handshaking.release()
        conn = _CallerConn(sock, remote=True)
        conn.decoder = frames.FrameDecoder(first_max=preamble.MAX_PREAMBLE)
        self.sel.register(sock, selectors.EVENT_READ, conn)   # epoll_ctl: safe beside the loop's select

    def _on_caller(self, conn: _CallerConn) -> None:
        try:
            n = conn.sock.recv_into(_RECV_BUF)
            bodies = conn.decoder.feed(_RECV_VIEW[:n]) if n else None
        except (OSError, frames.FrameError):
            bodies = None
        if not bodies:
            if bodies is None:
                self._drop(conn)
            return
        if not conn.authed:
            try:
                if hasattr(conn.sock, "pending"):   # a TLS caller: the data-port preamble, inside TLS
                    sent = preamble.decode(bodies[0], self.token).epoch
                    if preamble.stale(sent, self.epoch):   # its clear route carried none: checked here
                        self._refuse(conn, preamble.refusal(self.instance_id, sent, self.epoch))
                        return
                else:
                    handshake.check_hello(bodies[0], self.token)
            except (handshake.AuthError, preamble.PreambleError):
                self._drop(conn)
                return
            conn.authed = True
            bodies = bodies[1:]
        out = conn.out
        _calls.received += len(bodies)
        many = len(bodies) > 1
        self.lone_call = not many
        for body in bodies:
            try:
                kind, call_id = _HEADER_UNPACK(body)   # P.split, inlined: this runs for every call
            except Exception:
                self._drop(conn)
                return
            payload = body[_HEADER_SIZE:]
            if kind == P.DEFINE:
                self._define(payload)  # in arrival order, before any call that uses it
                _calls.received -= 1   # not a call
            elif kind in P.STREAMS:   # a generator: its items leave as they are produced
                if self.pool is None:
                    try:
                        if out:
                            conn.flush()
                        conn.send(self._execute(kind, call_id, payload, conn.remote, conn))
                    except OSError:   # the caller is gone
                        self._drop(conn)
                        return
                else:
                    self.pool.submit(self._execute_and_send, conn, kind, call_id, payload)
            elif self.pool is None:
                if out:
                    self._before_call(conn)
                frame = self._execute(kind, call_id, payload, conn.remote)
                if many and not out:
                    conn.since = _now()
                out.append(frame)
            else:
                self.pool.submit(self._execute_and_send, conn, kind, call_id, payload)
        if out:
            try:
                conn.flush()
            except OSError:
                self._drop(conn)

    def _before_call(self, conn: _CallerConn) -> None:
        """Results of this read are pending: write them if they waited long enough, else
        have them watched, in case the call about to run is a long one."""
        if _now() - conn.since > FLUSH_AFTER:
            try:
                conn.flush()
            except OSError:
                pass   # the caller is gone: the end of this read drops the connection
            return
        if self.watcher is None:
            self.watcher = _Watcher()
        w = self.watcher
        if not (w.armed and w.conn is conn):   # armed already: it writes them within FLUSH_WATCH
            w.watch(conn)

    def _refuse(self, conn: _CallerConn, frame: bytes) -> None:
        """Answers a caller of another placement with the refusal frame and ends the connection
        in a thread of its own (once per refused connection): what the caller pipelined is read
        and dropped until it closes, for 10 s at most (a close with unread bytes would reset
        the connection, and a reset can discard the refusal before the caller reads it)."""
        print(f"yr worker: {frame[13:].decode()}", file=sys.stderr)
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.out.clear()
        threading.Thread(target=_answer_and_close, args=(conn.sock, frame), name="yr-refuse", daemon=True).start()

    def _drop(self, conn: _CallerConn) -> None:
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.out.clear()
        with conn.lock:   # not while the watcher writes: the descriptor could be reused
            conn.sock.close()

    # ---- calls -----------------------------------------------------------------------------
    def _execute_and_send(self, conn, kind, call_id, payload) -> None:
        if self.idle_timeout is not None:
            with self._agent_lock:
                self.running += 1
            try:
                out = self._execute(kind, call_id, payload, conn.remote, conn if kind in P.STREAMS else None)
            finally:
                with self._agent_lock:
                    self.running -= 1
        else:
            out = self._execute(kind, call_id, payload, conn.remote, conn if kind in P.STREAMS else None)
        try:
            conn.send(out)
        except OSError:
            pass

    def _define(self, payload: bytes) -> None:
        key, _, code = payload.partition(b"\x00")
        key = key.decode()
        if key in self.functions:
            return
        try:
            self.functions[key] = self.host.bind_function(code)
        except BaseException as e:  # reported by every call of this function
            err = as_invoke_error(e, f"loading function {key.split(':')[0]}")

            def failing(*_a, **_k):
                raise err
            self.functions[key] = failing

    def _execute(self, kind: bytes, call_id: int, payload: bytes, remote: bool = False,
                 stream: _CallerConn | None = None) -> bytes:
        """Runs one call; its answer frame. With `stream` (a streaming call) the items the
        generator yields are sent on that connection first, and the answer is the end."""
        t0 = _now()
        frame, c = self._run(kind, call_id, payload, remote, stream)
        if self.borrows:   # refs rebuilt by the call: those it kept are held before its result leaves
            self._settle_borrows()
        took = _now() - t0
        # CallStats.finish, written inline: a method call here costs as much as the counting
        c[1] += 1
        c[3] += took
        c[_FIRST_BUCKET + _bisect(_BOUNDS, took)] += 1
        if frame[4] == 69:   # the kind byte of an ERR frame
            c[2] += 1
        return frame

    def _run(self, kind: bytes, call_id: int, payload: bytes, remote: bool,
             stream: _CallerConn | None = None) -> tuple[bytes, list]:
        """Runs one call: its result frame, and the counters of what ran ("Class.method" or a
        function; yr._telemetry.CallStats), its `started` already counted."""
        where = self.class_name
        c = None
        if _serialization.lending:
            _serialization.take_lent()   # what an earlier call borrowed is not this call's to return
        try:
            if payload[0] == 0:   # bodies.INLINE (every small call): no file to map or free
                msg = _pickle_loads(memoryview(payload)[1:])
            else:
                msg = _serialization.loads(payload)
                _serialization.discard(payload)
            name, args, kwargs = msg
            # (where, counters, callable) of a method or function called before: formatting
            # its name and two lookups per call were a tenth of a quick call's cost here
            is_method = kind == P.CALL or kind == P.SCALL
            hot = (self._hot_methods if is_method else self._hot_functions).get(name)
            if hot is None:
                where = f"{self.class_name}.{name}" if is_method else name.split(":")[0]
                c = _by_where.get(where) or _calls.new(where)
                c[0] += 1
                if is_method and self.init_error is not None:
                    return P.call_frame(P.ERR, call_id, self._dump_error(self.init_error)), c
                fn = self._lookup(is_method, name, where)
                (self._hot_methods if is_method else self._hot_functions)[name] = (where, c, fn)
            else:
                where, c, fn = hot
                c[0] += 1
            args = resolve_args(args)
            result = fn(*args, **kwargs)
            if type(result) is _Coroutine:   # not any awaitable: a returned ObjectRef is returned as a ref
                result = run_coroutine(result)
            if stream is not None:
                result = send_items(stream, call_id, result, where)
            if self.autosave and kind == P.CALL:
                save_state()
        except BaseException as e:  # user code may raise anything (even KeyboardInterrupt): it goes back
            if c is None:   # failed before its method was read: counted as started too
                c = _by_where.get(where) or _calls.new(where)
                c[0] += 1
            return P.call_frame(P.ERR, call_id, self._dump_error(as_invoke_error(e, where))), c
        try:
            lent = _serialization.take_lent() if _serialization.lending and not remote else None
            if type(result) in _PLAIN_RESULTS:   # no refs inside
                body = _serialization.dumps_inline(result) if remote else _serialization.dumps(result, lent=lent)
            else:   # refs inside are held for the caller until it has them
                body = dump_sending(result, remote, lent)
            if len(body) > _serialization.MAX_BODY:   # checked inline: the message is made only then
                _serialization.check_size(body, f"the return value of {where}")
            return P.call_frame(P.OK, call_id, body), c
        except SerializationError as e:
            err = SerializationError(f"the return value of {where} cannot be serialized: {e}")
            return P.call_frame(P.ERR, call_id, self._dump_error(err)), c

    def _lookup(self, is_method: bool, name: str, where: str):
        """The callable of a method or function called for the first time (raises for an
        unknown one: not kept, each call raises again)."""
        if is_method:
            return self.methods.get(name) or self._bind(name)
        fn = self.functions.get(name)
        if fn is None:
            raise RuntimeError(f"function {where} was never defined on this worker")
        return fn

    def _bind(self, method):
        if method == P.CHECKPOINT_METHOD:   # bound once, like any method: no cost per call
            fn = self.methods[method] = self._checkpoint
            return fn
        fn = self.methods[method] = self.host.bind_method(self.instance, method)
        return fn

    def _checkpoint(self):
        """(function type, state) for h.snapshot(): the state yr.save_state would save now."""
        cls = type(self.instance)
        ftype = self.class_name if isinstance(self.host, ForeignHost) else f"{cls.__module__}.{cls.__qualname__}"
        return ftype, _serialization.dumps_inline(self.host.save_state(self.instance))

    @staticmethod
    def _dump_error(err: BaseException) -> bytes:
        try:
            return _serialization.dumps(err)
        except SerializationError:
            if isinstance(err, YRInvokeError):
                return _serialization.dumps(YRInvokeError(None, err.traceback_str, err.where))
            return _serialization.dumps(YRInvokeError(None, repr(err)))

    # ---- assignment ----------------------------------------------------------------------
    def _assign(self, msg: m.Assign) -> None:
        env = json.loads(msg.driver_env or "{}")
        _apply_driver_env(env)
        os.environ["INSTANCE_ID"] = msg.instance_id  # as in openYuanrong: user code may read it
        self.instance_id, self.epoch = msg.instance_id, msg.epoch
        self.class_name = msg.class_name or "instance"
        if self.host is None:
            self.host = host_for(msg.language or "python")
        _context.init_worker(self.boot.to_dict(), self.token, msg.job_id, msg.instance_id)
        _context.current().recycle_time = float(env.get("recycle_time") or 2.0)
        self.idle_timeout = env.get("idle_timeout")
        from . import object_ref
        object_ref._block_hooks = (self._block, self._unblock)
        _context.set_instance_state(save_state, load_state)   # how yr.save_state/load_state reach it
        _context.start_borrow_log()
        self.borrows, self._settle_borrows = _context.borrow_log, _context.settle_borrows
        concurrency = msg.concurrency or 1
        if concurrency > 1:
            self.pool = ThreadPoolExecutor(concurrency, thread_name_prefix="yr-call")
        global current
        current = self
        try:
            spec = _serialization.loads(msg.code)
            if msg.state is not None:   # a restart: resume from the last yr.save_state()
                self.instance = self.host.restore_instance(spec, _serialization.loads(msg.state))
            elif spec.get("executor"):
                self.lends_when_idle = self.pool is None
                from . import _interrupt   # yr.cancel interrupts a running Python call (docs/api.md#cancel)
                if isinstance(self.host, PythonHost):
                    _interrupt.install(str(worker_socket(self.boot.session_dir, self.boot.worker_id)),
                                       Worker._run.__code__)
            else:
                args = resolve_args(spec.get("args", ()))
                self.instance = self.host.create_instance(spec, args, spec.get("kwargs", {}))
        except BaseException as e:  # a failing constructor is reported on every call
            self.init_error = as_invoke_error(e, f"{self.class_name}.__init__")
        # C++ classes declare their state (YR_STATE): with restarts allowed, keep it saved.
        self.autosave = (msg.recover_retry_times > 0 and isinstance(self.host, ForeignHost)
                         and self.host.can_save and self.instance is not None)
        self._agent_send(m.Initialized(
            instance_id=msg.instance_id, error=None if self.init_error is None else str(self.init_error)[-2000:]))
        _telemetry.start(self._agent_send, f"worker:{self.boot.worker_id}", msg.instance_id, self.class_name,
                         self._queued, thread=False)
        # Its thread starts when this worker is first idle (_sleep): a new thread takes the GIL
        # (and, on a busy machine, the CPU) from the first calls, 0.3-0.9 ms of the first result.
        self.report_later = True

    def _queued(self) -> int:
        """Calls read and not started: the concurrency-N pool's queue, or those of one read."""
        if self.pool is not None:
            return self.pool._work_queue.qsize()
        return _calls.received - sum(c[0] for c in list(_calls.by.values()))

    def _agent_send(self, msg: m.Message) -> None:
        with self._agent_lock:
            self.agent.sendall(msg.frame())

    def _block(self) -> None:
        """A call waits for results: the agent lends this worker's CPU out until it resumes
        (the first blocked call lends it, the last one to resume takes it back)."""
        with self._agent_lock:
            self.blocked_calls += 1
            if self.blocked_calls == 1:
                self._tell_agent_locked(True)

    def _unblock(self) -> None:
        with self._agent_lock:
            self.blocked_calls -= 1
            if self.blocked_calls == 0:
                self._tell_agent_locked(False)

    def _tell_agent_locked(self, blocked: bool) -> None:
        try:
            self.agent.sendall(m.TaskBlocked(instance_id=self.instance_id, blocked=blocked).frame())
        except OSError:
            pass   # the agent is gone: the loop sees it and this worker exits

    def _shutdown(self, code: int = 0) -> None:
        _telemetry.flush()   # the last counts of this worker, before it goes
        try:
            if self.instance is not None:
                self.host.shutdown(self.instance)
        except BaseException:
            traceback.print_exc()
        for listener in self.listeners:
            address.close_listener(listener)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def save_state(timeout: float = 30) -> None:
    """Saves this worker's instance so that a restart resumes from it (see yr.save_state)."""
    from . import _context
    from .exceptions import YRRuntimeError
    w = current
    if w is None or w.instance is None:
        raise YRRuntimeError("yr.save_state can only be called inside a method of an instance")
    # Inline, not in shared memory: the agent keeps it, and each restart loads it again.
    data = _serialization.dumps_inline(w.host.save_state(w.instance))
    if len(data) > _serialization.MAX_INLINE - 4096:
        raise SerializationError(f"the saved state is {len(data) >> 20} MiB, over the "
                                 f"{_serialization.MAX_INLINE >> 20} MiB a saved state may take")
    rt = _context.current()
    rt.agent.put_state(rt.instance_id, data, timeout)


def load_state(timeout: float = 30) -> None:
    """Replaces this instance's state with the one saved last (see yr.load_state)."""
    from . import _context
    from .exceptions import YRRuntimeError
    w = current
    if w is None or w.instance is None:
        raise YRRuntimeError("yr.load_state can only be called inside a method of an instance")
    rt = _context.current()
    data = rt.agent.get_state(rt.instance_id, timeout)
    if data is None:
        raise YRRuntimeError(f"Failed to load state of instance {rt.instance_id}: nothing was saved "
                             "(call yr.save_state() first)")
    saved = w.host.restore_instance({"spec": None}, _serialization.loads(data))
    if isinstance(w.host, PythonHost):
        w.instance.__dict__.update(vars(saved))
    else:
        w.instance, w.methods = saved, {}


def _readiness_probe(sel):
    """`ready(timeout, maxevents)`: whether any socket of `sel` is ready, asked of the kernel
    directly (a duplicate of its epoll descriptor: the same interest list). The selector's
    own select() builds its (key, events) list in Python: the loop asks this first, and
    calls select() only when something is there (a synchronous caller's loop polls several
    times per call). Without epoll: the selector's select(), which answers the same."""
    if isinstance(sel, getattr(selectors, "EpollSelector", ())):
        return select.epoll.fromfd(os.dup(sel.fileno())).poll
    return lambda timeout, _max: sel.select(timeout)


def _apply_driver_env(env: dict) -> None:
    cwd = env.get("cwd")
    if cwd and os.path.isdir(cwd):
        os.chdir(cwd)
    for p in reversed(env.get("sys_path") or []):
        if p not in sys.path:
            sys.path.insert(0, p)
    os.environ.update(env.get("env_vars") or {})


def _prepare(driver_env: str, boot: m.Bootstrap, token: bytes) -> None:
    """Idle: takes a driver's environment and imports its modules ahead of the create that
    brings the same environment (the agent hands this worker to no other: node/warm.py),
    and makes its runtime context."""
    from . import _context
    _context.prepare_worker(boot.to_dict(), token)
    env = json.loads(driver_env or "{}")
    _apply_driver_env(env)
    for name in env.get("preload") or ():
        try:
            importlib.import_module(name)
        except (Exception, SystemExit):
            pass   # the create's own import raises it again, to its caller


def serve(host=None, boot: m.Bootstrap | None = None) -> None:
    """Runs the worker loop until the worker is told to exit; then the process exits.

    `host` runs the user's code: None picks one from the assignment's language (Python, or
    Java through `yr._java_host`); a C++ program passes its own (see docs/bridge.md).
    """
    boot = boot or m.Bootstrap.from_env(os.environ[m.BOOTSTRAP_ENV])
    die_with_parent(boot.parent_pid)  # no worker outlives its agent
    _serialization.ignore_file_size_signal()   # a value over `ulimit -f` fails, not the worker
    faulthandler.enable()   # a crash (SIGSEGV, SIGABRT, ...) prints the Python stacks to the log
    _interrupt_as_usual()
    if host is not None and not isinstance(host, PythonHost):
        host = ForeignHost(host)
    Worker(host, boot).run()


def _interrupt_as_usual() -> None:
    """SIGINT raises KeyboardInterrupt in a worker (its loop then ends with code 1) however
    the runtime was started: a shell's background job inherits SIGINT ignored, and so would
    every worker. A handler a host program installed is left alone."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main() -> None:
    serve(None)


if __name__ == "__main__":
    main()
