"""A module imported ahead by idle warm workers (tests/sdk_python/test_worker_start.py): it
notes the runtime context its worker made while idle, before any assignment."""
import os

from yr import _context

AHEAD = getattr(_context, "_worker_ahead", None)   # (session dir, runtime) when made ahead
IMPORTED_AHEAD = "INSTANCE_ID" not in os.environ   # by an idle worker, before its Assign


class RuntimeProbe:
    def report(self):
        rt = _context.current()
        return {"imported_ahead": IMPORTED_AHEAD, "same": AHEAD is not None and AHEAD[1] is rt,
                "ids": (rt.job_id, rt.instance_id, os.environ.get("INSTANCE_ID"))}
