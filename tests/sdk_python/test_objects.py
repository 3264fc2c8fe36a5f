"""put / get / wait, timeouts, and large values through shared memory."""
import glob
import time

import numpy as np
import pytest

import yr
from yr import _serialization
from yr_testing import SHM_PREFIX   # this run's files only: other runs share /dev/shm


@yr.invoke
def slow(x, delay):
    time.sleep(delay)
    return x


@yr.invoke
def make_array(n):
    return np.arange(n, dtype=np.float64)


@yr.invoke
def total(arr):
    return float(arr.sum())


@yr.invoke
def first_of(items):
    return yr.get(items[0])


def test_put_and_get(driver):
    ref = yr.put({"a": [1, 2, 3]})
    assert yr.get(ref) == {"a": [1, 2, 3]}
    assert yr.get([yr.put(1), yr.put("two")]) == [1, "two"]
    assert yr.get([]) == []


def test_put_bytes_come_back_as_memoryview(driver):
    got = yr.get(yr.put(b"hello"))
    assert isinstance(got, memoryview) and got.tobytes() == b"hello"


def test_put_rejects_none_refs_and_empty_bytes(driver):
    with pytest.raises(yr.YRValueError):
        yr.put(None)
    with pytest.raises(TypeError):
        yr.put(yr.put(1))
    with pytest.raises(ValueError):
        yr.put(b"")


def test_get_timeout_raises_a_timeout_error(driver):
    ref = slow.invoke(1, 3)
    with pytest.raises(TimeoutError) as info:
        yr.get(ref, timeout=0.3)
    assert isinstance(info.value, yr.YRError) and "not ready after 0.3s" in str(info.value)
    assert yr.get(ref, timeout=-1) == 1   # -1 waits forever


def test_get_rejects_non_refs_and_bad_timeouts(driver):
    with pytest.raises(TypeError, match="expected an ObjectRef"):
        yr.get(42)
    with pytest.raises(TypeError):
        yr.get([yr.put(1), "x"])
    for bad in (0, -5, "1"):
        with pytest.raises(ValueError, match="timeout"):
            yr.get(yr.put(1), timeout=bad)


def test_wait_semantics(driver):
    fast = [yr.put(i) for i in range(3)]
    late = slow.invoke("late", 5)
    ready, unready = yr.wait(fast + [late], wait_num=2, timeout=10)
    assert ready == fast[:2] and unready == [fast[2], late]
    ready, unready = yr.wait(fast + [late], timeout=0.5)
    assert ready == fast and unready == [late]
    assert yr.wait(fast, wait_num=0) == ([], fast)
    with pytest.raises(ValueError, match="duplicates"):
        yr.wait([fast[0], fast[0]])
    with pytest.raises(ValueError, match="wait_num"):
        yr.wait(fast, wait_num=4)


def test_failed_calls_count_as_ready_in_wait(driver):
    @yr.invoke
    def fail():
        raise ValueError("x")
    ref = fail.invoke()
    ready, unready = yr.wait([ref], 1, 30)
    assert ready == [ref] and unready == []


def test_objectref_helpers(driver):
    ref = yr.put(5)
    assert ref.done() and not ref.is_exception()
    assert ref.as_future().result(5) == 5
    got = []
    ref.on_complete(lambda r: got.append(yr.get(r)))
    assert got == [5]
    assert ref == ref and len({ref, ref}) == 1


def test_nested_refs_are_fetched_from_the_node_store(driver):
    inner = slow.invoke("inner", 0.2)
    assert yr.get(first_of.invoke([inner]), timeout=30) == "inner"
    assert yr.get(first_of.invoke([yr.put("put-value")]), timeout=30) == "put-value"


@yr.invoke
def sum_nested(items):
    return float(sum(np.asarray(yr.get(r)).sum() for r in items))


@yr.instance
class Keeps:
    """Holds a nested ref and reads it later, after others have read it."""
    def __init__(self):
        self.items = None

    def keep(self, items):
        self.items = items
        return len(items)

    def total(self):
        return float(np.asarray(yr.get(self.items[0])).sum())

    def drop(self):
        self.items = None

    def pop(self):
        items, self.items = self.items, None
        return items

    def inner_total(self):   # items[0] is a ref to a dict whose "inner" is a ref to an array
        return float(np.asarray(yr.get(yr.get(self.items[0])["inner"])).sum())


VALUES = {
    "small put": lambda: yr.put(np.arange(10.0)),
    "large put": lambda: yr.put(np.arange(3_000_000.0)),
    "large bytes put": lambda: yr.put(np.frombuffer(b"\x01" * (20 << 20), dtype=np.uint8)),
    "large task result": lambda: make_array.invoke(3_000_000),
}


@pytest.mark.parametrize("read_first", [False, True], ids=["unread", "read by its owner first"])
@pytest.mark.parametrize("kind", list(VALUES))
def test_a_nested_ref_is_readable_by_every_reader_in_any_order(driver, kind, read_first):
    """A ref passed nested is published to the node store once; every process that reads it
    (two tasks, an instance that keeps it and reads it later, and its owner before or after)
    gets the value: no reader may remove the file another one still maps."""
    ref = VALUES[kind]()
    want = float(np.asarray(yr.get(ref, timeout=60)).sum()) if read_first else None
    keeper = Keeps.invoke()
    assert yr.get(keeper.keep.invoke([ref]), timeout=60) == 1
    first = yr.get(sum_nested.invoke([ref]), timeout=60)
    second = yr.get(sum_nested.invoke([ref, ref]), timeout=60)
    later = yr.get(keeper.total.invoke(), timeout=60)
    own = float(np.asarray(yr.get(ref, timeout=60)).sum())
    assert first == later == own and second == 2 * own
    assert want is None or want == own
    keeper.terminate()


def _shm_files() -> set:
    return set(glob.glob(f"{_serialization.SHM_DIR}/{SHM_PREFIX}-*"))


def _until(check, timeout=20.0) -> bool:
    deadline = time.monotonic() + timeout   # frees reach the node store asynchronously
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


def test_a_large_nested_value_lives_while_the_driver_or_a_call_result_holds_it(driver):
    """The node store frees a driver's large value passed nested once the driver's refs and
    the results of the calls that carried it are gone (not at the first read, not only at
    the job's end)."""
    import gc
    before = _shm_files()
    ref = yr.put(np.arange(3_000_000.0))
    want = float(np.arange(3_000_000.0).sum())
    result = sum_nested.invoke([ref])
    assert yr.get(result, timeout=60) == want
    del ref
    gc.collect()
    assert _shm_files() - before, "the value's file went while a call result still holds it"
    del result
    gc.collect()
    assert _until(lambda: not (_shm_files() - before)), _shm_files() - before


@pytest.mark.parametrize("where", ["instance", "instance, read first"])
def test_a_worker_keeping_a_nested_ref_keeps_its_value_after_the_driver_drops_it(driver, where):
    """A worker that keeps a ref it got nested borrows it: the value stays in the node store
    (and /dev/shm) after the driver's refs and call results are gone, for as long as any
    worker keeps the ref, and goes when the last one drops it or ends (Ray's borrowing)."""
    import gc
    before = _shm_files()
    ref = yr.put(np.arange(3_000_000.0))
    want = float(np.arange(3_000_000.0).sum())
    keeper, late = Keeps.invoke(), Keeps.invoke()   # `late` reads only after the driver let go
    assert yr.get(keeper.keep.invoke([ref]), timeout=60) == 1
    assert yr.get(late.keep.invoke([ref]), timeout=60) == 1
    if where.endswith("read first"):
        assert yr.get(keeper.total.invoke(), timeout=60) == want
    del ref
    gc.collect()
    time.sleep(0.3)   # the driver's free reaches the node store (asynchronously)
    assert yr.get(late.total.invoke(), timeout=60) == want
    assert yr.get(keeper.total.invoke(), timeout=60) == want
    assert _shm_files() - before, "the value's file went while workers keep its ref"
    assert yr.get(keeper.drop.invoke(), timeout=60) is None
    assert yr.get(late.total.invoke(), timeout=60) == want   # one borrower left
    late.terminate()   # the last borrower ends without dropping it: its hold goes with it
    assert _until(lambda: not (_shm_files() - before)), _shm_files() - before
    keeper.terminate()


def _in_store(oid: str) -> bool:
    """Whether the node store still serves `oid` (asked by the driver's own store link)."""
    from yr import _context
    try:
        _context.current().agent.get(oid, timeout=0.5)
        return True
    except yr.exceptions.ResourceUnavailableError as e:
        assert "was freed" in str(e), e
        return False


@pytest.mark.parametrize("value", ["small string", 12345, b"x" * 2000, np.arange(100.0)],
                         ids=["str", "int", "bytes", "small array"])
def test_a_small_value_passed_nested_leaves_the_store_with_the_last_holder(driver, value):
    """Small (inline) values a driver passes nested leave the node store too, once the
    driver's refs and call results are gone and no worker keeps them: a long-running driver
    does not fill the store with them."""
    import gc
    ref = yr.put(value)
    oid = ref.id
    keeper = Keeps.invoke()
    assert yr.get(keeper.keep.invoke([ref]), timeout=60) == 1
    result = first_of.invoke([ref])
    assert np.array_equal(np.asarray(yr.get(result, timeout=60)), np.asarray(value))
    del ref, result
    gc.collect()
    time.sleep(0.3)
    assert _in_store(oid), "freed while a worker keeps the ref"
    assert yr.get(keeper.drop.invoke(), timeout=60) is None
    assert _until(lambda: not _in_store(oid))
    keeper.terminate()


def test_a_published_ref_collected_in_a_cycle_while_its_thread_holds_the_store_link_does_not_deadlock(driver):
    """A slot's finalizer may run inside the cycle collector on a thread that holds the store
    link's send lock: the free it sends must not take that lock there."""
    import gc
    import threading
    from yr import _context
    ref = yr.put(b"cycle" * 10)
    oid = ref.id
    result = first_of.invoke([ref])   # publishes it
    assert bytes(yr.get(result, timeout=60)) == b"cycle" * 10
    cycle = [ref]
    cycle.append(cycle)
    del ref, result, cycle
    link = _context.current().agent._conn
    done = threading.Event()

    def collect_holding_the_link():
        with link._send_lock:
            gc.collect()
        done.set()
    threading.Thread(target=collect_holding_the_link, daemon=True).start()
    assert done.wait(20), "the free of a collected ref waited for the store link's lock"
    assert _until(lambda: not _in_store(oid))


@pytest.mark.parametrize("size", [10, 3_000_000], ids=["small", "large"])
def test_a_ref_a_worker_hands_back_and_forgets_stays_readable_by_the_caller(driver, size):
    """A worker returns a ref it kept and drops it in the same call, after the driver let go
    of its own refs: the result's refs are held for the caller until it has them (a transfer
    hold), so the caller can read it later; the value goes once the caller drops it too."""
    import gc
    ref = yr.put(np.arange(float(size)))
    oid, want = ref.id, float(np.arange(float(size)).sum())
    keeper = Keeps.invoke()
    assert yr.get(keeper.keep.invoke([ref]), timeout=60) == 1
    del ref
    gc.collect()
    time.sleep(0.3)   # the driver's free reaches the store: only the keeper holds it now
    back = yr.get(keeper.pop.invoke(), timeout=60)
    time.sleep(0.5)   # the keeper's release reaches the store before the driver reads
    assert float(np.asarray(yr.get(back[0], timeout=60)).sum()) == want
    del back
    gc.collect()
    assert _until(lambda: not _in_store(oid))
    keeper.terminate()


def test_refs_inside_a_put_value_live_while_the_store_holds_that_value(driver):
    """A worker keeps a put value with a ref inside it; the driver drops both: the store,
    holding the outer value, holds the inner one too; both go when the worker lets go."""
    import gc
    inner = yr.put(np.arange(2_000_000.0))
    outer = yr.put({"inner": inner})
    inner_id, want = inner.id, float(np.arange(2_000_000.0).sum())
    keeper = Keeps.invoke()
    assert yr.get(keeper.keep.invoke([outer]), timeout=60) == 1
    del inner, outer
    gc.collect()
    time.sleep(0.3)
    assert yr.get(keeper.inner_total.invoke(), timeout=60) == want
    assert yr.get(keeper.drop.invoke(), timeout=60) is None
    assert _until(lambda: not _in_store(inner_id))
    keeper.terminate()


@yr.invoke
def put_and_return(n):
    return [yr.put(np.arange(float(n)))]


@yr.invoke
def put_and_pass_on(n):
    """Puts a value here and passes its ref nested to another task: returns the value's sum
    and the ref's id."""
    ref = yr.put(np.arange(float(n)))
    return yr.get(sum_nested.invoke([ref]), timeout=60), ref.id


@pytest.mark.parametrize("size", [10, 3_000_000], ids=["small", "large"])
def test_values_made_in_workers_leave_the_store_with_the_last_ref(driver, size):
    """A value a worker puts and hands out (in a result, or nested in another task's
    arguments) leaves the node store once no process holds a ref to it: a long job does not
    fill the store with them."""
    import gc
    want = float(np.arange(float(size)).sum())
    got = yr.get(put_and_return.invoke(size), timeout=60)
    oid = got[0].id
    time.sleep(0.3)   # the worker let go of its own ref: the driver's holds it
    assert float(np.asarray(yr.get(got[0], timeout=60)).sum()) == want
    assert _in_store(oid)
    del got
    gc.collect()
    assert _until(lambda: not _in_store(oid))
    total, passed_id = yr.get(put_and_pass_on.invoke(size), timeout=60)
    assert total == want
    assert _until(lambda: not _in_store(passed_id))


@yr.instance
class Maker:
    """Puts values and hands them out in its results, remembering the last one's id."""
    def __init__(self):
        self.last = None

    def make(self, n):
        ref = yr.put(np.arange(float(n)))
        self.last = ref.id
        return {"made": [ref], "n": n}

    def last_id(self):
        return self.last


@pytest.mark.parametrize("size", [10, 3_000_000], ids=["small", "large"])
@pytest.mark.parametrize("when", ["after it arrived", "before it arrived"])
def test_a_result_dropped_unread_lets_go_of_the_refs_sent_in_it(driver, size, when):
    """A result that holds refs is held for its receiver until it reads them (a transfer
    hold); a driver that drops such a result without ever reading it lets go of them too,
    so the values leave the store (they used to stay until the job ended)."""
    import gc
    maker = Maker.invoke()
    result = maker.make.invoke(size)
    if when == "after it arrived":
        assert yr.wait([result], timeout=60) == ([result], [])
    oid = yr.get(maker.last_id.invoke(), timeout=60)
    time.sleep(0.3)   # the maker's own ref is gone: only the result's hold keeps the value
    assert _in_store(oid), "freed while an unread result holds it"
    del result
    gc.collect()
    assert _until(lambda: not _in_store(oid))
    kept = maker.make.invoke(size)   # the same, read: it stays while the driver holds the ref
    got = yr.get(kept, timeout=60)
    del kept
    gc.collect()
    time.sleep(0.3)
    assert float(np.asarray(yr.get(got["made"][0], timeout=60)).sum()) == float(np.arange(float(size)).sum())
    maker.terminate()


@yr.invoke
def echo_nested(items):
    return items


def test_a_driver_given_back_its_own_ref_keeps_the_value(driver):
    """A ref that comes back to its owner (nested in a result) is the owner's own ref: the
    value lives while either is held."""
    import gc
    ref = yr.put(np.arange(3_000_000.0))
    want = float(np.arange(3_000_000.0).sum())
    back = yr.get(echo_nested.invoke([ref]), timeout=60)[0]
    assert back == ref
    del ref
    gc.collect()
    time.sleep(0.3)
    assert float(np.asarray(yr.get(back, timeout=60)).sum()) == want
    assert yr.get(sum_nested.invoke([back]), timeout=60) == want


@yr.invoke
def sum_inside(boxes):
    return float(yr.get(yr.get(boxes[0])["inner"]).sum())


def test_a_ref_inside_a_put_value_lives_as_long_as_that_value(driver):
    import gc
    inner = yr.put(np.arange(2_000_000.0))
    outer = yr.put({"inner": inner})
    del inner   # only `outer` holds it now
    gc.collect()
    assert yr.get(sum_inside.invoke([outer]), timeout=60) == float(np.arange(2_000_000.0).sum())


def test_large_values_travel_through_shared_memory(driver):
    n = 8_000_000  # 64 MB
    ref = make_array.invoke(n)
    arr = yr.get(ref, timeout=60)
    assert arr.shape == (n,) and arr[-1] == n - 1
    assert not arr.flags.owndata and not arr.flags.writeable  # a read-only view of a mapping, not a copy
    assert yr.get(total.invoke(arr), timeout=60) == float(n * (n - 1) / 2)
    big = yr.put(b"x" * (50 << 20))
    assert yr.get(big).nbytes == 50 << 20


def test_shared_memory_is_freed_with_its_refs(driver):
    before = set(glob.glob(f"{_serialization.SHM_DIR}/{SHM_PREFIX}-*"))
    ref = make_array.invoke(1_000_000)
    yr.get(ref)
    del ref
    import gc
    gc.collect()
    assert set(glob.glob(f"{_serialization.SHM_DIR}/{SHM_PREFIX}-*")) - before == set()
