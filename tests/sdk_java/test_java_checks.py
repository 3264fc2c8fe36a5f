"""Java drivers (programs/com/yrtest/Checks.java, built with plain javac) against the real
runtime and against the fake bridge: values, functions, errors, handles, lifecycle. Every
driver must finish in bounded time and leave no bridge process or worker JVM behind."""
import os

from _java_support import NEEDS_JAVA, parse, run_java, wait_no_java_processes

pytestmark = NEEDS_JAVA


def check(sdk, programs, backend, scenario, timeout=120) -> dict:
    proc = run_java(sdk.classpath(programs), "com.yrtest.Checks", scenario, env=backend, timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-6000:]}"
    assert wait_no_java_processes() == []
    return parse(proc.stdout)


def test_values_cross_with_their_declared_types(sdk, programs, backend):
    out = check(sdk, programs, backend, "values")
    assert out == {
        "int": "-7", "long": "1099511627776:Long", "double": "2.5", "float": "1.5:Float",
        "bool": "true", "char": "z", "string": "héllo ✓", "null": "null", "ints": "[1, 2, 3]",
        "strings": "[a, b]", "bytes": "[0, -1, 127]", "big_bytes": "300000:true", "big_string": "true",
        "list": "[x, y]", "map": "{a=1, b=2}",
        "longs": "[0, 1, 2]:Long", "put": "[4, 5]", "put_long": "Long", "ref_arg": "11",
        "chained": "12", "get_list": "[p, 2]", "get_typed_list": "[1, 2]:2", "finalized": "true"}


def test_functions_constructors_and_wait(sdk, programs, backend):
    out = check(sdk, programs, backend, "functions")
    assert out == {
        "zero": "0", "sum5": "15", "hello": "hello yr", "void": "null",
        "ctor5": "1,2,3.5,four,true", "wait": "2/1", "wait_zero": "0/1", "arity.code": "1001",
        "finalized": "true"}


def test_errors_are_yrexceptions_in_bounded_time(sdk, programs, backend):
    out = check(sdk, programs, backend, "errors")
    # A Java exception in a method: code 2002 with the original class name and message.
    assert out["user.code"] == "2002"
    assert out["user.class"] == "java.lang.IllegalArgumentException"
    assert out["user.message"] == "true"
    assert (out["divide.code"], out["divide.class"]) == ("2002", "java.lang.ArithmeticException")
    assert (out["function.code"], out["function.class"]) == ("2002", "java.lang.UnsupportedOperationException")
    assert out["function.message"] == "true"
    assert out["still_usable"] == "1"
    # A constructor that throws: 2002 at the first method get, with its class and message.
    assert (out["ctor.code"], out["ctor.class"], out["ctor.message"]) == (
        "2002", "java.lang.IllegalStateException", "true")
    # A worker JVM that dies takes its instance with it: 1007 (the fake bridge has no
    # workers to end, so there it is a plain 2002).
    assert out["jvm_died.code"] == ("1007" if backend["YR_BACKEND"] == "runtime" else "2002")
    assert out["jvm_died.class"] == "null"
    assert float(out["jvm_died.seconds"]) < 15
    # get timeout: 4005 after about the timeout (1 s), not the method's 20 s.
    assert out["timeout.code"] == "4005"
    assert 0.9 <= float(out["timeout.seconds"]) < 5
    # A terminated instance: 1007 (instance exited) or 9000 (used after terminate).
    assert out["terminated.code"] in ("1007", "9000")
    assert float(out["terminated.seconds"]) < 10
    # A custom resource no node has: 1006 (invalid resource parameter), naming it, at once.
    assert out["resource.code"] == "1006"
    assert out["resource.names_it"] == "true"
    assert float(out["resource.seconds"]) < 10
    for key in ("user", "divide", "function"):
        assert float(out[f"{key}.seconds"]) < 30
    assert out["finalized"] == "true"


def test_labels_and_affinities_reach_the_scheduler(sdk, programs, daemon):
    """Java's addResourceAffinity / addInstanceAffinity / addLabel on the real runtime (the
    fake bridge has no scheduler): a rule the node satisfies runs; one no node can ever
    satisfy fails at once (a ten-minute schedule timeout) naming the rule."""
    env = dict(os.environ, YR_SERVER_ADDRESS=str(daemon.session_dir), YR_BACKEND="runtime")
    env.pop("YR_BRIDGE_MODULE", None)
    out = check(sdk, programs, env, "affinity")
    assert (out["node_id"], out["labelled"], out["near"]) == ("1", "2", "3")
    for key in ("missing", "not_exists", "anti"):
        assert out.get(f"{key}.names_it") == "true", out
        assert float(out[f"{key}.seconds"]) < 30, out
    assert out["finalized"] == "true"


def test_handles_are_usable_in_functions_and_methods(sdk, programs, backend):
    out = check(sdk, programs, backend, "handles")
    assert out == {"add": "3", "function_with_handle": "3", "method_with_handle": "7", "after": "7",
                   "finalized": "true"}


def test_a_handle_created_in_a_worker_comes_back(sdk, programs, backend):
    out = check(sdk, programs, backend, "nested")
    assert out == {"returned_handle": "6", "finalized": "true"}


def test_init_twice_finalize_and_init_again(sdk, programs, backend):
    out = check(sdk, programs, backend, "lifecycle")
    assert out == {"init_twice.code": "4001", "after_finalize.code": "9000", "reinit": "2",
                   "finalized": "true"}


def test_calls_before_init_fail_clearly(sdk, programs, backend):
    assert check(sdk, programs, backend, "before_init") == {"before_init.code": "4001"}


def test_a_driver_without_finalize_still_exits_and_cleans_up(sdk, programs, backend):
    assert check(sdk, programs, backend, "no_finalize", timeout=60) == {"no_finalize": "5"}


def test_a_missing_python_is_a_clear_init_error(sdk, programs):
    env = dict(os.environ, YR_PYTHON="/nonexistent/python3")
    proc = run_java(sdk.classpath(programs), "com.yrtest.Checks", "values", env=env, timeout=60)
    assert proc.returncode != 0
    assert "YRException" in proc.stderr and "YR_PYTHON" in proc.stderr


def test_refs_dropped_by_the_jvm_are_released(sdk, programs, backend):
    out = check(sdk, programs, backend, "release")
    assert out == {"lent_while_held": "true", "lent_after_gc": "5", "kept_still_readable": "400",
                   "finalized": "true"}


def test_config_and_named_instances(sdk, programs, backend):
    out = check(sdk, programs, backend, "config")
    assert out == {"first": "1", "same_instance": "2", "other_instance": "1", "finalized": "true"}


def test_invokes_deferred_to_the_next_crossing_keep_order_errors_and_are_always_sent(
        sdk, programs, backend, tmp_path):
    proc = run_java(sdk.classpath(programs), "com.yrtest.Checks", "deferred", str(tmp_path), env=backend,
                    timeout=180)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-6000:]}"
    assert wait_no_java_processes() == []
    out = parse(proc.stdout)
    assert out.pop("chained.code") in ("9000", "1007") and out.pop("failed.code") in ("9000", "1007")
    assert out == {"burst_in_order": "true", "unawaited_invoke_ran": "true",
                   "tally_after": str(sum(range(1, 1301))), "finalized": "true"}


def test_java_threads_call_concurrently(sdk, programs, backend):
    out = check(sdk, programs, backend, "threads")
    assert out == {"problems": "[]", "shared_total": "600", "interrupted": "601,602,true", "finalized": "true"}


def test_a_recovered_instance_keeps_its_fields(sdk, programs, daemon):
    env = dict(os.environ, YR_SERVER_ADDRESS=str(daemon.session_dir))
    env.pop("YR_BRIDGE_MODULE", None)
    proc = run_java(sdk.classpath(programs), "com.yrtest.Checks", "recover", env=env, timeout=120)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr[-6000:]}"
    assert parse(proc.stdout) == {"before": "3", "after": "4", "history": "4 [+3, +1]", "new_jvm": "true",
                                  "finalized": "true"}
    assert wait_no_java_processes() == []
