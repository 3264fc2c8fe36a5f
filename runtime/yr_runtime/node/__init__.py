"""The node agent: worker processes, the warm pool, per-worker logs and the node object store."""
