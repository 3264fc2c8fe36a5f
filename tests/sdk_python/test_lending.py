"""Large values by reference on one machine (yr._serialization "lending"): a top-level ref whose
value is in a shared-memory file reaches the worker as that same file, a result that is a view
of it points back at it, nothing is copied into a new file, and the file goes with the last
ref that needs it."""
import gc
import glob

import numpy as np
import pytest

import yr
from yr import _serialization
from yr_runtime.wire import bodies

N = 3 << 20   # 24 MiB of float64


def _files() -> set:
    """This run's shared-memory files (the suite sets the prefix; other runs share /dev/shm).
    Not yr_testing's constant: workers import this module, and yr_testing refuses that."""
    return set(glob.glob(f"{_serialization.SHM_DIR}/{_serialization.SHM_PREFIX}-*"))


def _path_of(ref) -> str:
    return bodies.split_mapped(ref._slot.body)[0]["path"]


def _mapped_file(address: int) -> str:
    """The file mapped at `address` in this process (from /proc/self/maps), "" if none."""
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if lo <= address < hi:
                return parts[5].strip() if len(parts) > 5 else ""
    return ""


@yr.invoke
def echo(x):
    return x


@yr.invoke
def tail(x, k):
    return x[k:]   # a view at an offset that is not page-aligned


@yr.invoke
def where(x):
    """The file the worker's argument is mapped from, and whether the worker may write it."""
    return _mapped_file(x.__array_interface__["data"][0]), x.flags.writeable


@yr.invoke
def first_of(items):
    return yr.get(items[0])


@yr.instance
class Keeper:
    def __init__(self):
        self.kept = None

    def keep(self, x):
        self.kept = x
        return int(x.sum())

    def give(self):
        return self.kept


def test_the_worker_maps_the_callers_file_and_the_result_points_back_at_it(driver):
    ref = yr.put(np.arange(N, dtype=np.float64))
    path = _path_of(ref)
    mapped, writeable = yr.get(where.invoke(ref), timeout=60)
    assert mapped == path and not writeable   # the same file, read-only: no copy was made
    before = _files()
    res = echo.invoke(ref)
    out = yr.get(res, timeout=60)
    assert _files() == before   # the round trip made no new file
    desc = bodies.split_mapped(res._slot.body)[0]
    assert desc["path"] == "" and [d[1] for d in desc["lent"]] == [path]
    assert out.shape == (N,) and out[-1] == N - 1 and not out.flags.writeable
    assert _mapped_file(out.__array_interface__["data"][0]) == path
    assert os_exists(path)   # the put's ref owns it still


def os_exists(path: str) -> bool:
    return path in _files()


def test_a_view_at_an_offset_and_a_ref_dropped_before_its_result_is_read(driver):
    src = np.arange(N, dtype=np.float64)
    ref = yr.put(src)
    path = _path_of(ref)
    res = tail.invoke(ref, 3)
    del ref   # the pending result keeps the put's file: the worker maps it, the result points into it
    gc.collect()
    out = yr.get(res, timeout=60)
    assert np.array_equal(out, src[3:])
    assert bodies.split_mapped(res._slot.body)[0]["lent"][0][1:] == [path, 24, (N - 3) * 8]
    del res, out
    gc.collect()
    assert not os_exists(path)   # gone with the last slot that needed it, exactly once


def test_a_source_changed_after_put_does_not_change_what_tasks_see(driver):
    src = np.ones(N, dtype=np.uint8)
    ref = yr.put(src)
    src[:] = 9
    assert int(yr.get(echo.invoke(ref), timeout=60).sum()) == N
    assert int(yr.get(echo.invoke(ref), timeout=60).sum()) == N   # and again: still lent, same value


@pytest.mark.parametrize("value", [
    41, "text", b"x" * (2 << 20), bytearray(b"y" * (3 << 20)), np.arange(10),
    {"a": np.full(1 << 20, 7, np.int32), "b": [1, 2]}, (np.zeros(300_000), np.ones(300_000, np.int8)),
], ids=["int", "str", "bytes", "bytearray", "small-array", "dict-of-array", "tuple-of-arrays"])
def test_values_of_other_sizes_and_types_round_trip(driver, value):
    before = _files()
    ref = yr.put(value)
    got = yr.get(echo.invoke(ref), timeout=60)
    expected = yr.get(ref)
    if isinstance(expected, dict):
        assert got.keys() == expected.keys() and np.array_equal(got["a"], value["a"]) and got["b"] == [1, 2]
    elif isinstance(expected, tuple):
        assert all(np.array_equal(g, v) for g, v in zip(got, value))
    elif isinstance(expected, np.ndarray):
        assert np.array_equal(got, value)
    else:
        assert got == expected
    del ref, got, expected
    gc.collect()
    assert _files() - before == set()


def test_an_instance_keeping_a_borrowed_value_returns_its_own_copy_later(driver):
    ref = yr.put(np.full(N, 5, np.uint8))
    path = _path_of(ref)
    k = Keeper.invoke()
    assert yr.get(k.keep.invoke(ref), timeout=60) == 5 * N
    del ref
    gc.collect()
    assert not os_exists(path)   # the lender dropped it: the instance still maps it, unlinked
    later = k.give.invoke()   # another call: it may not point at a file it did not borrow
    out = yr.get(later, timeout=60)
    assert int(out.sum()) == 5 * N
    assert bodies.split_mapped(later._slot.body)[0]["path"] not in ("", path)
    k.terminate()


def test_a_ref_read_before_it_is_passed_and_one_also_passed_nested(driver):
    before = _files()
    ref = yr.put(np.full(N, 3, np.uint8))
    assert int(yr.get(ref).sum()) == 3 * N   # loaded here first: its file was unlinked, sent by value
    assert int(yr.get(echo.invoke(ref), timeout=60).sum()) == 3 * N
    other = yr.put(np.full(N, 4, np.uint8))
    path = _path_of(other)
    top = echo.invoke(other)
    nested = first_of.invoke([other])   # published: the node store gets a second name of the file
    assert int(yr.get(top, timeout=60).sum()) == 4 * N
    assert int(yr.get(nested, timeout=60).sum()) == 4 * N
    assert int(yr.get(echo.invoke(other), timeout=60).sum()) == 4 * N   # still lent after publishing
    del ref, other, top, nested
    gc.collect()
    # the put's own name is gone with its slot; at most the store's name of it is left (its
    # first reader on this machine unlinks it, else the job's end does)
    assert not os_exists(path) and len(_files() - before) <= 1
