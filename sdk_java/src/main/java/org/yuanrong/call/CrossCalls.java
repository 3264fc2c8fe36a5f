package org.yuanrong.call;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yuanrong.InvokeOptions;
import org.yuanrong.exception.YRException;
import org.yuanrong.function.CrossTarget;
import org.yuanrong.runtime.bridge.Link;
import org.yuanrong.runtime.client.ObjectRef;

/**
 * Cross-language calls (docs/cross-language.md): bridge specs for C++ and Python targets
 * named by strings. The bridge finds the code: C++ in the executable of
 * {@code $YR_CPP_CODE_PATH}, Python modules on the driver's import path.
 */
final class CrossCalls {
    private CrossCalls() {
    }

    private static List<Object> argList(Object[] args) {
        return args == null ? List.of() : Arrays.asList(args);
    }

    /** {"language": "cpp", "function": f} or {"language": "python", "module": m, "function": f}. */
    private static Map<String, Object> functionSpec(CrossTarget<?> t) {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("language", t.getLanguage());
        if ("python".equals(t.getLanguage())) {
            spec.put("module", t.getOwner());
        }
        spec.put("function", t.getName());
        return spec;
    }

    /** {"language": "cpp", "class": c, "factory": f} or {"language": "python", "module": m, "class": c}. */
    private static Map<String, Object> classSpec(CrossTarget<?> t) {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("language", t.getLanguage());
        if ("python".equals(t.getLanguage())) {
            spec.put("module", t.getOwner());
            spec.put("class", t.getName());
        } else {
            spec.put("class", t.getOwner());
            spec.put("factory", t.getName());
        }
        return spec;
    }

    static <R> ObjectRef<R> invokeFunction(CrossTarget<?> t, Object[] args, InvokeOptions o) throws YRException {
        ObjectRef<?> ref = (ObjectRef<?>) Link.require().call("invoke_function", functionSpec(t), argList(args),
                Calls.optionsMap(o, null, null));
        return ref.withType(t.getReturnType());
    }

    static InstanceHandler createInstance(CrossTarget<?> t, Object[] args, InvokeOptions o, String name, String ns)
            throws YRException {
        return (InstanceHandler) Link.require().call("create_instance", classSpec(t), argList(args),
                Calls.optionsMap(o, name, ns));
    }

    static <R> ObjectRef<R> invokeMethod(InstanceHandler h, CrossTarget<?> m, Object[] args) throws YRException {
        ObjectRef<?> ref = (ObjectRef<?>) Link.require().call("invoke_method", h, m.getName(), argList(args),
                Map.of());
        return ref.withType(m.getReturnType());
    }
}
