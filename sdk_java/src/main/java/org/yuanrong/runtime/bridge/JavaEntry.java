package org.yuanrong.runtime.bridge;

import java.net.InetAddress;

import org.yuanrong.exception.YRException;

/**
 * The py4j entry point of a JVM, called by the Python end of its link: first
 * {@link #resetCallback} with the port of Python's callback server, then
 * {@link #attach} with the Python bridge; in a worker JVM, {@link #call} runs user code
 * for the Python host (sdk_python/yr/_java_host.py).
 */
public class JavaEntry {
    private final Link link;
    private final HostCalls worker;

    JavaEntry(Link link, HostCalls worker) {
        this.link = link;
        this.worker = worker;
    }

    public void resetCallback(int pythonPort) {
        link.server().resetCallbackClient(InetAddress.getLoopbackAddress(), pythonPort);
    }

    public void attach(PyBridge bridge) {
        link.attach(bridge);
    }

    public String ping() {
        return "pong";
    }

    /** Worker operations; answers {"ok": value} or {"err": [code, class, message, stack]}. */
    public byte[] call(String op, byte[] payload) {
        if (worker == null) {
            return Answer.error(YRException.ERR_PARAM_INVALID, "java.lang.IllegalStateException",
                    "not a worker JVM", "");
        }
        return worker.call(op, payload);
    }
}
