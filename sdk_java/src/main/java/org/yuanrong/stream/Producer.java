package org.yuanrong.stream;

import org.yuanrong.exception.YRException;

/** Sends elements into one stream; made by {@code YR.createProducer}. Semantics: docs/kv.md "Streams". */
public interface Producer {
    /** Buffers the element; a flush it needs waits until there is room in the stream. */
    void send(Element element) throws YRException;

    /**
     * Buffers the element; a flush it needs waits at most timeoutMs for room, then throws
     * ERR_GET_OPERATION_FAILED (4005) and the element is not sent.
     */
    void send(Element element, int timeoutMs) throws YRException;

    /** Sends what is buffered now, waiting for room. */
    void flush() throws YRException;

    /** Flushes, then closes; closing twice is no error, any other use after it throws ERR_FINALIZED (9000). */
    void close() throws YRException;
}
