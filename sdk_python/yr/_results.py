"""Calls whose result is not one value: several returns (`return_nums`) and generators.

Rules kept here:
- An ordinary call (one return, not a generator) never comes here: its proxies send it as
  before, so these shapes cost the common path nothing.
- `return_nums=N` (N > 1): the worker returns one value; the caller gets N refs at once.
  When the call ends, its value is split: it must be a tuple or list of exactly N items,
  else each of the N refs fails (at `yr.get`) with a YRValueError naming both counts.
  `return_nums=0`: the call runs and `invoke` returns None.
- Generators: a function or method that `yield`s (or an `async def` that yields) is sent
  as a streaming call (SCALL/SFUNC); the worker answers one ITEM frame per value as it is
  produced, then the end (OK) or the error raised mid-stream (ERR). `invoke` returns an
  `ObjectRefGenerator` at once; iterating it gives one ref per item in order, each as soon
  as the worker yielded it; an error arrives as the next ref (its `yr.get` raises), then
  iteration stops. Streaming calls are never retried (their items were delivered already).
"""
from __future__ import annotations

import asyncio
import inspect
import threading

from . import _serialization
from ._calls import _Call
from .exceptions import YRTypeError, YRValueError
from .object_ref import ObjectRef, _Slot, new_id

MAX_RETURN_NUMS = 100   # openYuanrong's range: 0..100
GENERATOR = "generator"


def check_return_nums(n, what: str = "return_nums") -> int:
    """openYuanrong's check: an int (TypeError otherwise) in [0, 100]."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise YRTypeError(f"invalid {what} type: {type(n)}, should be an int")
    if not 0 <= n <= MAX_RETURN_NUMS:
        raise YRValueError(f"invalid {what}: must be in [0, {MAX_RETURN_NUMS}], got {n}")
    return n


def shape_of(fn, return_nums: int = 1):
    """None for an ordinary call, GENERATOR for a (async) generator function, else the
    number of returns (0 or > 1)."""
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        return GENERATOR
    return None if return_nums == 1 else return_nums


def method_shapes(cls) -> dict | None:
    """{method name: shape} of the methods of `cls` that are not ordinary; None if none."""
    shapes = {}
    for name, fn in inspect.getmembers(cls, callable):
        if name.startswith("__"):
            continue
        shape = shape_of(fn, getattr(fn, "__return_nums__", 1))
        if shape is not None:
            shapes[name] = shape
    return shapes or None


def invoke_shaped(shape, submit, what: str):
    """Sends one call of this shape: `submit(kind_is_stream, make_call)` sends it and returns
    its ref. Returns what `invoke` returns for that shape."""
    if shape == GENERATOR:
        stream = _Stream()
        submit(True, stream.make_call)
        return ObjectRefGenerator(stream)
    ref = submit(False, _Call)
    return None if shape == 0 else split(ref, shape, what)


# ---- several returns ---------------------------------------------------------------------
def split(ref: ObjectRef, n: int, what: str) -> list:
    """N refs filled from the value of `ref` (a tuple or list of N items) when it is ready."""
    parts = [_Slot() for _ in range(n)]

    def done(slot: _Slot) -> None:
        if slot.error is not None:
            for p in parts:
                p.set_error(slot.error)
            return
        try:
            value = slot.value()
            if not isinstance(value, (tuple, list)) or len(value) != n:
                got = f"{len(value)} values" if isinstance(value, (tuple, list)) else f"one {type(value).__name__}"
                raise YRValueError(f"{what} declares return_nums={n} but returned {got} "
                                   f"(return a tuple or list of {n} values)")
            bodies = [_serialization.dumps(v) for v in value]
        except BaseException as e:   # undecodable value, mismatch, unpicklable item: each ref says so
            for p in parts:
                p.set_error(e)
            return
        for p, body in zip(parts, bodies):
            p.set_body(body)
    ref._slot.add_callback(done)
    return [ObjectRef(new_id(), p) for p in parts]


# ---- generators ---------------------------------------------------------------------------
class _StreamEnd(Exception):
    """Marks the slot after a generator's last item (never seen by users)."""


_END = _StreamEnd()


class _StreamCall(_Call):
    __slots__ = ("stream",)

    def item(self, body: bytes) -> None:
        self.stream.fill().set_body(body)


class _Stream:
    """The items of one streaming call: slots filled by the connection's reader in order,
    taken by the consumer in order. The slot after the last item holds the end (or the
    error raised mid-stream)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._slots: dict = {}   # index -> slot, while made by one side and not yet seen by the other
        self._filled = 0         # slots filled so far (items and the end)
        self._taken = 0          # slots handed to the consumer
        self.end: _Slot | None = None  # the call's own slot: done when the call ends

    def make_call(self, kind, name, args, kwargs, slot, code, retries: int = 0) -> _StreamCall:
        from . import _protocol as P
        call = _StreamCall(P.SCALL if kind == P.CALL else P.SFUNC, name, args, kwargs, slot, code, 0)
        call.stream = self
        self.end = slot
        slot.add_callback(self._ended)
        return call

    def fill(self) -> _Slot:
        """The next slot to fill (made here unless the consumer is already waiting on it)."""
        with self._lock:
            i = self._filled
            self._filled += 1
            return self._slots.pop(i) if i < self._taken else self._slots.setdefault(i, _Slot())

    def _ended(self, call_slot: _Slot) -> None:
        self.fill().set_error(call_slot.error or _END)

    def take(self) -> _Slot:
        """The next slot for the consumer (made here, empty, if not filled yet)."""
        with self._lock:
            i = self._taken
            self._taken += 1
            slot = self._slots.pop(i) if i < self._filled else self._slots.setdefault(i, _Slot())
            if slot.conn is None and self.end is not None:
                slot.conn = self.end.conn   # so that waiting for it reads the connection
        return slot


class ObjectRefGenerator:
    """What invoking a generator function or method returns. Iterating it (`for ref in gen`,
    or `async for`) yields one ObjectRef per item as the worker produces it; `yr.get(ref)`
    gives the item. An error raised by the generator arrives as the next ref (`yr.get`
    raises it), then iteration stops. `next` waits as long as the generator takes to yield
    (a worker that dies ends it with InstanceDiedError)."""

    def __init__(self, stream: _Stream):
        self._stream = stream
        self._stop = False
        self._id = new_id()

    def __iter__(self) -> "ObjectRefGenerator":
        return self

    def __next__(self) -> ObjectRef:
        if self._stop:
            raise StopIteration
        slot = self._stream.take()
        slot.wait(None)
        if isinstance(slot.error, _StreamEnd):
            self._stop = True
            raise StopIteration
        if slot.error is not None:
            self._stop = True
        return ObjectRef(new_id(), slot)

    def __aiter__(self) -> "ObjectRefGenerator":
        return self

    async def __anext__(self) -> ObjectRef:
        ref = await asyncio.get_running_loop().run_in_executor(None, self._next_or_none)
        if ref is None:
            raise StopAsyncIteration
        return ref

    def _next_or_none(self) -> ObjectRef | None:
        # StopIteration cannot cross a Future: the end travels as None
        try:
            return self.__next__()
        except StopIteration:
            return None

    def get_generator_id(self) -> str:
        return self._id

    def __repr__(self) -> str:
        return f"ObjectRefGenerator({self._id})"
