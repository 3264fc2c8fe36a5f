"""YR::Cancel and YR::GetInstance against the real runtime (tests/sdk_cpp/cpp/parity_test.cpp)."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("name", ["cancel", "get_instance"])
def test_parity(programs_dir, run_cpp, tmp_path, name):
    proc = run_cpp(programs_dir / "parity_test", name, str(tmp_path))
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    assert proc.stdout.rstrip().endswith(f"PASS {name}")
    if name == "cancel":
        assert "cancelled: code=" in proc.stdout and not (tmp_path / "running").exists()
