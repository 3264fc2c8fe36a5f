"""YR::CreateProducer / YR::Subscribe against the real runtime: one scenario of
tests/sdk_cpp/cpp/stream_test.cpp per test (order through two subscriptions with back-pressure,
large elements, receive timeouts, autoAck, errors, a C++ worker and instance), and streams
between Python and C++ both ways."""
from __future__ import annotations

import re

import pytest

import yr
from yr_testing import receive_at_least, stream_item


def _ok(proc, name):
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    assert proc.stdout.rstrip().endswith(f"PASS {name}")


@pytest.mark.parametrize("name", ["order", "large", "timeout", "autoack", "errors", "worker"])
def test_stream(programs_dir, run_cpp, name):
    proc = run_cpp(programs_dir / "stream_test", name, timeout=300)
    _ok(proc, name)
    if name == "errors":
        assert re.search(r"page: code=1001 .*multiple of 4 KiB", proc.stdout)
        assert re.search(r"encrypt: code=1001 .*encrypt_stream is not supported", proc.stdout)
        assert re.search(r"round robin: code=1001 .*only STREAM", proc.stdout)
        assert re.search(r"full: code=4005 .*full", proc.stdout)
        assert re.search(r"closed producer: code=9000 .*producer of stream 'cpp-err' is closed", proc.stdout)
        assert re.search(r"closed consumer: code=9000 .*consumer of stream 'cpp-err' is closed", proc.stdout)


def test_python_producer_cpp_consumer(programs_dir, run_cpp, driver):
    """A Python producer's elements, kept for the first subscription, reach a C++ driver in order."""
    p = yr.create_stream_producer("xl-py2cpp", yr.ProducerConfig(retain_for_num_consumers=1, auto_clean_up=True))
    for i in range(500):
        p.send(yr.Element(stream_item(i)))
    p.flush()
    _ok(run_cpp(programs_dir / "stream_test", "from_python", timeout=300), "from_python")
    p.close()


def test_cpp_producer_python_consumer(programs_dir, run_cpp, driver):
    c = yr.create_stream_consumer("xl-cpp2py", yr.SubscriptionConfig("py"))
    try:
        _ok(run_cpp(programs_dir / "stream_test", "to_python", timeout=300), "to_python")
        got = receive_at_least(c, 501)
        assert [bytes(e.data) for e in got[:500]] == [stream_item(i) for i in range(500)]
        assert bytes(got[500].data) == b"L" * (3 << 20)
        assert [e.id for e in got] == sorted(e.id for e in got)
    finally:
        c.close()
    yr.delete_stream("xl-cpp2py")
