"""A/B of the Java SDK's call rates against another tree's jar, Python's in the same run.

    python benchmarks/java_ab.py --base DIR [--base-python SRC] [--rounds 5] [--calls 2000] [--warm 200]

DIR is another checkout's sdk_java/target (built: yr-sdk-*.jar and lib/py4j-*.jar), e.g.
``git archive main sdk_java | tar -x -C /tmp/main && mvn -f /tmp/main/sdk_java package``.
SRC, if given, is that checkout's root with sdk_python/ and runtime/ (``git archive main
sdk_python runtime``): side A's bridge process and runtime then run that Python code
(through PYTHONPATH), so a change on the Python end is measured too. --warm: sync calls
Bench makes before it starts counting (a large one measures a JIT-compiled driver).
--null-bridge: both sides run against benchmarks/java_null_bridge.py (a yr._bridge that does
nothing), so the figures are the driver JVM's and its bridge process's own, without a
runtime; Python's rounds are left out.
Each round runs com.yrtest.Bench (tests/sdk_java/programs) with the base jar ("A"), then
with this tree's ("B"), then Python's own sync/async/stateless rates
(benchmarks/workloads.py), each with a temporary runtime of this Python, so a loaded
machine's swings hit all three alike. Bench also reports CPU per call of the driver JVM
and of its bridge process. Prints one JSON line per (round, side, metric), then a
markdown table of the medians (range) and B/A.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "sdk_java" / "programs"
PY_CODE = """
import json, sys
sys.path.insert(0, {bench!r})
import workloads
from run import YrApi
api = YrApi(); api.start()
try:
    for name, fn, n in (("sync_calls", workloads.sync_calls, {n}), ("async_calls", workloads.async_calls, {n}),
                        ("stateless_sync", workloads.stateless_sync, {m})):
        value, unit = fn(api, n=n)
        print(json.dumps({{"metric": "python_" + name, "value": round(value, 1), "unit": unit}}), flush=True)
finally:
    api.stop()
"""


def jars(target: Path) -> list[str]:
    return [str(next(target.glob("yr-sdk-*.jar"))), str(next((target / "lib").glob("py4j-*.jar")))]


def lines(out: str) -> dict[str, float]:
    return {d["metric"]: d["value"] for d in map(json.loads, (x for x in out.splitlines() if x.startswith("{")))}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--base-python", type=Path)
    ap.add_argument("--warm", type=int, default=200)
    ap.add_argument("--null-bridge", action="store_true")
    args = ap.parse_args(argv)
    base_env = dict(os.environ)
    if args.null_bridge:
        base_env["YR_BRIDGE_MODULE"] = "java_null_bridge"
        base_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH")]))
    envs = {"A": dict(base_env), "B": dict(base_env)}
    if args.base_python:
        paths = [str(args.base_python / "sdk_python"), str(args.base_python / "runtime")]
        envs["A"]["PYTHONPATH"] = os.pathsep.join(filter(None, [*paths, base_env.get("PYTHONPATH")]))
    sides = {"A": jars(args.base), "B": jars(ROOT / "sdk_java" / "target")}
    results: dict[str, dict[str, list[float]]] = {"A": {}, "B": {}, "py": {}}
    with tempfile.TemporaryDirectory(prefix="yr-java-ab-") as classes:
        subprocess.run(["javac", "-nowarn", "-d", classes, "-cp", ":".join(sides["B"]),
                        *map(str, sorted(PROGRAMS.rglob("*.java")))], check=True, capture_output=True)
        for r in range(args.rounds):
            for side, cp in sides.items():
                out = subprocess.run(["java", "-cp", ":".join([classes, *cp]), "com.yrtest.Bench", str(args.calls),
                                      str(args.warm)], capture_output=True, text=True, timeout=1200, env=envs[side])
                for k, v in lines(out.stdout).items():
                    results[side].setdefault(k, []).append(v)
                    print(json.dumps({"round": r, "side": side, "metric": k, "value": v}), flush=True)
            if args.null_bridge:
                continue
            code = PY_CODE.format(bench=str(ROOT / "benchmarks"), n=args.calls * 2, m=args.calls // 2)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1200)
            for k, v in lines(out.stdout).items():
                results["py"].setdefault(k, []).append(v)
                print(json.dumps({"round": r, "side": "py", "metric": k, "value": v}), flush=True)

    def cell(values: list[float]) -> str:
        if not values:
            return "-"
        return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"

    print("\n| metric | A (base) | B (this tree) | B / A |")
    print("|---|---|---|---|")
    for k in results["B"]:
        a, b = results["A"].get(k, []), results["B"][k]
        ratio = f"{statistics.median(b) / statistics.median(a):.2f}" if a and statistics.median(a) else "-"
        print(f"| {k} | {cell(a)} | {cell(b)} | {ratio} |")
    for k, v in results["py"].items():
        print(f"| {k} | | {cell(v)} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
