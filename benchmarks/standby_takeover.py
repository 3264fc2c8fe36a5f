"""Takeover time of a standby master (issue 12, item 4), measured on this machine.

    python benchmarks/standby_takeover.py [--node-ttl SECONDS] [--rounds N]

Each round: an etcd of its own, masters A and B (`yr start --master --etcd URL`, own
session roots and ports, one token), a node joined to both (`--master_address A,B`); A
leads. A's process group is killed (SIGKILL). Measured from the signal: B named in
etcd's `master/leader` (it leads), and the node registered with B (`yr status` on B).
Prints one JSON line per round and the medians. Not a test: timings live here.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from yr_runtime.local import session as sessions
from yr_runtime.store import decode_json, etcd_server, keys
from yr_runtime.store.etcd import EtcdStore


def cli(root: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "yr_runtime.cli", *args], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, YR_SESSION_ROOT=str(root)))


def leader_pid(url: str) -> int:
    async def read():
        store = await EtcdStore([url]).connect()
        try:
            got = await store.get(keys.leader_key("default"))
            return decode_json(got)["pid"] if got else 0
        finally:
            await store.close()
    return asyncio.run(read())


def until(what, bound: float = 60.0) -> float:
    start = time.monotonic()
    while not what():
        if time.monotonic() - start > bound:
            raise TimeoutError("not within the bound")
        time.sleep(0.05)
    return time.monotonic()


def logged(text: str, what: str) -> float:
    """The wall time of the first daemon.log line holding `what`."""
    line = next(x for x in text.splitlines() if what in x)
    stamp = re.match(r"(\S+ \S+),(\d+)", line)
    return time.mktime(time.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S")) + int(stamp.group(2)) / 1000


def one_round(tmp: Path, node_ttl: float) -> dict:
    (tmp / "etcd").mkdir()
    etcd = etcd_server.start(tmp / "etcd")
    token = tmp / "token"
    token.write_text(os.urandom(32).hex())
    token.chmod(0o600)
    roots = {k: tmp / k for k in ("a", "b", "nodes")}
    ports = {k: etcd_server.free_port() for k in ("a", "b")}
    try:
        for k in ("a", "b"):
            out = cli(roots[k], "start", "--master", "--cpu", "1000", "--port", str(ports[k]), "--token-file",
                      str(token), "--etcd", etcd.url, "--node-lease-ttl", str(node_ttl), "--dashboard-host", "")
            assert out.returncode == 0, out.stderr
        masters = ",".join(f"127.0.0.1:{ports[k]}" for k in ("a", "b"))
        out = cli(roots["nodes"], "start", "--master_address", masters, "--node-id", "n1", "--token-file", str(token))
        assert out.returncode == 0, out.stderr
        a = next(i for i in sessions.sessions_of(roots["a"]) if not i.joined).pid
        b = next(i for i in sessions.sessions_of(roots["b"]) if not i.joined)
        assert leader_pid(etcd.url) == a
        killed = time.time()
        os.killpg(os.getpgid(a), signal.SIGKILL)
        until(lambda: leader_pid(etcd.url) == b.pid)
        log = Path(b.session_dir, "logs", "daemon.log")
        until(lambda: "node n1 registered" in log.read_text())
        text = log.read_text()
        return {"leader_lease_s": max(3, int(node_ttl // 3)), "node_ttl_s": node_ttl,
                "standby_leads_s": round(logged(text, "this master leads now") - killed, 2),
                "node_registered_s": round(logged(text, "node n1 registered") - killed, 2)}
    except Exception:
        for k in ("a", "b"):
            for log in roots[k].glob("*/logs/daemon.log"):
                print(f"--- {k}: {log}", *log.read_text().splitlines()[-15:], sep="\n", file=sys.stderr)
        raise
    finally:
        sessions.remove_stale(roots["a"])
        for k in ("nodes", "b", "a"):
            cli(roots[k], "stop")
        etcd.stop()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--node-ttl", type=float, default=6.0)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    rows = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="yr-takeover-") as tmp:
            rows.append(one_round(Path(tmp), args.node_ttl))
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"median_standby_leads_s": statistics.median(r["standby_leads_s"] for r in rows),
                      "median_node_registered_s": statistics.median(r["node_registered_s"] for r in rows)}))


if __name__ == "__main__":
    main()
