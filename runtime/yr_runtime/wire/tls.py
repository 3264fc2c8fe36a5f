"""TLS between machines: a member's identity files and `ssl.SSLContext`s made from them.

A cluster started with `yr start --master --tls` has one CA (`yr_runtime.local.pki` makes
it); every member (the master, each node, and the drivers and workers through their node's
session) holds `<session>/tls/{ca.pem,cert.pem,key.pem}`. Both ends of every TCP
connection present a certificate issued by that CA and verify the other's against it
(mutual TLS). A peer is trusted for what its certificate names, not for its address:
MASTER_NAME for the master's control port, NODE_NAME for a node's data port, so a cluster
behind NAT or with several names per machine needs no per-address certificates.

Only the standard `ssl` module here; gRPC's credentials take the same PEM files.
"""
from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

TLS_DIR = "tls"
HANDSHAKE_TIMEOUT = 10.0    # seconds a listener gives a peer to finish its handshake (asyncio's
                            # ssl_handshake_timeout, or settimeout before do_handshake)
MASTER_NAME = "yr-master"   # the name the master's certificate holds; clients check it
NODE_NAME = "yr-node"       # the name every member's certificate holds, for data ports


@dataclass(frozen=True)
class Identity:
    """The PEM files of one member: the cluster CA's certificate, its own certificate and key."""
    ca: Path
    cert: Path
    key: Path

    @classmethod
    def of(cls, session_dir) -> "Identity":
        d = Path(session_dir) / TLS_DIR
        return cls(d / "ca.pem", d / "cert.pem", d / "key.pem")

    def pem(self) -> tuple[bytes, bytes, bytes]:
        """(CA certificate, own certificate, own key) as bytes, as gRPC's credentials take them."""
        return self.ca.read_bytes(), self.cert.read_bytes(), self.key.read_bytes()


def identity_in(session_dir) -> Identity | None:
    """The session's identity if its cluster uses TLS (it has tls/cert.pem), else None."""
    ident = Identity.of(session_dir)
    return ident if ident.cert.is_file() else None


def _base(protocol: int, ident: Identity) -> ssl.SSLContext:
    ctx = ssl.SSLContext(protocol)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(ident.cert, ident.key)
    ctx.load_verify_locations(cafile=ident.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def server_context(ident: Identity) -> ssl.SSLContext:
    """For a listening socket: presents this member's certificate and requires the client's,
    issued by the cluster CA (the handshake fails otherwise, before any application byte is read)."""
    return _base(ssl.PROTOCOL_TLS_SERVER, ident)


def client_context(ident: Identity) -> ssl.SSLContext:
    """For a dialled socket: presents this member's certificate and verifies the server's against
    the cluster CA and the name it is dialled for (wrap with server_hostname=NODE_NAME or
    MASTER_NAME, never the address)."""
    ctx = _base(ssl.PROTOCOL_TLS_CLIENT, ident)
    ctx.check_hostname = True
    return ctx


def wrap_client(sock: socket.socket, ident_or_ctx, name: str = NODE_NAME) -> ssl.SSLSocket:
    """A connected socket wrapped as a TLS client of a member serving `name`; handshake done.
    Pass a context made once (client_context) where connections are many: an Identity is read
    from its files at each call."""
    ctx = ident_or_ctx if isinstance(ident_or_ctx, ssl.SSLContext) else client_context(ident_or_ctx)
    return ctx.wrap_socket(sock, server_hostname=name)


def diagnose(host: str, port: int, ident: Identity | None, name: str = MASTER_NAME, timeout: float = 3.0) -> str:
    """Why a connection to a TLS-or-not port at host:port may have failed, as a sentence for the
    user: probes the port once without a certificate and once with `ident`. '' if no cause is seen."""
    try:
        tls = _speaks_tls(host, port, timeout)
    except OSError as e:
        return f"nothing answers at {host}:{port} ({e.strerror or e})"
    if tls and ident is None:
        return ("it requires TLS and this side has no certificate: give the master's join bundle "
                "(`join.bundle` in its session directory) with --token-file")
    if not tls and ident is not None:
        return "it does not use TLS, but this side has a TLS certificate (a join bundle of a --tls master)"
    if ident is None:
        return ""
    return _probe_identity(host, port, ident, name, timeout)


def _speaks_tls(host: str, port: int, timeout: float) -> bool:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE   # only asks whether the port speaks TLS
    with socket.create_connection((host, port), timeout) as raw:
        try:
            with ctx.wrap_socket(raw):
                return True
        except ssl.SSLError as e:
            return "CERTIFICATE_REQUIRED" in str(e) or "HANDSHAKE_FAILURE" in str(e)
        except OSError:
            return False


def _probe_identity(host: str, port: int, ident: Identity, name: str, timeout: float) -> str:
    try:
        with socket.create_connection((host, port), timeout) as raw:
            with wrap_client(raw, ident, name) as s:
                s.settimeout(0.5)
                # TLS 1.3: a server that refuses our certificate says so after the handshake,
                # with an alert or (gRPC's) by closing; one that accepts it waits or talks.
                if s.recv(1) == b"":
                    return "it refused this side's certificate: not issued by its cluster CA (it closed the connection)"
    except ssl.SSLCertVerificationError as e:
        return f"its certificate is not one of this side's cluster CA ({e.verify_message})"
    except ssl.SSLError as e:
        return f"it refused this side's certificate: not issued by its cluster CA ({e.reason or e})"
    except (TimeoutError, OSError):
        pass
    return ""
