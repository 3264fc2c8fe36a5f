"""The C++ call-rate program the benchmark script runs works and reports positive rates."""
from __future__ import annotations

import json


def test_call_rate_reports_sync_and_async_rates(programs_dir, run_cpp):
    proc = run_cpp(programs_dir / "call_rate", "200")
    assert proc.returncode == 0, proc.stderr[-4000:]
    rates = json.loads(proc.stdout.strip().splitlines()[-1])
    assert rates["calls"] == 200
    for key in ("cpp_sync_calls_per_s", "cpp_async_calls_per_s", "cpp_function_sync_calls_per_s"):
        assert rates[key] > 0
