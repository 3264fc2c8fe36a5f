package org.yuanrong.call;

import org.yuanrong.InvokeOptions;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.FuncMeta;
import org.yuanrong.runtime.client.ObjectRef;

/** A static Java method run as a stateless function: {@code YR.function(Fns::add).invoke(1, 2)}. */
public class FunctionHandler<R> {
    private final FuncMeta meta;
    private InvokeOptions options = Calls.DEFAULTS;   // never changed: options(...) replaces it

    public FunctionHandler(FuncMeta meta) {
        this.meta = meta;
    }

    /** Copies the options; returns this. */
    public FunctionHandler<R> options(InvokeOptions opt) {
        this.options = new InvokeOptions(opt);
        return this;
    }

    public ObjectRef<R> invoke(Object... args) throws YRException {
        return Calls.invokeFunction(meta, args, options);
    }
}
