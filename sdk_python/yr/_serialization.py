"""The only module that pickles. Values cross processes as frame bodies made here.

Body layout (defined in yr_runtime.wire.bodies): a flag byte, then either a pickle
(protocol 5) of the message, or a descriptor and a pickle whose large out-of-band buffers
(>= SHM_THRESHOLD bytes) live in one shared-memory file. The receiver maps the file,
unpickles with its buffers and unlinks it: numpy arrays and large bytes are read from the
mapping without passing through the socket.
Values already in a shared-memory file travel by reference on one machine (see "lending"
below `loads`): a caller's top-level ref whose file is still there is sent as that file's
body (`Lent`), and a worker's result that is a view of such a file points at it.
When /dev/shm cannot take the buffers (full, or a file size limit), they spill to a file
in the session directory with the same layout; failing that they travel inline if the
body fits in a frame; failing that the one value fails with a SerializationError saying
why and what to do. A value that does not fit never takes a process down.
Plain values (builtins in small containers) use the C pickler; anything else cloudpickle,
so classes and functions defined in a driver's __main__ travel by value.
"""
from __future__ import annotations

import errno
import io
import mmap
import os
import pickle
import signal
import threading
import types
import uuid
import weakref
from collections import ChainMap

import cloudpickle
import cloudpickle.cloudpickle as _cloudpickle
from yr_runtime.wire import bodies

from . import _shm, exceptions
from .exceptions import SerializationError

SHM_THRESHOLD = 1 << 20
MAX_INLINE = 256 << 20      # the frame limit (yr_runtime.wire.frames); buffers above 1 MiB do not count
MAX_BODY = MAX_INLINE - 64  # the largest body that travels in one frame (check_size, inline fallbacks)
SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"
_spill_dir: str | None = None   # <session>/spill of the runtime this process uses (set_session)
# Shared-memory files are named <prefix>-<uuid>; a test run sets its own prefix to find what it leaked.
SHM_PREFIX = os.environ.get("YR_SHM_PREFIX", "yr").replace("/", "_")
_PLAIN = frozenset((int, float, str, bool, type(None), complex))


_SCALARS = frozenset((int, float, str, bool, type(None)))
_CALL_PLAIN = _SCALARS | {bytes}   # bytes: a C++ std::string that is not UTF-8 arrives as bytes


def _code_reduce(code: types.CodeType):
    """cloudpickle ships every code object as file "<dynamic-code>" (for deterministic bytes
    across machines); keep the real file name, so that remote tracebacks name the user's
    file and line, and show its source when the file is there."""
    ctor, args = _cloudpickle._code_reduce(code)
    return ctor, tuple(code.co_filename if type(a) is str and a == "<dynamic-code>" else a for a in args)


class _Pickler(cloudpickle.Pickler):
    dispatch_table = ChainMap({types.CodeType: _code_reduce}, cloudpickle.Pickler.dispatch_table)


_pickle_dumps = pickle.dumps


def plain_call_body(name: str, args) -> bytes | None:
    """The body of the call message (name, args, {}) when every argument is a scalar or bytes
    under SHM_THRESHOLD (the common call, made on every invoke: checked and pickled at C speed,
    no message tuple walk); None otherwise (larger bytes go out of band: `dumps`), or when it
    would not fit in a frame (`dumps` and `check_size` then say why)."""
    if not _SCALARS.issuperset(map(type, args)):   # scalars only: the check costs nothing more
        if not _CALL_PLAIN.issuperset(map(type, args)) or _has_big_bytes(args):
            return None
    body = b"\x00" + _pickle_dumps((name, args, {}), 5)
    return body if len(body) <= MAX_BODY else None


def _has_big_bytes(args) -> bool:
    for a in args:
        if type(a) is bytes and len(a) >= SHM_THRESHOLD:
            return True
    return False


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




def set_session(session_dir) -> None:
    """Tells the serializer the session directory of the runtime this process uses: values
    that do not fit in /dev/shm spill under it. None (after finalize) disables spilling."""
    global _spill_dir
    _spill_dir = None if session_dir is None else bodies.spill_dir(session_dir)
    if session_dir is None:
        _shm.release_all()   # the spare and the held names of values read (nothing stays in /dev/shm)


def ignore_file_size_signal() -> None:
    """Under a file size limit (RLIMIT_FSIZE) SIGXFSZ kills a process that writes past it;
    ignored, the write fails with EFBIG and the value takes its fallback. Python ignores it
    already; a C++ program embedding Python does not. Only the default action is replaced
    (a handler the program installed stays), and only the main thread may set handlers."""
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGXFSZ) == signal.SIG_DFL):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def dumps_put(value) -> bytes:
    """The body of a `yr.put`: as `dumps`, and the writer's mapping of its file is kept for
    recycling (see yr._shm `keep_writer`)."""
    return dumps(as_raw(value), keep=True)


def dumps(msg, shm_prefix: str = SHM_PREFIX, lent: list | None = None, keep: bool = False) -> bytes:
    """Serializes a message into a frame body; raises SerializationError naming the cause.
    `lent`: the files this call borrowed (`take_lent`); large buffers that are views of
    them are written as references to them (path, offset, size), not copied."""
    if type(msg) in _PLAIN or _plain_call(msg) or _plain(msg):   # a scalar first: most results are one
        return b"\x00" + _pickle_dumps(msg, 5)
    buffers: list[pickle.PickleBuffer] = []

    def keep_big(buf: pickle.PickleBuffer) -> bool:
        if buf.raw().nbytes >= SHM_THRESHOLD:
            buffers.append(buf)
            return False
        return True

    out = io.BytesIO()
    try:
        _Pickler(out, protocol=5, buffer_callback=keep_big).dump(_wrap_big(msg))
    except Exception as e:  # pickling runs arbitrary __reduce__ code: any error is a value error
        raise SerializationError(f"cannot serialize {_describe(msg)}: {type(e).__name__}: {e}") from e
    if not buffers:
        return b"\x00" + out.getvalue()
    refs = _lent_refs(buffers, lent) if lent else None
    if refs is not None:
        buffers = [b for i, b in enumerate(buffers) if i not in refs]
    try:
        desc = _write_buffers(buffers, shm_prefix, keep) if buffers else {"path": "", "sizes": []}
        if refs:
            desc["lent"] = [[i, *r] for i, r in sorted(refs.items())]
    except _NoRoom as e:
        size = sum(b.raw().nbytes for b in buffers) + len(out.getbuffer())
        if size <= MAX_BODY:
            return dumps_inline(msg)   # rare: no file could take it, but a frame can
        raise _no_room(msg, size, *e.args) from None
    return bodies.mapped_header(desc) + out.getvalue()


def dumps_inline(msg) -> bytes:
    """Serializes a message into a body that holds everything itself (no file): for values
    kept long by their receiver, such as saved state, which is loaded again on each restart."""
    if type(msg) in _PLAIN or _plain(msg):   # no large buffers in a plain value: the C pickler
        return b"\x00" + _pickle_dumps(msg, 5)
    out = io.BytesIO()
    try:
        _Pickler(out, protocol=5).dump(_wrap_big(msg))
    except Exception as e:  # pickling runs arbitrary __reduce__ code: any error is a value error
        raise SerializationError(f"cannot serialize {_describe(msg)}: {type(e).__name__}: {e}") from e
    return b"\x00" + out.getvalue()


def to_inline(body: bytes, what: str) -> bytes:
    """A body holding everything itself, for a receiver on another machine (which cannot map
    this one's shared memory); the file of a MAPPED `body` is freed. SerializationError if it
    does not fit in a frame."""
    if body[:1] != bodies.MAPPED:
        return body
    out = dumps_inline(loads(body))
    check_size(out, what)
    return out


def check_size(body: bytes, what: str) -> None:
    """Raises SerializationError if a body cannot travel in one frame."""
    if len(body) > MAX_BODY:
        raise SerializationError(
            f"{what} serialize to {len(body) >> 20} MiB inline, over the {MAX_INLINE >> 20} MiB limit; large data "
            "travels through shared memory when it is bytes, bytearray or a numpy array (or pass a yr.put ref)")


def loads(body: bytes, unlink: bool = True, recycle: bool = False):
    """Inverse of dumps. A shared-memory (or spill) file named in the body is unlinked once
    mapped, unless `unlink` is false (a ref's slot: others may still read that file).
    `recycle`: the caller is the only holder of the body (a slot that owns its file and never
    lent or published it); if this process wrote the file, its pages become the next spare
    (yr._shm) once the value is unmapped: nobody else can map an unlinked file nobody else
    opened, and a put into pages already there is a copy, not an allocation."""
    if body[:1] == b"\x00":   # bodies.INLINE, spelled as a constant: this runs for every result
        return pickle.loads(memoryview(body)[1:])
    if body[:1] != bodies.MAPPED:
        raise SerializationError("frame body has an unknown format flag")
    try:
        desc, at = bodies.split_mapped(body)
    except ValueError as e:
        raise SerializationError(str(e)) from None
    if recycle and unlink and desc.get("w") == os.getpid() and "lent" not in desc:
        return pickle.loads(memoryview(body)[at:], buffers=_map_shm(desc, unlink, recycle=True))
    return pickle.loads(memoryview(body)[at:], buffers=_map_shm(desc, unlink))


# ---- lending: large values passed by reference to a file on this machine ------------------
# A caller passes a top-level ref whose value is in a shared-memory file it owns as `Lent`:
# the receiver maps the same file read-only and never unlinks it; the caller keeps the file
# (the ref's slot, held by the call's result slot) until nothing can map it any more. The
# receiver notes each file it borrowed this way for the call (`_tls.lent`); the call's result
# takes them (`take_lent`), and a result buffer that lies inside one is written as a
# reference to that file ("lent" in the descriptor: index, path, offset, size), which the
# caller, still holding the file, maps in turn. Nothing is copied either way.
_tls = threading.local()
lending = False   # whether this process ever borrowed a file (then results look at `take_lent`)


class Lent:
    """A MAPPED body sent by reference: unpickles as its value, mapped from the same file."""
    __slots__ = ("body",)

    def __init__(self, body: bytes):
        self.body = body

    def __reduce__(self):
        return _load_lent, (bytes(self.body),)


def _load_lent(body: bytes):
    global lending
    desc, at = bodies.split_mapped(body)
    records = getattr(_tls, "lent", None)
    if records is None:
        records = _tls.lent = []
    lending = True
    return pickle.loads(memoryview(body)[at:], buffers=_map_shm(desc, False, records))


def take_lent() -> list | None:
    """The files the current call on this thread borrowed (for its result's `dumps`), and
    forgets them: a later call must not point at files whose lender may have dropped them."""
    records = getattr(_tls, "lent", None)
    if records:
        _tls.lent = None
        return records
    return None


def has_lent(body) -> bool:
    """Whether a MAPPED body points at files it does not own (borrowed from its caller)."""
    return body[:1] == bodies.MAPPED and "lent" in bodies.split_mapped(body)[0]


def for_store(body: bytes, kept: bool) -> tuple[bytes, bool]:
    """(body, whether the file is handed over) for the node store, which frees what it is given.
    A body pointing at borrowed files gets its own copy; a file its slot keeps (it was lent)
    gets a second name (a hard link: the same pages), so store and slot each unlink their own."""
    if body[:1] != bodies.MAPPED:
        return body, True
    if has_lent(body):
        return dumps(loads(body, unlink=False)), False
    if not kept:
        if _shm._writers:
            _shm.drop_writer(bodies.split_mapped(body)[0]["path"])   # the store frees it: no mapping may pin it
        return body, True
    desc, at = bodies.split_mapped(body)
    if not desc["path"]:
        return body, True
    path = os.path.join(os.path.dirname(desc["path"]), f"{SHM_PREFIX}-{uuid.uuid4().hex}")
    os.link(desc["path"], path)
    return bodies.mapped_header({**desc, "path": path}) + bytes(memoryview(body)[at:]), False


def _lent_refs(buffers, lent: list) -> dict | None:
    """{index of a buffer: (path, offset, size)} for the buffers inside a borrowed file."""
    refs = {}
    for i, b in enumerate(buffers):
        raw = b.raw()
        addr, n = _shm.address(raw), raw.nbytes
        for start, size, path, offset, _m in lent:
            if start <= addr and addr + n <= start + size:
                refs[i] = (path, offset + addr - start, n)
                break
    return refs or None


class _NoRoom(Exception):
    """No file could take the buffers; args: the OSError of /dev/shm, of the spill directory."""


def _write_buffers(buffers, prefix: str, keep: bool = False) -> dict:
    """Writes the buffers into one file: in /dev/shm, else (full, or over the file size
    limit) a spill file in the session directory, mapped the same way by receivers."""
    try:
        return _write_shm(buffers, SHM_DIR, prefix, keep)
    except OSError as e:
        shm_error = e
    spill_error = None
    if _spill_dir is not None:
        try:
            os.makedirs(_spill_dir, mode=0o700, exist_ok=True)
            return _write_shm(buffers, _spill_dir, prefix)
        except OSError as e:
            spill_error = e
    raise _NoRoom(shm_error, spill_error)


def _no_room(msg, size: int, shm_error: OSError, spill_error: OSError | None) -> SerializationError:
    try:
        st = os.statvfs(SHM_DIR)
        room = f"{st.f_blocks * st.f_frsize >> 20} MiB, {st.f_bavail * st.f_frsize >> 20} MiB free"
    except OSError:
        room = "size unknown"
    spill = ("no runtime session to spill to" if spill_error is None and _spill_dir is None
             else f"spilling to {_spill_dir} failed too: {_why(spill_error)}")
    return SerializationError(
        f"{_describe(msg)} needs {size >> 20} MiB for its large buffers, which did not fit in {SHM_DIR} "
        f"({room}): {_why(shm_error)}; {spill}; and it is over the {MAX_INLINE >> 20} MiB inline limit. "
        f"Enlarge {SHM_DIR} (Docker: --shm-size=2g), free space there or in the session directory, "
        "raise the file size limit (ulimit -f), or send the data in smaller pieces")


def _why(e: OSError | None) -> str:
    if e is None:
        return "no reason"
    if e.errno == errno.EFBIG:
        return f"{e.strerror} (the process file size limit, ulimit -f)"
    return e.strerror or str(e)


def _write_shm(buffers, directory: str, prefix: str, keep: bool = False) -> dict:
    """Writes the buffers into one new file (write(2) fills tmpfs pages in the kernel, which
    is faster than faulting them in one by one through a mapping): the process's spare
    (pages allocated ahead, see yr._shm) when it fits, named once written. A failed write
    removes the partial file and raises the OSError."""
    sizes = [b.raw().nbytes for b in buffers]
    total = sum(sizes)
    path = os.path.join(directory, f"{prefix}-{uuid.uuid4().hex}")
    spare = _shm.take(total) if directory == SHM_DIR else None   # pages allocated ahead: a plain copy
    fd = spare.fd if spare is not None else os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if spare is not None and spare.map is not None:
            _shm.copy_into(spare, buffers)
        else:
            for b in buffers:
                view = b.raw()
                while view.nbytes:
                    n = os.write(fd, view)
                    view = view[n:]
        if spare is not None:
            _shm.name(spare, path, total)
        elif not total:
            os.ftruncate(fd, 1)
    except BaseException:
        if spare is None:
            os.unlink(path)
        else:
            _shm.retire(spare)
        raise
    finally:
        if spare is None:
            os.close(fd)
    if spare is not None and keep and spare.map is not None:
        _shm.keep_writer(path, spare)
        spare = None
    if directory == SHM_DIR:
        _shm.prepare(directory, total, retire=spare)   # for the next value of this size
    if directory == SHM_DIR:
        return {"path": path, "sizes": sizes, "w": os.getpid()}   # the writer: see `loads(recycle=)`
    return {"path": path, "sizes": sizes}


def _map_shm(desc: dict, unlink: bool = True, records: list | None = None,
             recycle: bool = False) -> list[memoryview]:
    """The buffers of a MAPPED body: its own file's (unlinked if `unlink`), with the borrowed
    ones ("lent") at their places. `records` collects what was mapped from files this
    process does not own (start address, size, path, file offset, mapping)."""
    out: list[memoryview] = []
    path = desc["path"]
    if path:
        view = _map(path, 0, max(sum(desc["sizes"]), 1), unlink, None if unlink else records, recycle)
        pos = 0
        for n in desc["sizes"]:
            out.append(view[pos:pos + n])
            pos += n
    for i, lpath, offset, n in desc.get("lent", ()):
        out.insert(i, _map(lpath, offset, n, False, records))
    return out


def _map(path: str, offset: int, size: int, unlink: bool, records: list | None,
         recycle: bool = False) -> memoryview:
    """`size` bytes at `offset` of the file at `path`, mapped read-only; with `recycle`, the
    file is offered as the next spare once the mapping is gone."""
    start = offset - offset % mmap.ALLOCATIONGRANULARITY
    recycle = recycle and size >= _shm.MIN
    fd = os.open(path, os.O_RDWR if recycle else os.O_RDONLY)
    try:
        m = mmap.mmap(fd, max(offset + size - start, 1), prot=mmap.PROT_READ, offset=start)
    except BaseException:
        os.close(fd)
        if unlink:
            os.unlink(path)
        raise
    if recycle:
        try:
            hidden = _shm.hold(path)
        except OSError:
            recycle = False
        else:   # the value's pages become the next spare once it is unmapped (see `loads`)
            weakref.finalize(m, _shm.recycle, fd, size, hidden).atexit = False
    if not recycle:
        os.close(fd)
        if unlink:
            os.unlink(path)
            if _shm._writers:
                _shm.drop_writer(path)
    view = memoryview(m)[offset - start:offset - start + size]
    if records is not None and size:
        records.append((_shm.address(view), size, path, offset, m))
    return view


def discard(body: bytes) -> None:
    """Frees the shared memory (or spill file) of a body that will never be loaded."""
    bodies.unlink_file(body)
    if _shm._writers and body[:1] == bodies.MAPPED:
        _shm.drop_writer(bodies.split_mapped(body)[0]["path"])


def _describe(msg) -> str:
    if isinstance(msg, tuple) and msg and isinstance(msg[0], str):
        return f"the {msg[0]} message"
    return f"a value of type {type(msg).__name__}"


def dumps_function(fn) -> bytes:
    try:
        out = io.BytesIO()
        _Pickler(out, protocol=5).dump(fn)
        return out.getvalue()
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


_FAILED = object()


def _dumps_part(x) -> bytes | None:
    try:
        out = io.BytesIO()
        _Pickler(out, protocol=5).dump(x)
        return out.getvalue()
    except Exception:
        return None


def _loads_part(b: bytes | None):
    if b is None:
        return _FAILED
    try:
        return pickle.loads(b)
    except Exception:
        return _FAILED


def dumps_exception(e: BaseException | None, depth: int = 0) -> dict | None:
    """Exception `e` as parts that always pickle: its type, args and each attribute pickled
    on its own (left out where that fails), its text, and its cause. loads_exception
    rebuilds it from them without calling its __init__ (which may take other arguments),
    keeping whatever did pickle. A class with its own __reduce__ also travels whole."""
    if e is None or depth > 3:
        return None
    from .exceptions import _qualified_name, exception_state
    attrs = {k: b for k, v in exception_state(e).items() if (b := _dumps_part(v)) is not None}
    own_reduce = type(e).__reduce__ is not BaseException.__reduce__ or type(e).__reduce_ex__ is not BaseException.__reduce_ex__
    try:
        text = str(e)
    except Exception:
        text = ""
    chained = e.__cause__ if e.__cause__ is not None else None if e.__suppress_context__ else e.__context__
    return {"type": _dumps_part(type(e)), "name": _qualified_name(type(e)), "args": _dumps_part(tuple(e.args)),
            "attrs": attrs, "text": text, "whole": _dumps_part(e) if own_reduce else None,
            "cause": dumps_exception(chained, depth + 1), "suppress": e.__cause__ is not None}


def loads_exception(parts: dict | None) -> BaseException | None:
    """Inverse of dumps_exception; None if the exception's type cannot be rebuilt here."""
    if not parts:
        return None
    from .exceptions import new_exception
    e = _loads_part(parts.get("whole"))
    if not isinstance(e, BaseException):
        cls = _loads_part(parts.get("type"))
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            return None
        args = _loads_part(parts.get("args"))
        attrs = {k: v for k, b in parts.get("attrs", {}).items() if (v := _loads_part(b)) is not _FAILED}
        e = new_exception(cls, cls, args if isinstance(args, tuple) else (parts.get("text", ""),), attrs)
        if e is None:
            return None
    chained = loads_exception(parts.get("cause"))
    if chained is not None:
        if parts.get("suppress"):
            e.__cause__ = chained
        else:
            e.__context__ = chained
    return e


exceptions.set_cause_codec(dumps_exception, loads_exception)   # YRInvokeError's cause travels as parts
