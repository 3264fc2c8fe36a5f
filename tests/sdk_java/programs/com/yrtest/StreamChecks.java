package com.yrtest;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.yuanrong.api.YR;
import org.yuanrong.call.InstanceHandler;
import org.yuanrong.exception.YRException;
import org.yuanrong.stream.Consumer;
import org.yuanrong.stream.Element;
import org.yuanrong.stream.Producer;
import org.yuanrong.stream.ProducerConfig;
import org.yuanrong.stream.SubscriptionConfig;
import org.yuanrong.stream.SubscriptionType;

/**
 * YR.createProducer / YR.subscribe against the real runtime, run by
 * tests/sdk_java/test_java_stream.py: prints one "key=value" line per check; the test compares
 * them. argv[0]: "java" (Java to Java), "from_python" or "to_python" (the cross-language halves).
 */
public class StreamChecks {
    private final Consumer consumer;

    /** An instance that subscribes at creation (autoAck) and checks what it receives. */
    public StreamChecks(String stream) throws YRException {
        consumer = YR.subscribe(stream, SubscriptionConfig.builder().subscriptionName("in-instance").build(), true);
    }

    /** "ok" if the next n elements are item(0..n-1), in order; else what differed. */
    public String collect(int n) throws YRException {
        List<String> got = receiveAll(consumer, n, false);
        consumer.close();
        return check(got, n);
    }

    /** In a stateless worker JVM: sends n elements, then closes (flushing). */
    public static int produce(String stream, int n) throws YRException {
        Producer p = YR.createProducer(stream);
        for (int i = 0; i < n; i++) {
            p.send(element(item(i)));
        }
        p.close();
        return n;
    }

    static String item(int i) {
        StringBuilder s = new StringBuilder("item-").append(i);
        for (int k = 0; k < i % 7; k++) {
            s.append((char) ('a' + i % 26));
        }
        return s.toString();
    }

    static Element element(String s) {
        return new Element(0L, ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)));
    }

    static String str(Element e) {
        return StandardCharsets.UTF_8.decode(e.getBuffer().duplicate()).toString();
    }

    /** Receives until n elements arrived (each receive bounded); acks each batch unless autoAck does. */
    static List<String> receiveAll(Consumer c, int n, boolean ack) throws YRException {
        List<String> out = new ArrayList<>();
        for (int tries = 0; out.size() < n && tries < 600; tries++) {
            List<Element> got = c.receive(n - out.size(), 1000);
            for (Element e : got) {
                out.add(str(e));
            }
            if (ack && !got.isEmpty()) {
                c.ack(got.get(got.size() - 1).getId());
            }
        }
        return out;
    }

    static String check(List<String> got, int n) {
        if (got.size() != n) {
            return got.size() + " received of " + n;
        }
        for (int i = 0; i < n; i++) {
            if (!got.get(i).equals(item(i))) {
                return "element " + i + " is " + got.get(i);
            }
        }
        return "ok";
    }

    private static void out(String key, Object value) {
        System.out.println(key + "=" + value);
        System.out.flush();
    }

    interface Call {
        void run() throws Exception;
    }

    private static void expect(String key, Call c) throws Exception {
        try {
            c.run();
            out(key, "no exception");
        } catch (YRException e) {
            out(key + ".code", e.getErrorCode());
            System.err.println(key + ": " + e.getMessage());
        }
    }

    private static SubscriptionConfig sub(String name) {
        return new SubscriptionConfig(name, SubscriptionType.STREAM);
    }

    /** Two subscriptions each get 1500 elements in order through a 64 KiB stream (back-pressure). */
    static void order() throws Exception {
        ProducerConfig conf = ProducerConfig.builder().maxStreamSize(64 * 1024).pageSizeByte(4096).build();
        Consumer a = YR.subscribe("j-order", sub("a"));
        Consumer b = YR.subscribe("j-order", sub("b"));
        Producer p = YR.createProducer("j-order", conf);
        out("counts", YR.queryGlobalProducersNum("j-order") + "," + YR.queryGlobalConsumersNum("j-order"));
        int n = 1500;
        Thread sender = new Thread(() -> {
            try {
                for (int i = 0; i < n; i++) {
                    p.send(element(item(i)));
                }
                p.flush();
            } catch (YRException e) {
                out("sender", e);
            }
        });
        List<List<String>> gotB = new ArrayList<>();
        Thread other = new Thread(() -> {
            try {
                gotB.add(receiveAll(b, n, true));
            } catch (YRException e) {
                out("other", e);
            }
        });
        sender.start();
        other.start();
        List<String> gotA = receiveAll(a, n, true);
        sender.join();
        other.join();
        out("order.a", check(gotA, n));
        out("order.b", check(gotB.get(0), n));
        p.close();
        a.close();
        b.close();
        out("counts.closed", YR.queryGlobalProducersNum("j-order") + "," + YR.queryGlobalConsumersNum("j-order"));
        YR.deleteStream("j-order");
    }

    static void large() throws Exception {
        Consumer c = YR.subscribe("j-large", sub("big"));
        Producer p = YR.createProducer("j-large");
        byte[] big = new byte[(4 << 20) + 1];
        big[big.length - 1] = 7;
        p.send(new Element(0L, ByteBuffer.wrap(big)));
        p.send(new Element(0L, ByteBuffer.allocate(0)));
        p.flush();
        List<Element> got = c.receive(2, 60000);
        out("large", got.size() + ":" + got.get(0).getBuffer().remaining() + ":" + got.get(0).getBuffer().get(big.length - 1)
                + ":" + got.get(1).getBuffer().remaining());
        c.ack(got.get(1).getId());
        p.close();
        c.close();
        YR.deleteStream("j-large");
    }

    static void timeouts() throws Exception {
        Consumer c = YR.subscribe("j-timeout", sub("t"));
        out("timeout.empty", c.receive(200).size());
        Producer p = YR.createProducer("j-timeout");
        p.send(element("one"));
        p.send(element("two"));
        p.flush();
        List<Element> got = c.receive(5, 500);
        out("timeout.partial", got.size() + ":" + str(got.get(0)) + "," + str(got.get(1)));
        p.close();
        c.close();
        YR.deleteStream("j-timeout");
    }

    /** autoAck: each receive acks the previous batch, so 320 KiB pass through 64 KiB. */
    static void autoAck() throws Exception {
        ProducerConfig conf = ProducerConfig.builder().maxStreamSize(64 * 1024).pageSizeByte(4096)
                .delayFlushTimeMs(0).build();
        Consumer c = YR.subscribe("j-autoack", sub("auto"), true);
        Producer p = YR.createProducer("j-autoack", conf);
        int ok = 0;
        for (int i = 0; i < 40; i++) {
            p.send(new Element(0L, ByteBuffer.allocate(8 * 1024)), 60000);
            ok += c.receive(1, 60000).size();
        }
        out("autoack", ok);
        p.close();
        c.close();
        YR.deleteStream("j-autoack");
    }

    static void errors() throws Exception {
        expect("page", () -> YR.createProducer("j-err", ProducerConfig.builder().pageSizeByte(5000).build()));
        expect("encrypt", () -> YR.createProducer("j-err", ProducerConfig.builder().encryptStream(true).build()));
        expect("roundrobin", () -> YR.subscribe("j-err", new SubscriptionConfig("rr", SubscriptionType.ROUND_ROBIN)));
        expect("noname", () -> YR.subscribe("j-err", sub("")));
        ProducerConfig conf = ProducerConfig.builder().maxStreamSize(64 * 1024).pageSizeByte(64 * 1024)
                .delayFlushTimeMs(0).build();
        Consumer c = YR.subscribe("j-err", sub("slow"));
        Producer p = YR.createProducer("j-err", conf);
        Element big = new Element(0L, ByteBuffer.allocate(40 * 1024));
        p.send(big, 1000);
        expect("full", () -> p.send(big, 300));
        expect("inuse", () -> YR.deleteStream("j-err"));
        expect("expect0", () -> c.receive(0, 10));
        out("after_full", c.receive(5, 2000).size());
        p.close();
        p.close();
        expect("closed_producer", () -> p.send(big));
        c.close();
        expect("closed_consumer", () -> c.receive(10));
        YR.deleteStream("j-err");
        YR.deleteStream("j-never-made");
    }

    /** A stateless Java worker produces; an instance's consumer (autoAck) and the driver's get all. */
    static void worker() throws Exception {
        int n = 300;
        InstanceHandler collector = YR.instance(StreamChecks::new).invoke("j-worker");
        Consumer mine = YR.subscribe("j-worker", sub("driver"));
        Object verdict = collector.function(StreamChecks::collect).invoke(n);
        for (int i = 0; i < 1200 && YR.queryGlobalConsumersNum("j-worker") < 2; i++) {
            Thread.sleep(100);  // the instance subscribes when it starts: elements sent before are not its
        }
        out("worker.produced", YR.get(YR.function(StreamChecks::produce).invoke("j-worker", n), 120));
        out("worker.instance", YR.get((org.yuanrong.runtime.client.ObjectRef) verdict, 120));
        out("worker.driver", check(receiveAll(mine, n, true), n));
        mine.close();
        collector.terminate();
    }

    public static void main(String[] args) throws Exception {
        YR.init();
        String mode = args.length > 0 ? args[0] : "java";
        if (mode.equals("from_python")) {
            Consumer c = YR.subscribe("xl-py2java", sub("java"));
            out("from_python", check(receiveAll(c, 500, true), 500));
            c.close();
        } else if (mode.equals("to_python")) {
            Producer p = YR.createProducer("xl-java2py");
            for (int i = 0; i < 500; i++) {
                p.send(element(item(i)));
            }
            p.send(new Element(0L, ByteBuffer.wrap(new byte[3 << 20])));
            p.close();
            out("to_python", "sent");
        } else {
            order();
            large();
            timeouts();
            autoAck();
            errors();
            worker();
        }
        YR.Finalize();
    }
}
