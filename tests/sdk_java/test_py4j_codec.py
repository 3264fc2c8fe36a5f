"""The Python end of the Java link without a JVM: the codec (twin of Codec.java, same bytes
as its JUnit test), the registry of lent handles/refs, and how errors become answers."""
import pytest

from yr._bridge_codec import _Codec, _Registry
from yr._bridge_py4j import JavaError, _BridgeService, _error_answer


class Opaque:
    """Stands for an instance handle: anything that is not a neutral value or a ref."""


@pytest.fixture
def codec():
    return _Codec(_Registry())


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**63 - 1, -(2**63), 2.5, "", "héllo ✓", b"\x00\xff",
    [], [1, [2, None], {"k": [3.0]}], {"a": 1, 7: "x"},
])
def test_neutral_values_round_trip(codec, value):
    assert codec.decode(codec.encode(value)) == value


def test_bool_and_int_and_float_stay_distinct(codec):
    assert [type(v) for v in codec.decode(codec.encode([True, 1, 1.0]))] == [bool, int, float]


def test_wire_format_matches_the_java_codec(codec):
    # The same bytes CodecTest.wireFormatIsTheDocumentedOne expects from Java.
    assert codec.encode(258) == b"I\x00\x00\x00\x00\x00\x00\x01\x02"
    assert codec.encode("hi") == b"S\x00\x00\x00\x02hi"
    assert codec.encode([None, True]) == b"L\x00\x00\x00\x02NT"


def test_tuples_and_bytearrays_become_lists_and_bytes(codec):
    assert codec.decode(codec.encode((1, bytearray(b"a")))) == [1, b"a"]


def test_opaque_objects_are_lent_by_id_and_released():
    registry = _Registry()
    codec = _Codec(registry)
    handle = Opaque()
    data = codec.encode([handle, handle])
    assert data[5:6] == b"H" and len(registry) == 2
    back = codec.decode(data)
    assert back[0] is handle and back[1] is handle
    registry.release(["h1", "h2", "h-unknown"])
    assert len(registry) == 0
    with pytest.raises(ValueError, match="unknown or released"):
        codec.decode(data)


def test_integers_beyond_64_bits_are_refused(codec):
    with pytest.raises(ValueError):
        codec.encode(2**64)


class FakeBridge:
    def __init__(self, exc):
        self.exc = exc

    def put(self, value):
        raise self.exc


class Coded(Exception):
    code = 4005


@pytest.mark.parametrize("exc, code", [
    (Coded("late"), 4005), (TimeoutError("t"), 4005), (ValueError("v"), 1001),
    (ConnectionError("c"), 3002), (RuntimeError("r"), 2002),
])
def test_errors_become_answers_with_codes(exc, code):
    registry = _Registry()
    codec = _Codec(registry)
    service = _BridgeService(FakeBridge(exc), codec, registry)
    answer = codec.decode(service.call("put", codec.encode([1])))
    assert answer == {"err": [code, None, str(exc)]}


def test_unknown_operations_are_refused():
    registry = _Registry()
    codec = _Codec(registry)
    answer = codec.decode(_BridgeService(object(), codec, registry).call("rm -rf", codec.encode([])))
    assert answer["err"][0] == 1001


def test_a_java_error_reports_its_java_class_and_stack():
    cause = JavaError(2002, "java.lang.IllegalStateException", "boom",
                      "java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)\n")
    wrapper = RuntimeError("carried")
    wrapper.cause, wrapper.where, wrapper.code = cause, "a.B.c#()V", 2002
    code, cls, message = _error_answer(wrapper)
    assert (code, cls) == (2002, "java.lang.IllegalStateException")
    assert message == "a.B.c#()V raised:\njava.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)"


def test_a_java_error_survives_pickling():
    import pickle
    e = pickle.loads(pickle.dumps(JavaError(2002, "x.Y", "m", "x.Y: m\n")))
    assert (e.code, e.java_class, e.java_message, str(e)) == (2002, "x.Y", "m", "x.Y: m")


# ---- deferred invokes (Link.defer on the Java side, _BridgeService.callBatched here) ----

class RecordingBridge:
    """Stands for yr._bridge: invokes return a fresh Opaque ref-like object, or raise."""

    def __init__(self):
        self.calls = []

    def invoke_method(self, handle, method, args, opts):
        self.calls.append((method, args))
        if method == "boom":
            raise ValueError("instance terminated")
        return Opaque()

    def get(self, refs, timeout):
        return [type(r).__name__ for r in refs]


def batch(codec, *entries):
    """The bytes Link.defer + drainPending send: [id, encoded [op, args...], ...]."""
    flat = []
    for key, entry in entries:
        flat += [key, codec.encode(entry)]
    return codec.encode(flat)


def test_a_batch_registers_each_invoke_under_javas_id_then_runs_the_op():
    registry = _Registry()
    codec = _Codec(registry)
    bridge = RecordingBridge()
    service = _BridgeService(bridge, codec, registry)
    invokes = batch(codec, ("j1", ["invoke_method", None, "add", [1], {}]),
                    ("j2", ["invoke_method", None, "add", [2], {}]))
    get_payload = b"L\x00\x00\x00\x01" + b"R\x00\x00\x00\x02j2"   # [ref j2], as Java encodes it
    answer = codec.decode(service.callBatched(1, invokes, "lent", codec.encode([])))
    assert answer == {"ok": 2} and bridge.calls == [("add", [1]), ("add", [2])]
    assert isinstance(registry.get("j2"), Opaque)
    assert codec.decode(get_payload) == [registry.get("j2")]


def test_an_invoke_error_is_kept_in_its_ref_and_raised_where_the_ref_is_used():
    registry = _Registry()
    codec = _Codec(registry)
    service = _BridgeService(RecordingBridge(), codec, registry)
    invokes = batch(codec, ("j1", ["invoke_method", None, "boom", [], {}]),
                    ("j2", ["invoke_method", None, "add", [{"nested": 1}], {}]))
    assert codec.decode(service.callBatched(1, invokes, "flush", codec.encode([]))) == {"ok": None}
    # j1 used by a later invoke (its ref as an argument) or a get: the invoke's own error
    later = batch(codec, ("j3", ["invoke_method", None, "add", [], {}]))
    uses_j1 = b"L\x00\x00\x00\x02" + b"R\x00\x00\x00\x02j1" + codec.encode(5.0)
    answer = codec.decode(service.callBatched(2, later, "get", uses_j1))
    assert answer["err"][0] == 1001 and "instance terminated" in answer["err"][2]
    only_ops_that_defer = batch(codec, ("j4", ["terminate", None]))
    service.callBatched(3, only_ops_that_defer, "flush", codec.encode([]))
    with pytest.raises(ValueError, match="cannot be deferred"):
        codec.decode(b"R\x00\x00\x00\x02j4")


def test_a_java_id_named_before_its_batch_ran_waits_for_it():
    import threading
    import time
    registry = _Registry()
    got = []
    t = threading.Thread(target=lambda: got.append(registry.get("j9")))
    t.start()
    time.sleep(0.1)
    assert got == []
    registry.put("j9", "ref")
    t.join(5)
    assert got == ["ref"]
    with pytest.raises(ValueError, match="unknown or released"):
        registry.get("r404")   # ids made here never wait


def test_a_release_that_overtakes_its_batch_still_frees_the_ref():
    registry = _Registry()
    registry.release(["j5"])   # the JVM dropped the ref before the batch that makes it ran
    registry.put("j5", "ref")
    registry.put("j6", "ref")
    assert len(registry) == 1


def test_batches_from_several_threads_run_in_javas_order():
    import threading
    import time
    registry = _Registry()
    codec = _Codec(registry)
    bridge = RecordingBridge()
    service = _BridgeService(bridge, codec, registry)
    second = threading.Thread(target=service.callBatched, args=(
        2, batch(codec, ("j2", ["invoke_method", None, "second", [], {}])), "flush", codec.encode([])))
    second.start()
    time.sleep(0.2)
    assert bridge.calls == []   # batch 2 waits for batch 1
    service.callBatched(1, batch(codec, ("j1", ["invoke_method", None, "first", [], {}])), "flush",
                        codec.encode([]))
    second.join(5)
    assert [m for m, _ in bridge.calls] == ["first", "second"]


def test_lists_of_ints_and_strings_decode_as_the_java_codec_writes_them(codec):
    """Ints and strings in a list are read inline (no call per item): same values, the
    same refusal of a truncated string."""
    value = [1, -2**63, 2**63 - 1, "", "é€", None, [3, "x", [4.5, b"b"]], {"k": [5]}, True]
    assert codec.decode(codec.encode(value)) == value
    whole = codec.encode(["abc", 1])
    with pytest.raises(ValueError, match="truncated"):
        codec.decode(whole[:12])   # the string's length says 3, two bytes follow


def test_no_options_map_means_the_java_sdks_default_options():
    """A Java handler without options sends no options map (Calls.DEFAULTS): the bridge must
    read that as the map Java would have sent, {"cpu": 500, "memory": 500} (CallsTest
    checks the Java side)."""
    from yr import _bridge
    assert _bridge.options(None) == _bridge.options({"cpu": 500, "memory": 500})
