package com.yrtest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yuanrong.Config;
import org.yuanrong.InvokeOptions;
import org.yuanrong.affinity.AffinityType;
import org.yuanrong.affinity.LabelOperator;
import org.yuanrong.affinity.OperatorType;
import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;
import org.yuanrong.function.YRFunc0;
import org.yuanrong.function.YRFunc5;
import org.yuanrong.runtime.bridge.Link;
import org.yuanrong.runtime.client.ObjectRef;
import org.yuanrong.storage.WaitResult;

/**
 * End-to-end checks run by tests/sdk_java/test_java_e2e.py: {@code Checks <scenario>}
 * prints one "key=value" line per check; the test compares them. Box has two
 * constructors, so its constructor references are cast to pick one (as in openYuanrong).
 */
public class Checks {
    private static long t0;

    private static void out(String key, Object value) {
        System.out.println(key + "=" + value);
        System.out.flush();
    }

    private static String seconds() {
        return String.format("%.1f", (System.nanoTime() - t0) / 1e9);
    }

    private static void error(String key, YRException e) {
        out(key + ".code", e.getErrorCode());
        out(key + ".class", e.getRemoteClassName());
        out(key + ".seconds", seconds());
        System.err.println(key + ": " + e.getMessage());
    }

    public static void main(String[] args) throws Exception {
        String scenario = args[0];
        if (scenario.equals("before_init")) {
            try {
                YR.put(1);
            } catch (YRException e) {
                out("before_init.code", e.getErrorCode());
            }
            return;
        }
        if (scenario.equals("config")) {
            config();
            return;
        }
        YR.init();
        switch (scenario) {
            case "values":
                values();
                break;
            case "functions":
                functions();
                break;
            case "errors":
                errors();
                break;
            case "handles":
                handles();
                break;
            case "nested":
                nested();
                break;
            case "lifecycle":
                lifecycle();
                break;
            case "release":
                release();
                break;
            case "deferred":
                deferred(args[1]);
                break;
            case "threads":
                threads();
                break;
            case "recover":
                recover();
                break;
            case "no_finalize":
                InstanceHandler c = YR.instance(Counter::new).invoke();
                out("no_finalize", YR.get(c.function(Counter::add).invoke(5), 30));
                return; // no terminate, no Finalize: the shutdown hook must clean up
            case "affinity":
                affinity();
                break;
            case "killed":
                InstanceHandler k = YR.instance(Counter::new).invoke();
                out("killed.ready", YR.get(k.function(Counter::add).invoke(1), 30));
                Thread.sleep(600_000); // the test kills this JVM
                return;
            default:
                throw new IllegalArgumentException(scenario);
        }
        YR.Finalize();
        out("finalized", true);
    }

    private static void values() throws YRException {
        InstanceHandler box = YR.instance((YRFunc0<Box>) Box::new).invoke();
        out("int", YR.get(box.function(Box::echoInt).invoke(-7), 30));
        Object l = YR.get(box.function(Box::echoLong).invoke(1L << 40), 30);
        out("long", l + ":" + l.getClass().getSimpleName());
        out("double", YR.get(box.function(Box::echoDouble).invoke(2.5), 30));
        Object f = YR.get(box.function(Box::echoFloat).invoke(1.5f), 30);
        out("float", f + ":" + f.getClass().getSimpleName());
        out("bool", YR.get(box.function(Box::echoBool).invoke(true), 30));
        out("char", YR.get(box.function(Box::echoChar).invoke('z'), 30));
        out("string", YR.get(box.function(Box::echoString).invoke("héllo ✓"), 30));
        out("null", YR.get(box.function(Box::echoNull).invoke((Object) null), 30));
        out("ints", Arrays.toString(YR.get(box.function(Box::echoInts).invoke(new int[] {1, 2, 3}), 30)));
        out("strings", Arrays.toString(YR.get(box.function(Box::echoStrings).invoke((Object) new String[] {"a", "b"}), 30)));
        out("bytes", Arrays.toString(YR.get(box.function(Box::echoBytes).invoke(new byte[] {0, -1, 127}), 30)));
        // Larger than every read buffer on the way (the driver's answer buffer, the bridge's
        // frame buffer, the worker's buffer for its JVM's answer): each reads it whole.
        byte[] big = new byte[300_000];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31 + 7);
        }
        byte[] bigBack = YR.get(box.function(Box::echoBytes).invoke(big), 30);
        out("big_bytes", bigBack.length + ":" + Arrays.equals(big, bigBack));
        String text = "é✓x".repeat(30_000);
        out("big_string", YR.get(box.function(Box::echoString).invoke(text), 30).equals(text));
        out("list", YR.get(box.function(Box::echoList).invoke(List.of("x", "y")), 30));
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("b", 2);
        m.put("a", 1);
        out("map", YR.get(box.function(Box::echoMap).invoke(m), 30));
        List<Long> longs = YR.get(box.function(Box::longs).invoke(3), 30);
        out("longs", longs + ":" + longs.get(0).getClass().getSimpleName());
        ObjectRef<int[]> put = YR.put(new int[] {4, 5});
        out("put", Arrays.toString(YR.get(put, 30)));
        out("put_long", YR.get(YR.put(7L), 30).getClass().getSimpleName());
        out("ref_arg", YR.get(box.function(Box::echoInt).invoke(YR.put(11)), 30));
        ObjectRef chained = box.function(Box::echoInt).invoke(box.function(Box::echoInt).invoke(12));
        out("chained", YR.get(chained, 30));
        List<ObjectRef> refs = new ArrayList<>();
        refs.add(box.function(Box::echoString).invoke("p"));
        refs.add(box.function(Box::echoInt).invoke(2));
        out("get_list", YR.get(refs, 30));
        List<ObjectRef<Integer>> typed = List.of(box.function(Box::echoInt).invoke(1), box.function(Box::echoInt).invoke(2));
        out("get_typed_list", YR.get(typed, 30) + ":" + YR.wait(typed, 2, 30).getReady().size());
        box.terminate();
    }

    private static void functions() throws YRException {
        out("zero", YR.get(YR.function(Fns::zero).invoke(), 30));
        out("sum5", YR.get(YR.function(Fns::sum5).invoke(1, 2, 3, 4, 5), 30));
        out("hello", YR.get(YR.function(Fns::hello).invoke("yr"), 30));
        out("void", YR.get(YR.function(Fns::noop).invoke(), 30));
        InstanceHandler box = YR.instance((YRFunc5<Integer, Long, Double, String, Boolean, Box>) Box::new)
                .invoke(1, 2L, 3.5, "four", true);
        out("ctor5", YR.get(box.function(Box::describe).invoke(), 30));
        List<ObjectRef> refs = new ArrayList<>();
        refs.add(box.function(Box::sleepMs).invoke(0));
        refs.add(box.function(Box::sleepMs).invoke(0));
        refs.add(box.function(Box::sleepMs).invoke(4000));
        t0 = System.nanoTime();
        WaitResult w = YR.wait(refs, 2, 30);
        out("wait", w.getReady().size() + "/" + w.getUnready().size());
        WaitResult none = YR.wait(List.of(refs.get(2)), 1, 0);
        out("wait_zero", none.getReady().size() + "/" + none.getUnready().size());
        try {
            YR.function(Fns::sum5).invoke(1, 2);
        } catch (YRException e) {
            out("arity.code", e.getErrorCode());
        }
        box.terminate();
    }

    private static void errors() throws YRException {
        InstanceHandler box = YR.instance((YRFunc0<Box>) Box::new).invoke();
        t0 = System.nanoTime();
        try {
            YR.get(box.function(Box::fail).invoke("boom-42"), 30);
            out("user", "no exception");
        } catch (YRException e) {
            error("user", e);
            out("user.message", e.getMessage().contains("java.lang.IllegalArgumentException: boom-42"));
        }
        t0 = System.nanoTime();
        try {
            YR.get(box.function(Box::divide).invoke(1, 0), 30);
            out("divide", "no exception");
        } catch (YRException e) {
            error("divide", e);
        }
        t0 = System.nanoTime();
        try {
            YR.get(YR.function(Fns::boom).invoke(3), 30);
            out("function", "no exception");
        } catch (YRException e) {
            error("function", e);
            out("function.message", e.getMessage().contains("no 3"));
        }
        out("still_usable", YR.get(box.function(Box::echoInt).invoke(1), 30));
        t0 = System.nanoTime();
        try {
            InstanceHandler bad = YR.instance(BadInit::new).invoke();
            YR.get(bad.function(BadInit::get).invoke(), 30);
            out("ctor", "no exception");
        } catch (YRException e) {
            error("ctor", e);
            out("ctor.message", e.getMessage().contains("cannot start: no config"));
        }
        t0 = System.nanoTime();
        try {
            YR.get(box.function(Box::sleepMs).invoke(20000), 1);
            out("timeout", "no exception");
        } catch (YRException e) {
            error("timeout", e);
        }
        InstanceHandler c = YR.instance(Counter::new).invoke();
        YR.get(c.function(Counter::add).invoke(1), 30);
        c.terminate();
        t0 = System.nanoTime();
        try {
            YR.get(c.function(Counter::add).invoke(1), 30);
            out("terminated", "no exception");
        } catch (YRException e) {
            error("terminated", e);
        }
        t0 = System.nanoTime();
        try {
            InvokeOptions opt = new InvokeOptions.Builder().addCustomResource("no_such_resource", 1.0f).build();
            InstanceHandler h = YR.instance(Counter::new).options(opt).invoke();
            YR.get(h.function(Counter::add).invoke(1), 30);
            out("resource", "no exception");
        } catch (YRException e) {
            error("resource", e);
            out("resource.names_it", e.getMessage().contains("no_such_resource"));
        }
        // Last: with the fake bridge all instances share one JVM, and this one kills it.
        t0 = System.nanoTime();
        try {
            InstanceHandler doomed = YR.instance((YRFunc0<Box>) Box::new).invoke();
            YR.get(doomed.function(Box::halt).invoke(3), 30);
            out("jvm_died", "no exception");
        } catch (YRException e) {
            error("jvm_died", e);
        }
        box.terminate();
    }

    /** Labels and affinities against the shared test runtime: one node, no labels but NODE_ID. */
    private static void affinity() throws YRException {
        InvokeOptions onANode = new InvokeOptions.Builder().addResourceAffinity(AffinityType.REQUIRED,
                List.of(new LabelOperator(OperatorType.LABEL_EXISTS, "NODE_ID"))).build();
        InstanceHandler ok = YR.instance(Counter::new).options(onANode).invoke();
        out("node_id", YR.get(ok.function(Counter::add).invoke(1), 30));
        InstanceHandler db = YR.instance(Counter::new).options(new InvokeOptions.Builder()
                .addLabel("javadb").build()).invoke();
        out("labelled", YR.get(db.function(Counter::add).invoke(2), 30));
        InstanceHandler near = YR.instance(Counter::new).options(new InvokeOptions.Builder()
                .addInstanceAffinity(AffinityType.REQUIRED,
                        List.of(new LabelOperator(OperatorType.LABEL_EXISTS, "javadb"))).build()).invoke();
        out("near", YR.get(near.function(Counter::add).invoke(3), 30));
        // Rules no node can ever satisfy, with a ten-minute schedule timeout: the error must
        // come from the labels at once, not from the timeout.
        String[][] impossible = {
            {"missing", "REQUIRED", "LABEL_IN", "zone", "mars"},
            {"not_exists", "REQUIRED", "LABEL_NOT_EXISTS", "NODE_ID"},
            {"anti", "REQUIRED_ANTI", "LABEL_EXISTS", "NODE_ID"},
        };
        for (String[] r : impossible) {
            t0 = System.nanoTime();
            List<String> values = r.length > 4 ? List.of(r[4]) : List.of();
            InvokeOptions opt = new InvokeOptions.Builder().scheduleTimeoutMs(600_000)
                    .addResourceAffinity(AffinityType.valueOf(r[1]),
                            List.of(new LabelOperator(OperatorType.valueOf(r[2]), r[3], values))).build();
            try {
                InstanceHandler h = YR.instance(Counter::new).options(opt).invoke();
                YR.get(h.function(Counter::add).invoke(1), 60);
                out(r[0], "no exception");
            } catch (YRException e) {
                error(r[0], e);
                String rule = r[2] + "(" + r[3] + (values.isEmpty() ? "" : ", " + values) + ")";
                out(r[0] + ".names_it", e.getMessage().contains(r[1] + " RESOURCE affinity")
                        && e.getMessage().contains(rule));
            }
        }
        for (InstanceHandler h : List.of(near, db, ok)) {
            h.terminate();
        }
    }

    private static void handles() throws YRException {
        InstanceHandler counter = YR.instance(Counter::new).invoke();
        out("add", YR.get(counter.function(Counter::add).invoke(3), 30));
        out("function_with_handle", YR.get(YR.function(Fns::readCounter).invoke(counter), 30));
        InstanceHandler box = YR.instance((YRFunc0<Box>) Box::new).invoke();
        out("method_with_handle", YR.get(box.function(Box::addTo).invoke(counter, 4), 30));
        out("after", YR.get(counter.function(Counter::get).invoke(), 30));
        counter.terminate();
        box.terminate();
    }

    private static void nested() throws YRException {
        InstanceHandler box = YR.instance((YRFunc0<Box>) Box::new).invoke();
        InstanceHandler made = YR.get(box.function(Box::makeCounter).invoke(5), 30);
        out("returned_handle", YR.get(made.function(Counter::add).invoke(1), 30));
        made.terminate();
        box.terminate();
    }

    /** Refs the JVM drops are released on the Python side (after a GC and the next call). */
    private static void release() throws Exception {
        Link link = Link.require();
        int before = ((Number) link.call("lent")).intValue();
        List<ObjectRef> kept = putMany(500);
        out("lent_while_held", ((Number) link.call("lent")).intValue() - before >= 500);
        int after = Integer.MAX_VALUE;
        for (int i = 0; i < 50 && after > 5; i++) {
            System.gc();
            Thread.sleep(100);
            link.call("is_initialized"); // drains the release queue
            after = ((Number) link.call("lent")).intValue() - before;
        }
        out("lent_after_gc", after);
        out("kept_still_readable", YR.get(kept.get(4), 30));
    }

    /** Puts n values, keeps every 100th ref (in its own frame, so no local keeps one alive). */
    private static List<ObjectRef> putMany(int n) throws YRException {
        List<ObjectRef> kept = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ObjectRef<Integer> r = YR.put(i);
            if (i % 100 == 0) {
                kept.add(r);
            }
        }
        return kept;
    }

    /**
     * Invokes are deferred to the link's next crossing: a burst larger than a batch runs in
     * order, an invoke nobody gets is still sent (by the flusher), and an invoke's own error
     * is raised where its ref is used, an argument of another invoke included.
     */
    private static void deferred(String dir) throws Exception {
        InstanceHandler tally = YR.instance(Tally::new).invoke();
        StringBuilder expected = new StringBuilder();
        int total = 0;
        for (int i = 1; i <= 1300; i++) {
            tally.function(Tally::add).invoke(i);   // refs dropped at once
            total += i;
            expected.append(i == 1 ? "" : ", ").append('+').append(i);
        }
        String history = YR.get(tally.function(Tally::history).invoke(), 60);
        out("burst_in_order", history.equals(total + " [" + expected + "]"));
        InstanceHandler box = YR.instance((YRFunc0<Box>) Box::new).invoke();
        YR.get(box.function(Box::describe).invoke(), 60);
        java.io.File marker = new java.io.File(dir, "touched");
        box.function(Box::touch).invoke(marker.getPath());   // no get, no other YR call after it
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!marker.exists() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        out("unawaited_invoke_ran", marker.exists());
        InstanceHandler gone = YR.instance(Counter::new).invoke();
        YR.get(gone.function(Counter::add).invoke(1), 30);
        gone.terminate();
        ObjectRef<Integer> failed = gone.function(Counter::add).invoke(1);   // no exception here
        ObjectRef<Integer> chained = tally.function(Tally::add).invoke(failed);
        try {
            YR.get(chained, 30);
            out("chained", "no exception");
        } catch (YRException e) {
            out("chained.code", e.getErrorCode());
        }
        try {
            YR.get(failed, 30);
            out("failed", "no exception");
        } catch (YRException e) {
            out("failed.code", e.getErrorCode());
        }
        out("tally_after", YR.get(tally.function(Tally::add).invoke(0), 30));
        tally.terminate();
        box.terminate();
    }

    /** Several Java threads calling at once: each gets its own results, in order per instance. */
    private static void threads() throws Exception {
        InstanceHandler shared = YR.instance(Counter::new).invoke();
        List<Thread> threads = new ArrayList<>();
        List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 6; t++) {
            Thread th = new Thread(() -> {
                try {
                    InstanceHandler own = YR.instance(Counter::new).invoke();
                    for (int i = 1; i <= 100; i++) {
                        int v = YR.get(own.function(Counter::add).invoke(1), 30);
                        if (v != i) {
                            problems.add("own counter returned " + v + " for call " + i);
                        }
                        YR.get(shared.function(Counter::add).invoke(1), 30);
                    }
                    own.terminate();
                } catch (YRException e) {
                    problems.add(e.toString());
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        out("problems", problems);
        out("shared_total", YR.get(shared.function(Counter::get).invoke(), 30));
        // A thread whose interrupt flag is set still gets its answers (the link's calls
        // ignore interrupts, as py4j's did) and keeps its flag.
        Thread.currentThread().interrupt();
        int a = YR.get(shared.function(Counter::add).invoke(1), 30);
        int b = YR.get(shared.function(Counter::add).invoke(1), 30);
        out("interrupted", a + "," + b + "," + Thread.interrupted());
    }

    /** recoverRetryTimes: the instance's fields survive the death of its worker JVM. */
    private static void recover() throws YRException {
        InvokeOptions opt = new InvokeOptions.Builder().recoverRetryTimes(2).build();
        InstanceHandler tally = YR.instance(Tally::new).options(opt).invoke();
        out("before", YR.get(tally.function(Tally::add).invoke(3), 30));
        long pid = YR.get(tally.function(Tally::pid).invoke(), 30);
        ProcessHandle jvm = ProcessHandle.of(pid).orElseThrow();
        jvm.destroyForcibly(); // SIGKILL; it stays a zombie until its Python worker notices
        try {
            Thread.sleep(300);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        out("after", YR.get(tally.function(Tally::add).invoke(1), 60));
        out("history", YR.get(tally.function(Tally::history).invoke(), 30));
        out("new_jvm", YR.get(tally.function(Tally::pid).invoke(), 30) != pid);
        tally.terminate();
    }

    /** YR.init(Config) and named instances (get-or-create by name and namespace). */
    private static void config() throws YRException {
        String address = System.getenv().getOrDefault("YR_SERVER_ADDRESS", "");
        YR.init(Config.builder().serverAddress(address).ns("javans").logLevel("WARNING").build());
        InstanceHandler first = YR.instance(Counter::new, "shared", "javans").invoke();
        out("first", YR.get(first.function(Counter::add).invoke(1), 30));
        InstanceHandler again = YR.instance(Counter::new, "shared", "javans").invoke();
        out("same_instance", YR.get(again.function(Counter::add).invoke(1), 30));
        InvokeOptions named = new InvokeOptions.Builder().name("other").namespace("javans").build();
        InstanceHandler other = YR.instance(Counter::new).options(named).invoke();
        out("other_instance", YR.get(other.function(Counter::add).invoke(1), 30));
        first.terminate();
        other.terminate();
        YR.Finalize();
        out("finalized", true);
    }

    private static void lifecycle() throws YRException {
        try {
            YR.init();
        } catch (YRException e) {
            out("init_twice.code", e.getErrorCode());
        }
        YR.Finalize();
        try {
            YR.put(1);
        } catch (YRException e) {
            out("after_finalize.code", e.getErrorCode());
        }
        YR.init();
        InstanceHandler c = YR.instance(Counter::new).invoke();
        out("reinit", YR.get(c.function(Counter::add).invoke(2), 30));
    }
}
