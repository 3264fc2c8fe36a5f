"""Shared-memory files allocated ahead for large values: one spare per process.

A large value is written into a new file in /dev/shm, and most of that write's cost is the
kernel allocating and zeroing the file's pages: rewriting allocated pages runs at memcpy
speed. So after writing a large value a process allocates a spare file of the same size in
a background thread (`prepare`), and its next large value of about that size is written
into the spare (`take`, then `name`). The rules:

- A spare is an O_TMPFILE: it has no name until a value claims it (linked under the
  value's path), so it vanishes with its process however that ends, and a forked child
  never sees its parent's spare.
- One spare per process, for values of MIN bytes or more; a value takes it when its size
  is between a quarter of the spare's and the spare's (a larger spare is cut to size).
- An unclaimed spare is released after KEEP seconds, and none is made while /dev/shm has
  less than three times its size free: a spare never takes the room of a value.
"""
from __future__ import annotations

import os
import threading

MIN = 8 << 20     # smaller values are not worth a spare
KEEP = 2.0        # seconds an unclaimed spare is kept

_lock = threading.Lock()
_spare: "_Spare | None" = None   # the ready spare, if any
_making = False                  # a spare is being allocated


class _Spare:
    def __init__(self, fd: int, size: int):
        self.fd, self.size = fd, size
        self.claimed = threading.Event()


def take(size: int) -> int | None:
    """The descriptor of a spare for a value of `size` bytes (positioned at 0), or None. The
    caller writes the value into it, then calls `name` and closes it."""
    global _spare
    if size < MIN:
        return None
    with _lock:
        s = _spare
        if s is None or not s.size // 4 <= size <= s.size:
            return None
        _spare = None
    s.claimed.set()
    return s.fd


def name(fd: int, path: str, size: int) -> None:
    """Gives a spare holding a value of `size` bytes its path (OSError if it cannot)."""
    os.ftruncate(fd, size)
    # linkat(AT_SYMLINK_FOLLOW) names an O_TMPFILE; os.link calls it only with a directory fd
    directory = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY)
    try:
        os.link(f"/proc/self/fd/{fd}", os.path.basename(path), dst_dir_fd=directory, follow_symlinks=True)
    finally:
        os.close(directory)


def prepare(directory: str, size: int) -> None:
    """Allocates a spare for a later value of about `size` bytes, in a background thread."""
    global _making
    if size < MIN:
        return
    with _lock:
        if _making or (_spare is not None and _spare.size >= size):
            return
        _making = True
    threading.Thread(target=_make, args=(directory, size), name="yr-shm-spare", daemon=True).start()


def _make(directory: str, size: int) -> None:
    global _spare, _making
    spare = None
    try:
        st = os.statvfs(directory)
        if st.f_bavail * st.f_frsize >= 3 * size:
            fd = os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError:
                os.close(fd)
                raise
            spare = _Spare(fd, size)
    except OSError:
        pass   # no O_TMPFILE or no room: values are written into new files, as without spares
    with _lock:
        _making = False
        if spare is None:
            return
        old, _spare = _spare, spare
    if old is not None:   # a smaller spare nobody took (a take removes it under the lock)
        old.claimed.set()   # its thread stops waiting
        os.close(old.fd)
    if not spare.claimed.wait(KEEP):
        _release(spare)


def _release(s: _Spare) -> None:
    global _spare
    with _lock:
        if _spare is not s:
            return   # claimed meanwhile: its writer owns the descriptor
        _spare = None
    os.close(s.fd)


def _forget_in_child() -> None:
    """A forked child must not write into its parent's spare (the same file)."""
    global _spare, _making, _lock
    _lock = threading.Lock()
    if _spare is not None:
        try:
            os.close(_spare.fd)
        except OSError:
            pass
    _spare, _making = None, False


os.register_at_fork(after_in_child=_forget_in_child)
