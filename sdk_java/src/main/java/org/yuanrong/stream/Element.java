package org.yuanrong.stream;

import java.nio.ByteBuffer;

/**
 * An element of a stream: its id (the stream's number for it on receive; ignored on send) and
 * its data. A received element's buffer is its own copy: it stays valid after the ack.
 */
public class Element {
    private long id;
    private ByteBuffer buffer;

    public Element(long id, ByteBuffer buffer) {
        this.id = id;
        this.buffer = buffer;
    }

    public long getId() {
        return id;
    }

    public void setId(long id) {
        this.id = id;
    }

    public ByteBuffer getBuffer() {
        return buffer;
    }

    public void setBuffer(ByteBuffer buffer) {
        this.buffer = buffer;
    }

    @Override
    public String toString() {
        return "Element(id=" + id + ", " + (buffer == null ? 0 : buffer.remaining()) + " bytes)";
    }
}
