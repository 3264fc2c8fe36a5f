package com.yrtest;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.yuanrong.ExistenceOpt;
import org.yuanrong.GetParam;
import org.yuanrong.GetParams;
import org.yuanrong.MSetParam;
import org.yuanrong.SetParam;
import org.yuanrong.WriteMode;
import org.yuanrong.api.YR;
import org.yuanrong.exception.YRException;

/**
 * YR.kv() against the real runtime, run by tests/sdk_java/test_java_kv.py: prints one
 * "key=value" line per check; the test compares them.
 */
public class KvChecks {
    private static void out(String key, Object value) {
        System.out.println(key + "=" + value);
        System.out.flush();
    }

    private static String str(byte[] b) {
        return b == null ? "null" : new String(b, StandardCharsets.UTF_8);
    }

    interface Call {
        void run() throws YRException;
    }

    private static void expect(String key, Call c) {
        try {
            c.run();
            out(key, "no exception");
        } catch (YRException e) {
            out(key + ".code", e.getErrorCode());
            System.err.println(key + ": " + e.getMessage());
        }
    }

    /** In a worker JVM: reads what the driver wrote, answers under another key. */
    public static String echo(String key) throws YRException {
        byte[] seen = YR.kv().get(key, 30);
        YR.kv().set(key + "-reply", (str(seen) + " and back").getBytes(StandardCharsets.UTF_8),
                ExistenceOpt.NONE);
        return str(seen);
    }

    public static void main(String[] args) throws Exception {
        YR.init();
        out("from_py", str(YR.kv().get("j-py-bytes", 30)));
        out("from_py_typed", YR.kv().read("j-py-typed", 30, Map.class));
        byte[] v = "value".getBytes(StandardCharsets.UTF_8);
        out("set", YR.kv().set("j-a", v));
        out("get", str(YR.kv().get("j-a")));
        YR.kv().set("j-b", "abcdef".getBytes(StandardCharsets.UTF_8), 3, ExistenceOpt.NONE);
        out("length", str(YR.kv().get("j-b", 5)));
        expect("nx", () -> YR.kv().set("j-a", v, ExistenceOpt.NX));
        List<byte[]> both = YR.kv().get(Arrays.asList("j-a", "j-none"), 0, true);
        out("partial", str(both.get(0)) + "," + str(both.get(1)));
        expect("missing", () -> YR.kv().get("j-none", 1));
        byte[] big = new byte[(3 << 20) + 5];
        big[big.length - 1] = 42;
        YR.kv().set("j-big", big, new SetParam.Builder().build());
        byte[] back = YR.kv().get("j-big");
        out("big", back.length + ":" + back[back.length - 1]);
        GetParams params = new GetParams(Arrays.asList(new GetParam(big.length - 2, 0)));
        out("slice", YR.kv().getWithParam(Arrays.asList("j-big"), params).get(0).length);
        YR.kv().set("j-ttl", v, new SetParam.Builder().ttlSecond(1).build());
        boolean gone = false;
        for (int i = 0; i < 100 && !gone; i++) {
            Thread.sleep(100);
            try {
                YR.kv().get("j-ttl", 0);
            } catch (YRException e) {
                gone = true;
            }
        }
        out("ttl", gone);
        expect("l2", () -> YR.kv().set("j-l2", v,
                new SetParam.Builder().writeMode(WriteMode.WRITE_BACK_L2_CACHE).build()));
        YR.kv().mSetTx(Arrays.asList("j-t1", "j-t2"), Arrays.asList(v, v), new MSetParam.Builder().build());
        expect("tx", () -> YR.kv().mSetTx(Arrays.asList("j-t3", "j-t1"), Arrays.asList(v, v),
                new MSetParam.Builder().build()));
        out("tx.none", str(YR.kv().get(Arrays.asList("j-t3"), 0, true).get(0)));
        YR.kv().write("j-obj", Arrays.asList(1, 2, 3), ExistenceOpt.NONE);
        out("read", YR.kv().read("j-obj", 5, List.class));
        YR.kv().write("j-map", Map.of("k", "v"), new SetParam.Builder().build());
        out("read_map", YR.kv().read("j-map", 5, Map.class));
        YR.kv().set("j-echo", "hi".getBytes(StandardCharsets.UTF_8), ExistenceOpt.NONE);
        out("worker", YR.get(YR.function(KvChecks::echo).invoke("j-echo"), 60));
        out("worker.reply", str(YR.kv().get("j-echo-reply", 30)));
        out("del", YR.kv().del(Arrays.asList("j-a", "j-b", "j-big", "j-t1", "j-t2", "j-obj", "j-map", "j-echo",
                "j-echo-reply", "j-py-bytes", "j-py-typed", "never")));
        expect("deleted", () -> YR.kv().get("j-a", 0));
        YR.Finalize();
    }
}
