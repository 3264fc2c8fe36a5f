"""Progress of a long command-line operation, instead of silence: on a terminal one line
rewritten in place, elsewhere (logs, pipes) a line at most every `every` seconds, and only
once the operation has lasted `after` seconds (a quick one prints nothing)."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, what: str, out=None, after: float = 1.0, every: float = 2.0, clock=time.monotonic):
        self.what, self.out, self.after, self.every, self.clock = what, out or sys.stderr, after, every, clock
        self.start = clock()
        self.last = float("-inf")
        self.shown = False
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())

    def update(self, status: str) -> None:
        """Shows `status` (e.g. "120 workers left") if it is time to."""
        now = self.clock()
        if now - self.start < self.after or (not self.tty and now - self.last < self.every):
            return
        self.last = now
        line = f"{self.what}: {status} ({now - self.start:.0f}s)"
        self.out.write(f"\r\x1b[K{line}" if self.tty else f"{line}\n")
        self.out.flush()
        self.shown = True

    def done(self, status: str = "done") -> None:
        if self.shown:
            self.out.write(f"\r\x1b[K{self.what}: {status}\n" if self.tty else f"{self.what}: {status}\n")
            self.out.flush()
