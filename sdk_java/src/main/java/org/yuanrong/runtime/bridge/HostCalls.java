package org.yuanrong.runtime.bridge;

/**
 * The calls a Python host makes into a worker JVM (create, call_method, ...), reaching it
 * through {@link JavaEntry#call}. Implemented above the bridge by
 * {@code org.yuanrong.runtime.worker.WorkerCalls}; a driver JVM has none.
 */
public interface HostCalls {
    /** Runs op; payload is the encoded argument list, the answer an encoded {@link Answer}. */
    byte[] call(String op, byte[] payload);
}
