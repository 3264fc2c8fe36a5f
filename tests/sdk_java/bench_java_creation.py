"""Java creation to first result from a Python driver, warm JVM pool against none, interleaved.

    python tests/sdk_java/bench_java_creation.py [ROUNDS]

Compiles tests/sdk_java/programs, starts a temporary runtime, then per round creates one
com.yrtest.Probe instance with the pool (default) and one without (its InvokeOptions
env_vars set YR_JAVA_POOL_SIZE=0, so its worker starts its own JVM), each timed from the
create to the first method result and terminated after, and a Python instance beside
them (the runtime's own part under the same load). The first Java creation of the
node starts cold either way (it warms the pool), so a warm-up pair is not counted. Prints
JSON lines: medians and ranges in ms.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _java_support import PROGRAMS, Sdk  # noqa: E402


def one(yr, pooled: bool | None) -> float:
    if pooled is None:   # a Python instance: the runtime's own floor under the same load
        t0 = time.perf_counter()
        p = _py_counter(yr).invoke()
        yr.get(p.add.invoke(1), 120)
        ms = (time.perf_counter() - t0) * 1e3
        p.terminate()
        return ms
    opts = yr.InvokeOptions(env_vars={} if pooled else {"YR_JAVA_POOL_SIZE": "0"})
    t0 = time.perf_counter()
    probe = yr.java_instance_class("com.yrtest.Probe").options(opts).invoke()
    yr.get(probe.add.invoke(1), 120)
    ms = (time.perf_counter() - t0) * 1e3
    probe.terminate()
    return ms


def _py_counter(yr):
    global _PY
    if _PY is None:
        @yr.instance
        class PyCounter:
            def __init__(self):
                self.n = 0

            def add(self, k):
                self.n += k
                return self.n
        _PY = PyCounter
    return _PY


_PY = None


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 7
    sdk = Sdk()
    with tempfile.TemporaryDirectory(prefix="yr-java-create-") as classes:
        subprocess.run(["javac", "-nowarn", "-d", classes, "-cp", sdk.classpath(),
                        *sorted(map(str, PROGRAMS.rglob("*.java")))], check=True)
        os.environ["YR_JAVA_CODE_PATH"] = sdk.classpath(classes)
        import yr
        yr.init()
        try:
            one(yr, True), one(yr, False)   # warm-up: the node's first Java worker starts cold
            one(yr, None)
            times: dict[bool | None, list[float]] = {True: [], False: [], None: []}
            for i in range(rounds):
                for pooled in ((True, False, None) if i % 2 == 0 else (None, False, True)):
                    times[pooled].append(one(yr, pooled))
        finally:
            yr.finalize()
    for pooled, name in ((False, "java_create_to_first_result_cold"), (True, "java_create_to_first_result_pooled"),
                         (None, "python_create_to_first_result")):
        ms = times[pooled]
        print(json.dumps({"metric": name, "value": round(statistics.median(ms), 1), "unit": "ms (median)",
                          "min": round(min(ms), 1), "max": round(max(ms), 1), "n": len(ms)}))
    print(json.dumps({"metric": "java_create_cold_over_pooled",
                      "value": round(statistics.median(times[False]) / statistics.median(times[True]), 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
