"""YR.kv() from a Java driver and a Java worker against the real runtime
(programs/com/yrtest/KvChecks.java, built with plain javac)."""
import os

import yr
from _java_support import NEEDS_JAVA, parse, run_java, wait_no_java_processes

pytestmark = NEEDS_JAVA


def test_kv_from_java(sdk, programs, daemon, driver):
    """Also one store for both languages: Java reads Python's bytes, and its msgpack as a typed value."""
    import msgpack
    yr.kv_write("j-py-bytes", b"from python")
    yr.kv_write("j-py-typed", msgpack.packb({"n": 1}))
    env = dict(os.environ, YR_SERVER_ADDRESS=str(daemon.session_dir))
    env.pop("YR_BRIDGE_MODULE", None)
    proc = run_java(sdk.classpath(programs), "com.yrtest.KvChecks", env=env, timeout=180)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-6000:]}"
    assert wait_no_java_processes() == []
    assert parse(proc.stdout) == {
        "from_py": "from python", "from_py_typed": "{n=1}", "set": "true", "get": "value", "length": "abc", "nx.code": "1001", "partial": "value,null",
        "missing.code": "4005", "big": f"{(3 << 20) + 5}:42", "slice": "2", "ttl": "true", "l2.code": "1001",
        "tx.code": "1001", "tx.none": "null", "read": "[1, 2, 3]", "read_map": "{k=v}", "worker": "hi",
        "worker.reply": "hi and back", "del": "[]", "deleted.code": "4005"}
