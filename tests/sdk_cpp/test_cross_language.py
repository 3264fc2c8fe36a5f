"""The cross-language matrix (issue 14): Python, C++ and Java drivers each call a function
and an instance method of each language, passing and returning every portable value
(None/null, bool, 64-bit int, double, text, bytes, list, map with string keys, nested),
and an error that must arrive with its original type name, message and traceback text.

Real parts only: the runtime of tests/conftest.py, the C++ SDK built from sdk_cpp/ (the
cpp_prefix fixture), a C++ program built with g++ (tests/sdk_cpp/xlang/xlang.cpp, the C++
targets and the C++ driver), the Java SDK built with Maven and Java classes compiled with
javac (tests/sdk_cpp/xlang/java), Python targets imported by name (xlang/pytargets.py).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import yr

ROOT = Path(__file__).resolve().parents[2]
XLANG = Path(__file__).resolve().parent / "xlang"
JAVA_SDK = ROOT / "sdk_java"

# The builds (libyr, xlang.cpp, the Java SDK) run in the first test's setup.
pytestmark = [pytest.mark.skipif(shutil.which("mvn") is None or shutil.which("javac") is None,
                                 reason="needs mvn and a JDK"), pytest.mark.timeout(900)]


def _run(cmd, timeout) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc

BIG = (1 << 62) + 7
TEXT = "h\u00e9llo \u2713"
BYTES = b"\x00\xff\x01 raw"
VALUES = {"bool": True, "int": BIG, "double": 2.5, "str": TEXT, "bytes": BYTES, "list": [1, -2, BIG],
          "map": {"a": 1, "b": -BIG}, "nested": {"k": [{"x": 1.5}, {"y": -2.25, "z": 0.0}], "empty": []},
          "null": None}
CPP_ECHO = {"bool": "EchoBool", "int": "EchoInt", "double": "EchoDouble", "str": "EchoStr", "bytes": "EchoStr",
            "list": "EchoList", "map": "EchoMap", "nested": "EchoNested", "null": "EchoNull"}
ECHO_CASES = {f"{kind}-{v}" for kind in ("fn", "method") for v in VALUES} | {"method-add"}


@pytest.fixture(scope="module")
def xlang_exe(cpp_prefix, tmp_path_factory) -> Path:
    """xlang.cpp built with the g++ one-liner of docs/cpp.md."""
    out = tmp_path_factory.mktemp("xlang-cpp") / "xlang"
    flags = _run([str(cpp_prefix / "bin" / "yr-config"), "--cflags", "--libs"], timeout=60).stdout.split()
    _run(["g++", "-std=c++17", "-O1", str(XLANG / "xlang.cpp"), "-o", str(out), *flags], timeout=900)
    return out


@pytest.fixture(scope="module")
def java_cp(tmp_path_factory) -> str:
    """The Java SDK (mvn install) and the matrix's classes (javac): the class path of Java
    drivers and of the Java targets ($YR_JAVA_CODE_PATH)."""
    offline = subprocess.run(["mvn", "-B", "-q", "-o", "-f", str(JAVA_SDK / "pom.xml"), "install", "-DskipTests"],
                             capture_output=True, text=True, timeout=900)
    if offline.returncode != 0:
        _run(["mvn", "-B", "-q", "-f", str(JAVA_SDK / "pom.xml"), "install", "-DskipTests"], timeout=900)
    jars = [str(JAVA_SDK / "target" / "yr-sdk-0.1.0.jar"), str(next((JAVA_SDK / "target" / "lib").glob("py4j-*.jar")))]
    out = tmp_path_factory.mktemp("xlang-java")
    _run(["javac", "-nowarn", "-d", str(out), "-cp", os.pathsep.join(jars),
          *map(str, sorted((XLANG / "java").rglob("*.java")))], timeout=300)
    return os.pathsep.join([str(out), *jars])


@pytest.fixture
def code_paths(monkeypatch, xlang_exe, java_cp):
    """Where the targets' code is, for this process (a Python driver) and the drivers it starts."""
    monkeypatch.setenv("YR_CPP_CODE_PATH", str(xlang_exe))
    monkeypatch.setenv("YR_JAVA_CODE_PATH", java_cp)
    monkeypatch.syspath_prepend(str(XLANG))
    return xlang_exe, java_cp


@pytest.fixture
def py_driver(code_paths, driver):
    return code_paths


def run_driver(cmd, daemon, timeout=240) -> list[str]:
    """Runs a C++ or Java driver in xlang/ (the import path of the Python targets)."""
    env = dict(os.environ, YR_SERVER_ADDRESS=str(daemon.session_dir), YR_PYTHON=sys.executable)
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, env=env, cwd=XLANG)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout.splitlines()


def results(lines: list[str], target: str) -> tuple[set, dict]:
    failed = [line for line in lines if line.startswith("FAIL")]
    assert not failed, "\n".join(failed)
    passed = {line.split()[2] for line in lines if line.startswith(f"PASS {target} ")}
    errors = {line.split()[2]: line for line in lines if line.startswith(f"ERROR {target} ")}
    return passed, errors


# ---- Python calls Python, C++ and Java -------------------------------------------------------

def test_python_calls_cpp_functions_and_methods_with_every_portable_value(py_driver):
    for kind, value in VALUES.items():
        assert yr.get(yr.cpp_function(CPP_ECHO[kind]).invoke(value), 60) == value, kind
    box = yr.cpp_instance_class("Box", "Box::FactoryCreate").invoke(10)
    assert yr.get(box.Add.invoke(5), 60) == 15
    for kind, value in VALUES.items():
        assert yr.get(getattr(box, CPP_ECHO[kind]).invoke(value), 60) == value, kind
    assert yr.get(getattr(box, "&Box::Add").invoke(1), 60) == 16     # the registered name works too
    with pytest.raises(yr.YRInvokeError) as err:
        yr.get(yr.cpp_function("Fail").invoke("boom"), 60)
    assert "failed to invoke Fail, exception: cpp says boom" in str(err.value)
    assert err.value.cause.cpp_type == "std::invalid_argument"
    with pytest.raises(yr.YRInvokeError) as err:
        yr.get(box.Fail.invoke("bang"), 60)
    assert "failed to invoke &Box::Fail, exception: cpp box says bang" in str(err.value)
    assert err.value.cause.cpp_type == "std::out_of_range"
    box.terminate()


def test_python_calls_java_functions_and_methods_with_every_portable_value(py_driver):
    echo = yr.java_function("com.example.xlang.Targets", "echo")
    refs = {kind: echo.invoke(value) for kind, value in VALUES.items()}
    assert {k: yr.get(r, 60) for k, r in refs.items()} == VALUES
    counter = yr.java_instance_class("com.example.xlang.Counter").options(yr.InvokeOptions(cpu=300)).invoke(10)
    assert yr.get(counter.add.invoke(5), 60) == 15
    for kind, value in VALUES.items():
        assert yr.get(counter.echo.invoke(value), 60) == value, kind
    with pytest.raises(yr.YRInvokeError) as err:
        yr.get(yr.java_function("com.example.xlang.Targets", "fail").invoke("boom"), 60)
    assert "java.lang.IllegalStateException: java says boom" in str(err.value)
    assert "at com.example.xlang.Targets.fail(Targets.java" in str(err.value)   # the Java stack trace
    with pytest.raises(yr.YRInvokeError) as err:
        yr.get(counter.fail.invoke("bang"), 60)
    assert "java.lang.UnsupportedOperationException: java counter says bang" in str(err.value)
    counter.terminate()


def test_python_calls_python_by_yr_api_with_every_portable_value(py_driver):
    import pytargets
    echo = yr.invoke(pytargets.echo)
    assert {k: yr.get(echo.invoke(v), 60) for k, v in VALUES.items()} == VALUES
    counter = yr.instance(pytargets.Counter).invoke(10)
    assert yr.get(counter.add.invoke(5), 60) == 15
    assert {k: yr.get(counter.echo.invoke(v), 60) for k, v in VALUES.items()} == VALUES
    with pytest.raises(ValueError, match="python says boom"):
        yr.get(yr.invoke(pytargets.fail).invoke("boom"), 60)
    counter.terminate()


def test_handles_cross_languages(py_driver):
    """A Python handle to a C++ instance given to a Java function (which calls it), a handle to
    a Python instance given to Java, and a C++ handle given to a Python function by name."""
    import pytargets
    box = yr.cpp_instance_class("Box", "Box::FactoryCreate").invoke(100)
    counter = yr.instance(pytargets.Counter).invoke(1)
    assert yr.get(yr.java_function("com.example.xlang.Targets", "addViaCpp").invoke(box, 5), 60) == 105
    assert yr.get(yr.java_function("com.example.xlang.Targets", "addViaPython").invoke(counter, 2), 60) == 3
    assert yr.get(yr.invoke(pytargets.add_via).invoke(box, "Add", 1), 60) == 106
    ref = yr.put([1, 2, 3])
    assert yr.get(yr.cpp_function("EchoList").invoke(ref), 60) == [1, 2, 3]   # a ref resolves before the call
    box.terminate()
    counter.terminate()


def test_values_that_cannot_cross_fail_at_the_call_naming_their_type(py_driver):
    echo = yr.java_function("com.example.xlang.Targets", "echo")
    for bad, named in [({1, 2}, "set"), (object(), "object"), (1 << 70, "does not fit in 64 bits"),
                       ({1: "a"}, "dict key of type int"), ([1, {"k": {2.5}}], "set"),
                       (pytest, "module")]:
        with pytest.raises(yr.YRTypeError, match=re.escape(named)):
            echo.invoke(bad)
        with pytest.raises(yr.YRTypeError, match=re.escape(named)):
            yr.cpp_function("EchoInt").invoke(bad)
    with pytest.raises(yr.YRTypeError, match=r"argument\[1\]\['k'\]"):
        echo.invoke(1, {"k": {2.5}})
    with pytest.raises(yr.YRValueError, match="keyword arguments"):
        echo.invoke(x=1)


def test_missing_code_names_what_was_looked_for_and_where(driver, monkeypatch, tmp_path):
    monkeypatch.delenv("YR_CPP_CODE_PATH", raising=False)
    monkeypatch.delenv("YR_JAVA_CODE_PATH", raising=False)
    with pytest.raises(yr.YRValueError, match=r"no C\+\+ code: set \$YR_CPP_CODE_PATH or Config.cpp_code_path"):
        yr.cpp_function("EchoInt").invoke(1)
    with pytest.raises(yr.YRValueError, match=r"no Java code: set \$YR_JAVA_CODE_PATH"):
        yr.java_instance_class("com.example.Nope").invoke()
    monkeypatch.setenv("YR_CPP_CODE_PATH", str(tmp_path / "nowhere"))
    with pytest.raises(yr.YRValueError, match=rf"C\+\+ code path {re.escape(str(tmp_path / 'nowhere'))} "
                                              r"\(from \$YR_CPP_CODE_PATH\) does not exist"):
        yr.cpp_instance_class("Box", "Box::FactoryCreate").invoke(1)
    monkeypatch.setenv("YR_JAVA_CODE_PATH", str(tmp_path))
    with pytest.raises(yr.YRInvokeError, match=r"class com.example.Nope is not on the worker class path \("
                                               + re.escape(str(tmp_path))):
        yr.get(yr.java_function("com.example.Nope", "f").invoke(1), 60)


def test_code_paths_from_config(daemon, monkeypatch, xlang_exe, java_cp):
    """Config.cpp_code_path / java_code_path, without the environment variables."""
    monkeypatch.delenv("YR_CPP_CODE_PATH", raising=False)
    monkeypatch.delenv("YR_JAVA_CODE_PATH", raising=False)
    yr.init(daemon.config(cpp_code_path=str(xlang_exe.parent), java_code_path=java_cp))
    try:
        assert yr.get(yr.cpp_function("EchoInt").invoke(-7), 60) == -7   # a directory holding one executable
        assert yr.get(yr.java_function("com.example.xlang.Targets", "echo").invoke("j"), 60) == "j"
    finally:
        yr.finalize()


def test_python_targets_by_name_report_missing_modules_and_names(py_driver):
    import yr._bridge as b
    with pytest.raises(yr.YRInvokeError, match=r"no Python module 'no_such_module' on the import path \(looked in "):
        b.get(b.invoke_function({"language": "python", "module": "no_such_module", "function": "f"}, [1]), 60)
    with pytest.raises(yr.YRInvokeError, match=r"Python module 'pytargets' \(.*pytargets.py\) has no 'nope'"):
        b.get(b.invoke_function({"language": "python", "module": "pytargets", "function": "nope"}, [1]), 60)


def test_urns_are_accepted_and_not_required(py_driver):
    urn = "sn:cn:yrk:default:function:0-yr-defaultservice-cpp:$latest"
    assert yr.get(yr.cpp_function("EchoInt", urn).invoke(3), 60) == 3
    assert yr.get(yr.cpp_function("EchoInt").set_urn(urn).invoke(4), 60) == 4
    box = yr.cpp_instance_class("Box", "Box::FactoryCreate", urn).invoke(1)
    assert yr.get(box.Add.invoke(1), 60) == 2
    box.terminate()


# ---- C++ calls Python, Java and C++ ----------------------------------------------------------

@pytest.mark.parametrize("target", ["python", "java", "cpp"])
def test_cpp_driver_calls(target, daemon, code_paths, no_process_left):
    exe, _ = code_paths
    try:
        lines = run_driver([exe, "driver", target], daemon)
    finally:
        no_process_left(exe)
    passed, errors = results(lines, target)
    if target == "cpp":
        assert passed == {"method-add", "fn-int", "fn-bytes", "fn-nested", "fn-null", "method-map", "method-list"}
        assert "failed to invoke Fail, exception: cpp says boom" in errors["fn-error"]
        assert "failed to invoke &Box::Fail, exception: cpp box says bang" in errors["method-error"]
        return
    assert passed == ECHO_CASES
    if target == "python":
        assert re.search(r"code=2002: ValueError: python says boom\|.*Traceback .*pytargets.py", errors["fn-error"])
        assert re.search(r"code=2002: KeyError: 'python counter says bang'\|.*Traceback", errors["method-error"])
        assert re.search(r"no Python module 'no_such_module' on the import path", errors["missing-module"])
    else:
        assert re.search(r"code=2002: java.lang.IllegalStateException: java says boom\|\s*at com.example.xlang."
                         r"Targets.fail", errors["fn-error"])
        assert "java.lang.UnsupportedOperationException: java counter says bang" in errors["method-error"]
        assert "class com.example.Missing is not on the worker class path" in errors["missing-class"]


# ---- Java calls Python, C++ and Java ---------------------------------------------------------

@pytest.mark.parametrize("target", ["python", "cpp", "java"])
def test_java_driver_calls(target, daemon, code_paths):
    _, java_cp = code_paths
    lines = run_driver(["java", "-cp", java_cp, "com.example.xlang.Driver", target], daemon)
    assert lines[-1] == "done"
    passed, errors = results(lines, target)
    assert passed == ECHO_CASES
    if target == "python":
        assert re.search(r"code=2002 class=ValueError: ValueError: python says boom\|.*Traceback", errors["fn-error"])
        assert "class=KeyError: KeyError: 'python counter says bang'" in errors["method-error"]
    elif target == "cpp":
        assert "code=2002 class=std::invalid_argument: failed to invoke Fail, exception: cpp says boom" in errors["fn-error"]
        assert "class=std::out_of_range: failed to invoke &Box::Fail, exception: cpp box says bang" in errors["method-error"]
    else:
        assert "class=java.lang.IllegalStateException" in errors["fn-error"]
        assert "class=java.lang.UnsupportedOperationException" in errors["method-error"]


# ---- examples/cross_language: one program per direction ---------------------------------------

EXAMPLES = ROOT / "examples" / "cross_language"


@pytest.fixture(scope="module")
def examples_built(cpp_prefix, java_cp, tmp_path_factory) -> dict:
    """The examples built as their README says (g++ one-liners, javac)."""
    out = tmp_path_factory.mktemp("xlang-examples")
    flags = _run([str(cpp_prefix / "bin" / "yr-config"), "--cflags", "--libs"], timeout=60).stdout.split()
    exes = {}
    for name in ("targets", "cpp_calls_python", "cpp_calls_java"):
        exes[name] = out / name
        _run(["g++", "-std=c++17", "-O1", str(EXAMPLES / f"{name}.cpp"), "-o", str(exes[name]), *flags], timeout=900)
    jars = java_cp.split(os.pathsep)[1:]
    _run(["javac", "-nowarn", "-d", str(out / "classes"), "-cp", os.pathsep.join(jars),
          *map(str, sorted((EXAMPLES / "java").rglob("*.java")))], timeout=300)
    return {**exes, "cp": os.pathsep.join([str(out / "classes"), *jars])}


@pytest.mark.parametrize("direction, expected", [
    ("python_calls_cpp", "49\n12"), ("python_calls_java", "hello yr\n12"), ("cpp_calls_python", "5\n12"),
    ("cpp_calls_java", "hello yr\n12"), ("JavaCallsPython", "5\n12"), ("JavaCallsCpp", "49\n12")])
def test_examples(direction, expected, examples_built, daemon, no_process_left):
    env = dict(os.environ, YR_SERVER_ADDRESS=str(daemon.session_dir), YR_PYTHON=sys.executable,
               YR_CPP_CODE_PATH=str(examples_built["targets"]), YR_JAVA_CODE_PATH=examples_built["cp"])
    if direction.startswith("python"):
        cmd = [sys.executable, str(EXAMPLES / f"{direction}.py")]
    elif direction.startswith("cpp"):
        cmd = [str(examples_built[direction])]
    else:
        cmd = ["java", "-cp", examples_built["cp"], f"com.example.{direction}"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=EXAMPLES)
    finally:
        no_process_left(examples_built["targets"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == expected, proc.stderr[-3000:]
