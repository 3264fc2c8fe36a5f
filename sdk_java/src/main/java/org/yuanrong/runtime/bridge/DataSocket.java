package org.yuanrong.runtime.bridge;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * A driver's calls into its bridge process over a Unix socket (served by
 * sdk_python/yr/_bridge_sock.py), instead of py4j's callback channel: no text protocol,
 * no base64, no proxy. The frame layout is documented there; a request carries the
 * deferred invokes and the released ids that ride on it.
 *
 * <p>Connections are pooled: a call takes one (or opens one), uses it alone, and gives
 * it back, so concurrent callers never share a connection and the number of connections
 * (and of serving threads on the Python end) is the peak number of concurrent calls. An
 * I/O error closes the connection and surfaces as an UncheckedIOException (the link
 * reports it as a lost link).
 */
final class DataSocket {
    private final UnixDomainSocketAddress address;
    private final ConcurrentLinkedDeque<Conn> idle = new ConcurrentLinkedDeque<>();
    private volatile boolean closed;

    DataSocket(Path path) {
        this.address = UnixDomainSocketAddress.of(path);
    }

    private static final byte[] NONE = new byte[0];
    /** What one read of an answer takes at most; a larger answer gets a buffer of its own. */
    static final int IN_BUFFER = 16384;

    /**
     * One call: {@code seq} 0 with {@code invokes} null when no deferred invokes ride on
     * it, {@code released} null when no releases do. Returns the answer body.
     */
    byte[] call(long seq, byte[] invokes, byte[] released, String op, byte[] payload) {
        if (closed) {
            throw new IllegalStateException("the link is closed");
        }
        Conn c = idle.pollFirst();
        // A SocketChannel closes when its thread is interrupted in (or before) an operation;
        // py4j's streams ignored interrupts, so an interrupted caller still gets its answer
        // here too: the flag is cleared for the exchange and set again after it.
        boolean interrupted = Thread.interrupted();
        try {
            if (c == null) {
                c = new Conn(SocketChannel.open(address));
            }
            byte[] answer = c.exchange(seq, invokes == null ? NONE : invokes, released == null ? NONE : released,
                    op.getBytes(StandardCharsets.UTF_8), payload);
            idle.offerFirst(c);   // LIFO: the warmest connection (and Python thread) next
            if (closed) {
                closeIdle();
            }
            return answer;
        } catch (IOException e) {
            if (c != null) {
                c.close();
            }
            throw new UncheckedIOException(e);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Closes the idle connections; calls under way close theirs when they end. */
    void close() {
        closed = true;
        closeIdle();
    }

    private void closeIdle() {
        for (Conn c; (c = idle.pollFirst()) != null;) {
            c.close();
        }
    }

    private static final class Conn {
        private final SocketChannel ch;
        private ByteBuffer out = ByteBuffer.allocate(4096);
        private final ByteBuffer in = ByteBuffer.allocate(IN_BUFFER);

        Conn(SocketChannel ch) {
            this.ch = ch;
        }

        byte[] exchange(long seq, byte[] invokes, byte[] released, byte[] op, byte[] payload) throws IOException {
            int body = 8 + 4 + invokes.length + 4 + released.length + 2 + op.length + payload.length;
            if (out.capacity() < 4 + body) {
                out = ByteBuffer.allocate(Math.max(4 + body, 2 * out.capacity()));
            }
            out.clear();
            out.putInt(body).putLong(seq)
                    .putInt(invokes.length).put(invokes)
                    .putInt(released.length).put(released)
                    .putShort((short) op.length).put(op)
                    .put(payload);
            out.flip();
            while (out.hasRemaining()) {
                ch.write(out);
            }
            if (out.capacity() > (1 << 20)) {
                out = ByteBuffer.allocate(4096);   // do not keep a large value's buffer
            }
            return readAnswer();
        }

        /**
         * The answer's body. One read usually brings all of it (the length, then the body,
         * were two reads: a syscall more per call); nothing follows it, as a connection
         * carries one call at a time.
         */
        private byte[] readAnswer() throws IOException {
            in.clear();
            while (in.position() < 4) {
                readSome(in);
            }
            int n = in.getInt(0);
            if (4 + n <= in.capacity()) {
                while (in.position() < 4 + n) {
                    readSome(in);
                }
                return Arrays.copyOfRange(in.array(), 4, 4 + n);
            }
            ByteBuffer answer = ByteBuffer.allocate(n);   // a large value: a buffer of its own
            answer.put(in.array(), 4, in.position() - 4);
            while (answer.hasRemaining()) {
                readSome(answer);
            }
            return answer.array();
        }

        private void readSome(ByteBuffer b) throws IOException {
            if (ch.read(b) < 0) {
                throw new IOException("the bridge process closed its data socket");
            }
        }

        void close() {
            try {
                ch.close();
            } catch (IOException e) {
                // already gone
            }
        }
    }
}
