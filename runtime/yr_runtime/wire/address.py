"""Endpoint addresses and the sockets behind them: yr's transport seam.

Every framed connection (driver -> worker, worker -> agent, ...) is opened with `dial` and
served with `listen`; nothing else in yr creates a stream socket for them. An address is
a string, passed through the master and the agent as an opaque value:

    unix:/path/to.sock     a Unix socket (the default for everything on one machine)
    tcp:HOST:PORT          TCP; HOST is an IPv4 address, a name or a bracketed IPv6
                           address (tcp:[::1]:7000); TCP sockets get TCP_NODELAY
    tcp:HOST:PORT/WORKER   a worker behind its node's data port: the connection starts
                           with a data-port preamble naming WORKER (see wire.preamble)
    mem:NAME               an in-process endpoint (tests): `serve_in_memory(NAME, accept)`
                           registers it; `dial` returns one end of a socketpair and hands
                           the other end to `accept`

A bare path (no scheme) is a Unix socket, so addresses written before schemes existed
keep working. Bad input raises ValueError naming the address. Every kind of address
yields a real, connected stream socket, so the code that reads and writes frames is the
same for all of them (no per-transport branch on the hot path).

In a --tls cluster (`wire.datatls.use_session` found a certificate) every TCP socket `dial`
returns is a TLS client of the peer's data port (`wire.datatls.client`).
"""
from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import Callable

from . import datatls

UNIX, TCP, MEM = "unix", "tcp", "mem"
MAX_UNIX_PATH = 107          # sun_path is 108 bytes with its terminating NUL
_WILDCARDS = ("", "0.0.0.0", "::")


@dataclass(frozen=True)
class Address:
    scheme: str      # UNIX, TCP or MEM
    where: str       # the path (unix), the host (tcp, without brackets) or the name (mem)
    port: int = 0    # tcp only
    target: str = "" # tcp only: the worker behind a node's data port ("" for none)

    def __str__(self) -> str:
        if self.scheme == TCP:
            return tcp(self.where, self.port, self.target)
        return f"{self.scheme}:{self.where}"


def unix(path) -> str:
    """The address of a Unix socket at `path`."""
    return f"unix:{os.fspath(path)}"


def tcp(host: str, port: int, target: str = "") -> str:
    """The address of a TCP endpoint (with `target`: a worker behind a node's data port); an
    IPv6 host is bracketed."""
    base = f"tcp:[{host}]:{port}" if ":" in host else f"tcp:{host}:{port}"
    return f"{base}/{target}" if target else base


def parse(address: str) -> Address:
    """Splits an address into its parts; ValueError (naming the address) if it is not one."""
    if not isinstance(address, str):
        raise ValueError(f"an address must be a string like 'unix:/path' or 'tcp:host:port', "
                         f"not {type(address).__name__} {address!r}")
    if "\x00" in address:
        raise ValueError(f"bad address {address!r}: it contains a NUL byte")
    scheme, sep, rest = address.partition(":")
    if scheme == UNIX:
        return _unix_address(address, rest)
    if scheme == TCP:
        return _tcp_address(address, rest)
    if scheme == MEM:
        if not rest:
            raise ValueError(f"bad address {address!r}: mem: needs a name (mem:NAME)")
        return Address(MEM, rest)
    if address.startswith(("/", ".")) or not sep:
        return _unix_address(address, address)   # a bare path, as before addresses had schemes
    raise ValueError(f"bad address {address!r}: unknown scheme {scheme!r} "
                     f"(expected unix:/path, tcp:host:port or mem:name)")


def _unix_address(address: str, path: str) -> Address:
    if not path:
        raise ValueError(f"bad address {address!r}: unix: needs a socket path (unix:/path/to.sock)")
    if len(os.fsencode(path)) > MAX_UNIX_PATH:
        raise ValueError(f"bad address {address!r}: a Unix socket path is limited to {MAX_UNIX_PATH} bytes")
    return Address(UNIX, path)


def _tcp_address(address: str, rest: str) -> Address:
    rest, slash, target = rest.partition("/")
    if slash and not target:
        raise ValueError(f"bad address {address!r}: nothing after '/' (expected tcp:HOST:PORT/WORKER)")
    if rest.startswith("["):
        host, close, tail = rest[1:].partition("]")
        if not close or not tail.startswith(":"):
            raise ValueError(f"bad address {address!r}: expected tcp:[IPv6]:PORT")
        port_text = tail[1:]
    else:
        host, colon, port_text = rest.rpartition(":")
        if not colon:
            raise ValueError(f"bad address {address!r}: expected tcp:HOST:PORT")
        if ":" in host:
            raise ValueError(f"bad address {address!r}: an IPv6 host goes in brackets (tcp:[{host}]:{port_text})")
    if not host:
        raise ValueError(f"bad address {address!r}: the host is missing (tcp:HOST:PORT)")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"bad address {address!r}: the port must be a number from 0 to 65535, not {port_text!r}")
    return Address(TCP, host, int(port_text), target)


# ---- sockets ------------------------------------------------------------------------------
def dial(address: str, timeout: float | None = 10.0) -> socket.socket:
    """A connected, blocking stream socket to `address`. Raises ValueError for a bad address
    and OSError (ConnectionRefusedError, TimeoutError, ...) when nobody answers in time."""
    a = parse(address)
    if a.scheme == MEM:
        return _dial_memory(a)
    if a.scheme == TCP:
        if a.port == 0:
            raise ValueError(f"cannot dial {address!r}: port 0 is only for listening")
        sock = socket.create_connection((a.where, a.port), timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # frames are small and latency-bound
        if datatls.enabled():   # a --tls cluster: its data ports speak TLS (see wire.datatls)
            try:
                sock = datatls.client(sock, a.target)
            except BaseException:
                sock.close()
                raise
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(a.where)
        except BaseException:
            sock.close()
            raise
    sock.settimeout(None)
    return sock


def listen(address: str, backlog: int = 128) -> socket.socket:
    """A listening socket at `address` (accept() on it as usual). A Unix socket file is made
    readable by its owner only (the session token is the second lock); a TCP listener has
    TCP_NODELAY, which the connections it accepts inherit, and port 0 picks a free port
    (`bound_address` tells which)."""
    a = parse(address)
    if a.scheme == MEM:
        raise ValueError(f"cannot listen on {address!r}: mem: endpoints are served with serve_in_memory")
    if a.scheme == UNIX:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(a.where)
            os.chmod(a.where, 0o600)
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        return sock
    family, kind, proto, _, sockaddr = socket.getaddrinfo(a.where, a.port, type=socket.SOCK_STREAM,
                                                          flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(sockaddr)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def bound_address(listener: socket.socket) -> str:
    """The address peers dial to reach `listener` (its real port; a wildcard host such as
    0.0.0.0 becomes this machine's host name)."""
    if listener.family == socket.AF_UNIX:
        return unix(listener.getsockname())
    host, port = listener.getsockname()[:2]
    return tcp(socket.gethostname() if host in _WILDCARDS else host, port)


def close_listener(listener: socket.socket) -> None:
    """Closes a listener made by `listen`, removing its Unix socket file if it has one."""
    path = listener.getsockname() if listener.family == socket.AF_UNIX else None
    listener.close()
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


# ---- the in-memory twin -----------------------------------------------------------------------
_memory: dict[str, Callable[[socket.socket], None]] = {}
_memory_lock = threading.Lock()


def serve_in_memory(name: str, accept: Callable[[socket.socket], None]) -> str:
    """Serves `mem:<name>` in this process: every `dial` of it calls `accept(sock)` with the
    server's end of a fresh socketpair (accept must not block: start a thread if it reads).
    Returns the address. Needs no file, port or daemon: for tests of the SDK's call path."""
    address = f"{MEM}:{name}"
    parse(address)
    with _memory_lock:
        if name in _memory:
            raise ValueError(f"{address!r} is already served in this process")
        _memory[name] = accept
    return address


def stop_serving_in_memory(name: str) -> None:
    """Later dials of `mem:<name>` are refused; connections already made stay open."""
    with _memory_lock:
        _memory.pop(name, None)


def _dial_memory(a: Address) -> socket.socket:
    with _memory_lock:
        accept = _memory.get(a.where)
    if accept is None:
        raise ConnectionRefusedError(f"nothing serves {a} in this process")
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        accept(theirs)
    except BaseException:
        ours.close()
        theirs.close()
        raise
    return ours
