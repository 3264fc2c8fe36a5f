"""Calls whose result is not one value: return_nums (functions and @yr.method) and
generators (ObjectRefGenerator, streamed as the worker yields), as openYuanrong documents."""
import asyncio
import os
import threading
import time

import pytest

import yr


@yr.invoke(return_nums=3)
def three(a):
    return a, a * 2, [a]


@yr.invoke(return_nums=2)
def pair_of_big(n):
    return b"x" * n, n


@yr.invoke(return_nums=3)
def too_few():
    return 1, 2


@yr.invoke(return_nums=2)
def not_a_tuple():
    return "ab"


@yr.invoke(return_nums=2)
def fails_before_returning():
    raise KeyError("no pair")


@yr.invoke(return_nums=0)
def touch(path):
    with open(path, "w") as f:
        f.write("ran")
    return "ignored"


@yr.invoke
def add(a, b):
    return a + b


@yr.instance
class Pairs:
    def __init__(self):
        self.n = 0

    @yr.method(return_nums=2)
    def swap(self, a, b):
        return b, a

    @yr.method(return_nums=0)
    def bump(self):
        self.n += 1

    @yr.method(return_nums=2)
    def wrong(self):
        return 1, 2, 3

    def count(self):
        return self.n

    def items(self, n):
        for i in range(n):
            yield i * i

    async def async_items(self, n):
        for i in range(n):
            await asyncio.sleep(0)
            yield f"a{i}"

    def wait_between(self, flag):
        yield "first"
        deadline = time.monotonic() + 60
        while not os.path.exists(flag):   # the driver creates it once it holds the first item
            if time.monotonic() > deadline:
                raise TimeoutError("the first item never reached the driver while the generator ran")
            time.sleep(0.01)
        yield "second"


@yr.invoke
def squares(n):
    for i in range(n):
        yield i * i


@yr.invoke
async def async_squares(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i * i


@yr.invoke
def nothing():
    return
    yield  # noqa: unreachable: makes this an (empty) generator


@yr.invoke
def fails_at(n):
    for i in range(n):
        yield i
    raise ValueError(f"broke after {n}")


@yr.invoke
def unpicklable_item():
    yield 1
    yield threading.Lock()


@yr.invoke
def dies_mid_stream():
    yield 1
    os._exit(3)


@yr.invoke
def waits_for_flag(flag):
    yield "first"
    deadline = time.monotonic() + 60
    while not os.path.exists(flag):
        if time.monotonic() > deadline:
            raise TimeoutError("the first item never reached the driver while the generator ran")
        time.sleep(0.01)
    yield "second"


def values(gen):
    return [yr.get(r, timeout=60) for r in gen]


# ---- return_nums ----------------------------------------------------------------------------
def test_function_with_several_returns_gives_one_ref_per_value(driver):
    refs = three.invoke(4)
    assert isinstance(refs, list) and len(refs) == 3 and all(isinstance(r, yr.ObjectRef) for r in refs)
    assert yr.get(refs) == [4, 8, [4]]


def test_several_returns_travel_as_refs_to_other_calls_and_through_shared_memory(driver):
    big, n = pair_of_big.invoke(3 << 20)   # over 1 MiB: the item goes through shared memory
    assert yr.get(add.invoke(n, 1)) == (3 << 20) + 1
    assert yr.get(big) == b"x" * (3 << 20)
    assert yr.get(add.invoke(three.invoke(2)[2], [7])) == [2, 7]


def test_a_count_mismatch_is_an_error_at_get_naming_both_counts(driver):
    refs = too_few.invoke()
    assert len(refs) == 3
    for r in refs:
        with pytest.raises(yr.YRValueError, match=r"return_nums=3 but returned 2 values"):
            yr.get(r)
    with pytest.raises(yr.YRValueError, match=r"return_nums=2 but returned one str"):
        yr.get(not_a_tuple.invoke()[1])


def test_an_error_of_the_call_reaches_every_ref(driver):
    for r in fails_before_returning.invoke():
        with pytest.raises(KeyError, match="no pair"):
            yr.get(r)


def test_zero_returns_gives_none_and_still_runs(driver, tmp_path):
    path = tmp_path / "ran"
    assert touch.invoke(str(path)) is None
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, "the return_nums=0 call never ran"
        time.sleep(0.01)


def test_return_nums_is_checked_as_openyuanrong_does():
    with pytest.raises(TypeError, match="return_nums"):
        yr.invoke(return_nums="2")(lambda: 1)
    with pytest.raises(TypeError, match="return_nums"):
        yr.method(return_nums=2.0)
    for bad in (-1, 101):
        with pytest.raises(ValueError, match=r"return_nums.*\[0, 100\]"):
            yr.invoke(return_nums=bad)
    with pytest.raises(ValueError, match="not supported"):
        yr.method(concurrency_group="g")
    assert yr.invoke(return_nums=100)(lambda: 1) is not None


def test_method_with_several_returns(driver):
    p = Pairs.invoke()
    a, b = p.swap.invoke(1, "z")
    assert yr.get([a, b]) == ["z", 1]
    assert p.bump.invoke() is None and p.bump.invoke() is None
    assert yr.get(p.count.invoke()) == 2   # the return_nums=0 calls ran, in order
    for r in p.wrong.invoke():
        with pytest.raises(yr.YRValueError, match=r"Pairs.wrong declares return_nums=2 but returned 3 values"):
            yr.get(r)
    p.terminate()


@yr.invoke
def swap_through_handle(handle):
    a, b = handle.swap.invoke("x", "y")
    return yr.get([a, b]), [yr.get(r) for r in handle.items.invoke(3)]


def test_a_passed_handle_keeps_the_shapes_of_its_methods(driver):
    p = Pairs.invoke()
    assert yr.get(swap_through_handle.invoke(p)) == (["y", "x"], [0, 1, 4])
    p.terminate()


# ---- generators ----------------------------------------------------------------------------
def test_generator_function_returns_an_object_ref_generator(driver):
    gen = squares.invoke(5)
    assert isinstance(gen, yr.ObjectRefGenerator)
    refs = list(gen)
    assert all(isinstance(r, yr.ObjectRef) for r in refs)
    assert yr.get(refs) == [0, 1, 4, 9, 16]
    assert values(squares.invoke(200)) == [i * i for i in range(200)]
    assert values(nothing.invoke()) == []
    assert values(async_squares.invoke(4)) == [0, 1, 4, 9]


def test_items_arrive_while_the_generator_still_runs(driver, tmp_path):
    """Streaming: the generator yields its second item only after the driver received the
    first (it waits for a file the driver creates): a stream delivered at the end would hang."""
    for i, make in enumerate((lambda f: waits_for_flag.invoke(f),
                              lambda f: Pairs.invoke().wait_between.invoke(f))):
        flag = tmp_path / f"got-first-{i}"
        gen = make(str(flag))
        first = next(gen)
        assert yr.get(first, timeout=60) == "first"
        flag.touch()
        assert values(gen) == ["second"]


def test_generator_methods_sync_and_async(driver):
    p = Pairs.invoke()
    assert values(p.items.invoke(4)) == [0, 1, 4, 9]
    assert values(p.async_items.invoke(3)) == ["a0", "a1", "a2"]
    c = Pairs.options(concurrency=4).invoke()   # calls on threads: each streams its own items
    gens = [c.items.invoke(n) for n in (3, 5, 0)]
    assert [values(g) for g in gens] == [[0, 1, 4], [0, 1, 4, 9, 16], []]
    p.terminate()
    c.terminate()


def test_error_mid_stream_arrives_as_the_next_item_then_iteration_stops(driver):
    gen = fails_at.invoke(2)
    refs = list(gen)
    assert len(refs) == 3
    assert yr.get(refs[:2]) == [0, 1]
    with pytest.raises(ValueError, match="broke after 2"):
        yr.get(refs[2])
    with pytest.raises(StopIteration):
        next(gen)
    refs = list(unpicklable_item.invoke())
    assert yr.get(refs[0]) == 1
    with pytest.raises(yr.YRError, match="item 1 of unpicklable_item cannot be serialized"):
        yr.get(refs[1])


def test_a_worker_dying_mid_stream_ends_the_stream_with_its_error(driver):
    refs = list(dies_mid_stream.invoke())
    assert yr.get(refs[0]) == 1
    with pytest.raises(yr.InstanceDiedError, match="exit code 3|exited|died"):
        yr.get(refs[1])
    assert values(squares.invoke(2)) == [0, 1]   # the pool serves later calls


def test_async_for_over_a_generator(driver):
    async def collect():
        return [await ref async for ref in squares.invoke(4)]
    assert asyncio.run(collect()) == [0, 1, 4, 9]


# ---- the stream's pairing of filled and taken slots, without a runtime -----------------------
def test_stream_pairs_items_with_takers_whichever_comes_first():
    from yr import _protocol as P
    from yr._results import ObjectRefGenerator, _Stream
    from yr.object_ref import _Slot
    from yr import _serialization, object_ref
    stream = _Stream()
    end = _Slot()
    call = stream.make_call(P.FUNC, "f:k", (), {}, end, None, retries=5)
    assert call.kind == P.SFUNC and call.retries == 0   # streams are never retried
    gen = ObjectRefGenerator(stream)
    early = stream.take()            # the consumer asks before the item arrives
    call.item(_serialization.dumps("a"))
    assert early.done and early.value() == "a"
    call.item(_serialization.dumps("b"))   # the item arrives before the consumer asks
    call.item(_serialization.dumps("c"))
    end.set_body(_serialization.dumps(None))   # the end
    assert [object_ref.get(r) for r in gen] == ["b", "c"]
    with pytest.raises(StopIteration):
        next(gen)
    assert stream._slots == {}   # nothing kept once both sides saw a slot


def test_stream_error_is_the_last_item():
    from yr import _protocol as P
    from yr._results import ObjectRefGenerator, _Stream
    from yr.object_ref import _Slot
    from yr import _serialization, object_ref
    stream = _Stream()
    end = _Slot()
    call = stream.make_call(P.CALL, "m", (), {}, end, None)
    assert call.kind == P.SCALL
    call.item(_serialization.dumps(1))
    end.set_error(yr.InstanceDiedError("gone"))
    refs = list(ObjectRefGenerator(stream))
    assert object_ref.get(refs[0]) == 1
    with pytest.raises(yr.InstanceDiedError, match="gone"):
        object_ref.get(refs[1])
