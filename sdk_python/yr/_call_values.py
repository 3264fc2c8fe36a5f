"""A call's values in a worker: its arguments in, its results, stream items and errors out.

The worker loop (`yr._worker`) decides when a call runs and on which connection its answer
leaves; this module makes what it sends: the body of a result or stream item (holding the
refs sent in it for their receiver, `dump_sending`), a generator's items one frame each
(`send_items`), the user's exception as a `YRInvokeError` with its traceback, and it
resolves top-level ref arguments and runs coroutines on the worker's one event loop thread.
"""
from __future__ import annotations

import inspect
import threading
import traceback

from . import _context
from . import _protocol as P
from . import _serialization
from .exceptions import SerializationError, YRInvokeError
from .object_ref import ObjectRef, _nested


def as_invoke_error(e: BaseException, where: str) -> YRInvokeError:
    """The user's exception `e`, raised `where` (a method, a constructor, a function), as the
    error its caller gets: the exception itself with its formatted traceback."""
    if isinstance(e, YRInvokeError):
        return e
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    return YRInvokeError(e, tb, where)


def send_items(conn, call_id: int, gen, where: str) -> None:
    """Sends each item of a (async) generator on `conn` (a caller connection: its
    `send(frame)`, and whether it is `remote`) as an ITEM frame as soon as it is produced.
    A result that is not a generator is its one item. Errors raised by the generator (or
    an item that cannot be serialized) propagate: the call's answer carries them."""
    if inspect.isasyncgen(gen):
        items = _async_items(gen)
    elif inspect.isgenerator(gen):
        items = gen
    else:
        items = (gen,)
    for i, item in enumerate(items):
        try:
            body = dump_sending(item, conn.remote)   # no shared memory across machines
            _serialization.check_size(body, f"item {i} of {where}")
        except SerializationError as e:
            raise SerializationError(f"item {i} of {where} cannot be serialized: {e}") from None
        conn.send(P.call_frame(P.ITEM, call_id, body))


def _async_items(agen):
    async def next_item():
        return await agen.__anext__()
    while True:
        try:
            yield run_coroutine(next_item())
        except StopAsyncIteration:
            return


def dump_sending(value, remote: bool, lent: list | None = None) -> bytes:
    """The body of a result or stream item that may hold refs: those refs are held for the
    receiver until it has them (`yr._context.hold_sent`). `remote`: for a caller on another
    node (inline, no shared memory); `lent`: files this call borrowed (see `dumps`)."""
    _nested.sent = sent = []
    try:
        body = _serialization.dumps_inline(value) if remote else _serialization.dumps(value, lent=lent)
    finally:
        _nested.sent = None
    if sent:
        _context.hold_sent(sent, remote)
    return body


def resolve_args(args):
    """The arguments with their top-level refs replaced by their values."""
    if ObjectRef in map(type, args):
        from .object_ref import get
        return [get(a, -1) if type(a) is ObjectRef else a for a in args]
    return args


_loop = None


def run_coroutine(coro):
    """Runs `coro` to its end on the worker's one asyncio loop (a thread started at the first
    coroutine) and returns its result or raises its exception."""
    global _loop
    import asyncio
    if _loop is None:
        _loop = asyncio.new_event_loop()
        threading.Thread(target=_loop.run_forever, name="yr-asyncio", daemon=True).start()
    return asyncio.run_coroutine_threadsafe(coro, _loop).result()
