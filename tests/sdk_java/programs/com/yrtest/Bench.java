package com.yrtest;

import java.util.ArrayList;
import java.util.List;
import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.client.ObjectRef;

/**
 * Java call rates, one JSON line per metric: {@code Bench [n [warm]]}: n sync calls after
 * warm (default 200) sync calls not counted (a large warm measures a JIT-compiled driver).
 * Run by tests/sdk_java/bench_java.py (which the benchmark script calls) and
 * benchmarks/java_ab.py.
 */
public class Bench {
    private static long[] cpu0;

    private static void report(String metric, int n, long t0) {
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("{\"metric\": \"%s\", \"value\": %.1f, \"unit\": \"calls/s\", \"n\": %d}%n", metric, n / s, n);
        long[] cpu = cpu();
        if (cpu0 != null) {   // CPU per call of the driver JVM and of its bridge process
            System.out.printf("{\"metric\": \"%s_driver_cpu\", \"value\": %.1f, \"unit\": \"us/call\", \"n\": %d}%n",
                    metric, (cpu[0] - cpu0[0]) / 1e3 / n, n);
            System.out.printf("{\"metric\": \"%s_bridge_cpu\", \"value\": %.1f, \"unit\": \"us/call\", \"n\": %d}%n",
                    metric, (cpu[1] - cpu0[1]) / 1e3 / n, n);
            System.out.printf("{\"metric\": \"%s_runtime_cpu\", \"value\": %.1f, \"unit\": \"us/call\", \"n\": %d}%n",
                    metric, (cpu[2] - cpu0[2]) / 1e3 / n, n);
        }
        cpu0 = cpu();
    }

    /**
     * [this JVM's CPU ns, its bridge process's, the rest of its temporary runtime's (the
     * bridge's descendants: node daemon, workers, worker JVMs)], from /proc.
     */
    private static long[] cpu() {
        long jvm = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
        long bridge = 0;
        long rest = 0;
        for (ProcessHandle p : (Iterable<ProcessHandle>) ProcessHandle.current().children()::iterator) {
            if (p.info().commandLine().orElse("").contains("yr._bridge_py4j")) {
                bridge += procCpu(p.pid());
                for (ProcessHandle d : (Iterable<ProcessHandle>) p.descendants()::iterator) {
                    rest += procCpu(d.pid());
                }
            }
        }
        return new long[] {jvm, bridge, rest};
    }

    private static long procCpu(long pid) {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L;   // ticks of 10 ms
        } catch (java.io.IOException | RuntimeException e) {
            return 0;
        }
    }

    @SuppressWarnings("rawtypes")
    public static void main(String[] args) throws YRException {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int warm = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        YR.init();
        InstanceHandler counter = YR.instance(Counter::new).invoke();
        // A handler per call, as the seed page writes it: counter.function(Counter::add).invoke(1).
        for (int i = 0; i < warm; i++) {
            YR.get(counter.function(Counter::add).invoke(1), 30);
        }
        cpu0 = cpu();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            YR.get(counter.function(Counter::add).invoke(1), 30);
        }
        report("java_sync_calls", n, t0);
        t0 = System.nanoTime();
        List<ObjectRef> refs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            refs.add(counter.function(Counter::add).invoke(1));
        }
        YR.get(refs, 300);
        report("java_async_calls", n, t0);
        int m = Math.max(1, n / 4);
        YR.get(YR.function(Fns::zero).invoke(), 60);
        cpu0 = cpu();
        t0 = System.nanoTime();
        for (int i = 0; i < m; i++) {
            YR.get(YR.function(Fns::zero).invoke(), 30);
        }
        report("java_stateless_sync_calls", m, t0);
        t0 = System.nanoTime();
        List<ObjectRef> frefs = new ArrayList<>(m);
        for (int i = 0; i < m; i++) {
            frefs.add(YR.function(Fns::zero).invoke());
        }
        YR.get(frefs, 300);
        report("java_stateless_async_calls", m, t0);
        cpu0 = null;
        double[] ms = new double[5];
        for (int i = 0; i < ms.length; i++) {
            t0 = System.nanoTime();
            InstanceHandler c = YR.instance(Counter::new).invoke();
            YR.get(c.function(Counter::add).invoke(1), 60);
            ms[i] = (System.nanoTime() - t0) / 1e6;
            c.terminate();
        }
        java.util.Arrays.sort(ms);
        System.out.printf("{\"metric\": \"java_create_to_first_result\", \"value\": %.1f, \"unit\": \"ms (median)\", \"n\": %d}%n",
                ms[ms.length / 2], ms.length);
        counter.terminate();
        YR.Finalize();
    }
}
