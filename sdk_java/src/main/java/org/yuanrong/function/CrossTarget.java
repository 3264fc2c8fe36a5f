package org.yuanrong.function;

/**
 * What the cross-language descriptors ({@link CppFunction}, {@link PyFunction}, ...) have in
 * common: the target's language, owner (Python module or C++ class; null for functions and
 * methods named alone), member name, and the Java type results convert to.
 *
 * @param <S> the concrete descriptor, returned by {@link #setUrn} for chaining
 */
public abstract class CrossTarget<S extends CrossTarget<S>> {
    private final String language;
    private final String owner;
    private final String name;
    private final Class<?> returnType;
    private String urn = "";

    CrossTarget(String language, String owner, String name, Class<?> returnType) {
        this.language = language;
        this.owner = owner;
        this.name = name;
        this.returnType = returnType;
    }

    static String require(String value, String what) {
        if (value == null || value.trim().isEmpty()) {
            throw new IllegalArgumentException(what + " must not be empty");
        }
        return value;
    }

    /** "cpp" or "python". */
    public String getLanguage() {
        return language;
    }

    /** The Python module or C++ class, or null. */
    public String getOwner() {
        return owner;
    }

    /** The function, class, factory or method name. */
    public String getName() {
        return name;
    }

    /** The type results convert to (null for classes). */
    public Class<?> getReturnType() {
        return returnType;
    }

    /** Accepted for openYuanrong compatibility; yr needs no URN. Returns this. */
    @SuppressWarnings("unchecked")
    public S setUrn(String functionUrn) {
        this.urn = functionUrn == null ? "" : functionUrn;
        return (S) this;
    }

    public String getUrn() {
        return urn;
    }
}
