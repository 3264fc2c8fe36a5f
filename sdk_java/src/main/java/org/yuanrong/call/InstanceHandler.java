package org.yuanrong.call;

import org.yuanrong.exception.YRException;
import org.yuanrong.function.YRFunc1;
import org.yuanrong.function.YRFunc2;
import org.yuanrong.function.YRFunc3;
import org.yuanrong.function.YRFunc4;
import org.yuanrong.function.YRFunc5;
import org.yuanrong.function.YRFunc6;
import org.yuanrong.function.YRFuncVoid1;
import org.yuanrong.function.YRFuncVoid2;
import org.yuanrong.function.YRFuncVoid3;
import org.yuanrong.function.YRFuncVoid4;
import org.yuanrong.function.YRFuncVoid5;
import org.yuanrong.function.YRFuncVoid6;
import org.yuanrong.runtime.bridge.FuncMeta;
import org.yuanrong.runtime.bridge.Link;

/**
 * A handle to a stateful instance: {@code handler.function(Counter::add).invoke(3)}.
 *
 * <p>A handle can be passed as an argument to any Java function or method (a parameter of
 * type InstanceHandler) and used there, which openYuanrong's Java SDK does not support.
 */
public class InstanceHandler {
    private final String id;

    /** Internal: made by the SDK from a handle id of the Python end of the link. */
    public InstanceHandler(String id) {
        this.id = id;
        Link.track(this, id);
    }

    /** Internal: the link-local id of this handle. */
    public String getId() {
        return id;
    }

    /** The runtime's instance id. */
    public String getInstanceId() throws YRException {
        return (String) Link.require().call("instance_id", this);
    }

    private <R> InstanceFunctionHandler<R> method(java.io.Serializable ref) throws YRException {
        FuncMeta meta = FuncMeta.of(ref);
        meta.require(FuncMeta.Kind.INSTANCE, "InstanceHandler.function");
        return new InstanceFunctionHandler<>(this, meta);
    }

    private VoidInstanceFunctionHandler voidMethod(java.io.Serializable ref) throws YRException {
        FuncMeta meta = FuncMeta.of(ref);
        meta.require(FuncMeta.Kind.INSTANCE, "InstanceHandler.function");
        return new VoidInstanceFunctionHandler(this, meta);
    }

    public <A, R> InstanceFunctionHandler<R> function(YRFunc1<A, R> f) throws YRException {
        return method(f);
    }

    public <A, T0, R> InstanceFunctionHandler<R> function(YRFunc2<A, T0, R> f) throws YRException {
        return method(f);
    }

    public <A, T0, T1, R> InstanceFunctionHandler<R> function(YRFunc3<A, T0, T1, R> f) throws YRException {
        return method(f);
    }

    public <A, T0, T1, T2, R> InstanceFunctionHandler<R> function(YRFunc4<A, T0, T1, T2, R> f)
            throws YRException {
        return method(f);
    }

    public <A, T0, T1, T2, T3, R> InstanceFunctionHandler<R> function(YRFunc5<A, T0, T1, T2, T3, R> f)
            throws YRException {
        return method(f);
    }

    public <A, T0, T1, T2, T3, T4, R> InstanceFunctionHandler<R> function(
            YRFunc6<A, T0, T1, T2, T3, T4, R> f) throws YRException {
        return method(f);
    }

    public <A> VoidInstanceFunctionHandler function(YRFuncVoid1<A> f) throws YRException {
        return voidMethod(f);
    }

    public <A, T0> VoidInstanceFunctionHandler function(YRFuncVoid2<A, T0> f) throws YRException {
        return voidMethod(f);
    }

    public <A, T0, T1> VoidInstanceFunctionHandler function(YRFuncVoid3<A, T0, T1> f) throws YRException {
        return voidMethod(f);
    }

    public <A, T0, T1, T2> VoidInstanceFunctionHandler function(YRFuncVoid4<A, T0, T1, T2> f)
            throws YRException {
        return voidMethod(f);
    }

    public <A, T0, T1, T2, T3> VoidInstanceFunctionHandler function(YRFuncVoid5<A, T0, T1, T2, T3> f)
            throws YRException {
        return voidMethod(f);
    }

    public <A, T0, T1, T2, T3, T4> VoidInstanceFunctionHandler function(
            YRFuncVoid6<A, T0, T1, T2, T3, T4> f) throws YRException {
        return voidMethod(f);
    }

    /** A method of a C++ instance by its registered name ("&Counter::Add"). */
    public <R> CrossInstanceFunctionHandler<R> function(org.yuanrong.function.CppInstanceMethod<R> m) {
        return new CrossInstanceFunctionHandler<>(this, m);
    }

    /** A method of a Python instance by name. */
    public <R> CrossInstanceFunctionHandler<R> function(org.yuanrong.function.PyInstanceMethod<R> m) {
        return new CrossInstanceFunctionHandler<>(this, m);
    }

    /** Destroys the instance (idempotent); later calls on it fail with a YRException. */
    public void terminate() throws YRException {
        Link.require().call("terminate", this);
    }

    /** openYuanrong's form; yr's terminate is always acknowledged by the runtime. */
    public void terminate(boolean isSync) throws YRException {
        terminate();
    }

    @Override
    public String toString() {
        return "InstanceHandler(" + id + ")";
    }
}
