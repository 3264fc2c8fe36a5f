"""`open_store`: the metadata store a `--etcd` value asks for."""
from __future__ import annotations

import asyncio

from yr_runtime.store.base import MetaStore
from yr_runtime.store.memory import MemoryStore


async def open_store(spec: str, session_dir=None) -> MetaStore:
    """"" (the default) -> the embedded `MemoryStore`; "auto" -> a private etcd started in
    `session_dir` (stopped when the store is closed); "URL[,URL...]" -> an existing etcd
    cluster (http://HOST:PORT each). Raises ValueError for a malformed value, EtcdMissing
    without an etcd binary, StoreUnavailable when no endpoint answers."""
    if not isinstance(spec, str):
        raise TypeError(f"--etcd is a str, got {type(spec).__name__}")
    spec = spec.strip()
    if not spec:
        return MemoryStore()
    from yr_runtime.store import etcd   # only now: the default needs neither aetcd nor gRPC's asyncio
    if spec == "auto":
        return await _auto(session_dir)
    endpoints = [e for e in (p.strip() for p in spec.split(",")) if e]
    for e in endpoints:
        etcd.split_endpoint(e)   # refuse a malformed URL before any connection attempt
    return await etcd.EtcdStore(endpoints).connect()


async def _auto(session_dir) -> MetaStore:
    from yr_runtime.store import etcd, etcd_server
    if session_dir is None:
        raise ValueError("--etcd auto needs the session directory to keep etcd's data in")
    server = etcd_server.start(session_dir)   # on the loop's thread: the server dies with it
    try:
        return await etcd.EtcdStore([server.url], on_close=server.stop).connect()
    except BaseException:
        await asyncio.get_running_loop().run_in_executor(None, server.stop)
        raise
