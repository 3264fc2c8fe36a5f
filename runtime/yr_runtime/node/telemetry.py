"""A node's part of the metrics: the last `Metrics` report of each process of the node
(workers and drivers), and the node's own numbers (object store, warm pool), gathered into
one report for the master every second (docs/observability.md).

Only what changed since the last report is sent again: the master keeps the last report of
every source, so a source that went quiet (or whose worker exited) still counts there.
"""
from __future__ import annotations

from yr_runtime.wire import messages as m

MAX_OBJECTS_LISTED = 1000   # `yr list objects` shows at most this many per node


class NodeTelemetry:
    def __init__(self):
        self.sources: dict[str, dict] = {}
        self.changed: set[str] = set()

    def put(self, msg: m.Metrics) -> None:
        self.sources[msg.source] = {"instance_id": msg.instance_id, "class_name": msg.class_name,
                                    "calls": msg.calls, "queued": msg.queued, "user": msg.user}
        self.changed.add(msg.source)

    def report(self, store, warm: int) -> dict:
        """The node's report: changed sources, the store's objects and bytes, the warm pool.
        `store` is the agent's ObjectStore (its id -> (body, error, job) map and byte count)."""
        objects = store.objects
        changed = {s: self.sources[s] for s in self.changed if s in self.sources}
        self.changed.clear()
        listed = [[oid, len(body), job, bool(err)] for oid, (body, err, job) in
                  list(objects.items())[:MAX_OBJECTS_LISTED]]
        return {"sources": changed, "objects": len(objects),
                "object_bytes": store.bytes,
                "listed_objects": listed, "warm": warm}

    def forget(self, source: str) -> None:
        """A worker exited: its last report was sent already (or is in `changed`)."""
        if source not in self.changed:
            self.sources.pop(source, None)
