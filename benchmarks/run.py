"""Runs the benchmark workloads against yr (and Ray, when `import ray` works) in one run.

    python benchmarks/run.py [--quick] [--only NAME,...] [--no-ray]

Prints a table (yr, Ray, ratio, the physical floor where it applies) and one JSON line per
metric. The floor is a raw Unix-socket round trip between two Python processes, measured
now, on this machine: the bound a Python-to-Python call can approach.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads  # noqa: E402
from floor import socket_floor  # noqa: E402

HIGHER_IS_BETTER = {"ms (median)": False, "s": False, "MB": False}


class YrApi:
    name = "yr"

    def __init__(self):
        import yr
        self.yr = yr
        self._actors = {}
        self._tasks = {}

    def start(self):
        # logical capacity with room for the 500-instance burst (resources are not enforced)
        self.yr.init(self.yr.Config(num_cpus=1000, memory_mib=1000 * 512))

    def stop(self):
        self.yr.finalize()

    def actor(self, cls):
        if cls not in self._actors:
            self._actors[cls] = self.yr.instance(cls)
        return self._actors[cls].invoke()

    def call(self, handle, method, *args):
        return getattr(handle, method).invoke(*args)

    def task(self, fn, *args):
        if fn not in self._tasks:
            self._tasks[fn] = self.yr.invoke(fn)
        return self._tasks[fn].invoke(*args)

    def get(self, refs):
        return self.yr.get(refs, timeout=600)

    def put(self, value):
        return self.yr.put(value)

    def kill(self, handle):
        handle.terminate()


class RayApi:
    name = "ray"

    def __init__(self):
        import ray
        self.ray = ray
        self._actors = {}
        self._tasks = {}

    def start(self):
        self.ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)

    def stop(self):
        self.ray.shutdown()

    def actor(self, cls):
        if cls not in self._actors:
            self._actors[cls] = self.ray.remote(num_cpus=0)(cls)
        return self._actors[cls].remote()

    def call(self, handle, method, *args):
        return getattr(handle, method).remote(*args)

    def task(self, fn, *args):
        if fn not in self._tasks:
            self._tasks[fn] = self.ray.remote(fn)
        return self._tasks[fn].remote(*args)

    def get(self, refs):
        return self.ray.get(refs)

    def put(self, value):
        return self.ray.put(value)

    def kill(self, handle):
        self.ray.kill(handle)


# ---- measured in fresh processes ------------------------------------------------------------
STARTUP_YR = "import yr\n@yr.instance\nclass C:\n    def f(self): return 1\nyr.init(); c = C.invoke(); yr.get(c.f.invoke()); yr.finalize()\n"
STARTUP_RAY = ("import ray\nray.init(include_dashboard=False, log_to_driver=False)\n@ray.remote\nclass C:\n"
               "    def f(self): return 1\nc = C.remote(); ray.get(c.f.remote()); ray.shutdown()\n")


def startup(code: str, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def yr_idle_rss() -> float:
    """MB of RSS of a yr runtime at rest (daemon + warm pool), started by `yr start`."""
    import psutil
    env = dict(os.environ, YR_SESSION_ROOT=f"/tmp/yr-bench-{os.getpid()}")
    out = subprocess.run([sys.executable, "-m", "yr_runtime.cli", "start", "--master"], env=env,
                         capture_output=True, text=True, check=True)
    pid = int(out.stdout.split("pid ")[1].split(")")[0])
    time.sleep(2.0)
    proc = psutil.Process(pid)
    total = sum(p.memory_info().rss for p in [proc] + proc.children(recursive=True))
    subprocess.run([sys.executable, "-m", "yr_runtime.cli", "stop"], env=env, capture_output=True, check=True)
    return total / (1 << 20)


def nn_async(api_name: str, n: int = 10000) -> float:
    """Two caller processes, each driving its own instance; total calls/s."""
    code = (f"import sys, time; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
            "import run, workloads\n"
            f"api = run.{'YrApi' if api_name == 'yr' else 'RayApi'}()\n"
            + ("api.yr.init(api.yr.Config(server_address=sys.argv[1]))\n" if api_name == "yr"
               else "api.ray.init(address='auto')\n")
            + "class Counter:\n    def __init__(self): self.n = 0\n"
            "    def add(self, k):\n        self.n += k\n        return self.n\n"
            "c = api.actor(Counter); api.get(api.call(c, 'add', 1))\n"
            "sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.readline()\n"
            f"t = time.perf_counter(); api.get([api.call(c, 'add', 1) for _ in range({n})])\n"
            "print(time.perf_counter() - t)\n")
    if api_name == "yr":
        import yr
        from yr import _context
        target = [_context.current().info.session_dir]
    else:
        target = []
    procs = [subprocess.Popen([sys.executable, "-c", code, *target], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    t = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        p.stdout.readline()
        p.wait(120)
    return 2 * n / (time.perf_counter() - t)


def cpp_rates(calls: int = 5000) -> dict:
    """Sync/async call rates of the C++ SDK (tests/sdk_cpp/cpp/call_rate.cpp), if it is installed."""
    found = [p for p in (os.environ.get("YR_CPP_PREFIX"), sys.prefix, sys.base_prefix)
             if p and Path(p, "lib", "cmake", "yr").is_dir()]
    if not found:
        return {}
    prefix = found[0]
    root = Path(__file__).resolve().parent.parent
    build = root / "benchmarks" / "out" / "cpp"
    subprocess.run(["cmake", "-S", str(root / "tests" / "sdk_cpp" / "cpp"), "-B", str(build),
                    f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build), "--target", "call_rate", "-j", "2"], check=True, capture_output=True)
    out = subprocess.run([str(build / "call_rate"), str(calls)], check=True, capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def java_rates(calls: int = 2000) -> dict:
    """Java SDK call rates (tests/sdk_java/bench_java.py), if javac and Maven are here."""
    import shutil
    if not (shutil.which("javac") and shutil.which("mvn")):
        return {}
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, str(root / "tests" / "sdk_java" / "bench_java.py"), str(calls)],
                         capture_output=True, text=True, timeout=900)
    rows = {}
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            rows[row["metric"]] = (row["value"], row["unit"])
    return rows


WORKLOADS = [
    ("sync_calls", workloads.sync_calls, {}),
    ("async_calls", workloads.async_calls, {}),
    ("create_to_first_result", workloads.create_to_first_result, {}),
    ("instance_burst_10", workloads.instance_burst, {"n": 10}),
    ("burst_500_answering", workloads.burst_answering, {"n": 500}),
    ("idle_instance_uss", workloads.idle_instance_uss, {}),
    ("stateless_async", workloads.stateless_async, {}),
    ("stateless_sync", workloads.stateless_sync, {}),
    ("small_put_get", workloads.small_put_get, {}),
    ("large_put_get_100MB", workloads.large_put_get, {}),
    ("large_task_roundtrip_100MB", workloads.large_task_roundtrip, {}),
]


# Ray actors are full processes of ~100 MB each: 500 of them do not fit in this machine.
SKIP = {"ray": {"burst_500_answering", "idle_instance_uss"}}


def measure(api_cls, only, quick):
    api = api_cls()
    api.start()
    results = {}
    try:
        for name, fn, params in WORKLOADS:
            if (only and name not in only) or name in SKIP.get(api.name, ()):
                continue
            params = dict(params)
            if quick and "n" in fn.__code__.co_varnames:
                params["n"] = {"create_to_first_result": 10, "instance_burst_10": 10,
                               "burst_500_answering": 100, "idle_instance_uss": 5}.get(name, 1000)
            value, unit = fn(api, **params)
            results[name] = (value, unit)
            time.sleep(1.0)   # let the previous workload's instances finish stopping
        if not only or "nn_async" in only:
            results["nn_async"] = (nn_async(api.name, 2000 if quick else 10000), "calls/s")
    finally:
        api.stop()
    return results


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="smaller counts (a smoke run)")
    p.add_argument("--only", default="", help="comma-separated workload names")
    p.add_argument("--no-ray", action="store_true")
    args = p.parse_args()
    only = set(filter(None, args.only.split(",")))
    apis = [YrApi]
    if not args.no_ray:
        try:
            import ray  # noqa: F401
            apis.append(RayApi)
        except ImportError:
            pass
    # the floor first, on a quiet machine, best of three
    floor = max(socket_floor()[0] for _ in range(3))
    table = {}
    for api_cls in apis:
        for name, (value, unit) in measure(api_cls, only, args.quick).items():
            table.setdefault(name, {})[api_cls.name] = value
            table[name]["unit"] = unit
    if not only or "startup" in only:
        table["startup"] = {"yr": startup(STARTUP_YR), "unit": "s"}
        if RayApi in apis:
            table["startup"]["ray"] = startup(STARTUP_RAY, 1)
    if not only or "cross_node" in only:   # a master and a joined node on loopback (benchmarks/crossnode.py)
        import crossnode
        for key, value in crossnode.measure(args.quick).items():
            unit = "ratio" if "_over_" in key else "GiB/s" if key.startswith("pull") else "calls/s"
            table[f"cross_node_{key}"] = {"yr": value, "unit": unit}
    if not only or "idle_rss" in only:
        table["idle_rss"] = {"yr": yr_idle_rss(), "unit": "MB"}
    if not only or "java" in only:
        for key, (value, unit) in java_rates().items():
            table[key] = {"yr": value, "unit": unit}
    if not only or "cpp" in only:
        for key, value in cpp_rates().items():
            if key.endswith("_per_s"):
                table[key.replace("_per_s", "")] = {"yr": value, "unit": "calls/s"}
    table.setdefault("sync_calls", {}).setdefault("unit", "calls/s")
    table["sync_calls"]["floor"] = floor
    print(f"{'metric':28} {'yr':>12} {'ray':>12} {'yr/ray':>8} {'unit':>14}")
    for name, row in table.items():
        yr_v, ray_v = row.get("yr"), row.get("ray")
        ratio = ""
        if yr_v and ray_v:
            better = HIGHER_IS_BETTER.get(row["unit"], True)
            ratio = f"{(yr_v / ray_v) if better else (ray_v / yr_v):.1f}x"
        fmt = lambda v: "-" if v is None else f"{v:,.2f}" if v < 100 else f"{v:,.0f}"
        print(f"{name:28} {fmt(yr_v):>12} {fmt(ray_v):>12} {ratio:>8} {row['unit']:>14}")
    print(f"(floor: raw Unix-socket round trips between two Python processes: {floor:,.0f}/s)")
    for name, row in table.items():
        print(json.dumps({"metric": name, **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}}))


if __name__ == "__main__":
    main()
