"""Endpoint addresses (yr_runtime.wire.address): parsing, formatting and bad input."""
import pytest
from hypothesis import given, strategies as st

from yr_runtime.wire import address
from yr_runtime.wire.address import MEM, TCP, UNIX, Address


@pytest.mark.parametrize("text, parsed", [
    ("unix:/tmp/s/w-1.sock", Address(UNIX, "/tmp/s/w-1.sock")),
    ("/tmp/s/agent.sock", Address(UNIX, "/tmp/s/agent.sock")),       # a bare path, as before schemes
    ("./rel.sock", Address(UNIX, "./rel.sock")),
    ("rel.sock", Address(UNIX, "rel.sock")),
    ("/tmp/odd:name.sock", Address(UNIX, "/tmp/odd:name.sock")),
    ("unix:/tmp/tcp:1:2", Address(UNIX, "/tmp/tcp:1:2")),
    ("tcp:127.0.0.1:7000", Address(TCP, "127.0.0.1", 7000)),
    ("tcp:node-3.example.com:0", Address(TCP, "node-3.example.com", 0)),
    ("tcp:[::1]:65535", Address(TCP, "::1", 65535)),
    ("tcp:[fe80::1%eth0]:80", Address(TCP, "fe80::1%eth0", 80)),
    ("mem:worker-1", Address(MEM, "worker-1")),
    ("tcp:127.0.0.1:7000/123-4", Address(TCP, "127.0.0.1", 7000, "123-4")),   # a worker behind a data port
    ("tcp:[::1]:7000/w", Address(TCP, "::1", 7000, "w")),
])
def test_addresses_parse(text, parsed):
    assert address.parse(text) == parsed


def test_formatting_round_trips():
    assert address.unix("/a/b.sock") == "unix:/a/b.sock"
    assert address.tcp("10.0.0.1", 5) == "tcp:10.0.0.1:5"
    assert address.tcp("::1", 5) == "tcp:[::1]:5"
    assert address.tcp("10.0.0.1", 5, "9-1") == "tcp:10.0.0.1:5/9-1"
    for text in ("unix:/a/b.sock", "tcp:10.0.0.1:5", "tcp:[::1]:5", "tcp:host:1", "mem:x", "tcp:h:1/9-1"):
        assert str(address.parse(text)) == text
    assert str(address.parse("/bare.sock")) == "unix:/bare.sock"


@given(st.ip_addresses(), st.integers(min_value=0, max_value=65535))
def test_any_ip_and_port_round_trips(ip, port):
    parsed = address.parse(address.tcp(str(ip), port))
    assert (parsed.scheme, parsed.where, parsed.port) == (TCP, str(ip), port)


@pytest.mark.parametrize("bad, why", [
    ("tcp:", "expected tcp:HOST:PORT"),
    ("tcp:host", "expected tcp:HOST:PORT"),
    ("tcp::80", "the host is missing"),
    ("tcp:host:", "the port must be a number"),
    ("tcp:host:http", "the port must be a number"),
    ("tcp:host:-1", "the port must be a number"),
    ("tcp:host:65536", "the port must be a number"),
    ("tcp:::1:80", "an IPv6 host goes in brackets"),
    ("tcp:[::1]80", r"expected tcp:\[IPv6\]:PORT"),
    ("tcp:[::1:80", r"expected tcp:\[IPv6\]:PORT"),
    ("tcp:[]:80", "the host is missing"),
    ("unix:", "needs a socket path"),
    ("unix:/" + "x" * 200, "limited to 107 bytes"),
    ("mem:", "needs a name"),
    ("http://host:80", "unknown scheme 'http'"),
    ("udp:host:80", "unknown scheme 'udp'"),
    ("unix:/tmp/a\x00b", "NUL byte"),
    ("", "needs a socket path"),
])
def test_bad_addresses_are_refused_naming_the_address(bad, why):
    with pytest.raises(ValueError, match=why) as info:
        address.parse(bad)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("bad", [None, 7000, b"unix:/x", ("127.0.0.1", 80)])
def test_non_strings_are_refused(bad):
    with pytest.raises(ValueError, match="must be a string"):
        address.parse(bad)


def test_dial_and_listen_refuse_what_they_cannot_do():
    with pytest.raises(ValueError, match="port 0 is only for listening"):
        address.dial("tcp:127.0.0.1:0")
    with pytest.raises(ValueError, match="served with serve_in_memory"):
        address.listen("mem:x")
    with pytest.raises(ValueError, match="unknown scheme"):
        address.dial("ftp:x")
