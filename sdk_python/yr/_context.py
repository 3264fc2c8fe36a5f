"""The process-wide runtime context: who we are (driver or worker), how to reach the
runtime, and the channels, targets and executor pools this process uses.

`current()` raises a clear error before `yr.init` or after `yr.finalize`.
"""
from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import queue
import sys
import threading
import weakref
from _thread import start_new_thread as _start_new_thread
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING

from yr_runtime.local import session as sessions

from . import _serialization, _telemetry, _transport, _unread
from . import object_ref as _refs
from ._agent_client import AgentClient
from ._calls import Channel, Target
from .exceptions import ERR_FINALIZED, ERR_INIT_CONNECTION_FAILED, InitError, YRError, YRRuntimeError, YRValueError
from .object_ref import ObjectRef, _Slot, new_id

if TYPE_CHECKING:  # gRPC loads only in processes that talk to the master
    from ._control import MasterClient

_log = logging.getLogger("yr.context")
_rt: "Runtime | None" = None
_rt_lock = threading.RLock()
_was_finalized = False
_instance_state = None   # in a worker: (save, load) of the instance it hosts, set by the worker


class Runtime:
    def __init__(self, info: sessions.SessionInfo, token: bytes, job_id: str, *, is_driver: bool,
                 instance_id: str = "", temp_process=None, config=None):
        self.info, self.token, self.job_id = info, token, job_id
        self.is_driver, self.instance_id = is_driver, instance_id
        self.temp_process = temp_process
        self.config = config
        self.namespace = getattr(config, "ns", "") or ""
        self._master: MasterClient | None = None
        self._agent: AgentClient | None = None
        self._channels: dict[str, Channel] = {}
        self.targets: "weakref.WeakValueDictionary[str, Target]" = weakref.WeakValueDictionary()
        self.instances = None   # _instances.Registry (created instances, executor pools), made on first use
        self.recycle_time: float = getattr(config, "recycle_time", None) or 2.0   # idle executors end after it
        self.published: set[str] = set()
        # the slots of the refs this process published: a ref that comes back (nested in a
        # result) is the same ref, so its value lives while either copy is held
        self.own_slots: "weakref.WeakValueDictionary[str, _Slot]" = weakref.WeakValueDictionary()
        self.pinned: set[str] = set()   # own values sent to another node in a result: never freed here
        # Where this node's store is reached from other nodes (pickled refs carry it): its
        # data port's address and its id; () on a node without a data port (one machine).
        self.owner: tuple = (info.data_address, info.node_id) if info.data_address else ()
        if info.data_address:   # a --tls cluster: calls and pulls over TCP go in TLS (wire.datatls)
            from yr_runtime.wire import datatls
            datatls.use_session(info.session_dir)
        self._lock = threading.RLock()
        self.closed = False

    # ---- connections -----------------------------------------------------------------------
    @property
    def master(self) -> MasterClient:
        if self._master is None:
            with self._lock:
                if self._master is None:
                    from ._control import MasterClient  # gRPC is imported only by processes that use it
                    self._master = MasterClient(self.info.master_address, self.token, self._tls_identity())
        return self._master

    def _tls_identity(self):
        """TCP to a master of a --tls cluster goes with this session's certificate (a Unix socket never)."""
        if self.info.master_address.startswith("unix:"):
            return None
        from yr_runtime.wire import tls
        return tls.identity_in(self.info.session_dir)

    @property
    def agent(self) -> AgentClient:
        if self._agent is None:
            with self._lock:
                if self._agent is None:
                    self._agent = AgentClient(self.info.agent_address, self.token)
        return self._agent

    def channel(self, endpoint: str, target: Target) -> Channel:
        with self._lock:
            ch = self._channels.get(endpoint)
            if ch is None or ch.dead is not None:
                if len(self._channels) >= 256:   # forget connections to workers that are gone
                    self._channels = {k: c for k, c in self._channels.items() if c.dead is None}
                ch = Channel(endpoint, self.token, target.label, target.channel_lost, self._local_route(endpoint),
                             target.epoch)
                self._channels[endpoint] = ch
            return ch

    def _local_route(self, endpoint: str) -> str:
        """The Unix socket of a worker of this node reported behind its data port
        (`tcp:HOST:PORT/WORKER`): same-node calls stay on Unix sockets. "" otherwise."""
        own = self.owner
        if own and endpoint.startswith(own[0] + "/"):
            return f"unix:{sessions.worker_socket(self.info.session_dir, endpoint[len(own[0]) + 1:])}"
        return ""

    def target(self, instance_id: str, class_name: str) -> Target:
        with self._lock:
            t = self.targets.get(instance_id)
            if t is None:
                t = Target(self, instance_id, class_name)
                self.targets[instance_id] = t
            return t

    # ---- objects ---------------------------------------------------------------------------
    def put(self, value) -> ObjectRef:
        slot = _Slot()
        found = _refs._nested.slots = []
        ids = _refs._nested.ids = []
        try:
            slot.set_body(_serialization.dumps_put(value))
        finally:
            _refs._nested.slots = _refs._nested.ids = None
        if found:   # refs inside the value: kept (with their values in the store) while it lives,
            slot.lent = found   # here, and by the store while it holds the value (`contains`)
            slot.contains = ids
        return ObjectRef(new_id(), slot)

    def publish(self, ref: ObjectRef) -> tuple:
        """Makes a ref's value findable by other processes once it is ready; returns where
        they find it (see `owner`)."""
        fetch = ref._slot.fetch
        if fetch is not None:   # a ref that came from elsewhere: its value stays where it is
            return fetch.owner or self.owner
        if ref.id in self.published:
            return self.owner
        self.published.add(ref.id)
        self.own_slots[ref.id] = ref._slot

        def store(slot):
            if slot.error is not None:
                self.agent.put(ref.id, _serialization.dumps(slot.error), self.job_id, error=True)
            elif len(slot.body) > _serialization.MAX_BODY:
                err = YRValueError(f"object {ref.id} is too large to pass nested in arguments "
                                   f"({len(slot.body) >> 20} MiB inline); pass it at the top level instead")
                self.agent.put(ref.id, _serialization.dumps(err), self.job_id, error=True)
            else:
                self.agent.put(ref.id, slot.store_body(), self.job_id, contains=getattr(slot, "contains", ()))
            # the value leaves the store (and /dev/shm) with this process's last reference to
            # it: its refs, the results of the calls that carry it nested, the put values
            # that contain it; others that keep it hold it (see "borrows" below)
            _on_slot_death(slot, "free", self, ref.id)
        ref._slot.add_callback(store)
        return self.owner

    # ---- shutdown --------------------------------------------------------------------------
    def close(self) -> None:
        self.closed = True
        futs = []
        if self.instances is not None:   # a temporary runtime stops everything itself
            futs = self.instances.close(terminate=self.temp_process is None)
        if futs:
            wait_futures([_as_cf(f) for f in futs], timeout=10)
        for ch in list(self._channels.values()):
            ch.terminated = True
            ch.conn.close()
        if self._agent is not None:
            if self.is_driver:   # the user metrics set last (see yr.metrics)
                _telemetry.flush(self._agent.report)
            self._agent.close()
        if self.temp_process is not None:
            self.master.shutdown()
        if self._master is not None:
            self._master.close()
        if self.temp_process is not None:
            from ._launcher import stop_temporary
            stop_temporary(self.temp_process)


# ---- what finalizers tell the node store --------------------------------------------------------
# A slot's finalizer may run inside the cycle collector, on any thread, even one that holds the
# agent link's send lock at that moment: it must take no lock. So it only queues its notice
# (SimpleQueue.put is reentrant) and a thread of its own sends the notices, batched.
_notices: "queue.SimpleQueue" = queue.SimpleQueue()
_notice_thread_started = False


def _start_notice_thread() -> None:
    """Starts the thread that sends the notices, once. Safe in a finalizer: it takes no lock
    and waits for nothing (`_thread.start_new_thread`; two racing starts make two senders of
    one queue, which is harmless)."""
    global _notice_thread_started
    if not _notice_thread_started:
        _notice_thread_started = True
        try:
            _start_new_thread(_send_notices, ())
        except RuntimeError:   # the interpreter is shutting down: the job's end frees them
            pass


def _on_slot_death(slot, notice: str, rt: "Runtime", object_id: str, token: str = "") -> None:
    """Registers (from ordinary code, never a finalizer) the notice sent for `object_id` when
    `slot` dies: "free" (its owner let go), "release" (a borrow ends), "transfer" (the
    transfer hold `token` ends)."""
    _start_notice_thread()
    weakref.finalize(slot, _slot_died, notice, weakref.ref(rt), object_id, token).atexit = False


def _drop_unread(body: bytes) -> None:
    """(A finalizer) a result that holds refs sent with transfer holds dies unread: nothing
    will adopt the holds, so the notices thread reads their tokens from the body
    (`_unread.transfer_tokens`) and ends them."""
    rt = _rt
    if rt is not None and not rt.closed:
        _start_notice_thread()
        _notices.put(("unread", weakref.ref(rt), body))


def _slot_died(notice: str, rt_ref, object_id: str, token: str) -> None:
    """(A finalizer) the bookkeeping that must not wait, then the notice is queued."""
    if notice == "free":
        rt = rt_ref()
        if rt is not None:
            if object_id in rt.pinned:
                return
            rt.published.discard(object_id)
    else:
        _borrowed.discard(object_id)   # at once: a ref rebuilt again now must be held again
    _notices.put((notice, rt_ref, token or object_id))


def _send_notices() -> None:
    while True:
        batch = [_notices.get()]
        while True:
            try:
                batch.append(_notices.get_nowait())
            except queue.Empty:
                break
        grouped: dict = {}
        for notice, rt_ref, object_id in batch:
            rt = rt_ref()
            if rt is None:
                continue
            if notice == "unread":   # object_id is the unread body: its tokens' holds end
                grouped.setdefault(("transfer", rt), []).extend(_unread.transfer_tokens(object_id))
            else:
                grouped.setdefault((notice, rt), []).append(object_id)
        for (notice, rt), ids in grouped.items():
            if rt.closed or rt._agent is None:
                continue   # the job's end frees them; a closed link released its holds
            try:
                if notice == "free":   # the owner's last reference to published values is gone
                    rt._agent.free(ids)
                elif notice == "release":   # borrowed refs are gone: their holds go too
                    rt._agent.release(ids)
                elif ids:              # refs received in results are gone: their transfer holds end
                    rt._agent.release(tokens=ids)
            except Exception:   # the agent link is closing: its end does the same
                pass


def _as_cf(grpc_future):
    import concurrent.futures
    f = concurrent.futures.Future()
    grpc_future.add_done_callback(lambda g: f.set_result(None))
    return f


_remote_slots: "weakref.WeakValueDictionary[str, _Slot]" = weakref.WeakValueDictionary()


def remote_ref(object_id: str, owner: str = "", owner_node: str = "") -> ObjectRef:
    """Rebuilds a ref that arrived from another process; its value is fetched on demand from
    this node's store, which pulls it from the `owner` node's data port when it lives there."""
    slot = _remote_slots.get(object_id)
    if slot is None:
        rt = _rt
        if rt is not None:
            slot = rt.own_slots.get(object_id)
            if slot is not None:   # one of ours, back from a trip: the same ref
                return ObjectRef(object_id, slot)
            if rt.owner and rt.owner[0] == owner:
                owner = ""   # published on this very node
        slot = _Slot()
        slot.fetch = _Fetch(object_id, slot, (owner, owner_node) if owner else ())
        _remote_slots[object_id] = slot
        if borrow_log is not None:
            borrow_log.append(object_id)
    return ObjectRef(object_id, slot)


def adopt_ref(object_id: str, token: str, owner: str = "", owner_node: str = "") -> ObjectRef:
    """Rebuilds a ref that arrived in a call's result with a *transfer hold* (`token`): the
    sender held it at the node store until this process has it; the hold is now this
    process's and ends when the ref's slot dies (see "borrows" below)."""
    ref = remote_ref(object_id, owner, owner_node)
    rt = _rt
    if rt is not None and not rt.closed:
        _borrowed.add(object_id)   # held already: the end of this call need not hold it again
        _on_slot_death(ref._slot, "transfer", rt, object_id, token)
    return ref


def hold_sent(sent: list, remote: bool = False) -> None:
    """(A worker, before a call's result or stream item leaves) holds the refs pickled into
    it, `[(object id, token)]`, at the node store until their receiver has them
    (`adopt_ref`): the worker may let go of them as soon as the call ends. For a receiver on
    another node (`remote`: its release cannot reach this store) this process's own values
    among them are never freed by it (they stay until the job ends)."""
    rt = _rt
    if rt is None or rt.closed:
        return
    ids = [oid for oid, _ in sent]
    if remote:
        rt.pinned.update(ids)
        return
    # On failure the result still leaves; its refs may go with their owners' refs.
    _hold_or_warn(rt, ids, "sent in a result", tokens=[token for _, token in sent])


def _hold_or_warn(rt, ids: list, what: str, *owner, **how) -> bool:
    """Asks the node store to hold `ids` (`Runtime.agent.hold(ids, *owner, **how)`, waiting at
    most HOLD_WAIT). A hold that fails is logged, naming the objects and `what` they are, and
    not raised: the call that asked has succeeded, only the objects' lifetime is at stake."""
    try:
        rt.agent.hold(ids, *owner, timeout=HOLD_WAIT, **how)
        return True
    except YRError as e:
        _log.warning("could not keep objects %s %s: %s", ", ".join(ids), what, e)
        return False


# ---- borrows: refs a worker keeps past the call that brought them ---------------------------------
# The owner of a value frees it from the node store when its own last ref goes (see
# `_on_slot_death`). A worker that keeps a ref it was given (in an instance's state, say)
# *borrows* it: after each call, the refs rebuilt during the call that are still alive are
# held at the node store (one request, answered before the call's result leaves, so the hold
# is in place before the caller can drop its refs), and released when their slot dies or the
# worker ends (the agent lets go of a closed connection's holds). Refs rebuilt outside any
# call (a thread of the worker's own) are held after the next call ends.
borrow_log: list | None = None   # in workers: ids of the remote refs rebuilt since the last settle
_borrowed: set = set()           # ids this process holds at the node store
HOLD_WAIT = 60.0                 # s: the longest a hold waits (a copy from another node is pulled first)


def start_borrow_log() -> None:
    """Called once by a worker before it serves calls."""
    global borrow_log
    if borrow_log is None:
        borrow_log = []


def settle_borrows() -> None:
    """Holds at the node store the refs rebuilt since the last settle that are still alive
    (called by the worker after a call, when `borrow_log` is not empty)."""
    log_ = borrow_log
    ids = []
    while log_:
        ids.append(log_.pop())
    rt = _rt
    if rt is None or rt.closed:
        return
    by_owner: dict[tuple, list] = {}
    for oid in ids:
        slot = _remote_slots.get(oid)
        if slot is not None and oid not in _borrowed:
            owner = slot.fetch.owner if slot.fetch is not None else ()
            by_owner.setdefault(tuple(owner), []).append((oid, slot))
    for owner, items in by_owner.items():
        if not _hold_or_warn(rt, [oid for oid, _ in items], "this worker holds refs to", *owner):
            continue   # the value may go with its owner's refs
        for oid, slot in items:
            _borrowed.add(oid)
            _on_slot_death(slot, "release", rt, oid)


class _Fetch:
    """Fetches a remote ref's value from the node store: one request, started by the first
    wait, answered on the agent connection's reader thread (no thread per wait). It holds
    its slot weakly: a strong reference would make a cycle that keeps the value's shared
    memory mapped until the cycle collector runs."""
    __slots__ = ("object_id", "slot", "started", "owner")

    def __init__(self, object_id: str, slot: _Slot, owner: tuple = ()):
        self.object_id, self.slot, self.started = object_id, weakref.ref(slot), False
        self.owner = owner   # (data address, node id) of the node that holds it; (): this node

    def __call__(self) -> None:
        if self.started:
            return
        self.started = True   # a racing second request would only be answered twice
        try:
            current().agent.get_async(self.object_id, self._answer, *self.owner)
        except YRError as e:
            self._answer(e)

    def _answer(self, answer) -> None:
        """`answer`: the agent's ObjValue, or the exception the fetch failed with."""
        slot = self.slot()
        if slot is None or slot.done:
            return
        slot.owns_shm = False   # the node store owns the value's shared memory
        if isinstance(answer, BaseException):
            slot.set_error(answer)
        elif answer.error:
            slot.set_error(_serialization.loads(answer.data))
        else:
            slot.set_body(answer.data)


def publish(ref: ObjectRef) -> tuple:
    rt = _rt
    return rt.publish(ref) if rt is not None else ()


# Refs are values; what they need of the runtime comes from here (see object_ref.set_hooks).
_refs.set_hooks(publish=publish, rebuild=remote_ref, flush_all=_transport.flush_all, adopt=adopt_ref,
                drop_unread=_drop_unread)


def set_instance_state(save, load) -> None:
    """The worker registers how yr.save_state/yr.load_state reach the instance it hosts
    (`save(timeout)`, `load(timeout)`); in a driver nothing is registered."""
    global _instance_state
    _instance_state = (save, load)


def save_state(timeout: float) -> None:
    _state_op("save_state", 0)(timeout)


def load_state(timeout: float) -> None:
    _state_op("load_state", 1)(timeout)


def _state_op(what: str, i: int):
    ops = _instance_state
    if ops is None:
        raise YRRuntimeError(f"yr.{what} can only be called inside a method of an instance")
    return ops[i]


def current() -> Runtime:
    rt = _rt
    if rt is None:
        if _was_finalized:
            raise InitError("yr is finalized: call yr.init() again before using it", code=ERR_FINALIZED)
        raise InitError("yr is not initialized: call yr.init() first")
    return rt


def is_initialized() -> bool:
    return _rt is not None


def init_driver(config) -> Runtime:
    global _rt
    with _rt_lock:
        if _rt is not None:
            raise InitError("yr.init cannot be called twice (call yr.finalize() first)")
        info, temp = _locate_runtime(config)
        token = sessions.read_token(info.session_dir)
        rt = Runtime(info, token, config.job_id or f"job-{new_id()}", is_driver=True,
                     temp_process=temp, config=config)
        try:
            rt.master.wait_ready(config.connect_timeout)
            rt.master.open_session(rt.job_id, os.getpid(), temp is not None, _on_event, _on_session_end,
                                   timeout=config.connect_timeout)
        except BaseException:
            if temp is not None:
                from ._launcher import stop_temporary
                stop_temporary(temp)
            raise
        _rt = rt
        _refs.keep_files(bool(rt.owner))
        _serialization.set_session(info.session_dir)
        _serialization.ignore_file_size_signal()
        atexit.register(_finalize_at_exit)
        return rt


_worker_ahead: "tuple[str, Runtime] | None" = None   # (session dir, runtime) an idle worker made


def prepare_worker(boot: dict, token: bytes) -> None:
    """An idle worker makes its runtime context before it is assigned (init_worker takes it):
    its first touches of copy-on-write pages, ~0.2 ms, leave the create's path."""
    global _worker_ahead
    with _rt_lock:
        if _worker_ahead is None and _rt is None:
            _worker_ahead = (boot["session_dir"], _worker_runtime(boot, token))


def _worker_runtime(boot: dict, token: bytes) -> Runtime:
    """A worker's runtime context, not yet of any job or instance."""
    info = sessions.read_info(boot["session_dir"])
    if boot.get("data"):   # the node's data port, as the agent told this worker
        info = dataclasses.replace(info, data_address=boot["data"])
    return Runtime(info, token, "", is_driver=False)


def init_worker(boot: dict, token: bytes, job_id: str, instance_id: str) -> None:
    global _rt, _worker_ahead
    with _rt_lock:
        if _rt is not None:
            return
        ahead, _worker_ahead = _worker_ahead, None
        rt = ahead[1] if ahead and ahead[0] == boot["session_dir"] else _worker_runtime(boot, token)
        rt.job_id, rt.instance_id = job_id, instance_id
        _rt = rt
        _refs.keep_files(bool(rt.owner))
        _serialization.set_session(rt.info.session_dir)


def finalize() -> None:
    """Closes the driver's runtime. Refused in a worker: its runtime belongs to the instance
    it runs (closing it would break every later call on that instance)."""
    global _rt, _was_finalized
    with _rt_lock:
        if _rt is not None and not _rt.is_driver:
            raise InitError("yr.finalize() may only be called by a driver, not inside an instance's or "
                            "function's worker (the driver's yr.finalize() ends it)")
        rt, _rt = _rt, None
        if rt is None:
            return
        _was_finalized = True
        _serialization.set_session(None)
    rt.close()


def _finalize_at_exit() -> None:
    try:
        finalize()
    except YRError:
        pass


def _locate_runtime(config):
    address = config.server_address or os.environ.get("YR_SERVER_ADDRESS", "")
    if address and _is_host_port(address):
        return _cluster_session(address), None
    if address:
        try:
            return sessions.read_info(address), None
        except (OSError, ValueError, TypeError) as e:
            raise InitError(f"cannot use server_address {address!r}: expected a yr session directory "
                            f"(see `yr status`): {e}", code=ERR_INIT_CONNECTION_FAILED) from None
    try:
        found = sessions.find_running()
        if found is None:
            sessions.ensure_root()
            sessions.remove_stale()   # what SIGKILLed runtimes left in this user's root
    except sessions.SessionRootError as e:
        raise InitError(str(e), code=ERR_INIT_CONNECTION_FAILED) from None
    if found is not None:
        return found, None
    from ._launcher import start_temporary
    return start_temporary(config)


def _is_host_port(address: str) -> bool:
    host, sep, port = address.rpartition(":")
    return bool(sep and host and port.isdigit()) and "/" not in address


def _cluster_session(address: str):
    """A master's HOST:PORT: the driver talks to it over TCP. The session on this machine of that
    master, or of a node joined to it, gives the token and the local node (its object store).
    A driver on a machine with neither is not supported yet (yr.put and yr.get need a node)."""
    try:
        info = sessions.find_master(address) or next(
            (i for i in sessions.sessions_of() if i.joined == address), None)   # a node of it here
    except sessions.SessionRootError as e:
        raise InitError(str(e), code=ERR_INIT_CONNECTION_FAILED) from None
    if info is None:
        raise InitError(f"cannot use server_address {address!r}: no yr master listening there runs on this "
                        f"machine (in {sessions.default_root()}); start one with `yr start --master`, or give "
                        "its session directory", code=ERR_INIT_CONNECTION_FAILED)
    return dataclasses.replace(info, master_address=address)


def _on_event(ev) -> None:
    if ev.HasField("log"):
        rt = _rt
        if rt is not None and rt.config is not None and not rt.config.log_to_driver:
            return
        prefix = f"({ev.log.label}) "
        sys.stdout.write("".join(prefix + line + "\n" for line in ev.log.lines))
        sys.stdout.flush()


def _on_session_end(reason: str) -> None:
    pass  # calls in flight learn of a dead runtime from their own connections
