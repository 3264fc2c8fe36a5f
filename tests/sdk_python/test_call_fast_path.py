"""The per-call fast paths (docs/architecture.md "Data plane details"): calls of scalar
arguments pickled at C speed by the caller, the worker's per-method cache of what to run,
scalar and plain results by the C pickler, and many frames per read and per write on both
ends. Against a real daemon and real workers; nothing here measures time."""
from __future__ import annotations

import math
import socket
import threading
import time

import pytest

import yr
from yr import _bridge, _context, _serialization
from yr import _protocol as P
from yr._transport import Connection
from yr.exceptions import YRInvokeError
from yr_runtime.wire import address, frames, preamble

WAIT = 60   # seconds: only a bound proving "does not hang"

SCALARS = [0, 1, -7, 2 ** 70, -(2 ** 80), 1.5, -0.0, math.inf, "", "x", "é ü ✓", "a" * 10000,
           True, False, None]


class Odd(Exception):
    def __init__(self, i):
        super().__init__(f"odd call {i}")
        self.i = i


@yr.instance
class Echo:
    def __init__(self):
        self.seen = []

    def echo(self, *args, **kwargs):
        self.seen.append(args)
        return [type(a).__name__ for a in args], list(args), kwargs

    def value(self, x):
        return x

    def step(self, i):
        self.seen.append(i)
        if i % 7 == 3:
            raise Odd(i) if i % 2 else KeyError(f"key {i}")
        return i

    def order(self):
        return self.seen


@yr.instance
class Broken:
    def __init__(self):
        raise ZeroDivisionError("init failed on purpose")

    def ping(self):
        return "pong"


def test_scalar_arguments_keep_their_types_and_values(driver):
    e = Echo.invoke()
    for x in SCALARS:
        names, values, kwargs = yr.get(e.echo.invoke(x), timeout=WAIT)
        assert names == [type(x).__name__] and values == [x] and kwargs == {}
        assert type(values[0]) is type(x)   # bool stays bool, not int
    # several at once, mixed with non-scalars (the general path) and keyword arguments
    assert yr.get(e.echo.invoke(1, "a", None, 2.5), timeout=WAIT)[1] == [1, "a", None, 2.5]
    assert yr.get(e.echo.invoke(1, [2, {"k": b"v"}], 3 + 4j), timeout=WAIT)[1] == [1, [2, {"k": b"v"}], 3 + 4j]
    assert yr.get(e.echo.invoke(1, k=True), timeout=WAIT) == (["int"], [1], {"k": True})
    assert yr.get(e.echo.invoke(), timeout=WAIT) == ([], [], {})
    nan = yr.get(e.echo.invoke(math.nan), timeout=WAIT)[1][0]
    assert math.isnan(nan)


def test_results_of_every_kind_come_back(driver):
    e = Echo.invoke()
    values = SCALARS + [3 + 4j, b"bytes", bytearray(b"ba"), [1, "two"], (1, (2, 3)), {"a": [1, 2]},
                        {1, 2}, Odd(5).args]
    assert yr.get([e.value.invoke(v) for v in values], timeout=WAIT) == values
    err = yr.get(e.value.invoke(Odd(9)), timeout=WAIT)   # an exception returned, not raised
    assert type(err) is Odd and err.i == 9


def test_many_calls_in_flight_with_interleaved_errors_keep_order_types_and_messages(driver):
    e = Echo.invoke()
    n = 700
    refs = [e.step.invoke(i) for i in range(n)]   # sent in batches, answered in batches
    for i, ref in enumerate(refs):
        if i % 7 == 3:
            expected = Odd if i % 2 else KeyError
            with pytest.raises(expected, match=f"odd call {i}" if i % 2 else f"key {i}"):
                yr.get(ref, timeout=WAIT)
        else:
            assert yr.get(ref, timeout=WAIT) == i
    assert yr.get(e.order.invoke(), timeout=WAIT) == list(range(n))   # each ran once, in order


def test_an_unknown_method_fails_every_call_and_the_known_ones_still_run(driver):
    e = Echo.invoke()
    for _ in range(3):   # not remembered as callable after the first failure
        with pytest.raises(YRInvokeError, match="nope"):
            yr.get(_bridge.invoke_method(e, "nope", [1]), timeout=WAIT)
        assert yr.get(e.value.invoke(4), timeout=WAIT) == 4



def test_bridge_get_one_gives_what_get_gives(driver):
    """yr._bridge.get_one (C++ YR::Get per call) reads the slot itself: the same values, errors,
    timeouts and bad arguments as yr._bridge.get."""
    from yr.exceptions import GetTimeoutError, YRTypeError
    e = Echo.invoke()
    values = SCALARS + [b"bytes", [1, "two"], {"a": [1, 2]}]
    for v in values:
        assert _bridge.get_one(e.value.invoke(v), WAIT) == _bridge.get(e.value.invoke(v), WAIT) == v
    assert _bridge.get_one(yr.put(b"x" * 100), -1) == b"x" * 100
    ba = yr.put(bytearray(b"ba"))
    assert type(_bridge.get_one(ba, WAIT)) is type(_bridge.get(ba, WAIT))
    for i in (3, 10):   # remote errors keep their types and messages
        with pytest.raises(Odd if i % 2 else KeyError, match=f"odd call {i}" if i % 2 else f"key {i}"):
            _bridge.get_one(e.step.invoke(i), WAIT)
    with pytest.raises(YRTypeError):
        _bridge.get_one("not a ref", WAIT)
    with pytest.raises(YRTypeError):
        _bridge.get("not a ref", WAIT)
    pending = yr.invoke(_sleepy).invoke(3)
    with pytest.raises(GetTimeoutError, match=r"not ready after 0.2s"):
        _bridge.get_one(pending, 0.2)
    assert _bridge.get_one(pending, WAIT) == 3


def _sleepy(x):
    import time
    time.sleep(1.5)
    return x

def test_every_call_of_an_instance_whose_init_failed_says_so(driver):
    b = Broken.invoke()
    for _ in range(3):
        with pytest.raises(ZeroDivisionError, match="init failed on purpose"):
            yr.get(b.ping.invoke(), timeout=WAIT)


def test_stateless_calls_of_scalar_arguments(driver):
    @yr.invoke
    def kinds(*args):
        return [type(a).__name__ for a in args], list(args)

    refs = [kinds.invoke(x) for x in SCALARS]
    assert yr.get(refs, timeout=WAIT) == [([type(x).__name__], [x]) for x in SCALARS]


def _raw_caller(proxy) -> socket.socket:
    """A socket to the instance's worker past its hello: the caller's side of the protocol
    written by hand, so the test decides how frames are cut into writes."""
    rt = _context.current()
    endpoint = proxy._target.endpoint
    sock = address.dial(endpoint, WAIT)
    sock.settimeout(WAIT)
    sock.sendall(preamble.first_frame(endpoint, rt.token))
    return sock


def _read_answers(sock: socket.socket, n: int) -> list:
    decoder, out = frames.FrameDecoder(), []
    while len(out) < n:
        data = sock.recv(1 << 16)
        assert data, f"the worker closed the connection after {len(out)} of {n} answers"
        out += [P.split(b) for b in decoder.feed(data)]
    return out


def test_worker_answers_frames_coalesced_in_one_write_and_split_across_writes(driver):
    e = Echo.invoke()
    assert yr.get(e.value.invoke(0), timeout=WAIT) == 0   # its endpoint is known
    sock = _raw_caller(e)
    try:
        n = 50
        stream = b"".join(P.call_frame(P.CALL, i + 1, _serialization.dumps(("step", (i,), {}))) for i in range(n))
        cuts = [0, len(stream) // 3 + 5, len(stream) // 3 + 6, len(stream) - 2, len(stream)]
        for a, b in zip(cuts, cuts[1:]):   # one write of many frames, a frame cut mid-header, one byte alone
            sock.sendall(stream[a:b])
        answers = _read_answers(sock, n)
    finally:
        sock.close()
    assert [call_id for _, call_id, _ in answers] == list(range(1, n + 1))
    for (kind, call_id, body), i in zip(answers, range(n)):
        if i % 7 == 3:
            assert kind == P.ERR and str(i) in str(_serialization.loads(body))
        else:
            assert kind == P.OK and _serialization.loads(body) == i


def test_caller_connection_delivers_coalesced_and_split_frames_in_order():
    """The caller's reader: many frames in one read, and a frame split over several reads,
    reach on_frames whole and in order (a real socket pair; the peer writes the cuts)."""
    mine, peer = socket.socketpair()
    got, closed = [], []
    conn = Connection(mine, b"t" * 64, got.extend, lambda reason, by_us: closed.append(reason), "test")
    try:
        peer.settimeout(WAIT)
        hello = peer.recv(1 << 16)
        assert hello   # the connection's first frame
        bodies = [bytes([i % 256]) * (i * 37 % 5000) for i in range(200)]
        stream = b"".join(frames.encode(b) for b in bodies)
        cuts = sorted({0, len(stream), 1, 2, 3, 4, 5, 4099, 100_000, len(stream) - 1})
        writer = threading.Thread(target=lambda: [peer.sendall(stream[a:b]) for a, b in zip(cuts, cuts[1:])])
        writer.start()
        deadline = time.monotonic() + WAIT
        while len(got) < len(bodies) and time.monotonic() < deadline:
            conn.read_for(0.05)   # this thread reads, as a waiting caller does (or the pump does)
        writer.join(WAIT)
        assert got == bodies
        assert not closed
    finally:
        conn.close()
        peer.close()


BYTES = [b"", b"\x00", bytes(range(256)), b"\xff" * 1000, b"b" * (_serialization.SHM_THRESHOLD - 1),
         b"c" * _serialization.SHM_THRESHOLD, bytes(range(256)) * (3 << 12)]   # the last two: >= 1 MiB


def test_bytes_arguments_take_the_c_pickler_below_the_shared_memory_threshold():
    small = (b"", b"\xff\x00", b"x" * (_serialization.SHM_THRESHOLD - 1))
    body = _serialization.plain_call_body("m", (1, *small, "s", None))
    assert body is not None and _serialization.loads(body) == ("m", (1, *small, "s", None), {})
    big = b"y" * _serialization.SHM_THRESHOLD
    assert _serialization.plain_call_body("m", (1, big)) is None        # out of band: the general path
    assert _serialization.plain_call_body("m", (b"x", bytearray(b"y"))) is None   # not bytes exactly
    assert _serialization.plain_call_body("m", (b"x", [1])) is None


def test_bytes_arguments_of_every_size_reach_methods_and_functions_intact(driver):
    @yr.invoke
    def sizes(*args):
        return [len(a) for a in args], list(args)

    e = Echo.invoke()
    for b in BYTES:
        names, values, _ = yr.get(e.echo.invoke(b), timeout=WAIT)
        assert names == ["bytes"] and values == [b]
        lens, back = yr.get(sizes.invoke(b, b"tail"), timeout=WAIT)
        assert lens == [len(b), 4] and back == [b, b"tail"]
    mixed = (1, BYTES[2], "s", BYTES[-1], None, BYTES[0])   # small and large bytes in one call
    assert yr.get(e.echo.invoke(*mixed), timeout=WAIT)[1] == list(mixed)


def test_bytes_arguments_beside_refs_still_wait_for_and_resolve_the_refs(driver):
    @yr.invoke
    def probe(*args):
        return [type(a).__name__ for a in args], [bytes(a) if isinstance(a, memoryview) else a for a in args]

    ref = yr.put(b"stored")
    nested = [yr.put(3)]
    names, values = yr.get(probe.invoke(b"\x01", ref, nested), timeout=WAIT)
    assert names[0] == "bytes" and names[2] == "list"   # the top-level ref resolved to its value
    assert values[:2] == [b"\x01", b"stored"]
    assert type(values[2][0]) is yr.ObjectRef and yr.get(values[2][0], timeout=WAIT) == 3
