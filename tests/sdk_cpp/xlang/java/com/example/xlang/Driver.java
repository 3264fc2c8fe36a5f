package com.example.xlang;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;
import org.yuanrong.function.CppFunction;
import org.yuanrong.function.CppInstanceClass;
import org.yuanrong.function.CppInstanceMethod;
import org.yuanrong.function.PyFunction;
import org.yuanrong.function.PyInstanceClass;
import org.yuanrong.function.PyInstanceMethod;
import org.yuanrong.runtime.client.ObjectRef;

/**
 * The Java driver of the cross-language matrix: calls Python, C++ and Java targets and
 * prints "PASS target case", "FAIL target case: why" and "ERROR target kind code=.. class=..: message".
 */
public final class Driver {
    static final long BIG = (1L << 62) + 7;
    static final String TEXT = "h\u00e9llo \u2713";
    static final byte[] BYTES = {0, (byte) 0xff, 1, ' ', 'r', 'a', 'w'};
    static final List<Long> LIST = List.of(1L, -2L, BIG);
    static final Map<String, Long> MAP = new LinkedHashMap<>(Map.of("a", 1L, "b", -BIG));
    static final Map<String, Object> NESTED = new LinkedHashMap<>(Map.of(
            "k", List.of(Map.of("x", 1.5), Map.of("y", -2.25, "z", 0.0)), "empty", List.of()));

    interface Call {
        ObjectRef<?> invoke(String type, Object arg) throws YRException;
    }

    private Driver() {
    }

    static void check(String target, String name, ObjectRef<?> ref, Object expected) {
        try {
            Object got = YR.get(ref, 60);
            boolean same = same(expected, got);
            System.out.println(same ? "PASS " + target + " " + name
                    : "FAIL " + target + " " + name + ": got " + got + " (" + (got == null ? "null" : got.getClass()) + ")");
        } catch (YRException e) {
            System.out.println("FAIL " + target + " " + name + ": " + e.getMessage().replace('\n', '|'));
        }
    }

    /**
     * Deep equality where integers compare by value: the codec reads an untyped integer that
     * fits as an Integer (docs/java.md), so List.of(1L) comes back as [Integer 1].
     */
    static boolean same(Object a, Object b) {
        if (a instanceof byte[] && b instanceof byte[]) {
            return Arrays.equals((byte[]) a, (byte[]) b);
        }
        if (integral(a) && integral(b)) {
            return ((Number) a).longValue() == ((Number) b).longValue();
        }
        if (a instanceof List && b instanceof List) {
            List<?> x = (List<?>) a;
            List<?> y = (List<?>) b;
            if (x.size() != y.size()) {
                return false;
            }
            for (int i = 0; i < x.size(); i++) {
                if (!same(x.get(i), y.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map && b instanceof Map) {
            Map<?, ?> x = (Map<?, ?>) a;
            Map<?, ?> y = (Map<?, ?>) b;
            if (!x.keySet().equals(y.keySet())) {
                return false;
            }
            for (Object k : x.keySet()) {
                if (!same(x.get(k), y.get(k))) {
                    return false;
                }
            }
            return true;
        }
        return Objects.equals(a, b);
    }

    static boolean integral(Object o) {
        return o instanceof Long || o instanceof Integer || o instanceof Short || o instanceof Byte;
    }

    static void error(String target, String kind, ObjectRef<?> ref) {
        try {
            YR.get(ref, 60);
            System.out.println("FAIL " + target + " " + kind + ": no error");
        } catch (YRException e) {
            System.out.println("ERROR " + target + " " + kind + " code=" + e.getErrorCode() + " class="
                    + e.getRemoteClassName() + ": " + String.valueOf(e.getErrorMessage()).replace('\n', '|'));
        }
    }

    static void echoAll(String target, Call fn, Call method) throws YRException {
        Object[][] cases = {{"bool", true}, {"int", BIG}, {"double", 2.5}, {"str", TEXT}, {"bytes", BYTES},
            {"list", LIST}, {"map", MAP}, {"nested", NESTED}, {"null", null}};
        for (Object[] c : cases) {
            check(target, "fn-" + c[0], fn.invoke((String) c[0], c[1]), c[1]);
        }
        for (Object[] c : cases) {
            check(target, "method-" + c[0], method.invoke((String) c[0], c[1]), c[1]);
        }
    }

    static void callPython() throws YRException {
        InstanceHandler counter = YR.instance(PyInstanceClass.of("pytargets", "Counter")).invoke(10L);
        check("python", "method-add", counter.function(PyInstanceMethod.of("add", Long.class)).invoke(5L), 15L);
        echoAll("python", (t, x) -> YR.function(PyFunction.of("pytargets", "echo")).invoke(x),
                (t, x) -> counter.function(PyInstanceMethod.of("echo")).invoke(x));
        error("python", "fn-error", YR.function(PyFunction.of("pytargets", "fail", String.class)
                .setUrn("sn:cn:yrk:default:function:0-yr-py:$latest")).invoke("boom"));
        error("python", "method-error", counter.function(PyInstanceMethod.of("fail", String.class)).invoke("bang"));
        counter.terminate();
    }

    /** C++ is typed: one echo function (and method) per type, e.g. EchoInt, &Box::EchoInt. */
    static final Map<String, String> CPP_NAMES = Map.of("bool", "EchoBool", "int", "EchoInt", "double", "EchoDouble",
            "str", "EchoStr", "bytes", "EchoStr", "list", "EchoList", "map", "EchoMap", "nested", "EchoNested",
            "null", "EchoNull");

    static Class<?> cppType(String t) {
        return t.equals("bytes") ? byte[].class : Object.class;
    }

    static void callCpp() throws YRException {
        InstanceHandler box = YR.instance(CppInstanceClass.of("Box", "Box::FactoryCreate"))
                .setUrn("sn:cn:yrk:default:function:0-yr-cpp:$latest").invoke(10L);
        check("cpp", "method-add", box.function(CppInstanceMethod.of("&Box::Add", Long.class)).invoke(5L), 15L);
        echoAll("cpp", (t, x) -> YR.function(CppFunction.of(CPP_NAMES.get(t), cppType(t))).invoke(x),
                (t, x) -> box.function(CppInstanceMethod.of("&Box::" + CPP_NAMES.get(t), cppType(t))).invoke(x));
        error("cpp", "fn-error", YR.function(CppFunction.of("Fail", String.class)).invoke("boom"));
        error("cpp", "method-error", box.function(CppInstanceMethod.of("&Box::Fail", String.class)).invoke("bang"));
        box.terminate();
    }

    static void callJava() throws YRException {
        InstanceHandler counter = YR.instance(Counter::new).invoke(10L);
        check("java", "method-add", counter.function(Counter::add).invoke(5L), 15L);
        echoAll("java", (t, x) -> YR.function(Targets::echo).invoke(x),
                (t, x) -> counter.function(Counter::echo).invoke(x));
        error("java", "fn-error", YR.function(Targets::fail).invoke("boom"));
        error("java", "method-error", counter.function(Counter::fail).invoke("bang"));
        counter.terminate();
    }

    interface RefCall {
        ObjectRef<?> call() throws YRException;
    }

    /** Calls per second of `call`: synchronous, then n invokes and one get; JSON lines. */
    static void rate(String metric, int n, RefCall call) throws YRException {
        for (int i = 0; i < 50; i++) {
            YR.get(call.call(), 60);
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            YR.get(call.call(), 60);
        }
        double sync = n / ((System.nanoTime() - t0) / 1e9);
        t0 = System.nanoTime();
        java.util.List<ObjectRef> refs = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            refs.add(call.call());
        }
        YR.get(refs, 300);
        double async = n / ((System.nanoTime() - t0) / 1e9);
        System.out.printf("{\"metric\": \"%s_sync\", \"value\": %.1f, \"unit\": \"calls/s\", \"n\": %d}%n", metric, sync, n);
        System.out.printf("{\"metric\": \"%s_async\", \"value\": %.1f, \"unit\": \"calls/s\", \"n\": %d}%n", metric, async, n);
    }

    static void bench(int n) throws YRException {
        InstanceHandler py = YR.instance(PyInstanceClass.of("pytargets", "Counter")).invoke(0L);
        rate("java_to_python_method", n, () -> py.function(PyInstanceMethod.of("add", Long.class)).invoke(1L));
        InstanceHandler box = YR.instance(CppInstanceClass.of("Box", "Box::FactoryCreate")).invoke(0L);
        rate("java_to_cpp_method", n, () -> box.function(CppInstanceMethod.of("&Box::Add", Long.class)).invoke(1L));
        InstanceHandler counter = YR.instance(Counter::new).invoke(0L);
        rate("java_to_java_method", n, () -> counter.function(Counter::add).invoke(1L));
        py.terminate();
        box.terminate();
        counter.terminate();
    }

    public static void main(String[] args) throws YRException {
        String which = args.length > 0 ? args[0] : "all";
        YR.init();
        try {
            if (which.equals("bench")) {
                bench(args.length > 1 ? Integer.parseInt(args[1]) : 1000);
            }
            if (which.equals("all") || which.equals("python")) {
                callPython();
            }
            if (which.equals("all") || which.equals("cpp")) {
                callCpp();
            }
            if (which.equals("all") || which.equals("java")) {
                callJava();
            }
        } finally {
            YR.Finalize();
        }
        System.out.println("done");
    }
}
