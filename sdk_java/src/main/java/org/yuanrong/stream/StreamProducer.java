package org.yuanrong.stream;

import java.nio.ByteBuffer;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.Link;

/** A producer held by the Python runtime under key. Thread-safe. */
final class StreamProducer implements Producer {
    private final String stream;
    private final String key;
    private volatile boolean closed;

    StreamProducer(String stream, String key) {
        this.stream = stream;
        this.key = key;
    }

    @Override
    public void send(Element element) throws YRException {
        send(element, -1);
    }

    @Override
    public void send(Element element, int timeoutMs) throws YRException {
        checkOpen();
        if (element == null || element.getBuffer() == null) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "send: the element or its buffer is null");
        }
        Link.require().call("stream_send", key, bytes(element.getBuffer()), timeoutMs);
    }

    @Override
    public void flush() throws YRException {
        checkOpen();
        Link.require().call("stream_flush", key);
    }

    @Override
    public synchronized void close() throws YRException {
        if (!closed) {
            closed = true;
            Link.require().call("stream_close", key);
        }
    }

    private void checkOpen() throws YRException {
        if (closed) {
            throw new YRException(YRException.ERR_FINALIZED, "the producer of stream '" + stream + "' is closed");
        }
    }

    /** The buffer's remaining bytes, its position left as it was. */
    private static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer view = buffer.duplicate();
        byte[] out = new byte[view.remaining()];
        view.get(out);
        return out;
    }
}
