"""The SDK's call path (Channel, Target, Connection) against fake workers, without a daemon.

The fake worker below speaks the real data-plane protocol (yr_runtime.wire.frames, the
hello of yr_runtime.wire.handshake, yr._protocol call frames, yr._serialization bodies)
over the in-memory transport (`mem:` addresses) or a real TCP listener, and records what
it received, so ordering, pipelining, dependencies, errors and connection loss are pinned
exactly, with no timing in any assertion.
"""
from __future__ import annotations

import socket
import threading
import traceback
import types

import pytest

from yr import _protocol as P
from yr import _serialization, _transport
from yr._calls import Channel, Target
from yr.exceptions import InstanceDiedError, InstanceTerminatedError, RuntimeUnavailableError, YRError, YRInvokeError
from yr.object_ref import ObjectRef, _Slot, new_id
from yr_runtime.wire import address, frames, handshake

TOKEN = b"t" * 64
WAIT = 30   # seconds: only a bound proving "does not hang"


class Custom(Exception):
    """A user exception type the caller must get back as itself."""


class FakeWorker:
    """Answers calls like a worker. Methods: echo(*a) -> a, fail(kind, text) raises,
    hold() answers only at the next release(), drop() closes the connection unanswered
    (or, with can_drop False, answers like echo)."""

    def __init__(self, name: str = "", can_drop: bool = True):
        self.can_drop = can_drop
        self.calls: list[tuple] = []        # (method, args) in arrival order, over all connections
        self.reads: list[int] = []          # call frames carried by each read
        self.conns: list[socket.socket] = []
        self.received = threading.Condition()
        self.address = address.serve_in_memory(name, self.serve) if name else ""
        self._name = name

    def stop(self) -> None:
        if self._name:
            address.stop_serving_in_memory(self._name)
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def serve(self, sock: socket.socket) -> None:
        self.conns.append(sock)
        threading.Thread(target=self._loop, args=(sock,), daemon=True).start()

    def wait_calls(self, n: int) -> list[tuple]:
        with self.received:
            assert self.received.wait_for(lambda: len(self.calls) >= n, WAIT), self.calls
            return list(self.calls)

    def _loop(self, sock: socket.socket) -> None:
        decoder, authed, held = frames.FrameDecoder(), False, []
        while True:
            try:
                data = sock.recv(1 << 16)
            except OSError:
                return
            if not data:
                sock.close()
                return
            bodies = decoder.feed(data)
            if not authed and bodies:
                handshake.check_hello(bodies.pop(0), TOKEN)
                authed = True
            out = []
            n_calls = 0
            for body in bodies:
                kind, call_id, payload = P.split(body)
                if kind == P.DEFINE:
                    continue
                n_calls += 1
                method, args, _kwargs = _serialization.loads(payload)
                with self.received:
                    self.calls.append((method, tuple(args)))
                    self.received.notify_all()
                if method == "drop" and self.can_drop:
                    sock.close()
                    return
                if method == "hold":
                    held.append(call_id)
                    continue
                if method == "release":
                    out += [P.call_frame(P.OK, c, _serialization.dumps("released")) for c in held]
                    held.clear()
                out.append(self._answer(call_id, method, args))
            if n_calls:
                self.reads.append(n_calls)
            if out:
                sock.sendall(b"".join(out))

    @staticmethod
    def _answer(call_id: int, method: str, args) -> bytes:
        try:
            if method == "fail":
                kind, text = args
                raise {"custom": Custom, "key": KeyError, "value": ValueError}[kind](text)
            if method == "yr_error":   # a yr error (not user code) travels as itself
                return P.call_frame(P.ERR, call_id, _serialization.dumps(InstanceDiedError(args[0])))
            if method == "garbage_error":
                return P.call_frame(P.ERR, call_id, b"\x00not a serialized error")
            return P.call_frame(P.OK, call_id, _serialization.dumps(tuple(args)))
        except Exception as e:
            tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
            return P.call_frame(P.ERR, call_id, _serialization.dumps(YRInvokeError(e, tb, f"Fake.{method}")))


class FakeMaster:
    """get_instance as the SDK asks it after a connection loss: the instance's fate.
    A blocking ask (timeout > 0, "wait until it is back") waits for `back` to be set."""

    def __init__(self):
        self.state, self.endpoint, self.exit_reason = "RUNNING", "", ""
        self.asked = threading.Event()
        self.back = threading.Event()
        self.back.set()

    def get_instance(self, instance_id: str, timeout: float):
        if timeout:
            self.asked.set()
            assert self.back.wait(WAIT)
        return types.SimpleNamespace(instance_id=instance_id, state=self.state, endpoint=self.endpoint,
                                     exit_reason=self.exit_reason, node_suspect=False, restarts=0,
                                     recover_retry_times=0, epoch=0)


class FakeRuntime:
    """What Target and Channel use of the runtime context: the token, channels by
    endpoint (one per endpoint, replaced once dead) and the master."""

    def __init__(self):
        self.token = TOKEN
        self.master = FakeMaster()
        self.channels: dict[str, Channel] = {}

    def channel(self, endpoint: str, target: Target) -> Channel:
        ch = self.channels.get(endpoint)
        if ch is None or ch.dead is not None:
            ch = self.channels[endpoint] = Channel(endpoint, self.token, target.label, target.channel_lost)
        return ch

    def close(self) -> None:
        for ch in self.channels.values():
            ch.conn.close()


_names = iter(range(1 << 30))


@pytest.fixture
def worker():
    w = FakeWorker(f"w{next(_names)}")
    yield w
    w.stop()


@pytest.fixture
def rt():
    r = FakeRuntime()
    yield r
    r.close()


def target_on(rt: FakeRuntime, endpoint: str, instance_id: str = "") -> Target:
    t = Target(rt, instance_id or f"inst-{next(_names)}", "Fake")
    rt.master.endpoint = endpoint
    t.connect(endpoint)
    return t


def call(t: Target, method: str, *args) -> ObjectRef:
    return t.submit(P.CALL, method, list(args), {})


def pending_ref() -> ObjectRef:
    return ObjectRef(new_id(), _Slot())


# ---- ordering and pipelining ---------------------------------------------------------------
def test_calls_reach_the_worker_in_submission_order(rt, worker):
    t = target_on(rt, worker.address)
    refs = [call(t, "echo", i) for i in range(300)]     # more than one write batch
    assert [r.get(WAIT) for r in refs] == [(i,) for i in range(300)]
    assert worker.calls == [("echo", (i,)) for i in range(300)]


def test_targets_sharing_a_worker_share_one_connection_and_keep_their_own_order(rt, worker):
    a, b = target_on(rt, worker.address), target_on(rt, worker.address)
    assert a.channel is b.channel
    refs = [call(t, "echo", t.instance_id, i) for i in range(50) for t in (a, b)]
    assert [r.get(WAIT) for r in refs] == [(t.instance_id, i) for i in range(50) for t in (a, b)]
    for t in (a, b):
        assert [c[1][1] for c in worker.calls if c[1][0] == t.instance_id] == list(range(50))


def test_calls_are_pipelined_and_written_in_one_batch(rt, worker, monkeypatch):
    """Invokes leave without waiting for earlier answers (the worker answers none of the
    held calls before the last one arrives), and a burst goes out in one write at the
    first wait. The background flusher is replaced by one that never runs on its own, so
    that the only write is the one the wait makes."""
    idle = _transport._Flusher()
    idle._thread = threading.current_thread()   # "already started": mark() starts no thread
    monkeypatch.setattr(_transport, "_flusher", idle)
    t = target_on(rt, worker.address)
    held = [call(t, "hold") for _ in range(100)]
    last = call(t, "release")
    assert worker.calls == []                    # deferred: nothing written before a wait
    assert last.get(WAIT) == ()      # every held call went out before any answer
    assert [r.get(WAIT) for r in held] == ["released"] * 100
    assert worker.reads == [101]                 # one write carried the whole burst


def test_an_error_frame_is_raised_as_the_original_type(rt, worker):
    t = target_on(rt, worker.address)
    for kind, typ in (("custom", Custom), ("key", KeyError), ("value", ValueError)):
        with pytest.raises(typ) as info:
            call(t, "fail", kind, f"bad {kind}").get(WAIT)
        assert isinstance(info.value, YRInvokeError)
        assert f"bad {kind}" in str(info.value) and "Fake.fail" in str(info.value)
    with pytest.raises(InstanceDiedError, match="a yr error"):
        call(t, "yr_error", "a yr error").get(WAIT)
    with pytest.raises(YRError, match="undecodable error from worker"):
        call(t, "garbage_error").get(WAIT)
    assert call(t, "echo", "still serving").get(WAIT) == ("still serving",)


# ---- dependencies --------------------------------------------------------------------------
def test_a_call_waits_for_its_dependency_and_later_calls_wait_behind_it(rt, worker):
    t, other = target_on(rt, worker.address), target_on(rt, worker.address)
    dep = pending_ref()
    first, second = call(t, "echo", dep, "first"), call(t, "echo", "second")
    # The same connection carries other's call: had first or second been sent, they would
    # have arrived before it.
    assert call(other, "echo", "probe").get(WAIT) == ("probe",)
    assert worker.calls == [("echo", ("probe",))]
    dep._slot.set_body(_serialization.dumps({"value": 42}))
    assert second.get(WAIT) == ("second",)
    assert first.get(WAIT) == ({"value": 42}, "first")     # the value was sent, not the ref
    assert worker.calls[1:] == [("echo", ({"value": 42}, "first")), ("echo", ("second",))]


def test_a_failed_dependency_fails_the_call_without_sending_it(rt, worker):
    t = target_on(rt, worker.address)
    dep = pending_ref()
    first, second = call(t, "echo", dep), call(t, "echo", "second")
    dep._slot.set_error(Custom("the dependency failed"))
    with pytest.raises(Custom, match="the dependency failed"):
        first.get(WAIT)
    assert second.get(WAIT) == ("second",)
    assert worker.calls == [("echo", ("second",))]


def test_a_dependency_already_failed_at_submit_fails_the_call_at_once(rt, worker):
    t = target_on(rt, worker.address)
    dep = pending_ref()
    dep._slot.set_error(ValueError("failed before"))
    with pytest.raises(ValueError, match="failed before"):
        call(t, "echo", dep).get(WAIT)
    assert call(t, "echo", 1).get(WAIT) == (1,)
    assert worker.calls == [("echo", (1,))]


# ---- connection loss -----------------------------------------------------------------------
def test_connection_loss_of_a_dead_instance_fails_calls_in_flight_and_later(rt, worker):
    t = target_on(rt, worker.address)
    rt.master.state, rt.master.exit_reason = "DEAD", "killed by the test"
    in_flight = [call(t, "hold") for _ in range(3)]
    dropped = call(t, "drop")
    for r in in_flight + [dropped]:
        with pytest.raises(InstanceDiedError, match="killed by the test"):
            r.get(WAIT)
    with pytest.raises(InstanceDiedError, match="killed by the test"):
        call(t, "echo", "after").get(WAIT)
    assert worker.calls == [("hold", ())] * 3 + [("drop", ())]


def test_a_restarted_instance_at_a_malformed_address_fails_its_calls_instead_of_leaving_them_waiting(rt, worker):
    t = target_on(rt, worker.address)
    rt.master.endpoint = ""   # (a runtime bug) the restarted instance's address is no address
    in_flight = [call(t, "hold") for _ in range(2)] + [call(t, "drop")]
    for r in in_flight:
        with pytest.raises(RuntimeUnavailableError, match="which is not one"):
            r.get(WAIT)
    with pytest.raises(RuntimeUnavailableError, match="which is not one"):
        call(t, "echo", "after").get(WAIT)


def test_calls_in_flight_to_a_restarting_instance_go_first_to_the_new_worker(rt, worker):
    new = FakeWorker(f"w{next(_names)}", can_drop=False)
    try:
        t = target_on(rt, worker.address)
        assert call(t, "echo", 0).get(WAIT) == (0,)
        rt.master.back.clear()                    # the restart is under way until `back` is set
        rt.master.endpoint, rt.master.exit_reason = new.address, "restarted"
        in_flight = [call(t, "hold", i) for i in range(3)] + [call(t, "drop")]
        _transport.flush_all()
        worker.wait_calls(5)
        assert rt.master.asked.wait(WAIT)
        later = [call(t, "echo", i) for i in range(3)]   # submitted while it is restarting
        rt.master.back.set()
        assert [r.get(WAIT) for r in later] == [(i,) for i in range(3)]
        assert call(t, "release").get(WAIT) == ()
        assert [r.get(WAIT) for r in in_flight] == ["released"] * 3 + [()]
        # at least once: the old worker's calls were sent again, first, in their order
        assert new.calls == [("hold", (0,)), ("hold", (1,)), ("hold", (2,)), ("drop", ()),
                             ("echo", (0,)), ("echo", (1,)), ("echo", (2,)), ("release", ())]
    finally:
        new.stop()


def test_a_terminated_target_refuses_calls_and_fails_those_in_flight(rt, worker):
    t = target_on(rt, worker.address)
    held = call(t, "hold")
    _transport.flush_all()
    assert worker.wait_calls(1) == [("hold", ())]
    t.mark_terminated()
    with pytest.raises(InstanceTerminatedError):
        call(t, "echo", 1)
    worker.stop()    # the runtime ends the worker: its connection closes
    with pytest.raises(InstanceTerminatedError):
        held.get(WAIT)


# ---- the transports --------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_the_call_path_over_tcp(rt, host):
    listener = address.listen(address.tcp(host, 0))
    endpoint = address.bound_address(listener)
    assert address.parse(endpoint).port > 0
    w = FakeWorker()

    def accept():
        sock, _ = listener.accept()
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)   # inherited from the listener
        w.serve(sock)
    threading.Thread(target=accept, daemon=True).start()
    try:
        t = target_on(rt, endpoint)
        assert t.channel.conn._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        refs = [call(t, "echo", i, b"x" * 1000) for i in range(200)]
        assert [r.get(WAIT) for r in refs] == [(i, b"x" * 1000) for i in range(200)]
        with pytest.raises(KeyError):
            call(t, "fail", "key", "over tcp").get(WAIT)
    finally:
        w.stop()
        address.close_listener(listener)


def test_a_unix_listener_is_private_and_removed_when_closed(tmp_path):
    path = tmp_path / "w.sock"
    listener = address.listen(address.unix(path))
    assert address.bound_address(listener) == f"unix:{path}"
    assert path.stat().st_mode & 0o777 == 0o600
    address.dial(f"unix:{path}").close()
    address.dial(str(path)).close()            # a bare path is still a unix address
    address.close_listener(listener)
    assert not path.exists()
    with pytest.raises(OSError):
        address.dial(f"unix:{path}", 1)


def test_connection_takes_a_connected_socket_too():
    ours, theirs = socket.socketpair()
    w = FakeWorker()
    w.serve(theirs)
    got = []
    done = threading.Event()
    conn = _transport.Connection(ours, TOKEN, lambda bodies: (got.extend(bodies), done.set()),
                                 lambda *_: None, "socketpair")
    try:
        conn.send_encoded(P.call_frame(P.CALL, 7, _serialization.dumps(("echo", [1], {}))))
        assert done.wait(WAIT)
        assert P.split(got[0])[:2] == (P.OK, 7)
    finally:
        conn.close()
        w.stop()


def test_a_mem_address_nobody_serves_is_refused():
    with pytest.raises(ConnectionRefusedError, match="mem:nobody"):
        address.dial("mem:nobody")
    address.serve_in_memory("twice", lambda s: s.close())
    try:
        with pytest.raises(ValueError, match="already served"):
            address.serve_in_memory("twice", lambda s: s.close())
    finally:
        address.stop_serving_in_memory("twice")
