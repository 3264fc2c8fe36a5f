package org.yuanrong.call;

import org.yuanrong.InvokeOptions;
import org.yuanrong.exception.YRException;
import org.yuanrong.function.CrossTarget;

/**
 * Creates instances of a C++ or Python class:
 * {@code YR.instance(PyInstanceClass.of("calc", "Counter")).options(opt).invoke()}. The handle
 * comes back at once, like {@link InstanceCreator}'s.
 */
public class CrossInstanceCreator {
    private final CrossTarget<?> target;
    private final String name;
    private final String nameSpace;
    private InvokeOptions options = new InvokeOptions();

    public CrossInstanceCreator(CrossTarget<?> target, String name, String nameSpace) {
        this.target = target;
        this.name = name;
        this.nameSpace = nameSpace;
    }

    /** Copies the options; returns this. */
    public CrossInstanceCreator options(InvokeOptions opt) {
        this.options = new InvokeOptions(opt);
        return this;
    }

    /** Accepted for openYuanrong compatibility; yr needs no URN. */
    public CrossInstanceCreator setUrn(String urn) {
        target.setUrn(urn);
        return this;
    }

    public InstanceHandler invoke(Object... args) throws YRException {
        return CrossCalls.createInstance(target, args, options, name, nameSpace);
    }
}
