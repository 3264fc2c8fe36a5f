"""The KV store's core (yr_runtime.core.kv): no sockets, a hand-moved clock, futures as waiters."""
import math
from concurrent.futures import Future

import pytest

from yr_runtime.core.kv import NONE, NX, KVError, KVStore
from yr_runtime.wire.errors import ErrorCode


def read(store, keys, now=0.0, deadline=None, allow_partial=False):
    f = Future()
    store.read(keys, f, now, deadline, allow_partial)
    return f


def test_write_read_overwrite_and_delete():
    s = KVStore()
    s.write("a", b"1", 0.0)
    s.write("a", b"22", 0.0)           # NONE overwrites
    s.m_write(["b", "c"], [b"", bytes(range(256))], 0.0)
    assert read(s, ["a", "b", "c"]).result(0) == [b"22", b"", bytes(range(256))]
    assert s.used == 2 + 0 + 256
    assert s.delete(["a", "zz"], 0.0) == ["a"]   # a missing key is no error
    assert s.get("a", 0.0) is None and s.used == 256


def test_nx_refuses_an_existing_key_and_m_write_is_all_or_nothing():
    s = KVStore()
    s.write("k", b"old", 0.0)
    with pytest.raises(KVError, match="'k' already exists") as e:
        s.write("k", b"new", 0.0, existence=NX)
    assert e.value.kind == ErrorCode.ERR_PARAM_INVALID and s.get("k", 0.0) == b"old"
    with pytest.raises(KVError, match="already exists"):
        s.m_write(["fresh", "k"], [b"1", b"2"], 0.0, existence=NX)
    assert s.get("fresh", 0.0) is None      # nothing of the batch was written
    s.m_write(["x", "y"], [b"1", b"2"], 0.0, existence=NX)
    assert s.keys(0.0) == ["k", "x", "y"]


@pytest.mark.parametrize("key", ["", "a b", "é", "x" * 256, 5, None, "a\x00"])
def test_bad_keys_are_refused_naming_the_rule(key):
    s = KVStore()
    with pytest.raises(KVError, match="KV key") as e:
        s.write(key, b"v", 0.0)
    assert e.value.kind == ErrorCode.ERR_PARAM_INVALID


def test_ttl_expires_keys_and_a_rewrite_resets_it():
    s = KVStore()
    s.write("t", b"v", 10.0, ttl=5)
    s.write("u", b"v", 10.0, ttl=5)
    s.write("u", b"w", 12.0)            # a write without ttl keeps it forever
    assert s.get("t", 14.9) == b"v"
    s.expire(15.0)
    assert s.get("t", 15.0) is None and s.get("u", 100.0) == b"w"
    assert s.used == 1
    with pytest.raises(KVError, match="ttl_second"):
        s.write("t", b"v", 0.0, ttl=-1)


def test_a_read_waits_for_missing_keys_until_written():
    s = KVStore()
    f = read(s, ["p", "q"], now=0.0, deadline=10.0)
    assert not f.done() and s.waiting() == 1
    s.write("p", b"1", 1.0)
    assert not f.done()
    s.write("q", b"2", 2.0)
    assert f.result(0) == [b"1", b"2"] and s.waiting() == 0


def test_a_read_times_out_naming_the_missing_keys_or_answers_partially():
    s = KVStore()
    s.write("have", b"h", 0.0)
    strict = read(s, ["have", "nope"], 0.0, deadline=3.0)
    partial = read(s, ["have", "nope"], 0.0, deadline=3.0, allow_partial=True)
    s.expire(2.9)
    assert not strict.done()
    s.expire(3.0)
    err = strict.result(0)
    assert isinstance(err, KVError) and err.kind == ErrorCode.ERR_GET_OPERATION_FAILED
    assert "'nope' not found" in str(err)
    assert partial.result(0) == [b"h", None]
    assert s.waiting() == 0


def test_no_deadline_answers_now_and_inf_waits_until_forgotten():
    s = KVStore()
    assert isinstance(read(s, ["gone"], 0.0).result(0), KVError)
    f = read(s, ["later"], 0.0, deadline=math.inf)
    s.expire(1e9)
    assert not f.done()
    s.forget(f)
    assert s.waiting() == 0
    s.write("later", b"x", 0.0)
    assert not f.done()


def test_sizes_are_bounded_per_value_and_in_total():
    s = KVStore(max_value=100, capacity=250)
    with pytest.raises(KVError, match="too large: 101 bytes") as e:
        s.write("big", b"x" * 101, 0.0)
    assert e.value.kind == ErrorCode.ERR_PARAM_INVALID
    s.write("a", b"x" * 100, 0.0)
    s.write("b", b"x" * 100, 0.0)
    with pytest.raises(KVError, match="KV store is full") as e:
        s.write("c", b"x" * 100, 0.0)
    assert e.value.kind == ErrorCode.ERR_RESOURCE_NOT_ENOUGH
    s.write("a", b"y" * 100, 0.0)       # an overwrite frees the old value first
    s.check_sizes(["a"], [100], NONE)
    with pytest.raises(KVError, match="full"):
        s.check_sizes(["a"], [100], NX)  # NX frees nothing


def test_one_write_names_each_key_once_and_reads_need_keys():
    s = KVStore()
    with pytest.raises(KVError, match="distinct"):
        s.m_write(["a", "a"], [b"1", b"2"], 0.0)
    with pytest.raises(KVError, match="as many values as keys"):
        s.m_write(["a"], [], 0.0)
    with pytest.raises(KVError, match="at least one key"):
        read(s, [])
