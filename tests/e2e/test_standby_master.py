"""A standby master (docs/faults.md "Cluster", docs/architecture.md "Partitions and fencing"):
two `yr start --master --etcd URL` on one machine, each with its own session root and port,
share a real etcd the test owns; nodes and a driver name both masters
(`--master_address IP:PORT,IP:PORT`). Real processes and signals throughout."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from test_cluster_faults import DRIVER, etcd_values, start_master, status, wait_for
from test_examples import yr_cli
from yr_testing import wait_no_runtime_processes
from yr_runtime.local import session as sessions
from yr_runtime.store import decode_json, etcd_server, keys

NODE_TTL = "10"   # the leader lease is a third of it: 3 s


def leader(url) -> dict | None:
    got = etcd_values(url, lambda cid: keys.leader_key(cid))
    return decode_json(next(iter(got.values()))) if got else None


def listening(port: int) -> bool:
    return any(c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in psutil.net_connections("tcp"))


@pytest.fixture
def pair(tmp_path):
    """An etcd, a token, two master roots (a, b) with known ports, a root for nodes and drivers."""
    (tmp_path / "etcd-owner").mkdir()
    etcd = etcd_server.start(tmp_path / "etcd-owner")
    token = tmp_path / "token"
    token.write_text(os.urandom(32).hex())
    token.chmod(0o600)
    roots = {k: tmp_path / k for k in ("a", "b", "nodes")}
    ports = {"a": etcd_server.free_port(), "b": etcd_server.free_port()}
    env = {k: {"YR_SESSION_ROOT": str(r)} for k, r in roots.items()}

    def master(which, **kw):
        return subprocess.Popen([sys.executable, "-m", "yr_runtime.cli", "start", "--master", "--cpu", "1000",
                                 "--port", str(ports[which]), "--token-file", str(token), "--etcd", etcd.url,
                                 "--node-lease-ttl", NODE_TTL], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=dict(os.environ, **env[which]))

    def daemon(which):
        return next(i for i in sessions.sessions_of(roots[which]) if not i.joined)
    masters = ",".join(f"127.0.0.1:{ports[k]}" for k in ("a", "b"))
    c = {"etcd": etcd, "token": str(token), "roots": roots, "ports": ports, "env": env, "master": master,
         "daemon": daemon, "masters": masters, "flags": tmp_path}
    try:
        yield c
    finally:
        for k in ("nodes", "a", "b"):
            sessions.remove_stale(roots[k])
            out = yr_cli("stop", env=env[k])
            assert out.returncode == 0 or "no yr runtime is running" in out.stderr, out.stderr
        for k in ("nodes", "a", "b"):
            assert wait_no_runtime_processes(20, root=str(roots[k])) == []
        etcd.stop()


def started(proc) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out


def join(c, node):
    out = yr_cli("start", "--master_address", c["masters"], "--cpu", "2000", "--node-id", node,
                 "--token-file", c["token"], env=c["env"]["nodes"])
    assert out.returncode == 0 and f"yr node {node} joined" in out.stdout, out.stderr


def test_two_masters_started_at_once_exactly_one_leads_and_the_other_stands_by(pair):
    c = pair
    procs = [c["master"]("a"), c["master"]("b")]   # both campaign at once
    for p in procs:
        assert "yr runtime started" in started(p)
    lead = wait_for(lambda: leader(c["etcd"].url))
    which = "a" if lead["address"] == f"127.0.0.1:{c['ports']['a']}" else "b"
    other = "b" if which == "a" else "a"
    assert lead["address"] == f"127.0.0.1:{c['ports'][which]}" and lead["pid"] == c["daemon"](which).pid
    wait_for(lambda: listening(c["ports"][which]))
    assert not listening(c["ports"][other])   # a standby keeps its port closed: clients reach the leader
    assert status(c["env"][which])["nodes"]
    log = Path(c["daemon"](other).session_dir, "logs", "daemon.log").read_text()
    assert "standing by" in log and "this master leads now" not in log
    candidates = etcd_values(c["etcd"].url, keys.candidates_prefix)
    assert len(candidates) == 2   # both campaign; one leads


def test_the_standby_takes_over_after_the_leader_is_killed_and_nodes_and_drivers_follow(pair):
    c = pair
    started(c["master"]("a"))
    wait_for(lambda: listening(c["ports"]["a"]))
    started(c["master"]("b"))
    assert leader(c["etcd"].url)["pid"] == c["daemon"]("a").pid
    for node in ("n1", "n2"):
        join(c, node)
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(c["flags"])], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, **c["env"]["nodes"], ADDR=c["masters"]))
    line = driver.stdout.readline()
    assert line.startswith("READY"), (line, driver.stderr.read() if driver.poll() is not None else "")
    before = {i["instance_id"]: i for i in status(c["env"]["a"])["instances"] if i["class_name"] == "Keeper"}
    assert len(before) == 2 and {i["node_id"] for i in before.values()} == {"n1", "n2"}

    old = c["daemon"]("a").pid
    os.killpg(os.getpgid(old), signal.SIGKILL)   # the leader and its own node, at once
    killed = time.monotonic()
    (c["flags"] / "down").touch()   # the driver keeps calling, and creates one while no master leads
    new = wait_for(lambda: (got := leader(c["etcd"].url)) and got["pid"] != old and got, timeout=60)
    took = time.monotonic() - killed
    assert new["pid"] == c["daemon"]("b").pid and new["address"] == f"127.0.0.1:{c['ports']['b']}"
    print(f"takeover: the standby led {took:.1f}s after the leader was killed")
    sessions.remove_stale(c["roots"]["a"])
    st = wait_for(lambda: (s := status(c["env"]["b"])) and {"n1", "n2"} <= {n["node_id"] for n in s["nodes"]} and s)
    after = [i for i in st["instances"] if i["instance_id"] in before]
    assert len(after) == 2   # reloaded from etcd, adopted from the nodes: the same workers, none restarted
    for i in after:
        was = before[i["instance_id"]]
        assert (i["state"], i["node_id"], i["pid"], i["restarts"]) == ("RUNNING", was["node_id"], was["pid"], 0), i
    (c["flags"] / "up").touch()
    out, err = driver.communicate(timeout=240)
    assert driver.returncode == 0, err
    assert "FAILURES 0" in out and "FAILED" not in out, out   # no call failed across the switch
    assert "CREATED 1" in out and "VALUES True" in out, out   # the create issued meanwhile completed
    assert len([i for i in status(c["env"]["b"])["instances"] if i["class_name"] == "Keeper"]) == 3


def test_a_leader_paused_past_its_lease_steps_down_when_resumed_and_changes_nothing(pair):
    c = pair
    started(c["master"]("a"))
    wait_for(lambda: listening(c["ports"]["a"]))
    started(c["master"]("b"))
    join(c, "n1")
    a = c["daemon"]("a")
    os.kill(a.pid, signal.SIGSTOP)   # hung (its connections stay open): it cannot renew its lease
    try:
        new = wait_for(lambda: (got := leader(c["etcd"].url)) and got["pid"] != a.pid and got, timeout=60)
        assert new["pid"] == c["daemon"]("b").pid
    finally:
        os.kill(a.pid, signal.SIGCONT)
    psutil.Process(a.pid).wait(30)   # resumed, it finds it no longer leads and stops by itself
    log = Path(a.session_dir, "logs", "daemon.log").read_text()
    assert "stepping down as the leader" in log, log[-3000:]
    assert leader(c["etcd"].url)["pid"] == new["pid"]   # (its stale writes are refused: tests/store/test_leadership.py)
    # the node it had is not stopped with it: it registers with the new leader
    n1 = next(i for i in sessions.sessions_of(c["roots"]["nodes"]) if i.node_id == "n1")
    wait_for(lambda: "n1" in {n["node_id"] for n in status(c["env"]["b"])["nodes"]})
    assert psutil.pid_exists(n1.pid)


def test_a_standby_of_a_tls_cluster_serves_with_the_leaders_standby_bundle(pair):
    """--tls: the leader makes the cluster CA and writes standby.bundle; a standby given it
    (and not a node's join bundle, refused by name) serves with a certificate of the same CA,
    so a node that joined the leader with join.bundle registers with it after a takeover."""
    c = pair

    def tls_master(which, token_file):
        return subprocess.Popen([sys.executable, "-m", "yr_runtime.cli", "start", "--master", "--tls", "--cpu", "1000",
                                 "--port", str(c["ports"][which]), "--token-file", str(token_file),
                                 "--etcd", c["etcd"].url, "--node-lease-ttl", NODE_TTL],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, **c["env"][which]))
    started(tls_master("a", c["token"]))
    wait_for(lambda: listening(c["ports"]["a"]))
    session_a = Path(c["daemon"]("a").session_dir)
    copies = {}
    for name in ("join.bundle", "standby.bundle"):   # copied away, as to other machines
        copies[name] = c["flags"] / name
        copies[name].write_bytes((session_a / name).read_bytes())
        copies[name].chmod(0o600)
    wrong = tls_master("b", copies["join.bundle"])
    out, err = wrong.communicate(timeout=120)
    assert wrong.returncode != 0 and "is a join bundle for nodes" in err and "standby.bundle" in err, err
    started(tls_master("b", copies["standby.bundle"]))
    assert leader(c["etcd"].url)["pid"] == c["daemon"]("a").pid
    out = yr_cli("start", "--master_address", c["masters"], "--cpu", "2000", "--node-id", "n1",
                 "--token-file", str(copies["join.bundle"]), env=c["env"]["nodes"])
    assert out.returncode == 0 and "yr node n1 joined" in out.stdout, out.stderr
    assert "n1" in {n["node_id"] for n in status(c["env"]["a"])["nodes"]}

    old = c["daemon"]("a").pid
    os.killpg(os.getpgid(old), signal.SIGKILL)
    new = wait_for(lambda: (got := leader(c["etcd"].url)) and got["pid"] != old and got, timeout=60)
    assert new["pid"] == c["daemon"]("b").pid
    sessions.remove_stale(c["roots"]["a"])
    # the node's TLS channel (CA and master name checked) reaches the standby: it registers again
    wait_for(lambda: "n1" in {n["node_id"] for n in status(c["env"]["b"])["nodes"]}, timeout=60)
    log = Path(c["daemon"]("b").session_dir, "logs", "daemon.log").read_text()
    assert "node n1" in log
