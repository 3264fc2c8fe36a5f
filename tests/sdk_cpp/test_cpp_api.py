"""Every C++ API against the real runtime, one scenario of tests/sdk_cpp/cpp/api_test.cpp per
test; each run also checks that no worker of the program is left behind."""
from __future__ import annotations

import re

import pytest

import yr


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
    assert re.search(r"temporary timeout: code=4005 .*not ready after 1", out)
    assert "temporary bad timeout: code=1001" in out


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


def test_cpp_worker_binds_each_method_once_and_reports_bad_calls_every_time(programs_dir, driver):
    """The C++ host binds a method or function at its first call (one C call per call after);
    what cannot be bound or called fails that call with a clear error, every time, and the
    instance goes on serving."""
    from yr import _bridge
    exe = str(programs_dir / "api_test")
    counter = _bridge.create_instance({"language": "cpp", "executable": exe, "class": "Counter",
                                       "factory": "Counter::FactoryCreateFrom"}, [5])

    def call(method, *args, **kwargs):
        return yr.get(getattr(counter, method).invoke(*args, **kwargs), 60)
    assert call("&Counter::Add", 2) == 7
    bad = {("&Counter::Nope",): "&Counter::Nope is not registered in this executable",
           ("&Blob::Append", "x"): "&Blob::Append is not a method of Counter",
           ("&Counter::Add", 1, 2): "failed to invoke &Counter::Add, exception: expected 1 arguments, got 2",
           ("&Counter::Add", "x"): "failed to invoke &Counter::Add, exception: ",
           ("&Counter::Fail", "disk on fire"): "failed to invoke &Counter::Fail, exception: disk on fire"}
    for _ in range(3):
        for (method, *args), message in bad.items():
            with pytest.raises(yr.YRInvokeError, match=re.escape(message)):
                call(method, *args)
        with pytest.raises(yr.YRInvokeError, match="C\\+\\+ functions take no keyword arguments"):
            call("&Counter::Add", n=1)
        assert call("&Counter::Add", 1) == call("&Counter::Get")
    assert call("&Counter::Get") == 10
    counter.terminate()

    twice = {"language": "cpp", "executable": exe, "function": "Twice"}
    nope = dict(twice, function="Nope")
    for _ in range(3):
        assert _bridge.get(_bridge.invoke_function(twice, ["ab"]), 60) == "abab"
        with pytest.raises(yr.YRInvokeError, match="Nope is not registered in this executable"):
            _bridge.get(_bridge.invoke_function(nope, []), 60)
        with pytest.raises(yr.YRInvokeError, match="expected 1 arguments, got 0"):
            _bridge.get(_bridge.invoke_function(twice, []), 60)
