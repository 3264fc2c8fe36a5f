package org.yuanrong.api;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yuanrong.Config;
import org.yuanrong.call.CrossFunctionHandler;
import org.yuanrong.call.CrossInstanceCreator;
import org.yuanrong.call.FunctionHandler;
import org.yuanrong.call.Handles;
import org.yuanrong.call.InstanceCreator;
import org.yuanrong.call.VoidFunctionHandler;
import org.yuanrong.exception.YRException;
import org.yuanrong.function.CppFunction;
import org.yuanrong.function.CppInstanceClass;
import org.yuanrong.function.PyFunction;
import org.yuanrong.function.PyInstanceClass;
import org.yuanrong.function.YRFunc0;
import org.yuanrong.function.YRFunc1;
import org.yuanrong.function.YRFunc2;
import org.yuanrong.function.YRFunc3;
import org.yuanrong.function.YRFunc4;
import org.yuanrong.function.YRFunc5;
import org.yuanrong.function.YRFuncVoid0;
import org.yuanrong.function.YRFuncVoid1;
import org.yuanrong.function.YRFuncVoid2;
import org.yuanrong.function.YRFuncVoid3;
import org.yuanrong.function.YRFuncVoid4;
import org.yuanrong.function.YRFuncVoid5;
import org.yuanrong.runtime.bridge.FuncMeta;
import org.yuanrong.runtime.bridge.Link;
import org.yuanrong.runtime.client.KVManager;
import org.yuanrong.runtime.client.ObjectRef;
import org.yuanrong.runtime.client.ObjectStore;
import org.yuanrong.storage.WaitResult;
import org.yuanrong.stream.Consumer;
import org.yuanrong.stream.Producer;
import org.yuanrong.stream.ProducerConfig;
import org.yuanrong.stream.Streams;
import org.yuanrong.stream.SubscriptionConfig;

/**
 * The entry point of the yr Java SDK (openYuanrong's {@code org.yuanrong.api.YR}).
 *
 * <pre>
 *   YR.init();
 *   InstanceHandler counter = YR.instance(Counter::new).invoke();
 *   ObjectRef ref = counter.function(Counter::add).invoke(3);
 *   System.out.println(YR.get(ref, 9));
 *   counter.terminate();
 *   YR.Finalize();
 * </pre>
 *
 * Every call goes through py4j to a Python process running {@code yr._bridge} (see
 * docs/java.md). Errors are {@link YRException}s with openYuanrong codes. Inside a worker
 * JVM the SDK is already connected: init and Finalize do nothing there.
 */
public final class YR {
    /** Timeout of {@code YR.get(ref)} without one, as in openYuanrong. */
    public static final int DEFAULT_GET_TIMEOUT_SEC = ObjectStore.DEFAULT_GET_TIMEOUT_SEC;

    private YR() {
    }

    /** Connects to the runtime found by discovery (or starts a temporary local one). */
    public static void init() throws YRException {
        init(new Config());
    }

    /**
     * Starts the Python bridge and initialises the runtime session.
     *
     * @throws YRException 4001 if already initialised, or the bridge/runtime error
     */
    public static synchronized void init(Config config) throws YRException {
        Link link = Link.current();
        if (link != null && link.isWorker()) {
            return;
        }
        if (link != null) {
            throw new YRException(YRException.ERR_INCORRECT_INIT_USAGE, "Cannot init YR twice");
        }
        link = Link.startDriver(config, Handles.TYPES);
        Map<String, Object> cfg = new LinkedHashMap<>();
        if (!config.fullServerAddress().isEmpty()) {
            cfg.put("server_address", config.fullServerAddress());
        }
        if (!config.getLogLevel().isEmpty()) {
            cfg.put("log_level", config.getLogLevel());
        }
        if (!config.getNs().isEmpty()) {
            cfg.put("ns", config.getNs());
        }
        try {
            link.call("init", cfg);
        } catch (YRException | RuntimeException e) {
            link.close();
            throw e;
        }
    }

    /** Whether init has been called (and not finalized) in this JVM. */
    public static boolean isInitialized() {
        return Link.current() != null;
    }

    /**
     * Terminates this driver's instances, releases its objects, stops the Python bridge
     * (and a temporary runtime it started).
     *
     * @throws YRException 9000 if not initialised
     */
    public static synchronized void Finalize() throws YRException {
        Link link = Link.current();
        if (link != null && link.isWorker()) {
            return;
        }
        Link.require().finalizeAndClose();
    }

    private static <A> InstanceCreator<A> creator(Serializable f, String name, String nameSpace) throws YRException {
        FuncMeta meta = FuncMeta.of(f);
        meta.require(FuncMeta.Kind.CONSTRUCTOR, "YR.instance");
        return new InstanceCreator<>(meta, name, nameSpace);
    }

    private static FuncMeta staticMeta(Serializable f) throws YRException {
        FuncMeta meta = FuncMeta.of(f);
        meta.require(FuncMeta.Kind.STATIC, "YR.function");
        return meta;
    }

    public static <A> InstanceCreator<A> instance(YRFunc0<A> f) throws YRException {
        return creator(f, null, null);
    }
    public static <A> InstanceCreator<A> instance(YRFunc0<A> f, String name) throws YRException {
        return creator(f, name, null);
    }
    public static <A> InstanceCreator<A> instance(YRFunc0<A> f, String name, String nameSpace) throws YRException {
        return creator(f, name, nameSpace);
    }
    public static <T0, A> InstanceCreator<A> instance(YRFunc1<T0, A> f) throws YRException {
        return creator(f, null, null);
    }
    public static <T0, A> InstanceCreator<A> instance(YRFunc1<T0, A> f, String name) throws YRException {
        return creator(f, name, null);
    }
    public static <T0, A> InstanceCreator<A> instance(YRFunc1<T0, A> f, String name, String nameSpace) throws YRException {
        return creator(f, name, nameSpace);
    }
    public static <T0, T1, A> InstanceCreator<A> instance(YRFunc2<T0, T1, A> f) throws YRException {
        return creator(f, null, null);
    }
    public static <T0, T1, A> InstanceCreator<A> instance(YRFunc2<T0, T1, A> f, String name) throws YRException {
        return creator(f, name, null);
    }
    public static <T0, T1, A> InstanceCreator<A> instance(YRFunc2<T0, T1, A> f, String name, String nameSpace) throws YRException {
        return creator(f, name, nameSpace);
    }
    public static <T0, T1, T2, A> InstanceCreator<A> instance(YRFunc3<T0, T1, T2, A> f) throws YRException {
        return creator(f, null, null);
    }
    public static <T0, T1, T2, A> InstanceCreator<A> instance(YRFunc3<T0, T1, T2, A> f, String name) throws YRException {
        return creator(f, name, null);
    }
    public static <T0, T1, T2, A> InstanceCreator<A> instance(YRFunc3<T0, T1, T2, A> f, String name, String nameSpace) throws YRException {
        return creator(f, name, nameSpace);
    }
    public static <T0, T1, T2, T3, A> InstanceCreator<A> instance(YRFunc4<T0, T1, T2, T3, A> f) throws YRException {
        return creator(f, null, null);
    }
    public static <T0, T1, T2, T3, A> InstanceCreator<A> instance(YRFunc4<T0, T1, T2, T3, A> f, String name) throws YRException {
        return creator(f, name, null);
    }
    public static <T0, T1, T2, T3, A> InstanceCreator<A> instance(YRFunc4<T0, T1, T2, T3, A> f, String name, String nameSpace) throws YRException {
        return creator(f, name, nameSpace);
    }
    public static <T0, T1, T2, T3, T4, A> InstanceCreator<A> instance(YRFunc5<T0, T1, T2, T3, T4, A> f) throws YRException {
        return creator(f, null, null);
    }
    public static <T0, T1, T2, T3, T4, A> InstanceCreator<A> instance(YRFunc5<T0, T1, T2, T3, T4, A> f, String name) throws YRException {
        return creator(f, name, null);
    }
    public static <T0, T1, T2, T3, T4, A> InstanceCreator<A> instance(YRFunc5<T0, T1, T2, T3, T4, A> f, String name, String nameSpace) throws YRException {
        return creator(f, name, nameSpace);
    }

    public static <R> FunctionHandler<R> function(YRFunc0<R> f) throws YRException {
        return new FunctionHandler<>(staticMeta(f));
    }
    public static VoidFunctionHandler function(YRFuncVoid0 f) throws YRException {
        return new VoidFunctionHandler(staticMeta(f));
    }
    public static <T0, R> FunctionHandler<R> function(YRFunc1<T0, R> f) throws YRException {
        return new FunctionHandler<>(staticMeta(f));
    }
    public static <T0> VoidFunctionHandler function(YRFuncVoid1<T0> f) throws YRException {
        return new VoidFunctionHandler(staticMeta(f));
    }
    public static <T0, T1, R> FunctionHandler<R> function(YRFunc2<T0, T1, R> f) throws YRException {
        return new FunctionHandler<>(staticMeta(f));
    }
    public static <T0, T1> VoidFunctionHandler function(YRFuncVoid2<T0, T1> f) throws YRException {
        return new VoidFunctionHandler(staticMeta(f));
    }
    public static <T0, T1, T2, R> FunctionHandler<R> function(YRFunc3<T0, T1, T2, R> f) throws YRException {
        return new FunctionHandler<>(staticMeta(f));
    }
    public static <T0, T1, T2> VoidFunctionHandler function(YRFuncVoid3<T0, T1, T2> f) throws YRException {
        return new VoidFunctionHandler(staticMeta(f));
    }
    public static <T0, T1, T2, T3, R> FunctionHandler<R> function(YRFunc4<T0, T1, T2, T3, R> f) throws YRException {
        return new FunctionHandler<>(staticMeta(f));
    }
    public static <T0, T1, T2, T3> VoidFunctionHandler function(YRFuncVoid4<T0, T1, T2, T3> f) throws YRException {
        return new VoidFunctionHandler(staticMeta(f));
    }
    public static <T0, T1, T2, T3, T4, R> FunctionHandler<R> function(YRFunc5<T0, T1, T2, T3, T4, R> f) throws YRException {
        return new FunctionHandler<>(staticMeta(f));
    }
    public static <T0, T1, T2, T3, T4> VoidFunctionHandler function(YRFuncVoid5<T0, T1, T2, T3, T4> f) throws YRException {
        return new VoidFunctionHandler(staticMeta(f));
    }

    /** A C++ function by its registered name (docs/cross-language.md). */
    public static <R> CrossFunctionHandler<R> function(CppFunction<R> f) {
        return new CrossFunctionHandler<>(f);
    }

    /** A Python function by module and name. */
    public static <R> CrossFunctionHandler<R> function(PyFunction<R> f) {
        return new CrossFunctionHandler<>(f);
    }

    /** Instances of a C++ class by its registered factory. */
    public static CrossInstanceCreator instance(CppInstanceClass c) {
        return new CrossInstanceCreator(c, null, null);
    }

    public static CrossInstanceCreator instance(CppInstanceClass c, String name, String nameSpace) {
        return new CrossInstanceCreator(c, name, nameSpace);
    }

    /** Instances of a Python class by module and name. */
    public static CrossInstanceCreator instance(PyInstanceClass c) {
        return new CrossInstanceCreator(c, null, null);
    }

    public static CrossInstanceCreator instance(PyInstanceClass c, String name, String nameSpace) {
        return new CrossInstanceCreator(c, name, nameSpace);
    }

    /** {@code get(ref, 300)}. */
    public static <T> T get(ObjectRef<T> ref) throws YRException {
        return get(ref, DEFAULT_GET_TIMEOUT_SEC);
    }

    /**
     * Waits for the value of ref, converted to the declared return type of the method that
     * produced it.
     *
     * @throws YRException 4005 on timeout; 2002 if the remote code threw (its class name
     *     and message are in the message); 1007 if the instance died or was terminated
     */
    public static <T> T get(ObjectRef<T> ref, int timeoutSec) throws YRException {
        return ObjectStore.get(ref, timeoutSec);
    }

    /** Waits for all values (one timeout for the whole list). */
    @SuppressWarnings("rawtypes")
    public static List<Object> get(List<? extends ObjectRef> refs, int timeoutSec) throws YRException {
        return ObjectStore.getAll(refs, timeoutSec);
    }

    /**
     * Waits until waitNum refs are ready (done or failed) or the timeout passes
     * (-1: no timeout); returns the ready and the other refs, in their original order.
     */
    @SuppressWarnings("rawtypes")
    public static WaitResult wait(List<? extends ObjectRef> refs, int waitNum, int timeoutSec) throws YRException {
        boolean[] isReady = ObjectStore.ready(refs, waitNum, timeoutSec);
        List<ObjectRef> r = new ArrayList<>();
        List<ObjectRef> u = new ArrayList<>();
        for (int i = 0; i < refs.size(); i++) {
            (isReady[i] ? r : u).add(refs.get(i));
        }
        return new WaitResult(r, u);
    }

    /** The runtime's key-value store, shared by every driver and worker (docs/kv.md). */
    public static KVManager kv() {
        return KVManager.getSingleton();
    }

    // ---- streams (org.yuanrong.stream; semantics in docs/kv.md "Streams") ----

    /** A producer of the stream (created if it does not exist) with the default ProducerConfig. */
    public static Producer createProducer(String streamName) throws YRException {
        return Streams.createProducer(streamName, new ProducerConfig());
    }

    public static Producer createProducer(String streamName, ProducerConfig producerConf) throws YRException {
        return Streams.createProducer(streamName, producerConf);
    }

    /** A consumer of the stream through config's subscription; it acks with {@code ack}. */
    public static Consumer subscribe(String streamName, SubscriptionConfig config) throws YRException {
        return Streams.subscribe(streamName, config, false);
    }

    /** With autoAck each receive first acks the elements the previous receive returned. */
    public static Consumer subscribe(String streamName, SubscriptionConfig config, boolean autoAck)
            throws YRException {
        return Streams.subscribe(streamName, config, autoAck);
    }

    /** Deletes the stream; refused (ERR_PARAM_INVALID) while it has producers or consumers. */
    public static void deleteStream(String streamName) throws YRException {
        Streams.deleteStream(streamName);
    }

    /** How many producers the stream has in all processes (Python's query_global_producers_num). */
    public static long queryGlobalProducersNum(String streamName) throws YRException {
        return Streams.count(streamName, 0);
    }

    /** How many consumers the stream has in all processes (Python's query_global_consumers_num). */
    public static long queryGlobalConsumersNum(String streamName) throws YRException {
        return Streams.count(streamName, 1);
    }

    /**
     * Stores a value in the object store. The ref converts back to the value's class at get.
     *
     * @throws IllegalArgumentException if obj is an ObjectRef
     */
    public static <T> ObjectRef<T> put(T obj) throws YRException {
        return ObjectStore.put(obj);
    }

    /**
     * Cancels stateless calls (see docs/api.md): a call not sent yet never runs, a running one is
     * stopped with its executor, and get then throws. Refs of instance calls and finished calls
     * are left alone.
     *
     * @throws YRException 1001 if refs is empty or holds null
     */
    @SuppressWarnings("rawtypes")
    public static void cancel(List<? extends ObjectRef> refs, boolean isForce, boolean isRecursive) throws YRException {
        ObjectStore.cancel(refs, isForce, isRecursive);
    }

    /** {@code cancel(refs, true, false)}. */
    @SuppressWarnings("rawtypes")
    public static void cancel(List<? extends ObjectRef> refs) throws YRException {
        cancel(refs, true, false);
    }

    /** {@code cancel([ref], true, false)}. */
    public static void cancel(ObjectRef<?> ref) throws YRException {
        cancel(java.util.Collections.singletonList(ref), true, false);
    }

    // openYuanrong's older spelling of instance(f, name[, nameSpace]): an InstanceCreator of the
    // named instance (get-or-create when invoked).
    public static <A> InstanceCreator<A> getInstance(YRFunc0<A> f, String name) throws YRException {
        return creator(f, name, null);
    }
    public static <A> InstanceCreator<A> getInstance(YRFunc0<A> f, String name, String nameSpace) throws YRException {
        return creator(f, name, nameSpace);
    }
    public static <T0, A> InstanceCreator<A> getInstance(YRFunc1<T0, A> f, String name) throws YRException {
        return creator(f, name, null);
    }
    public static <T0, A> InstanceCreator<A> getInstance(YRFunc1<T0, A> f, String name, String nameSpace) throws YRException {
        return creator(f, name, nameSpace);
    }
    public static <T0, T1, A> InstanceCreator<A> getInstance(YRFunc2<T0, T1, A> f, String name) throws YRException {
        return creator(f, name, null);
    }
    public static <T0, T1, A> InstanceCreator<A> getInstance(YRFunc2<T0, T1, A> f, String name, String nameSpace) throws YRException {
        return creator(f, name, nameSpace);
    }
    public static <T0, T1, T2, A> InstanceCreator<A> getInstance(YRFunc3<T0, T1, T2, A> f, String name) throws YRException {
        return creator(f, name, null);
    }
    public static <T0, T1, T2, A> InstanceCreator<A> getInstance(YRFunc3<T0, T1, T2, A> f, String name, String nameSpace) throws YRException {
        return creator(f, name, nameSpace);
    }
    public static <T0, T1, T2, T3, A> InstanceCreator<A> getInstance(YRFunc4<T0, T1, T2, T3, A> f, String name) throws YRException {
        return creator(f, name, null);
    }
    public static <T0, T1, T2, T3, A> InstanceCreator<A> getInstance(YRFunc4<T0, T1, T2, T3, A> f, String name, String nameSpace) throws YRException {
        return creator(f, name, nameSpace);
    }
    public static <T0, T1, T2, T3, T4, A> InstanceCreator<A> getInstance(YRFunc5<T0, T1, T2, T3, T4, A> f, String name) throws YRException {
        return creator(f, name, null);
    }
    public static <T0, T1, T2, T3, T4, A> InstanceCreator<A> getInstance(YRFunc5<T0, T1, T2, T3, T4, A> f, String name, String nameSpace) throws YRException {
        return creator(f, name, nameSpace);
    }
}
