"""yr streams: producers in any process, every subscription receives in order, back-pressure
(a real daemon; producers and consumers in the driver, stateless workers and instances)."""
import threading
import time

import pytest

import yr


def collect(consumer, n, timeout_s=60):
    """The next n elements of a consumer (acking as it goes)."""
    out, deadline = [], time.monotonic() + timeout_s
    while len(out) < n and time.monotonic() < deadline:
        got = consumer.receive(1000, n - len(out))
        if got:
            consumer.ack(got[-1].id)
        out.extend(got)
    return out


@yr.invoke
def produce(stream, tag, n):
    p = yr.create_stream_producer(stream, yr.ProducerConfig(delay_flush_time=-1))
    for i in range(n):
        p.send(yr.Element(f"{tag}{i}".encode()))
    p.close()
    return n


@yr.instance
class Reader:
    def __init__(self, stream, sub):
        self.c = yr.create_stream_consumer(stream, yr.SubscriptionConfig(sub))

    def take(self, n):
        return [bytes(e.data) for e in collect(self.c, n)]

    def ready(self):
        return True

    def close(self):
        self.c.close()
        return True


def test_every_subscription_receives_every_element_in_order(driver):
    c1 = yr.create_stream_consumer("s1", yr.SubscriptionConfig("a"))
    c2 = yr.create_stream_consumer("s1", yr.SubscriptionConfig("b"))
    p = yr.create_stream_producer("s1", yr.ProducerConfig(delay_flush_time=0))
    assert yr.query_global_producers_num("s1") == 1 and yr.query_global_consumers_num("s1") == 2
    for i in range(20):
        p.send(yr.Element(b"e%d" % i))
    want = [b"e%d" % i for i in range(20)]
    for c in (c1, c2):
        got = collect(c, 20)
        assert [bytes(e.data) for e in got] == want
        assert [e.id for e in got] == list(range(1, 21))
    assert c1.receive(0) == []           # nothing more: a timeout is not an error
    p.close()
    c1.close()
    c2.close()
    assert yr.query_global_producers_num("s1") == 0 and yr.query_global_consumers_num("s1") == 0
    yr.delete_stream("s1")


def test_producers_in_workers_reach_consumers_in_instances_and_the_driver(driver):
    reader = Reader.invoke("s2", "in-instance")
    assert yr.get(reader.ready.invoke(), 60)   # subscribed before anything is sent
    mine = yr.create_stream_consumer("s2", yr.SubscriptionConfig("in-driver"))
    assert yr.get([produce.invoke("s2", "x", 30), produce.invoke("s2", "y", 30)], 120) == [30, 30]
    got = [bytes(e.data) for e in collect(mine, 60)]
    theirs = yr.get(reader.take.invoke(60), 120)
    assert sorted(got) == sorted([b"x%d" % i for i in range(30)] + [b"y%d" % i for i in range(30)])
    assert theirs == got                 # both subscriptions see one order
    for tag in (b"x", b"y"):             # and each producer's elements in the order it sent them
        assert [e for e in got if e.startswith(tag)] == [tag + b"%d" % i for i in range(30)]
    assert yr.get(reader.close.invoke())
    mine.close()
    yr.delete_stream("s2")
    reader.terminate()


def test_a_full_stream_blocks_its_producer_until_consumers_ack(driver):
    cfg = yr.ProducerConfig(delay_flush_time=0, page_size=64 << 10, max_stream_size=256 << 10)
    p = yr.create_stream_producer("s3", cfg)
    c = yr.create_stream_consumer("s3", yr.SubscriptionConfig("slow"))
    page = b"p" * (64 << 10)
    for _ in range(4):                   # fills the stream
        p.send(yr.Element(page))
    with pytest.raises(yr.YRTimeoutError, match="'s3' is full"):
        p.send(yr.Element(page), timeout_ms=300)
    sent = threading.Event()

    def blocked_send():
        p.send(yr.Element(b"last"))      # no timeout: waits for room
        sent.set()
    t = threading.Thread(target=blocked_send)
    t.start()
    assert not sent.wait(1.0)            # still blocked: nothing acked
    got = c.receive(5000, 2)
    assert len(got) == 2 and not sent.wait(0.5)   # received is not acked
    c.ack(got[-1].id)
    assert sent.wait(30)
    t.join()
    rest = collect(c, 3)
    assert [len(e.data) for e in rest] == [64 << 10, 64 << 10, 4]   # the timed-out send was not accepted
    p.close()
    c.close()
    yr.delete_stream("s3")


def test_the_producer_buffers_by_page_and_by_delay(driver):
    c = yr.create_stream_consumer("s4", yr.SubscriptionConfig("sub"))
    manual = yr.create_stream_producer("s4", yr.ProducerConfig(delay_flush_time=-1, page_size=4096))
    manual.send(yr.Element(b"a" * 1000))
    assert c.receive(300) == []          # buffered: no auto flush
    manual.send(yr.Element(b"b" * 4000))  # would overflow the page: the buffer goes first
    assert [len(e.data) for e in c.receive(5000, 1)] == [1000]
    manual.close()                       # close flushes
    assert [len(e.data) for e in c.receive(5000, 1)] == [4000]
    timed = yr.create_stream_producer("s4", yr.ProducerConfig(delay_flush_time=50))
    timed.send(yr.Element(b"soon"))
    assert [bytes(e.data) for e in c.receive(10000, 1)] == [b"soon"]   # flushed by the delay
    timed.close()
    c.close()
    yr.delete_stream("s4")


def test_retained_elements_reach_late_consumers(driver):
    p = yr.create_stream_producer("s5", yr.ProducerConfig(delay_flush_time=0, retain_for_num_consumers=1))
    dropped = yr.create_stream_producer("s5b", yr.ProducerConfig(delay_flush_time=0))
    for i in range(3):
        p.send(yr.Element(b"%d" % i))
        dropped.send(yr.Element(b"%d" % i))
    late = yr.create_stream_consumer("s5", yr.SubscriptionConfig("late"))
    assert [bytes(e.data) for e in collect(late, 3)] == [b"0", b"1", b"2"]
    late_b = yr.create_stream_consumer("s5b", yr.SubscriptionConfig("late"))
    assert late_b.receive(200) == []     # sent to nobody: dropped
    for x in (p, dropped, late, late_b):
        x.close()
    yr.delete_stream("s5")
    yr.delete_stream("s5b")


def test_delete_auto_clean_up_and_closed_handles(driver):
    p = yr.create_stream_producer("s6")
    with pytest.raises(yr.YRValueError, match="still has 1 producer"):
        yr.delete_stream("s6")
    p.close()
    p.close()                            # twice is fine
    with pytest.raises(yr.YRRuntimeError, match="is closed"):
        p.send(yr.Element(b"x"))
    yr.delete_stream("s6")
    auto = yr.create_stream_producer("s7", yr.ProducerConfig(auto_clean_up=True))
    c = yr.create_stream_consumer("s7", yr.SubscriptionConfig("sub"))
    with pytest.raises(yr.YRValueError, match="has a consumer already"):
        yr.create_stream_consumer("s7", yr.SubscriptionConfig("sub"))
    auto.close()
    c.close()
    with pytest.raises(yr.YRRuntimeError, match="is closed"):
        c.receive(10)
    assert yr.query_global_producers_num("s7") == 0


def test_bad_configs_are_refused(driver):
    with pytest.raises(yr.YRValueError, match="multiple of 4 KiB"):
        yr.create_stream_producer("s8", yr.ProducerConfig(page_size=5000))
    with pytest.raises(yr.YRValueError, match="max_stream_size"):
        yr.create_stream_producer("s8", yr.ProducerConfig(max_stream_size=1024))
    with pytest.raises(yr.YRValueError, match="encrypt_stream is not supported"):
        yr.create_stream_producer("s8", yr.ProducerConfig(encrypt_stream=True))
    with pytest.raises(yr.YRValueError, match="invalid stream name"):
        yr.create_stream_producer("bad name")
    from yr.stream import SubscriptionType
    with pytest.raises(yr.YRValueError, match="only STREAM"):
        yr.create_stream_consumer("s8", yr.SubscriptionConfig("x", SubscriptionType.ROUND_ROBIN))
    with pytest.raises(yr.YRTypeError, match="SubscriptionConfig"):
        yr.create_stream_consumer("s8", "x")
    p = yr.create_stream_producer("s8", yr.ProducerConfig(max_stream_size=64 << 10))
    with pytest.raises(yr.YRValueError, match="too large"):
        p.send(yr.Element(b"x" * (65 << 10)))
    with pytest.raises(yr.YRTypeError, match="yr.Element"):
        p.send(b"raw")
    p.close()
    yr.delete_stream("s8")


def test_a_driver_that_ends_closes_its_producers_and_consumers(daemon):
    yr.init(daemon.config())
    yr.create_stream_producer("s9")
    yr.create_stream_consumer("s9", yr.SubscriptionConfig("sub"))
    yr.finalize()
    yr.init(daemon.config())
    try:
        deadline = time.monotonic() + 30
        while yr.query_global_producers_num("s9") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert yr.query_global_producers_num("s9") == 0 and yr.query_global_consumers_num("s9") == 0
        yr.delete_stream("s9")
    finally:
        yr.finalize()
