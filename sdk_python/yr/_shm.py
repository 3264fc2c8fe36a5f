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
- The spare is also mapped and its page tables filled ahead (MADV_POPULATE_WRITE), so the
  value is a plain memcpy into it (`copy_into`), split over a few threads for large values
  (memmove releases the GIL): what Ray does into its pre-touched store. Where the kernel
  cannot populate, the value is written with write(2) as before. The writer's mapping is
  unmapped by the next spare's thread (`prepare(retire=...)`): unmapping 100 MiB of filled
  page tables costs milliseconds.
"""
from __future__ import annotations

import atexit
import ctypes
import mmap
import os
import threading

MIN = 8 << 20     # smaller values are not worth a spare
KEEP = 2.0        # seconds an unclaimed spare is kept
PIECE = 16 << 20  # a copy is split into pieces of this size over the copy threads
_MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)   # Linux 5.14
_copiers = None   # the copy threads (a pool made at the first large copy)
# Whether the last large put took a recycled file: then this process reads and drops its own
# values, the next one comes back too, and making a spare ahead would zero 100 MiB for nothing.
_recycling = False
_madvise = ctypes.CDLL(None, use_errno=True).madvise
_madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)

_lock = threading.Lock()
_spare: "_Spare | None" = None   # the ready spare, if any
_making = False                  # a spare is being allocated


class _Spare:
    def __init__(self, fd: int, size: int, mapping: "mmap.mmap | None" = None, path: str | None = None):
        self.fd, self.size, self.map = fd, size, mapping
        self.addr = address(mapping) if mapping is not None else 0
        self.path = path   # a recycled file's hidden name (an O_TMPFILE has none)
        self.claimed = threading.Event()

    def close(self) -> None:
        if self.map is not None:
            self.map.close()
        os.close(self.fd)
        if self.path is not None:
            _unlink(self.path)
            self.path = None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def take(size: int) -> "_Spare | None":
    """A spare for a value of `size` bytes (its `fd` positioned at 0; `map`, when not None, a
    writable mapping with its pages present), or None. The caller writes the value into it
    (`copy_into`, or write(2) on `fd`), calls `name`, then hands it to `prepare(retire=)`
    or `retire`."""
    global _spare, _recycling
    if size < MIN:
        return None
    with _lock:
        s = _spare
        if s is None or not s.size // 4 <= size <= s.size:
            _recycling = False
            return None
        _spare = None
        _recycling = s.path is not None
    s.claimed.set()
    return s


def name(spare: _Spare, path: str, size: int) -> None:
    """Gives a spare holding a value of `size` bytes its path (OSError if it cannot)."""
    fd = spare.fd
    os.ftruncate(fd, size)
    if spare.path is not None:   # a recycled file: renamed (an unlinked file cannot be linked again)
        os.rename(spare.path, path)
        spare.path = None
        return
    # linkat(AT_SYMLINK_FOLLOW) names an O_TMPFILE; os.link calls it only with a directory fd
    directory = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY)
    try:
        os.link(f"/proc/self/fd/{fd}", os.path.basename(path), dst_dir_fd=directory, follow_symlinks=True)
    finally:
        os.close(directory)


def retire(spare: _Spare) -> None:
    """Closes a taken spare now (its value failed)."""
    spare.close()


def prepare(directory: str, size: int, retire: "_Spare | None" = None) -> None:
    """Allocates a spare for a later value of about `size` bytes, in a background thread,
    which first closes `retire` (a spare taken and written)."""
    global _making
    with _lock:
        busy = size < MIN or _making or _recycling or (_spare is not None and _spare.size >= size)
        if not busy:
            _making = True
    if busy:
        if retire is not None:
            threading.Thread(target=retire.close, name="yr-shm-unmap", daemon=True).start()
        return
    threading.Thread(target=_make, args=(directory, size, retire), name="yr-shm-spare", daemon=True).start()


_held: dict = {}     # hidden name of a read value's file -> its writer's mapping (or None): see `hold`
_writers: dict = {}  # path of a put's file -> the spare it was copied into, mapping kept (`keep_writer`)


def keep_writer(path: str, spare: _Spare) -> None:
    """Keeps the writer's filled mapping of a put's file (no extra memory: the file holds the
    pages), so that if this process reads the value and drops it, the recycled file is a
    plain copy again. Dropped when the file leaves this process's hands (`drop_writer`)."""
    with _lock:
        _writers[path] = spare


def drop_writer(path: str) -> None:
    """Unmaps the writer's mapping of `path`, if kept (the file is freed, handed to the node
    store, or read without recycling), in a thread: unmapping 100 MiB costs milliseconds."""
    with _lock:
        w = _writers.pop(path, None)
    if w is not None:
        _close_later(w)


def _close_later(s: _Spare) -> None:
    try:
        threading.Thread(target=s.close, name="yr-shm-unmap", daemon=True).start()
    except RuntimeError:   # interpreter shutting down
        s.close()


def hold(path: str) -> str:
    """Renames the file of a value this process wrote and now reads (its only reader) to a
    hidden name, kept until the value is unmapped (`recycle`) or the runtime ends
    (`release_all`); returns that name. A file must keep a name to be named again later."""
    hidden = f"{path}-r"
    os.rename(path, hidden)
    with _lock:
        _held[hidden] = _writers.pop(path, None)
    return hidden


def release_all() -> None:
    """Removes the spare and every held name (yr.finalize, exit): nothing stays in /dev/shm.
    Values still mapped stay readable (a mapping outlives the file's name)."""
    global _spare
    with _lock:
        held, writers, s, _spare = list(_held.items()), list(_writers.values()), _spare, None
        _held.clear()
        _writers.clear()
    for n, w in held:
        _unlink(n)
        if w is not None:
            w.close()
    for w in writers:
        w.close()
    if s is not None:
        s.claimed.set()
        s.close()


def recycle(fd: int, size: int, path: str) -> None:
    """Takes the file of a value this process wrote and read (held under `path`, now unmapped:
    no one else can reach its pages) as the spare, if it is larger than the current one; else
    removes it. Called by the finalizer of the value's mapping. With its writer's mapping
    kept (`keep_writer`) the next value is a copy into it; without, it is written with
    write(2): filling the page tables of 100 MiB of pages again (MADV_POPULATE_WRITE) cost
    50-100 ms of CPU here, more than the write itself."""
    global _spare
    with _lock:
        held = path in _held
        writer = _held.pop(path, None)
        take_it = held and size >= MIN and (_spare is None or _spare.size < size)
        if take_it:
            if writer is not None:   # its fd and filled mapping; the file is `size` bytes long now
                writer.size, writer.path, writer.claimed = size, path, threading.Event()
                spare = writer
                writer = None
            else:
                spare = _Spare(fd, size, path=path)
            old, _spare = _spare, spare
    if writer is not None:
        _close_later(writer)
    if not take_it:
        os.close(fd)
        if held:
            _unlink(path)
        return
    if spare.fd != fd:
        os.close(fd)
    if old is not None:
        old.claimed.set()   # its thread stops waiting
        old.close()
    try:
        threading.Thread(target=_keep, args=(spare,), name="yr-shm-spare", daemon=True).start()
    except RuntimeError:   # interpreter shutting down: no more threads
        _release(spare)


def _keep(spare: _Spare) -> None:
    if not spare.claimed.wait(KEEP):
        _release(spare)


def copy_into(spare: _Spare, buffers) -> None:
    """Copies the buffers (PickleBuffers) back to back into the spare's mapping."""
    global _copiers
    jobs, pos = [], spare.addr
    for b in buffers:
        raw = b.raw()
        src, n = address(raw), raw.nbytes
        for at in range(0, n, PIECE):
            jobs.append((pos + at, src + at, min(PIECE, n - at)))
        pos += n
    threads = min(4, os.cpu_count() or 1)
    if len(jobs) < 2 or threads < 2:
        for dst, src, n in jobs:
            ctypes.memmove(dst, src, n)
        return
    if _copiers is None:
        from concurrent.futures import ThreadPoolExecutor
        _copiers = ThreadPoolExecutor(threads - 1, thread_name_prefix="yr-shm-copy")
    # the caller copies too: every `threads`-th piece is its own
    futures = [_copiers.submit(ctypes.memmove, *j) for i, j in enumerate(jobs) if i % threads]
    for i in range(0, len(jobs), threads):
        ctypes.memmove(*jobs[i])
    for f in futures:
        f.result()


class _PyBuffer(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.c_void_p), ("len", ctypes.c_ssize_t),
                ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
                ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
                ("suboffsets", ctypes.c_void_p), ("internal", ctypes.c_void_p)]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = (ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int)
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = (ctypes.POINTER(_PyBuffer),)


def address(obj) -> int:
    """The address of the first byte of a contiguous buffer (read-only ones too, unlike
    ctypes.from_buffer, and without keeping it exported). Valid while `obj` lives."""
    view = _PyBuffer()
    _get_buffer(obj, ctypes.byref(view), 0)   # PyBUF_SIMPLE
    try:
        return view.buf or 0
    finally:
        _release_buffer(ctypes.byref(view))


def _populated(fd: int, size: int) -> "mmap.mmap | None":
    """A writable mapping of the file with its page tables filled, or None if the kernel
    cannot fill them ahead (a write(2) then beats faulting the pages in one by one)."""
    try:
        m = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    except OSError:
        return None
    # through ctypes, which releases the GIL (mmap.madvise holds it for the whole fill)
    if _madvise(address(m), size, _MADV_POPULATE_WRITE) != 0:
        m.close()
        return None
    return m


def _make(directory: str, size: int, retire: "_Spare | None" = None) -> None:
    global _spare, _making
    if retire is not None:
        retire.close()
    with _lock:
        if _spare is not None and _spare.size >= size:   # a recycled file came meanwhile
            _making = False
            return
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
            with _lock:
                recycled = _spare is not None and _spare.size >= size
            # no page tables filled for a spare a recycled file made useless meanwhile
            spare = _Spare(fd, size, None if recycled else _populated(fd, size))
    except OSError:
        pass   # no O_TMPFILE or no room: values are written into new files, as without spares
    with _lock:
        _making = False
        if spare is not None and _spare is not None and _spare.size >= spare.size:
            old = spare   # a recycled file came meanwhile: it is kept, this one is not needed
        elif spare is None:
            return
        else:
            old, _spare = _spare, spare
    if old is not None:   # a smaller spare nobody took (a take removes it under the lock)
        old.claimed.set()   # its thread stops waiting
        old.close()
    if old is spare:
        return
    if not spare.claimed.wait(KEEP):
        _release(spare)


def _release(s: _Spare) -> None:
    global _spare
    with _lock:
        if _spare is not s:
            return   # claimed meanwhile: its writer owns the descriptor
        _spare = None
    s.close()


def _forget_in_child() -> None:
    """A forked child must not write into its parent's spare (the same file)."""
    global _spare, _making, _lock, _copiers
    _lock = threading.Lock()
    if _spare is not None:
        _spare.path = None   # the parent's: not the child's to remove
        try:
            _spare.close()
        except (OSError, BufferError):
            pass
    for w in [*_held.values(), *_writers.values()]:
        if w is not None:   # the parent's mappings and descriptors; its names stay its own
            w.path = None
            try:
                w.close()
            except (OSError, BufferError):
                pass
    _held.clear()
    _writers.clear()
    _spare, _making, _copiers, _recycling = None, False, None, False   # the parent's threads are not here


os.register_at_fork(after_in_child=_forget_in_child)
atexit.register(release_all)
