"""Python twin of tests/sdk_cpp/cpp/unit_test.cpp (GoogleTest): registry, casters and the
worker host, in-process, without a runtime."""
from __future__ import annotations

import subprocess


def test_unit_tests_pass(programs_dir):
    assert (programs_dir / "unit_test").exists(), "unit_test was not built: GoogleTest (libgtest-dev) is missing"
    proc = subprocess.run([str(programs_dir / "unit_test")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "[  PASSED  ]" in proc.stdout and "FAILED" not in proc.stdout
