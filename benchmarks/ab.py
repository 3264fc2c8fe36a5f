"""A/B of two yr trees in the same minutes: runs `benchmarks/run.py --no-ray --only ...` of tree
A, then of tree B, alternately, each with its own `.venv`, and prints per-metric medians and
the ratio B / A (the machine is shared: alternating pairs is what makes the ratio fair).

    python benchmarks/ab.py --a /work/main --b . --rounds 5 --only create_to_first_result,...

Both trees run the same workloads (this directory's `run.py`, so a workload added by the
change runs against the reference too), each with its own interpreter
(`<tree>/.venv/bin/python`, whose `yr` is that tree's) and its own session root.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path


HERE = Path(__file__).resolve().parent


def run_once(tree: Path, only: str, tag: str) -> dict:
    """{metric: value} of one `run.py` run of `tree`, or {} if it failed (said on stderr)."""
    env = dict(os.environ, YR_SESSION_ROOT=f"/tmp/yr-ab-{tag}-{os.getpid()}")
    out = subprocess.run([str(tree / ".venv" / "bin" / "python"), str(HERE / "run.py"),
                          "--no-ray", "--only", only], cwd=tree, env=env, capture_output=True, text=True,
                         timeout=1800)
    if out.returncode != 0:
        print(f"[{tag}] failed ({out.returncode}): {out.stderr[-2000:]}", file=sys.stderr)
        return {}
    rows = {}
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            if row.get("yr") is not None:
                rows[row["metric"]] = (row["yr"], row["unit"])
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True, help="tree A (the reference, e.g. main's worktree)")
    p.add_argument("--b", required=True, help="tree B (the change)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", required=True, help="comma-separated workload names of run.py")
    args = p.parse_args()
    trees = {"A": Path(args.a).resolve(), "B": Path(args.b).resolve()}
    seen: dict = {}
    for r in range(args.rounds):
        order = ("A", "B") if r % 2 == 0 else ("B", "A")   # neither always runs first
        for tag in order:
            for metric, (value, unit) in run_once(trees[tag], args.only, tag).items():
                seen.setdefault(metric, {"unit": unit, "A": [], "B": []})[tag].append(value)
                print(json.dumps({"round": r, "tree": tag, "metric": metric, "value": value, "unit": unit}),
                      flush=True)
    print(f"{'metric':28} {'A median':>12} {'B median':>12} {'B/A':>7} unit   (A={trees['A']}, B={trees['B']})")
    for metric, row in seen.items():
        if not (row["A"] and row["B"]):
            continue
        a, b = statistics.median(row["A"]), statistics.median(row["B"])
        print(f"{metric:28} {a:12.3f} {b:12.3f} {b / a:7.2f} {row['unit']}")
        print(json.dumps({"metric": metric, "unit": row["unit"], "A": row["A"], "B": row["B"],
                          "A_median": a, "B_median": b, "B_over_A": b / a}))


if __name__ == "__main__":
    main()
