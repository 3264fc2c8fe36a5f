"""The cluster CA (`local.pki`) and the data plane's TLS contexts (`wire.tls`), over real
loopback sockets: a member of the cluster talks to another; a client without a certificate, with
one of another CA, or speaking plain TCP is refused by the server before it reads a byte of its;
a server of another CA is refused by the client. Key files are 0600; bad token files and bundles
are refused naming what is wrong."""
import asyncio
import os
import socket
import ssl
import stat
import threading

import pytest

from yr_runtime.local import cluster_tls, pki
from yr_runtime.wire import tls

TOKEN = b"ab" * 32


def member(tmp_path, name, ca=None):
    """A session directory holding a member's identity issued by `ca` (a new CA if None)."""
    ca = ca or pki.new_ca()
    d = tmp_path / name
    d.mkdir()
    cert, key = pki.issue(*ca, name)
    return pki.write_identity(d, pki.Credentials(TOKEN, ca[0], cert, key)), ca


class Server:
    """One accepted connection wrapped with server_context; echoes what it reads, records what
    it received and how the handshake ended."""

    def __init__(self, ident):
        self.ctx = tls.server_context(ident)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received, self.error = b"", None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        conn.settimeout(10)
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as s:
                while data := s.recv(65536):
                    self.received += data
                    s.sendall(data)
        except (ssl.SSLError, OSError) as e:
            self.error = e
        finally:
            self.sock.close()

    def done(self):
        self.thread.join(15)
        assert not self.thread.is_alive()
        return self


def dial(port, ident, name=tls.NODE_NAME):
    return tls.wrap_client(socket.create_connection(("127.0.0.1", port), 10), ident, name)


def test_members_of_one_cluster_talk_both_ways(tmp_path):
    server_ident, ca = member(tmp_path, "server")
    client_ident, _ = member(tmp_path, "client", ca)
    srv = Server(server_ident)
    payload = os.urandom(1 << 20)   # more than one TLS record
    with dial(srv.port, client_ident) as s:
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            got += s.recv(65536)
        assert got == payload
        assert s.version() in ("TLSv1.2", "TLSv1.3")
        assert s.getpeercert()["subject"] == ((("commonName", "server"),),)
    assert srv.done().error is None and srv.received == payload


def test_a_client_without_a_certificate_is_refused_before_anything_is_read(tmp_path):
    server_ident, _ = member(tmp_path, "server")
    srv = Server(server_ident)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(server_ident.ca)   # it trusts the server, but has no certificate
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), 10), server_hostname=tls.NODE_NAME) as s:
            s.sendall(b"secret call frame")
            s.recv(1)   # TLS 1.3: the refusal arrives after the client's side of the handshake
    srv.done()
    assert srv.received == b"" and "certificate" in str(srv.error).lower(), srv.error


def test_a_client_certificate_of_another_ca_is_refused(tmp_path):
    server_ident, ca = member(tmp_path, "server")
    stranger, _ = member(tmp_path, "stranger")   # its own CA
    # it even trusts the right CA: only its own certificate is foreign
    mixed = tls.Identity(server_ident.ca, stranger.cert, stranger.key)
    srv = Server(server_ident)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with dial(srv.port, mixed) as s:
            s.sendall(b"secret call frame")
            s.recv(1)
    srv.done()
    assert srv.received == b"" and isinstance(srv.error, ssl.SSLError), srv.error


def test_a_server_of_another_ca_is_refused_by_the_client(tmp_path):
    server_ident, _ = member(tmp_path, "server")
    client_ident, _ = member(tmp_path, "client")   # another cluster
    srv = Server(server_ident)
    with pytest.raises(ssl.SSLCertVerificationError):
        dial(srv.port, client_ident)
    assert srv.done().received == b""


def test_the_client_checks_the_name_the_certificate_serves_as(tmp_path):
    server_ident, ca = member(tmp_path, "server")   # a node's certificate: NODE_NAME, not MASTER_NAME
    client_ident, _ = member(tmp_path, "client", ca)
    srv = Server(server_ident)
    with pytest.raises(ssl.SSLCertVerificationError, match="yr-master"):
        dial(srv.port, client_ident, tls.MASTER_NAME)
    srv.done()


def test_a_plain_tcp_client_is_refused_and_its_bytes_are_not_read(tmp_path):
    server_ident, _ = member(tmp_path, "server")
    for garbage in (b"\x00\x00\x00\x10YR1\x00" + TOKEN, b"\xff" * 70000, b"\x16\x03\x01\xff\xff" + b"\x00" * 100):
        srv = Server(server_ident)
        with socket.create_connection(("127.0.0.1", srv.port), 10) as s:
            s.settimeout(10)
            try:   # the server may close before all of it is sent: the refusal comes at once
                s.sendall(garbage)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            except OSError:
                pass
        srv.done()
        assert srv.received == b"" and isinstance(srv.error, (ssl.SSLError, OSError)), srv.error


def test_make_cluster_keeps_keys_private_and_its_bundle_joins(tmp_path):
    bundle = pki.make_cluster(tmp_path, TOKEN)
    for f in (tmp_path / "tls" / "ca-key.pem", tmp_path / "tls" / "key.pem", bundle):
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f
    assert stat.S_IMODE(os.stat(tmp_path / "tls").st_mode) == 0o700
    creds = pki.read_credentials(bundle)
    assert creds.token == TOKEN and creds.tls and b"PRIVATE KEY" in creds.key
    assert b"ca-key" not in bundle.read_bytes() and pki.read_credentials(bundle).ca == (tmp_path / "tls" / "ca.pem").read_bytes()
    node = tmp_path / "node"
    node.mkdir()
    node_ident = pki.write_identity(node, creds)
    srv = Server(tls.identity_in(tmp_path))   # the master's certificate serves as a node's too
    with dial(srv.port, node_ident, tls.MASTER_NAME) as s:
        s.sendall(b"hello")
        assert s.recv(5) == b"hello"
    srv.done()


def test_token_files_and_bundles_are_read_or_refused_by_name(tmp_path):
    plain = tmp_path / "token"
    plain.write_bytes(TOKEN + b"\n")
    assert pki.read_credentials(plain) == pki.Credentials(TOKEN)
    assert tls.identity_in(tmp_path) is None
    cases = {"empty": b"", "binary": b"\x00\x01" * 10, "lines": b"a\nb", "json": b'{"kind": "other"}',
             "nokey": b'{"kind": "yr-join-bundle", "token": "t", "ca": "x", "cert": "y"}',
             "badpem": b'{"kind": "yr-join-bundle", "token": "t", "ca": "x", "cert": "y", "key": "z"}'}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(pki.BundleError, match=name):
            pki.read_credentials(tmp_path / name)
    with pytest.raises(pki.BundleError, match="cannot read"):
        pki.read_credentials(tmp_path / "missing")


def test_loopback_is_told_from_other_addresses():
    assert cluster_tls.is_loopback("127.0.0.1") and cluster_tls.is_loopback("::1")
    assert cluster_tls.is_loopback("localhost") and cluster_tls.is_loopback("127.3.4.5")
    assert not cluster_tls.is_loopback("10.0.0.1") and not cluster_tls.is_loopback("0.0.0.0")
    assert not cluster_tls.is_loopback("no-such-host.invalid")


def test_tls_is_the_default_beyond_loopback_and_the_flags_override_it():
    assert not cluster_tls.wanted(None, "127.0.0.1") and not cluster_tls.wanted(None, "localhost")
    assert cluster_tls.wanted(None, "192.168.1.20") and cluster_tls.wanted(None, "0.0.0.0")
    assert cluster_tls.wanted(True, "127.0.0.1") and not cluster_tls.wanted(False, "192.168.1.20")


def test_the_contexts_serve_an_asyncio_listener_as_the_node_agent_would(tmp_path):
    """The agent is asyncio: its data port would pass server_context to start_server."""
    server_ident, ca = member(tmp_path, "server")
    client_ident, _ = member(tmp_path, "client", ca)
    stranger, _ = member(tmp_path, "stranger")

    async def main():
        async def echo(reader, writer):
            try:
                writer.write(await reader.readexactly(5))
                await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            writer.close()
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=tls.server_context(server_ident),
                                            ssl_handshake_timeout=tls.HANDSHAKE_TIMEOUT)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls.client_context(client_ident),
                                                       server_hostname=tls.NODE_NAME)
        writer.write(b"hello")
        assert await reader.readexactly(5) == b"hello"
        writer.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection("127.0.0.1", port, ssl=tls.client_context(stranger),
                                          server_hostname=tls.NODE_NAME)
        server.close()
        await server.wait_closed()
    asyncio.run(main())


def test_the_standby_bundle_serves_as_the_master_and_the_join_bundle_does_not(tmp_path):
    """A standby master of a --tls cluster serves with the leader's standby.bundle: its
    certificate names MASTER_NAME (nodes check that name) and is of the same CA; a node's join
    bundle given to a master is refused naming the file to use."""
    join_bundle = pki.make_cluster(tmp_path, TOKEN)
    standby = tmp_path / cluster_tls.STANDBY_BUNDLE_FILE
    assert stat.S_IMODE(os.stat(standby).st_mode) == 0o600
    creds = pki.read_credentials(standby)
    assert creds.token == TOKEN and creds.ca == (tmp_path / "tls" / "ca.pem").read_bytes()
    pki.check_serves_as_master(creds, standby)
    with pytest.raises(pki.BundleError, match=r"join bundle for nodes.*standby\.bundle"):
        pki.check_serves_as_master(pki.read_credentials(join_bundle), join_bundle)
    master = tmp_path / "standby-master"
    master.mkdir()
    srv = Server(pki.write_identity(master, creds))   # serves to a node of the cluster, checked by name
    node = tmp_path / "node"
    node.mkdir()
    with dial(srv.port, pki.write_identity(node, pki.read_credentials(join_bundle)), tls.MASTER_NAME) as s:
        s.sendall(b"hello")
        assert s.recv(5) == b"hello"
    srv.done()


def test_a_stopped_members_keys_and_bundle_are_removed(tmp_path):
    bundle = pki.make_cluster(tmp_path, TOKEN)
    cluster_tls.forget_secrets(tmp_path)
    assert not bundle.exists() and not (tmp_path / "tls" / "ca-key.pem").exists()
    assert not (tmp_path / cluster_tls.STANDBY_BUNDLE_FILE).exists()
    assert not (tmp_path / "tls" / "key.pem").exists() and (tmp_path / "tls" / "ca.pem").exists()
    cluster_tls.forget_secrets(tmp_path)   # again: nothing left, no error
