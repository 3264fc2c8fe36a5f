"""Choosing and starting a metadata store: open_store's `--etcd` values, the private etcd of
`--etcd auto` (healthy on loopback, gone with its parent, a clear error without the binary)
and the key layout."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import psutil
import pytest
from yr_testing import ROOT  # noqa: F401  (first: isolates the session root)

from yr_runtime.store import MemoryStore, StoreUnavailable, keys, open_store
from yr_runtime.store import etcd_server
from yr_runtime.store.etcd import EtcdStore


def test_the_default_is_the_embedded_store_with_no_process():
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    store = asyncio.run(open_store("", None))
    assert isinstance(store, MemoryStore)
    assert {p.pid for p in psutil.Process().children(recursive=True)} == before


@pytest.mark.parametrize("spec, message", [
    ("https://10.0.0.1:2379", "only http:// is supported"),
    ("http://10.0.0.1", "is not http://HOST:PORT"),
    ("http://10.0.0.1:2379,ftp://x:1", "only http:// is supported"),
    ("10.0.0.1:99999", "is not http://HOST:PORT"),
    ("http://10.0.0.1:2379/v3/kv", "is not http://HOST:PORT"),
])
def test_a_malformed_etcd_value_is_refused_before_connecting(spec, message):
    with pytest.raises(ValueError, match=message):
        asyncio.run(open_store(spec, None))


def test_auto_needs_a_session_directory():
    with pytest.raises(ValueError, match="session directory"):
        asyncio.run(open_store("auto", None))


def test_unreachable_endpoints_fail_in_bounded_time_naming_them():
    port = etcd_server.free_port()

    async def main():
        return await EtcdStore([f"http://127.0.0.1:{port}", f"127.0.0.1:{port}"], timeout=2).connect()
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{port}"):
        asyncio.run(asyncio.wait_for(main(), 30))


def test_auto_starts_etcd_in_the_session_dir_and_close_stops_it(tmp_path):
    async def main():
        store = await open_store("auto", tmp_path)
        server = [c for c in psutil.Process().children() if c.name() == "etcd"]
        assert len(server) == 1
        assert (tmp_path / etcd_server.DATA_DIR).is_dir()
        assert all(c.laddr.ip == "127.0.0.1" for c in server[0].net_connections("inet") if c.status == "LISTEN")
        k = keys.node_key("c", "n1")
        await store.put(k, b"v")
        assert await store.get(k) == b"v"
        await store.close()
        return server[0]
    proc = asyncio.run(main())
    assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    assert not (tmp_path / etcd_server.DATA_DIR).exists()


def test_etcd_dies_with_the_process_that_started_it(tmp_path):
    """A master killed with SIGKILL must not leave its etcd behind."""
    script = textwrap.dedent(f"""
        import sys, time
        from yr_runtime.store import etcd_server
        server = etcd_server.start({str(tmp_path)!r})
        print(server.proc.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        etcd_pid = int(parent.stdout.readline())
        assert psutil.Process(etcd_pid).name() == "etcd"
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
    assert _exits(etcd_pid, 15), f"etcd {etcd_pid} outlived the process that started it"


def _exits(pid: int, bound: float) -> bool:
    try:
        psutil.Process(pid).wait(bound)   # not our child: init reaps it
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        psutil.Process(pid).kill()
        return False
    return True


def test_a_missing_etcd_binary_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(etcd_server, "_CANDIDATES", (str(tmp_path / "etcd"),))
    with pytest.raises(etcd_server.EtcdMissing, match=r"apt-get install etcd-server"):
        asyncio.run(open_store("auto", tmp_path))


def test_an_etcd_that_cannot_start_fails_with_its_log(monkeypatch, tmp_path):
    fake = tmp_path / "etcd"
    fake.write_text("#!/bin/sh\necho 'etcd: cannot access data directory' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(etcd_server.EtcdStartFailed, match="exited with code 3.*cannot access data directory"):
        etcd_server.start(tmp_path, timeout=10)


def test_keys_are_laid_out_under_the_cluster_and_names_cannot_escape_their_segment():
    assert keys.node_key("c1", "node-1") == "/yr/v1/c1/nodes/node-1"
    assert keys.leader_key("c1") == "/yr/v1/c1/master/leader"
    assert keys.instance_key("c1", "i-1") == "/yr/v1/c1/instances/i-1"
    assert keys.job_key("c1", "j") == "/yr/v1/c1/jobs/j"
    assert keys.name_key("c1", "ns", "a/b") == "/yr/v1/c1/names/ns/a%2Fb"
    assert keys.name_key("c1", "", "x").startswith(keys.names_prefix("c1", ""))
    assert not keys.name_key("c1", "ns", "x").startswith(keys.names_prefix("c1", "n"))
    for ns, name in (("", "plain"), ("a/b", "../x"), ("ns", "100% ü")):
        assert keys.name_of_key(keys.name_key("c1", ns, name)) == (ns, name)
    assert keys.last_segment(keys.node_key("c1", "n/1")) == "n/1"
    with pytest.raises(ValueError, match="node id must not be empty"):
        keys.node_key("c1", "")
    with pytest.raises(TypeError, match="instance id is a str, got int"):
        keys.instance_key("c1", 5)


def test_the_embedded_store_loads_no_etcd_client():
    """The single-machine default pays nothing for etcd: aetcd (and gRPC's asyncio) load only
    when an etcd backend is asked for."""
    out = subprocess.run([sys.executable, "-c", "import sys, asyncio, yr_runtime.store as s; "
                          "asyncio.run(s.open_store('', None)); print('aetcd' in sys.modules)"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
