package org.yuanrong.call;

import org.yuanrong.InvokeOptions;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.FuncMeta;
import org.yuanrong.runtime.client.ObjectRef;

/** A method of an instance, ready to invoke: {@code .options(opt).invoke(args...)}. */
public class InstanceFunctionHandler<R> {
    private final InstanceHandler handle;
    private final FuncMeta meta;
    private InvokeOptions options = Calls.DEFAULTS;   // never changed: options(...) replaces it

    InstanceFunctionHandler(InstanceHandler handle, FuncMeta meta) {
        this.handle = handle;
        this.meta = meta;
    }

    /** Copies the options; returns this. */
    public InstanceFunctionHandler<R> options(InvokeOptions opt) {
        this.options = new InvokeOptions(opt);
        return this;
    }

    /** Calls the method asynchronously; the result arrives through the returned ref. */
    public ObjectRef<R> invoke(Object... args) throws YRException {
        return Calls.invokeMethod(handle, meta, args, options);
    }
}
