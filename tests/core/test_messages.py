"""The messages of the agent and zygote links: one definition, strict decoding (no sockets)."""
import dataclasses

import msgpack
import pytest

from yr_runtime.wire import frames
from yr_runtime.wire import messages as m

SAMPLES = [
    m.WorkerHello(worker_id="w1", pid=42, endpoint="unix:/tmp/w1.sock"),
    m.Assign(instance_id="i1", job_id="j1", language="python", class_name="Counter", code=b"\x00\x01",
             concurrency=4, driver_env="{}", recover_retry_times=2, state=b"saved"),
    m.Assign(instance_id="i2", job_id="j1"),
    m.Initialized(instance_id="i1"),
    m.Initialized(instance_id="i1", error="ValueError: no"),
    m.TaskBlocked(instance_id="i1", blocked=True),
    m.Terminate(),
    m.Metrics(source="worker:w1", instance_id="i1", class_name="C", calls={"C.m": [1, 1, 0, 0.5, 1, 0]},
              queued=2, user=[["gauge", "g", "d", "u", {"k": "v"}, 1.5]]),
    m.Metrics(source="driver:j1:7"),
    m.ObjPut(id="o1", data=b"x" * 10, error=True, job="j1"),
    m.ObjGet(rid=1, id="o1", timeout=2.5),
    m.ObjFree(ids=["a", "b"]),
    m.StatePut(rid=3, instance_id="i1", data=b"s"),
    m.StateGet(rid=4, instance_id="i1"),
    m.ObjValue(rid=1, data=b"v"),
    m.ObjMissing(rid=1),
    m.ObjRefused(rid=1, reason="full"),
    m.StateSaved(rid=3),
    m.State(rid=4, data=None),
    m.ForkRequest(rid=9, boot={"worker_id": "w"}),
    m.Forked(rid=9, pid=77),
    m.ChildExited(pid=77, status=-9),
    m.ObjGet(rid=2, id="o1", owner="tcp:10.0.0.2:4000", owner_node="n2"),
    m.ObjLost(rid=2, reason="object o1 is lost: its node n2 is gone"),
    m.CallerHandoff(),
    m.PullObject(rid=1, id="o1", timeout=-1.0),
    m.PullObject(rid=1, id="o1", timeout=2.0, puller="tcp:10.0.0.2:7000"),
    m.PulledObject(rid=1, data=b"pickle", job="j1", desc={"sizes": [5, 7]}, size=12),
    m.PulledObject(rid=1, data=b"\x00inline", error=True),
    m.PullChunk(offset=1 << 33, length=4 << 20),
    m.FreeCopies(ids=["o1", "o2"]),
    m.ObjHold(rid=7, ids=["o1"], owner="tcp:10.0.0.2:7000", owner_node="n2"),
    m.ObjHeld(rid=7),
    m.ObjRelease(ids=["o1"]),
    m.CreateOnNode(rid=5, spec=b"\x0a\x02i1"),
    m.Created(rid=5, reply=b"\x0a\x00"),
    m.Created(rid=6, kind=1002, error="no node can hold it"),
    m.Prepare(driver_env='{"preload": ["mymod"]}'),
]


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda x: type(x).__name__)
def test_every_message_round_trips(msg):
    assert m.decode(msg.encode()) == msg
    (body,) = frames.FrameDecoder().feed(msg.frame())
    assert m.decode(body) == msg


def test_every_registered_message_has_a_sample():
    assert {type(s) for s in SAMPLES} == set(m._BY_TAG.values())


def test_tags_are_unique_and_on_the_wire():
    assert msgpack.unpackb(m.Terminate().encode())["t"] == "terminate"
    with pytest.raises(RuntimeError, match="two messages"):
        m.message("hello")(type("Again", (m.Message,), {"__annotations__": {}}))


@pytest.mark.parametrize("body, words", [
    (b"\xc1", "undecodable"),
    (msgpack.packb([1, 2]), "is a map"),
    (msgpack.packb({"t": "nope"}), "unknown message type"),
    (msgpack.packb({"x": 1}), "unknown message type"),
    (msgpack.packb({"t": "hello", "worker_id": "w", "pid": "42", "endpoint": "e"}), "'pid'"),
    (msgpack.packb({"t": "hello", "worker_id": "w", "pid": True, "endpoint": "e"}), "'pid'"),
    (msgpack.packb({"t": "hello", "worker_id": "w", "endpoint": "e"}), "lacks its field 'pid'"),
    (msgpack.packb({"t": "obj_put", "id": "o", "data": "text, not bytes"}), "'data'"),
    (msgpack.packb({"t": "obj_get", "rid": 1, "id": "o", "timeout": "soon"}), "'timeout'"),
    (msgpack.packb({"t": "obj_free", "ids": "a"}), "'ids'"),
])
def test_bad_bodies_raise_a_message_error_naming_the_fault(body, words):
    with pytest.raises(m.MessageError, match=words):
        m.decode(body)


def test_message_error_is_a_value_error():
    assert issubclass(m.MessageError, ValueError)


def test_expected_kinds_are_enforced():
    body = m.Terminate().encode()
    assert m.decode(body, m.Terminate, m.Assign) == m.Terminate()
    with pytest.raises(m.MessageError, match="unexpected message 'terminate'"):
        m.decode(body, m.ObjGet)


def test_unknown_fields_are_ignored_and_defaults_fill_in():
    body = msgpack.packb({"t": "obj_get", "rid": 5, "id": "o", "future_field": 1})
    assert m.decode(body) == m.ObjGet(rid=5, id="o", timeout=-1.0)
    assert m.decode(msgpack.packb({"t": "obj_get", "rid": 5, "id": "o", "timeout": 3})).timeout == 3


def test_messages_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.ObjMissing(rid=1).rid = 2


def test_bootstrap_round_trips_and_ignores_unknown_keys():
    b = m.Bootstrap(session_dir="/s", agent="/s/agent.sock", worker_id="w1", parent_pid=3)
    assert m.Bootstrap.from_dict(dict(b.to_dict(), extra=1)) == b


def test_bootstrap_travels_in_its_environment_variable_and_bad_ones_name_the_fault():
    b = m.Bootstrap(session_dir="/s", agent="/s/agent.sock", worker_id="w1", tcp="127.0.0.1")
    assert m.BOOTSTRAP_ENV == "YR_WORKER_BOOTSTRAP"   # sdk_cpp/src/runtime.cpp tests for this name
    assert m.Bootstrap.from_env(b.to_env()) == b
    with pytest.raises(m.MessageError, match="not JSON"):
        m.Bootstrap.from_env("{")
    with pytest.raises(m.MessageError, match="bad bootstrap"):
        m.Bootstrap.from_env('{"agent": "a"}')
    with pytest.raises(m.MessageError, match="is a map"):
        m.Bootstrap.from_env("[]")


def test_no_other_module_spells_a_message_kind():
    """Every message is built and read through this module: no `"t"` key anywhere else."""
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[2]
    hits = [f"{p.relative_to(root)}" for d in ("runtime", "sdk_python") for p in (root / d).rglob("*.py")
            if '"t"' in p.read_text() and p.name != "messages.py"]
    assert hits == []
