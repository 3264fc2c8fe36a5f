"""Node chaos soak: a joined node other than the master's is SIGKILLed (its whole process
group) every 10-20 s under steady traffic to instances with `recover_retry_times`; each killed
node is started again (same id, once the master has let it go) so capacity comes back.

Reduced in CI (~35 s, 2-3 kills); the full run is
`YR_SOAK_SECONDS=180 python -m pytest tests/e2e/test_node_soak.py` (docs/faults.md).

The contract checked is docs/faults.md's for restarts: a call acknowledged to its caller has
its effect in the instance's state (the state is saved after every call, and a restart
resumes from the last saved state); a call in flight at a death is requeued and may run
again (at least once). So each caller, calling sequentially with its own sequence numbers,
must find in every instance's log its acknowledged numbers in order, each present, a number
repeated only right after itself (the requeued call), and no more repeats than restarts.
Afterwards no process, socket file or shared-memory segment of the cluster is left.
A node that stops by itself meanwhile (its lease missed under CPU starvation) must say that
its lease was why; it is started again and reported (`rejoin_the_fenced`, tested on its own
with a node stopped past its lease).
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from cluster_cli import status
from test_examples import yr_cli
from yr_testing import leftover_files, wait_no_runtime_processes
from yr_runtime.local import session as sessions

SOAK_SECONDS = float(os.environ.get("YR_SOAK_SECONDS", "35"))
NODES = ("n1", "n2", "n3")
TTL = 2

DRIVER = """
import json, os, sys, threading, time
import yr
yr.init(yr.Config(server_address=os.environ["ADDR"]))
flags = sys.argv[1]
not_master = [yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED,
                          [yr.LabelOperator(yr.OperatorType.LABEL_NOT_IN, "NODE_ID", ["node-0"])])]

@yr.instance
class Ledger:
    def __init__(self):
        self.log = []
    def record(self, caller, seq):
        self.log.append((caller, seq))
        yr.save_state()
        return seq
    def entries(self):
        return self.log

ledgers = [Ledger.options(yr.InvokeOptions(cpu=500, recover_retry_times=1000, schedule_affinities=not_master)).invoke()
           for _ in range(4)]
yr.get([l.entries.invoke() for l in ledgers], timeout=120)
acked = {c: [] for c in range(3)}     # caller -> [(ledger, seq)] acknowledged, in order
failures = []

def caller(c):
    seq = 0
    while not os.path.exists(flags + "/stop"):
        seq += 1
        i = seq % len(ledgers)
        try:
            assert yr.get(ledgers[i].record.invoke(c, seq), timeout=120) == seq
            acked[c].append((i, seq))
        except Exception as e:   # a failure is a finding: restarts are unlimited
            failures.append(f"caller {c} seq {seq} on ledger {i}: {type(e).__name__}: {e}")
print("READY", flush=True)
threads = [threading.Thread(target=caller, args=(c,)) for c in acked]
for t in threads: t.start()
for t in threads: t.join()
logs = yr.get([l.entries.invoke() for l in ledgers], timeout=120)
print("RESULT", json.dumps({"acked": acked, "logs": logs, "failures": failures}), flush=True)
yr.finalize()
"""


def check_ledgers(acked: dict, logs: list, restarts: int) -> int:
    """The contract above, as a pure check; returns the number of repeated entries."""
    repeats = 0
    for c, calls in acked.items():
        for i, log in enumerate(logs):
            seqs = [s for cc, s in log if cc == int(c)]
            distinct = [s for k, s in enumerate(seqs) if k == 0 or seqs[k - 1] != s]
            assert distinct == sorted(set(distinct)), f"caller {c} out of order on ledger {i}: {seqs}"
            repeats += len(seqs) - len(distinct)
            missing = {s for j, s in calls if j == i} - set(seqs)
            assert not missing, f"acknowledged calls of caller {c} lost on ledger {i}: {sorted(missing)}"
    assert repeats <= restarts, (repeats, restarts)
    return repeats


def test_check_ledgers_refuses_what_the_contract_forbids():
    acked = {"0": [(0, 1), (0, 2)]}
    assert check_ledgers(acked, [[(0, 1), (0, 2), (0, 2)]], restarts=1) == 1
    for bad, restarts in (([[(0, 1)]], 1), ([[(0, 2), (0, 1)]], 1), ([[(0, 1), (0, 2), (0, 1)]], 5),
                          ([[(0, 1), (0, 1), (0, 2)]], 0)):
        try:
            check_ledgers(acked, bad, restarts)
        except AssertionError:
            continue
        raise AssertionError(f"{bad} passed")


def join(env, address, node) -> bool:
    out = yr_cli("start", "--master_address", address, "--cpu", "2000", "--node-id", node, env=env)
    return out.returncode == 0 and f"yr node {node} joined" in out.stdout


def restart_node(env, root, address, node, deadline):
    """Starts the killed node again with its id: refused while the master still holds its lease."""
    while not join(env, address, node):
        assert time.monotonic() < deadline, f"node {node} could not join again"
        sessions.remove_stale(Path(root))
        time.sleep(0.5)


def rejoin_the_fenced(env, root, address, fenced: list, nodes=NODES) -> dict:
    """The running nodes by id, after starting again any node of NODES that stopped by itself.
    On this 2-core machine under other runs' load (load average 30-40 seen), a node starved of
    CPU for longer than its 2 s lease misses it: the master declares it dead and the node fences
    itself (docs/faults.md, the partition row), as designed. A full run at load ~35 once died
    looking for a node's session (StopIteration; its logs were gone, so the cause is only
    likely this). Such a node must have said that its lease was the reason (its daemon.log
    "stopping:" line), else this fails showing what it said; it is recorded in `fenced` and
    started again."""
    running = {i.node_id: i for i in sessions.sessions_of(root)}
    for node in nodes:
        if node in running:
            continue
        reasons = [line for log in root.glob("*/logs/daemon.log") for line in log.read_text(errors="replace").splitlines()
                   if "stopping:" in line and "SIGTERM" not in line and line not in {r for _, r in fenced}]
        assert reasons and all("lease" in r or "declared" in r or "heartbeat" in r for r in reasons), \
            f"node {node} stopped by itself, not for its lease: {reasons}"
        fenced.append((node, reasons[-1]))
        restart_node(env, root, address, node, time.monotonic() + 60)
        running = {i.node_id: i for i in sessions.sessions_of(root)}
    return running


def capacity_back(env) -> bool:
    st = status(env)
    alive = {n["node_id"] for n in st["nodes"] if n["state"] == "ALIVE"}
    ledgers = [i for i in st["instances"] if i["class_name"] == "Ledger"]
    return alive >= {"node-0", *NODES} and len(ledgers) == 4 and all(i["state"] == "RUNNING" for i in ledgers)


def test_a_node_that_fenced_itself_is_found_and_started_again(tmp_path):
    """The soak's handling of a node starved past its lease, made on purpose: the node is
    stopped (SIGSTOP) for twice its lease and resumed; the master declared it dead, the node
    stops by itself saying so, and `rejoin_the_fenced` starts it again and records why."""
    root = tmp_path / "sessions"
    env = {"YR_SESSION_ROOT": str(root)}
    out = yr_cli("start", "--master", "--cpu", "1000", "--node-lease-ttl", str(TTL), env=env)
    assert out.returncode == 0, out.stderr
    address = out.stdout.split("yr start --master_address ", 1)[1].split()[0]
    try:
        assert join(env, address, "n1")
        fenced = []
        assert "n1" in rejoin_the_fenced(env, root, address, fenced, nodes=("n1",)) and fenced == []
        pgid = os.getpgid(next(i for i in sessions.sessions_of(root) if i.node_id == "n1").pid)
        os.killpg(pgid, signal.SIGSTOP)
        deadline = time.monotonic() + 60
        while "n1" in {n["node_id"] for n in status(env)["nodes"]}:
            assert time.monotonic() < deadline, status(env)
            time.sleep(0.2)
        os.killpg(pgid, signal.SIGCONT)
        while any(i.node_id == "n1" and i.pid > 0 and psutil.pid_exists(i.pid) for i in sessions.sessions_of(root)):
            assert time.monotonic() < deadline, "the resumed node did not stop by itself"
            time.sleep(0.2)
        running = rejoin_the_fenced(env, root, address, fenced, nodes=("n1",))
        assert "n1" in running and os.getpgid(running["n1"].pid) != pgid
        assert [n for n, _ in fenced] == ["n1"] and "lease" in fenced[0][1], fenced
    finally:
        stop = yr_cli("stop", env=env)
        assert stop.returncode == 0, stop.stderr
    assert wait_no_runtime_processes(20, root=str(root)) == []


def test_node_chaos_soak(tmp_path):
    root = tmp_path / "sessions"
    env = {"YR_SESSION_ROOT": str(root)}
    out = yr_cli("start", "--master", "--cpu", "1000", "--node-lease-ttl", str(TTL), env=env)
    assert out.returncode == 0, out.stderr
    address = out.stdout.split("yr start --master_address ", 1)[1].split()[0]
    rng = random.Random(int(os.environ.get("YR_SOAK_SEED", "12")))
    driver = None
    kills, fenced = [], []
    try:
        for node in NODES:
            assert join(env, address, node)
        driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(tmp_path)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=dict(os.environ, **env, ADDR=address))
        line = driver.stdout.readline()
        assert line.startswith("READY"), (line, driver.stderr.read() if driver.poll() is not None else "")
        end = time.monotonic() + SOAK_SECONDS
        while time.monotonic() + 10 < end and driver.poll() is None:
            time.sleep(rng.uniform(10, 20) if SOAK_SECONDS >= 60 else rng.uniform(10, 14))
            victim = rng.choice(NODES)
            info = rejoin_the_fenced(env, root, address, fenced)[victim]
            try:
                os.killpg(os.getpgid(info.pid), signal.SIGKILL)
            except ProcessLookupError:   # it was fencing itself just then: the next round starts it again
                continue
            kills.append(victim)
            restart_node(env, root, address, victim, time.monotonic() + 60)
        rejoin_the_fenced(env, root, address, fenced)
        deadline = time.monotonic() + 60
        while not capacity_back(env):
            assert time.monotonic() < deadline, status(env)
            time.sleep(0.5)
        time.sleep(2)   # traffic on the restored cluster
        (tmp_path / "stop").touch()
        out, err = driver.communicate(timeout=300)
        assert driver.returncode == 0, err
        result = json.loads(out.split("RESULT ", 1)[1])
        assert result["failures"] == [], result["failures"]
        restarts = sum(i["restarts"] for i in status(env)["instances"] if i["class_name"] == "Ledger")
        assert len(kills) >= 2 and restarts >= 1, (kills, restarts)
        assert all(len(a) > 10 for a in result["acked"].values()), {c: len(a) for c, a in result["acked"].items()}
        check_ledgers(result["acked"], result["logs"], restarts)
        print(f"kills {kills}, restarts {restarts}, acked {sum(len(a) for a in result['acked'].values())}, "
              f"nodes that fenced themselves (lease missed under load): {fenced}")
    finally:
        if driver is not None and driver.poll() is None:
            driver.kill()
            driver.communicate()
        stop = yr_cli("stop", env=env)
        assert stop.returncode == 0, stop.stderr
    assert wait_no_runtime_processes(20, root=str(root)) == []
    sessions.remove_stale(root)
    assert leftover_files(root) == []
