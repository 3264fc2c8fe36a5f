package org.yuanrong.call;

import org.yuanrong.InvokeOptions;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.FuncMeta;

/**
 * Creates instances of a class: {@code YR.instance(Counter::new).options(opt).invoke()}.
 * Creation is asynchronous: invoke returns a handle at once, and calls made on it before
 * the instance is ready are queued in order.
 */
public class InstanceCreator<A> {
    private final FuncMeta meta;
    private final String name;
    private final String nameSpace;
    private InvokeOptions options = new InvokeOptions();

    public InstanceCreator(FuncMeta meta, String name, String nameSpace) {
        this.meta = meta;
        this.name = name == null ? "" : name;
        this.nameSpace = nameSpace == null ? "" : nameSpace;
    }

    /** Copies the options; returns this. */
    public InstanceCreator<A> options(InvokeOptions opt) {
        this.options = new InvokeOptions(opt);
        return this;
    }

    /**
     * Creates the instance with these constructor arguments. Fails at once on a wrong
     * argument count or bad options (e.g. a custom resource no node has).
     */
    public InstanceHandler invoke(Object... args) throws YRException {
        return Calls.createInstance(meta, args, options, name, nameSpace);
    }
}
