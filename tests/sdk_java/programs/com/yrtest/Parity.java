package com.yrtest;

import java.io.File;
import java.io.FileWriter;
import java.io.IOException;
import java.util.Arrays;
import java.util.Collections;
import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.client.ObjectRef;

/**
 * The openYuanrong calls added for issue 13, run by tests/sdk_java/test_java_parity.py:
 * {@code Parity <scenario> <dir>} prints one "key=value" line per check.
 */
public class Parity {
    private static void out(String key, Object value) {
        System.out.println(key + "=" + value);
        System.out.flush();
    }

    /** Writes dir/name.started, sleeps ms, then writes dir/name (a cancelled call never does). */
    public static int sleepThenMark(String dir, String name, int ms) throws IOException, InterruptedException {
        new FileWriter(new File(dir, name + ".started")).close();
        Thread.sleep(ms);
        new FileWriter(new File(dir, name)).close();
        return ms;
    }

    private static void waitFor(File f) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!f.exists()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(f + " never appeared");
            }
            Thread.sleep(10);
        }
    }

    public static void main(String[] args) throws Exception {
        String scenario = args[0];
        String dir = args[1];
        YR.init();
        try {
            if (scenario.equals("cancel")) {
                cancel(dir);
            } else {
                getInstance();
            }
        } finally {
            YR.Finalize();
        }
    }

    private static void cancel(String dir) throws Exception {
        ObjectRef<Integer> running = YR.function(Parity::sleepThenMark).invoke(dir, "running", 60000);
        waitFor(new File(dir, "running.started"));
        long t0 = System.nanoTime();
        YR.cancel(running);
        try {
            YR.get(running, 30);
            out("cancelled", "no error");
        } catch (YRException e) {
            out("cancelled", e.getMessage().contains("cancelled"));
            out("cancelled.fast", (System.nanoTime() - t0) < 30_000_000_000L);
        }
        ObjectRef<Integer> done = YR.function(Parity::sleepThenMark).invoke(dir, "done", 0);
        out("done", YR.get(done, 60));
        YR.cancel(Arrays.asList(done), true, false);
        out("done.after_cancel", YR.get(done, 60));
        try {
            YR.cancel(Collections.<ObjectRef>emptyList());
            out("empty.code", "no error");
        } catch (YRException e) {
            out("empty.code", e.getErrorCode());
        }
        InstanceHandler c = YR.instance(Counter::new).invoke();
        ObjectRef<Integer> added = c.function(Counter::add).invoke(2);
        YR.cancel(added);
        out("instance_call", YR.get(added, 60));
        c.terminate();
    }

    private static void getInstance() throws Exception {
        InstanceHandler made = YR.getInstance(Counter::new, "java-lookup", "java-parity").invoke();
        out("first", YR.get(made.function(Counter::add).invoke(5), 60));
        InstanceHandler again = YR.getInstance(Counter::new, "java-lookup", "java-parity").invoke();
        out("same", again.getInstanceId().equals(made.getInstanceId()));
        out("second", YR.get(again.function(Counter::add).invoke(1), 60));
        made.terminate();
    }
}
