"""Errors reach the caller with their type and traceback; bad input is refused clearly,
and the instance and runtime keep serving afterwards."""
import threading
import time

import grpc
import pytest

import yr
from yr._control import map_error
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.proto import control_pb2_grpc as pbg
from yr_runtime.wire.errors import ErrorCode, kind_from_metadata


class MyError(Exception):
    pass


@yr.instance
class Faulty:
    def __init__(self, fail=False):
        if fail:
            raise MyError("constructor failed on purpose")
        self.n = 0

    def boom(self):
        raise ValueError("method failed on purpose")

    def inc(self):
        self.n += 1
        return self.n

    def unpicklable_result(self):
        return threading.Lock()

    def echo(self, x):
        return x


def test_method_exception_keeps_type_and_remote_traceback(driver):
    f = Faulty.invoke()
    with pytest.raises(ValueError) as info:
        yr.get(f.boom.invoke())
    err = info.value
    assert isinstance(err, yr.YRInvokeError) and isinstance(err, yr.YRError)
    assert "method failed on purpose" in str(err) and "Traceback" in str(err) and "in boom" in str(err)
    assert err.code == 2002


def test_instance_survives_a_method_exception(driver):
    f = Faulty.invoke()
    yr.get(f.inc.invoke())
    with pytest.raises(ValueError):
        yr.get(f.boom.invoke())
    assert yr.get(f.inc.invoke()) == 2


def test_constructor_exception_surfaces_at_first_get(driver):
    f = Faulty.invoke(fail=True)
    ref = f.inc.invoke()
    with pytest.raises(MyError, match="constructor failed on purpose") as info:
        yr.get(ref)
    assert "__init__" in str(info.value)
    with pytest.raises(MyError):
        yr.get(f.inc.invoke())


def test_unpicklable_argument_names_the_argument(driver):
    f = Faulty.invoke()
    with pytest.raises(yr.SerializationError, match=r"argument 0 of Faulty.echo \(lock\)"):
        f.echo.invoke(threading.Lock())
    assert yr.get(f.inc.invoke()) == 1


def test_unpicklable_return_value_names_the_method(driver):
    f = Faulty.invoke()
    with pytest.raises(yr.SerializationError, match="return value of Faulty.unpicklable_result"):
        yr.get(f.unpicklable_result.invoke())
    assert yr.get(f.inc.invoke()) == 1


def test_unknown_method_is_refused_naming_it(driver):
    f = Faulty.invoke()
    with pytest.raises(AttributeError, match="Faulty has no method 'nope'"):
        f.nope.invoke()


@pytest.mark.parametrize("opts, word", [
    (dict(cpu=-1), "cpu"), (dict(cpu=0), "cpu"), (dict(cpu=10**9), "cpu"),
    (dict(memory=0), "memory"), (dict(concurrency=0), "concurrency"), (dict(concurrency=1001), "concurrency"),
    (dict(custom_resources={"ssd": -1}), "ssd"), (dict(recover_retry_times=-1), "recover_retry_times"),
])
def test_bad_resource_requests_are_refused(opts, word):
    with pytest.raises(ValueError, match=word):
        Faulty.options(yr.InvokeOptions(**opts))


def test_requests_no_node_can_satisfy_fail_fast_naming_the_resource(driver):
    f = Faulty.options(yr.InvokeOptions(custom_resources={"tpu": 1})).invoke()
    with pytest.raises(yr.ResourceUnavailableError, match="'tpu'"):
        yr.get(f.inc.invoke(), timeout=10)
    g = Faulty.options(yr.InvokeOptions(cpu=900_000)).invoke()
    with pytest.raises(yr.ResourceUnavailableError, match="cpu 900000"):
        yr.get(g.inc.invoke(), timeout=10)
    assert yr.get(Faulty.invoke().inc.invoke()) == 1


def test_init_twice_and_use_after_finalize(daemon):
    yr.init(daemon.config())
    try:
        with pytest.raises(RuntimeError, match="cannot be called twice"):
            yr.init(daemon.config())
    finally:
        yr.finalize()
    with pytest.raises(RuntimeError, match="finalized"):
        yr.put(1)
    with pytest.raises(RuntimeError, match="finalized"):
        Faulty.invoke()
    yr.finalize()  # a no-op
    yr.init(daemon.config())   # init works again after finalize
    assert yr.get(yr.put(3)) == 3
    yr.finalize()


def test_bad_server_address_is_a_clear_error():
    with pytest.raises(yr.InitError, match="server_address"):
        yr.init(yr.Config(server_address="/nonexistent/session"))
    assert not yr.is_initialized()


@yr.instance
class Finalizer:
    def __init__(self):
        self.n = 0

    def finalize_here(self):
        yr.finalize()

    def add(self, k):
        self.n += k
        return self.n


@yr.invoke
def finalize_in_a_function():
    yr.finalize()


def test_finalize_inside_a_worker_is_refused_and_the_worker_keeps_serving(driver):
    f = Finalizer.invoke()
    assert yr.get(f.add.invoke(1)) == 1
    for _ in range(2):
        with pytest.raises(yr.YRInvokeError, match=r"yr.finalize\(\) may only be called by a driver") as info:
            yr.get(f.finalize_here.invoke())
        assert isinstance(info.value.cause, yr.InitError)
    assert yr.get(f.add.invoke(2)) == 3   # the instance and its worker's runtime still work
    with pytest.raises(yr.YRInvokeError, match="may only be called by a driver"):
        yr.get(finalize_in_a_function.invoke())
    assert yr.get(yr.put("driver still initialized")) == "driver still initialized"


@yr.instance
class SlowStart:
    def __init__(self, seconds):
        time.sleep(seconds)

    def ping(self):
        return "pong"


def _refusal(call, request):
    """The kind the master sent with a refused call, and the yr error the SDK makes of it."""
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=30)
    return kind_from_metadata(info.value.trailing_metadata()), map_error(info.value, "op")


def _spec(iid, cpu=100, custom=None, concurrency=1):
    return pb.CreateInstanceRequest(spec=pb.InstanceSpec(
        instance_id=iid, job_id="errors-test", language="python", concurrency=concurrency,
        resources=pb.Resources(cpu_millis=cpu, memory_mib=100, custom=custom or {})))


def test_every_refusal_carries_its_kind_to_the_caller_as_class_and_code(driver):
    """Each kind the core or master answers with travels in the trailing metadata and
    becomes the class of yr.exceptions' one table, with the kind as `.code`."""
    slow = SlowStart.options(yr.InvokeOptions(name="kind-slow")).invoke(30)
    channel = grpc.insecure_channel(driver.info.master_address)
    stub = pbg.MasterStub(channel)
    md = (("yr-token", driver.info.token.decode()),)

    def create(req, timeout):
        return stub.CreateInstance(req, timeout=timeout, metadata=md)

    def get(req, timeout):
        return stub.GetInstance(req, timeout=timeout, metadata=md)
    cases = [
        (create, _spec("kind-a", concurrency=0), ErrorCode.ERR_PARAM_INVALID, yr.YRValueError),
        (create, _spec("kind-b", custom={"tpu": 1.0}), ErrorCode.ERR_RESOURCE_CONFIG_ERROR,
         yr.ResourceUnavailableError),
        (create, _spec("kind-c", cpu=900_000), ErrorCode.ERR_RESOURCE_NOT_ENOUGH, yr.ResourceUnavailableError),
        (get, pb.GetInstanceRequest(name="kind-none"), ErrorCode.ERR_INSTANCE_NOT_FOUND, yr.InstanceNotFoundError),
        (get, pb.GetInstanceRequest(instance_id="kind-none"), ErrorCode.ERR_INSTANCE_NOT_FOUND,
         yr.InstanceNotFoundError),
        (get, pb.GetInstanceRequest(name="kind-slow", timeout_s=0.3), ErrorCode.ERR_GET_OPERATION_FAILED,
         yr.YRTimeoutError),
    ]
    try:
        for call, request, kind, cls in cases:
            sent, err = _refusal(call, request)
            assert sent is kind, request
            assert type(err) is cls and err.code is kind, (request, err)
        slow.terminate(is_sync=True)
        sent, err = _refusal(get, pb.GetInstanceRequest(instance_id=slow.instance_id, timeout_s=1))
        assert sent is ErrorCode.ERR_INSTANCE_EXITED
        assert type(err) is yr.InstanceDiedError and err.code == 1007 and "is dead" in str(err)
        sent, err = _refusal(create, _spec(slow.instance_id))
        assert sent is ErrorCode.ERR_PARAM_INVALID and "already in use" in str(err)
    finally:
        channel.close()
    slow2 = SlowStart.options(yr.InvokeOptions(name="kind-slow-2")).invoke(30)
    with pytest.raises(yr.YRTimeoutError, match="kind-slow-2") as info:  # the public API, as before
        yr.get_instance("kind-slow-2", timeout=0.3)
    assert info.value.code == 4005
    with pytest.raises(yr.InstanceNotFoundError, match="kind-none") as info:
        yr.get_instance("kind-none", timeout=0)
    assert info.value.code == 1003
    slow2.terminate()
