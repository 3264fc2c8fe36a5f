"""Observability end to end: `yr start --master` with two joined nodes on loopback; a driver
creates instances on each node and calls them; then `yr list` (table and JSON, filters,
limit), `yr logs` (from the master's node and from a joined node, --tail, --follow ending with
the instance), and `/metrics` parsed with prometheus_client: call counters change by exactly
the calls made, failures, latency counts, instance states, node resources, the object store,
warm pools and user metrics from workers and the driver.
"""
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from yr_runtime.observe.state import COLUMNS
from yr_testing import wait_no_runtime_processes
from test_examples import yr_cli

NODES = ("obs-a", "obs-b")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("observe") / "sessions"
    env = {"YR_SESSION_ROOT": str(root)}
    out = yr_cli("start", "--master", "--cpu", "4000", "--dashboard-port", str(_free_port()), env=env)
    assert out.returncode == 0, out.stderr
    address = re.search(r"yr start --master_address (\S+)", out.stdout).group(1)
    session = re.search(r"session: (\S+)", out.stdout).group(1)
    login = re.search(r"dashboard: (\S+)", out.stdout).group(1)
    try:
        for node in NODES:
            joined = yr_cli("start", "--master_address", address, "--cpu", "2000", "--node-id", node,
                            "--labels", f"site={node}", env=env)
            assert joined.returncode == 0, joined.stderr
        yield {"env": env, "root": str(root), "session": session, "login": login,
               "url": login.split("/login")[0], "token": open(os.path.join(session, "token")).read().strip()}
    finally:
        stop = yr_cli("stop", env=env)
        assert stop.returncode == 0, stop.stderr
        assert wait_no_runtime_processes(15, root=str(root)) == []


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics(cluster, token=None) -> dict:
    """{(name, frozenset(labels)): value} of every sample on /metrics."""
    req = urllib.request.Request(cluster["url"] + "/metrics",
                                 headers={"Authorization": f"Bearer {token or cluster['token']}"})
    text = urllib.request.urlopen(req, timeout=10).read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def value(samples, name, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_for(check, timeout=20.0):
    """Polls `check()` until it returns a true value (reports come every second)."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


def yr_list(cluster, *args) -> list:
    out = yr_cli("list", *args, "--json", env=cluster["env"])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


DRIVER = textwrap.dedent("""
    import sys, time, yr
    yr.init()
    on = lambda node: yr.InvokeOptions(schedule_affinities=[yr.Affinity(
        yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED,
        [yr.LabelOperator(yr.OperatorType.LABEL_IN, "site", [node])])])

    @yr.instance
    class Talker:
        def __init__(self, word):
            self.word = word
            self.hits = yr.UInt64Counter("talker_hits", "greetings said", "1", {"word": word})
            self.size = yr.Gauge("talker_size", "a size", "bytes")
            self.lat = yr.Histogram("talker_wait_seconds", "waits", "s", buckets=[0.1, 1.0])
            self.said = yr.CustomCounter("talker_said", "calls of say")
            self.load = yr.CustomGauge("talker_load", "a load", "1")
        def say(self, i):
            print(f"{self.word} number {i}", flush=True)
            self.hits.increase(1)
            self.size.set(10 * i)
            self.lat.record(0.5)
            self.said.inc(2)
            self.load.inc(3)
            self.load.dec(1)
            return i
        def fail(self):
            raise ValueError("on purpose")

    @yr.invoke
    def square(x):
        return x * x

    @yr.invoke
    def length(refs):
        return len(yr.get(refs[0]))

    a = Talker.options(name="talker-a", namespace="obs").invoke("alpha")
    b = Talker.options(on("obs-b"), name="talker-b").invoke("beta")
    assert yr.get([a.say.invoke(i) for i in range(5)]) == list(range(5))
    assert yr.get([b.say.invoke(i) for i in range(3)]) == list(range(3))
    for h in (a, b):
        try:
            yr.get(h.fail.invoke())
        except yr.YRInvokeError:
            pass
    assert yr.get([square.invoke(i) for i in range(4)]) == [0, 1, 4, 9]
    driver_gauge = yr.DoubleCounter("driver_progress", "driver side", "1")
    driver_gauge.increase(2.5)
    ref = yr.put(b"x" * 1000)
    assert yr.get(length.invoke([ref])) == 1000   # a nested ref is published to the node store
    print("READY", flush=True)
    sys.stdin.readline()   # the test looks now; then the driver ends (its instances die)
""")


@pytest.fixture(scope="module")
def workload(cluster, tmp_path_factory):
    script = tmp_path_factory.mktemp("obsdrv") / "driver.py"
    script.write_text(DRIVER)
    before = metrics(cluster)
    proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, **cluster["env"]))
    lines = []
    while not lines or lines[-1] != "READY":
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        lines.append(line.strip())
    yield {"before": before, "proc": proc}
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.communicate(timeout=60)


def instance(cluster, name):
    rows = yr_list(cluster, "instances", "--filter", f"name={name}")
    assert len(rows) >= 1, rows
    return rows[0]


def test_yr_list_shows_nodes_instances_functions_objects_and_jobs(cluster, workload):
    nodes = {n["node_id"]: n for n in yr_list(cluster, "nodes")}
    assert set(nodes) == {"node-0", *NODES}
    assert nodes["obs-b"]["cpu_total"] == 2000 and nodes["obs-b"]["cpu_used"] >= 500   # talker-b holds 500
    a, b = instance(cluster, "talker-a"), instance(cluster, "talker-b")
    assert tuple(a) == COLUMNS["instances"] and tuple(nodes["obs-a"]) == COLUMNS["nodes"]
    assert (a["class"], a["namespace"], a["state"], a["restarts"]) == ("Talker", "obs", "RUNNING", 0)
    assert b["node_id"] == "obs-b" and b["job_id"] == a["job_id"] and b["cpu"] == 500
    jobs = {j["job_id"]: j for j in yr_list(cluster, "jobs")}
    assert all(tuple(j) == COLUMNS["jobs"] for j in jobs.values())
    assert jobs[a["job_id"]]["state"] == "RUNNING" and jobs[a["job_id"]]["instances_alive"] == 2
    assert jobs[a["job_id"]]["driver_pid"] == workload["proc"].pid
    funcs = wait_for(lambda: [f for f in yr_list(cluster, "functions") if f["function"] == "square"
                              and f["calls_finished"] == 4])
    assert funcs and funcs[0]["calls_failed"] == 0
    objects = wait_for(lambda: [o for o in yr_list(cluster, "objects") if o["job_id"] == a["job_id"]])
    assert objects and all(o["size_bytes"] > 0 for o in objects)
    # filters combine, the limit cuts, the table prints the same rows
    assert yr_list(cluster, "instances", "--filter", "state=RUNNING", "--filter", "node_id=obs-b",
                   "--filter", "name=talker-b")[0]["instance_id"] == b["instance_id"]
    assert len(yr_list(cluster, "nodes", "--limit", "2")) == 2
    text = yr_cli("list", "instances", "--filter", "namespace=obs", env=cluster["env"]).stdout
    assert a["instance_id"] in text and "RUNNING" in text and b["instance_id"] not in text


def test_yr_list_refuses_bad_input_naming_it(cluster):
    out = yr_cli("list", "instances", "--filter", "colour=red", env=cluster["env"])
    assert out.returncode != 0 and "colour" in out.stderr and "instance_id" in out.stderr
    out = yr_cli("list", "widgets", env=cluster["env"])
    assert out.returncode != 0 and "widgets" in out.stderr
    out = yr_cli("list", "nodes", "--filter", "nonsense", env=cluster["env"])
    assert out.returncode != 0 and "COLUMN=VALUE" in out.stderr


def test_yr_logs_prints_a_workers_output_from_any_node(cluster, workload):
    for name, word, count in (("talker-a", "alpha", 5), ("talker-b", "beta", 3)):
        iid = instance(cluster, name)["instance_id"]
        out = yr_cli("logs", iid, env=cluster["env"])
        assert out.returncode == 0, out.stderr
        assert [line for line in out.stdout.splitlines() if word in line] == [
            f"{word} number {i}" for i in range(count)]
        tail = yr_cli("logs", iid, "--tail", "1", env=cluster["env"]).stdout
        assert tail == f"{word} number {count - 1}\n"
    out = yr_cli("logs", "no-such-instance", env=cluster["env"])
    assert out.returncode != 0 and "no-such-instance" in out.stderr


def test_metrics_count_exactly_the_calls_made(cluster, workload):
    before = workload["before"]

    def grown():
        now = metrics(cluster)
        done = value(now, "yr_calls_finished_total", **{"class": "Talker", "method": "say"})
        return now if done - value(before, "yr_calls_finished_total", **{"class": "Talker", "method": "say"}) == 8 \
            and value(now, "yr_calls_finished_total", **{"class": "", "method": "square"}) >= 4 else None
    now = wait_for(grown)
    assert now, "the calls did not reach /metrics"
    say, fail = {"class": "Talker", "method": "say"}, {"class": "Talker", "method": "fail"}
    for name, labels, delta in (("yr_calls_started_total", say, 8), ("yr_calls_failed_total", say, 0),
                                ("yr_calls_finished_total", fail, 2), ("yr_calls_failed_total", fail, 2),
                                ("yr_call_duration_seconds_count", say, 8),
                                ("yr_call_duration_seconds_bucket", dict(say, le="+Inf"), 8)):
        assert value(now, name, **labels) - value(before, name, **labels) == delta, (name, labels)
    assert value(now, "yr_call_duration_seconds_sum", **say) > value(before, "yr_call_duration_seconds_sum", **say)
    assert value(now, "yr_instances", **{"class": "Talker", "state": "RUNNING"}) == 2
    assert value(now, "yr_nodes") == 3
    assert value(now, "yr_node_cpu_total_millicores", node="obs-a") == 2000
    assert value(now, "yr_node_cpu_used_millicores", node="obs-b") >= 500
    assert value(now, "yr_node_memory_total_bytes", node="node-0") > 0
    assert ("yr_warm_workers", frozenset({("node", "obs-a")})) in now
    assert value(now, "yr_object_store_objects", node="node-0") >= 1
    assert value(now, "yr_object_store_bytes", node="node-0") >= 1000


def test_user_metrics_from_workers_and_the_driver(cluster, workload):
    a, b = instance(cluster, "talker-a")["instance_id"], instance(cluster, "talker-b")["instance_id"]
    now = wait_for(lambda: (lambda s: s if value(s, "talker_hits_total", process=b, word="beta") == 3
                            and value(s, "driver_progress_total", process=f"driver:{instance(cluster, 'talker-a')['job_id']}:{workload['proc'].pid}") == 2.5
                            else None)(metrics(cluster)))
    assert now, "user metrics did not reach /metrics"
    assert value(now, "talker_hits_total", process=a, word="alpha") == 5
    assert value(now, "talker_size", process=a) == 40 and value(now, "talker_size", process=b) == 20
    assert value(now, "talker_wait_seconds_bucket", process=a, le="0.1") == 0
    assert value(now, "talker_wait_seconds_bucket", process=a, le="1.0") == 5
    assert value(now, "talker_wait_seconds_count", process=b) == 3
    assert value(now, "talker_wait_seconds_sum", process=b) == 1.5
    assert value(now, "talker_said_total", process=a) == 10 and value(now, "talker_said_total", process=b) == 6
    assert value(now, "talker_load", process=a) == 10 and value(now, "talker_load", process=b) == 6


def test_metrics_and_dashboard_need_the_session_token(cluster):
    for url in (cluster["url"] + "/metrics", cluster["url"] + "/api/instances", cluster["url"] + "/"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url, timeout=10)
        assert e.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as e:
        metrics(cluster, token="0" * 64)
    assert e.value.code == 401
    assert cluster["url"].startswith("http://127.0.0.1:")   # loopback by default


def test_logs_follow_ends_with_the_instance(cluster):
    code = textwrap.dedent("""
        import time, yr
        yr.init()
        @yr.instance
        class Ticker:
            def tick(self, n):
                for i in range(n):
                    print("tick", i, flush=True)
                return n
        t = Ticker.options(name="ticker").invoke()
        yr.get(t.tick.invoke(3))
        print("READY", flush=True)
        input()
        t.terminate()
        time.sleep(1)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, **cluster["env"]))
    try:
        while proc.stdout.readline().strip() != "READY":   # (the worker's lines are forwarded here too)
            assert proc.poll() is None, "the driver failed"
        iid = instance(cluster, "ticker")["instance_id"]
        follow = subprocess.Popen([sys.executable, "-m", "yr_runtime.cli", "logs", iid, "--follow"],
                                  stdout=subprocess.PIPE, text=True, env=dict(os.environ, **cluster["env"]))
        first = [follow.stdout.readline() for _ in range(3)]
        assert first == ["tick 0\n", "tick 1\n", "tick 2\n"]
        proc.stdin.write("\n")
        proc.stdin.flush()
        rest, _ = follow.communicate(timeout=30)   # ends by itself once the instance is dead
        assert follow.returncode == 0
        assert not [line for line in rest.splitlines() if line.startswith("tick")]
    finally:
        proc.communicate(timeout=30)


def test_wait_nodes_returns_when_they_are_there_and_shows_progress_until_its_timeout(cluster):
    out = yr_cli("wait-nodes", "3", env=cluster["env"])
    assert out.returncode == 0 and "3 nodes in the cluster" in out.stdout
    out = yr_cli("wait-nodes", "5", "--timeout", "3", env=cluster["env"])
    assert out.returncode != 0 and "only 3 of 5 nodes joined within 3s" in out.stderr
    assert "waiting for nodes: 3 of 5 nodes" in out.stderr   # progress, not silence
