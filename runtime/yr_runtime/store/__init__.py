"""Cluster metadata (nodes, leader, instances, names, jobs) in a key-value store.

One async interface, `MetaStore`, two backends: `MemoryStore` (in process, the default:
no extra process, no port) and `EtcdStore` (an etcd cluster through the aetcd client,
imported only when used). `open_store` picks one from the `--etcd` value. Keys are laid
out by `keys`; values are bytes (JSON through `encode_json`/`decode_json`, never pickles).
"""
from yr_runtime.store.base import (LeaseNotFound, MetaStore, NotLeader, StoreError, StoreUnavailable, Watch, WatchEvent,
                                   decode_json, encode_json)
from yr_runtime.store.factory import open_store
from yr_runtime.store.memory import MemoryStore

__all__ = ["MetaStore", "MemoryStore", "Watch", "WatchEvent", "StoreError", "StoreUnavailable", "LeaseNotFound",
           "NotLeader",            "encode_json", "decode_json", "open_store"]
