package org.yuanrong.runtime.worker;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.URL;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.yuanrong.runtime.bridge.Codec;

/**
 * Warms a pooled worker JVM while it waits to be taken (YR_JAVA_WARM=1, set by
 * yr._jvm_pool only; a thread started after the JVM said it is ready): loads the classes of py4j and of the SDK's runtime, and runs the
 * host's operations (create, call_method, drop, the codec, a call over its own
 * CallSocket) on a JDK class 100 times (-Dyr.warmup.rounds). This is time the pool
 * spends ahead of need instead of the first creation that takes the JVM (a take during
 * the warm-up shares the JVM with it; nothing waits for it). Nothing of it
 * stays: the calls go to a WorkerCalls of their own (the socket call is a "drop" of no
 * instance).
 */
final class Warmup {
    private static final int ROUNDS = Integer.getInteger("yr.warmup.rounds", 100);

    private Warmup() {
    }

    static void run(String socketPath) {
        try {
            if (Boolean.parseBoolean(System.getProperty("yr.warmup.preload", "true"))) {
                preload(py4j.GatewayServer.class);
                preload(Warmup.class);
            }
            WorkerCalls calls = new WorkerCalls();
            Map<String, Object> spec = Map.of("class", "java.lang.StringBuilder", "constructor", "<init>",
                    "signature", "(Ljava/lang/String;)V");
            for (int i = 0; i < ROUNDS; i++) {
                byte[] created = calls.call("create", Codec.encode(Arrays.asList(spec, List.of("x" + i))));
                Object id = ((Map<?, ?>) Codec.decode(created)).get("ok");
                calls.call("call_method", Codec.encode(Arrays.asList(id, "append#(I)Ljava/lang/StringBuilder;",
                        List.of(i))));
                calls.call("call_method", Codec.encode(Arrays.asList(id, "length", List.of())));
                calls.call("drop", Codec.encode(List.of(id)));
            }
            if (socketPath != null && !socketPath.isEmpty()) {
                socketRoundTrips(socketPath);
            }
        } catch (Throwable t) {
            // a warm-up that fails costs only the warmth: the JVM serves as a cold one would
            System.err.println("yr worker JVM: warm-up failed: " + t);
        }
    }

    /** Loads (without initializing) every class of the jar or directory {@code c} came from. */
    private static void preload(Class<?> c) throws IOException {
        URL where = c.getProtectionDomain().getCodeSource().getLocation();
        if (where == null || !where.getPath().endsWith(".jar")) {
            return;
        }
        ClassLoader loader = c.getClassLoader();
        try (JarFile jar = new JarFile(where.getPath())) {
            for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
                String name = e.nextElement().getName();
                if (name.endsWith(".class") && !name.contains("-")) {
                    try {
                        Class.forName(name.substring(0, name.length() - 6).replace('/', '.'), false, loader);
                    } catch (Throwable ignored) {
                        // optional dependencies missing: not ours to load
                    }
                }
            }
        }
    }

    private static void socketRoundTrips(String socketPath) throws Exception {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(Path.of(socketPath)));
            DataOutputStream out = new DataOutputStream(Channels.newOutputStream(ch));
            DataInputStream in = new DataInputStream(Channels.newInputStream(ch));
            byte[] op = "drop".getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < ROUNDS; i++) {
                byte[] payload = Codec.encode(List.of("warm-up-none"));
                out.writeInt(2 + op.length + payload.length);
                out.writeShort(op.length);
                out.write(op);
                out.write(payload);
                out.flush();
                in.readFully(new byte[in.readInt()]);
            }
        }
    }
}
