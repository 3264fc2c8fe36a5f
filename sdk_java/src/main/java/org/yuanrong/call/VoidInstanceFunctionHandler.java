package org.yuanrong.call;

import org.yuanrong.InvokeOptions;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.FuncMeta;
import org.yuanrong.runtime.client.ObjectRef;

/** A void method of an instance. invoke returns a ref that resolves to null when done. */
public class VoidInstanceFunctionHandler {
    private final InstanceHandler handle;
    private final FuncMeta meta;
    private InvokeOptions options = Calls.DEFAULTS;   // never changed: options(...) replaces it

    VoidInstanceFunctionHandler(InstanceHandler handle, FuncMeta meta) {
        this.handle = handle;
        this.meta = meta;
    }

    public VoidInstanceFunctionHandler options(InvokeOptions opt) {
        this.options = new InvokeOptions(opt);
        return this;
    }

    public ObjectRef<Void> invoke(Object... args) throws YRException {
        return Calls.invokeMethod(handle, meta, args, options);
    }
}
