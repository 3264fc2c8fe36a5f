"""Instances through the master: create, attach, terminate, and the executor pools that run
stateless calls. What one runtime context made lives in its `Registry` (finalize ends it)."""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import deque

import cloudpickle

from . import _interrupt
from . import _protocol as P
from . import _serialization
from ._agent_client import CreateAnswer
from ._calls import Target, _Call, _has_pending_deps, instance_fate, serialize
from ._invoke_checks import graceful_shutdown_time
from .config import InvokeOptions
from .exceptions import (InstanceDiedError, InstanceNotFoundError, RuntimeUnavailableError, SerializationError, YRError,
                         YRTypeError, YRValueError)
from .object_ref import ObjectRef, _Slot, new_id


_env_cache: dict = {}
_modules: dict = {}   # modules of the classes and functions shipped by reference (ordered set)
_registry_lock = threading.Lock()


class Registry:
    """The instances one runtime context created and its executor pools. One per context
    (`registry(rt)` makes it on first use, as `rt.instances`); the context's close() calls
    `close`, which ends the instances created here (detached ones stay)."""

    def __init__(self, rt):
        self.rt = rt
        self.created: dict[str, Target] = {}   # instances this process created, until terminated
        self.pools: dict[tuple, ExecutorPool] = {}   # by options: see `pool`
        self.pending: list = []                # gRPC futures of asynchronous terminates
        self.recycler: threading.Thread | None = None   # ends idle executors, once a pool exists

    def close(self, terminate: bool) -> list:
        """Marks every created, non-detached instance terminated and (if `terminate`) asks the
        master to stop it; returns the futures to wait for, the pending terminates included."""
        futs = list(self.pending)
        for t in list(self.created.values()):
            if not t.terminated and not t.detached:
                t.mark_terminated()
                if terminate:
                    futs.append(self.rt.master.terminate(t.instance_id))
        return futs


def registry(rt) -> Registry:
    """The Registry of runtime context `rt` (made on first use)."""
    reg = rt.instances
    if reg is None:
        with _registry_lock:
            if rt.instances is None:
                rt.instances = Registry(rt)
            reg = rt.instances
    return reg


def driver_env(opts: InvokeOptions, custom_envs: dict | None = None, recycle_time: float = 2.0) -> str:
    """The import path, working directory, env vars and executor recycle time a worker takes
    from its driver (JSON): Config.custom_envs, then the options' env_vars (which win).
    Cached: it is asked for at every creation and rarely changes."""
    env_vars = {**(custom_envs or {}), **opts.runtime_env.get("env_vars", {}), **opts.env_vars}
    if opts.trace_id:
        env_vars["YR_TRACE_ID"] = opts.trace_id
    grace, idle = graceful_shutdown_time(opts), opts.idle_timeout if (opts.idle_timeout or 0) > 0 else None
    key = (tuple(sys.path), os.getcwd(), tuple(sorted(env_vars.items())), recycle_time, grace, idle, tuple(_modules))
    env = _env_cache.get(key)
    if env is None:
        paths = [p for p in sys.path if p and os.path.isdir(p)]
        env = {"sys_path": paths, "cwd": key[1], "env_vars": env_vars, "recycle_time": recycle_time,
               "preload": list(_modules)}   # imported ahead by warm workers (node/warm.py)
        if grace is not None:
            env["graceful_shutdown_time"] = grace   # read by the agent when it stops the worker
        if idle is not None:
            env["idle_timeout"] = idle              # read by the worker: it ends its instance when idle
        env = json.dumps(env)
        _env_cache.clear()
        _env_cache[key] = env
    return env


def remember_module(obj) -> None:
    """Notes the module of a class or function that pickles by reference (its workers import
    it): it travels in the driver environment as "preload", which warm workers import ahead
    (docs/architecture.md "Creation"). Classes from __main__ travel by value: nothing to do."""
    name = getattr(obj, "__module__", None) or ""
    if name in _modules or name == "__main__" or not getattr(sys.modules.get(name), "__file__", None):
        return
    if any(name == r or name.startswith(r + ".") for r in cloudpickle.list_registry_pickle_by_value()):
        return   # registered to travel by value
    _modules[name] = None


def make_spec(rt, class_name: str, code: bytes, opts: InvokeOptions, *, language: str = "python",
              executable: str = "", hidden: bool = False, concurrency: int | None = None):
    from yr_runtime.proto import control_pb2 as pb  # protobuf and gRPC load only where instances are made
    return pb.InstanceSpec(
        instance_id=f"{class_name.split('.')[-1][:24]}-{new_id()}".replace(" ", "_"),
        job_id=rt.job_id, language=language, class_name=class_name, code=code,
        resources=pb.Resources(cpu_millis=int(opts.cpu), memory_mib=int(opts.memory),
                               custom={k: float(v) for k, v in opts.custom_resources.items()}),
        concurrency=concurrency or opts.effective_concurrency(),
        name=opts.name, namespace=opts.namespace or (rt.namespace if opts.name else ""),
        recover_retry_times=opts.recover_retry_times, detached=opts.detached,
        schedule_timeout_ms=int(opts.schedule_timeout_ms), executable=executable,
        driver_env=driver_env(opts, rt.config and rt.config.custom_envs, rt.recycle_time), hidden=hidden,
        **placement_fields(rt, opts, pb), **group_fields(opts))


def placement_fields(rt, opts: InvokeOptions, pb) -> dict:
    """The spec's placement fields: labels, affinity rules (by their enum names) and this
    process's node, which the master tries first (unknown until the session names it)."""
    fields = {"requester_node_id": getattr(rt.info, "node_id", "") or ""}
    if opts.labels or opts.schedule_affinities:
        fields.update(labels=opts.labels, preferred_by_count=not opts.preferred_priority,
                      required_priority=opts.required_priority,
                      preferred_anti_other_labels=opts.preferred_anti_other_labels,
                      affinities=[pb.Affinity(kind=a.affinity_kind.name, type=a.affinity_type.name, operators=[
                          pb.LabelOperator(op=o.operator_type.name, key=o.key, values=o.values)
                          for o in a.label_operators]) for a in opts.schedule_affinities])
    return fields


def group_fields(opts: InvokeOptions) -> dict:
    """The spec's resource group fields (docs/groups.md); none without a group."""
    rgo = opts.resource_group_options
    if rgo is None or not rgo.resource_group_name:
        return {}
    return {"resource_group": rgo.resource_group_name, "bundle_index": rgo.bundle_index}


def constructor_code(cls_code: bytes | None, args, kwargs, class_name: str, spec: dict | None = None) -> bytes:
    body = {"args": list(args), "kwargs": dict(kwargs)}
    if cls_code is not None:
        body["cls"] = cls_code
    if spec is not None:
        body["spec"] = spec
    try:
        return _serialization.dumps(body)
    except SerializationError:
        for i, a in enumerate(args):
            try:
                _serialization.discard(_serialization.dumps(a))   # frees the file of one that succeeds
            except SerializationError as e:
                raise SerializationError(f"argument {i} of {class_name}() ({type(a).__name__}) cannot be "
                                         f"serialized: {e.__cause__ or e}") from None
        raise


def create(rt, spec, on_answer=None) -> Target:
    """Asks the master for an instance; returns its Target at once (named: after the answer).
    `on_answer(target, error or None)` runs once the master answered (unnamed instances)."""
    timeout = None if spec.schedule_timeout_ms < 0 else spec.schedule_timeout_ms / 1000 + 60
    if spec.name:
        reply = _reply(_ask(rt, spec, timeout), f"create instance {spec.name!r}", timeout)
        target = rt.target(reply.instance.instance_id, reply.instance.class_name)
        target.detached = reply.instance.detached
        if not reply.existed:
            registry(rt).created[target.instance_id] = target
        if target.channel is None:
            target.connect(reply.instance.endpoint, reply.instance.epoch)
        return target
    target = rt.target(spec.instance_id, spec.class_name)
    target.detached = spec.detached
    registry(rt).created[target.instance_id] = target

    def done(f):
        try:
            info = _reply(f, f"create {spec.class_name}").instance
        except YRError as e:
            target.fail(e)
            if on_answer is not None:
                on_answer(target, e)
            return
        target.connect(info.endpoint, info.epoch)
        if on_answer is not None:
            on_answer(target, None)
    _ask(rt, spec, timeout, done)
    return target


def _ask(rt, spec, timeout: float | None, done=None):
    """Sends a create: to the agent of this node when the master runs in the same daemon (no
    gRPC hop: docs/architecture.md "Creation"), else to the master over gRPC. `done(answer)`
    runs once answered, on another thread (never within this call: callers hold locks)."""
    if not rt.info.joined:
        try:
            return rt.agent.create(spec.SerializeToString(), done)
        except RuntimeUnavailableError:
            pass   # this connection's daemon is gone (a master restarted with --etcd): gRPC reconnects
    fut = rt.master.create_instance_async(spec, timeout)
    if done is not None:
        fut.add_done_callback(done)
    return fut


def _reply(fut, what: str, timeout: float | None = None):
    """The CreateInstanceReply of a create sent by `_ask`, or its yr error."""
    if isinstance(fut, CreateAnswer):
        return fut.result(what, timeout)
    from ._control import MasterClient
    return MasterClient.result_of(fut, what)


def attach(rt, instance_id: str, class_name: str, endpoint: str = "", epoch: int = 0) -> Target:
    """The Target for an instance this process did not create (a handle that arrived; `epoch`
    its placement when known, see Target)."""
    target = rt.target(instance_id, class_name)
    if target.channel is not None or target.attaching:
        return target
    target.attaching = True
    if endpoint:
        target.connect(endpoint, epoch)
        return target

    def lookup():
        try:
            info = rt.master.get_instance(instance_id=instance_id, timeout=60)
        except YRError as e:
            target.fail(e)
            return
        target.connect(info.endpoint, info.epoch)
    threading.Thread(target=lookup, name="yr-attach", daemon=True).start()
    return target


def terminate(rt, target: Target, wait: bool = False) -> None:
    """Stops an instance: its calls not yet answered fail, later calls raise at once. Returns
    at once unless `wait`; finalize waits for the asynchronous ones. Idempotent."""
    if target.terminated:
        return
    target.mark_terminated()
    reg = registry(rt)
    reg.created.pop(target.instance_id, None)
    fut = rt.master.terminate(target.instance_id, wait=wait)
    if not wait:
        reg.pending.append(fut)


def pool(rt, opts: InvokeOptions, language: str = "python", executable: str = "", spec=None) -> "ExecutorPool":
    """The executor pool of runtime context `rt` for these options (made on first use):
    stateless calls with equal resources, env vars and concurrency share executors."""
    key = (language, executable, opts.cpu, opts.memory, tuple(sorted(opts.custom_resources.items())),
           tuple(sorted(opts.env_vars.items())), opts.effective_concurrency(), opts.placement_key(),
           tuple(sorted(opts.runtime_env.get("env_vars", {}).items())), opts.trace_id,
           opts.min_instances, opts.max_instances)
    pools = registry(rt).pools
    found = pools.get(key)
    if found is None:
        found = pools[key] = ExecutorPool(rt, opts, language, executable, spec)
        if opts.min_instances > 0:
            with found._lock:
                found._grow()   # min_instances executors are made at once (one after the other)
    return found


def find_named(rt, name: str, namespace: str, timeout: float) -> Target:
    """The Target of the named instance, once it is running (see yr.get_instance): raises
    InstanceNotFoundError if there is none or it is dead, YRTimeoutError if it is not
    running within `timeout` seconds."""
    if not isinstance(name, str) or not isinstance(namespace, str):
        raise YRTypeError(f"get_instance: name and namespace must be str, got {type(name).__name__} "
                          f"and {type(namespace).__name__}")
    if not name:
        raise YRValueError("get_instance: name must be a non-empty string")
    full = f"{namespace}-{name}" if namespace else name
    try:   # the prefix is openYuanrong's, which programs match on
        info = rt.master.get_instance(name=name, namespace=namespace, timeout=float(timeout))
    except YRError as e:
        raise type(e)(f"failed to get instance: {full} by name, {e}", code=e.code) from None
    if info.state == "DEAD":
        raise InstanceNotFoundError(f"failed to get instance: {full} by name, it is dead: {info.exit_reason}")
    return attach(rt, info.instance_id, info.class_name, info.endpoint, info.epoch)


PIPELINE_DEPTH = 64    # calls queued on a busy executor beyond its concurrency (see ExecutorPool)
PIPELINE_AFTER = 0.02  # seconds a create may take before the pool takes capacity to be short
CREATE_COST = 0.005    # seconds a new executor costs before it answers (fork, connect, first call)
_CORES = os.cpu_count() or 1


class _Executor:
    __slots__ = ("target", "inflight", "idle_since", "last_done")

    def __init__(self, target: Target):
        self.target, self.inflight, self.idle_since = target, 0, time.monotonic()
        self.last_done = 0.0


class ExecutorPool:
    """Hidden instances ("executors") that run the stateless calls of one set of options.

    Rules it keeps:
    - A call is dispatched only once every ref in its arguments is ready (top-level and
      nested); until then it holds no executor, so a call never waits on an executor for
      calls queued behind it.
    - A ready call goes to an executor running fewer calls than its concurrency. If there is
      none but the calls of this pool are quick (their measured service time is under
      CREATE_COST, what one more executor costs before it answers), it is queued on the
      least busy executor, at most PIPELINE_DEPTH deep (service times are kept per function: the pool
      serves every function with the same options), and the pool grows only up to the
      machine's cores: a new executor would answer later than the ones at hand, and more
      executors than cores cannot run quick calls faster. Otherwise (slow calls, or before
      any call has finished, when nothing is known) the pool asks for one more executor (one request at a time; the
      scheduler decides whether and when capacity exists), and the call waits for it.
    - Only when no capacity can be made (the create has not been answered for
      PIPELINE_AFTER: the master is holding it until capacity frees) are the calls beyond
      what the executor being created will take queued on busy executors, at most
      PIPELINE_DEPTH each: a burst keeps every executor busy without a round trip per call.
      A pipelining executor is topped up once half its queue has drained, so calls and
      results travel in batches, not one system call each.
    - When an executor dies, the calls it was running (the first `concurrency` in flight:
      an executor runs its calls in arrival order) fail with the exit reason, or run again
      elsewhere while they have retries left (InvokeOptions.retry_times); the calls queued
      behind them never started and run elsewhere.
    - An executor idle for the runtime's recycle_time is terminated (its capacity returns).
    """

    def __init__(self, rt, opts: InvokeOptions, language: str = "python", executable: str = "",
                 spec: dict | None = None):
        self.rt, self.opts = rt, opts
        self.language, self.executable, self.spec = language, executable, spec
        self.concurrency = opts.effective_concurrency()
        self.executors: list[_Executor] = []
        self.creating = 0
        self.create_sent = 0.0   # when the outstanding create was sent
        self.waiting: deque[_Call] = deque()
        self.call_time: dict[str, float] = {}   # function -> moving average of its service time (s)
        self.deferred: set = set()        # calls waiting for refs in their arguments
        self.cancelled_on: set = set()    # executors stopped by yr.cancel (their other calls run again)
        self._lock = threading.RLock()
        _Recycler.watch(rt, self)

    # ---- calls -------------------------------------------------------------------------------
    def submit(self, key: str, code: bytes, args, kwargs, retries: int = 0, kind: bytes = P.FUNC,
               make_call=_Call) -> ObjectRef:
        call = make_call(kind, key, args, kwargs, _Slot(), code, retries)
        ref = ObjectRef(new_id(), call.slot)
        serialize_now = not _has_pending_deps(args, kwargs)
        if serialize_now:
            serialize(call, eager=True)
        if call.ready():
            if call.body is not None:
                self._dispatch(call, deferred=True)
        else:
            with self._lock:
                self.deferred.add(call)   # so that yr.cancel finds it
            call.watch(lambda _s, c=call: self._dep_done(c))
        return ref

    def _dep_done(self, call: _Call) -> None:
        with self._lock:   # several deps may finish at once, on different threads
            ready = call.ready() and not call.dispatched
            call.dispatched = call.dispatched or ready
            if ready:
                self.deferred.discard(call)
        if ready:
            if call.body is not None and not call.slot.done:
                self._dispatch(call)
        elif not call.slot.done:
            call.watch(lambda _s, c=call: self._dep_done(c))

    def _dispatch(self, call: _Call, deferred: bool = False, front: bool = False) -> None:
        with self._lock:
            self.waiting.appendleft(call) if front else self.waiting.append(call)
            sends = self._assign()
        self._send(sends, deferred)

    def _assign(self) -> list:
        """Pairs waiting calls with executors (under the lock); the caller sends them."""
        sends = []
        while self.waiting:
            if self.waiting[0].slot.done:   # cancelled while it waited: it never runs
                self.waiting.popleft()
                continue
            ex = self._free_executor() or self._executor_when_full()
            if ex is None:
                break
            ex.inflight += 1
            sends.append((ex, self.waiting.popleft()))
        return sends

    def _send(self, sends: list, deferred: bool = False) -> None:
        last = {id(ex): i for i, (ex, _) in enumerate(sends)}
        now = time.monotonic()
        for i, (ex, call) in enumerate(sends):
            # the calls for one executor leave in one write, with its last one
            if not ex.target.enqueue(call, deferred or last[id(ex)] != i):
                # The executor died (or was recycled) between assignment and sending: the
                # call never reached it, so it goes to another one, retries untouched.
                with self._lock:
                    ex.inflight -= 1
                    self.executors = [e for e in self.executors if e is not ex]
                self._dispatch(call, front=True)
                continue
            call.slot.add_callback(lambda _s, e=ex, t=now, k=call.name: self._done(e, t, k))

    def _done(self, ex: _Executor, sent: float, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            # Service time: since the call was sent, or since the executor's previous call
            # ended if it was queued behind that one.
            took = now - max(sent, ex.last_done)
            ex.last_done = now
            avg = self.call_time.get(key)
            self.call_time[key] = took if avg is None else 0.8 * avg + 0.2 * took
            ex.inflight -= 1
            if ex.inflight == 0:
                ex.idle_since = time.monotonic()
            refill = self.waiting and ex.inflight < self.concurrency + PIPELINE_DEPTH // 2
            sends = self._assign() if refill else ()
        self._send(sends)

    def _free_executor(self) -> _Executor | None:
        for ex in self.executors:
            if ex.inflight < self.concurrency:
                return ex
        return None

    def _executor_when_full(self) -> _Executor | None:
        """No executor has a free slot: queue the next call on a busy one, or ask for one
        more executor and let the call wait for it (None)."""
        avg = self.call_time.get(self.waiting[0].name)
        if avg is not None and avg < CREATE_COST:
            # Quick calls: a new executor would answer later than the ones at hand, and more
            # executors than cores cannot run them faster.
            if len(self.executors) + self.creating < _CORES:
                self._grow()
            return self._busy_executor()   # None while every queue is full: _done tops them up
        self._grow()
        if (len(self.waiting) <= self.creating * self.concurrency
                or time.monotonic() - self.create_sent < PIPELINE_AFTER):
            return None   # the executor being created will take these, or capacity may still come
        return self._busy_executor()

    def _busy_executor(self) -> _Executor | None:
        if not self.executors:
            return None
        ex = min(self.executors, key=lambda e: e.inflight)
        return ex if ex.inflight < self.concurrency + PIPELINE_DEPTH else None

    # ---- executors --------------------------------------------------------------------------
    def _grow(self) -> None:
        if self.creating or 0 < self.opts.max_instances <= len(self.executors):
            return
        self.creating += 1
        self.create_sent = time.monotonic()
        code = _serialization.dumps({"executor": True, "spec": self.spec, "args": [], "kwargs": {}})
        label = "stateless" if self.language == "python" else f"stateless-{self.language}"
        opts = InvokeOptions(cpu=self.opts.cpu, memory=self.opts.memory,
                             custom_resources=dict(self.opts.custom_resources),
                             env_vars=dict(self.opts.env_vars), schedule_timeout_ms=self.opts.schedule_timeout_ms,
                             runtime_env=dict(self.opts.runtime_env), trace_id=self.opts.trace_id,
                             **self.opts.placement_options())
        spec = make_spec(self.rt, label, code, opts, language=self.language,
                         executable=self.executable, hidden=True, concurrency=self.concurrency)
        try:
            create(self.rt, spec, self._created)
        except BaseException:
            self.creating -= 1
            raise

    def _created(self, target: Target, error: BaseException | None) -> None:
        with self._lock:
            self.creating -= 1
            if error is not None:
                if not self.executors:   # nothing will ever run the waiting calls
                    failed, self.waiting = list(self.waiting), deque()
                    for call in failed:
                        call.slot.set_error(error)
                return
            target.on_lost = self._lost
            self.executors.append(_Executor(target))
            sends = self._assign()
            if len(self.executors) < self.opts.min_instances:
                self._grow()   # min_instances: made one after the other, as any growth
        self._send(sends)

    def _lost(self, target: Target, ch, calls: list) -> None:
        """An executor's worker went away (the master says why, in a thread)."""
        with self._lock:
            self.executors = [e for e in self.executors if e.target is not target]
        target.fail(InstanceDiedError(f"{target.label} is gone"))
        threading.Thread(target=self._reroute, args=(target, ch, calls), name="yr-reroute", daemon=True).start()

    def _reroute(self, target: Target, ch, calls: list) -> None:
        _, reason = instance_fate(self.rt, target.instance_id, ch.endpoint)
        registry(self.rt).created.pop(target.instance_id, None)
        err = InstanceDiedError(f"{target.label} died while running {{}}: {reason}")
        stopped_by_cancel = target.instance_id in self.cancelled_on
        self.cancelled_on.discard(target.instance_id)
        for i, call in enumerate(calls):
            # An executor stopped by yr.cancel: its other calls run again, retries untouched.
            ran = i < self.concurrency and call.slot.conn is ch.conn and not stopped_by_cancel
            if ran and call.retries <= 0:
                call.slot.set_error(InstanceDiedError(str(err).format(call.name.split(":")[0])))
                continue
            call.retries -= ran
            call.slot.conn = None
            self._dispatch(call, front=True)

    def cancel(self, slot: _Slot, error: BaseException, force: bool = True, recursive: bool = False) -> bool:
        """yr.cancel of one call of this pool (False: not one of ours). A call not sent yet
        never runs. A sent one is interrupted if its executor is a worker of this machine
        (yr._interrupt), and its executor restarted if it has not stopped within
        _interrupt.GRACE (only with `force`); an executor elsewhere is restarted at once (a
        new one serves later calls; the executor's other calls run again elsewhere).
        `recursive`: the interrupted worker cancels the stateless calls it made too."""
        with self._lock:
            call = next((c for c in (*self.waiting, *self.deferred) if c.slot is slot), None)
            if call is not None:
                self.deferred.discard(call)
                slot.set_error(error)   # _assign drops it from `waiting`
                return True
            ex = next((e for e in self.executors if e.target.channel is not None
                       and slot.conn is e.target.channel.conn), None)
            if ex is None:
                queued = any(c.slot is slot for e in self.executors for c in e.target._queue)
                if queued:
                    slot.set_error(error)   # Target._flush skips it
                return queued
            stop = self._interrupt(ex, slot, force, error, recursive)
            if stop is None:
                self.executors.remove(ex)
                self.cancelled_on.add(ex.target.instance_id)
        if stop is None:
            slot.set_error(error)
            registry(self.rt).pending.append(self.rt.master.terminate(ex.target.instance_id))
        else:
            stop()
        return True

    def _interrupt(self, ex: _Executor, slot: _Slot, force: bool, error: BaseException, recursive: bool):
        """Readies the interruption of the sent call of `slot` on `ex` (under the lock): its
        answer will fill a stand-in slot, and `slot` gets `error` then, so that yr.get raises
        once the call has stopped (and `ex` is free). Returns what sends the request (and
        restarts `ex` after the grace if the call goes on); None if `ex` cannot be signalled
        (a worker on another node): restart it now."""
        ch = ex.target.channel
        # C++ and Java calls do not run Python code to raise in (and a py4j link cut mid-call
        # would be left out of step): their executors are restarted
        where = _interrupt.local_worker(getattr(ch.conn, "_sock", None)) if self.language == "python" else None
        call_id = next((cid for cid, c in list(ch._pending.items()) if c.slot is slot), None)
        if call_id is None:
            return lambda: None   # answered already
        if where is None:   # without force a remote call runs on, its answer unheard
            return None if force else (lambda: slot.set_error(error))
        call, stand_in = ch._pending[call_id], _Slot()
        stand_in.conn = slot.conn
        stand_in.add_callback(lambda _s: slot.set_error(error))
        call.slot = stand_in   # the reader takes the slot after popping the call: see below
        if ch._pending.get(call_id) is not call:
            return lambda: None   # answered just now (into one slot or the other)

        def stop():
            marker = _interrupt.request(*where, call_id, recursive)
            threading.Timer(_interrupt.GRACE, self._restart_if_running,
                            (ex, ch, call_id, call, marker, force, slot, error)).start()
        return stop

    def _restart_if_running(self, ex: _Executor, ch, call_id: int, call: _Call, marker, force: bool,
                            slot: _Slot, error: BaseException) -> None:
        """The grace of an interrupted call is over (on a timer thread): if it has not
        answered, its slot gets `error` now, and with `force` its executor is restarted (its
        other calls run again elsewhere); without, the call runs on, its answer unheard."""
        _interrupt.forget(marker)
        if call.slot.done:
            return
        if not force or ch._pending.pop(call_id, None) is None:
            slot.set_error(error)
            return
        with self._lock:   # out of the pool before the slot frees it: no new call goes to it
            present = ex in self.executors
            if present:
                self.executors.remove(ex)
                self.cancelled_on.add(ex.target.instance_id)
        slot.set_error(error)
        if present:
            try:
                registry(self.rt).pending.append(self.rt.master.terminate(ex.target.instance_id))
            except YRError:   # the runtime is closing: it ends the executor itself
                pass

    def recycle(self, now: float, idle_for: float) -> None:
        """Terminates executors idle for `idle_for` seconds (keeping none: their capacity
        returns to the node, and a new call makes a new one)."""
        with self._lock:
            idle = [e for e in self.executors if e.inflight == 0 and now - e.idle_since >= idle_for]
            idle = idle[:max(0, len(self.executors) - self.opts.min_instances)]   # min_instances stay
            self.executors = [e for e in self.executors if e not in idle]
        for ex in idle:
            t = ex.target
            t.mark_terminated()
            registry(self.rt).created.pop(t.instance_id, None)
            try:   # waits (on the recycler's thread): an abandoned gRPC future may be cancelled
                self.rt.master.terminate(t.instance_id, wait=True)
            except Exception:  # noqa: BLE001  runtime unreachable or context closed: the job's end stops it
                pass


class _Recycler:
    """One thread per runtime context that recycles idle executors of all its pools."""

    @classmethod
    def watch(cls, rt, pool: ExecutorPool) -> None:
        reg = registry(rt)
        if reg.recycler is None:
            reg.recycler = threading.Thread(target=cls._run, args=(rt, reg), name="yr-recycle", daemon=True)
            reg.recycler.start()

    @staticmethod
    def _run(rt, reg: Registry) -> None:
        idle_for = rt.recycle_time
        while not rt.closed:
            time.sleep(min(idle_for / 2, 1.0))
            now = time.monotonic()
            for pool in list(reg.pools.values()):
                pool.recycle(now, idle_for)
