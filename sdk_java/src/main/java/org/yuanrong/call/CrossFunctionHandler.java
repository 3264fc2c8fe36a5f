package org.yuanrong.call;

import org.yuanrong.InvokeOptions;
import org.yuanrong.exception.YRException;
import org.yuanrong.function.CrossTarget;
import org.yuanrong.runtime.client.ObjectRef;

/** A stateless C++ or Python function: {@code YR.function(CppFunction.of("Add", Long.class)).invoke(1L, 2L)}. */
public class CrossFunctionHandler<R> {
    private final CrossTarget<?> target;
    private InvokeOptions options = new InvokeOptions();

    public CrossFunctionHandler(CrossTarget<?> target) {
        this.target = target;
    }

    /** Copies the options; returns this. */
    public CrossFunctionHandler<R> options(InvokeOptions opt) {
        this.options = new InvokeOptions(opt);
        return this;
    }

    /** Accepted for openYuanrong compatibility; yr needs no URN. */
    public CrossFunctionHandler<R> setUrn(String urn) {
        target.setUrn(urn);
        return this;
    }

    public ObjectRef<R> invoke(Object... args) throws YRException {
        return CrossCalls.invokeFunction(target, args, options);
    }
}
