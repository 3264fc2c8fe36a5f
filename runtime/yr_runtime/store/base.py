"""The metadata store's interface, its events and errors, and the checks both backends share.

Contract (pinned by tests/store/test_store_contract.py against every backend):
- Keys are `str` under `KEY_ROOT` ("/yr/v1/"), printable, at most `MAX_KEY_BYTES` bytes
  in UTF-8; values are `bytes` (JSON through `encode_json`). Anything else is refused with
  a `TypeError`/`ValueError` naming what was wrong, before the backend is touched.
- `create` is the one compare-and-create transaction: it stores the value only if the key
  is absent and returns what the key holds afterwards and whether this call made it, so
  of N concurrent get-or-creates exactly one wins and all see the winner's value.
- A lease lives `ttl` whole seconds (etcd's unit; etcd may round a short TTL up to its
  minimum) after its grant or last `keepalive`; when it expires or is revoked, every key
  put with it is deleted (watchers see the deletes). `keepalive` answers False for a
  lease that is gone; `revoke` of a gone lease is a no-op; a put with a gone lease raises
  `LeaseNotFound`.
- `watch(prefix)` is a real watch on both backends (no polling): an async context
  manager; once entered, every later put and delete under the prefix is delivered in
  order as a `WatchEvent`. To load-then-follow, enter the watch first, then `range`, then
  apply events (they are idempotent: a put carries the whole value).
- Calls never hang: the etcd backend bounds every request and raises `StoreUnavailable`.
"""
from __future__ import annotations

import abc
import json
from dataclasses import dataclass

KEY_ROOT = "/yr/v1/"
MAX_KEY_BYTES = 4096   # far below etcd's request limit; keys name things, they carry no data


class StoreError(Exception):
    """A metadata store operation failed."""


class StoreUnavailable(StoreError):
    """The store cannot be reached (etcd down, partitioned, or too slow to answer)."""


class LeaseNotFound(StoreError):
    """A key was put with a lease that expired, was revoked or never existed."""


class NotLeader(StoreError):
    """A write of a fenced store was refused: the key it is conditioned on (this master's
    leader key) no longer holds its value: another master leads (etcd backend, `fence`)."""


@dataclass(frozen=True)
class WatchEvent:
    """One change under a watched prefix: kind is "put" (value set) or "delete" (value None)."""
    kind: str
    key: str
    value: bytes | None


class Watch(abc.ABC):
    """Events under a prefix, in order, from the moment the watch is entered until it is left
    (or the store is closed: the iteration then ends)."""

    @abc.abstractmethod
    async def __aenter__(self) -> "Watch": ...

    @abc.abstractmethod
    async def __aexit__(self, *exc) -> None: ...

    def __aiter__(self) -> "Watch":
        return self

    @abc.abstractmethod
    async def __anext__(self) -> WatchEvent: ...


class MetaStore(abc.ABC):
    """Async key-value store for cluster metadata; see the module docstring for the contract."""

    @abc.abstractmethod
    async def get(self, key: str) -> bytes | None:
        """The value of `key`, or None if absent."""

    @abc.abstractmethod
    async def put(self, key: str, value: bytes, lease: int | None = None) -> None:
        """Sets `key`; with `lease` the key is deleted when the lease ends."""

    @abc.abstractmethod
    async def delete(self, key: str) -> bool:
        """Deletes `key`; True if it existed."""

    @abc.abstractmethod
    async def range(self, prefix: str) -> list[tuple[str, bytes]]:
        """Every (key, value) whose key starts with `prefix`, sorted by key."""

    @abc.abstractmethod
    async def create(self, key: str, value: bytes, lease: int | None = None) -> tuple[bytes, bool]:
        """Get-or-create in one transaction: (the key's value afterwards, True if this call set it)."""

    @abc.abstractmethod
    async def grant(self, ttl: int) -> int:
        """A new lease of `ttl` seconds; returns its id."""

    @abc.abstractmethod
    async def keepalive(self, lease: int) -> bool:
        """Restarts the lease's TTL; False if the lease is already gone."""

    @abc.abstractmethod
    async def revoke(self, lease: int) -> None:
        """Ends the lease now, deleting its keys; a gone lease is ignored."""

    @abc.abstractmethod
    def watch(self, prefix: str) -> Watch:
        """A watch of every key starting with `prefix` (enter it with `async with`)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Releases connections (and a server the store started); ends open watches."""


def check_key(key) -> bytes:
    """The key's UTF-8 bytes, or a TypeError/ValueError saying what is wrong with it."""
    if not isinstance(key, str):
        raise TypeError(f"store keys are str, got {type(key).__name__}: {key!r:.80}")
    return _check_path(key, "key")


def check_prefix(prefix) -> bytes:
    """Like `check_key`, for a prefix of range and watch."""
    if not isinstance(prefix, str):
        raise TypeError(f"store prefixes are str, got {type(prefix).__name__}: {prefix!r:.80}")
    return _check_path(prefix, "prefix")


def _check_path(path: str, what: str) -> bytes:
    if not path.startswith(KEY_ROOT):
        raise ValueError(f"store {what} {path!r:.120} is outside {KEY_ROOT!r}: build keys with yr_runtime.store.keys")
    if not path.isprintable():
        raise ValueError(f"store {what} {path!r:.120} holds unprintable characters")
    raw = path.encode()
    if len(raw) > MAX_KEY_BYTES:
        raise ValueError(f"store {what} is {len(raw)} bytes, more than {MAX_KEY_BYTES}: {path[:80]!r}...")
    return raw


def check_value(value) -> bytes:
    """`value` itself if it is bytes; otherwise a TypeError (no implicit encoding, no pickles)."""
    if type(value) is not bytes:
        raise TypeError(f"store values are bytes, got {type(value).__name__}: encode it first "
                        "(yr_runtime.store.encode_json for JSON)")
    return value


def check_ttl(ttl) -> int:
    """A lease TTL: whole seconds, at least 1 (etcd's unit)."""
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise TypeError(f"lease TTL is whole seconds (int), got {type(ttl).__name__}: {ttl!r}")
    if ttl < 1:
        raise ValueError(f"lease TTL must be at least 1 second, got {ttl}")
    return ttl


def check_lease(lease) -> int | None:
    """A lease id (a positive int) or None."""
    if lease is None:
        return None
    if isinstance(lease, bool) or not isinstance(lease, int) or lease <= 0:
        raise TypeError(f"a lease is the positive int id grant() returned, got {lease!r}")
    return lease


def encode_json(obj) -> bytes:
    """A JSON value as stored bytes (compact, keys sorted so equal values store equal bytes)."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def decode_json(value: bytes):
    """The JSON value stored by `encode_json`."""
    return json.loads(check_value(value))
