"""C++ figures of issue 16, A/B in one run, with Python's figures beside them.

    python benchmarks/cpp_bench.py [--base DIR] [--runs N] [--creates N] [--calls N]

Builds benchmarks/cpp/cpp_bench.cpp against the C++ SDK installed in this environment (B, the
current code) and, with --base, against the SDK built from DIR (A: a checkout of other
sources, e.g. `git archive main | tar -x -C DIR`; its Python runtime is used through
PYTHONPATH, so A runs the old runtime and the old libyr). Runs A and B alternately N times
each and prints the medians, the ratios B/A, and Python's sync calls, stateless sync calls,
creation to first result and CPU per sync call, measured after C++'s in every run (medians too).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"


def build_sdk(src: Path) -> Path:
    prefix = src / "prefix"
    if not (prefix / "lib" / "cmake" / "yr").is_dir():
        subprocess.run(["bash", str(src / "sdk_cpp" / "build.sh"), str(prefix)], check=True, capture_output=True,
                       env=dict(os.environ, PYTHON=sys.executable, BUILD_DIR=str(src / "sdk-build")))
    return prefix


def build_bench(prefix: Path, label: str) -> Path:
    build = OUT / f"cpp_bench-{label}"
    subprocess.run(["cmake", "-S", str(ROOT / "benchmarks" / "cpp"), "-B", str(build),
                    f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build), "-j", "2"], check=True, capture_output=True)
    return build / "cpp_bench"


def run(exe: Path, env: dict, args) -> dict:
    out = subprocess.run([str(exe), str(args.creates), str(args.calls), str(args.rounds)], capture_output=True,
                         text=True, timeout=900, env=env)
    if out.returncode != 0:
        raise SystemExit(f"{exe} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def python_figures() -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import run as bench   # benchmarks/run.py: the Python adapter
    import workloads
    api = bench.YrApi()
    api.start()
    try:
        return {"py_sync_calls_per_s": workloads.sync_calls(api)[0],
                "py_stateless_sync_calls_per_s": workloads.stateless_sync(api)[0],
                "py_create_to_first_result_ms": workloads.create_to_first_result(api, 20)[0],
                **python_cpu_per_call()}
    finally:
        api.stop()


def python_cpu_per_call(n: int = 3000) -> dict:
    """CPU µs per sync method call of a Python driver (this process, all threads) and of the
    instance's worker, as cpp_bench.cpp measures them for C++ (benchmarks/call_cpu.py's way)."""
    import yr
    from floor import cpu_of
    from workloads import Counter
    from yr import _context
    c = yr.instance(Counter).invoke()
    yr.get(c.add.invoke(0))
    wpid = _context.current().master.get_instance(instance_id=c._target.instance_id, timeout=10).pid
    d0, w0 = cpu_of(os.getpid()), cpu_of(wpid)
    for _ in range(n):
        yr.get(c.add.invoke(1))
    d1, w1 = cpu_of(os.getpid()), cpu_of(wpid)
    c.terminate()
    return {"py_driver_cpu_us_per_sync_call": (d1 - d0) / n * 1e6, "py_worker_cpu_us_per_sync_call": (w1 - w0) / n * 1e6}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=Path, help="a source tree to compare with (A)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--creates", type=int, default=20)
    ap.add_argument("--calls", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-python", action="store_true")
    args = ap.parse_args()
    variants = {"B": (build_bench(Path(sys.prefix), "B"), dict(os.environ))}
    if args.base:
        base = args.base.resolve()
        env = dict(os.environ, PYTHONPATH=f"{base / 'sdk_python'}:{base / 'runtime'}")
        variants = {"A": (build_bench(build_sdk(base), "A"), env), **variants}
    results: dict[str, list[dict]] = {k: [] for k in variants}
    py_rows: list[dict] = []
    for _ in range(args.runs):
        for label, (exe, env) in variants.items():
            r = run(exe, env, args)
            print(label, json.dumps(r), flush=True)
            results[label].append(r)
        if not args.no_python:   # in every run, beside C++'s: a single late figure was not comparable
            py_rows.append(python_figures())
            print("python", json.dumps(py_rows[-1]), flush=True)
    table = {}
    for label, rows in results.items():
        for key in rows[0]:
            if key.startswith("cpp_"):
                table.setdefault(key, {})[label] = statistics.median(r[key] for r in rows)
    for key in py_rows[0] if py_rows else ():
        table[key] = {"python": statistics.median(r[key] for r in py_rows)}
    print(f"{'metric':36} {'A':>10} {'B':>10} {'B/A':>7} {'python':>10}")
    for key, row in table.items():
        a, b, p = row.get("A"), row.get("B"), row.get("python")
        ratio = f"{b / a:.2f}" if a and b else ""
        fmt = lambda v: "" if v is None else f"{v:,.1f}"
        print(f"{key:36} {fmt(a):>10} {fmt(b):>10} {ratio:>7} {fmt(p):>10}")
    print(json.dumps(table))


if __name__ == "__main__":
    main()
