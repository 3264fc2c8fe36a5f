package org.yuanrong.runtime.worker;

import java.io.IOException;
import org.yuanrong.call.Handles;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.Link;

/**
 * Main class of a worker JVM, started by yr._java_host.JavaHost inside a Python worker
 * with the driver's class path. It listens for py4j (auth token from YR_PY4J_TOKEN),
 * prints {@code YR_JAVA_PORT=<port>} as its first stdout line, and lives until its stdin
 * closes: the Python worker holds the other end, so the JVM never outlives it.
 */
public final class JavaWorkerMain {
    public static final String PORT_LINE = "YR_JAVA_PORT=";

    private JavaWorkerMain() {
    }

    public static void main(String[] args) throws YRException {
        String token = System.getenv("YR_PY4J_TOKEN");
        if (token == null || token.isEmpty()) {
            System.err.println("JavaWorkerMain is started by the yr runtime (YR_PY4J_TOKEN is not set)");
            System.exit(2);
        }
        Link link = Link.startWorker(token, new WorkerCalls(), Handles.TYPES);
        System.out.println(PORT_LINE + link.port());
        System.out.flush();
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
