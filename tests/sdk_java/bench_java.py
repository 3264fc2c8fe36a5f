"""Java call rates: sync and async method calls, sync and async stateless calls.

    python tests/sdk_java/bench_java.py [N]

Builds the SDK jar if it is missing, compiles tests/sdk_java/programs with javac and runs
com.yrtest.Bench, which connects like any Java driver (YR.init(): the running runtime, or a
temporary one). Prints one JSON line per metric ({"metric", "value", "unit", "n"}), so
benchmarks/run.py can take them as they are.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _java_support import PROGRAMS, SDK, Sdk, mvn, run  # noqa: E402


def main(argv: list[str]) -> int:
    n = argv[0] if argv else "2000"
    if not list((SDK / "target").glob("yr-sdk-*.jar")) or not (SDK / "target" / "lib").exists():
        mvn("-f", SDK / "pom.xml", "install", "-DskipTests")
    sdk = Sdk()
    with tempfile.TemporaryDirectory(prefix="yr-java-bench-") as classes:
        run(["javac", "-nowarn", "-d", classes, "-cp", sdk.classpath(), *sorted(PROGRAMS.rglob("*.java"))])
        proc = subprocess.run(["java", "-cp", sdk.classpath(classes), "com.yrtest.Bench", n],
                              stdout=subprocess.PIPE, text=True, timeout=900)
    sys.stdout.write(proc.stdout)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
