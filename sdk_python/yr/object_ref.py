"""ObjectRef: a handle to a value that exists now or will exist when a call finishes.

Each ref points at a `_Slot` that is filled exactly once, with a serialized body or an
error. Bodies are deserialized lazily, on the getter's thread, once. Refs compare and hash
by id. A ref pickled into another process's arguments is *published*: once its value is
ready the owner copies it to the node's object store, where the receiver finds it.

Refs and slots are values: this module imports no connection, context or call code. The
runtime context registers what needs the runtime (`set_hooks`): publishing a pickled ref,
rebuilding one that arrived, and writing out deferred calls before a wait. A slot whose
result arrives on a connection is given that connection (`conn`, duck-typed) by the sender;
a synchronous wait reads it on the waiting thread (see `_Slot._wait_reading`).
"""
from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from _thread import allocate_lock as _allocate_lock
from os import sched_yield as _sched_yield

from . import _serialization
from ._unread import MARK as _UNREAD_MARK
from .exceptions import GetTimeoutError, RuntimeUnavailableError, YRError, YRInvokeError, YRTypeError, YRValueError

_glock = threading.Lock()
SPIN_YIELDS = int(os.environ.get("YR_SPIN_YIELDS", "30"))
_PREFIX = os.urandom(6).hex()
_counter = iter(range(1, 1 << 62))
# While a call's arguments are pickled: the slots of the refs nested in them (see _calls).
_nested = threading.local()
# In a worker: (enter, leave) called around a yr.get / yr.wait that lasts longer than
# BLOCK_AFTER seconds, so that the runtime lends the task's CPU out while it waits.
_block_hooks = None
BLOCK_AFTER = 0.005


def _no_op(*_args) -> None:
    pass


def _unbound_ref(object_id: str, *_owner) -> "ObjectRef":
    slot = _Slot()
    slot.set_error(RuntimeUnavailableError(f"object {object_id} arrived in a process with no yr runtime context"))
    return ObjectRef(object_id, slot)


# The hooks of the runtime context (see set_hooks). Module globals, read once per use: the
# wait path pays one global lookup, as it did for a direct import.
_publish = _no_op          # publish(ref) -> owner: a pickled ref's value must become findable by others
_rebuild = _unbound_ref    # rebuild(object_id, *owner) -> ObjectRef: a ref unpickled here (picklable by name)
_flush_all = _no_op        # flush_all(): writes out every deferred call before a blocking wait
_adopt = _unbound_ref      # adopt(object_id, token, *owner) -> ObjectRef: a ref unpickled from a result, with its transfer hold
_drop_unread = _no_op      # drop_unread(body): (a finalizer) a result body holding transfer holds dies unread
# Whether loading a value unlinks its shared-memory file. On one machine it does (the first
# reader frees what nobody will map again). In a cluster the node store serves the file to
# other nodes until the job ends, so readers leave it and its owner (the slot's finalizer or
# the store) unlinks it. Set by the runtime context (`keep_files`).
_unlink_on_load = True


def keep_files(keep: bool) -> None:
    global _unlink_on_load
    _unlink_on_load = not keep


def set_hooks(*, publish, rebuild, flush_all, adopt, drop_unread) -> None:
    """Registers the runtime context's side of refs (called once, when the context module
    loads): `publish(ref)` when a ref is pickled, which returns where its value can be
    fetched from (a tuple of strings, the owner node's data address and id; empty on one
    machine), `rebuild(object_id, *owner)` when one is unpickled (a module-level function:
    pickles name it), `flush_all()` before every blocking wait, `adopt(object_id, token,
    *owner)` when a ref pickled into a call's result is unpickled (its transfer hold),
    `drop_unread(body)` when a result whose body holds such refs dies unread (called by a
    finalizer: it must take no lock)."""
    global _publish, _rebuild, _flush_all, _adopt, _drop_unread
    _publish, _rebuild, _flush_all, _adopt, _drop_unread = publish, rebuild, flush_all, adopt, drop_unread


def new_id() -> str:
    return f"{_PREFIX}{next(_counter):x}"


def reseed() -> None:
    """Gives this process its own id prefix (after a fork, ids would repeat the parent's)."""
    global _PREFIX, _counter
    _PREFIX = os.urandom(6).hex()
    _counter = iter(range(1, 1 << 62))


class _Slot:
    __slots__ = ("done", "body", "error", "_value", "_loaded", "_event", "_callbacks",
                 "fetch", "owns_shm", "conn", "keep", "lent", "contains", "stored", "__weakref__")
    # keep: set once the slot's file was lent (see `lend`): loading it no longer unlinks it.
    # lent: on a call's result slot, the slots whose files the call borrowed (kept alive with
    # it: the result may point into them) and those of the refs nested in its arguments (their
    # values stay in the node store while the call may still read them). contains: on a put's
    # slot, the ids of the refs inside its value (the node store holds them while it stores
    # the value). stored: its body was given to the node store (see `store_body`). None is set
    # in __init__ (most slots never lend).

    def __init__(self, fetch=None):
        self.done = False
        self.body = None
        self.error = None
        self._loaded = False
        self._value = None
        self._event = None
        self._callbacks = None
        self.fetch = fetch        # for refs owned elsewhere: fetch() starts fetching (once); the answer fills the slot
        self.owns_shm = True
        self.conn = None          # the connection its result will arrive on, once sent

    def set_body(self, body: bytes) -> None:
        self.body = body
        self._complete()

    def set_error(self, error: BaseException) -> None:
        self.error = error
        self._complete()

    def set_value(self, value, body: bytes) -> None:
        self._value, self._loaded, self.body = value, True, body
        self._complete()

    def _complete(self) -> None:
        with _glock:
            if self.done:
                return
            self.done = True
            waiters, cbs = self._event, self._callbacks
            self._callbacks = None
        if waiters is not None:
            for lock in waiters:
                lock.release()
        for cb in cbs or ():
            cb(self)

    def add_callback(self, cb) -> None:
        with _glock:
            if not self.done:
                (self._callbacks if self._callbacks is not None else self._set_cbs()).append(cb)
                return
        cb(self)

    def _set_cbs(self) -> list:
        self._callbacks = []
        return self._callbacks

    def wait(self, timeout: float | None) -> bool:
        """Waits until filled; timeout None waits forever. Returns whether it is filled."""
        if self.done:
            return True
        _flush_all()   # calls this wait depends on may still sit in a send buffer
        if self.fetch is not None:
            self.fetch()
            return self._wait_woken(timeout)
        conn = self.conn
        if conn is not None and not conn.ended:
            return self._wait_reading(conn, timeout)
        return self._wait_unsent(timeout)

    def _wait_unsent(self, timeout: float | None) -> bool:
        """Waits for a result whose call is not sent yet (its instance is being created, its
        arguments are not ready, or it waits to be sent again after a lost connection):
        sleeps until it is done or sent (`sent` wakes the waiters: a wake-up is not a
        result), then reads the connection it went out on, as `_wait_reading` does. The
        result then wakes this thread directly instead of a reader thread that wakes this
        one: one thread hand-off less on the path of a create's first call."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            conn = self.conn
            if conn is not None and not conn.ended:
                return self._wait_reading(conn, left)
            if not self._wait_woken(left) or self.done:
                return self.done

    def sent(self) -> None:
        """Its call was just sent on `conn`: threads waiting in `_wait_unsent` wake to read
        it. Costs nothing when nobody waits."""
        if self._event is None:
            return
        with _glock:
            if self.done:
                return
            waiters, self._event = self._event, None
        for lock in waiters or ():
            lock.release()

    def _wait_reading(self, conn, timeout: float | None) -> bool:
        """Waits by reading the result's connection on this thread (no hand-off to a reader
        thread: the shortcut that makes a synchronous call one round trip). `conn` is the
        sender's connection, duck-typed: enter_wait/read_for/leave_wait/ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        conn.enter_wait()
        try:
            while not self.done and not conn.ended:
                left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
                if left <= 0:
                    return self.done
                if not conn.read_for(left):
                    self._wait_woken(min(left, 0.002))   # another thread reads and fills us
        finally:
            conn.leave_wait()
        if self.done:
            return True
        # The connection ended first: the call may be sent again (a restarted instance).
        return self._wait_unsent(None if deadline is None else max(deadline - time.monotonic(), 0.0))

    def _wait_woken(self, timeout: float | None) -> bool:
        if self.done:
            return True
        # Results of quick calls arrive within microseconds: yield the CPU (and the GIL, to
        # the reader thread) a few times before paying for a sleep and a wake-up.
        for _ in range(SPIN_YIELDS):
            _sched_yield()
            if self.done:
                return True
        # A bare lock, acquired here and released by _complete, is the cheapest wake-up.
        lock = _allocate_lock()
        lock.acquire()
        with _glock:
            if self.done:
                return True
            if self._event is None:
                self._event = [lock]
            else:
                self._event.append(lock)
        if lock.acquire(True, -1 if timeout is None else timeout):
            return True
        with _glock:
            if lock in (self._event or ()):
                self._event.remove(lock)
        return self.done

    def value(self):
        if self.error is not None:
            err = self.error
            raise err.origin_error() if isinstance(err, YRInvokeError) else err
        if not self._loaded:
            with _glock:
                if not self._loaded:
                    self._value = _serialization.loads(self.body, unlink=self._load_unlinks(),
                                                       recycle=self.owns_shm)
                    self._loaded = True
        return self._value

    def _load_unlinks(self) -> bool:
        """Whether loading this slot's value removes its file: only a file this slot owns
        alone (not lent, not the node store's: a fetched or published value may still be
        mapped by other readers), and only on one machine (see `keep_files`)."""
        return _unlink_on_load and self.owns_shm and not getattr(self, "keep", False)

    def lend(self):
        """This slot's body if its value's file can be lent to a process of this machine (the
        file stays until this slot is gone), else None: no file, a file owned by the node
        store, or one its load already unlinked."""
        body = self.body
        if not self.owns_shm or self.fetch is not None or body is None or body[:1] != b"\x01":
            return None
        with _glock:
            if self._loaded and self._load_unlinks():
                return None
            self.keep = True
        return body

    def store_body(self) -> bytes:
        """The body to give the node store when this slot's ref is published (the store frees
        what it is given): the slot's file itself, a second name of it or a copy (see
        `_serialization.for_store`); after that, loading the value here no longer unlinks a
        file the store holds. A value already loaded from a file its load removed (unlinked,
        or renamed for recycling) is serialized again: its old path no longer exists."""
        with _glock:
            if not (self._loaded and self._load_unlinks() and self.body[:1] == b"\x01"):
                self.stored = True   # the store's copy carries the body's transfer holds (see __del__)
                body, handed = _serialization.for_store(self.body, getattr(self, "keep", False))
                if handed:
                    self.owns_shm = False
                return body
            value = self._value
        return _serialization.dumps(value)

    def __del__(self):
        body = self.body
        if body is None:
            return
        if (not self._loaded and self.fetch is None and type(body) is bytes and _UNREAD_MARK in body
                and not getattr(self, "stored", False)):
            _drop_unread(body)   # a result dropped unread: the holds of the refs sent in it end
        if self.owns_shm and body[:1] == b"\x01":
            _serialization.discard(body)


class ObjectRef:
    """A reference to a (possibly future) value. Use `yr.get(ref)` to obtain the value."""

    __slots__ = ("id", "_slot", "__weakref__")

    def __init__(self, object_id: str, slot: _Slot):
        self.id = object_id
        self._slot = slot

    def get(self, timeout: float = 300):
        return get([self], timeout)[0]

    def wait(self, timeout: float | None = None) -> bool:
        return self._slot.wait(timeout)

    def done(self) -> bool:
        return self._slot.done

    def is_exception(self) -> bool:
        return self._slot.done and self._slot.error is not None

    def on_complete(self, callback) -> None:
        """Calls `callback(ref)` once the value or error is there (at once if it already is)."""
        self._slot.add_callback(lambda _s: callback(self))

    def as_future(self) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()

        def done(_s):
            try:
                fut.set_result(self._slot.value())
            except BaseException as e:  # the future carries whatever the call raised
                fut.set_exception(e)
        self._slot.add_callback(done)
        return fut

    def __await__(self):
        import asyncio
        return asyncio.wrap_future(self.as_future()).__await__()

    def __eq__(self, other) -> bool:
        return isinstance(other, ObjectRef) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"ObjectRef({self.id})"

    def __reduce__(self):
        owner = _publish(self)
        found = getattr(_nested, "slots", None)
        if found is not None:
            found.append(self._slot)
            ids = getattr(_nested, "ids", None)
            if ids is not None:   # a put's value: the store holds the refs inside it
                ids.append(self.id)
        sent = getattr(_nested, "sent", None)
        if sent is not None:   # in a call's result: held for its receiver, who adopts the hold
            token = new_id()
            sent.append((self.id, token))
            return (_adopt, (self.id, token, *owner))
        return (_rebuild, (self.id, *owner) if owner else (self.id,))


def _check_timeout(timeout) -> float | None:
    if timeout is None or timeout == -1:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise YRValueError(f"timeout must be a positive number of seconds or -1 (wait forever), got {timeout!r}")
    return float(timeout)


def get(refs, timeout=300, allow_partial: bool = False):
    """Values of `refs` (one ref -> value, list -> list). See `yr.get`."""
    single = isinstance(refs, ObjectRef)
    items = [refs] if single else refs
    if not isinstance(items, (list, tuple)):
        raise _not_a_ref(refs)
    for r in items:
        if not isinstance(r, ObjectRef):
            raise _not_a_ref(r)
    limit = _check_timeout(timeout)
    deadline = None if limit is None else time.monotonic() + limit
    blocked = _block_hooks is not None and _blocks(items, limit)
    try:
        return _get_all(items, single, deadline, timeout, allow_partial)
    finally:
        if blocked:
            _block_hooks[1]()


def _blocks(items, limit) -> bool:
    """In a worker: waits a moment for the first unready ref; if the wait lasts, tells the
    runtime this task is blocked (the caller must tell it when it resumes)."""
    for r in items:
        if not r._slot.done:
            if limit is not None and limit <= BLOCK_AFTER or r._slot.wait(BLOCK_AFTER):
                return False
            _block_hooks[0]()
            return True
    return False


def _get_all(items, single, deadline, timeout, allow_partial):
    out = []
    for r in items:
        if r._slot.done:   # the common case in a list of results: no clock, no wait
            left = 0.0
        else:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        if not r._slot.wait(left):
            if allow_partial:
                out.append(None)
                continue
            raise not_ready_error(r, timeout)
        try:
            out.append(r._slot.value())
        except YRError:
            if not allow_partial:
                raise
            out.append(None)
    return out[0] if single else out


def not_ready_error(ref: ObjectRef, timeout) -> GetTimeoutError:
    """What a get of `ref` raises when it is not ready within `timeout`."""
    return GetTimeoutError(f"failed to get object {ref.id}: not ready after {timeout}s "
                           f"(pass a larger timeout, or -1 to wait forever)")


def wait(refs, wait_num=None, timeout=None):
    """(ready, unready): at most `wait_num` ready refs, both lists in input order."""
    if isinstance(refs, ObjectRef):
        refs = [refs]
    if not isinstance(refs, (list, tuple)) or not all(isinstance(r, ObjectRef) for r in refs):
        raise _not_a_ref(refs)
    refs = list(refs)
    if len(set(r.id for r in refs)) != len(refs):
        raise YRValueError("yr.wait: the list of refs contains duplicates")
    n = len(refs) if wait_num is None else wait_num
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= len(refs):
        raise YRValueError(f"wait_num must be an int between 0 and {len(refs)}, got {wait_num!r}")
    if timeout is not None and timeout != -1 and (not isinstance(timeout, (int, float)) or timeout < 0):
        raise YRValueError(f"timeout must be >= 0 seconds, -1 or None (forever), got {timeout!r}")
    if n == 0 or timeout == 0:
        return [], refs
    limit = None if timeout in (None, -1) else float(timeout)
    ev = threading.Event()
    count = [0]
    lock = threading.Lock()

    def one_done(_s):
        with lock:
            count[0] += 1
            if count[0] >= n:
                ev.set()
    for r in refs:
        if r._slot.fetch is not None and not r._slot.done:
            r._slot.fetch()   # one request to the node store per ref, answered on its reader thread
        r._slot.add_callback(one_done)
    _flush_all()
    _wait_event(ev, limit)
    ready, unready = [], []
    for r in refs:
        (ready if r._slot.done and len(ready) < n else unready).append(r)
    return ready, unready


def _wait_event(ev: threading.Event, limit: float | None) -> None:
    """ev.wait(limit); in a worker, a wait that lasts is reported as blocked (see _blocks)."""
    if _block_hooks is None or ev.wait(BLOCK_AFTER if limit is None else min(limit, BLOCK_AFTER)):
        ev.wait(limit)
        return
    if limit is not None and limit <= BLOCK_AFTER:
        return
    _block_hooks[0]()
    try:
        ev.wait(None if limit is None else limit - BLOCK_AFTER)
    finally:
        _block_hooks[1]()


def _not_a_ref(obj) -> YRTypeError:
    return YRTypeError(f"expected an ObjectRef or a list of ObjectRefs, got {type(obj).__name__}: {obj!r:.80}")
