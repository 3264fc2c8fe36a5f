"""KV and streams across nodes: a master and a joined node on one machine over loopback. The
KV store and the streams live in the master, so an instance on the joined node (placed there
by NODE_ID affinity) and the driver on the master's machine share keys and streams."""
import os

import pytest

from yr_testing import run_script
from cluster_of_two import master_and_far


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory):
    yield from master_and_far(tmp_path_factory, "multinode-data")


def test_kv_and_streams_are_shared_across_nodes(two_nodes):
    code = """
import json, os, subprocess, sys, time, yr
yr.init()
on_far = yr.InvokeOptions(cpu=500, memory=100, schedule_affinities=[yr.Affinity(
    yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED,
    [yr.LabelOperator(yr.OperatorType.LABEL_IN, "NODE_ID", ["far"])])])

@yr.instance
class Far:
    def kv(self, key):
        seen = yr.kv_read(key, timeout=60)                     # waits for the driver's write
        yr.kv_write(key + "-back", seen[::-1] * 2)
        return len(seen)
    def produce(self, n):
        p = yr.create_stream_producer("mn", yr.ProducerConfig(delay_flush_time=0, max_stream_size=64 << 10))
        for i in range(n):
            p.send(yr.Element(b"%05d" % i + b"x" * 4000))  # 4 KiB each: 16 fill the stream
        p.close()
        return n
    def consume(self, n):
        c = yr.create_stream_consumer("back", yr.SubscriptionConfig("far"))
        got = []
        while len(got) < n:
            es = c.receive(60000, n - len(got))
            c.ack(es[-1].id)
            got += [bytes(e.data) for e in es]
        c.close()
        return got

far = Far.options(on_far).invoke()
consumer = yr.create_stream_consumer("mn", yr.SubscriptionConfig("driver"))
ref = far.kv.invoke("mn-key")
big = os.urandom(5 << 20)
yr.kv_write("mn-key", big)
print("KV", yr.get(ref, 120) == len(big), yr.kv_read("mn-key-back", 60) == big[::-1] * 2)
st = json.loads(subprocess.run([sys.executable, "-m", "yr_runtime.cli", "status", "--json"],
                               capture_output=True, text=True).stdout)
print("NODE", next(i["node_id"] for i in st["instances"] if i["instance_id"] == far.instance_id))
sent = far.produce.invoke(100)                                 # 100 x 4 KiB through a 64 KiB stream
got = []
while len(got) < 100:
    es = consumer.receive(60000, 10)
    consumer.ack(es[-1].id)
    got += [bytes(e.data[:5]) for e in es]
print("STREAM", yr.get(sent, 120), got == [b"%05d" % i for i in range(100)])
back_consumer_ready = far.consume.invoke(3)   # (an instance runs one call at a time: not before)
deadline = time.monotonic() + 60
while yr.query_global_consumers_num("back") < 1 and time.monotonic() < deadline:
    time.sleep(0.05)
p = yr.create_stream_producer("back", yr.ProducerConfig(delay_flush_time=0))
for w in (b"a", b"b", b"c"):
    p.send(yr.Element(w))
print("BACK", yr.get(back_consumer_ready, 120))
p.close()
consumer.close()
yr.kv_del(["mn-key", "mn-key-back"])
far.terminate()
yr.finalize()
"""
    res = run_script(code, env=two_nodes, timeout=300)
    assert res.returncode == 0, res.stderr[-4000:]
    assert "KV True True" in res.stdout
    assert "NODE far" in res.stdout
    assert "STREAM 100 True" in res.stdout
    assert "BACK [b'a', b'b', b'c']" in res.stdout
