"""Detection and recovery times of cluster failures (issue 12), measured on this machine.

    python benchmarks/cluster_faults.py [--ttl SECONDS] [--rounds N]

Starts `yr start --master --etcd auto --node-lease-ttl TTL` with two joined nodes in a
session root of its own, and for each round: an instance with `recover_retry_times=1`
and one without are placed on a joined node, a call is left in flight on the second, and
the node's process group is killed (SIGKILL) or stopped (SIGSTOP, a hung node, resumed
once declared dead). Measured, from the signal: the in-flight call's InstanceDiedError
(killed only), the master declaring the node dead, and the restartable instance answering
again on another node.
Prints one JSON line per round and a summary. Not a test: timings live here.
"""
from __future__ import annotations

import argparse
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

PROBE = r"""
import json, os, signal, sys, time
from pathlib import Path
import yr
from yr_runtime.local import session as sessions
node, how = sys.argv[1], sys.argv[2]
def status():
    out = subprocess.run([sys.executable, "-m", "yr_runtime.cli", "status", "--json"], capture_output=True, text=True)
    return json.loads(out.stdout)
import subprocess
yr.init()
rule = yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.PREFERRED,
                   [yr.LabelOperator(yr.OperatorType.LABEL_IN, "NODE_ID", [node])])
@yr.instance
class Keeper:
    def __init__(self): self.n = 0
    def inc(self):
        self.n += 1
        yr.save_state()
        return self.n
    def nap(self, s):
        time.sleep(s)
        return s
keep = Keeper.options(cpu=500, recover_retry_times=1, schedule_affinities=[rule]).invoke()
plain = Keeper.options(cpu=500, schedule_affinities=[rule]).invoke()
yr.get([keep.inc.invoke(), plain.inc.invoke()])
ref = plain.nap.invoke(300)
info = next(i for i in sessions.sessions_of(Path(os.environ["YR_SESSION_ROOT"])) if i.node_id == node)
pgid = os.getpgid(info.pid)
t0 = time.monotonic()
os.killpg(pgid, signal.SIGKILL if how == "kill" else signal.SIGSTOP)
out = {"how": how}
if how == "kill":
    try:
        yr.get(ref, timeout=120)
    except yr.exceptions.InstanceDiedError:
        out["in_flight_error_s"] = time.monotonic() - t0
while node in {n["node_id"] for n in status()["nodes"]}:
    time.sleep(0.05)
out["declared_dead_s"] = time.monotonic() - t0
if how == "stop":   # a call on a worker that hangs hangs too: it learns of the move when its node resumes
    os.killpg(pgid, signal.SIGCONT)
yr.get(keep.inc.invoke(), timeout=120)
out["restarted_answers_s"] = time.monotonic() - t0
print("RESULT", json.dumps(out), flush=True)
yr.finalize()
"""


def yr(*args, env):
    return subprocess.run([sys.executable, "-m", "yr_runtime.cli", *args], capture_output=True, text=True,
                          env=dict(os.environ, **env), timeout=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ttl", type=float, default=6.0, help="--node-lease-ttl (default 6, yr's default)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="yr-bench-faults-")) / "sessions"
    env = {"YR_SESSION_ROOT": str(root)}
    out = yr("start", "--master", "--cpu", "1000", "--etcd", "auto", "--node-lease-ttl", str(args.ttl), env=env)
    address = re.search(r"yr start --master_address (\S+)", out.stdout).group(1)
    results = []
    try:
        for r in range(args.rounds):
            for how in ("kill", "stop"):
                node = f"b{r}{how}"
                for n in (node, node + "-spare"):
                    yr("start", "--master_address", address, "--cpu", "2000", "--node-id", n, env=env)
                res = subprocess.run([sys.executable, "-c", PROBE, node, how], capture_output=True, text=True,
                                     env=dict(os.environ, **env), timeout=600)
                line = next((x for x in res.stdout.splitlines() if x.startswith("RESULT ")), None)
                if line is None:
                    print(f"round {r} {how}: no result\n{res.stderr[-2000:]}", file=sys.stderr)
                    continue
                results.append(json.loads(line.split(" ", 1)[1]))
                print(json.dumps(dict(results[-1], ttl=args.ttl)))
                yr("stop", "--node", node + "-spare", env=env)
    finally:
        yr("stop", env=env)
    for how in ("kill", "stop"):
        rows = [x for x in results if x["how"] == how]
        for key in ("in_flight_error_s", "declared_dead_s", "restarted_answers_s"):
            vals = [x[key] for x in rows if key in x]
            if vals:
                print(f"{how:5s} {key:22s} median {statistics.median(vals):6.2f}s  max {max(vals):6.2f}s  (n={len(vals)})")


if __name__ == "__main__":
    main()
