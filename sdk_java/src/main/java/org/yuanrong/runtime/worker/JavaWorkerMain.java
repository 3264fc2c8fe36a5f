package org.yuanrong.runtime.worker;

import java.io.IOException;
import org.yuanrong.call.Handles;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.Link;

/**
 * Main class of a worker JVM, started by yr._java_host.JavaHost inside a Python worker
 * with the driver's class path. It listens for py4j (auth token from YR_PY4J_TOKEN),
 * prints {@code YR_JAVA_PORT=<port>} as its first stdout line, and lives until its stdin
 * closes: the Python worker holds the other end, so the JVM never outlives it. With
 * YR_JAVA_CALL_SOCKET set it also serves the host's calls on that Unix socket (CallSocket).
 */
public final class JavaWorkerMain {
    public static final String PORT_LINE = "YR_JAVA_PORT=";
    /** The Unix socket path of the host's data path (CallSocket); py4j only without it. */
    public static final String SOCKET_ENV = "YR_JAVA_CALL_SOCKET";

    private JavaWorkerMain() {
    }

    public static void main(String[] args) throws YRException {
        String token = System.getenv("YR_PY4J_TOKEN");
        if (token == null || token.isEmpty()) {
            System.err.println("JavaWorkerMain is started by the yr runtime (YR_PY4J_TOKEN is not set)");
            System.exit(2);
        }
        WorkerCalls calls = new WorkerCalls();
        Link link = Link.startWorker(token, calls, Handles.TYPES);
        String socket = System.getenv(SOCKET_ENV);
        if (socket != null && !socket.isEmpty()) {
            try {
                CallSocket.start(socket, calls);   // before the port line: the host connects after it
            } catch (IOException e) {
                System.err.println("JavaWorkerMain: cannot listen on " + socket + ": " + e);
                System.exit(2);
            }
        }
        System.out.println(PORT_LINE + link.port());
        System.out.flush();
        if ("1".equals(System.getenv("YR_JAVA_WARM"))) {
            // A pooled JVM (yr._jvm_pool) warms up while it waits to be taken; it says it is
            // ready before, so a take parked on it waits no longer than for a cold JVM.
            Thread warm = new Thread(() -> Warmup.run(socket), "yr-warm-up");
            warm.setDaemon(true);
            warm.setPriority(Thread.MIN_PRIORITY);
            warm.start();
        }
        try {
            while (System.in.read() != -1) {
                // the host writes nothing; we only wait for EOF
            }
        } catch (IOException e) {
            // stdin broke: same as EOF
        }
        link.close();
        System.exit(0);
    }
}
