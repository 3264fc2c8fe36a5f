"""The etcd backend, through aetcd (an asyncio client over etcd's v3 gRPC API).

Each request carries a deadline (`timeout`), so a call never hangs on a dead or
partitioned etcd: it raises `StoreUnavailable` naming the endpoint. Once `fence`d (by the
leading master), every put, delete and create is one transaction that also compares the
master's leader key with its value: a master that lost its leadership has its writes
refused (`NotLeader`), whatever it still believes. Of several endpoints
the first that answers a status request at `connect` is used; moving to another member
when that one fails later is not built yet (the caller may reconnect).
"""
from __future__ import annotations

import asyncio

import aetcd
from aetcd import exceptions as etcd_errors

from yr_runtime.store.base import (LeaseNotFound, MetaStore, NotLeader, StoreError, StoreUnavailable, Watch, WatchEvent, check_key,
                                   check_lease, check_prefix, check_ttl, check_value)

DEFAULT_TIMEOUT = 5.0   # seconds per request: etcd answers in about a millisecond on a LAN


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """(host, port) of "http://host:port" or "host:port" (IPv6 as [addr]); ValueError otherwise."""
    rest = endpoint.strip()
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        if scheme != "http":
            raise ValueError(f"etcd endpoint {endpoint!r}: only http:// is supported (TLS to etcd is not built yet)")
    rest = rest.rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in rest:
        raise ValueError(f"etcd endpoint {endpoint!r} is not http://HOST:PORT")
    return host.strip("[]"), int(port)


class EtcdStore(MetaStore):
    """`MetaStore` on an etcd cluster; `on_close` runs after the connection closes (used by
    `--etcd auto` to stop the server it started)."""

    def __init__(self, endpoints: list[str], timeout: float = DEFAULT_TIMEOUT, on_close=None):
        if not endpoints:
            raise ValueError("no etcd endpoint given")
        self._endpoints = [split_endpoint(e) for e in endpoints]
        self._timeout = timeout
        self._on_close = on_close
        self._client: aetcd.Client | None = None
        self._where = ""
        self._watches: list[_EtcdWatch] = []
        self._guard: tuple[bytes, bytes] | None = None   # (leader key, its value): see `fence`

    def fence(self, key: str, value: bytes) -> None:
        """From now on every put, delete and create is conditioned on `key` holding `value`
        (this master's leader key), in the same transaction; refused with NotLeader if not."""
        self._guard = (check_key(key), check_value(value))

    async def connect(self) -> "EtcdStore":
        """Connects to the first endpoint that answers; StoreUnavailable naming all if none does."""
        failures = []
        for host, port in self._endpoints:
            client = aetcd.Client(host=host, port=port, timeout=self._timeout)
            try:
                await asyncio.wait_for(client.status(), self._timeout)
            except (etcd_errors.ClientError, asyncio.TimeoutError, OSError) as e:
                failures.append(f"{host}:{port} ({type(e).__name__}: {e})")
                await client.close()
                continue
            self._client, self._where = client, f"{host}:{port}"
            return self
        raise StoreUnavailable(f"no etcd endpoint answered within {self._timeout:g} s: {'; '.join(failures)}")

    async def get(self, key):
        raw = check_key(key)
        got = await self._call(self._c().get(raw))
        return got.value if got is not None else None

    async def put(self, key, value, lease=None):
        raw, lease = check_key(key), check_lease(lease)
        if self._guard is not None:
            await self._guarded(self._c().transactions.put(raw, check_value(value), lease=lease), key)
            return
        await self._call(self._c().put(raw, check_value(value), lease=lease), key)

    async def delete(self, key):
        raw = check_key(key)
        if self._guard is not None:
            answer = await self._guarded(self._c().transactions.delete(raw), key)
            return answer.response_delete_range.deleted > 0
        gone = await self._call(self._c().delete(raw))
        return gone is not None and gone.deleted > 0   # aetcd answers None when nothing was deleted

    async def _guarded(self, op, key: str):
        """`op` in a transaction conditioned on the fence; its answer, or NotLeader."""
        c = self._c()
        guard, holds = self._guard
        ok, answers = await self._call(c.transaction(compare=[c.transactions.value(guard) == holds],
                                                     success=[op], failure=[]), key)
        if not ok:
            raise NotLeader(f"write of {key!r} refused: {guard.decode()!r} no longer names this master")
        return answers[0]

    async def range(self, prefix):
        got = await self._call(self._c().get_prefix(check_prefix(prefix), sort_order="ascend"))
        return [(kv.key.decode(), kv.value) for kv in got]

    async def create(self, key, value, lease=None):
        return await self._create(key, value, lease, self._guard)

    async def claim(self, key: str, value: bytes, lease: int | None = None) -> tuple[bytes, bool]:
        """`create` without the fence: how a master campaigns for the leader key (leadership.py)."""
        return await self._create(key, value, lease, None)

    async def release(self, key: str, value: bytes) -> bool:
        """Deletes `key` if it holds `value` (one txn, without the fence); True if it did."""
        raw, value = check_key(key), check_value(value)
        c = self._c()
        t = c.transactions
        ok, _ = await self._call(c.transaction(compare=[t.value(raw) == value], success=[t.delete(raw)], failure=[]), key)
        return ok

    async def _create(self, key, value, lease, guard):
        raw, value, lease = check_key(key), check_value(value), check_lease(lease)
        c = self._c()
        t = c.transactions
        fenced = [t.value(guard[0]) == guard[1]] if guard is not None else []
        ok, answers = await self._call(c.transaction(compare=[t.create(raw) == 0] + fenced,
                                                     success=[t.put(raw, value, lease=lease)],
                                                     failure=[t.get(raw)] + ([t.get(guard[0])] if fenced else [])), key)
        if ok:
            return value, True
        if fenced and [v for v, _ in answers[1]] != [guard[1]]:
            raise NotLeader(f"create of {key!r} refused: {guard[0].decode()!r} no longer names this master")
        return answers[0][0][0], False

    async def grant(self, ttl):
        return (await self._call(self._c().lease(check_ttl(ttl)))).id

    async def keepalive(self, lease):
        reply = await self._call(self._c().refresh_lease(check_lease(lease)))
        return reply is not None and reply.TTL > 0

    async def revoke(self, lease):
        try:
            await self._call(self._c().revoke_lease(check_lease(lease)))
        except LeaseNotFound:
            pass   # already expired or revoked: the contract makes revoke idempotent

    def watch(self, prefix):
        return _EtcdWatch(self, check_prefix(prefix))

    async def close(self):
        for w in list(self._watches):
            await w.__aexit__(None, None, None)
        client, self._client = self._client, None
        try:
            if client is not None:
                await client.close()
        finally:
            if self._on_close is not None:
                on_close, self._on_close = self._on_close, None
                on_close()

    def _c(self) -> aetcd.Client:
        if self._client is None:
            raise StoreError("the etcd store is not connected (call connect()) or is closed")
        return self._client

    async def _call(self, request, key: str = ""):
        """Awaits one request, translating aetcd's errors into the store's."""
        try:
            return await request
        except etcd_errors.ClientError as e:
            raise self._translate(e, key) from e

    def _translate(self, e: Exception, key: str) -> StoreError:
        text = str(e)
        if "lease not found" in text:
            return LeaseNotFound(f"lease has expired or was revoked{f': {key!r} was not stored' if key else ''}")
        if isinstance(e, (etcd_errors.ConnectionFailedError, etcd_errors.ConnectionTimeoutError)):
            return StoreUnavailable(f"etcd at {self._where} did not answer within {self._timeout:g} s: {text}")
        return StoreError(f"etcd at {self._where}: {type(e).__name__}: {text}")


class _EtcdWatch(Watch):
    def __init__(self, store: EtcdStore, prefix: bytes):
        self._store = store
        self._prefix = prefix
        self._watch = None
        self._events = None

    async def __aenter__(self):
        self._watch = await self._store._call(self._store._c().watch_prefix(self._prefix))
        self._events = self._watch.__aiter__()
        self._store._watches.append(self)
        return self

    async def __aexit__(self, *exc):
        if self in self._store._watches:
            self._store._watches.remove(self)
        watch, self._watch = self._watch, None
        if watch is not None:
            await watch.cancel()

    async def __anext__(self):
        if self._events is None:
            raise StopAsyncIteration
        try:
            event = await self._events.__anext__()
        except etcd_errors.ClientError as e:
            raise self._store._translate(e, "") from e
        kind = "put" if event.kind == "PUT" else "delete"
        return WatchEvent(kind, event.kv.key.decode(), event.kv.value if kind == "put" else None)
