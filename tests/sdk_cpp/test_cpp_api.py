"""Every C++ API against the real runtime, one scenario of tests/sdk_cpp/cpp/api_test.cpp per
test; each run also checks that no worker of the program is left behind."""
from __future__ import annotations

import re

import pytest


def run_scenario(programs_dir, run_cpp, name: str) -> str:
    proc = run_cpp(programs_dir / "api_test", name)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    assert proc.stdout.rstrip().endswith(f"PASS {name}")
    return proc.stdout


@pytest.mark.parametrize("name", ["values", "functions", "instances", "wait", "concurrency", "named", "threads",
                                  "bytes", "affinity"])
def test_api(programs_dir, run_cpp, name):
    run_scenario(programs_dir, run_cpp, name)


def test_exception_in_method_reaches_get_with_original_what(programs_dir, run_cpp):
    out = run_scenario(programs_dir, run_cpp, "user_exception")
    assert re.search(r"method: code=2002 .*ErrMsg: failed to invoke &Counter::Fail, exception: disk on fire", out)
    assert re.search(r"function: code=2002 .*ErrMsg: failed to invoke Boom, exception: bad input", out)
    assert re.search(r"factory: code=2002 .*failed to invoke Counter::FactoryFail, exception: no counter today", out)


def test_get_timeout(programs_dir, run_cpp):
    out = run_scenario(programs_dir, run_cpp, "timeout")
    assert "timeout: code=4005" in out


def test_terminated_instance(programs_dir, run_cpp):
    out = run_scenario(programs_dir, run_cpp, "terminated")
    assert re.search(r"after terminate: code=9000 .*terminated", out)


def test_instance_whose_worker_exits(programs_dir, run_cpp):
    out = run_scenario(programs_dir, run_cpp, "instance_died")
    assert re.search(r"died: code=1007 .*exited with code 3", out)


def test_unknown_custom_resource(programs_dir, run_cpp):
    out = run_scenario(programs_dir, run_cpp, "unknown_resource")
    assert re.search(r"unknown resource: code=1006 .*invalid resource parameter.*no_such_resource", out)


def test_init_and_finalize_rules(programs_dir, run_cpp):
    out = run_scenario(programs_dir, run_cpp, "init_rules")
    assert "before init: code=4001" in out
    assert "finalize before init: code=4001" in out
    assert "after finalize: code=9000" in out


def test_exit_without_finalize_cleans_up(programs_dir, run_cpp):
    # main returns with an instance alive and no YR::Finalize: the exit handler finalizes, and
    # run_cpp checks that the worker is gone.
    run_scenario(programs_dir, run_cpp, "no_finalize")


def test_recover_retry_times_restarts_the_instance(programs_dir, run_cpp):
    run_scenario(programs_dir, run_cpp, "recover")


def test_cpp_strings_reach_python_as_str_when_utf8_else_as_bytes(programs_dir, driver):
    """What Python (and, through the bridge's codec, Java: String / byte[]) receives from a
    C++ std::string: text stays text, other byte strings keep every byte."""
    from yr import _bridge
    twice = {"language": "cpp", "executable": str(programs_dir / "api_test"), "function": "Twice"}

    def call(arg):
        return _bridge.get(_bridge.invoke_function(twice, [arg]), 60)
    assert call("h\u00e9 \u20ac") == "h\u00e9 \u20ac" * 2
    assert call("") == ""
    assert call(b"\xff\x00\xfe") == b"\xff\x00\xfe" * 2
    big = bytes(range(256)) * 8192           # 2 MiB, not UTF-8
    assert call(big) == big * 2
    assert call(b"ab") == "abab"             # a std::string does not remember it came as bytes
