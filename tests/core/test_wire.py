"""Framing and the handshake, without sockets."""
import pytest
from hypothesis import given, strategies as st

from yr_runtime.wire import frames, handshake


@given(st.lists(st.binary(max_size=300), max_size=20), st.integers(min_value=1, max_value=50))
def test_any_chunking_yields_the_same_frames(bodies, chunk):
    stream = b"".join(frames.encode(b) for b in bodies)
    dec = frames.FrameDecoder()
    out = []
    for i in range(0, len(stream), chunk):
        out += dec.feed(stream[i:i + chunk])
    assert out == bodies and dec.buffered == 0


def test_huge_length_prefix_is_refused_before_buffering():
    dec = frames.FrameDecoder(max_frame=1024)
    with pytest.raises(frames.FrameTooLarge):
        dec.feed(b"\xff\xff\xff\x7f" + b"x" * 10)


def test_the_first_frame_has_its_own_limit_then_the_normal_one():
    hello = frames.encode(handshake.hello(b"secret"))
    big = frames.encode(b"x" * 5000)
    dec = frames.FrameDecoder(max_frame=1 << 20, first_max=handshake.MAX_HELLO)
    assert dec.feed(hello + big) == [handshake.hello(b"secret"), b"x" * 5000]   # one chunk
    dec = frames.FrameDecoder(max_frame=1 << 20, first_max=handshake.MAX_HELLO)
    assert dec.feed(hello[:3]) == [] and dec.feed(hello[3:]) == [handshake.hello(b"secret")]
    assert dec.feed(big) == [b"x" * 5000]
    for first in (frames.HEADER.pack(handshake.MAX_HELLO + 1), frames.HEADER.pack(200 << 20) + b"x" * 100):
        with pytest.raises(frames.FrameTooLarge):
            frames.FrameDecoder(first_max=handshake.MAX_HELLO).feed(first)


def test_handshake_checks_magic_and_token():
    handshake.check_hello(handshake.hello(b"secret"), b"secret")
    for bad in (handshake.hello(b"wrong"), b"GET / HTTP/1.1", b"", b"YR1\x00" + b"s" * 500):
        with pytest.raises(handshake.AuthError):
            handshake.check_hello(bad, b"secret")
