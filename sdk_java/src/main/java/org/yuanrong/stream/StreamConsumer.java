package org.yuanrong.stream;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.Link;

/** A consumer held by the Python runtime under key (its autoAck lives there too). */
final class StreamConsumer implements Consumer {
    private final String stream;
    private final String key;
    private volatile boolean closed;

    StreamConsumer(String stream, String key) {
        this.stream = stream;
        this.key = key;
    }

    @Override
    public List<Element> receive(long expectNum, int timeoutMs) throws YRException {
        if (expectNum <= 0) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "receive: expectNum must be > 0, got " + expectNum);
        }
        return fetch(expectNum, timeoutMs);
    }

    @Override
    public List<Element> receive(int timeoutMs) throws YRException {
        return fetch(0, timeoutMs);
    }

    @Override
    public void ack(long elementId) throws YRException {
        checkOpen();
        Link.require().call("stream_ack", key, elementId);
    }

    @Override
    public synchronized void close() throws YRException {
        if (!closed) {
            closed = true;
            Link.require().call("stream_close", key);
        }
    }

    private List<Element> fetch(long expectNum, int timeoutMs) throws YRException {
        checkOpen();
        if (timeoutMs < 0) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "receive: timeoutMs must be >= 0, got " + timeoutMs);
        }
        List<?> answer = (List<?>) Link.require().call("stream_receive", key, expectNum, timeoutMs);
        List<?> ids = (List<?>) answer.get(0);
        List<?> datas = (List<?>) answer.get(1);
        List<Element> out = new ArrayList<>(ids.size());
        for (int i = 0; i < ids.size(); i++) {
            out.add(new Element(((Number) ids.get(i)).longValue(), ByteBuffer.wrap((byte[]) datas.get(i))));
        }
        return out;
    }

    private void checkOpen() throws YRException {
        if (closed) {
            throw new YRException(YRException.ERR_FINALIZED, "the consumer of stream '" + stream + "' is closed");
        }
    }
}
