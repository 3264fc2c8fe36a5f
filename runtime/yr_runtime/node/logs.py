"""Reading a worker's log for `yr logs` and the dashboard: where each instance's output went
on this node, and bounded reads of it (a chunk from an offset, or the last lines)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

KEPT = 4096                 # instances whose log file a node remembers (the newest)
DEFAULT_MAX_BYTES = 1 << 20  # what one read returns at most


@dataclass(frozen=True)
class LogRead:
    """A piece of a worker's log: `data` from the asked offset (or the tail), and the offset
    to read on from. `found` is False when this node has no log of the instance."""
    data: bytes = b""
    next_offset: int = 0
    found: bool = False


def remember_log(files: dict, instance_id: str, path: Path) -> None:
    """Records where the instance's (newest) worker writes; the oldest entries go past KEPT."""
    files.pop(instance_id, None)
    files[instance_id] = path
    while len(files) > KEPT:
        files.pop(next(iter(files)))


def read_log(path: Path | None, offset: int, tail_lines: int, max_bytes: int) -> LogRead:
    """Reads at most `max_bytes` (<= 0: DEFAULT_MAX_BYTES) of the log at `path`: from byte
    `offset`, or with offset < 0 the last `tail_lines` lines (all of the last max_bytes if
    tail_lines <= 0). A missing file reads as not found."""
    max_bytes = max_bytes if max_bytes > 0 else DEFAULT_MAX_BYTES
    if path is None:
        return LogRead()
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            start = max(0, size - max_bytes) if offset < 0 else min(offset, size)
            f.seek(start)
            data = f.read(max_bytes)
    except OSError:
        return LogRead()
    end = start + len(data)
    if offset < 0:
        if start > 0:   # the first line may be cut: keep whole lines only
            data = data[data.find(b"\n") + 1:] if b"\n" in data else data
        if tail_lines > 0:
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-tail_lines:])
    return LogRead(data, end, True)
