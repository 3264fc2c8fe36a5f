package org.yuanrong.runtime.bridge;

import java.io.Serializable;
import java.lang.invoke.MethodHandleInfo;
import java.lang.invoke.MethodType;
import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Method;
import java.lang.reflect.Type;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.yuanrong.exception.YRException;

/**
 * What a method reference names, read from its SerializedLambda: the implementing class,
 * the method name ({@code <init>} for {@code ::new}), its JVM descriptor and its kind.
 * The reference is never called on the driver; a worker JVM finds the same member by
 * class, name and descriptor.
 */
public final class FuncMeta {
    public enum Kind { CONSTRUCTOR, STATIC, INSTANCE }

    private final String className;
    private final String methodName;
    private final String signature;
    private final Kind kind;
    private final ClassLoader loader;
    private volatile int parameterCount = -1;
    // Per reference (a FuncMeta is cached per lambda class), asked at every invoke: kept
    // here instead of a string built per call (and a map lookup by it, for the type).
    private volatile String qualified;
    private volatile Optional<Type> returnType;
    private static final Map<String, Optional<Type>> RETURN_TYPES = new ConcurrentHashMap<>();
    private static final Map<Class<?>, FuncMeta> BY_LAMBDA_CLASS = new ConcurrentHashMap<>();

    FuncMeta(String className, String methodName, String signature, Kind kind, ClassLoader loader) {
        this.className = className;
        this.methodName = methodName;
        this.signature = signature;
        this.kind = kind;
        this.loader = loader;
    }

    public static FuncMeta of(Serializable ref) throws YRException {
        if (ref == null) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "method reference is null");
        }
        // One lambda class per call site, always naming the same member: cache by class.
        FuncMeta cached = BY_LAMBDA_CLASS.get(ref.getClass());
        if (cached == null) {
            cached = read(ref);
            BY_LAMBDA_CLASS.put(ref.getClass(), cached);
        }
        return cached;
    }

    private static FuncMeta read(Serializable ref) throws YRException {
        SerializedLambda lambda = serializedLambda(ref);
        String name = lambda.getImplMethodName();
        if (name.startsWith("lambda$")) {
            throw new YRException(YRException.ERR_PARAM_INVALID,
                    "pass a method reference (Counter::add, Counter::new), not a lambda expression");
        }
        Kind kind;
        switch (lambda.getImplMethodKind()) {
            case MethodHandleInfo.REF_newInvokeSpecial:
                kind = Kind.CONSTRUCTOR;
                break;
            case MethodHandleInfo.REF_invokeStatic:
                kind = Kind.STATIC;
                break;
            default:
                kind = Kind.INSTANCE;
        }
        return new FuncMeta(lambda.getImplClass().replace('/', '.'), name,
                lambda.getImplMethodSignature(), kind, ref.getClass().getClassLoader());
    }

    private static SerializedLambda serializedLambda(Serializable ref) throws YRException {
        try {
            Method writeReplace = ref.getClass().getDeclaredMethod("writeReplace");
            writeReplace.setAccessible(true);
            Object replaced = writeReplace.invoke(ref);
            if (replaced instanceof SerializedLambda) {
                return (SerializedLambda) replaced;
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new YRException(YRException.ERR_PARAM_INVALID,
                    "cannot read the method reference " + ref.getClass().getName() + ": " + e, e);
        }
        throw new YRException(YRException.ERR_PARAM_INVALID,
                ref.getClass().getName() + " is not a method reference");
    }

    public String getClassName() {
        return className;
    }

    public String getMethodName() {
        return methodName;
    }

    public String getSignature() {
        return signature;
    }

    public Kind getKind() {
        return kind;
    }

    /** The class loader of the code that wrote the reference (for the worker class path). */
    public ClassLoader getLoader() {
        return loader;
    }

    /** Number of declared parameters (the receiver of an instance method not counted). */
    public int parameterCount() {
        int n = parameterCount;
        if (n < 0) {
            n = parameterCount = parseDescriptor(signature, loader).parameterCount();
        }
        return n;
    }

    /** "name#descriptor": how a Java method travels in invoke_method. */
    public String qualifiedMethod() {
        String q = qualified;
        if (q == null) {
            q = qualified = methodName + "#" + signature;
        }
        return q;
    }

    public void require(Kind expected, String api) throws YRException {
        if (kind != expected) {
            String want = expected == Kind.CONSTRUCTOR ? "a constructor reference (Counter::new)"
                    : expected == Kind.STATIC ? "a static method reference (MyClass::myStaticMethod)"
                    : "an instance method reference (Counter::add)";
            throw new YRException(YRException.ERR_PARAM_INVALID, api + " needs " + want + ", got "
                    + className + "::" + methodName);
        }
    }

    /**
     * The generic return type of the referenced method, found by reflection on the driver,
     * or null when the class cannot be loaded here (values then decode untyped).
     */
    public Type genericReturnType() {
        if (kind == Kind.CONSTRUCTOR) {
            return null;
        }
        // Reflection per invoke would cost more than the call's own Java-side work.
        Optional<Type> cached = returnType;
        if (cached == null) {
            String key = className + "#" + methodName + signature;
            cached = RETURN_TYPES.get(key);
            if (cached == null) {
                cached = Optional.ofNullable(lookUpReturnType());
                RETURN_TYPES.put(key, cached);
            }
            returnType = cached;
        }
        return cached.orElse(null);
    }

    private Type lookUpReturnType() {
        try {
            Class<?> cls = Class.forName(className, false, loader);
            Method m = findMethod(cls, methodName, parseDescriptor(signature, loader).parameterArray());
            return m == null ? null : (m.getReturnType() == void.class ? Void.class : m.getGenericReturnType());
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null;
        }
    }

    public static MethodType parseDescriptor(String descriptor, ClassLoader loader) {
        return MethodType.fromMethodDescriptorString(descriptor, loader);
    }

    /** A declared method of cls or its superclasses/interfaces with exactly these parameters. */
    public static Method findMethod(Class<?> cls, String name, Class<?>[] params) {
        for (Class<?> c = cls; c != null; c = c.getSuperclass()) {
            try {
                return c.getDeclaredMethod(name, params);
            } catch (NoSuchMethodException e) {
                // keep looking up the hierarchy
            }
        }
        try {
            return cls.getMethod(name, params); // default methods of interfaces
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        return className + "::" + methodName + signature;
    }
}
