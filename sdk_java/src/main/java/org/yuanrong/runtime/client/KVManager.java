package org.yuanrong.runtime.client;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.yuanrong.ExistenceOpt;
import org.yuanrong.GetParam;
import org.yuanrong.GetParams;
import org.yuanrong.MSetParam;
import org.yuanrong.SetParam;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.Convert;
import org.yuanrong.runtime.bridge.Link;

/**
 * The runtime's key-value store, {@code YR.kv()} (openYuanrong's KVManager): shared by every
 * driver and worker of the cluster, in every language. Each call is one {@code yr._bridge}
 * kv_* call; semantics in docs/kv.md.
 *
 * <p>Values are bytes ({@code set}/{@code get}); {@code write}/{@code read} store a value
 * (primitives, String, byte[], List, Map) as msgpack. Timeouts are in seconds, -1 waits
 * forever; a key still missing at the timeout throws ERR_GET_OPERATION_FAILED (4005). Not
 * built: the KVCallback/Future forms and mWriteTx.
 */
public final class KVManager {
    /** Timeout of a read without one, as in openYuanrong. */
    public static final int DEFAULT_GET_TIMEOUT_SEC = 300;

    private static final KVManager INSTANCE = new KVManager();

    private KVManager() {
    }

    /** The one KVManager ({@code YR.kv()}). */
    public static KVManager getSingleton() {
        return INSTANCE;
    }

    // ---- writes ----

    public void set(String key, byte[] value, ExistenceOpt existence) throws YRException {
        set(key, value, new SetParam.Builder().existence(existence).build());
    }

    public void set(String key, byte[] value, Integer length, ExistenceOpt existence) throws YRException {
        set(key, prefix(key, value, length), existence);
    }

    public void set(String key, byte[] value, SetParam setParam) throws YRException {
        if (value == null) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "Cannot set a null value to key: " + key);
        }
        Link.require().call("kv_write", key, value, setParam.getExistence().ordinal(), ttl(setParam.getTtlSecond()),
                setParam.getWriteMode().ordinal(), setParam.getCacheType().ordinal());
    }

    public void set(String key, byte[] value, Integer length, SetParam setParam) throws YRException {
        set(key, prefix(key, value, length), setParam);
    }

    /** Writes the value (overwriting); false, not an exception, if the write failed (as openYuanrong). */
    public boolean set(String key, byte[] value) {
        try {
            set(key, value, ExistenceOpt.NONE);
            return true;
        } catch (YRException e) {
            return false;
        }
    }

    /** Stores value as msgpack (primitives, String, byte[], List, Map). */
    public void write(String key, Object value, ExistenceOpt existence) throws YRException {
        write(key, value, new SetParam.Builder().existence(existence).build());
    }

    public void write(String key, Object value, SetParam setParam) throws YRException {
        Link.require().call("kv_write_value", key, value, setParam.getExistence().ordinal(),
                ttl(setParam.getTtlSecond()), setParam.getWriteMode().ordinal(), setParam.getCacheType().ordinal());
    }

    /** Every key or none; mSetParam's existence must be NX. */
    public void mSetTx(List<String> keys, List<byte[]> vals, MSetParam mSetParam) throws YRException {
        if (keys.size() != vals.size()) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "Arguments vector size not equal. keys size is: "
                    + keys.size() + ", vals size is: " + vals.size());
        }
        if (mSetParam.getExistence() != ExistenceOpt.NX) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "ExistenceOpt should be NX.");
        }
        Link.require().call("kv_m_write_tx", keys, vals, mSetParam.getExistence().ordinal(),
                ttl(mSetParam.getTtlSecond()), mSetParam.getWriteMode().ordinal(), mSetParam.getCacheType().ordinal());
    }

    // ---- reads ----

    public byte[] get(String key) throws YRException {
        return get(key, DEFAULT_GET_TIMEOUT_SEC);
    }

    public byte[] get(String key, int timeoutSec) throws YRException {
        return get(Arrays.asList(key), timeoutSec, false).get(0);
    }

    /** The values of keys; with allowPartial a key still missing at the timeout gives null. */
    public List<byte[]> get(List<String> keys, int timeoutSec, boolean allowPartial) throws YRException {
        if (keys == null || keys.isEmpty()) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "Cannot get values for an empty key list");
        }
        return bytesList(Link.require().call("kv_read", keys, timeout(timeoutSec), allowPartial));
    }

    public List<byte[]> get(List<String> keys, boolean allowPartial) throws YRException {
        return get(keys, DEFAULT_GET_TIMEOUT_SEC, allowPartial);
    }

    public List<byte[]> get(List<String> keys) throws YRException {
        return get(keys, DEFAULT_GET_TIMEOUT_SEC, false);
    }

    public List<byte[]> getWithParam(List<String> keys, GetParams params) throws YRException {
        return getWithParam(keys, params, DEFAULT_GET_TIMEOUT_SEC);
    }

    /** A slice of each value (params.getGetParams().get(i) for keys.get(i)). */
    public List<byte[]> getWithParam(List<String> keys, GetParams params, int timeoutSec) throws YRException {
        if (timeoutSec < -1) {
            throw new YRException(YRException.ERR_PARAM_INVALID,
                    "Parameter 'timeoutSec' should be greater than or equal to -1 (no timeout).");
        }
        if (params.getGetParams().isEmpty()) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "Get params does not accept empty list.");
        }
        if (params.getGetParams().size() != keys.size()) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "Get params size is not equal to keys size.");
        }
        List<Long> offsets = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        for (GetParam p : params.getGetParams()) {
            offsets.add(p.getOffset());
            sizes.add(p.getSize());
        }
        return bytesList(Link.require().call("kv_get_with_param", keys, offsets, sizes, timeout(timeoutSec)));
    }

    /** A value stored with write, converted to type. */
    public Object read(String key, int timeoutSec, Class<?> type) throws YRException {
        List<?> values = (List<?>) Link.require().call("kv_read_values", Arrays.asList(key), timeout(timeoutSec), false);
        return Convert.to(values.get(0), type);
    }

    public List<Object> read(List<String> keys, int timeoutSec, List<Class<?>> types, boolean allowPartial)
            throws YRException {
        if (types.size() != keys.size()) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "one type per key is needed");
        }
        List<?> values = (List<?>) Link.require().call("kv_read_values", keys, timeout(timeoutSec), allowPartial);
        List<Object> out = new ArrayList<>(values.size());
        for (int i = 0; i < values.size(); i++) {
            out.add(values.get(i) == null ? null : Convert.to(values.get(i), types.get(i)));
        }
        return out;
    }

    // ---- deletes (a missing key is no error) ----

    public void del(String key) throws YRException {
        del(Arrays.asList(key));
    }

    /** Deletes the keys; returns those that failed to be deleted. */
    public List<String> del(List<String> keys) throws YRException {
        List<?> failed = (List<?>) Link.require().call("kv_del", keys);
        List<String> out = new ArrayList<>();
        for (Object k : failed) {
            out.add((String) k);
        }
        return out;
    }

    // ---- inside ----

    private static int ttl(int ttlSecond) throws YRException {
        if (ttlSecond < 0) {
            throw new YRException(YRException.ERR_PARAM_INVALID,
                    "Cannot set a negative value to setParam's ttlSecond: " + ttlSecond);
        }
        return ttlSecond;
    }

    private static double timeout(int timeoutSec) throws YRException {
        if (timeoutSec < -1) {
            throw new YRException(YRException.ERR_PARAM_INVALID,
                    "timeoutSec must be -1 (wait forever) or >= 0, got " + timeoutSec);
        }
        return timeoutSec;
    }

    private static byte[] prefix(String key, byte[] value, Integer length) throws YRException {
        if (value == null || length == null || length < 0 || length > value.length) {
            throw new YRException(YRException.ERR_PARAM_INVALID, "length " + length + " does not fit the value of key "
                    + key + " (" + (value == null ? "null" : value.length + " bytes") + ")");
        }
        return Arrays.copyOf(value, length);
    }

    private static List<byte[]> bytesList(Object values) {
        List<byte[]> out = new ArrayList<>();
        for (Object v : (List<?>) values) {
            out.add((byte[]) v);
        }
        return out;
    }
}
