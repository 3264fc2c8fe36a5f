"""yr.kv_*: the KV store held by the runtime, from drivers and workers (a real daemon)."""
import threading
import time

import pytest

import yr
from yr import _data
from yr.kv import kv_read_partial
from yr_runtime.proto import control_pb2 as pb


@yr.invoke
def kv_in_worker(key, value):
    """Reads the key the driver wrote, writes another one, in a stateless worker."""
    seen = yr.kv_read(key, timeout=30)
    yr.kv_write(key + "-reply", seen + value)
    return seen


@yr.instance
class KVUser:
    def read(self, key, timeout):
        return yr.kv_get(key, timeout)

    def write(self, key, value):
        yr.kv_set(key, value)
        return True


def test_write_read_overwrite_delete(driver):
    yr.kv_write("t1-a", b"one")
    assert yr.kv_read("t1-a") == b"one"
    yr.kv_write("t1-a", bytearray(b"two"))             # ExistenceOpt.NONE overwrites
    yr.kv_set("t1-b", memoryview(b"three"))
    yr.kv_write_with_param("t1-c", b"", yr.SetParam())   # an empty value is a value
    assert yr.kv_get(["t1-a", "t1-b", "t1-c"]) == [b"two", b"three", b""]
    yr.kv_del(["t1-a", "t1-b", "never-written"])       # a missing key is no error
    yr.kv_del("t1-c")
    with pytest.raises(yr.YRTimeoutError, match="'t1-a' not found"):
        yr.kv_read("t1-a", timeout=0)


def test_nx_and_the_transaction_write_all_or_nothing(driver):
    yr.kv_write("t2-x", b"old")
    with pytest.raises(yr.YRValueError, match="'t2-x' already exists"):
        yr.kv_write("t2-x", b"new", yr.ExistenceOpt.NX)
    p = yr.SetParam()
    p.existence = yr.ExistenceOpt.NX
    with pytest.raises(yr.YRValueError, match="already exists"):
        yr.kv_set("t2-x", b"new", p)
    assert yr.kv_read("t2-x") == b"old"
    with pytest.raises(yr.YRValueError, match="already exists"):
        yr.kv_m_write_tx(["t2-fresh", "t2-x"], [b"1", b"2"])
    with pytest.raises(yr.YRTimeoutError):
        yr.kv_read("t2-fresh", timeout=0)               # nothing of the batch was written
    yr.kv_m_write_tx(["t2-p", "t2-q"], [b"1", b"2"], yr.MSetParam())
    assert yr.kv_read(["t2-p", "t2-q"]) == [b"1", b"2"]
    with pytest.raises(ValueError, match="existence should be NX"):
        yr.kv_m_write_tx(["t2-r"], [b"1"], yr.MSetParam(existence=yr.ExistenceOpt.NONE))
    with pytest.raises(ValueError, match="size not equal"):
        yr.kv_m_write_tx(["t2-r", "t2-s"], [b"1"])
    yr.kv_del(["t2-x", "t2-p", "t2-q"])


def test_a_read_waits_for_a_missing_key_up_to_its_timeout(driver):
    def later():
        time.sleep(0.5)
        yr.kv_write("t3-late", b"here")
    t = threading.Thread(target=later)
    t.start()
    assert yr.kv_read("t3-late", timeout=60) == b"here"   # returns once written, long before 60 s
    t.join()
    t0 = time.monotonic()
    with pytest.raises(yr.YRTimeoutError, match="'t3-never' not found") as e:
        yr.kv_get(["t3-late", "t3-never"], timeout=1)
    assert isinstance(e.value, RuntimeError) and time.monotonic() - t0 >= 1
    assert kv_read_partial(["t3-late", "t3-never"], 0) == [b"here", None]   # C++/Java's allowPartial
    yr.kv_del("t3-late")


def test_ttl_deletes_the_key_after_its_seconds(driver):
    yr.kv_write("t4-ttl", b"brief", ttl_second=1)
    yr.kv_write("t4-keep", b"stays", ttl_second=0)
    assert yr.kv_read("t4-ttl", timeout=0) == b"brief"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            yr.kv_read("t4-ttl", timeout=0)
        except yr.YRTimeoutError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the key with ttl_second=1 was still there after 10 s")
    assert yr.kv_read("t4-keep") == b"stays"
    yr.kv_del("t4-keep")


@pytest.mark.parametrize("size", [1 << 20, (5 << 20) + 3, 64 << 20])
def test_large_values_travel_in_chunks(driver, size):
    value = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    yr.kv_write("t5-big", value)
    assert yr.kv_read("t5-big") == value
    part = yr.GetParam(offset=size - 10, size=0)
    assert yr.kv_get_with_param(["t5-big"], yr.GetParams([part])) == [value[-10:]]
    yr.kv_del("t5-big")


def test_no_grpc_message_grows_with_the_value(driver, monkeypatch):
    """The messages of a write and of a read are at most one chunk of data each."""
    seen = []
    real = pb.KvWriteChunk
    monkeypatch.setattr(_data.pb, "KvWriteChunk", lambda **kw: seen.append(len(kw.get("data", b""))) or real(**kw))
    yr.kv_write("t6-chunks", b"z" * ((3 << 20) + 1))
    assert seen[0] == 0 and seen[1:] == [1 << 20] * 3 + [1]
    assert len(yr.kv_read("t6-chunks")) == (3 << 20) + 1
    yr.kv_del("t6-chunks")


def test_a_value_too_large_is_refused_before_sending(driver, monkeypatch):
    monkeypatch.setattr(yr.kv, "MAX_VALUE", 1000)
    with pytest.raises(yr.YRValueError, match="too large: 1001 bytes"):
        yr.kv_write("t7", bytes(1001))


def test_the_master_refuses_a_too_large_value_before_its_bytes(driver):
    """A write announcing more than a value may hold is refused on its header."""
    from yr import _context
    from yr_runtime.core.kv import MAX_VALUE
    stub, md = _context.current().master.rpc()
    header = pb.KvWriteChunk(header=pb.KvWriteHeader(keys=["t7"], sizes=[MAX_VALUE + 1]))
    with pytest.raises(Exception, match="too large") as e:
        stub.KvWrite(iter([header]), timeout=30, metadata=md)
    assert "grpc" in type(e.value).__module__


def test_get_with_param_slices(driver):
    yr.kv_write("t8-a", b"0123456789")
    yr.kv_write("t8-b", b"abcdef")
    params = yr.GetParams(get_params=[yr.GetParam(offset=2, size=3), yr.GetParam()])
    assert yr.kv_get_with_param(["t8-a", "t8-b"], params, 5) == [b"234", b"abcdef"]
    with pytest.raises(yr.YRValueError, match="outside the 6 bytes"):
        yr.kv_get_with_param(["t8-b"], yr.GetParams([yr.GetParam(offset=7)]))
    with pytest.raises(ValueError, match="does not accept empty list"):
        yr.kv_get_with_param(["t8-a"], yr.GetParams())
    with pytest.raises(ValueError, match="not equal to keys size"):
        yr.kv_get_with_param(["t8-a", "t8-b"], yr.GetParams([yr.GetParam()]))
    yr.kv_del(["t8-a", "t8-b"])


def test_bad_arguments_and_unsupported_options_are_refused(driver):
    with pytest.raises(yr.YRTypeError, match="must be bytes"):
        yr.kv_write("t9", "a str")
    with pytest.raises(yr.YRValueError, match="non-empty str"):
        yr.kv_write("", b"v")
    with pytest.raises(yr.YRValueError, match="invalid KV key"):
        yr.kv_write("has space", b"v")
    with pytest.raises(yr.YRValueError, match="no second-level cache"):
        yr.kv_write("t9", b"v", write_mode=yr.WriteMode.WRITE_THROUGH_L2_CACHE)
    with pytest.raises(yr.YRValueError, match="DISK is not supported"):
        yr.kv_write("t9", b"v", cache_type=yr.CacheType.DISK)
    with pytest.raises(yr.YRValueError, match="ttl_second"):
        yr.kv_write("t9", b"v", ttl_second=-1)
    with pytest.raises(ValueError, match="greater than 0 or equal to -1"):
        yr.kv_get("t9", timeout=0)
    with pytest.raises(yr.YRTypeError, match="SetParam"):
        yr.kv_set("t9", b"v", {"existence": 1})
    yr.kv_write("t9", b"v", write_mode=yr.WriteMode.NONE_L2_CACHE_EVICT)   # accepted: yr never evicts
    yr.kv_del("t9")


def test_put_takes_a_create_param(driver):
    p = yr.CreateParam()
    p.consistency_type = yr.ConsistencyType.CAUSAL
    assert yr.get(yr.put(5, p)) == 5
    with pytest.raises(yr.YRValueError, match="DISK is not supported"):
        yr.put(5, yr.CreateParam(cache_type=yr.CacheType.DISK))


def test_workers_share_the_store_with_the_driver(driver):
    yr.kv_write("t10", b"from-driver ")
    assert yr.get(kv_in_worker.invoke("t10", b"and-worker")) == b"from-driver "
    assert yr.kv_read("t10-reply", timeout=30) == b"from-driver and-worker"
    user = KVUser.invoke()
    waiting = user.read.invoke("t10-from-driver-later", 60)   # the instance waits for the key
    time.sleep(0.3)
    yr.kv_write("t10-from-driver-later", b"now")
    assert yr.get(waiting, 60) == b"now"
    assert yr.get(user.write.invoke("t10-from-instance", b"ok"))
    assert yr.kv_read("t10-from-instance") == b"ok"
    with pytest.raises(yr.YRInvokeError, match="kv_get: KV key 't10-never' not found"):
        yr.get(user.read.invoke("t10-never", 1), 60)
    user.terminate()
    yr.kv_del(["t10", "t10-reply", "t10-from-driver-later", "t10-from-instance"])


def test_keys_outlive_the_driver_that_wrote_them(daemon):
    yr.init(daemon.config())
    yr.kv_write("t11-persist", b"kept")
    yr.finalize()
    yr.init(daemon.config())
    try:
        assert yr.kv_read("t11-persist", timeout=0) == b"kept"
        yr.kv_del("t11-persist")
    finally:
        yr.finalize()


def test_kv_and_stream_calls_need_the_session_token(driver):
    """The master's token check covers the new RPCs, streaming ones included."""
    import grpc
    from yr import _context
    from yr_runtime.proto import control_pb2_grpc as pbg
    yr.kv_write("t12-secret", b"s")
    channel = grpc.insecure_channel(_context.current().info.master_address)
    stub, bad = pbg.MasterStub(channel), (("yr-token", "wrong"),)
    try:
        calls = [lambda: list(stub.KvRead(pb.KvReadRequest(keys=["t12-secret"]), timeout=10, metadata=bad)),
                 lambda: stub.KvWrite(iter([pb.KvWriteChunk(header=pb.KvWriteHeader(keys=["t12-secret"], sizes=[1])),
                                            pb.KvWriteChunk(data=b"x")]), timeout=10, metadata=bad),
                 lambda: stub.KvDel(pb.KvDelRequest(keys=["t12-secret"]), timeout=10, metadata=bad),
                 lambda: stub.StreamCounts(pb.StreamQuery(stream="s"), timeout=10, metadata=bad)]
        for call in calls:
            with pytest.raises(grpc.RpcError) as e:
                call()
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        channel.close()
    assert yr.kv_read("t12-secret") == b"s"
    yr.kv_del("t12-secret")
