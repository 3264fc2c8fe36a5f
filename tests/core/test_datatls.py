"""The data path's TLS (`wire.datatls`) over real loopback sockets, without a daemon: `address.dial`
sends a clear route (a preamble with an empty token) then handshakes; the serving side wraps
after the route and finds the token preamble inside TLS; the SSL sockets read like plain ones
for the poll-based readers (MSG_DONTWAIT accepted, decrypted bytes that poll cannot see drained);
a session without a certificate turns nothing on; sendall of frames larger than a record and
reads of every size come out whole."""
import os
import select
import socket
import threading

import pytest

from yr_runtime.local import pki
from yr_runtime.wire import address, datatls, frames, preamble

TOKEN = b"cd" * 32


@pytest.fixture
def tls_on(tmp_path, monkeypatch):
    """datatls turned on for this process from a member's session; turned off again after."""
    ca = pki.new_ca()
    cert, key = pki.issue(*ca, "m")
    pki.write_identity(tmp_path, pki.Credentials(TOKEN, ca[0], cert, key))
    for name in ("_client", "_server", "_session"):
        monkeypatch.setattr(datatls, name, None)
    assert datatls.use_session(tmp_path) and datatls.enabled()
    yield tmp_path


def test_a_session_without_a_certificate_turns_nothing_on(tmp_path, monkeypatch):
    monkeypatch.setattr(datatls, "_client", None)
    assert not datatls.use_session(tmp_path) and not datatls.enabled() and datatls.route_token() is None
    srv = socket.create_server(("127.0.0.1", 0))
    with srv, address.dial(address.tcp("127.0.0.1", srv.getsockname()[1], "w1")) as s:
        assert type(s) is socket.socket   # a plain socket: nothing is sent before the caller's first frame
        conn, _ = srv.accept()
        s.sendall(b"x")
        assert conn.recv(10) == b"x"
        conn.close()


def _serve_one(srv, got: dict, payload: bytes):
    conn, _ = srv.accept()
    conn.settimeout(10)
    n = int.from_bytes(conn.recv(4, socket.MSG_WAITALL), "little")
    preamble.check_length(n)
    got["route"] = preamble.decode(conn.recv(n, socket.MSG_WAITALL), datatls.route_token())
    s = datatls.server(conn)
    dec = frames.FrameDecoder()
    bodies = []
    while not bodies:
        bodies = dec.feed(s.recv(65536))
    got["inner"] = preamble.decode(bodies[0], TOKEN)
    s.sendall(payload)
    s.close()


@pytest.mark.parametrize("target", ["w-1", ""])
def test_dial_sends_a_clear_route_then_tls_with_the_token_inside(tls_on, target):
    srv = socket.create_server(("127.0.0.1", 0))
    payload = os.urandom(3 * 16384 + 777) * 5   # several TLS records, not aligned to them
    got: dict = {}
    t = threading.Thread(target=_serve_one, args=(srv, got, payload), daemon=True)
    t.start()
    peer = address.tcp("127.0.0.1", srv.getsockname()[1], target)
    s = address.dial(peer, 10)
    purpose = preamble.CALLER if target else preamble.OBJECTS
    s.sendall(frames.encode(preamble.encode(TOKEN, purpose, target)))
    # read as _transport.Connection does: poll, then recv_into with MSG_DONTWAIT, until EOF
    poller = select.poll()
    poller.register(s.fileno(), select.POLLIN)
    buf, out = bytearray(1 << 18), bytearray()
    while True:
        assert poller.poll(10_000) or s.pending()
        n = s.recv_into(buf, len(buf), socket.MSG_DONTWAIT)
        if not n:
            break
        out += buf[:n]
        assert s.pending() == 0   # nothing left where poll cannot see it
    t.join(10)
    srv.close()
    assert bytes(out) == payload
    assert got["route"] == preamble.Preamble(purpose, target) and got["inner"] == preamble.Preamble(purpose, target)


def test_a_plain_preamble_is_not_a_route(tls_on):
    with pytest.raises(Exception, match="wrong cluster token"):
        preamble.decode(preamble.encode(TOKEN, preamble.CALLER, "w-1"), datatls.route_token())


def test_a_server_of_another_ca_is_refused_by_the_dialler(tls_on, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    ca = pki.new_ca()
    cert, key = pki.issue(*ca, "o")
    ident = pki.write_identity(other, pki.Credentials(TOKEN, ca[0], cert, key))
    from yr_runtime.wire import tls
    ctx = tls.server_context(ident)
    srv = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = srv.accept()
        conn.settimeout(10)
        n = int.from_bytes(conn.recv(4, socket.MSG_WAITALL), "little")
        conn.recv(n, socket.MSG_WAITALL)
        try:
            ctx.wrap_socket(conn, server_side=True).close()
        except OSError:
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    import ssl
    with pytest.raises(ssl.SSLCertVerificationError):
        address.dial(address.tcp("127.0.0.1", srv.getsockname()[1], "w-1"), 10)
    t.join(10)
    srv.close()
