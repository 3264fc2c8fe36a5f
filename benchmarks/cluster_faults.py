"""Detection and recovery times of cluster failures (issue 12), measured on this machine.

    python benchmarks/cluster_faults.py [--ttl SECONDS] [--rounds N] [--ray PYTHON]

Starts `yr start --master --etcd auto --node-lease-ttl TTL` with two joined nodes in a
session root of its own, and for each round: an instance with `recover_retry_times=1`
and one without are placed on a joined node, a call is left in flight on the second, and
the node's process group is killed (SIGKILL) or stopped (SIGSTOP, a hung node, resumed
once declared dead). Measured, from the signal: the in-flight call's InstanceDiedError
(killed only), the master declaring the node dead, and the restartable instance answering
again on another node.
With `--ray PYTHON` (a Python with Ray installed, e.g. /work/rayvenv/bin/python) the same is
measured on Ray in the same run: `ray start --head` on loopback (a temp dir and ports of its
own, token auth with a token of its own) and, per round, a second node `ray start --address`
with a custom resource; an actor with `max_restarts=1` and one without are placed on it
(soft node affinity, so that the first can restart on the head), a call is left in flight on
the second, and the second node's process group (its raylet, agents and workers) is killed.
Measured, from the signal: the in-flight call's error, `ray.nodes()` showing the node dead,
and the restartable actor answering again (on the head). Every Ray process started here is
stopped at the end (by process group and by the temp dir in its command line), and checked.
Prints one JSON line per round and a summary. Not a test: timings live here.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
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
yr.init()
master = yr._context.current().master
def alive_nodes():   # asked in this process, as the Ray probe asks ray.nodes()
    return {n.node_id for n in master.status().nodes}
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
out = {"how": how, "system": "yr"}
if how == "kill":
    try:
        yr.get(ref, timeout=120)
    except yr.exceptions.InstanceDiedError:
        out["in_flight_error_s"] = time.monotonic() - t0
while node in alive_nodes():
    time.sleep(0.05)
out["declared_dead_s"] = time.monotonic() - t0
if how == "stop":   # a call on a worker that hangs hangs too: it learns of the move when its node resumes
    os.killpg(pgid, signal.SIGCONT)
yr.get(keep.inc.invoke(), timeout=120)
out["restarted_answers_s"] = time.monotonic() - t0
print("RESULT", json.dumps(out), flush=True)
yr.finalize()
"""


RAY_PROBE = r"""
import json, os, signal, sys, time
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
address, pgid = sys.argv[1], int(sys.argv[2])
ray.init(address=address, logging_level="ERROR", log_to_driver=False)
far = next(n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("far"))

@ray.remote(num_cpus=0)
class Keeper:
    def __init__(self): self.n = 0
    def inc(self):
        self.n += 1
        return self.n
    def nap(self, s):
        time.sleep(s)
        return s
    def node(self): return ray.get_runtime_context().get_node_id()

there = NodeAffinitySchedulingStrategy(far, soft=True)   # soft: the restart may go to the head

def on_far(**opts):
    # a soft affinity is a preference: right after the node joined it may still land on the head
    for _ in range(30):
        a = Keeper.options(scheduling_strategy=there, **opts).remote()
        if ray.get(a.node.remote(), timeout=120) == far:
            return a
        ray.kill(a)
        time.sleep(0.5)
    raise SystemExit("could not place an actor on the far node")

keep = on_far(max_restarts=1, max_task_retries=-1)
plain = on_far(max_restarts=0)
ref = plain.nap.remote(300)
time.sleep(0.5)   # the nap runs
t0 = time.monotonic()
os.killpg(pgid, signal.SIGKILL)
out = {"how": "kill", "system": "ray"}
try:
    ray.get(ref, timeout=300)
except ray.exceptions.RayActorError:
    out["in_flight_error_s"] = time.monotonic() - t0
while any(n["NodeID"] == far and n["Alive"] for n in ray.nodes()):
    time.sleep(0.05)
out["declared_dead_s"] = time.monotonic() - t0
ray.get(keep.inc.remote(), timeout=300)   # retried by Ray until the actor is back
out["restarted_answers_s"] = time.monotonic() - t0
out["restarted_on"] = "head" if ray.get(keep.node.remote(), timeout=60) != far else "far"
print("RESULT", json.dumps(out), flush=True)
ray.shutdown()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_node_ports() -> list:
    """The ports of one Ray node on this machine: two nodes cannot share the defaults."""
    return [arg for flag in ("--node-manager-port", "--object-manager-port", "--dashboard-agent-listen-port",
                             "--dashboard-agent-grpc-port", "--metrics-export-port", "--runtime-env-agent-port")
            for arg in (flag, str(free_port()))]


def ray_start(ray: str, args: list, env: dict, groups: list) -> int:
    """`ray start ARGS` in a process group of its own (the node's daemons inherit it); its id."""
    proc = subprocess.Popen([ray, "start", "--node-ip-address", "127.0.0.1", "--disable-usage-stats", *args],
                            env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    groups.append(proc.pid)
    out, _ = proc.communicate(timeout=180)
    if proc.returncode != 0:
        raise RuntimeError(f"ray start {' '.join(args[:2])} failed:\n{out[-2000:]}")
    return proc.pid


def ray_processes(temp: str, groups: list) -> list:
    """The live processes of the Ray nodes started here: in their process groups, or naming
    their temp dir (psutil: this benchmark runs with yr's test dependencies)."""
    import psutil
    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if p.pid != os.getpid() and (os.getpgid(p.pid) in groups or temp in " ".join(p.info["cmdline"] or ())):
                if p.status() != psutil.STATUS_ZOMBIE:
                    found.append(p)
        except (psutil.Error, ProcessLookupError):
            continue
    return found


def ray_stop(temp: str, groups: list) -> list:
    """Stops every Ray process started here (SIGTERM, then SIGKILL after 15 s); the leftovers."""
    import psutil
    procs = ray_processes(temp, groups)
    for p in procs:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=15)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)
    time.sleep(0.5)
    return [f"{p.pid} {' '.join(p.cmdline())[:120]}" for p in ray_processes(temp, groups)]


def ray_rounds(python: str, rounds: int) -> list:
    ray = str(Path(python).parent / "ray")
    temp = tempfile.mkdtemp(prefix="rayf-")   # short: Ray's socket paths must stay short
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "YR_SESSION_ROOT")}
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    groups, results = [], []
    head = f"127.0.0.1:{free_port()}"
    try:
        ray_start(ray, ["--head", "--temp-dir", temp, "--port", head.split(":")[1], "--num-cpus", "1",
                        "--include-dashboard", "false", "--dashboard-port", str(free_port()), *ray_node_ports()],
                  env, groups)
        for r in range(rounds):
            pgid = ray_start(ray, ["--address", head, "--num-cpus", "1", "--resources", '{"far": 1}',
                                   *ray_node_ports()], env, groups)
            res = subprocess.run([python, "-c", RAY_PROBE, head, str(pgid)], capture_output=True, text=True,
                                 env=env, timeout=900)
            line = next((x for x in res.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                print(f"ray round {r}: no result\n{res.stderr[-3000:]}", file=sys.stderr)
                continue
            results.append(json.loads(line.split(" ", 1)[1]))
            print(json.dumps(results[-1]))
    finally:
        left = ray_stop(temp, groups)
        print(f"ray: stopped every process started here; left: {left or 'none'}", file=sys.stderr)
        if not left:
            shutil.rmtree(temp, ignore_errors=True)
    return results


def yr(*args, env):
    return subprocess.run([sys.executable, "-m", "yr_runtime.cli", *args], capture_output=True, text=True,
                          env=dict(os.environ, **env), timeout=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ttl", type=float, default=6.0, help="--node-lease-ttl (default 6, yr's default)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ray", metavar="PYTHON", help="also measure Ray, with this Python (Ray installed)")
    ap.add_argument("--only-ray", action="store_true", help="with --ray: measure Ray alone")
    args = ap.parse_args()
    results = [] if args.only_ray else yr_rounds(args)
    if args.ray:
        results += ray_rounds(args.ray, args.rounds)
    for system in ("yr", "ray"):
        for how in ("kill", "stop"):
            rows = [x for x in results if x["how"] == how and x["system"] == system]
            for key in ("in_flight_error_s", "declared_dead_s", "restarted_answers_s"):
                vals = [x[key] for x in rows if key in x]
                if vals:
                    print(f"{system:3s} {how:5s} {key:22s} median {statistics.median(vals):6.2f}s  "
                          f"max {max(vals):6.2f}s  (n={len(vals)})")


def yr_rounds(args) -> list:
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
    return results


if __name__ == "__main__":
    main()
