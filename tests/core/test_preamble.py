"""The data port's preamble (yr_runtime.wire.preamble): encoding, decoding and refusals, no sockets."""
import pytest
from hypothesis import given, strategies as st

from yr_runtime.wire import frames, handshake, preamble
from yr_runtime.wire.preamble import CALLER, MAX_PREAMBLE, OBJECTS, Preamble

TOKEN = b"a" * 64


@pytest.mark.parametrize("purpose, target, epoch", [
    (CALLER, "12345-7", 0), (OBJECTS, "", 0), (CALLER, "w", (1 << 64) - 1), (OBJECTS, "", 42),
    (CALLER, "wörker-é", 3),
])
def test_round_trips(purpose, target, epoch):
    body = preamble.encode(TOKEN, purpose, target, epoch)
    assert len(body) <= MAX_PREAMBLE
    assert preamble.decode(body, TOKEN) == Preamble(purpose, target, epoch)


@given(st.binary(max_size=64), st.sampled_from([CALLER, OBJECTS]), st.text(min_size=1, max_size=60),
       st.integers(0, (1 << 64) - 1))
def test_any_valid_preamble_round_trips(token, purpose, target, epoch):
    assert preamble.decode(preamble.encode(token, purpose, target, epoch), token) == Preamble(purpose, target, epoch)


def test_wrong_token_is_refused_before_the_rest_is_read():
    body = preamble.encode(TOKEN, CALLER, "w-1")
    for other in (b"b" * 64, TOKEN[:-1], TOKEN + b"x", b""):
        with pytest.raises(handshake.AuthError, match="wrong cluster token"):
            preamble.decode(body, other)
    # a wrong token with a garbage purpose and target still says "token", not "purpose"
    bad = bytearray(preamble.encode(b"z" * 64, OBJECTS, ""))
    bad[4] = 99
    with pytest.raises(handshake.AuthError, match="token"):
        preamble.decode(bytes(bad) + b"\xff\xfe", TOKEN)


@pytest.mark.parametrize("body, error", [
    (b"", "did not start"), (b"YRD1", "did not start"), (handshake.hello(TOKEN), "did not start"),
    (b"XXXX" + b"\x00" * 20, "did not start"),
    (b"x" * (MAX_PREAMBLE + 1), "at most"),
])
def test_malformed_preambles_are_refused(body, error):
    with pytest.raises(handshake.AuthError, match=error):
        preamble.decode(body, TOKEN)


def test_bad_fields_after_a_good_token():
    body = bytearray(preamble.encode(TOKEN, CALLER, "w"))
    body[4] = 7
    with pytest.raises(preamble.PreambleError, match="purpose 7"):
        preamble.decode(bytes(body), TOKEN)
    with pytest.raises(preamble.PreambleError, match="names no worker"):
        preamble.decode(preamble.encode(TOKEN, CALLER, ""), TOKEN)
    with pytest.raises(preamble.PreambleError, match="UTF-8"):
        preamble.decode(preamble.encode(TOKEN, CALLER, "w") + b"\xff", TOKEN)


def test_a_huge_length_prefix_is_refused_before_buffering():
    preamble.check_length(MAX_PREAMBLE)
    with pytest.raises(handshake.AuthError, match="4294967295 bytes"):
        preamble.check_length(0xFFFFFFFF)


def test_what_cannot_travel_is_refused_at_encoding():
    with pytest.raises(ValueError, match="purpose"):
        preamble.encode(TOKEN, 9)
    with pytest.raises(ValueError, match="token"):
        preamble.encode(b"t" * 256, OBJECTS)
    with pytest.raises(ValueError, match="epoch"):
        preamble.encode(TOKEN, OBJECTS, "", 1 << 64)
    with pytest.raises(ValueError, match="too long"):
        preamble.encode(TOKEN, CALLER, "w" * MAX_PREAMBLE)


def test_first_frame_of_a_connection():
    assert preamble.first_frame("unix:/s/w-1.sock", TOKEN) == frames.encode(handshake.hello(TOKEN))
    assert preamble.first_frame("tcp:127.0.0.1:5", TOKEN) == frames.encode(handshake.hello(TOKEN))
    (body,) = frames.FrameDecoder().feed(preamble.first_frame("tcp:127.0.0.1:5/77-2", TOKEN))
    assert preamble.decode(body, TOKEN) == Preamble(CALLER, "77-2", 0)


# ---- epochs: a caller of another placement is refused once, at the preamble --------------------
@pytest.mark.parametrize("sent, own, refused", [
    (0, 0, False), (0, 3, False), (3, 0, False),   # 0: unknown on either side, not checked
    (3, 3, False), (2, 3, True), (4, 3, True), (1, (1 << 64) - 1, True),
])
def test_stale_compares_known_epochs_only(sent, own, refused):
    assert preamble.stale(sent, own) is refused


@pytest.mark.parametrize("sent, own, side", [(1, 2, "an older"), (7, 2, "a newer")])
def test_a_refusal_is_one_call_frame_naming_the_instance_and_both_epochs(sent, own, side):
    frame = preamble.refusal("Counter-ab12", sent, own)
    (body,) = frames.FrameDecoder().feed(frame)     # exactly one whole frame
    assert body[:1] == preamble.REFUSED and int.from_bytes(body[1:9], "little") == 0   # call id 0
    why = body[9:].decode()
    assert why == (f"stale epoch: instance Counter-ab12 was reached with epoch {sent}, {side} placement "
                   f"than this worker's epoch {own}; connection refused")
