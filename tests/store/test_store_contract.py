"""The metadata store's contract (yr_runtime/store/base.py), run against every backend: the
embedded MemoryStore (on a clock the test moves) and EtcdStore on a real etcd started with
etcd_server.py (real time). Each test works under its own cluster id, so tests sharing the
one etcd of this module never see each other's keys."""
from __future__ import annotations

import asyncio
import itertools

import pytest
from yr_testing import runtime_processes  # noqa: F401  (first: isolates the session root)

from yr_runtime.store import (LeaseNotFound, MemoryStore, StoreError, WatchEvent, decode_json, encode_json, keys)
from yr_runtime.store.etcd import EtcdStore
from yr_runtime.store import etcd_server

_ids = itertools.count()


class ManualClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class MemoryBackend:
    """The embedded store; `elapse` moves its clock instead of sleeping."""
    name = "memory"

    async def open(self):
        self.clock = ManualClock()
        return MemoryStore(self.clock)

    async def elapse(self, seconds: float):
        self.clock.now += seconds
        await asyncio.sleep(0)


class EtcdBackend:
    """A real etcd; `elapse` sleeps (etcd's leases run on its own clock)."""
    name = "etcd"

    def __init__(self, url):
        self.url = url

    async def open(self):
        return await EtcdStore([self.url]).connect()

    async def elapse(self, seconds: float):
        await asyncio.sleep(seconds)


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    server = etcd_server.start(tmp_path_factory.mktemp("etcd-session"))
    yield server
    server.stop()


@pytest.fixture(params=["memory", "etcd"])
def backend(request):
    return MemoryBackend() if request.param == "memory" else EtcdBackend(request.getfixturevalue("etcd").url)


def run(backend, body):
    """Runs `body(store, cluster_id)` on a fresh store of `backend` in its own event loop."""
    async def main():
        store = await backend.open()
        try:
            return await asyncio.wait_for(body(store, f"test{next(_ids)}"), 60)
        finally:
            await store.close()
    return asyncio.run(main())


async def until(predicate, what: str, bound: float = 15.0):
    """Waits for `predicate()` (async) to hold; fails naming `what` after `bound` seconds
    (a bound against hanging, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    while not await predicate():
        assert loop.time() < deadline, f"{what} did not happen within {bound} s"
        await asyncio.sleep(0.05)


async def _absent(store, key) -> bool:
    return await store.get(key) is None


async def next_event(watch, bound: float = 15.0) -> WatchEvent:
    return await asyncio.wait_for(watch.__anext__(), bound)


def test_put_get_delete_range(backend):
    async def body(s, cid):
        a, b = keys.node_key(cid, "a"), keys.node_key(cid, "b")
        assert await s.get(a) is None
        await s.put(b, b"2")
        await s.put(a, b"1")
        await s.put(a, b"1 again")
        await s.put(keys.job_key(cid, "j"), b"not a node")
        await s.put(keys.node_key(cid + "x", "a"), b"another cluster")
        assert await s.get(a) == b"1 again"
        assert await s.range(keys.nodes_prefix(cid)) == [(a, b"1 again"), (b, b"2")]
        assert await s.delete(a) is True
        assert await s.delete(a) is False
        assert await s.get(a) is None
        assert await s.range(keys.nodes_prefix(cid)) == [(b, b"2")]
        assert await s.range(keys.instances_prefix(cid)) == []
    run(backend, body)


def test_values_are_bytes_kept_exactly(backend):
    async def body(s, cid):
        every_byte, empty, big = bytes(range(256)) * 4, b"", b"\0\xff" * 200_000
        for i, value in enumerate((every_byte, empty, big)):
            await s.put(keys.instance_key(cid, str(i)), value)
            assert await s.get(keys.instance_key(cid, str(i))) == value
        doc = {"node": "n1", "resources": {"cpu": 4000}, "labels": ["a", "b"]}
        await s.put(keys.instance_key(cid, "json"), encode_json(doc))
        assert decode_json(await s.get(keys.instance_key(cid, "json"))) == doc
    run(backend, body)


def test_get_or_create_has_exactly_one_winner_among_concurrent_tasks(backend):
    async def body(s, cid):
        key = keys.name_key(cid, "", "counter")

        async def claim(i):
            return await s.create(key, f"instance-{i}".encode())
        results = await asyncio.gather(*(claim(i) for i in range(24)))
        winners = [value for value, created in results if created]
        assert len(winners) == 1
        assert {value for value, _ in results} == {winners[0]}
        assert await s.get(key) == winners[0]
        assert await s.create(key, b"late") == (winners[0], False)
    run(backend, body)


def test_lease_bound_key_vanishes_after_ttl_without_keepalive(backend):
    async def body(s, cid):
        lease = await s.grant(1)
        node = keys.node_key(cid, "n1")
        await s.put(node, b"alive", lease=lease)
        assert await s.get(node) == b"alive"
        await backend.elapse(1.5)
        await until(lambda: _absent(s, node), "expiry of the node's lease")
        assert await s.keepalive(lease) is False
        with pytest.raises(LeaseNotFound, match="expired or was revoked"):
            await s.put(node, b"again", lease=lease)
    run(backend, body)


def test_lease_bound_key_stays_while_kept_alive(backend):
    async def body(s, cid):
        lease = await s.grant(2)
        node, other = keys.node_key(cid, "n1"), keys.node_key(cid, "n2")
        await s.put(node, b"alive", lease=lease)
        await s.put(other, b"no lease")
        for _ in range(25):            # 5 s: more than two TTLs
            assert await s.keepalive(lease) is True
            await backend.elapse(0.2)
        assert await s.get(node) == b"alive"
        await s.revoke(lease)
        assert await s.get(other) == b"no lease"
    run(backend, body)


def test_revoke_deletes_the_lease_keys_at_once_and_is_idempotent(backend):
    async def body(s, cid):
        lease, kept = await s.grant(30), await s.grant(30)
        mine = [keys.node_key(cid, "n1"), keys.job_key(cid, "j1")]
        for k in mine:
            await s.put(k, b"x", lease=lease)
        await s.create(keys.leader_key(cid), b"me", lease=kept)
        await s.revoke(lease)
        assert [await s.get(k) for k in mine] == [None, None]
        assert await s.get(keys.leader_key(cid)) == b"me"
        assert await s.keepalive(lease) is False
        await s.revoke(lease)          # a gone lease: no error
        with pytest.raises(LeaseNotFound):
            await s.create(keys.node_key(cid, "n2"), b"x", lease=lease)
        await s.revoke(kept)
    run(backend, body)


def test_a_key_put_again_without_lease_outlives_the_lease(backend):
    async def body(s, cid):
        lease = await s.grant(30)
        k = keys.instance_key(cid, "i1")
        await s.put(k, b"leased", lease=lease)
        await s.put(k, b"plain")
        await s.revoke(lease)
        assert await s.get(k) == b"plain"
    run(backend, body)


def test_watch_sees_puts_and_deletes_under_its_prefix_in_order(backend):
    async def body(s, cid):
        a = keys.instance_key(cid, "a")
        async with s.watch(keys.instances_prefix(cid)) as w:
            await s.put(keys.node_key(cid, "outside"), b"not watched")
            await s.put(a, b"1")
            await s.put(a, b"2")
            await s.create(keys.instance_key(cid, "b"), b"3")
            await s.delete(a)
            await s.delete(a)            # nothing to delete: no event
            await s.put(keys.instance_key(cid, "c"), b"4")
            got = [await next_event(w) for _ in range(5)]
        assert got == [WatchEvent("put", a, b"1"), WatchEvent("put", a, b"2"),
                       WatchEvent("put", keys.instance_key(cid, "b"), b"3"), WatchEvent("delete", a, None),
                       WatchEvent("put", keys.instance_key(cid, "c"), b"4")]
    run(backend, body)


def test_watch_sees_a_lease_expire_without_other_calls(backend):
    async def body(s, cid):
        node = keys.node_key(cid, "n1")
        async with s.watch(keys.nodes_prefix(cid)) as w:
            lease = await s.grant(1)
            await s.put(node, b"alive", lease=lease)
            assert await next_event(w) == WatchEvent("put", node, b"alive")
            await backend.elapse(1.5)
            assert await next_event(w) == WatchEvent("delete", node, None)
    run(backend, body)


def test_closing_the_store_ends_open_watches(backend):
    async def body(s, cid):
        async with s.watch(keys.cluster_prefix(cid)) as w:
            waiter = asyncio.ensure_future(w.__anext__())
            await asyncio.sleep(0.05)
            await s.close()
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(waiter, 15)
    run(backend, body)


@pytest.mark.parametrize("value", ["text", bytearray(b"x"), memoryview(b"x"), None, {"a": 1}, 7])
def test_a_value_that_is_not_bytes_is_refused_naming_its_type(backend, value):
    async def body(s, cid):
        k = keys.node_key(cid, "n")
        for call in (lambda: s.put(k, value), lambda: s.create(k, value)):
            with pytest.raises(TypeError, match=f"store values are bytes, got {type(value).__name__}"):
                await call()
        assert await s.get(k) is None
    run(backend, body)


@pytest.mark.parametrize("key, error, message", [
    (b"/yr/v1/c/nodes/n", TypeError, "store keys are str, got bytes"),
    (None, TypeError, "store keys are str, got NoneType"),
    ("nodes/n", ValueError, "outside '/yr/v1/'"),
    ("/other/app/key", ValueError, "outside '/yr/v1/'"),
    ("/yr/v1/c/nodes/a\nb", ValueError, "unprintable"),
    ("/yr/v1/c/" + "x" * 5000, ValueError, "more than 4096"),
])
def test_a_bad_key_is_refused_saying_what_is_wrong(backend, key, error, message):
    async def body(s, cid):
        for call in (lambda: s.get(key), lambda: s.put(key, b"v"), lambda: s.delete(key),
                     lambda: s.create(key, b"v")):
            with pytest.raises(error, match=message):
                await call()
        with pytest.raises(error):
            await s.range(key)
        with pytest.raises(error):
            s.watch(key)
    run(backend, body)


def test_bad_leases_and_ttls_are_refused(backend):
    async def body(s, cid):
        for ttl, error in ((0, ValueError), (-1, ValueError), (1.5, TypeError), ("5", TypeError), (True, TypeError)):
            with pytest.raises(error, match="lease TTL"):
                await s.grant(ttl)
        for lease in ("1", 0, -3, 1.0):
            with pytest.raises(TypeError, match="a lease is the positive int id grant"):
                await s.put(keys.node_key(cid, "n"), b"v", lease=lease)
        with pytest.raises(LeaseNotFound):
            await s.put(keys.node_key(cid, "n"), b"v", lease=987654321)
    run(backend, body)


def test_a_closed_store_refuses_calls(backend):
    async def body(s, cid):
        await s.close()
        with pytest.raises(StoreError, match="closed"):
            await s.get(keys.node_key(cid, "n"))
    run(backend, body)
