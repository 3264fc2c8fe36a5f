package org.yuanrong.runtime.client;

import java.util.ArrayList;
import java.util.List;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.Convert;
import org.yuanrong.runtime.bridge.Link;

/**
 * The calls on objects behind {@code YR.get}, {@code YR.wait}, {@code YR.put} and
 * {@link ObjectRef#get}: here, below both, so that a ref can get its value without
 * reaching up to the API class.
 */
public final class ObjectStore {
    /** Timeout of a get without one, as in openYuanrong. */
    public static final int DEFAULT_GET_TIMEOUT_SEC = 300;

    private ObjectStore() {
    }

    private static double timeout(int timeoutSec) throws YRException {
        if (timeoutSec < -1) {
            throw new YRException(YRException.ERR_PARAM_INVALID,
                    "timeoutSec must be -1 (wait forever) or >= 0, got " + timeoutSec);
        }
        return timeoutSec;
    }

    /** The value of ref, converted to its declared type (see YR.get). */
    @SuppressWarnings("unchecked")
    public static <T> T get(ObjectRef<T> ref, int timeoutSec) throws YRException {
        if (ref == null) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "ref is null");
        }
        Object v = Link.require().call("get", ref, timeout(timeoutSec));
        return (T) Convert.to(v, ref.getType());
    }

    /** The values of refs, each converted to its declared type (one timeout for all). */
    @SuppressWarnings("rawtypes")
    public static List<Object> getAll(List<? extends ObjectRef> refs, int timeoutSec) throws YRException {
        if (refs == null || refs.isEmpty()) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "refs is empty");
        }
        List<?> values = (List<?>) Link.require().call("get", refs, timeout(timeoutSec));
        List<Object> out = new ArrayList<>(values.size());
        for (int i = 0; i < values.size(); i++) {
            out.add(Convert.to(values.get(i), refs.get(i).getType()));
        }
        return out;
    }

    /** Which of refs are ready once waitNum are, or the timeout passed (see YR.wait). */
    @SuppressWarnings("rawtypes")
    public static boolean[] ready(List<? extends ObjectRef> refs, int waitNum, int timeoutSec) throws YRException {
        if (refs == null || refs.isEmpty()) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "refs is empty");
        }
        if (waitNum <= 0 || waitNum > refs.size()) {
            throw new YRException(YRException.ERR_PARAM_INVALID,
                    "waitNum must be in [1, " + refs.size() + "], got " + waitNum);
        }
        List<?> readyIdx = (List<?>) Link.require().call("wait", refs, waitNum, timeout(timeoutSec));
        boolean[] isReady = new boolean[refs.size()];
        for (Object i : readyIdx) {
            isReady[((Number) i).intValue()] = true;
        }
        return isReady;
    }

    /** Cancels the stateless calls of refs (see YR.cancel). */
    @SuppressWarnings("rawtypes")
    public static void cancel(List<? extends ObjectRef> refs, boolean isForce, boolean isRecursive)
            throws YRException {
        if (refs == null || refs.isEmpty()) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "refs is empty");
        }
        for (ObjectRef r : refs) {
            if (r == null) {
                throw new YRException(YRException.ERR_PARAM_INVALID, "refs contains null");
            }
        }
        Link.require().call("cancel", refs, isForce, isRecursive);
    }

    /** Stores obj; the ref converts back to obj's class at get (see YR.put). */
    public static <T> ObjectRef<T> put(T obj) throws YRException {
        if (obj instanceof ObjectRef) {
            throw new IllegalArgumentException("YR.put does not take an ObjectRef");
        }
        ObjectRef<?> ref = (ObjectRef<?>) Link.require().call("put", obj);
        return ref.withType(obj == null ? null : obj.getClass());
    }
}
