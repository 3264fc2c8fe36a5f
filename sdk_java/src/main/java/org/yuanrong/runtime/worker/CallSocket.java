package org.yuanrong.runtime.worker;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.yuanrong.runtime.bridge.HostCalls;

/**
 * The data path of a worker JVM: the Python host's calls (create, call_method,
 * call_function, ...) over a Unix socket of its own, without py4j's text protocol (a
 * py4j round trip cost ~100 us, most of a Java call). py4j stays for everything else
 * (attach, and Java code calling YR.* back through the link).
 *
 * <p>Frames, both ways: u32 big-endian length, then the body. A request body is u16 length
 * + op (UTF-8) + the {@link org.yuanrong.runtime.bridge.Codec}-encoded argument list; an
 * answer body is {@link HostCalls#call}'s answer. One thread per connection, calls on a
 * connection one at a time (the host opens a connection per concurrent caller). The socket
 * lives in a directory only the worker's user can enter (made by the host), and the host
 * holds the JVM's stdin, so only the host connects.
 */
final class CallSocket {
    private final ServerSocketChannel server;
    private final HostCalls calls;

    private CallSocket(ServerSocketChannel server, HostCalls calls) {
        this.server = server;
        this.calls = calls;
    }

    /** Binds {@code path} and serves {@code calls} on daemon threads. */
    static CallSocket start(String path, HostCalls calls) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(Path.of(path)));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                // A pooled JVM's socket directory is its own (yr._jvm_pool) and nobody else
                // removes it; a worker's own JVM's directory its worker removes too.
                Path socketPath = Path.of(path);
                java.nio.file.Files.deleteIfExists(socketPath);
                java.nio.file.Files.deleteIfExists(socketPath.getParent());
            } catch (IOException e) {
                // not empty or already gone: nothing of ours to clean
            }
        }, "yr-call-socket-unlink"));
        CallSocket s = new CallSocket(server, calls);
        daemon(s::acceptLoop, "yr-call-accept");
        return s;
    }

    private static void daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                daemon(() -> serve(ch), "yr-call");
            } catch (IOException e) {
                return;   // closed
            }
        }
    }

    private void serve(SocketChannel ch) {
        try (ch; DataInputStream in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(ch), 65536));
             DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(ch), 65536))) {
            while (true) {
                int n = in.readInt();
                int opLen = in.readUnsignedShort();
                byte[] op = new byte[opLen];
                in.readFully(op);
                byte[] payload = new byte[n - 2 - opLen];
                in.readFully(payload);
                byte[] answer = calls.call(new String(op, StandardCharsets.UTF_8), payload);
                out.writeInt(answer.length);
                out.write(answer);
                out.flush();
            }
        } catch (EOFException e) {
            // the host closed this connection
        } catch (IOException e) {
            // the host is gone
        }
    }
}
