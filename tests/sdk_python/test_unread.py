"""The tokens of the transfer holds in a result body, read without unpickling it
(yr._unread): what a driver releases for a result it drops unread. Pure: no runtime."""
import numpy as np
import pytest

from yr import _serialization, object_ref
from yr._unread import transfer_tokens
from yr.object_ref import ObjectRef, _Slot


def _sent_body(value, inline: bool = False):
    """A worker's result body for `value` and the (object id, token) pairs it holds, as
    `yr._call_values.dump_sending` makes them."""
    object_ref._nested.sent = sent = []
    try:
        body = _serialization.dumps_inline(value) if inline else _serialization.dumps(value)
    finally:
        object_ref._nested.sent = None
    return body, sent


def _ref(object_id):
    return ObjectRef(object_id, _Slot())


@pytest.mark.parametrize("make", [
    lambda a, b: [a],
    lambda a, b: (a, b),
    lambda a, b: {"x": a, "nested": [{"y": b}], "n": 3},
    lambda a, b: [a, "a string", b, "yr._context", "adopt_ref", 7],   # the names themselves as values
    lambda a, b: {"same ref twice": [a, a], "other": b},
], ids=["one", "tuple", "nested", "names-as-values", "same-twice"])
def test_every_token_of_a_result_is_found(make):
    body, sent = _sent_body(make(_ref("idA"), _ref("idB")))
    assert sent, "the pickler made no transfer hold: the test would prove nothing"
    assert transfer_tokens(body) == [token for _, token in sent]


def test_the_tokens_of_a_mapped_body_are_found():
    """A result with a large array travels as a mapped body (descriptor, then the pickle)."""
    arr = np.arange(300_000.0)
    body, sent = _sent_body({"array": arr, "ref": _ref("idC")})
    try:
        assert body[:1] == b"\x01"
        assert transfer_tokens(body) == [token for _, token in sent] and len(sent) == 1
    finally:
        _serialization.discard(body)


def test_the_tokens_of_an_inline_body_for_another_node_are_found():
    body, sent = _sent_body([_ref("idD"), _ref("idE")], inline=True)
    assert transfer_tokens(body) == [token for _, token in sent] and len(sent) == 2


@pytest.mark.parametrize("value", [[1, 2, 3], "plain", {"k": b"bytes"}, np.arange(10)])
def test_a_body_without_refs_has_no_tokens(value):
    body, sent = _sent_body(value)
    assert sent == [] and transfer_tokens(body) == []


def test_refs_pickled_outside_a_result_hold_nothing():
    """A ref pickled into call arguments or a put (no transfer hold) is rebuilt, not adopted."""
    body = _serialization.dumps([_ref("idF")])
    assert transfer_tokens(body) == []


@pytest.mark.parametrize("body", [b"", b"\x00adopt_ref", b"\x00\x80\x05adopt_ref garbage", b"\x01\xff\xffadopt_ref"])
def test_a_malformed_body_has_no_tokens(body):
    assert transfer_tokens(body) == []
