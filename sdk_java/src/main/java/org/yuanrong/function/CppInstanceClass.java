package org.yuanrong.function;

/**
 * A C++ class by name and registered factory:
 * {@code YR.instance(CppInstanceClass.of("Counter", "Counter::FactoryCreate")).invoke(1L)}.
 */
public final class CppInstanceClass extends CrossTarget<CppInstanceClass> {
    private CppInstanceClass(String className, String factoryName) {
        super("cpp", className, factoryName, null);
    }

    public static CppInstanceClass of(String className, String factoryName) {
        return new CppInstanceClass(require(className, "className"), require(factoryName, "factoryName"));
    }
}
