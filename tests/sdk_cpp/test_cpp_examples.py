"""The seed page's three C++ programs (examples/cpp, verbatim) print what their comments say,
built with CMake (find_package(yr)) and with the documented one-line g++ command."""
from __future__ import annotations

import os
import subprocess
import tempfile

from pathlib import Path

from yr_testing import runtime_processes   # this run's daemons and workers only

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cpp"


def test_stateful_counter_prints_3_3(examples_dir, run_cpp):
    proc = run_cpp(examples_dir / "stateful_counter")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "3:3\n"


def test_resources_example_prints_3_on_a_node_with_ssd(examples_dir, run_cpp):
    # The shared test runtime declares {"ssd": 1}, as `yr start --master -s ...` does on the page.
    proc = run_cpp(examples_dir / "stateful_resources")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "3\n"


def test_handle_passed_to_a_function_prints_3_twice(examples_dir, run_cpp):
    proc = run_cpp(examples_dir / "pass_handle")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "3\n3\n"


def test_resources_example_fails_clearly_without_ssd(examples_dir, tmp_path, no_process_left):
    # A runtime without the custom resource: the C++ error names it, and nothing is left over.
    exe = examples_dir / "stateful_resources"
    env = dict(os.environ, YR_SESSION_ROOT=str(tmp_path))
    env.pop("YR_SERVER_ADDRESS", None)
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode != 0
    assert "ErrCode: 1006" in proc.stderr and "'ssd'" in proc.stderr, proc.stderr
    no_process_left(exe)


def test_without_a_runtime_the_driver_starts_and_stops_a_temporary_one(examples_dir, tmp_path, no_process_left):
    exe = examples_dir / "stateful_counter"
    env = dict(os.environ, YR_SESSION_ROOT=str(tmp_path))
    env.pop("YR_SERVER_ADDRESS", None)
    child = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert out == "3:3\n"
    no_process_left(exe)
    leftover = [p for p in runtime_processes() if f"--owner-pid {child.pid}" in " ".join(p.info["cmdline"] or [])]
    assert not leftover, "the temporary runtime outlived its driver"


def test_one_line_gpp_build(cpp_prefix, run_cpp):
    # The command documented in docs/cpp.md.
    with tempfile.TemporaryDirectory() as out:
        exe = os.path.join(out, "pass_handle")
        cmd = (f'g++ -std=c++17 -O2 {EXAMPLES / "pass_handle.cpp"} -o {exe} '
               f'$({cpp_prefix / "bin" / "yr-config"} --cflags --libs)')
        build = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=300)
        assert build.returncode == 0, build.stderr
        proc = run_cpp(Path(exe))
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "3\n3\n"
