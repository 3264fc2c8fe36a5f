"""The only module that pickles. Values cross processes as frame bodies made here.

Body layout: one flag byte, then
- flag 0: a pickle (protocol 5) of the message;
- flag 1: 4-byte length + JSON shared-memory descriptor, then the pickle, whose large
  out-of-band buffers (>= SHM_THRESHOLD bytes) live in one shared-memory file.
The receiver maps the file, unpickles with its buffers and unlinks it: numpy arrays and
large bytes are read from the mapping without passing through the socket.
Plain values (builtins in small containers) use the C pickler; anything else cloudpickle,
so classes and functions defined in a driver's __main__ travel by value.
"""
from __future__ import annotations

import io
import json
import mmap
import os
import pickle
import struct
import uuid

import cloudpickle

from .exceptions import SerializationError

SHM_THRESHOLD = 1 << 20
MAX_INLINE = 256 << 20      # the frame limit (yr_runtime.wire.frames); buffers above 1 MiB do not count
SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"
_LEN = struct.Struct("<I")
_PLAIN = frozenset((int, float, str, bool, type(None), complex))


_SCALARS = frozenset((int, float, str, bool, type(None)))


def _plain_call(msg) -> bool:
    """Fast path for the common call message (name, args of scalars, no kwargs)."""
    return (type(msg) is tuple and len(msg) == 3 and type(msg[1]) is tuple and not msg[2]
            and all(type(a) in _SCALARS for a in msg[1]))


def _plain(x, depth: int = 0) -> bool:
    t = type(x)
    if t in _PLAIN:
        return True
    if t is bytes:
        return len(x) < SHM_THRESHOLD
    if depth > 3:
        return False
    if t is tuple or t is list:
        return len(x) <= 256 and all(_plain(i, depth + 1) for i in x)
    if t is dict:
        return len(x) <= 256 and all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in x.items())
    return False


def _bytes_from(buf) -> bytes:
    return bytes(buf)


class _BigBytes:
    """Stands in for a large bytes object so it pickles out of band (pickle never offers
    exact bytes to reducer_override)."""
    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def __reduce__(self):
        return _bytes_from, (pickle.PickleBuffer(self.data),)


def _wrap_big(x, depth: int = 0):
    t = type(x)
    if t is bytes:
        return _BigBytes(x) if len(x) >= SHM_THRESHOLD else x
    if depth >= 3:
        return x
    if t is tuple or t is list:
        return t(_wrap_big(i, depth + 1) for i in x) if len(x) <= 1024 else x
    if t is dict and len(x) <= 1024:
        return {k: _wrap_big(v, depth + 1) for k, v in x.items()}
    return x




def dumps(msg, shm_prefix: str = "yr") -> bytes:
    """Serializes a message into a frame body; raises SerializationError naming the cause."""
    if _plain_call(msg) or _plain(msg):
        return b"\x00" + pickle.dumps(msg, protocol=5)
    buffers: list[pickle.PickleBuffer] = []

    def keep_big(buf: pickle.PickleBuffer) -> bool:
        if buf.raw().nbytes >= SHM_THRESHOLD:
            buffers.append(buf)
            return False
        return True

    out = io.BytesIO()
    try:
        cloudpickle.Pickler(out, protocol=5, buffer_callback=keep_big).dump(_wrap_big(msg))
    except Exception as e:  # pickling runs arbitrary __reduce__ code: any error is a value error
        raise SerializationError(f"cannot serialize {_describe(msg)}: {type(e).__name__}: {e}") from e
    if not buffers:
        return b"\x00" + out.getvalue()
    desc = json.dumps(_write_shm(buffers, shm_prefix)).encode()
    return b"\x01" + _LEN.pack(len(desc)) + desc + out.getvalue()


def check_size(body: bytes, what: str) -> None:
    """Raises SerializationError if a body cannot travel in one frame."""
    if len(body) > MAX_INLINE - 64:
        raise SerializationError(
            f"{what} serialize to {len(body) >> 20} MiB inline, over the {MAX_INLINE >> 20} MiB limit; large data "
            "travels through shared memory when it is bytes, bytearray or a numpy array (or pass a yr.put ref)")


def loads(body: bytes):
    """Inverse of dumps. A shared-memory file named in the body is unlinked once mapped."""
    if body[:1] == b"\x00":
        return pickle.loads(memoryview(body)[1:])
    if body[:1] != b"\x01":
        raise SerializationError("frame body has an unknown format flag")
    (n,) = _LEN.unpack_from(body, 1)
    desc = json.loads(body[5:5 + n])
    return pickle.loads(memoryview(body)[5 + n:], buffers=_map_shm(desc))


def _write_shm(buffers, prefix: str) -> dict:
    """Writes the buffers into one new shared-memory file. write(2) fills tmpfs pages in the
    kernel, which is faster than faulting them in one by one through a mapping."""
    sizes = [b.raw().nbytes for b in buffers]
    path = os.path.join(SHM_DIR, f"{prefix}-{uuid.uuid4().hex}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for b in buffers:
            view = b.raw()
            while view.nbytes:
                n = os.write(fd, view)
                view = view[n:]
        if not sum(sizes):
            os.ftruncate(fd, 1)
    except BaseException:
        os.unlink(path)
        raise
    finally:
        os.close(fd)
    return {"path": path, "sizes": sizes}


def _map_shm(desc: dict) -> list[memoryview]:
    path = desc["path"]
    fd = os.open(path, os.O_RDONLY)
    try:
        total = max(sum(desc["sizes"]), 1)
        m = mmap.mmap(fd, total, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
        os.unlink(path)
    view = memoryview(m)
    out, pos = [], 0
    for n in desc["sizes"]:
        out.append(view[pos:pos + n])
        pos += n
    return out


def discard(body: bytes) -> None:
    """Frees the shared memory of a body that will never be loaded."""
    if body[:1] == b"\x01":
        (n,) = _LEN.unpack_from(body, 1)
        try:
            os.unlink(json.loads(body[5:5 + n])["path"])
        except (OSError, ValueError, KeyError):
            pass


def _describe(msg) -> str:
    if isinstance(msg, tuple) and msg and isinstance(msg[0], str):
        return f"the {msg[0]} message"
    return f"a value of type {type(msg).__name__}"


def dumps_function(fn) -> bytes:
    try:
        return cloudpickle.dumps(fn, protocol=5)
    except Exception as e:
        raise SerializationError(f"cannot serialize {getattr(fn, '__qualname__', fn)!r}: {type(e).__name__}: {e}") from e


loads_function = pickle.loads


class _Raw:
    """Marks bytes-like values given to yr.put: stored as raw bytes, read back as memoryview."""
    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    def __reduce__(self):
        return memoryview, (pickle.PickleBuffer(self.data),)


def as_raw(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _Raw(value)
    return value
