package org.yuanrong.function;

/**
 * A Python function by module and name (beyond openYuanrong, whose Java SDK cannot call
 * Python): {@code YR.function(PyFunction.of("calc", "add", Long.class)).invoke(1L, 2L)}. The
 * module is imported from the driver's working directory and Python import path.
 *
 * @param <R> the Java type the result converts to
 */
public final class PyFunction<R> extends CrossTarget<PyFunction<R>> {
    private PyFunction(String module, String function, Class<R> returnType) {
        super("python", module, function, returnType);
    }

    public static PyFunction<Object> of(String module, String function) {
        return new PyFunction<>(require(module, "module"), require(function, "function"), Object.class);
    }

    public static <R> PyFunction<R> of(String module, String function, Class<R> returnType) {
        return new PyFunction<>(require(module, "module"), require(function, "function"), returnType);
    }
}
