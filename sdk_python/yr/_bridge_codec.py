"""What crosses the Java link (the Python end; twin of ``org.yuanrong.runtime.bridge.Codec``
and its id table): values in a neutral tagged encoding (`_Codec`), and the Python objects
Java may only name, instance handles and object refs, lent by id (`_Registry`).

Pure: no sockets, no py4j (tests/sdk_java/test_py4j_codec.py pins the bytes both sides
write). Used by ``yr._bridge_py4j``, which serves the link.
"""

from __future__ import annotations

import itertools
import struct
import threading
from typing import Any

_INT64 = struct.Struct(">q")
_F64 = struct.Struct(">d")
_U32 = struct.Struct(">I")


class _Registry:
    """Opaque Python objects (handles, refs) lent to Java by id. Thread-safe.

    Ids made here start with "h" or "r". Ids starting with "j" are made by Java for the
    refs of invokes it defers (``_BridgeService.callBatched``): Java may name such an id
    (in a get, another invoke, a release) from another thread before the batch that
    registers it has been run, so ``get`` waits for it (bounded) and a release that comes
    first is remembered and applied at registration.
    """

    _PENDING_WAIT_S = 60.0

    def __init__(self) -> None:
        self._objects: dict[str, Any] = {}
        self._ids = itertools.count(1)
        # The bare lock is taken on the per-call paths (a C-level `with`); the condition on
        # it is used only when a lookup has to wait, and notified only when one does.
        self._mutex = threading.Lock()
        self._lock = threading.Condition(self._mutex)
        self._waiting = 0
        self._released_early: set[str] = set()

    def add(self, obj: Any, prefix: str) -> str:
        with self._mutex:
            key = f"{prefix}{next(self._ids)}"
            self._objects[key] = obj
        return key

    def put(self, key: str, obj: Any) -> None:
        """Registers obj under a Java-made "j" id (see the class docstring)."""
        with self._mutex:
            if self._released_early and key in self._released_early:
                self._released_early.discard(key)
                return
            self._objects[key] = obj
            if self._waiting:
                self._lock.notify_all()

    def get(self, key: str) -> Any:
        try:
            return self._objects[key]
        except KeyError:
            if not key.startswith("j"):
                raise ValueError(f"unknown or released handle/ref id {key!r}") from None
        with self._mutex:   # a deferred invoke's ref, registered by a batch still on its way
            self._waiting += 1
            try:
                if not self._lock.wait_for(lambda: key in self._objects, self._PENDING_WAIT_S):
                    raise ValueError(f"unknown or released ref id {key!r} (its invoke never arrived)")
            finally:
                self._waiting -= 1
            return self._objects[key]

    def release(self, keys: list[str]) -> None:
        with self._mutex:
            for key in keys:
                if self._objects.pop(key, None) is None and key.startswith("j"):
                    self._released_early.add(key)

    def __len__(self) -> int:
        return len(self._objects)


class _Failed:
    """What a deferred invoke that raised registers under its ref id: using the ref (get,
    wait, an argument of another invoke) raises the invoke's error."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


# yr.ObjectRef, looked up at the first value (importing yr here would load the SDK with the codec)
_ref_type: Any = None


def _is_ref(value: Any) -> bool:
    global _ref_type
    if _ref_type is None:
        import yr
        _ref_type = getattr(yr, "ObjectRef", False)
    if _ref_type and isinstance(value, _ref_type):
        return True
    return type(value).__name__ == "ObjectRef"


class _Codec:
    """Tagged binary encoding: N T F I(int64) D(float64) S B L M H(handle id) R(ref id)."""

    def __init__(self, registry: _Registry) -> None:
        self._registry = registry

    def encode(self, value: Any) -> bytes:
        out = bytearray()
        self._write(out, value)
        return bytes(out)

    def _blob(self, out: bytearray, data: bytes) -> None:
        out += _U32.pack(len(data))
        out += data

    def _write(self, out: bytearray, v: Any) -> None:
        if v is None:
            out += b"N"
        elif v is True or v is False:
            out += b"T" if v else b"F"
        elif isinstance(v, int):
            if not -(2**63) <= v < 2**63:
                raise ValueError(f"integer {v} does not fit in 64 bits")
            out += b"I" + _INT64.pack(v)
        elif isinstance(v, float):
            out += b"D" + _F64.pack(v)
        elif isinstance(v, str):
            out += b"S"
            self._blob(out, v.encode("utf-8"))
        elif isinstance(v, (bytes, bytearray, memoryview)):
            out += b"B"
            self._blob(out, bytes(v))
        elif isinstance(v, (list, tuple)):
            out += b"L" + _U32.pack(len(v))
            for item in v:
                self._write(out, item)
        elif isinstance(v, dict):
            out += b"M" + _U32.pack(len(v))
            for key, item in v.items():
                self._write(out, key)
                self._write(out, item)
        elif _is_ref(v):
            out += b"R"
            self._blob(out, self._registry.add(v, "r").encode())
        else:
            # Anything else the runtime hands us is an instance handle (docs/bridge.md
            # lets only neutral values, handles and refs cross).
            out += b"H"
            self._blob(out, self._registry.add(v, "h").encode())

    def decode(self, data: bytes | bytearray) -> Any:
        if type(data) is not bytes:
            data = bytes(data)
        value, pos = self._read(data, 0)
        if pos != len(data):
            raise ValueError("trailing bytes in encoded value")
        return value

    # Tags as byte values, the common ones tested first (this runs for every value of every
    # Java call in the bridge process: bytes indexing and slicing, no memoryview copies).
    def _read(self, b: bytes, pos: int) -> tuple[Any, int]:
        tag = b[pos]
        pos += 1
        if tag == 0x4C:   # L
            n = _U32.unpack_from(b, pos)[0]
            pos += 4
            items = []
            append = items.append
            read = self._read
            for _ in range(n):
                # Ints and strings (a call's arguments, ids, names) inline: no call per item.
                t = b[pos]
                if t == 0x49:
                    append(_INT64.unpack_from(b, pos + 1)[0])
                    pos += 9
                elif t == 0x53:
                    end = pos + 5 + _U32.unpack_from(b, pos + 1)[0]
                    if end > len(b):
                        raise ValueError("truncated encoded value")
                    append(b[pos + 5:end].decode("utf-8"))
                    pos = end
                else:
                    item, pos = read(b, pos)
                    append(item)
            return items, pos
        if tag == 0x53 or tag == 0x42 or tag == 0x48 or tag == 0x52:   # S B H R
            n = _U32.unpack_from(b, pos)[0]
            end = pos + 4 + n
            if end > len(b):
                raise ValueError("truncated encoded value")
            raw = b[pos + 4:end]
            if tag == 0x42:
                return raw, end
            text = raw.decode("utf-8")
            if tag == 0x53:
                return text, end
            obj = self._registry.get(text)
            if type(obj) is _Failed:
                raise obj.exc
            return obj, end
        if tag == 0x49:   # I
            return _INT64.unpack_from(b, pos)[0], pos + 8
        if tag == 0x4E:   # N
            return None, pos
        if tag == 0x54:   # T
            return True, pos
        if tag == 0x46:   # F
            return False, pos
        if tag == 0x44:   # D
            return _F64.unpack_from(b, pos)[0], pos + 8
        if tag == 0x4D:   # M
            n = _U32.unpack_from(b, pos)[0]
            pos += 4
            mapping = {}
            for _ in range(n):
                key, pos = self._read(b, pos)
                mapping[key], pos = self._read(b, pos)
            return mapping, pos
        raise ValueError(f"bad value tag {chr(tag)!r}")

