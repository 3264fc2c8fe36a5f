"""The streams core (yr_runtime.core.streams): no sockets, a hand-moved clock, futures as waiters."""
import math
from concurrent.futures import Future

import pytest

from yr_runtime.core.streams import StreamError, Streams
from yr_runtime.wire.errors import ErrorCode

KB = 1024


def send(st, pid, elements, now=0.0, deadline=math.inf):
    f = Future()
    st.send(pid, elements, f, now, deadline)
    return f


def recv(st, cid, expect=None, now=0.0, deadline=0.0, max_bytes=1 << 20):
    f = Future()
    st.receive(cid, expect, f, now, deadline, max_bytes)
    return f


def test_every_subscription_receives_every_element_in_order():
    st = Streams()
    st.create_producer("p1", "j", "s")
    st.create_producer("p2", "j", "s")
    st.create_consumer("c1", "j", "s", "sub1")
    st.create_consumer("c2", "j", "s", "sub2")
    assert st.producers_num("s") == 2 and st.consumers_num("s") == 2
    assert send(st, "p1", [b"a", b"b"]).result(0) == 2
    assert send(st, "p2", [b"c"]).result(0) == 3
    assert recv(st, "c1").result(0) == [(1, b"a"), (2, b"b"), (3, b"c")]
    assert recv(st, "c2", expect=2).result(0) == [(1, b"a"), (2, b"b")]
    assert recv(st, "c2").result(0) == [(3, b"c")]


def test_a_receive_waits_for_expect_num_or_answers_what_there_is_at_its_deadline():
    st = Streams()
    st.create_producer("p", "j", "s")
    st.create_consumer("c", "j", "s", "sub")
    f = recv(st, "c", expect=2, now=0.0, deadline=5.0)
    send(st, "p", [b"1"])
    assert not f.done()
    st.expire(5.0)
    assert f.result(0) == [(1, b"1")]
    g = recv(st, "c", now=5.0, deadline=9.0)
    st.expire(9.0)
    assert g.result(0) == []             # a timeout is not an error
    h = recv(st, "c", expect=1, now=9.0, deadline=20.0)
    send(st, "p", [b"2"])
    assert h.result(0) == [(2, b"2")]


def test_back_pressure_blocks_sends_until_acks_free_room_and_times_out():
    st = Streams()
    st.create_producer("p", "j", "s", max_stream_size=64 * KB)
    st.create_consumer("c", "j", "s", "sub")
    page = b"x" * (32 * KB)
    assert send(st, "p", [page, page]).result(0) == 2      # full now
    blocked = send(st, "p", [page], now=0.0, deadline=10.0)
    later = send(st, "p", [b"y"], now=0.0, deadline=10.0)  # queued behind, though it would fit
    assert not blocked.done() and not later.done()
    assert [i for i, _ in recv(st, "c", expect=2).result(0)] == [1, 2]
    assert not blocked.done()            # received but not acked: still held
    st.ack("c", 1)
    assert blocked.result(0) == 3 and not later.done()   # 32 KiB freed: room for one page only
    st.ack("c", 2)
    assert later.result(0) == 4
    timed_out = send(st, "p", [page], now=1.0, deadline=2.0)
    st.expire(2.0)
    err = timed_out.result(0)
    assert isinstance(err, StreamError) and err.kind == ErrorCode.ERR_GET_OPERATION_FAILED
    assert "is full" in str(err)
    assert [i for i, _ in recv(st, "c").result(0)] == [3, 4]   # the timed-out send was not accepted
    with pytest.raises(StreamError, match="do not fit"):
        send(st, "p", [b"z" * (65 * KB)])
    st.ack("c", 4)
    send(st, "p", [page, page])
    now = send(st, "p", [b"w"], now=5.0, deadline=5.0)   # no wait asked for: answered at once
    assert isinstance(now.result(0), StreamError) and not st.streams["s"].sends


def test_without_subscriptions_elements_are_dropped_unless_retained():
    st = Streams()
    st.create_producer("p", "j", "plain", max_stream_size=64 * KB)
    for _ in range(10):   # never blocks: nobody holds them
        assert send(st, "p", [b"x" * (32 * KB)]).done()
    st.create_consumer("late", "j", "plain", "sub")
    assert recv(st, "late").result(0) == []
    st.create_producer("r", "j", "kept", retain_for_num_consumers=2)
    send(st, "r", [b"a", b"b"])
    st.create_consumer("c1", "j", "kept", "s1")
    st.create_consumer("c2", "j", "kept", "s2")
    st.create_consumer("c3", "j", "kept", "s3")   # the third comes after the retention
    assert recv(st, "c1").result(0) == [(1, b"a"), (2, b"b")]
    assert recv(st, "c2").result(0) == [(1, b"a"), (2, b"b")]
    assert recv(st, "c3").result(0) == []


def test_acks_are_cumulative_and_bounded_by_what_was_received():
    st = Streams()
    st.create_producer("p", "j", "s")
    st.create_consumer("c", "j", "s", "sub")
    send(st, "p", [b"1", b"2", b"3"])
    with pytest.raises(StreamError, match="received up to 0"):
        st.ack("c", 1)
    recv(st, "c", expect=2).result(0)
    st.ack("c", 2)
    assert st.streams["s"].used == 1


def test_closing_a_consumer_acks_and_ends_its_subscription():
    st = Streams()
    st.create_producer("p", "j", "s", max_stream_size=64 * KB)
    st.create_consumer("c", "j", "s", "sub")
    send(st, "p", [b"x" * (64 * KB)])
    blocked = send(st, "p", [b"y"], deadline=10.0)
    waiting = Future()
    st.close_consumer("c")
    assert blocked.result(0) == 2 and st.consumers_num("s") == 0
    st.create_consumer("c", "j", "s", "sub")   # the name is free again
    assert not waiting.done()


def test_one_consumer_per_subscription_and_one_receive_per_consumer():
    st = Streams()
    st.create_consumer("c", "j", "s", "sub")
    with pytest.raises(StreamError, match="has a consumer already"):
        st.create_consumer("d", "j", "s", "sub")
    recv(st, "c", deadline=10.0)
    with pytest.raises(StreamError, match="receive waiting already"):
        recv(st, "c", deadline=10.0)


def test_delete_is_refused_while_used_and_auto_clean_up_deletes_at_the_last_close():
    st = Streams()
    st.create_producer("p", "j", "s")
    with pytest.raises(StreamError, match="still has 1 producer"):
        st.delete("s")
    st.close_producer("p")
    st.delete("s")
    st.delete("never-made")              # nothing to delete is no error
    assert "s" not in st.streams
    st.create_producer("q", "j", "auto", auto_clean_up=True)
    st.create_consumer("c", "j", "auto", "sub")
    st.close_producer("q")
    assert "auto" in st.streams
    st.close_consumer("c")
    assert "auto" not in st.streams


def test_a_job_that_ends_closes_its_producers_and_consumers():
    st = Streams()
    st.create_producer("p", "job1", "s")
    st.create_consumer("c", "job1", "s", "sub")
    st.create_consumer("d", "job2", "s", "other")
    waiting = recv(st, "c", deadline=10.0)
    st.job_ended("job1")
    assert st.producers_num("s") == 0 and st.consumers_num("s") == 1
    assert isinstance(waiting.result(0), StreamError)
    with pytest.raises(StreamError, match="is closed"):
        send(st, "p", [b"x"])


@pytest.mark.parametrize("name", ["", "a b", "x" * 256, 3])
def test_bad_names_and_configs_are_refused(name):
    st = Streams()
    with pytest.raises(StreamError, match="invalid stream name"):
        st.create_producer("p", "j", name)
    with pytest.raises(StreamError, match="max_stream_size"):
        st.create_producer("p", "j", "s", max_stream_size=1024)
    with pytest.raises(StreamError, match="subscription_name"):
        st.create_consumer("c", "j", "s", "")


def test_a_receive_answer_is_bounded_in_bytes_but_holds_at_least_one_element():
    st = Streams()
    st.create_producer("p", "j", "s")
    st.create_consumer("c", "j", "s", "sub")
    send(st, "p", [b"a" * 100, b"b" * 100, b"c" * 300])
    assert [i for i, _ in recv(st, "c", max_bytes=250).result(0)] == [1, 2]
    assert [i for i, _ in recv(st, "c", max_bytes=250).result(0)] == [3]
