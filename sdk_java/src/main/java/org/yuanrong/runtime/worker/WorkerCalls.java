package org.yuanrong.runtime.worker;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.Answer;
import org.yuanrong.runtime.bridge.Codec;
import org.yuanrong.runtime.bridge.Convert;
import org.yuanrong.runtime.bridge.FuncMeta;
import org.yuanrong.runtime.bridge.HostCalls;

/**
 * Runs user code in a worker JVM for the Python host (yr._java_host.JavaHost).
 *
 * <p>Operations (payload = encoded argument list; answer = encoded {"ok": v} or
 * {"err": [code, exceptionClass, message, stackTrace]}):
 * <ul>
 *   <li>{@code create [spec, args]} -> instance id: constructs spec.class with the
 *       constructor of descriptor spec.signature;</li>
 *   <li>{@code call_method [instanceId, "name#descriptor" or "name", args]} -> value;</li>
 *   <li>{@code call_function [spec, args]} -> value: static spec.function;</li>
 *   <li>{@code drop [instanceId]} -> null;</li>
 *   <li>{@code save_state [instanceId]} -> {"class", "fields"}; {@code restore [state]} -> instance id;</li>
 *   <li>{@code adopt [env]} -> null: a pooled JVM takes its worker's environment ({@link Adopt}).</li>
 * </ul>
 * Arguments convert to the declared (generic) parameter types. Members are looked up by
 * name and descriptor and cached; without a descriptor the name must be unambiguous for
 * the argument count.
 */
public final class WorkerCalls implements HostCalls {
    private final Map<String, Object> instances = new ConcurrentHashMap<>();
    private final Map<String, Executable> members = new ConcurrentHashMap<>();
    private final AtomicLong nextId = new AtomicLong(1);

    @Override
    public byte[] call(String op, byte[] payload) {
        try {
            List<?> args = (List<?>) Codec.decode(payload);
            return Answer.ok(dispatch(op, args));
        } catch (InvocationTargetException e) {
            Throwable t = e.getCause() == null ? e : e.getCause();
            return Answer.error(YRException.ERR_USER_FUNCTION_EXCEPTION, t.getClass().getName(), t.getMessage(),
                    stack(t));
        } catch (YRException e) {
            return Answer.error(e.getErrorCode(), YRException.class.getName(), e.getErrorMessage(), stack(e));
        } catch (Throwable t) {
            return Answer.error(YRException.ERR_PARAM_INVALID, t.getClass().getName(), t.getMessage(), stack(t));
        }
    }

    /** The stack trace without the frames of reflection, py4j and this worker (noise to users). */
    private static String stack(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        StringBuilder out = new StringBuilder();
        for (String line : w.toString().split("\n")) {
            String s = line.trim();
            if (s.startsWith("at ") && (s.contains("jdk.internal.reflect.") || s.contains("java.lang.reflect.")
                    || s.contains(" py4j.") || s.contains("org.yuanrong.runtime.") || s.contains("java.lang.Thread.run"))) {
                continue;
            }
            out.append(line).append('\n');
        }
        return out.toString();
    }

    private Object dispatch(String op, List<?> a) throws Exception {
        switch (op) {
            case "create":
                return create((Map<?, ?>) a.get(0), (List<?>) a.get(1));
            case "call_method":
                return callMethod((String) a.get(0), (String) a.get(1), (List<?>) a.get(2));
            case "call_function":
                return callFunction((Map<?, ?>) a.get(0), (List<?>) a.get(1));
            case "drop":
                instances.remove((String) a.get(0));
                return null;
            case "save_state":
                return saveState((String) a.get(0));
            case "restore":
                return restore((Map<?, ?>) a.get(0));
            case "adopt":
                return Adopt.environment((Map<?, ?>) a.get(0));
            default:
                throw new YRException(YRException.ERR_PARAM_INVALID, "unknown worker operation " + op);
        }
    }

    private static ClassLoader loader() {
        ClassLoader l = Thread.currentThread().getContextClassLoader();
        return l != null ? l : WorkerCalls.class.getClassLoader();
    }

    private static Class<?> load(String name) throws YRException {
        try {
            return Class.forName(name, true, loader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "class " + name
                    + " is not on the worker class path (" + System.getProperty("java.class.path") + ")", e);
        }
    }

    private String create(Map<?, ?> spec, List<?> args) throws Exception {
        Class<?> cls = load((String) spec.get("class"));
        String sig = (String) spec.get("signature");
        String key = cls.getName() + "#<init>#" + sig;
        Constructor<?> ctor = (Constructor<?>) members.get(key);
        if (ctor == null) {
            ctor = sig == null ? onlyConstructor(cls, args.size())
                    : cls.getDeclaredConstructor(FuncMeta.parseDescriptor(sig, loader()).parameterArray());
            ctor.setAccessible(true);
            members.put(key, ctor);
        }
        Object obj = ctor.newInstance(convertArgs(ctor, args));
        String id = "j" + nextId.getAndIncrement();
        instances.put(id, obj);
        return id;
    }

    /**
     * The state of an instance for recovery: {"class": name, "fields": {name: value}} with
     * every non-static, non-transient field of the class and its superclasses (a field
     * hidden by a subclass's field of the same name is keyed "DeclaringClass#name"). A
     * field whose value cannot cross languages fails the save, naming it.
     */
    private Map<String, Object> saveState(String instanceId) throws YRException, IllegalAccessException {
        Object obj = instance(instanceId);
        Map<String, Object> fields = new LinkedHashMap<>();
        for (Class<?> c = obj.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
            for (java.lang.reflect.Field f : c.getDeclaredFields()) {
                if (!stateful(f)) {
                    continue;
                }
                f.setAccessible(true);
                Object value = f.get(obj);
                try {
                    Codec.encode(value);
                } catch (YRException e) {
                    throw new YRException(YRException.ERR_PARAM_INVALID, "cannot save the state of "
                            + obj.getClass().getName() + ": field " + f.getName() + " (" + f.getType().getName()
                            + ") cannot cross languages; make it transient or a neutral type", e);
                }
                fields.put(fields.containsKey(f.getName()) ? c.getName() + "#" + f.getName() : f.getName(), value);
            }
        }
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("class", obj.getClass().getName());
        state.put("fields", fields);
        return state;
    }

    private static boolean stateful(java.lang.reflect.Field f) {
        int m = f.getModifiers();
        return !Modifier.isStatic(m) && !Modifier.isTransient(m) && !f.isSynthetic();
    }

    /** An instance rebuilt from saveState's map, without running a constructor with arguments. */
    private String restore(Map<?, ?> state) throws Exception {
        Class<?> cls = load((String) state.get("class"));
        Object obj = allocate(cls);
        Map<?, ?> fields = (Map<?, ?>) state.get("fields");
        Map<String, Boolean> seen = new LinkedHashMap<>();
        for (Class<?> c = cls; c != null && c != Object.class; c = c.getSuperclass()) {
            for (java.lang.reflect.Field f : c.getDeclaredFields()) {
                if (!stateful(f)) {
                    continue;
                }
                String key = seen.containsKey(f.getName()) ? c.getName() + "#" + f.getName() : f.getName();
                seen.put(f.getName(), true);
                if (fields.containsKey(key)) {
                    f.setAccessible(true);
                    f.set(obj, Convert.to(fields.get(key), f.getGenericType()));
                }
            }
        }
        String id = "j" + nextId.getAndIncrement();
        instances.put(id, obj);
        return id;
    }

    /** The no-argument constructor if there is one, else an instance no constructor ran on. */
    private static Object allocate(Class<?> cls) throws Exception {
        try {
            Constructor<?> c = cls.getDeclaredConstructor();
            c.setAccessible(true);
            return c.newInstance();
        } catch (NoSuchMethodException e) {
            java.lang.reflect.Field f = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
            f.setAccessible(true);
            Object unsafe = f.get(null);
            return unsafe.getClass().getMethod("allocateInstance", Class.class).invoke(unsafe, cls);
        }
    }

    private Object instance(String instanceId) throws YRException {
        Object obj = instances.get(instanceId);
        if (obj == null) {
            throw new YRException(YRException.ERR_INSTANCE_NOT_FOUND, "no Java instance " + instanceId + " in this worker");
        }
        return obj;
    }

    private static Constructor<?> onlyConstructor(Class<?> cls, int n) throws YRException {
        List<Constructor<?>> found = new ArrayList<>();
        for (Constructor<?> c : cls.getDeclaredConstructors()) {
            if (c.getParameterCount() == n) {
                found.add(c);
            }
        }
        if (found.size() != 1) {
            throw new YRException(YRException.ERR_PARAM_INVALID, cls.getName() + " has " + found.size()
                    + " constructors with " + n + " parameters; give a signature");
        }
        return found.get(0);
    }

    private Object callMethod(String instanceId, String method, List<?> args) throws Exception {
        Object obj = instance(instanceId);
        Method m = method(obj.getClass(), method, args.size(), false);
        return result(m, m.invoke(obj, convertArgs(m, args)));
    }

    private Object callFunction(Map<?, ?> spec, List<?> args) throws Exception {
        Class<?> cls = load((String) spec.get("class"));
        String name = (String) spec.get("function");
        Object sig = spec.get("signature");
        Method m = method(cls, sig == null ? name : name + "#" + sig, args.size(), true);
        return result(m, m.invoke(null, convertArgs(m, args)));
    }

    private static Object result(Method m, Object value) {
        return m.getReturnType() == void.class ? null : value;
    }

    private Method method(Class<?> cls, String method, int argc, boolean isStatic) throws YRException {
        String key = cls.getName() + "#" + method + (method.contains("#") ? "" : "#" + argc);
        Method m = (Method) members.get(key);
        if (m != null) {
            return m;
        }
        int hash = method.indexOf('#');
        String name = hash < 0 ? method : method.substring(0, hash);
        m = hash < 0 ? uniqueMethod(cls, name, argc)
                : FuncMeta.findMethod(cls, name, FuncMeta.parseDescriptor(method.substring(hash + 1), loader()).parameterArray());
        if (m == null) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "no method " + method + " in " + cls.getName());
        }
        if (isStatic != Modifier.isStatic(m.getModifiers())) {
            throw new YRException(YRException.ERR_PARAM_INVALID, cls.getName() + "." + name + " must "
                    + (isStatic ? "" : "not ") + "be static");
        }
        m.setAccessible(true);
        members.put(key, m);
        return m;
    }

    private static Method uniqueMethod(Class<?> cls, String name, int argc) throws YRException {
        Method found = null;
        for (Method m : cls.getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == argc) {
                if (found != null) {
                    throw new YRException(YRException.ERR_PARAM_INVALID, cls.getName() + "." + name
                            + " is overloaded; call it with its signature (name#descriptor)");
                }
                found = m;
            }
        }
        return found;
    }

    private static Object[] convertArgs(Executable e, List<?> args) throws YRException {
        Type[] types = e.getGenericParameterTypes();
        if (types.length != args.size()) {
            throw new YRException(YRException.ERR_PARAM_INVALID, e.getName() + " takes " + types.length
                    + " argument(s), got " + args.size());
        }
        Object[] out = new Object[types.length];
        for (int i = 0; i < types.length; i++) {
            out[i] = Convert.to(args.get(i), types[i]);
        }
        return out;
    }
}
