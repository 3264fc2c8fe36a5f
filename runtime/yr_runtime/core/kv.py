"""The cluster's key-value store (`yr.kv_*`, C++ `YR::KV()`, Java `YR.kv()`): pure, held by
the master, so every driver and worker of every node sees the same keys.

No I/O; the clock is passed in; waiters are anything with done()/set_result() (the
servicer's futures). Rules:
- A key is a non-empty str of at most 255 characters from openYuanrong's key alphabet
  (`a-zA-Z0-9~.-/_!@#%^&*()+=:;`, the data system's rule). A value is bytes of at most
  `max_value` bytes; all values together at most `capacity` bytes. A write past either is
  refused whole (`KVError`, ERR_PARAM_INVALID for a value too large, ERR_RESOURCE_NOT_ENOUGH
  for a full store), naming the sizes.
- `write`: existence NX refuses a key that exists (ERR_PARAM_INVALID "already exists"),
  NONE overwrites. ttl > 0: the key is gone `ttl` seconds after this write (a later write
  sets a new ttl); 0: it lives until deleted.
- `m_write`: every key or none. With NX, one existing key refuses the whole batch before
  anything is written.
- `read(keys, waiter, deadline, allow_partial)`: answers at once when every key exists (or
  `deadline` is None: answer now, whatever exists); else the waiter waits until they all
  exist, and at `deadline` (seen by `expire`) it gets what exists: missing keys are None
  with allow_partial, otherwise a `KVError(ERR_GET_OPERATION_FAILED)` naming them.
  `deadline` = inf waits forever (`forget` drops a waiter whose caller left).
- `delete(keys)`: missing keys are not an error (as openYuanrong's kv_del).
- `expire(now)`: drops keys past their ttl and times out waiters past their deadline.
  The master calls it on every tick (0.1 s), and every call that takes `now` sweeps too,
  so an expired key is never read.
"""
from __future__ import annotations

import heapq
import math
import re
from dataclasses import dataclass, field

from yr_runtime.wire.errors import ErrorCode

MAX_KEY_LEN = 255
KEY_RE = re.compile(r"[a-zA-Z0-9~.\-/_!@#%^&*()+=:;]+")
MAX_VALUE = 1 << 30          # one value; openYuanrong documents 100 MB "outside the cloud"
CAPACITY = 4 << 30           # all values together, in the master's memory
NONE, NX = 0, 1              # ExistenceOpt


class KVError(Exception):
    """A refused KV request: `kind` (an ErrorCode) says what, the message says why."""

    def __init__(self, kind: ErrorCode, message: str):
        super().__init__(message)
        self.kind = kind


def check_key(key) -> str:
    """The key, or KVError naming what is wrong with it."""
    if not isinstance(key, str) or not key:
        raise KVError(ErrorCode.ERR_PARAM_INVALID, f"a KV key must be a non-empty str, got {key!r:.80}")
    if len(key) > MAX_KEY_LEN or not KEY_RE.fullmatch(key):
        raise KVError(ErrorCode.ERR_PARAM_INVALID,
                      f"invalid KV key {key!r:.80}: at most {MAX_KEY_LEN} characters from "
                      "a-z A-Z 0-9 ~ . - / _ ! @ # % ^ & * ( ) + = : ;")
    return key


@dataclass
class _Entry:
    value: bytes
    expires: float          # math.inf: no ttl


@dataclass(eq=False)
class _Read:
    keys: list
    waiter: object
    deadline: float
    allow_partial: bool
    missing: set = field(default_factory=set)


class KVStore:
    def __init__(self, max_value: int = MAX_VALUE, capacity: int = CAPACITY):
        self.max_value, self.capacity = max_value, capacity
        self.used = 0
        self._data: dict[str, _Entry] = {}
        self._ttls: list = []                     # heap of (expires, key); stale rows are skipped
        self._reads: dict[str, list[_Read]] = {}  # key -> reads waiting for it
        self._deadlines: list = []                # heap of (deadline, seq, read)
        self._seq = 0

    # ---- writes ---------------------------------------------------------------------------
    def check_sizes(self, keys: list, sizes: list, existence: int = NONE) -> None:
        """Refuses a write of values of these sizes before its bytes arrive (KVError)."""
        for k in keys:
            check_key(k)
        if len(set(keys)) != len(keys):
            raise KVError(ErrorCode.ERR_PARAM_INVALID, "the keys of one write must be distinct")
        for k, n in zip(keys, sizes):
            if n > self.max_value:
                raise KVError(ErrorCode.ERR_PARAM_INVALID, f"the value of KV key {k!r} is too large: {n} bytes "
                                                           f"(at most {self.max_value} bytes per value)")
        freed = sum(len(self._data[k].value) for k in keys if k in self._data and existence == NONE)
        need = self.used - freed + sum(sizes)
        if need > self.capacity:
            raise KVError(ErrorCode.ERR_RESOURCE_NOT_ENOUGH,
                          f"the KV store is full: writing {sum(sizes)} bytes would hold {need} bytes, "
                          f"more than its capacity of {self.capacity} bytes (delete keys with kv_del)")

    def write(self, key: str, value: bytes, now: float, existence: int = NONE, ttl: int = 0) -> None:
        self.m_write([key], [value], now, existence, ttl)

    def m_write(self, keys: list, values: list, now: float, existence: int = NONE, ttl: int = 0) -> None:
        """Writes every key or none (see the rules at the top)."""
        self.expire(now)
        if len(keys) != len(values) or not keys:
            raise KVError(ErrorCode.ERR_PARAM_INVALID,
                          f"a KV write needs as many values as keys, at least one (got {len(keys)} keys, "
                          f"{len(values)} values)")
        if existence not in (NONE, NX):
            raise KVError(ErrorCode.ERR_PARAM_INVALID, f"unknown ExistenceOpt {existence!r}")
        if not isinstance(ttl, int) or ttl < 0:
            raise KVError(ErrorCode.ERR_PARAM_INVALID, f"ttl_second must be an int >= 0, got {ttl!r}")
        if existence == NX:
            taken = [k for k in keys if k in self._data]
            if taken:
                raise KVError(ErrorCode.ERR_PARAM_INVALID,
                              f"KV key {taken[0]!r} already exists (ExistenceOpt.NX); nothing was written")
        self.check_sizes(keys, [len(v) for v in values], existence)
        expires = now + ttl if ttl > 0 else math.inf
        for k, v in zip(keys, values):
            old = self._data.get(k)
            if old is not None:
                self.used -= len(old.value)
            self._data[k] = _Entry(bytes(v), expires)
            self.used += len(v)
            if ttl > 0:
                heapq.heappush(self._ttls, (expires, k))
        for k in keys:
            self._wake(k)

    def delete(self, keys: list, now: float) -> list:
        """Deletes the keys that exist; returns them."""
        self.expire(now)
        for k in keys:
            check_key(k)
        gone = []
        for k in keys:
            e = self._data.pop(k, None)
            if e is not None:
                self.used -= len(e.value)
                gone.append(k)
        return gone

    # ---- reads ----------------------------------------------------------------------------
    def get(self, key: str, now: float) -> bytes | None:
        self.expire(now)
        e = self._data.get(key)
        return None if e is None else e.value

    def read(self, keys: list, waiter, now: float, deadline: float | None = None, allow_partial: bool = False) -> None:
        """Answers `waiter` with the list of values (see the rules at the top)."""
        self.expire(now)
        if not keys:
            raise KVError(ErrorCode.ERR_PARAM_INVALID, "a KV read needs at least one key")
        for k in keys:
            check_key(k)
        r = _Read(list(keys), waiter, now if deadline is None else deadline, allow_partial)
        r.missing = {k for k in keys if k not in self._data}
        if not r.missing or r.deadline <= now:
            self._answer(r)
            return
        for k in r.missing:
            self._reads.setdefault(k, []).append(r)
        if r.deadline != math.inf:
            self._seq += 1
            heapq.heappush(self._deadlines, (r.deadline, self._seq, r))

    def forget(self, waiter) -> None:
        """Drops the reads of a waiter whose caller left (nothing is answered)."""
        for k in list(self._reads):
            self._reads[k] = [r for r in self._reads[k] if r.waiter is not waiter]
            if not self._reads[k]:
                del self._reads[k]

    def waiting(self) -> int:
        """How many reads wait (for tests and status)."""
        return len({id(r) for rs in self._reads.values() for r in rs})

    def keys(self, now: float) -> list:
        self.expire(now)
        return sorted(self._data)

    # ---- time -----------------------------------------------------------------------------
    def expire(self, now: float) -> None:
        while self._ttls and self._ttls[0][0] <= now:
            expires, k = heapq.heappop(self._ttls)
            e = self._data.get(k)
            if e is not None and e.expires == expires:   # not rewritten since
                del self._data[k]
                self.used -= len(e.value)
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, r = heapq.heappop(self._deadlines)
            if r.missing:   # still waiting
                self._unregister(r)
                self._answer(r)

    # ---- inside ---------------------------------------------------------------------------
    def _wake(self, key: str) -> None:
        for r in self._reads.pop(key, ()):
            r.missing.discard(key)
            if not r.missing:
                self._answer(r)

    def _unregister(self, r: _Read) -> None:
        for k in r.missing:
            rs = [x for x in self._reads.get(k, ()) if x is not r]
            if rs:
                self._reads[k] = rs
            else:
                self._reads.pop(k, None)

    def _answer(self, r: _Read) -> None:
        values = [None if (e := self._data.get(k)) is None else e.value for k in r.keys]
        missing = [k for k, v in zip(r.keys, values) if v is None]
        r.missing = set()
        if r.waiter.done():
            return
        if missing and not r.allow_partial:
            r.waiter.set_result(KVError(ErrorCode.ERR_GET_OPERATION_FAILED,
                                        f"KV key{'s' if len(missing) > 1 else ''} "
                                        f"{', '.join(repr(k) for k in missing[:5])}"
                                        f"{' ...' if len(missing) > 5 else ''} not found"))
        else:
            r.waiter.set_result(values)
