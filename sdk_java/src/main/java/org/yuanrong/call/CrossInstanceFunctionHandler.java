package org.yuanrong.call;

import org.yuanrong.InvokeOptions;
import org.yuanrong.exception.YRException;
import org.yuanrong.function.CrossTarget;
import org.yuanrong.runtime.client.ObjectRef;

/** A method of a C++ or Python instance by name: {@code .invoke(args...)} returns its ref. */
public class CrossInstanceFunctionHandler<R> {
    private final InstanceHandler handle;
    private final CrossTarget<?> method;

    CrossInstanceFunctionHandler(InstanceHandler handle, CrossTarget<?> method) {
        this.handle = handle;
        this.method = method;
    }

    /** Kept for openYuanrong compatibility; method calls take no per-call options in yr. Returns this. */
    public CrossInstanceFunctionHandler<R> options(InvokeOptions opt) {
        return this;
    }

    public ObjectRef<R> invoke(Object... args) throws YRException {
        return CrossCalls.invokeMethod(handle, method, args);
    }
}
