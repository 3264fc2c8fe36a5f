"""The recorder: writes what changed in the master to the metadata store, off every call path.

The master tells it what changed (an instance's record, a node joined, heartbeated or left,
a job started or ended) through plain method calls that only note the change and return;
a task of its own writes the notes to the store (`MetaStore`) in the order they came, the
latest note of one key replacing an older one not yet written. So nothing the master, a
driver or a node does ever waits for the store. Rules it keeps:
- A store that fails (etcd down, stopped, partitioned) never stops the master: the notes
  stay queued, the failure is logged once in words ("the metadata store is unreachable
  ... N changes wait"), the write is retried every RETRY seconds, and when the store is
  back that is logged too.
- Keys as docs/architecture.md "Metadata store" says: `nodes/<id>` bound to a lease of the
  node's TTL, kept alive on its heartbeats (re-granted if it lapsed while the store was
  away); `instances/<id>` (deleted when the instance is dead); `names/<ns>/<name>` made
  with the store's get-or-create transaction `create`; `jobs/<id>`.
- `load()` reads the instances and jobs back (a restarted master).
- A write refused because this master's leader key is gone (`NotLeader`: the store is
  fenced, leadership.py) is written again only if `reclaim()` makes it the leader again
  (no other master took the key); otherwise the notes are dropped and `on_fenced` is told,
  once: another master decides now.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections import OrderedDict

from yr_runtime import records
from yr_runtime.core import cluster as core
from yr_runtime.store import MetaStore, NotLeader, StoreError, decode_json, encode_json, keys

log = logging.getLogger("yr.recorder")
RETRY = 0.5          # seconds between attempts while the store fails
CLUSTER_ID = "default"


class Recorder:
    def __init__(self, node_ttl: float, cluster_id: str = CLUSTER_ID):
        self.store: MetaStore | None = None   # set by `use`; notes wait for it
        self.cluster_id = cluster_id
        self.ttl = max(1, math.ceil(node_ttl))
        self._notes: OrderedDict = OrderedDict()   # key -> (op, arg), written oldest first
        self._leases: dict[str, int] = {}          # node id -> its store lease
        self._info: dict[str, bytes] = {}          # node id -> its nodes/ value (to put again)
        self._wake = asyncio.Event()
        self._failing = ""                         # why the store fails, while it does
        self._writing = asyncio.Lock()             # one writer at a time (the task, or a closing flush)
        self.written = 0
        self.on_fenced = None                      # called with why, once, when a write is refused as stale
        self.reclaim = None                        # async () -> bool: leads again? (leadership.py)
        self.fenced = ""

    def use(self, store: MetaStore) -> None:
        self.store = store

    def fenced_by(self, reclaim, on_fenced) -> None:
        """The store is fenced by this master's leadership (leadership.py): a refused write
        awaits `reclaim()` (True: leading again, write again), else `on_fenced(why)` is called."""
        self.reclaim, self.on_fenced = reclaim, on_fenced

    # ---- what changed (called by the master; each only notes and returns) -----------------------
    def instance(self, inst: core.Instance) -> None:
        key = keys.instance_key(self.cluster_id, inst.id)
        if inst.state == core.DEAD:
            self._note(key, "delete", None)
        else:
            self._note(key, "put", encode_json(records.instance_to_json(inst)))
        if inst.name:
            name = keys.name_key(self.cluster_id, inst.namespace, inst.name)
            self._note(name, "unname" if inst.state == core.DEAD else "name", inst.id)

    def node_joined(self, node_id: str, info: dict) -> None:
        self._info[node_id] = encode_json(info)
        self._note(keys.node_key(self.cluster_id, node_id), "node", (node_id, encode_json(info)))

    def node_alive(self, node_id: str) -> None:
        key = keys.node_key(self.cluster_id, node_id)
        if key not in self._notes:   # (a pending join or keep-alive says as much)
            self._note(key, "keepalive", node_id)

    def node_left(self, node_id: str) -> None:
        self._note(keys.node_key(self.cluster_id, node_id), "revoke", node_id)

    def job_started(self, job_id: str, info: dict) -> None:
        self._note(keys.job_key(self.cluster_id, job_id), "put", encode_json(info))

    def job_ended(self, job_id: str) -> None:
        self._note(keys.job_key(self.cluster_id, job_id), "delete", None)

    def _note(self, key: str, op: str, arg) -> None:
        self._notes.pop(key, None)
        self._notes[key] = (op, arg)
        self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._notes)

    # ---- reading back ------------------------------------------------------------------------------
    async def load(self) -> tuple[list[core.Instance], list[str]]:
        """The live instances and the jobs the store holds (for a restarted master)."""
        insts = []
        for key, value in await self.store.range(keys.instances_prefix(self.cluster_id)):
            try:
                insts.append(records.instance_from_json(decode_json(value)))
            except (ValueError, KeyError, TypeError) as e:
                log.error("ignoring the unreadable instance record %s: %s", key, e)
        jobs = [keys.last_segment(k) for k, _ in await self.store.range(keys.jobs_prefix(self.cluster_id))]
        return insts, jobs

    # ---- writing -----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Writes the notes until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self, give_up_after: float | None = None) -> bool:
        """Writes every note now; while the store fails, retries (until `give_up_after`
        seconds have passed, if given). True if nothing is left to write."""
        async with self._writing:
            return await self._flush(give_up_after)

    async def _flush(self, give_up_after: float | None) -> bool:
        loop = asyncio.get_running_loop()
        until = None if give_up_after is None else loop.time() + give_up_after
        while self._notes and self.store is not None:
            key, (op, arg) = next(iter(self._notes.items()))
            try:
                await self._write(key, op, arg)
            except NotLeader as e:
                if not await self._reclaimed():
                    return self._refused(e)
                continue
            except (StoreError, OSError, asyncio.TimeoutError) as e:
                self._failed(e)
                if until is not None and loop.time() >= until:
                    return False
                await asyncio.sleep(RETRY)
                continue
            if self._notes.get(key) == (op, arg):   # (unless a newer note of the key came meanwhile)
                del self._notes[key]
            self.written += 1
            if self._failing:
                log.warning("the metadata store answers again: writing the %d changes that waited", len(self._notes))
                self._failing = ""
        return not self._notes

    async def _reclaimed(self) -> bool:
        """Whether this master leads again after a refused write (False without `reclaim`)."""
        while self.reclaim is not None:
            try:
                return await self.reclaim()
            except (StoreError, OSError, asyncio.TimeoutError) as e:
                self._failed(e)
                await asyncio.sleep(RETRY)
        return False

    def _refused(self, e: NotLeader) -> bool:
        """This master no longer leads: nothing it noted may be written (another master decides)."""
        log.error("the metadata store refused a write: %s; %d changes dropped", e, len(self._notes))
        self._notes.clear()
        if not self.fenced:
            self.fenced = str(e)
            if self.on_fenced is not None:
                self.on_fenced(self.fenced)
        return True

    def _failed(self, e: Exception) -> None:
        if not self._failing:
            log.warning("the metadata store is unreachable (%s): %d changes wait and are retried every %gs; "
                        "calls and running instances are not affected", e, len(self._notes), RETRY)
        self._failing = str(e) or type(e).__name__

    async def _write(self, key: str, op: str, arg) -> None:
        s = self.store
        if op == "put":
            await s.put(key, arg)
        elif op == "delete":
            await s.delete(key)
        elif op == "name":
            value, made = await s.create(key, encode_json(arg))
            if not made and decode_json(value) != arg:   # its former holder died: the master decided
                await s.put(key, encode_json(arg))
        elif op == "unname":
            if await s.get(key) == encode_json(arg):
                await s.delete(key)
        elif op == "node":
            await self._node(key, *arg)
        elif op == "keepalive":
            lease = self._leases.get(arg)
            if (lease is None or not await s.keepalive(lease)) and arg in self._info:
                log.info("the store lease of node %s lapsed while the store was away: granting a new one", arg)
                await self._node(key, arg, self._info[arg])
        elif op == "revoke":
            lease = self._leases.pop(arg, None)
            self._info.pop(arg, None)
            if lease is not None:
                await s.revoke(lease)
            await s.delete(key)

    async def _node(self, key: str, node_id: str, value: bytes) -> None:
        old = self._leases.pop(node_id, None)
        if old is not None:
            await self.store.revoke(old)
        lease = await self.store.grant(self.ttl)
        self._leases[node_id] = lease
        await self.store.put(key, value, lease)
