"""yr._java_host.JavaHost on its own, as a Python worker uses it: one JVM per class path,
Java values and errors, JVM death, shutdown. No runtime involved."""
import os
import sys
from pathlib import Path

import pytest

from _java_support import NEEDS_JAVA

pytestmark = NEEDS_JAVA


@pytest.fixture
def host(monkeypatch):
    monkeypatch.setenv("YR_BRIDGE_MODULE", "fake_bridge")  # Java code calling YR.* would land there
    from yr._java_host import JavaHost
    h = JavaHost(exit_when_jvm_dies=False)
    yield h
    jvms = list(h._jvms.values())
    h.shutdown()
    assert all(j.proc.poll() is not None for j in jvms)


@pytest.fixture
def cp(sdk, programs):
    return sdk.classpath(programs)


def spec(cp, cls, **kw):
    return {"language": "java", "classpath": cp, "class": cls, **kw}


def test_instances_methods_and_functions(host, cp):
    box = host.create_instance(spec(cp, "com.yrtest.Box", constructor="<init>",
                                    signature="(IJDLjava/lang/String;Z)V"), [1, 2, 3.5, "x", False], {})
    assert host.call_method(box, "describe#()Ljava/lang/String;", [], {}) == "1,2,3.5,x,false"
    assert host.call_method(box, "echoInts", [[1, 2]], {}) == [1, 2]
    assert host.call_method(box, "echoMap#(Ljava/util/Map;)Ljava/util/Map;", [{"b": 2, "a": 1}], {}) == {"a": 1, "b": 2}
    assert host.call_method(box, "echoBytes", [b"\x00\x01"], {}) == b"\x00\x01"
    assert host.call_function(spec(cp, "com.yrtest.Fns", function="sum5", signature="(IIIII)I"),
                              [1, 2, 3, 4, 5], {}) == 15
    assert len(host._jvms) == 1  # one JVM per class path


def test_java_exceptions_become_java_errors(host, cp):
    from yr._java_host import JavaError
    box = host.create_instance(spec(cp, "com.yrtest.Box", constructor="<init>", signature="()V"), [], {})
    with pytest.raises(JavaError) as info:
        host.call_method(box, "fail#(Ljava/lang/String;)V", ["bad input"], {})
    e = info.value
    assert (e.code, e.java_class, e.java_message) == (2002, "java.lang.IllegalArgumentException", "bad input")
    assert str(e).startswith("java.lang.IllegalArgumentException: bad input\n\tat com.yrtest.Box.fail")
    with pytest.raises(JavaError, match="cannot convert"):
        host.call_method(box, "echoInt#(I)I", ["not a number"], {})
    with pytest.raises(JavaError, match="no method"):
        host.call_method(box, "missing#()V", [], {})
    with pytest.raises(TypeError):
        host.call_method(box, "echoInt", [1], {"x": 1})


def test_a_dead_jvm_is_reported_and_replaced_for_functions(host, cp):
    from yr._java_host import JavaWorkerDied
    box = host.create_instance(spec(cp, "com.yrtest.Box", constructor="<init>", signature="()V"), [], {})
    with pytest.raises(JavaWorkerDied):
        host.call_method(box, "halt#(I)I", [3], {})
    # A stateless function gets a fresh JVM.
    assert host.call_function(spec(cp, "com.yrtest.Fns", function="zero", signature="()I"), [], {}) == 0


def test_a_class_path_without_the_sdk_gets_the_installed_jars(host, programs, sdk, tmp_path, monkeypatch):
    # Only the user's classes: the host adds the SDK jar scripts/install.sh linked into the
    # environment and py4j's jar, whatever HOME is (an empty one has no ~/.m2).
    monkeypatch.setenv("HOME", str(tmp_path))
    box = host.create_instance(spec(str(programs), "com.yrtest.Counter", constructor="<init>", signature="()V"),
                               [], {})
    assert host.call_method(box, "add#(I)I", [4], {}) == 4
    (jvm,) = host._jvms.values()
    classpath = jvm.proc.args[jvm.proc.args.index("-cp") + 1].split(os.pathsep)
    installed = Path(sys.prefix, "share", "yr", "java", sdk.jar.name)
    assert str(installed) in classpath and installed.resolve() == sdk.jar.resolve()


def test_state_is_saved_and_restored(host, cp):
    tally = host.create_instance(spec(cp, "com.yrtest.Tally", constructor="<init>", signature="()V"), [], {})
    host.call_method(tally, "add#(I)I", [5], {})
    state = host.save_state(tally)
    assert state == {"class": "com.yrtest.Tally", "fields": {"count": 5, "log": ["+5"]}}
    again = host.restore_instance(spec(cp, "com.yrtest.Tally"), state)
    assert host.call_method(again, "add#(I)I", [1], {}) == 6
    assert host.call_method(again, "history", [], {}) == "6 [+5, +1]"


def test_calls_from_several_threads_each_get_their_own_answer(host, cp):
    # The host's calls go over the JVM's call socket, one connection per concurrent caller:
    # answers must never cross between callers, whatever their sizes.
    import threading
    box = host.create_instance(spec(cp, "com.yrtest.Box"), [], {})
    assert host._jvms[cp]._direct   # this SDK's JVM serves the socket (py4j only for older jars)
    problems = []

    def caller(k):
        for i in range(60):
            value = f"{k}-{i}-" + "x" * (k * 5000 + i)
            got = host.call_method(box, "echoString#(Ljava/lang/String;)Ljava/lang/String;", [value], {})
            if got != value:
                problems.append((k, i, len(got)))

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert problems == [] and not any(t.is_alive() for t in threads)
    with pytest.raises(Exception, match="IllegalArgumentException"):
        host.call_method(box, "fail", ["after the burst"], {})   # errors still come back as data
    assert host.call_method(box, "echoInt#(I)I", [3], {}) == 3
