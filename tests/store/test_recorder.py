"""The recorder (runtime/yr_runtime/recorder.py): the master's changes written to the metadata
store off the call path, on the embedded store and on a real etcd; read back by a restarted
master; queued and retried (not lost, not crashing) while etcd is stopped with SIGSTOP."""
from __future__ import annotations

import asyncio
import os
import signal
from concurrent.futures import Future

import pytest
from yr_testing import runtime_processes  # noqa: F401  (first: isolates the session root)

from yr_runtime.core import cluster as c
from yr_runtime.core.resources import Resources
from yr_runtime.master import Master
from yr_runtime.node.link import NodeStatus
from yr_runtime.recorder import Recorder
from yr_runtime.store import MemoryStore, decode_json, keys
from yr_runtime.store import etcd_server
from yr_runtime.store.etcd import EtcdStore
from yr_runtime.wire import messages as m

CID = "default"


class FakeNode:
    """A node that records what the master asks (as tests/core/test_master.py's)."""

    def __init__(self, node_id):
        self.node_id, self.calls = node_id, []

    def start_worker(self, assign): self.calls.append(("start", assign.instance_id))
    def stop_worker(self, instance_id, worker_id): self.calls.append(("stop", instance_id))
    def free_job(self, job_id): pass
    def forget_state(self, instance_id): pass
    def status(self): return NodeStatus(self.node_id, 0)
    def lost(self): pass
    async def shutdown(self): pass


def instance(iid, **kw):
    return c.Instance(id=iid, job_id="j1", resources=Resources(500, 100), class_name="C",
                      payload=m.Assign(instance_id=iid, job_id="j1", class_name="C", code=b"\x00\xffcode"), **kw)


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    server = etcd_server.start(tmp_path_factory.mktemp("etcd-session"))
    yield server
    server.stop()


async def _open(kind, etcd_url, timeout=5.0):
    return MemoryStore() if kind == "memory" else await EtcdStore([etcd_url], timeout=timeout).connect()


def _master(recorder):
    master = Master(lambda: 0.0, recorder=recorder, node_ttl=2)
    node = FakeNode("n1")
    master.add_node(node, Resources(4000, 4000), {"zone": "a"}, leased=True, info={"host": "h", "labels": {"zone": "a"}})
    return master, node


@pytest.mark.parametrize("kind", ["memory", "etcd"])
def test_instances_names_nodes_and_jobs_reach_the_store_and_come_back(kind, etcd):
    async def main():
        store = await _open(kind, etcd.url)
        for k, _ in await store.range(keys.cluster_prefix(CID)):   # (the module's etcd is shared)
            await store.delete(k)
        rec = Recorder(2)
        rec.use(store)
        master, node = _master(rec)
        master.open_session("j1", asyncio.Queue())
        named = instance("a", recover_retry_times=1, name="svc", namespace="ns", labels=("x",))
        master.create(named, Future())
        master.worker_assigned("a", "w-a", 7, "tcp:h:1")
        master.initialized("a", None)
        master.create(instance("b"), Future())
        assert await rec.flush()
        got = dict(await store.range(keys.cluster_prefix(CID)))
        rec_a = decode_json(got[keys.instance_key(CID, "a")])
        assert rec_a["state"] == "RUNNING" and rec_a["node_id"] == "n1" and rec_a["endpoint"] == "tcp:h:1"
        assert rec_a["epoch"] == 1 and rec_a["labels"] == ["x"]
        assert decode_json(got[keys.name_key(CID, "ns", "svc")]) == "a"
        assert decode_json(got[keys.node_key(CID, "n1")])["labels"] == {"zone": "a"}
        assert keys.job_key(CID, "j1") in got

        restored, jobs = await rec.load()   # what a restarted master reads
        assert {i.id for i in restored} == {"a", "b"} and jobs == ["j1"]
        (ra,) = [i for i in restored if i.id == "a"]
        assert (ra.name, ra.namespace, ra.state, ra.worker_id, ra.payload) == ("svc", "ns", "RUNNING", "w-a", named.payload)

        master.terminate("b")
        master.remove_node("n1", "its node n1 was lost (a test)")   # a dies too: no restart fits elsewhere
        master.close_session("j1", False)
        assert await rec.flush()
        assert await store.range(keys.cluster_prefix(CID)) == []   # dead instances, their names, node, job: gone
        await store.close()
    asyncio.run(main())


def test_a_stopped_etcd_queues_the_changes_and_they_are_written_when_it_is_back(etcd, caplog):
    async def main():
        store = await _open("etcd", etcd.url, timeout=0.5)
        rec = Recorder(2)
        rec.use(store)
        master, node = _master(rec)
        assert await rec.flush()
        os.kill(etcd.proc.pid, signal.SIGSTOP)
        try:
            master.create(instance("late"), Future())   # the master is not held up by the store
            assert master.cluster.instances["late"].state == c.STARTING
            assert not await rec.flush(give_up_after=1.5)
            assert rec.queued >= 1
        finally:
            os.kill(etcd.proc.pid, signal.SIGCONT)
        assert await rec.flush(give_up_after=30)
        assert await store.get(keys.instance_key(CID, "late")) is not None
        master.remove_node("n1", "done")
        assert await rec.flush()
        await store.close()
    asyncio.run(main())
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "the metadata store is unreachable" in said and "changes wait" in said
    assert "the metadata store answers again" in said
