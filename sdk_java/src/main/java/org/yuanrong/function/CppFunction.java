package org.yuanrong.function;

/**
 * A C++ function registered with {@code YR_INVOKE}, by name:
 * {@code YR.function(CppFunction.of("Add", Long.class)).invoke(1L, 2L)}. The C++ program is
 * found through {@code $YR_CPP_CODE_PATH} (docs/cross-language.md).
 *
 * @param <R> the Java type the result converts to
 */
public final class CppFunction<R> extends CrossTarget<CppFunction<R>> {
    private CppFunction(String name, Class<R> returnType) {
        super("cpp", null, name, returnType);
    }

    public static CppFunction<Object> of(String functionName) {
        return new CppFunction<>(require(functionName, "functionName"), Object.class);
    }

    public static <R> CppFunction<R> of(String functionName, Class<R> returnType) {
        return new CppFunction<>(require(functionName, "functionName"), returnType);
    }
}
