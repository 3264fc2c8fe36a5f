package org.yuanrong.function;

/** A Python class by module and name: {@code YR.instance(PyInstanceClass.of("calc", "Counter")).invoke()}. */
public final class PyInstanceClass extends CrossTarget<PyInstanceClass> {
    private PyInstanceClass(String module, String className) {
        super("python", module, className, null);
    }

    public static PyInstanceClass of(String module, String className) {
        return new PyInstanceClass(require(module, "module"), require(className, "className"));
    }
}
