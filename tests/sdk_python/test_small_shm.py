"""Large values on a machine with a small /dev/shm (Docker's default is 64 MiB) or under a
file size limit: they spill to the session directory or travel inline; a value that fits
nowhere fails that one call with an error naming /dev/shm; no worker dies, no instance
loses its state, and no shared-memory or spill file outlives its refs or the session.

Each test runs a driver script in a private mount namespace with its own tmpfs on /dev/shm
(`unshare -m`; the suite runs as root): the temporary runtime that yr.init() starts there, and its
workers, see only that /dev/shm.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap

from yr_testing import SESSION_ROOT

# Shared by the driver scripts: a counter instance and functions moving large values, and
# a check that every file that held a value is gone once its refs are.
PRELUDE = textwrap.dedent('''
    import gc, glob, os, sys, time
    import numpy as np
    import yr
    from yr import _context
    from yr_runtime.wire import bodies

    MB = 1 << 20

    @yr.instance
    class Counter:
        def __init__(self):
            self.n = 0
        def blob(self, mb):
            self.n += 1
            return b"y" * (mb * MB)
        def array(self, mb):
            self.n += 1
            return np.full(mb * MB // 8, 7.0)
        def size(self, data):
            self.n += 1
            return memoryview(data).nbytes
        def count(self):
            return self.n
        def keep(self, mb):
            self.state = np.full(mb * MB // 8, 3.0)
            yr.save_state()
            self.state = None
            yr.load_state()
            yr.load_state()   # a saved state is loaded as often as needed
            return float(self.state.sum())

    @yr.invoke
    def blob(mb):
        return b"z" * (mb * MB)

    @yr.invoke
    def size(data):
        return memoryview(data).nbytes

    @yr.invoke
    def nested_size(refs):
        return len(yr.get(refs[0]))

    def files():
        spill = bodies.spill_dir(_context.current().info.session_dir)
        return glob.glob("/dev/shm/yr-*") + glob.glob(os.path.join(spill, "*"))

    def wait_no_files():
        gc.collect()
        deadline = time.monotonic() + 20   # frees reach the node store asynchronously
        while files() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not files(), files()

    yr.init(yr.Config(num_cpus=4))
''')

SMALL_SHM = PRELUDE + textwrap.dedent('''
    st = os.statvfs("/dev/shm")
    assert st.f_blocks * st.f_frsize == 64 * MB, "the test needs its own 64 MiB /dev/shm"

    data = b"x" * (100 * MB)
    ref = yr.put(data)
    got = yr.get(ref)
    assert len(got) == 100 * MB and bytes(got[-3:]) == b"xxx"
    arr = np.arange(100 * MB // 8, dtype=np.int64)
    got = yr.get(yr.put(arr))
    assert np.array_equal(got, arr)
    del got, ref

    # Several values that fit one by one but not together: the later ones spill.
    refs = [yr.put(np.full(40 * MB // 8, float(i))) for i in range(3)]
    assert [float(yr.get(r)[-1]) for r in refs] == [0.0, 1.0, 2.0]
    del refs

    c = Counter.invoke()
    assert len(yr.get(c.blob.invoke(100), timeout=120)) == 100 * MB
    assert float(yr.get(c.array.invoke(100), timeout=120)[-1]) == 7.0
    assert yr.get(c.size.invoke(data), timeout=120) == 100 * MB      # a 100 MiB argument
    assert yr.get(c.size.invoke(arr), timeout=120) == 100 * MB
    assert yr.get(c.count.invoke(), timeout=60) == 4                 # the instance kept its state
    assert yr.get(c.keep.invoke(100), timeout=120) == 3.0 * (100 * MB // 8)

    assert len(yr.get(blob.invoke(100), timeout=120)) == 100 * MB     # a stateless function
    assert yr.get(size.invoke(data), timeout=120) == 100 * MB
    assert yr.get(nested_size.invoke([yr.put(data)]), timeout=120) == 100 * MB   # via the node store
    c.terminate()
    wait_no_files()
    session = _context.current().info.session_dir
    yr.finalize()
    assert not os.path.exists(session), "the temporary session is removed at finalize"
    assert not glob.glob("/dev/shm/yr-*")
    print("SMALL-SHM-OK")
''')

FILE_SIZE_LIMIT = PRELUDE + textwrap.dedent('''
    assert yr._serialization.SHM_DIR == "/dev/shm"
    data = b"x" * (100 * MB)
    got = yr.get(yr.put(data))           # over the limit for any file: it stays inline
    assert len(got) == 100 * MB
    del got

    c = Counter.invoke()
    assert len(yr.get(c.blob.invoke(100), timeout=120)) == 100 * MB
    assert yr.get(c.size.invoke(data), timeout=120) == 100 * MB
    try:
        yr.get(c.array.invoke(300), timeout=120)    # over the limit and over a frame
        raise AssertionError("a 300 MiB value cannot travel here")
    except yr.YRError as e:
        msg = str(e)
        assert "/dev/shm" in msg and "File too large" in msg and "MiB free" in msg, msg
    assert yr.get(c.count.invoke(), timeout=60) == 3   # the executor lived on, with its state
    assert len(yr.get(blob.invoke(100), timeout=120)) == 100 * MB
    try:
        yr.get(blob.invoke(300), timeout=120)
        raise AssertionError("a 300 MiB value cannot travel here")
    except yr.YRError as e:
        assert "/dev/shm" in str(e), str(e)
    assert len(yr.get(blob.invoke(2), timeout=120)) == 2 * MB        # the stateless worker lives on
    try:
        yr.put(b"w" * (300 * MB))
        raise AssertionError("a 300 MiB value cannot be put here")
    except yr.YRError as e:
        assert "/dev/shm" in str(e), str(e)
    c.terminate()
    wait_no_files()
    yr.finalize()
    assert not glob.glob("/dev/shm/yr-*")
    print("FSIZE-OK")
''')


def _run_in_private_shm(tmp_path, script: str, shm_size: str, preexec_fn=None) -> subprocess.CompletedProcess:
    path = tmp_path / "driver.py"
    path.write_text(script)
    root = SESSION_ROOT / f"shm-{tmp_path.name}"   # its own root: the script starts its own runtime
    cmd = (f"mount -t tmpfs -o size={shm_size} tmpfs /dev/shm && "
           f"exec {sys.executable} {path}")
    env = dict(os.environ, YR_SESSION_ROOT=str(root))
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", cmd],
                          capture_output=True, text=True, timeout=400, env=env, preexec_fn=preexec_fn)


def test_large_values_spill_when_dev_shm_is_small(tmp_path):
    r = _run_in_private_shm(tmp_path, SMALL_SHM, "64m")
    assert r.returncode == 0 and "SMALL-SHM-OK" in r.stdout, r.stdout[-3000:] + r.stderr[-5000:]


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (50 << 20, 50 << 20))


def test_a_file_size_limit_fails_one_call_not_the_worker(tmp_path):
    r = _run_in_private_shm(tmp_path, FILE_SIZE_LIMIT, "1g", preexec_fn=_limit_file_size)
    assert r.returncode == 0 and "FSIZE-OK" in r.stdout, r.stdout[-3000:] + r.stderr[-5000:]
