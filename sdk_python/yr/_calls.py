"""The caller side of the data plane: channels to workers and per-instance call queues.

Rules kept here:
- One `Channel` per (this process, worker endpoint); calls are multiplexed by call id.
- A `Target` (one per instance known to this process) sends calls in submission order. A
  call waits in the target's queue while the instance has no endpoint yet or while one of
  the refs in its arguments is not ready (top-level or nested at any depth in containers,
  keyword arguments too); later calls queue behind it.
- Top-level ObjectRef arguments (positional and keyword) are replaced by their values
  before sending; nested refs travel as refs. A failed dependency, top-level or nested,
  fails the call with the dependency's error without sending it.
- When a worker's connection drops, the master says why: if the instance is being
  restarted (recover_retry_times), the calls in flight are sent again to the new worker,
  ahead of later calls (at least once); otherwise every one fails with the exit reason.
- A connection refused at its preamble (the worker is of another placement than the epoch
  this process knows: yr_runtime.wire.preamble) ran none of its calls: the instance is looked
  up again and they are sent to the placement the master names, or fail with the refusal
  if the master names the very placement that refused (`stale_placement`).
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import deque

from . import _protocol as P
from . import _serialization
from ._transport import Connection
from .exceptions import (InstanceDiedError, InstanceTerminatedError, RuntimeUnavailableError, SerializationError,
                         YRError)
from .object_ref import ObjectRef, _Slot, _nested, new_id

_HEADER_UNPACK, _HEADER_SIZE = P.HEADER.unpack_from, P.HEADER.size


class Channel:
    def __init__(self, endpoint: str, token: bytes, label: str, on_lost, via: str = "", epoch: int = 0):
        """`via`: the address actually dialed, when it differs from the worker's reported
        endpoint (a worker of this node is reached on its Unix socket, not the data port).
        `epoch`: the instance's placement as this process knows it, sent in a data-port
        preamble; a worker of another placement refuses the connection (`refused`)."""
        self.label, self.endpoint = label, endpoint
        # A worker on another node (reached over TCP) cannot map this machine's shared memory:
        # bodies with large buffers travel inline to it.
        self.remote = not via and endpoint.startswith("tcp:")
        self._on_lost = on_lost  # (channel, calls in flight) -> None, when the worker goes away
        self._pending: dict[int, "_Call"] = {}
        self._ids = itertools.count(1)
        self.sent_functions: set[str] = set()
        self.dead: BaseException | None = None
        self.terminated = False
        self.epoch = epoch
        self.refused = ""   # the reason, when the worker refused this connection's preamble
        self.conn = Connection(via or endpoint, token, self._on_frames, self._on_close, label, epoch=epoch)

    def send(self, call: "_Call", prelude: bytes | None = None, deferred: bool = False) -> None:
        if self.dead is not None:
            call.slot.set_error(self.dead)
            return
        if self.remote and call.body[:1] == b"\x01":   # bodies.MAPPED
            try:
                call.body = _serialization.to_inline(call.body, f"the arguments of {call.name}")
            except SerializationError as e:
                call.slot.set_error(e)
                return
        call_id = next(self._ids)
        self._pending[call_id] = call
        call.slot.conn = self.conn
        frame = P.call_frame(call.kind, call_id, call.body)
        try:
            self.conn.send_encoded(frame if prelude is None else prelude + frame, deferred)
        except OSError:
            pass  # the reader thread sees the same failure and fails every pending call

    def _on_frames(self, bodies) -> None:
        pending = self._pending
        unpack = _HEADER_UNPACK
        for body in bodies:
            kind, call_id = unpack(body)   # P.split, inlined: this runs for every result
            payload = body[_HEADER_SIZE:]
            call = pending.pop(call_id, None)
            if call is None:
                if kind == P.REFUSED:   # once, before the close: no call of this connection ran
                    self.refused = bytes(payload).decode(errors="replace")
                continue
            slot = call.slot
            if kind == P.OK:
                slot.set_body(payload)
            elif kind == P.ITEM:   # one item of a streaming call: the call goes on
                pending[call_id] = call
                call.item(payload)
            else:
                try:
                    err = _serialization.loads(payload)
                except Exception as e:  # an error we cannot even decode still ends the call
                    err = YRError(f"{self.label}: undecodable error from worker: {e}")
                slot.set_error(err)

    def _on_close(self, reason: str, by_us: bool) -> None:
        self.dead = InstanceDiedError(f"{self.label}: its worker connection closed"
                                      + (f" ({self.refused})" if self.refused else ""))
        pending, self._pending = self._pending, {}
        calls = [pending[k] for k in sorted(pending)]
        if self.terminated or by_us:
            err = (InstanceTerminatedError(f"{self.label} was terminated; the call did not complete")
                   if self.terminated else InstanceDiedError(f"{self.label}: connection closed by this process"))
            for c in calls:
                c.slot.set_error(err)
            return
        self._on_lost(self, calls)


class _Call:
    __slots__ = ("kind", "name", "args", "kwargs", "slot", "body", "code", "nested", "retries", "dispatched")

    def __init__(self, kind, name, args, kwargs, slot, code, retries: int = 0):
        self.kind, self.name, self.args, self.kwargs, self.slot = kind, name, args, kwargs, slot
        self.body, self.code = None, code
        self.nested = None      # slots of the refs nested in the arguments, once serialized
        self.retries = retries  # stateless calls: runs left if its worker dies under it
        self.dispatched = False  # stateless calls: handed to the pool once its deps were ready

    def ready(self) -> bool:
        """Whether every ref in the arguments is ready: serializes the call once its
        top-level refs are (a failure fails the call's slot: then it is ready, and has no body)."""
        if self.body is None:
            if self.slot.done:
                return True
            if _has_pending_deps(self.args, self.kwargs):
                return False
            serialize(self, eager=False)
            if self.body is None:
                return True
        nested = self.nested
        while nested:
            dep = nested[-1]
            if not dep.done:
                return False
            if dep.error is not None:
                self.body = None
                self.slot.set_error(dep.error)
                return True
            nested.pop()
        return True

    def watch(self, on_ready) -> None:
        """Calls on_ready(slot) once the first unready ref of this call is ready (then the
        caller asks `ready()` again and watches the next). Remote refs all start fetching."""
        if self.body is None:
            deps = [a._slot for a in _top_refs(self.args, self.kwargs)]
        else:
            deps = list(reversed(self.nested or ()))
        first = None
        for dep in deps:
            if not dep.done:
                if dep.fetch is not None:
                    dep.fetch()
                first = first or dep
        if first is not None:
            first.add_callback(on_ready)


class Target:
    """Everything this process knows about one instance, and its ordered outbox.

    Its state, all declared here (only `_instances` and this module set it):
    - `endpoint`: the address of the instance's worker once known ("" before); a pickled
      handle carries it, so that the receiver connects without asking the master.
    - `epoch`: the placement of that worker as the master said (InstanceInfo.epoch), sent in
      the data-port preamble (a pickled handle carries it with the endpoint); 0 when
      unknown: not checked.
    - `detached`: created with lifetime="detached": this process's finalize leaves it running.
    - `attaching`: a connect (or a lookup of the endpoint) has started: `attach` starts one only.
    - `channel`: the connection to its worker while connected; `error`: set once it can take
      no calls; `terminated`: terminated by this process.
    - `on_lost`: executors only: on_lost(target, channel, calls) replaces recovery (ExecutorPool).
    - `recover_timeout`: seconds to wait for the instance to come back after its worker died
      (custom_extensions RECOVER_RETRY_TIMEOUT, set by the process that created it).
    """

    def __init__(self, rt, instance_id: str, class_name: str):
        self.rt = rt
        self.instance_id = instance_id
        self.class_name = class_name
        self.endpoint = ""
        self.epoch = 0
        self.detached = False
        self.attaching = False
        self.channel: Channel | None = None
        self.error: BaseException | None = None
        self.terminated = False
        self._queue: deque[_Call] = deque()
        self._lock = threading.RLock()
        self.on_lost = None
        self.recover_timeout = 120.0

    @property
    def label(self) -> str:
        return f"instance {self.instance_id} ({self.class_name})"

    # ---- lifecycle --------------------------------------------------------------------------
    def connect(self, endpoint: str, epoch: int = 0) -> None:
        """Connects to the instance's worker at `endpoint` (of placement `epoch`, 0: unknown)
        and sends what is queued."""
        self.endpoint, self.epoch = endpoint, epoch
        try:
            ch = self.rt.channel(endpoint, self)
        except YRError as e:
            self.fail(e)
            return
        except ValueError as e:   # a malformed endpoint: its calls fail (they must not wait forever)
            self.fail(RuntimeUnavailableError(f"{self.label} cannot be reached: the runtime named its address "
                                              f"{endpoint!r}, which is not one ({e})"))
            return
        with self._lock:
            self.channel = ch
            self._flush()

    def channel_lost(self, ch: Channel, in_flight: list) -> None:
        """The worker went away: find out from the master whether it is coming back."""
        if self.on_lost is not None:
            with self._lock:
                self.channel, queued, self._queue = None, list(self._queue), deque()
            self.on_lost(self, ch, in_flight + queued)
            return
        threading.Thread(target=self._recover, args=(ch, in_flight), name="yr-recover", daemon=True).start()

    def _recover(self, ch: Channel, in_flight: list) -> None:
        if ch.refused:
            self._resolve_again(ch, in_flight)
            return
        restarting, reason = instance_fate(self.rt, self.instance_id, ch.endpoint)
        with self._lock:
            if self.channel is ch:
                self.channel = None
            if self.terminated or not restarting:
                if self.terminated:
                    err = InstanceTerminatedError(f"{self.label} was terminated; the call did not complete")
                elif restarting is None:
                    err = RuntimeUnavailableError(f"{self.label} is unreachable and the yr runtime is unavailable "
                                                  f"({reason}); is it running? (`yr status`)")
                else:
                    err = InstanceDiedError(f"{self.label} died: {reason}")
                for c in in_flight:
                    c.slot.set_error(err if restarting is None or self.terminated else self._died(c, reason))
                self.fail(err)
                return
            self._queue.extendleft(reversed(in_flight))   # at least once: they run again first
        try:
            info = self.rt.master.get_instance(instance_id=self.instance_id, timeout=self.recover_timeout)
        except YRError as e:
            self.fail(InstanceDiedError(f"{self.label} died ({reason}) and did not come back: {e}"))
            return
        self.connect(info.endpoint, info.epoch)

    def _resolve_again(self, ch: Channel, in_flight: list) -> None:
        """The worker refused the connection's preamble (another placement): none of its calls
        ran. They go, first, to the placement the master names now (waiting for it up to
        `recover_timeout`), or fail with the refusal if it names the one that refused."""
        with self._lock:
            if self.channel is ch:
                self.channel = None
            self._queue.extendleft(reversed(in_flight))
            if self.terminated:
                self.fail(InstanceTerminatedError(f"{self.label} was terminated; the call did not complete"))
                return
        try:
            info = self.rt.master.get_instance(instance_id=self.instance_id, timeout=self.recover_timeout)
        except YRError as e:
            self.fail(InstanceDiedError(f"{self.label}: {ch.refused}; looking it up again failed: {e}"))
            return
        why = stale_placement(ch.endpoint, ch.epoch, info.state, info.endpoint, info.epoch, info.exit_reason)
        if why:
            self.fail(InstanceDiedError(f"{self.label}: {ch.refused}; {why}"))
            return
        self.connect(info.endpoint, info.epoch)

    def _died(self, call: _Call, reason: str) -> InstanceDiedError:
        """The error of a call that ran when its worker died. It names what was called: the
        id of the hidden executor that ran a stateless function means nothing to its caller."""
        if call.kind == P.FUNC:
            return InstanceDiedError(f"stateless function {call.name.split(':')[0]} died: {reason}")
        return InstanceDiedError(f"{self.class_name}.{call.name} failed: {self.label} died: {reason}")

    def fail(self, err: BaseException) -> None:
        with self._lock:
            self.error = err
            queued, self._queue = self._queue, deque()
        for c in queued:
            c.slot.set_error(err)

    def mark_terminated(self) -> None:
        with self._lock:
            self.terminated = True
            if self.channel is not None:
                self.channel.terminated = True
        self.fail(InstanceTerminatedError(f"{self.label} was terminated before the call was sent"))

    # ---- calls -----------------------------------------------------------------------------
    def submit(self, kind: bytes, name: str, args, kwargs, code: bytes | None = None, make_call=_Call) -> ObjectRef:
        """Sends (or queues) one call; its result's ref. `make_call` builds the _Call
        (a streaming call brings its own, see `_results`)."""
        slot = _Slot()
        ref = ObjectRef(new_id(), slot)
        call = make_call(kind, name, args, kwargs, slot, code)
        with self._lock:
            if self.terminated:
                raise InstanceTerminatedError(f"{self.label} is terminated; calls on it fail (create a new instance)")
            if self.error is not None:
                slot.set_error(self.error)
                return ref
            if not kwargs:   # scalars and small bytes only (the common call): no refs to wait for or resolve
                call.body = _serialization.plain_call_body(name, args)
            if call.body is None and not _has_pending_deps(args, kwargs):
                serialize(call, eager=True, target=self)
            ch = self.channel   # _connected(), inlined: every invoke passes here
            if call.body is not None and not call.nested and not self._queue and ch is not None and ch.dead is None:
                self._send(call, deferred=True)   # written in a batch, at the latest when someone waits
                return ref
            self._queue.append(call)
            self._flush()
        return ref

    def enqueue(self, call: _Call, deferred: bool = False) -> bool:
        """Sends a call whose arguments are ready (or queues it until connected); False if
        this instance can take no calls."""
        with self._lock:
            if self.terminated or self.error is not None:
                return False
            if not self._queue and self._connected():
                self._send(call, deferred)
            else:
                self._queue.append(call)
                self._flush()
            return True

    def _connected(self) -> bool:
        # A channel that just died stays here until recovery decides; calls wait meanwhile.
        return self.channel is not None and self.channel.dead is None

    def _flush(self) -> None:
        while self._queue and self._connected():
            call = self._queue[0]
            if not call.ready():
                call.watch(self._dep_done)
                return
            self._queue.popleft()
            if call.body is not None and not call.slot.done:   # done: cancelled while queued
                self._send(call)
                call.slot.sent()   # a thread waiting for it reads its connection from now on

    def _send(self, call: _Call, deferred: bool = False) -> None:
        ch = self.channel
        prelude = None
        if call.code is not None and call.name not in ch.sent_functions:
            ch.sent_functions.add(call.name)
            prelude = P.call_frame(P.DEFINE, 0, call.name.encode() + b"\x00" + call.code)
        ch.send(call, prelude, deferred)

    def _dep_done(self, _slot) -> None:
        with self._lock:
            self._flush()


def serialize(call: _Call, eager: bool, target: "Target | None" = None) -> None:
    """Sets call.body (top-level refs replaced by their values) and call.nested (the refs
    nested deeper, which travel as refs); a failure raises (eager, at invoke) or fails the
    call's slot. The pickler finds the nested refs: no second walk over the arguments."""
    if not call.kwargs:
        body = _serialization.plain_call_body(call.name, call.args)
        if body is not None:   # scalars only: no refs, nothing nested, nothing to name
            call.body = body
            return
    found = _nested.slots = []
    try:
        args, kwargs = _resolve_ready(call.args, call.kwargs, call.slot)
        call.body = _serialization.dumps((call.name, args, kwargs))
        _serialization.check_size(call.body, f"the arguments of {call.name}")
        call.nested = found or None
        if found:   # the result keeps the nested refs' values: the store frees them with their last ref
            _keep_with(call.slot, found)
    except _DependencyFailed as e:
        call.slot.set_error(e.error)
    except SerializationError as e:
        call.body = None
        err = _name_bad_argument(target, call, e)
        if eager:
            raise err from None
        call.slot.set_error(err)
    finally:
        _nested.slots = None


class _DependencyFailed(Exception):
    def __init__(self, error):
        self.error = error


def _has_pending_deps(args, kwargs) -> bool:
    if ObjectRef not in map(type, args) and (not kwargs or ObjectRef not in map(type, kwargs.values())):
        return False   # the common case, checked at C speed
    return any(not r._slot.done for r in _top_refs(args, kwargs))


def _top_refs(args, kwargs) -> list:
    return [a for a in (*args, *kwargs.values()) if type(a) is ObjectRef]


def _resolve_ready(args, kwargs, result=None):
    if ObjectRef in map(type, args):
        args = [_value_of(a, result) if type(a) is ObjectRef else a for a in args]
    if kwargs and ObjectRef in map(type, kwargs.values()):
        kwargs = {k: _value_of(v, result) if type(v) is ObjectRef else v for k, v in kwargs.items()}
    return args, kwargs


def _keep_with(result: _Slot, slots) -> None:
    """`result` (a call's result slot) keeps `slots` alive as long as it lives."""
    try:
        result.lent.extend(slots)
    except AttributeError:
        result.lent = list(slots)


def _value_of(ref: ObjectRef, result=None):
    """A top-level ref's value for the arguments; a value in a shared-memory file is lent
    (sent as a reference to that file), and the call's `result` slot keeps the ref's slot,
    hence the file, as long as it lives: the worker maps it, and its result may point into it.
    A call to another node gets the value inline (`to_inline` loads the lent body)."""
    slot = ref._slot
    if slot.error is not None:
        raise _DependencyFailed(slot.error)
    if result is not None:
        body = slot.lend()
        if body is not None:
            _keep_with(result, (slot,))
            return _serialization.Lent(body)
    return slot.value()


def _name_bad_argument(target: "Target | None", call: _Call, err: SerializationError) -> SerializationError:
    what = f"{target.class_name}.{call.name}" if call.kind == P.CALL and target else call.name.split(":")[0]
    for i, a in enumerate(call.args):
        try:
            _serialization.discard(_serialization.dumps(a))   # frees the file of one that succeeds
        except SerializationError as e:
            return SerializationError(f"argument {i} of {what} ({type(a).__name__}) cannot be serialized: "
                                      f"{e.__cause__ or e}")
    for k, v in call.kwargs.items():
        try:
            _serialization.discard(_serialization.dumps(v))
        except SerializationError as e:
            return SerializationError(f"keyword argument {k!r} of {what} ({type(v).__name__}) cannot be "
                                      f"serialized: {e.__cause__ or e}")
    return SerializationError(f"the arguments of {what} cannot be serialized: {err}")


def stale_placement(refused_endpoint: str, refused_epoch: int, state: str, endpoint: str, epoch: int,
                    exit_reason: str = "") -> str:
    """After a worker refused a connection to (`refused_endpoint`, `refused_epoch`): "" when the
    master's view of the instance (`state`, `endpoint`, `epoch`) is another placement to send
    the calls to, else why they fail (it is dead, or the master names the placement that refused:
    that worker and the master disagree, and trying again would only be refused again)."""
    if state == "DEAD":
        return f"it is dead: {exit_reason or 'its worker exited'}"
    if not endpoint:
        return f"it has no worker (state {state})"
    if endpoint == refused_endpoint and epoch == refused_epoch:
        return f"the master still names that worker with epoch {epoch}: the worker and the master disagree"
    return ""


def instance_fate(rt, instance_id: str, old_endpoint: str, limit: float = 3.0,
                  verdict_limit: float = 120.0) -> tuple[bool | None, str]:
    """(being restarted, why the worker went away), asked of the master after a connection
    to the instance's worker dropped; (None, why) if the master cannot be reached. The
    master may need a moment to notice the exit. If the instance's node lost its connection
    to the master too (the node died, most likely), an instance without restarts left is
    given up at once, naming the node; one with restarts waits for the master's verdict
    (the node's lease: a few seconds), up to `verdict_limit`."""
    start = time.monotonic()
    while True:
        try:
            info = rt.master.get_instance(instance_id=instance_id, timeout=0)
            if info.state == "DEAD":
                return False, info.exit_reason or "its worker exited"
            if info.endpoint != old_endpoint:
                return True, info.exit_reason
        except Exception as e:  # the runtime itself may be gone (or this driver finalizing)
            return None, str(e)
        if info.node_suspect and info.restarts >= info.recover_retry_times:
            return False, f"its node {info.node_id} was lost (its connections broke)"
        waited = time.monotonic() - start
        if waited >= (verdict_limit if info.node_suspect else limit):
            return False, "its worker connection closed"
        time.sleep(0.1 if info.node_suspect else 0.01)
