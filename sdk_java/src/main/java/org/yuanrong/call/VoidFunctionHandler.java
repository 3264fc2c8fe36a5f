package org.yuanrong.call;

import org.yuanrong.InvokeOptions;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.FuncMeta;
import org.yuanrong.runtime.client.ObjectRef;

/** A static void method run as a stateless function; its ref resolves to null when done. */
public class VoidFunctionHandler {
    private final FuncMeta meta;
    private InvokeOptions options = Calls.DEFAULTS;   // never changed: options(...) replaces it

    public VoidFunctionHandler(FuncMeta meta) {
        this.meta = meta;
    }

    public VoidFunctionHandler options(InvokeOptions opt) {
        this.options = new InvokeOptions(opt);
        return this;
    }

    public ObjectRef<Void> invoke(Object... args) throws YRException {
        return Calls.invokeFunction(meta, args, options);
    }
}
