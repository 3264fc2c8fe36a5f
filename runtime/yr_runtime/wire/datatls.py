"""Mutual TLS on the data path of a --tls cluster: the one place data-port sockets are wrapped.

A process turns it on once with `use_session(session_dir)` (the agent of a node with a data
port, every driver and worker through its Runtime); with no certificate in that session (no
`tls/cert.pem`) nothing happens and every socket stays as it was: no TLS, no new syscall.

On a TLS data port a TCP connection goes like this:
1. the dialler (`address.dial` -> `client`) sends a *route*, in clear: a `wire.preamble` with
   an EMPTY token, holding only the purpose and the worker id (no secret; the agent reads it
   with the usual bounds and parses it as an id only), then does the TLS handshake as a client
   (certificate of the cluster CA; the server must present one of the same CA holding the name
   `yr-node`, whatever address was dialled);
2. the agent routes the raw socket by that route (a caller's goes to its worker by SCM_RIGHTS;
   an object pull stays with the agent's pull thread): whoever serves the stream wraps it with
   `server` (handshake bounded by tls.HANDSHAKE_TIMEOUT; a client certificate of the cluster CA
   is required), because an SSL stream's state cannot cross SCM_RIGHTS;
3. inside TLS, the usual first frame (the preamble with the cluster token, checked in constant
   time before anything else is read) and then the usual frames.
A plain client's first frame carries a token, so a TLS port refuses it as a wrong route before
reading further; a client of another CA or garbage fails in the handshake.

The SSL sockets made here are `Stream`s: blocking like the plain ones (so `sendall` is
unchanged), and their `recv_into` (a) accepts and ignores flags (MSG_DONTWAIT: every reader
of a data-port socket reads only once poll/epoll said it is readable), (b) keeps reading while
decrypted bytes are pending inside OpenSSL, where poll cannot see them. Servers send no TLS 1.3
session tickets (`num_tickets = 0`): a ticket arriving after the handshake would make a poll
say "readable" with no application byte behind it, and the blocking read would then wait.
Known limit: as for plain sockets, a reader and a writer thread may use one connection at
once; OpenSSL tolerates concurrent SSL_read/SSL_write on one connection in practice (no
renegotiation in TLS 1.3, no KeyUpdate is asked for) but does not promise it.
"""
from __future__ import annotations

import os
import socket

from . import frames, preamble

_client = None   # ssl.SSLContext for dialled data-port sockets, once use_session found a certificate
_server = None   # ssl.SSLContext for accepted ones
_session = None


def enabled() -> bool:
    return _client is not None


def use_session(session_dir) -> bool:
    """Turns TLS on for this process's data-port sockets if the session holds a certificate of
    a --tls cluster (`tls/cert.pem`); returns whether it is on. Idempotent; the first session
    with a certificate wins (a process belongs to one cluster)."""
    global _client, _server, _session
    if _client is not None or not session_dir:
        return _client is not None
    if not os.path.isfile(os.path.join(os.fspath(session_dir), "tls", "cert.pem")):
        return False   # no ssl import at all without TLS
    from . import tls
    ident = tls.identity_in(session_dir)
    client, server = tls.client_context(ident), tls.server_context(ident)
    server.num_tickets = 0
    client.sslsocket_class = server.sslsocket_class = _stream_class()
    _client, _server, _session = client, server, os.fspath(session_dir)
    return True


def client(sock: socket.socket, target: str):
    """A dialled TCP socket to a data port, wrapped (see the module's steps 1 and 3): sends the
    route for `target` (a worker id; "" for object pulls), then the client handshake."""
    from . import tls
    purpose = preamble.CALLER if target else preamble.OBJECTS
    sock.settimeout(tls.HANDSHAKE_TIMEOUT)
    sock.sendall(frames.encode(preamble.encode(b"", purpose, target)))
    s = _client.wrap_socket(sock, server_hostname=tls.NODE_NAME)
    s.settimeout(None)
    return s


def server(sock: socket.socket):
    """An accepted socket (past its route) wrapped as the server side, handshake done within
    tls.HANDSHAKE_TIMEOUT; blocking afterwards. ssl.SSLError / OSError if the peer fails it."""
    from . import tls
    sock.settimeout(tls.HANDSHAKE_TIMEOUT)
    try:
        s = _server.wrap_socket(sock, server_side=True)
    except BaseException:
        sock.close()
        raise
    s.settimeout(None)
    return s


def route_token() -> bytes:
    """The token a data port expects in the clear first frame: b"" with TLS (the real one comes
    inside TLS), None without (the clear first frame is the real preamble)."""
    return b"" if _client is not None else None


_cls = None


def _stream_class():
    global _cls
    if _cls is None:
        import ssl

        class Stream(ssl.SSLSocket):
            def recv_into(self, buffer, nbytes=0, flags=0):   # noqa: ARG002  flags: see the module
                view = memoryview(buffer).cast("B")
                nbytes = nbytes or len(view)
                n = super().recv_into(view, nbytes)
                while n and n < nbytes and self.pending():   # decrypted bytes poll cannot see
                    n += super().recv_into(view[n:], nbytes - n)
                return n

        _cls = Stream
    return _cls
