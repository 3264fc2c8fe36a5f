"""The data socket of a Java driver's bridge process (yr._bridge_sock) without a JVM: frames
built as DataSocket.java builds them, over a real Unix socket, served by the real
_BridgeService (the Java side is exercised by every driver test in this directory)."""
import socket
import struct
import threading
import time

import pytest

from yr._bridge_codec import _Codec, _Registry
from yr._bridge_py4j import _BridgeService
from yr._bridge_sock import DataServer, parse, recv_exact


class Ref:
    """Stands for an ObjectRef the bridge lends to Java."""


class Bridge:
    """Stands for yr._bridge: invokes make refs; get of a ref named "slow" blocks until set."""

    def __init__(self):
        self.calls = []
        self.release_slow = threading.Event()

    def invoke_method(self, handle, method, args, opts=None):
        self.calls.append((method, args))
        ref = Ref()
        ref.method = method
        return ref

    def get(self, refs, timeout):
        out = []
        for r in refs if isinstance(refs, list) else [refs]:
            if r.method == "slow":
                assert self.release_slow.wait(10)
            out.append(r.method)
        return out if isinstance(refs, list) else out[0]


def frame(op: str, payload: bytes, seq: int = 0, invokes: bytes = b"", released: bytes = b"") -> bytes:
    """A request exactly as DataSocket.Conn.exchange writes it (length prefix included)."""
    name = op.encode()
    body = (struct.pack(">qI", seq, len(invokes)) + invokes + struct.pack(">I", len(released)) + released
            + struct.pack(">H", len(name)) + name + payload)
    return struct.pack(">I", len(body)) + body


def exchange(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    head = sock.recv(4, socket.MSG_WAITALL)
    n = struct.unpack(">I", head)[0]
    return sock.recv(n, socket.MSG_WAITALL)


@pytest.fixture
def served(tmp_path):
    registry = _Registry()
    codec = _Codec(registry)
    bridge = Bridge()
    sock_dir = tmp_path / "bridge"
    sock_dir.mkdir()
    server = DataServer(str(sock_dir / "data.sock"), _BridgeService(bridge, codec, registry))
    yield server, codec, registry, bridge
    bridge.release_slow.set()
    server.close()


def connect(server) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(server.path)
    return s


def test_parse_reads_every_field_and_refuses_a_truncated_frame():
    whole = frame("get", b"PAYLOAD", seq=7, invokes=b"INV", released=b"REL")[4:]
    assert parse(whole) == (7, b"INV", b"REL", "get", b"PAYLOAD")
    assert parse(frame("flush", b"")[4:]) == (0, b"", b"", "flush", b"")
    with pytest.raises((ValueError, struct.error)):
        parse(whole[:14])


def test_invokes_releases_and_the_op_ride_one_frame(served):
    server, codec, registry, bridge = served
    invokes = codec.encode(["j1", codec.encode(["invoke_method", None, "a", [1], {}]),
                            "j2", codec.encode(["invoke_method", None, "b", [2], {}])])
    get_j2 = b"L\x00\x00\x00\x02" + b"R\x00\x00\x00\x02j2" + codec.encode(5.0)   # [ref j2, 5.0]
    with connect(server) as s:
        answer = codec.decode(exchange(s, frame("get", get_j2, seq=1, invokes=invokes)))
        assert answer == {"ok": "b"} and bridge.calls == [("a", [1]), ("b", [2])]
        assert len(registry) == 2
        # releases ride on the next frame (here a call without invokes) and are applied first
        answer = codec.decode(exchange(s, frame("lent", codec.encode([]), released=codec.encode(["j1", "j2"]))))
        assert answer == {"ok": 0}


def test_errors_come_back_as_answers_and_the_connection_goes_on(served):
    server, codec, _, _ = served
    with connect(server) as s:
        answer = codec.decode(exchange(s, frame("no_such_op", codec.encode([]))))
        assert "unknown bridge operation" in answer["err"][2]
        bad_release = frame("lent", codec.encode([]), released=b"?")
        assert "bad value tag" in codec.decode(exchange(s, bad_release))["err"][2]
        assert codec.decode(exchange(s, frame("lent", codec.encode([])))) == {"ok": 0}


def test_a_blocked_call_holds_only_its_own_connection(served):
    server, codec, _, bridge = served
    slow = codec.encode(["j1", codec.encode(["invoke_method", None, "slow", [], {}])])
    fast = codec.encode(["j2", codec.encode(["invoke_method", None, "fast", [], {}])])
    got = {}
    a, b = connect(server), connect(server)
    try:
        t = threading.Thread(target=lambda: got.update(slow=codec.decode(exchange(a, frame(
            "get", b"L\x00\x00\x00\x02R\x00\x00\x00\x02j1" + codec.encode(5.0), seq=1, invokes=slow)))))
        t.start()
        deadline = time.monotonic() + 10
        while not bridge.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        answer = codec.decode(exchange(b, frame(
            "get", b"L\x00\x00\x00\x02R\x00\x00\x00\x02j2" + codec.encode(5.0), seq=2, invokes=fast)))
        assert answer == {"ok": "fast"} and "slow" not in got
        bridge.release_slow.set()
        t.join(10)
        assert got["slow"] == {"ok": "slow"}
    finally:
        a.close()
        b.close()


def test_close_removes_the_socket_and_its_directory(served):
    server, *_ = served
    import os
    path = server.path
    assert os.path.exists(path)
    server.close()
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))


@pytest.mark.parametrize("size", [10, 70_000, 300_000])
def test_a_frame_in_pieces_or_larger_than_the_read_buffer_arrives_whole(served, size):
    """The server reads a frame with one recv when it can; a frame sent in pieces (the
    length split, the body late) or larger than its buffer still arrives whole, and the
    connection serves the next call (the buffer is reused, so no stale bytes)."""
    server, codec, _, _ = served
    name = "m" * size
    invokes = codec.encode(["j1", codec.encode(["invoke_method", None, name, [], None])])
    data = frame("get", b"L\x00\x00\x00\x02R\x00\x00\x00\x02j1" + codec.encode(5.0), seq=1, invokes=invokes)
    with connect(server) as s:
        for cut in (2, 7, len(data) // 2):   # the length in two, the body in pieces
            s.sendall(data[:cut])
            data = data[cut:]
            time.sleep(0.02)
        s.sendall(data)
        answer = codec.decode(recv_exact(s, struct.unpack(">I", recv_exact(s, 4))[0]))
        assert answer == {"ok": name}
        assert codec.decode(exchange(s, frame("lent", codec.encode([])))) == {"ok": 1}
