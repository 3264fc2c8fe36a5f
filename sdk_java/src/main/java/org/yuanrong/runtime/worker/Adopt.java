package org.yuanrong.runtime.worker;

import java.lang.reflect.Field;
import java.util.Map;
import org.yuanrong.exception.YRException;

/**
 * A pooled worker JVM taking the identity of the worker that adopted it (yr._jvm_pool).
 *
 * <p>The node's zygote starts worker JVMs ahead of need with the node's environment; the
 * Python worker that takes one sends its own environment (the instance's env vars, its
 * YR_* identity), which replaces what {@link System#getenv()} returns, so user code sees
 * what a JVM started by that worker would have seen. Java has no setenv: the map behind
 * System.getenv is reached through reflection, which needs
 * {@code --add-opens java.base/java.util=ALL-UNNAMED} (the host passes it to every JVM).
 * Child processes started with ProcessBuilder inherit the replaced map too (it is the same
 * map underneath).
 */
final class Adopt {
    private Adopt() {
    }

    @SuppressWarnings("unchecked")
    static Object environment(Map<?, ?> env) throws YRException {
        Map<String, String> shown = System.getenv();
        Map<String, String> backing;
        try {
            Field f = shown.getClass().getDeclaredField("m");   // Collections.UnmodifiableMap
            f.setAccessible(true);
            backing = (Map<String, String>) f.get(shown);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new YRException(YRException.ERR_PARAM_INVALID,
                    "cannot set the environment of a pooled JVM (started without --add-opens "
                    + "java.base/java.util=ALL-UNNAMED?): " + e);
        }
        synchronized (backing) {
            backing.clear();
            for (Map.Entry<?, ?> e : env.entrySet()) {
                backing.put(String.valueOf(e.getKey()), String.valueOf(e.getValue()));
            }
        }
        return null;
    }
}
