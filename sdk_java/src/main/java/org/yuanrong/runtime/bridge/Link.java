package org.yuanrong.runtime.bridge;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.ref.Cleaner;
import java.net.InetAddress;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.CodeSource;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.yuanrong.Config;
import org.yuanrong.exception.YRException;
import javax.net.SocketFactory;
import py4j.CallbackClient;
import py4j.GatewayServer;

/**
 * The one py4j link of this JVM to a Python process running yr._bridge.
 *
 * <p>In a driver the link owns the Python process ({@code python -m yr._bridge_py4j}):
 * it starts it, and stops it at {@code YR.Finalize()} or JVM exit; the Python process
 * also exits when its stdin (a pipe from this JVM) closes, so it cannot outlive a killed
 * driver. In a worker JVM the Python worker owns this JVM the same way (see
 * JavaWorkerMain). Either way the JVM listens (py4j GatewayServer, loopback, random
 * port, auth token) and the Python end connects and attaches its {@link PyBridge}.
 */
public final class Link {
    static final Cleaner CLEANER = Cleaner.create();
    private static final Map<ClassLoader, String> CLASSPATHS = new java.util.concurrent.ConcurrentHashMap<>();
    private static volatile Link current;
    private static volatile boolean finalized;

    private final boolean worker;
    private final CountDownLatch attached = new CountDownLatch(1);
    private final ConcurrentLinkedQueue<String> released = new ConcurrentLinkedQueue<>();
    private GatewayServer server;
    private volatile PyBridge bridge;
    private volatile boolean closed;
    private Process python;
    // Driver: the data socket to the bridge process (DataSocket), and the directory it is in.
    private volatile DataSocket data;
    private Path dataDir;
    private OutputStream pythonStdin;
    // Deferred invokes (see defer): encoded [id, entry] pairs, sent by the next crossing.
    private final Object pendingLock = new Object();
    private List<Object> pending = new ArrayList<>();
    private long batchSeq;
    // The flusher (see flusherLoop): whether it sleeps until woken, when the oldest
    // deferred invoke was queued, when the last one was.
    private boolean flusherAsleep;
    private boolean flushNow;
    private Thread flusher;
    private long pendingSince;
    private long lastDefer;
    private static final AtomicLong DEFERRED_IDS = new AtomicLong();
    /** A burst of invokes crosses in batches of at most this many. */
    static final int MAX_BATCH = 512;
    /** How many full batches may wait for the flusher before the invoking thread sends them itself. */
    static final int BACKLOG_BATCHES = 4;
    /** How long a deferred invoke waits for a crossing to take it before the flusher sends it. */
    static final long FLUSH_DELAY_NS = 1_000_000L;
    /** How long without a deferred invoke before the flusher stops ticking and sleeps until woken. */
    static final long FLUSHER_IDLE_NS = 50_000_000L;

    private Link(boolean worker) {
        this.worker = worker;
    }

    /** The link of this JVM, or null before init / after finalize. */
    public static Link current() {
        return current;
    }

    /** The live link, or the YRException a call without one deserves. */
    public static Link require() throws YRException {
        Link link = current;
        if (link != null && !link.closed) {
            return link;
        }
        if (finalized) {
            throw new YRException(YRException.ERR_FINALIZED, "YR has been finalized; call YR.init() again first");
        }
        throw new YRException(YRException.ERR_INCORRECT_INIT_USAGE, "YR.init() has not been called");
    }

    public boolean isWorker() {
        return worker;
    }

    GatewayServer server() {
        return server;
    }

    public int port() {
        return server.getListeningPort();
    }

    /**
     * The Python end; in a worker JVM it may still be on its way (a pooled JVM's host
     * attaches while the instance is being created, yr._java_host), so a worker waits for
     * it, up to {@link #ATTACH_WAIT_S} s. Null when closed or never attached.
     */
    private PyBridge attachedBridge() {
        PyBridge b = bridge;
        if (b == null && worker && !closed) {
            try {
                attached.await(ATTACH_WAIT_S, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            b = bridge;
        }
        return b;
    }

    /** How long a worker JVM's call back into the runtime waits for its host to attach. */
    static final long ATTACH_WAIT_S = 60;

    void attach(PyBridge b) {
        bridge = b;
        attached.countDown();
    }

    private static String newToken() {
        byte[] b = new byte[24];
        new SecureRandom().nextBytes(b);
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x", x));
        }
        return sb.toString();
    }

    /**
     * Starts the py4j server on a daemon thread (so its threads are daemons too: a driver
     * that forgets YR.Finalize() still exits, through the shutdown hook). The callback
     * client gets no idle-connection cleaner (minConnectionTime 0): its executor thread
     * would not be a daemon.
     */
    private void listen(String token, HostCalls calls) throws YRException {
        InetAddress lo = InetAddress.getLoopbackAddress();
        server = new GatewayServer.GatewayServerBuilder(new JavaEntry(this, calls))
                .javaPort(0).javaAddress(lo)
                .callbackClient(new CallbackClient(GatewayServer.DEFAULT_PYTHON_PORT, lo, token,
                        0, TimeUnit.SECONDS, SocketFactory.getDefault(), true, 0))
                .authToken(token).build();
        Thread starter = new Thread(() -> server.start(true), "yr-py4j-start");
        starter.setDaemon(true);
        starter.start();
        try {
            starter.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (server.getListeningPort() <= 0) {
            throw new YRException(YRException.ERR_INNER_COMMUNICATION, "py4j server did not start");
        }
    }

    /**
     * Worker JVM: listen and wait for the Python host to attach (see JavaWorkerMain); the
     * host's calls go to {@code calls}, handles and refs decode to {@code types}.
     */
    public static synchronized Link startWorker(String token, HostCalls calls, RemoteTypes types)
            throws YRException {
        Codec.register(types);
        Link link = new Link(true);
        link.listen(token, calls);
        link.startFlusher();
        current = link;
        return link;
    }

    /**
     * Driver: listen, start the Python bridge process and wait until it attaches; handles
     * and refs decode to {@code types}.
     */
    public static synchronized Link startDriver(Config config, RemoteTypes types) throws YRException {
        Codec.register(types);
        Link link = new Link(false);
        String token = newToken();
        link.listen(token, null);
        try {
            link.spawnPython(config, token);
            link.awaitAttach(config.getBridgeStartTimeoutSec());
            if (Files.exists(link.dataDir.resolve(DATA_SOCKET))) {   // else py4j carries the calls
                link.data = new DataSocket(link.dataDir.resolve(DATA_SOCKET));
            }
        } catch (YRException | RuntimeException e) {
            link.close();
            throw e;
        }
        link.startFlusher();
        current = link;
        finalized = false;
        Runtime.getRuntime().addShutdownHook(new Thread(link::closeAtExit, "yr-exit"));
        return link;
    }

    static String pythonExecutable(Config config) {
        if (!config.getPythonExecutable().isEmpty()) {
            return config.getPythonExecutable();
        }
        String env = System.getenv("YR_PYTHON");
        return env == null || env.isEmpty() ? "python3" : env;
    }

    /** The data socket's name in {@link #dataDir} (bound by the bridge process before it attaches). */
    static final String DATA_SOCKET = "data.sock";
    /** The longest socket path Linux binds (sun_path holds 108 bytes with its terminating NUL). */
    static final int MAX_SOCKET_PATH = 107;

    private void spawnPython(Config config, String token) throws YRException {
        ProcessBuilder pb = new ProcessBuilder(pythonExecutable(config), "-m", "yr._bridge_py4j");
        try {
            // Only this user may enter it: whoever can connect to the socket can call the runtime.
            java.nio.file.attribute.FileAttribute<?> owner =
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
            dataDir = Files.createTempDirectory("yr-bridge-", owner);
            if (dataDir.resolve(DATA_SOCKET).toString().length() > MAX_SOCKET_PATH) {
                // a Unix socket's path has ~107 bytes at most: a long java.io.tmpdir cannot hold it
                Files.delete(dataDir);
                dataDir = Files.createTempDirectory(Path.of("/tmp"), "yr-bridge-", owner);
            }
        } catch (IOException | UnsupportedOperationException e) {
            throw new YRException(YRException.ERR_INCORRECT_INIT_USAGE, "cannot make the bridge's socket directory: " + e, e);
        }
        pb.environment().put("YR_BRIDGE_SOCKET", dataDir.resolve(DATA_SOCKET).toString());
        pb.environment().put("YR_PY4J_JAVA_PORT", Integer.toString(port()));
        pb.environment().put("YR_PY4J_TOKEN", token);
        pb.redirectOutput(ProcessBuilder.Redirect.INHERIT);
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        try {
            python = pb.start();
        } catch (IOException e) {
            throw new YRException(YRException.ERR_INCORRECT_INIT_USAGE, "cannot start the Python bridge ("
                    + pb.command().get(0) + "; set YR_PYTHON to a Python with yr installed): " + e, e);
        }
        pythonStdin = python.getOutputStream();
    }

    private void awaitAttach(int timeoutSec) throws YRException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(1, timeoutSec));
        try {
            while (!attached.await(50, TimeUnit.MILLISECONDS)) {
                if (!python.isAlive()) {
                    throw new YRException(YRException.ERR_INCORRECT_INIT_USAGE,
                            "the Python bridge process exited with code " + python.exitValue()
                            + " before connecting (is yr installed for " + python.info().command().orElse("python")
                            + "? see its stderr above)");
                }
                if (System.nanoTime() > deadline) {
                    throw new YRException(YRException.ERR_INNER_COMMUNICATION,
                            "the Python bridge did not connect within " + timeoutSec + " s");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new YRException(YRException.ERR_INNER_COMMUNICATION, "interrupted while starting the bridge", e);
        }
    }

    /** Calls {@code op} on the Python end; a Python-side YRError becomes a YRException. */
    public Object call(String op, Object... args) throws YRException {
        PyBridge b = attachedBridge();
        if (closed || b == null) {
            throw new YRException(YRException.ERR_FINALIZED, "YR has been finalized");
        }
        DataSocket d = data;
        byte[] payload = Codec.encode(Arrays.asList(args));
        byte[] answer;
        try {
            if (d != null) {
                byte[] released = encodedReleases();
                Batch batch = drainPending();
                answer = batch == null ? d.call(0, null, released, op, payload)
                        : d.call(batch.seq, batch.encoded(), released, op, payload);
            } else {
                drainReleases(b);
                Batch batch = drainPending();
                answer = batch == null ? b.call(op, payload) : b.callBatched(batch.seq, batch.encoded(), op, payload);
            }
        } catch (RuntimeException e) {
            throw new YRException(YRException.ERR_INNER_COMMUNICATION,
                    "lost the link to the Python bridge during " + op + ": " + e.getMessage(), e);
        }
        return Answer.unwrap(Codec.decode(answer));
    }

    /**
     * Defers {@code op} (invoke_method or invoke_function) to the next crossing and
     * returns the id its ref will have on the Python end ("j" + a number made here). Any
     * later call of this link sends the deferred invokes first, in the same crossing (so
     * an invoke followed by a get crosses once); a burst crosses every {@link #MAX_BATCH}
     * invokes; a daemon flusher sends what nothing else took within ~1 ms. The Python end
     * runs batches in the order they were taken here. An error of the invoke itself (a
     * terminated instance) is kept in its ref and raised by whatever uses the ref.
     */
    public String defer(String op, Object... args) throws YRException {
        if (closed || attachedBridge() == null) {
            throw new YRException(YRException.ERR_FINALIZED, "YR has been finalized");
        }
        String id = "j" + DEFERRED_IDS.incrementAndGet();
        Object[] entry = new Object[args.length + 1];
        entry[0] = op;
        System.arraycopy(args, 0, entry, 1, args.length);
        byte[] encoded = Codec.encode(Arrays.asList(entry));
        boolean full;
        synchronized (pendingLock) {
            pending.add(id);
            pending.add(encoded);
            if (pending.size() == 2) {
                lastDefer = pendingSince = System.nanoTime();
                if (flusherAsleep) {
                    flusherAsleep = false;
                    pendingLock.notifyAll();   // wakes the flusher (while it ticks, no wake per call)
                }
            }
            int size = pending.size();
            full = size >= 2 * BACKLOG_BATCHES * MAX_BATCH;
            if (size % (2 * MAX_BATCH) == 0 && !full) {
                // A full batch: the flusher sends it while this thread goes on encoding the
                // next (a burst's invokes cross in a pipeline, not in turns).
                flushNow = true;
                flusherAsleep = false;
                pendingLock.notifyAll();
                LockSupport.unpark(flusher);
            }
        }
        if (full) {
            flush();   // the flusher is behind: this caller sends them itself
        }
        return id;
    }

    /** Sends the deferred invokes now (no-op when there are none). */
    public void flush() throws YRException {
        flushPending();
    }

    /** {@link #flush}; false when nothing could be sent (nothing deferred, or no bridge). */
    private boolean flushPending() throws YRException {
        PyBridge b = attachedBridge();
        if (closed || b == null) {
            return false;
        }
        Batch batch = drainPending();
        if (batch == null) {
            return false;
        }
        byte[] answer;
        try {
            DataSocket d = data;
            answer = d != null ? d.call(batch.seq, batch.encoded(), encodedReleases(), "flush", Codec.encode(List.of()))
                    : b.callBatched(batch.seq, batch.encoded(), "flush", Codec.encode(List.of()));
        } catch (RuntimeException e) {
            throw new YRException(YRException.ERR_INNER_COMMUNICATION,
                    "lost the link to the Python bridge while sending invokes: " + e.getMessage(), e);
        }
        Answer.unwrap(Codec.decode(answer));
        return true;
    }

    private static final class Batch {
        final long seq;
        final List<Object> pairs;

        Batch(long seq, List<Object> pairs) {
            this.seq = seq;
            this.pairs = pairs;
        }

        byte[] encoded() throws YRException {
            return Codec.encode(pairs);
        }
    }

    /** Takes every deferred invoke, numbered in the order taken (the Python end keeps it). */
    private Batch drainPending() {
        synchronized (pendingLock) {
            if (pending.isEmpty()) {
                return null;
            }
            Batch batch = new Batch(++batchSeq, pending);
            pending = new ArrayList<>();
            return batch;
        }
    }

    private void startFlusher() {
        Thread t = new Thread(this::flusherLoop, "yr-invoke-flusher");
        t.setDaemon(true);
        synchronized (pendingLock) {
            flusher = t;
        }
        t.start();
    }

    /**
     * Sends deferred invokes that no crossing took within {@link #FLUSH_DELAY_NS}. While
     * invokes keep coming it ticks (one wake-up per ~1 ms, not one per invoke: a sync
     * call's get takes its invoke long before); after {@link #FLUSHER_IDLE_NS} without
     * one it sleeps until {@link #defer} wakes it.
     */
    private void flusherLoop() {
        while (!closed) {
            long waitNs;
            synchronized (pendingLock) {
                long now = System.nanoTime();
                if (flushNow) {
                    flushNow = false;
                    waitNs = 0;
                } else if (pending.isEmpty()) {
                    if (now - lastDefer > FLUSHER_IDLE_NS) {
                        flusherAsleep = true;
                        try {
                            while (flusherAsleep && !closed) {
                                pendingLock.wait();
                            }
                        } catch (InterruptedException e) {
                            return;
                        }
                        continue;
                    }
                    waitNs = FLUSH_DELAY_NS;
                } else {
                    waitNs = pendingSince + FLUSH_DELAY_NS - now;
                }
            }
            if (waitNs > 0) {
                LockSupport.parkNanos(waitNs);
                continue;
            }
            boolean sent;
            try {
                sent = flushPending();
            } catch (YRException | RuntimeException e) {
                sent = false;   // the link is going or gone; the refs' gets report it
            }
            if (!sent) {
                LockSupport.parkNanos(FLUSH_DELAY_NS);   // nothing to send, or no bridge yet: do not spin
            }
        }
    }

    /** Called (via the Cleaner) when a Java handle or ref is unreachable. */
    void releaseLater(String id) {
        released.add(id);
    }

    /** The released ids, encoded, to ride on the next data frame; null when there are none. */
    private byte[] encodedReleases() throws YRException {
        if (released.isEmpty()) {
            return null;
        }
        List<String> ids = new ArrayList<>();
        for (String id; (id = released.poll()) != null;) {
            ids.add(id);
        }
        return Codec.encode(ids);
    }

    private void drainReleases(PyBridge b) throws YRException {
        if (released.isEmpty()) {
            return;
        }
        List<String> ids = new ArrayList<>();
        for (String id; (id = released.poll()) != null;) {
            ids.add(id);
        }
        try {
            b.call("release", Codec.encode(List.of(ids)));
        } catch (RuntimeException e) {
            throw new YRException(YRException.ERR_INNER_COMMUNICATION, "lost the link to the Python bridge: " + e, e);
        }
    }

    /** Registers a handle/ref for release on the Python end when it becomes unreachable. */
    public static void track(Object owner, String id) {
        Link link = current;
        if (link != null) {
            CLEANER.register(owner, () -> link.releaseLater(id));
        }
    }

    /** Driver: finalize the runtime session, then stop the Python process. */
    public void finalizeAndClose() throws YRException {
        try {
            call("finalize");
        } finally {
            close();
        }
    }

    private void closeAtExit() {
        if (!closed) {
            try {
                finalizeAndClose();
            } catch (YRException | RuntimeException e) {
                close();
            }
        }
    }

    /** Idempotent. Stops the Python process (driver) and the py4j server. */
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        synchronized (pendingLock) {
            flusherAsleep = false;
            pendingLock.notifyAll();   // ends the flusher
        }
        if (current == this) {
            current = null;
            finalized = true;
        }
        if (python != null) {
            stopPython();
        }
        if (data != null) {
            data.close();
        }
        if (dataDir != null) {
            try {
                Files.deleteIfExists(dataDir.resolve(DATA_SOCKET));
                Files.deleteIfExists(dataDir);
            } catch (IOException e) {
                // not ours to empty (something else in it): leave it
            }
        }
        try {
            server.shutdown();
        } catch (RuntimeException e) {
            // already down
        }
    }

    private void stopPython() {
        PyBridge b = bridge;
        DataSocket d = data;
        if (b != null && python.isAlive()) {
            try {
                if (d != null) {
                    d.call(0, null, null, "exit", Codec.encode(List.of()));
                } else {
                    b.call("exit", Codec.encode(List.of()));
                }
            } catch (RuntimeException | YRException e) {
                // it may already be on its way out
            }
        }
        try {
            pythonStdin.close();
        } catch (IOException e) {
            // the pipe is gone: Python sees EOF either way
        }
        try {
            if (!python.waitFor(15, TimeUnit.SECONDS)) {
                python.destroy();
                if (!python.waitFor(5, TimeUnit.SECONDS)) {
                    python.destroyForcibly();
                    python.waitFor(5, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            python.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The class path a worker JVM needs for code of this loader: the loader's URLs (covers
     * mvn exec:java), java.class.path, -Dyr.codePath entries and the jars of the SDK and
     * py4j, all made absolute. -Dyr.classpath replaces the first two.
     */
    public static String classpath(ClassLoader loader) {
        return CLASSPATHS.computeIfAbsent(loader == null ? Link.class.getClassLoader() : loader,
                Link::computeClasspath);
    }

    private static String computeClasspath(ClassLoader loader) {
        Set<String> entries = new LinkedHashSet<>();
        String override = System.getProperty("yr.classpath");
        if (override != null && !override.isEmpty()) {
            addAll(entries, override.split(File.pathSeparator));
        } else {
            for (ClassLoader l = loader; l != null; l = l.getParent()) {
                if (l instanceof URLClassLoader) {
                    for (URL u : ((URLClassLoader) l).getURLs()) {
                        addUrl(entries, u);
                    }
                }
            }
            addAll(entries, System.getProperty("java.class.path", "").split(File.pathSeparator));
        }
        String codePath = System.getProperty("yr.codePath");
        if (codePath != null && !codePath.isEmpty()) {
            addAll(entries, codePath.split(","));
        }
        addCodeSource(entries, Link.class.getProtectionDomain().getCodeSource());
        addCodeSource(entries, GatewayServer.class.getProtectionDomain().getCodeSource());
        return String.join(File.pathSeparator, entries);
    }

    private static void addAll(Set<String> entries, String[] paths) {
        for (String p : paths) {
            if (!p.isBlank()) {
                entries.add(new File(p.trim()).getAbsolutePath());
            }
        }
    }

    private static void addUrl(Set<String> entries, URL u) {
        if (!"file".equals(u.getProtocol())) {
            return;
        }
        try {
            entries.add(new File(u.toURI()).getAbsolutePath());
        } catch (URISyntaxException | IllegalArgumentException e) {
            // not a plain file URL: skip
        }
    }

    private static void addCodeSource(Set<String> entries, CodeSource cs) {
        if (cs != null && cs.getLocation() != null) {
            addUrl(entries, cs.getLocation());
        }
    }
}
