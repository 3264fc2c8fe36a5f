"""Call rates across languages (docs/cross-language.md): every caller language calling a
method of an instance of every language, synchronously and asynchronously.

    python benchmarks/xlang_bench.py [N]

Needs the C++ SDK installed in this Python's prefix (scripts/install.sh), g++, javac and the
Java SDK built (sdk_java/target). Builds tests/sdk_cpp/xlang (the matrix test's programs)
into benchmarks/out/xlang, starts a temporary runtime with yr.init(), measures the Python
caller here and runs the C++ and Java drivers against the same runtime. Prints one JSON
line per metric ({"metric", "value", "unit", "n"}).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
XLANG = ROOT / "tests" / "sdk_cpp" / "xlang"
OUT = ROOT / "benchmarks" / "out" / "xlang"


def build() -> tuple[Path, str]:
    OUT.mkdir(parents=True, exist_ok=True)
    exe = OUT / "xlang"
    flags = subprocess.run([str(Path(sys.prefix) / "bin" / "yr-config"), "--cflags", "--libs"], check=True,
                           capture_output=True, text=True).stdout.split()
    subprocess.run(["g++", "-std=c++17", "-O2", str(XLANG / "xlang.cpp"), "-o", str(exe), *flags], check=True)
    jars = [str(ROOT / "sdk_java" / "target" / "yr-sdk-0.1.0.jar"),
            str(next((ROOT / "sdk_java" / "target" / "lib").glob("py4j-*.jar")))]
    classes = OUT / "classes"
    subprocess.run(["javac", "-nowarn", "-d", str(classes), "-cp", os.pathsep.join(jars),
                    *map(str, sorted((XLANG / "java").rglob("*.java")))], check=True)
    return exe, os.pathsep.join([str(classes), *jars])


def rate(metric: str, n: int, call) -> None:
    import yr
    for _ in range(50):
        yr.get(call(), 60)
    t = time.perf_counter()
    for _ in range(n):
        yr.get(call(), 60)
    sync = n / (time.perf_counter() - t)
    t = time.perf_counter()
    yr.get([call() for _ in range(n)], 300)
    async_ = n / (time.perf_counter() - t)
    for suffix, value in (("sync", sync), ("async", async_)):
        print(json.dumps({"metric": f"{metric}_{suffix}", "value": round(value, 1), "unit": "calls/s", "n": n}),
              flush=True)


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 1000
    exe, cp = build()
    os.environ["YR_CPP_CODE_PATH"], os.environ["YR_JAVA_CODE_PATH"] = str(exe), cp
    sys.path.insert(0, str(XLANG))
    import pytargets
    import yr
    from yr import _context
    yr.init()
    try:
        cpp = yr.cpp_instance_class("Box", "Box::FactoryCreate").invoke(0)
        rate("python_to_cpp_method", n, lambda: cpp.Add.invoke(1))
        java = yr.java_instance_class("com.example.xlang.Counter").invoke(0)
        rate("python_to_java_method", n, lambda: java.add.invoke(1))
        py = yr.instance(pytargets.Counter).invoke(0)
        rate("python_to_python_method", n, lambda: py.add.invoke(1))
        for h in (cpp, java, py):
            h.terminate()
        env = dict(os.environ, YR_SERVER_ADDRESS=_context.current().info.session_dir, YR_PYTHON=sys.executable)
        for cmd in ([str(exe), "bench", str(n)], ["java", "-cp", cp, "com.example.xlang.Driver", "bench", str(n)]):
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env, cwd=XLANG)
            sys.stdout.write("".join(line + "\n" for line in out.stdout.splitlines() if line.startswith("{")))
            if out.returncode != 0:
                sys.stderr.write(out.stderr[-3000:])
                return out.returncode
    finally:
        yr.finalize()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
