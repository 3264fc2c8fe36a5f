"""Leader election and fencing (runtime/yr_runtime/leadership.py) on a real etcd: two
masters' Leaderships, each on its own connection, as two master processes would have."""
import asyncio
import os
import socket
import subprocess
import time

import pytest

from yr_runtime import leadership
from yr_runtime.leadership import Leadership
from yr_runtime.store import NotLeader, decode_json, encode_json, keys
from yr_runtime.store import etcd_server
from yr_runtime.store.etcd import EtcdStore

TTL = 3


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    server = etcd_server.start(tmp_path_factory.mktemp("etcd-election"))
    yield server
    server.stop()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def two(url, cid):
    stores = [await EtcdStore([url]).connect() for _ in range(2)]
    loop = asyncio.get_running_loop()
    return stores, [Leadership(s, cid, f"m{i}", {"address": f"127.0.0.1:{i}"}, TTL, loop.time)
                    for i, s in enumerate(stores)]


async def close(stores):
    for s in stores:
        await s.close()


def test_of_two_masters_campaigning_at_once_exactly_one_leads_and_the_other_stands_by(etcd):
    async def go():
        stores, (a, b) = await two(etcd.url, "at-once")
        seen = []
        tasks = [asyncio.ensure_future(m.campaign(seen.append)) for m in (a, b)]
        await asyncio.wait(tasks, timeout=3 * TTL, return_when=asyncio.FIRST_COMPLETED)
        winner = a if tasks[0].done() else b
        holding = asyncio.ensure_future(winner.hold())   # it keeps its lease: the other waits on
        done, pending = await asyncio.wait(tasks, timeout=2 * TTL)
        holding.cancel()
        leader = decode_json(await stores[0].get(keys.leader_key("at-once")))
        for t in pending:
            t.cancel()
        await close(stores)
        return len(done), len(pending), winner.master_id, leader["id"], [s["id"] for s in seen], (a.leading, b.leading)
    n_done, n_pending, winner, leader, seen, leading = run(go())
    assert (n_done, n_pending) == (1, 1)
    assert leader == winner and seen == [winner] and sorted(leading) == [False, True]


def test_a_standby_leads_once_the_leaders_lease_ends_and_the_old_leaders_writes_are_refused(etcd):
    async def go():
        stores, (a, b) = await two(etcd.url, "takeover")
        await a.campaign(lambda _: None)
        await stores[0].put(keys.job_key("takeover", "j1"), encode_json("a"))   # fenced, and it holds
        standby = asyncio.ensure_future(b.campaign(lambda _: None))
        await asyncio.sleep(TTL / 2)
        assert not standby.done()   # the leader's lease holds (it is not renewed: `hold` is not running)
        t0 = time.monotonic()
        await asyncio.wait_for(standby, 4 * TTL)   # its lease ends: b leads
        took = time.monotonic() - t0
        refused = []
        for write in (stores[0].put(keys.job_key("takeover", "j1"), encode_json("stale")),
                      stores[0].delete(keys.job_key("takeover", "j1")),
                      stores[0].create(keys.job_key("takeover", "j2"), encode_json("stale"))):
            try:
                await write
            except NotLeader as e:
                refused.append(str(e))
        await stores[1].put(keys.job_key("takeover", "j3"), encode_json("b"))   # the new leader writes
        held = {keys.last_segment(k): decode_json(v) for k, v in await stores[1].range(keys.jobs_prefix("takeover"))}
        why = await asyncio.wait_for(a.hold(), 4 * TTL)   # the old leader learns it and steps down
        await close(stores)
        return took, refused, held, why, a.acting(), b.acting()
    took, refused, held, why, a_acts, b_acts = run(go())
    assert took < 4 * TTL
    assert len(refused) == 3 and all("no longer names this master" in r for r in refused), refused
    assert held == {"j1": "a", "j3": "b"}   # nothing of the stale leader's writes
    assert "m1" in why and "leads now" in why and not a_acts and b_acts


def test_a_leader_that_resigns_is_followed_at_once(etcd):
    async def go():
        stores, (a, b) = await two(etcd.url, "resign")
        await a.campaign(lambda _: None)
        standby = asyncio.ensure_future(b.campaign(lambda _: None))
        await asyncio.sleep(0.3)
        await a.resign()
        await asyncio.wait_for(standby, TTL)   # sooner than the lease: the key went with the revoke
        leader = decode_json(await stores[1].get(keys.leader_key("resign")))
        await close(stores)
        return leader["id"]
    assert run(go()) == "m1"


def test_a_leader_acts_while_its_lease_surely_holds_or_no_other_master_campaigns():
    clock = [0.0]
    m = Leadership(None, "c", "m0", {}, TTL, lambda: clock[0])
    assert not m.acting()   # not leading yet
    m.leading, m.valid_until = True, 2.0
    assert m.acting()
    clock[0] = 2.5
    assert m.acting()       # lease lapsed, but no rival: no one else can lead
    m.rivals = 1
    assert not m.acting()   # another master campaigns: it may lead now
    assert leadership.lease_ttl(6) == 3 and leadership.lease_ttl(30) == 10 and leadership.lease_ttl(1) == 3


def test_a_master_restarted_on_the_same_machine_takes_over_from_its_dead_predecessor_at_once(etcd):
    async def go():
        stores, (a, b) = await two(etcd.url, "restarted")
        gone = subprocess.Popen(["true"])
        gone.wait()   # a pid of this machine that is gone
        long = await stores[0].grant(120)
        await stores[0].claim(keys.leader_key("restarted"), encode_json(
            {"id": "old", "host": socket.gethostname(), "pid": gone.pid}), long)
        await asyncio.wait_for(b.campaign(lambda _: None), 20)   # far sooner than the old lease (120 s)
        held = decode_json(await stores[1].get(keys.leader_key("restarted")))
        alive = await stores[0].grant(120)   # a live master of this machine is waited for
        await stores[0].put(keys.leader_key("other"), encode_json({"id": "x", "host": socket.gethostname(),
                                                                   "pid": os.getpid()}), alive)
        c = Leadership(stores[0], "other", "m2", {}, TTL, asyncio.get_running_loop().time)
        waiting = asyncio.ensure_future(c.campaign(lambda _: None))
        await asyncio.sleep(2 * TTL)
        still = not waiting.done()
        waiting.cancel()
        await stores[0].revoke(alive)
        await close(stores)
        return held["id"], still
    assert run(go()) == ("m1", True)
