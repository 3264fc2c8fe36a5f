"""The path of the calls made before an instance's create is answered (issue 16, creation):
a thread waiting for such a call reads its connection itself once the call is sent, the
connection's first frame leaves with its first call, and the calls run once each, in order,
with the create's or the constructor's error reported to them as before."""
from __future__ import annotations

import socket
import threading
import time

import pytest

import yr
from yr import _protocol as P
from yr import _transport
from yr._calls import Target
from yr_runtime.wire import address, frames, handshake

from test_call_path_inmemory import TOKEN, WAIT, FakeWorker, call, rt, worker  # noqa: F401  (fixtures by name)


def _eventually(pred, limit: float = 10.0) -> bool:
    """Whether pred() became true within `limit` seconds (a bound against hanging, not a speed test)."""
    end = time.monotonic() + limit
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(0.001)
    return True


def _idle_flusher(monkeypatch) -> None:
    """A flusher that never writes on its own: only sends and waits write."""
    idle = _transport._Flusher()
    idle._thread = threading.current_thread()   # "already started": mark() starts no thread
    monkeypatch.setattr(_transport, "_flusher", idle)


# ---- without a daemon (fake worker, in-memory transport) ---------------------------------------
def test_a_thread_waiting_for_a_call_queued_before_the_connection_reads_the_connection_itself(rt, worker):
    t = Target(rt, "inst-queued", "Fake")      # no endpoint yet: the create is not answered
    held = call(t, "hold")
    got = []
    waiter = threading.Thread(target=lambda: got.append(held.get(WAIT)), daemon=True)
    waiter.start()
    assert _eventually(lambda: held._slot._event is not None)   # asleep: nothing to read yet
    t.connect(worker.address)
    assert worker.wait_calls(1) == [("hold", ())]
    # Woken by the send, the waiter now reads the connection (no reader thread hands it over).
    assert _eventually(lambda: t.channel.conn._waiters == 1, 3), "the waiter did not take the connection"
    assert call(t, "release").get(WAIT) == ()
    waiter.join(WAIT)
    assert got == ["released"]


def test_many_waiters_of_queued_calls_all_get_their_own_result_once(rt, worker):
    t = Target(rt, "inst-many", "Fake")
    refs = [call(t, "echo", i) for i in range(40)]
    got = {}
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, refs[i].get(WAIT)), daemon=True)
               for i in range(40)]
    for th in threads:
        th.start()
    assert _eventually(lambda: all(r._slot._event is not None or r._slot.done for r in refs))
    t.connect(worker.address)
    for th in threads:
        th.join(WAIT)
    assert got == {i: (i,) for i in range(40)}
    assert worker.calls == [("echo", (i,)) for i in range(40)]   # each once, in submission order


def test_a_wait_that_times_out_before_the_connection_still_times_out(rt, worker):
    t = Target(rt, "inst-timeout", "Fake")
    ref = call(t, "echo", 1)
    assert ref.wait(0.05) is False
    t.connect(worker.address)
    assert ref.get(WAIT) == (1,)


def test_the_first_frame_of_a_connection_leaves_with_its_first_call(monkeypatch):
    """Nothing is written when the connection is made; the hello and the first call leave
    in one write (the worker wakes once for both)."""
    _idle_flusher(monkeypatch)
    accepted = []
    name = f"first-frame-{id(accepted)}"
    peer_address = address.serve_in_memory(name, accepted.append)
    try:
        conn = _transport.Connection(peer_address, TOKEN, lambda bodies: None, lambda reason, by_us: None, "probe")
        assert _eventually(lambda: accepted)
        peer = accepted[0]
        with pytest.raises(BlockingIOError):
            peer.recv(1 << 16, socket.MSG_DONTWAIT)    # the hello waits for the first call
        call_frame = P.call_frame(P.CALL, 1, b"body")
        conn.send_encoded(call_frame)
        peer.settimeout(WAIT)
        data = b""
        while len(data) < len(frames.encode(handshake.hello(TOKEN))) + len(call_frame):
            data += peer.recv(1 << 16)
        bodies = frames.FrameDecoder().feed(data)
        handshake.check_hello(bodies[0], TOKEN)
        assert P.split(bodies[1])[:2] == (P.CALL, 1)
        conn.close()
    finally:
        address.stop_serving_in_memory(name)


def test_a_connection_with_nothing_to_send_still_says_hello_soon():
    """A connection made with no call (a handle that arrived, not called yet) must not look
    like a silent peer to a data port (it closes those after 10 s): the flusher sends the hello."""
    accepted = []
    name = f"hello-only-{id(accepted)}"
    peer_address = address.serve_in_memory(name, accepted.append)
    try:
        conn = _transport.Connection(peer_address, TOKEN, lambda bodies: None, lambda reason, by_us: None, "probe")
        assert _eventually(lambda: accepted)
        accepted[0].settimeout(WAIT)
        hello = frames.encode(handshake.hello(TOKEN))
        data = b""
        while len(data) < len(hello):
            data += accepted[0].recv(1 << 16)
        assert data == hello
        conn.close()
    finally:
        address.stop_serving_in_memory(name)


# ---- with a daemon ------------------------------------------------------------------------------
@yr.instance
class Tally:
    def __init__(self, start=0):
        self.seen = [start]

    def add(self, k):
        self.seen.append(k)
        return list(self.seen)


@yr.instance
class Broken:
    def __init__(self):
        raise KeyError("no such thing")

    def f(self):
        return 1


def test_calls_made_before_the_create_is_answered_run_once_each_in_order(driver):
    for _ in range(3):
        h = Tally.invoke(7)
        refs = [h.add.invoke(i) for i in range(30)]   # made before the create's answer arrives
        out = {}
        threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, yr.get(refs[i], timeout=60)), daemon=True)
                   for i in (29, 0, 15)]
        for th in threads:
            th.start()
        assert yr.get(refs[10], timeout=60) == [7] + list(range(11))
        for th in threads:
            th.join(60)
        assert out[29] == [7] + list(range(30))    # every call ran exactly once, in order
        assert out[0] == [7, 0] and out[15] == [7] + list(range(16))
        h.terminate()


def test_a_failed_constructor_is_reported_to_the_first_call_and_later_ones(driver):
    h = Broken.invoke()
    first = h.f.invoke()
    with pytest.raises(KeyError, match="no such thing"):
        yr.get(first, timeout=60)
    with pytest.raises(KeyError, match="no such thing"):
        yr.get(h.f.invoke(), timeout=60)
    h.terminate()


def test_a_refused_create_fails_the_calls_threads_wait_for_with_its_error(driver):
    h = Tally.options(yr.InvokeOptions(custom_resources={"tpu": 1})).invoke()
    refs = [h.add.invoke(i) for i in range(3)]
    errors = []

    def wait(ref):
        try:
            yr.get(ref, timeout=60)
        except yr.ResourceUnavailableError as e:
            errors.append(str(e))
    threads = [threading.Thread(target=wait, args=(r,), daemon=True) for r in refs]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert len(errors) == 3 and all("'tpu'" in e for e in errors), errors


def test_a_new_connection_reads_small_frames_into_a_small_buffer_and_grows_it_for_large_ones():
    """A new connection (one per instance) maps no 256 KiB receive buffer up front; frames
    larger than its buffer arrive intact, and the buffer grows for them."""
    accepted, got = [], []
    arrived = threading.Condition()

    def on_frames(bodies):
        with arrived:
            got.extend(bytes(b) for b in bodies)
            arrived.notify_all()
    name = f"grow-{id(accepted)}"
    peer_address = address.serve_in_memory(name, accepted.append)
    try:
        conn = _transport.Connection(peer_address, TOKEN, on_frames, lambda reason, by_us: None, "probe")
        assert len(conn._rbuf) == _transport.RECV_FIRST < _transport.RECV_CHUNK
        assert _eventually(lambda: accepted)
        small, large = b"s" * 100, bytes(range(256)) * 4096   # 1 MiB
        accepted[0].sendall(frames.encode(small))
        with arrived:
            assert arrived.wait_for(lambda: len(got) == 1, WAIT)
        assert got == [small] and len(conn._rbuf) == _transport.RECV_FIRST
        accepted[0].sendall(frames.encode(large) + frames.encode(small))
        with arrived:
            assert arrived.wait_for(lambda: len(got) == 3, WAIT)
        assert got[1] == large and got[2] == small
        assert len(conn._rbuf) == _transport.RECV_CHUNK
        conn.close()
    finally:
        address.stop_serving_in_memory(name)
