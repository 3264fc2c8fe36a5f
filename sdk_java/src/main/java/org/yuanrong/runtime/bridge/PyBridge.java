package org.yuanrong.runtime.bridge;

/**
 * The Python end of a link, implemented in sdk_python/yr/_bridge_py4j.py
 * ({@code _BridgeService}) and reached over py4j's callback channel.
 *
 * <p>{@code op} names a {@code yr._bridge} call (init, finalize, create_instance,
 * invoke_method, invoke_function, get, wait, put, terminate, ...) or a link operation
 * (release, exit); {@code payload} is the {@link Codec}-encoded list of arguments. The
 * answer is an encoded map: {"ok": value} or {"err": [code, remoteClass, message]}.
 */
public interface PyBridge {
    byte[] call(String op, byte[] payload);

    /**
     * Runs deferred invokes, then {@code call(op, payload)}, in one crossing (see
     * {@link Link#defer}). {@code invokes} is the encoded list [id, entry, id, entry, ...]
     * (each entry an encoded [op, args...]); {@code seq} orders batches sent from
     * different threads: the Python end runs them in seq order.
     */
    byte[] callBatched(long seq, byte[] invokes, String op, byte[] payload);
}
