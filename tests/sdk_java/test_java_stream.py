"""YR.createProducer / YR.subscribe from Java drivers, workers and instances against the real
runtime (programs/com/yrtest/StreamChecks.java), and streams between Python and Java both ways."""
import os

import yr
from yr_testing import receive_at_least, stream_item
from _java_support import NEEDS_JAVA, parse, run_java, wait_no_java_processes

pytestmark = NEEDS_JAVA


def _run(sdk, programs, daemon, mode):
    env = dict(os.environ, YR_SERVER_ADDRESS=str(daemon.session_dir))
    env.pop("YR_BRIDGE_MODULE", None)
    proc = run_java(sdk.classpath(programs), "com.yrtest.StreamChecks", mode, env=env, timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-6000:]}"
    assert wait_no_java_processes() == []
    return proc


def test_streams_java_to_java(sdk, programs, daemon):
    proc = _run(sdk, programs, daemon, "java")
    assert parse(proc.stdout) == {
        "counts": "1,2", "order.a": "ok", "order.b": "ok", "counts.closed": "0,0",
        "large": f"2:{(4 << 20) + 1}:7:0", "timeout.empty": "0", "timeout.partial": "2:one,two", "autoack": "40",
        "page.code": "1001", "encrypt.code": "1001", "roundrobin.code": "1001", "noname.code": "1001",
        "full.code": "4005", "inuse.code": "1001", "expect0.code": "1001", "after_full": "1",
        "closed_producer.code": "9000", "closed_consumer.code": "9000",
        "worker.produced": "300", "worker.instance": "ok", "worker.driver": "ok"}
    assert "multiple of 4 KiB" in proc.stderr and "is full" in proc.stderr
    assert "the producer of stream 'j-err' is closed" in proc.stderr


def test_python_producer_java_consumer(sdk, programs, daemon, driver):
    """A Python producer's elements, kept for the first subscription, reach a Java driver in order."""
    p = yr.create_stream_producer("xl-py2java", yr.ProducerConfig(retain_for_num_consumers=1, auto_clean_up=True))
    for i in range(500):
        p.send(yr.Element(stream_item(i)))
    p.flush()
    assert parse(_run(sdk, programs, daemon, "from_python").stdout) == {"from_python": "ok"}
    p.close()


def test_java_producer_python_consumer(sdk, programs, daemon, driver):
    c = yr.create_stream_consumer("xl-java2py", yr.SubscriptionConfig("py"))
    try:
        assert parse(_run(sdk, programs, daemon, "to_python").stdout) == {"to_python": "sent"}
        got = receive_at_least(c, 501)
        assert [bytes(e.data) for e in got[:500]] == [stream_item(i) for i in range(500)]
        assert bytes(got[500].data) == bytes(3 << 20)
    finally:
        c.close()
    yr.delete_stream("xl-java2py")
