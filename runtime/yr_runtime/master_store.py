"""The master's metadata store: opened (and read back) when the master starts, closed when it stops.

`open_metadata` opens the store a `--etcd` value names (store.open_store: the embedded one
by default), hands it to the recorder and gives the master what the store remembers of a
previous master (instances, names, jobs: `Master.restore`). `close_metadata` writes what
is still queued (bounded) and closes the store. The daemon calls these two; nothing else
touches the store.
"""
from __future__ import annotations

import asyncio
import logging

from yr_runtime.master import Master
from yr_runtime.recorder import Recorder
from yr_runtime.store import StoreError, open_store

log = logging.getLogger("yr.master_store")
CLOSE_FLUSH = 3.0   # seconds a stopping master spends writing what is still queued


class MetadataError(RuntimeError):
    """The metadata store named by --etcd could not be opened."""


async def open_metadata(master: Master, recorder: Recorder, spec: str, session_dir, lead=None):
    """Opens the store, reloads what it holds into the master; MetadataError says why not.
    `lead(store)`, if given, is awaited first (a master sharing etcd becomes the leader
    before it reads: daemon.py); if it answers False (stopped while standing by) the store
    is closed and None returned."""
    try:
        store = await open_store(spec, session_dir)
    except (StoreError, ValueError, RuntimeError, OSError) as e:
        raise MetadataError(f"cannot open the metadata store --etcd {spec!r}: {e}") from None
    recorder.use(store)
    if lead is not None and not await lead(store):
        await store.close()
        return None
    try:
        instances, jobs = await recorder.load()
    except StoreError as e:
        await store.close()
        raise MetadataError(f"cannot read the metadata store --etcd {spec!r}: {e}") from None
    if instances or jobs:
        log.warning("the metadata store holds %d instances and %d jobs of a previous master: restored; their "
                    "nodes have their lease to register again", len(instances), len(jobs))
        master.restore(instances, jobs)
    return store


async def close_metadata(recorder: Recorder, store, resign=None) -> None:
    """Writes what is queued (for CLOSE_FLUSH seconds at most), awaits `resign()` if given
    (a leading master gives up its leadership), then closes the store (bounded too)."""
    try:
        if not await asyncio.wait_for(recorder.flush(give_up_after=CLOSE_FLUSH), CLOSE_FLUSH + 1):
            raise asyncio.TimeoutError
    except asyncio.TimeoutError:
        log.warning("the metadata store did not take %d last changes before the master stopped", recorder.queued)
    if resign is not None:
        await resign()
    try:
        await asyncio.wait_for(store.close(), CLOSE_FLUSH)
    except (asyncio.TimeoutError, StoreError, OSError) as e:
        log.warning("closing the metadata store failed: %s", e or type(e).__name__)
