"""The embedded backend: the metadata in a dict inside the master's process.

No process, no port, no I/O. Operations never await before they are done, so on one event
loop each is atomic (that is what makes `create` a transaction here). Leases expire by the
clock passed in (seconds, `time.monotonic` by default): expired leases are swept at the
start of every operation, and an open watch sweeps them while it waits, so watchers see a
lease's keys deleted without anybody calling the store.
"""
from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Callable

from yr_runtime.store.base import (LeaseNotFound, MetaStore, StoreError, Watch, WatchEvent, check_key, check_lease,
                                   check_prefix, check_ttl, check_value)

_SWEEP_EVERY_MAX = 1.0   # an open watch looks at the clock at least this often (s) while leases exist


@dataclass
class _Lease:
    ttl: int
    deadline: float
    keys: set = field(default_factory=set)


class MemoryStore(MetaStore):
    """`MetaStore` in memory; `clock` is the time source leases expire by."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._data: dict[str, tuple[bytes, int | None]] = {}   # key -> (value, lease)
        self._leases: dict[int, _Lease] = {}
        self._lease_ids = itertools.count(1)
        self._watches: list[_MemoryWatch] = []
        self._closed = False

    async def get(self, key):
        check_key(key)
        self._sweep()
        entry = self._data.get(key)
        return entry[0] if entry else None

    async def put(self, key, value, lease=None):
        _check_entry(key, value, lease)
        self._sweep()
        self._set(key, value, lease)

    async def delete(self, key):
        check_key(key)
        self._sweep()
        return self._remove(key)

    async def range(self, prefix):
        check_prefix(prefix)
        self._sweep()
        return sorted((k, v[0]) for k, v in self._data.items() if k.startswith(prefix))

    async def create(self, key, value, lease=None):
        _check_entry(key, value, lease)
        self._sweep()
        entry = self._data.get(key)
        if entry is not None:
            return entry[0], False
        self._set(key, value, lease)
        return value, True

    async def grant(self, ttl):
        check_ttl(ttl)
        self._open()
        lease = next(self._lease_ids)
        self._leases[lease] = _Lease(ttl, self._clock() + ttl)
        return lease

    async def keepalive(self, lease):
        check_lease(lease)
        self._sweep()
        held = self._leases.get(lease)
        if held is None:
            return False
        held.deadline = self._clock() + held.ttl
        return True

    async def revoke(self, lease):
        check_lease(lease)
        self._sweep()
        self._end_lease(lease)

    def watch(self, prefix):
        check_prefix(prefix)
        self._open()
        return _MemoryWatch(self, prefix)

    async def close(self):
        self._closed = True
        for w in list(self._watches):
            w._events.put_nowait(None)

    def expire(self) -> None:
        """Ends every lease whose deadline has passed by the clock (also done by each call)."""
        self._sweep()

    def _open(self) -> None:
        if self._closed:
            raise StoreError("the metadata store is closed")

    def _sweep(self) -> None:
        self._open()
        if self._leases:
            now = self._clock()
            for lease in [i for i, held in self._leases.items() if held.deadline <= now]:
                self._end_lease(lease)

    def _next_deadline(self) -> float | None:
        """Seconds until the next lease could expire, or None without leases."""
        if not self._leases:
            return None
        return min(held.deadline for held in self._leases.values()) - self._clock()

    def _end_lease(self, lease: int) -> None:
        held = self._leases.pop(lease, None)
        for key in sorted(held.keys) if held else ():
            self._remove(key)

    def _set(self, key: str, value: bytes, lease: int | None) -> None:
        if lease is not None and lease not in self._leases:
            raise LeaseNotFound(f"lease {lease} has expired or was revoked: {key!r} was not stored")
        old = self._data.get(key)
        if old is not None and old[1] is not None and old[1] in self._leases:
            self._leases[old[1]].keys.discard(key)
        self._data[key] = (value, lease)
        if lease is not None:
            self._leases[lease].keys.add(key)
        self._notify(WatchEvent("put", key, value))

    def _remove(self, key: str) -> bool:
        entry = self._data.pop(key, None)
        if entry is None:
            return False
        if entry[1] is not None and entry[1] in self._leases:
            self._leases[entry[1]].keys.discard(key)
        self._notify(WatchEvent("delete", key, None))
        return True

    def _notify(self, event: WatchEvent) -> None:
        for w in self._watches:
            if event.key.startswith(w.prefix):
                w._events.put_nowait(event)


def _check_entry(key, value, lease) -> None:
    check_key(key)
    check_value(value)
    check_lease(lease)


class _MemoryWatch(Watch):
    def __init__(self, store: MemoryStore, prefix: str):
        self._store = store
        self.prefix = prefix
        self._events: asyncio.Queue = asyncio.Queue()
        self._done = False

    async def __aenter__(self):
        self._store._open()
        self._store._watches.append(self)
        return self

    async def __aexit__(self, *exc):
        if self in self._store._watches:
            self._store._watches.remove(self)

    async def __anext__(self):
        while not self._done:
            try:
                event = await asyncio.wait_for(self._events.get(), self._sweep_wait())
            except asyncio.TimeoutError:
                if not self._store._closed:
                    self._store.expire()   # deletes of expired leases' keys land in our queue
                continue
            if event is None:
                self._done = True
                break
            return event
        raise StopAsyncIteration

    def _sweep_wait(self) -> float | None:
        if not self._events.empty():
            return None
        due = self._store._next_deadline()
        return None if due is None else min(max(due, 0.001), _SWEEP_EVERY_MAX)
