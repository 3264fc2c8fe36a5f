package org.yuanrong.call;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yuanrong.InvokeOptions;
import org.yuanrong.affinity.Affinity;
import org.yuanrong.affinity.LabelOperator;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.FuncMeta;
import org.yuanrong.runtime.bridge.Link;
import org.yuanrong.runtime.client.ObjectRef;

/** Turns the handlers' invokes into yr._bridge calls (specs and option maps of docs/bridge.md). */
final class Calls {
    /**
     * The options of a handler nobody gave options to (shared, never changed). Its invokes
     * carry no options map: the bridge's defaults are these (cpu and memory 500), and a
     * map built and encoded per call, then decoded on the Python end, was a good part of a
     * call's encoding work.
     */
    static final InvokeOptions DEFAULTS = new InvokeOptions();

    private Calls() {
    }

    private static void checkArgs(FuncMeta meta, Object[] args) throws YRException {
        int n = args == null ? 0 : args.length;
        if (n != meta.parameterCount()) {
            throw new YRException(YRException.ERR_PARAM_INVALID, meta.getClassName() + "::" + meta.getMethodName()
                    + " takes " + meta.parameterCount() + " argument(s), got " + n);
        }
    }

    private static Object argList(Object[] args) {
        return args == null ? java.util.List.of() : Arrays.asList(args);
    }

    /** The bridge's options dict; only what is set (cpu and memory always: their defaults are explicit). */
    static Map<String, Object> optionsMap(InvokeOptions o, String name, String ns) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", o.getCpu());
        m.put("memory", o.getMemory());
        if (!o.getCustomResources().isEmpty()) {
            Map<String, Object> res = new LinkedHashMap<>();
            o.getCustomResources().forEach((k, v) -> res.put(k, v == null ? 0.0 : v.doubleValue()));
            m.put("custom_resources", res);
        }
        if (o.getConcurrency() > 0) {
            m.put("concurrency", o.getConcurrency());
        }
        String n = name != null && !name.isEmpty() ? name : o.getName();
        if (!n.isEmpty()) {
            m.put("name", n);
        }
        String s = ns != null && !ns.isEmpty() ? ns : o.getNamespace();
        if (!s.isEmpty()) {
            m.put("namespace", s);
        }
        if (o.getRecoverRetryTimes() > 0) {
            m.put("recover_retry_times", o.getRecoverRetryTimes());
        }
        if (o.getScheduleTimeoutMs() != InvokeOptions.DEFAULT_SCHEDULE_TIMEOUT_MS) {
            m.put("schedule_timeout_ms", o.getScheduleTimeoutMs());
        }
        if (!o.getLabels().isEmpty()) {
            m.put("labels", new ArrayList<>(o.getLabels()));
        }
        if (!o.getScheduleAffinities().isEmpty()) {
            List<Object> rules = new ArrayList<>();
            o.getScheduleAffinities().forEach(a -> rules.add(affinityMap(a)));
            m.put("schedule_affinities", rules);
        }
        if (!o.isPreferredPriority()) {
            m.put("preferred_priority", false);
        }
        if (o.isRequiredPriority()) {
            m.put("required_priority", true);
        }
        if (o.isPreferredAntiOtherLabels()) {
            m.put("preferred_anti_other_labels", true);
        }
        return m;
    }

    /** The affinity dict yr._bridge reads (enum names as in Python's yr.affinity): {"kind", "type", "operators": [{"type", "key", "values"}], "scope"?}. */
    private static Map<String, Object> affinityMap(Affinity a) {
        List<Object> ops = new ArrayList<>();
        for (LabelOperator op : a.getLabelOperators()) {
            Map<String, Object> om = new LinkedHashMap<>();
            om.put("type", op.getOperatorType().name());
            om.put("key", op.getKey());
            om.put("values", new ArrayList<>(op.getValues()));
            ops.add(om);
        }
        Map<String, Object> am = new LinkedHashMap<>();
        am.put("kind", a.getAffinityKind().name());
        am.put("type", a.getAffinityType().name());
        am.put("operators", ops);
        if (a.getAffinityScope() != null) {
            am.put("scope", a.getAffinityScope().name());
        }
        return am;
    }

    private static Map<String, Object> spec(FuncMeta meta) {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("language", "java");
        spec.put("classpath", Link.classpath(meta.getLoader()));
        spec.put("class", meta.getClassName());
        if (meta.getKind() == FuncMeta.Kind.CONSTRUCTOR) {
            spec.put("constructor", meta.getMethodName());
        } else {
            spec.put("function", meta.getMethodName());
        }
        spec.put("signature", meta.getSignature());
        return spec;
    }

    static InstanceHandler createInstance(FuncMeta meta, Object[] args, InvokeOptions o,
                                          String name, String ns) throws YRException {
        checkArgs(meta, args);
        Link link = Link.require();
        return (InstanceHandler) link.call("create_instance", spec(meta), argList(args), optionsMap(o, name, ns));
    }

    static <R> ObjectRef<R> invokeMethod(InstanceHandler h, FuncMeta meta, Object[] args,
                                         InvokeOptions o) throws YRException {
        checkArgs(meta, args);
        // Deferred: it crosses with the next call of the link (the get, for a sync call).
        String id = o == DEFAULTS
                ? Link.require().defer("invoke_method", h, meta.qualifiedMethod(), argList(args))
                : Link.require().defer("invoke_method", h, meta.qualifiedMethod(), argList(args),
                        optionsMap(o, null, null));
        return new ObjectRef<>(id, meta.genericReturnType());
    }

    static <R> ObjectRef<R> invokeFunction(FuncMeta meta, Object[] args, InvokeOptions o)
            throws YRException {
        checkArgs(meta, args);
        String id = o == DEFAULTS
                ? Link.require().defer("invoke_function", spec(meta), argList(args))
                : Link.require().defer("invoke_function", spec(meta), argList(args), optionsMap(o, null, null));
        return new ObjectRef<>(id, meta.genericReturnType());
    }
}
