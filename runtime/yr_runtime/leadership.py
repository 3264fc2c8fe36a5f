"""Leader election among the masters that share one etcd (`yr start --master --etcd URL`).

Etcd's election recipe, for a handful of masters:
- Each master holds one lease of `lease_ttl` seconds, kept alive every third of it, and
  under it the key `master/candidates/<id>` (so the leader knows whether anyone could
  take over) and, once it leads, `master/leader` (its id, address and pid).
- A master campaigns by creating `master/leader` with a transaction that compares the
  key's create revision with 0 (absent): of several masters started at once exactly one
  creates it. The others stand by, watching the key; when it is deleted (the leader's
  lease ended: it died, hung, was cut off, or stopped) they campaign again. A key naming a
  master of this machine whose process is gone (a master restarted in its place) is
  deleted at once (a txn comparing its value), not waited out.
- The leader `fence`s its store: from then on every write it makes is a transaction
  conditioned on `master/leader` still holding its value, so a master that lost its
  leadership without knowing it (paused, partitioned) has its writes refused.
- `acting()` says whether it may still act: it leads, and its lease surely holds (its
  last successful keep-alive was sent less than a TTL ago) or no other master campaigns
  (then no one can lead instead, and a briefly unreachable etcd changes nothing: calls,
  workers and creates go on as with a single master). The daemon refuses requests while
  it does not act, and `hold` returns (the master steps down: it stops, leaving its nodes
  to the next leader) when the lease is known to be gone and another master leads, or it
  lapsed while another campaigns.
Known limit: a leader whose lease expired while etcd was away, and that finds the key free
again, leads on with what it holds in memory; a rival that led and lost in between (both
cut off in turn) is not detected.
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
from typing import Callable

from yr_runtime.store import StoreError, decode_json, encode_json, keys

log = logging.getLogger("yr.leadership")
MIN_TTL = 3      # seconds: above etcd's shortest lease (2), and above the event loop's stalls under load
RETRY = 0.5      # seconds between campaign attempts while etcd fails


def lease_ttl(node_ttl: float) -> int:
    """The leader lease for a cluster whose node lease is `node_ttl`: a third of it (at least
    MIN_TTL), so a standby leads, and the nodes register with it, before they give up."""
    return max(MIN_TTL, math.floor(node_ttl / 3))


def shared(store) -> bool:
    """Whether masters can share `store` (an etcd that can fence writes): they campaign then."""
    return hasattr(store, "fence") and hasattr(store, "claim")


class Leadership:
    """One master's campaign and, once it won, its hold on the leadership (rules above).
    `clock` is the event loop's monotonic time."""

    def __init__(self, store, cluster_id: str, master_id: str, info: dict, ttl: int, clock: Callable[[], float]):
        self.store, self.ttl, self.clock = store, ttl, clock
        self.master_id = master_id
        self.key = keys.leader_key(cluster_id)
        self.candidate = keys.candidate_key(cluster_id, master_id)
        self.candidates = keys.candidates_prefix(cluster_id)
        self.host = socket.gethostname()
        self.value = encode_json(dict(info, id=master_id, host=self.host))
        self.lease: int | None = None
        self.leading = False
        self.valid_until = 0.0   # clock time until which the lease surely holds (sent + ttl)
        self.rivals = 0          # other masters campaigning at the last renewal
        self._failing = False
        self._retaking = asyncio.Lock()   # one retake at a time (`hold` and a refused write may both try)

    def acting(self) -> bool:
        """Whether this master may act as the leader now (see the rules above)."""
        return self.leading and (self.clock() < self.valid_until or self.rivals == 0)

    # ---- campaigning ------------------------------------------------------------------------
    async def campaign(self, standing_by: Callable[[dict], None]) -> None:
        """Returns once this master leads (its store fenced); `standing_by(leader)` is called
        once, with the leader's value, if another master leads first. Retries while etcd fails."""
        told = False
        while True:
            try:
                async with self.store.watch(self.key) as changes:
                    sent = await self._candidate()
                    holder, made = await self.store.claim(self.key, self.value, self.lease)
                    if made:
                        return self._won(sent)
                    if self._dead_here(decode_json(holder)):
                        await self.store.release(self.key, holder)   # (only if it still holds that value)
                        continue
                    if not told:
                        told = True
                        standing_by(decode_json(holder))
                    log.info("standing by: %s leads", decode_json(holder).get("id"))
                    await self._until_vacant(changes)
            except StoreError as e:
                log.warning("campaign for the leadership failed (%s): retrying", e)
                await asyncio.sleep(RETRY)

    def _dead_here(self, holder: dict) -> bool:
        """Whether the leader key names a master of this machine whose process is gone (this
        master restarted in its place): its lease need not be waited for."""
        if holder.get("host") != self.host or not isinstance(holder.get("pid"), int) or holder["pid"] <= 0:
            return False
        try:
            os.kill(holder["pid"], 0)
        except ProcessLookupError:
            log.warning("the leader key names %s, a master of this machine that is gone: taking over at once",
                        holder.get("id"))
            return True
        except PermissionError:
            pass
        return False

    async def _candidate(self) -> float:
        """Keeps (or makes anew) this master's lease and candidate key; the time it was sent."""
        sent = self.clock()
        if self.lease is None or not await self.store.keepalive(self.lease):
            self.lease = await self.store.grant(self.ttl)
        await self.store.claim(self.candidate, self.value, self.lease)
        return sent

    async def _until_vacant(self, changes) -> None:
        """Waits until the leader key is deleted, renewing this master's lease meanwhile (the
        watch's next event is awaited by one task throughout: cancelling it would end the watch)."""
        nxt = asyncio.ensure_future(changes.__anext__())
        try:
            while True:
                await asyncio.wait({nxt}, timeout=self.ttl / 3)
                if not nxt.done():
                    if not await self.store.keepalive(self.lease):
                        return   # (the candidate's own lease lapsed: made anew by the next round)
                    continue
                try:
                    event = nxt.result()
                except StopAsyncIteration:
                    return
                if event.key == self.key and event.kind == "delete":
                    return
                nxt = asyncio.ensure_future(changes.__anext__())
        finally:
            nxt.cancel()

    def _won(self, sent: float) -> None:
        self.leading, self.valid_until = True, sent + self.ttl
        self.store.fence(self.key, self.value)
        log.warning("this master leads now (leader lease %ds)", self.ttl)

    # ---- leading ----------------------------------------------------------------------------
    async def hold(self) -> str:
        """Keeps the leadership (renewing its lease every third of the TTL) until this master
        must step down; returns why."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            if not self.acting():
                return (f"its leader lease ({self.ttl}s) lapsed while etcd did not answer, and another master "
                        "campaigns: it may lead now")
            sent = self.clock()
            try:
                alive = await asyncio.wait_for(self.store.keepalive(self.lease), self.ttl / 3)
                self.rivals = sum(1 for k, _ in await self.store.range(self.candidates) if k != self.candidate)
            except (StoreError, asyncio.TimeoutError, OSError) as e:
                if not self._failing:
                    log.warning("cannot renew the leader lease (%s); leading on while it holds%s", e or type(e).__name__,
                                "" if self.rivals else " (no other master campaigns)")
                self._failing = True
                continue
            self._failing = False
            if alive:
                self.valid_until = sent + self.ttl
                continue
            holder = await self._retake()
            if holder is not None:
                return f"its leader lease expired and {holder.get('id')} ({holder.get('address')}) leads now"

    async def reclaim(self) -> bool:
        """A write was refused as stale: True if this master leads again (its lease had
        lapsed — etcd away, or this process stalled — and no other master took the key),
        False if another master leads (this one must step down). StoreError if etcd fails."""
        return await self._retake() is None

    async def _retake(self) -> dict | None:
        """The lease expired (etcd was away longer than it, or this process stalled): leads
        on if the key is free or still its own (None), else the value of the master that leads now."""
        async with self._retaking:
            if self.leading and await self.store.keepalive(self.lease) and await self.store.get(self.key) == self.value:
                return None   # (retaken meanwhile, or never lost)
            return await self._claim_again()

    async def _claim_again(self) -> dict | None:
        sent = self.clock()
        self.lease = await self.store.grant(self.ttl)
        await self.store.claim(self.candidate, self.value, self.lease)
        holder, made = await self.store.claim(self.key, self.value, self.lease)
        if made or holder == self.value:
            self.valid_until = sent + self.ttl
            log.warning("the leader lease expired while etcd was away; no other master leads: leading on")
            return None
        self.leading = False
        return decode_json(holder)

    def step_down(self) -> None:
        """This master stops acting as the leader now (its daemon stops)."""
        self.leading = False

    async def resign(self) -> None:
        """A leader that stops: its lease is revoked, so a standby leads at once (bounded)."""
        if self.lease is not None:
            self.leading = False
            try:
                await asyncio.wait_for(self.store.revoke(self.lease), self.ttl)
            except (StoreError, asyncio.TimeoutError, OSError) as e:
                log.warning("could not resign the leadership (%s): a standby takes over when its lease ends", e)
