package org.yuanrong.function;

/**
 * A method of a C++ instance by its registered name:
 * {@code handler.function(CppInstanceMethod.of("&Counter::Add", Long.class)).invoke(3L)}.
 *
 * @param <R> the Java type the result converts to
 */
public final class CppInstanceMethod<R> extends CrossTarget<CppInstanceMethod<R>> {
    private CppInstanceMethod(String name, Class<R> returnType) {
        super("cpp", null, name, returnType);
    }

    public static CppInstanceMethod<Object> of(String methodName) {
        return new CppInstanceMethod<>(require(methodName, "methodName"), Object.class);
    }

    public static <R> CppInstanceMethod<R> of(String methodName, Class<R> returnType) {
        return new CppInstanceMethod<>(require(methodName, "methodName"), returnType);
    }
}
