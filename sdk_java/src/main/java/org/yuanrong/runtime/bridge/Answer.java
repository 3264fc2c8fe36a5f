package org.yuanrong.runtime.bridge;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yuanrong.exception.YRException;

/**
 * The answer envelope of every call across the link, either way: {"ok": value} or
 * {"err": [code, remoteClass, message(, stackTrace)]}, remoteClass set for Java user
 * exceptions only (twin of the Python end in sdk_python/yr/_bridge_py4j.py).
 */
public final class Answer {
    private Answer() {
    }

    /** The encoded {"ok": value}. */
    public static byte[] ok(Object value) throws YRException {
        Map<String, Object> ok = new LinkedHashMap<>();
        ok.put("ok", value);
        return Codec.encode(ok);
    }

    /** The encoded {"err": [code, cls, message, stack]}; never fails (all parts are strings). */
    public static byte[] error(int code, String cls, String message, String stack) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("err", Arrays.asList(code, cls, message == null ? "" : message, stack));
        try {
            return Codec.encode(err);
        } catch (YRException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The value of a decoded ok answer; an error answer becomes its YRException. */
    public static Object unwrap(Object answer) throws YRException {
        if (!(answer instanceof Map)) {
            throw new YRException(YRException.ERR_INNER_COMMUNICATION, "malformed answer from the Python bridge");
        }
        Map<?, ?> m = (Map<?, ?>) answer;
        if (!m.containsKey("err")) {
            return m.get("ok");
        }
        List<?> err = (List<?>) m.get("err");
        int code = ((Number) err.get(0)).intValue();
        String cls = (String) err.get(1);
        String msg = String.valueOf(err.get(2));
        throw new YRException(code, msg, cls, null);
    }
}
