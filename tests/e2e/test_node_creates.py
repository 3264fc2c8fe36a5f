"""Creates through the agent of the master's own node (`CreateOnNode`, no gRPC hop): the
same validation and answers as the master's gRPC door; a bad request is refused with its
error kind and the connection keeps serving."""
import pytest

import yr
from yr import _context, _instances, _protocol as P, _serialization
from yr.config import InvokeOptions
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.wire import address, frames, handshake, messages
from yr_runtime.wire.errors import ErrorCode


class Counter:
    def __init__(self, start):
        self.n = start

    def add(self, k):
        self.n += k
        return self.n


def _connect(daemon):
    s = address.dial(daemon.info.agent_address, 5)
    s.settimeout(30)
    s.sendall(frames.encode(handshake.hello(daemon.info.token)))
    return s


def _ask(s, spec: bytes, rid: int) -> messages.Created:
    s.sendall(messages.CreateOnNode(rid=rid, spec=spec).frame())
    decoder = frames.FrameDecoder()
    while True:
        bodies = decoder.feed(s.recv(1 << 16))
        if bodies:
            return messages.decode(bodies[0], messages.Created)


def _spec(rt, **fields) -> pb.InstanceSpec:
    code = _instances.constructor_code(_serialization.dumps_function(Counter), (5,), {}, "Counter")
    spec = _instances.make_spec(rt, "Counter", code, InvokeOptions())
    for k, v in fields.items():
        setattr(spec, k, v)
    return spec


def test_a_create_on_the_masters_node_is_answered_with_a_running_worker(driver):
    rt = _context.current()
    spec = _spec(rt)
    s = _connect(driver)
    try:
        ans = _ask(s, spec.SerializeToString(), rid=41)
    finally:
        s.close()
    assert ans.rid == 41 and ans.reply is not None, ans
    info = pb.CreateInstanceReply.FromString(ans.reply).instance
    assert info.instance_id == spec.instance_id and info.class_name == "Counter"
    assert info.endpoint.startswith("unix:")
    target = _instances.attach(rt, info.instance_id, "Counter", info.endpoint)
    assert yr.get(target.submit(P.CALL, "add", (2,), {}), timeout=60) == 7   # the constructor ran with 5
    rt.master.terminate(info.instance_id, wait=True)


@pytest.mark.parametrize("change, kind, words", [
    (lambda spec: b"\xff\xff not a protobuf", ErrorCode.ERR_PARAM_INVALID, "undecodable InstanceSpec"),
    (lambda spec: _with(spec, concurrency=0), ErrorCode.ERR_PARAM_INVALID, "concurrency"),
    (lambda spec: _with(spec, language="cobol"), ErrorCode.ERR_PARAM_INVALID, "cobol"),
    (lambda spec: _with(spec, instance_id=""), ErrorCode.ERR_PARAM_INVALID, "instance_id"),
])
def test_a_bad_create_is_refused_with_its_kind_and_the_connection_keeps_serving(driver, change, kind, words):
    s = _connect(driver)
    try:
        ans = _ask(s, change(_spec(_context.current())), rid=7)
        assert (ans.rid, ans.reply, ans.kind) == (7, None, int(kind))
        assert words in ans.error
        s.sendall(messages.StateGet(rid=8, instance_id="nobody").frame())   # still served
        (body,) = frames.FrameDecoder().feed(s.recv(1000))
        assert messages.decode(body) == messages.State(rid=8, data=None)
    finally:
        s.close()


def _with(spec: pb.InstanceSpec, **fields) -> bytes:
    for k, v in fields.items():
        setattr(spec, k, v)
    return spec.SerializeToString()


def test_the_sdk_raises_the_same_errors_as_through_grpc(driver):
    """A refusal that comes back through the agent is the same yr error, with the same code."""
    @yr.instance
    class Big:
        def f(self):
            return 1
    with pytest.raises(yr.exceptions.YRError) as e:
        yr.get(Big.options(custom_resources={"nowhere": 1}).invoke().f.invoke(), timeout=60)
    assert "nowhere" in str(e.value)
