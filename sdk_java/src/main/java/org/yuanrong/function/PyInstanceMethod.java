package org.yuanrong.function;

/**
 * A method of a Python instance by name:
 * {@code handler.function(PyInstanceMethod.of("add", Long.class)).invoke(3L)}.
 *
 * @param <R> the Java type the result converts to
 */
public final class PyInstanceMethod<R> extends CrossTarget<PyInstanceMethod<R>> {
    private PyInstanceMethod(String name, Class<R> returnType) {
        super("python", null, name, returnType);
    }

    public static PyInstanceMethod<Object> of(String methodName) {
        return new PyInstanceMethod<>(require(methodName, "methodName"), Object.class);
    }

    public static <R> PyInstanceMethod<R> of(String methodName, Class<R> returnType) {
        return new PyInstanceMethod<>(require(methodName, "methodName"), returnType);
    }
}
