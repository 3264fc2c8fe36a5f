package org.yuanrong.runtime.bridge;

import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yuanrong.exception.YRException;

/**
 * The neutral value encoding that crosses py4j (one byte[] per call each way), twin of
 * {@code _Codec} in sdk_python/yr/_bridge_py4j.py. Every value starts with a one-byte
 * tag; lengths and counts are unsigned 32-bit, numbers big-endian:
 *
 * <pre>
 *   N null | T true | F false | I int64 | D float64 | S utf-8 string | B bytes
 *   L count items... | M count (key value)... | H id (instance handle) | R id (object ref)
 * </pre>
 *
 * H and R carry the id of an opaque Python object kept in the registry of the Python end
 * of the link; the Java side holds only the id, in an InstanceHandler or ObjectRef. Those
 * types live above the bridge: the codec reaches them through the {@link RemoteTypes} the
 * link registered at its start.
 */
public final class Codec {
    /** Tag of an instance handle. */
    public static final char HANDLE = 'H';
    /** Tag of an object ref. */
    public static final char REF = 'R';

    /** Before a link starts, no value is a handle or ref, and none can be decoded. */
    private static final RemoteTypes NO_REMOTES = new RemoteTypes() {
        @Override
        public char tagOf(Object value) {
            return 0;
        }

        @Override
        public String idOf(Object value) {
            throw new IllegalStateException("no remote types registered");
        }

        @Override
        public Object make(char tag, String id) throws YRException {
            throw new YRException(YRException.ERR_INNER_COMMUNICATION,
                    "a handle or ref arrived before a link was started (no RemoteTypes registered)");
        }
    };

    private static volatile RemoteTypes remotes = NO_REMOTES;

    private Codec() {
    }

    /** Registers the handle and ref types (done by Link at its start; idempotent). */
    public static void register(RemoteTypes types) {
        remotes = types;
    }

    public static byte[] encode(Object value) throws YRException {
        Out out = new Out();
        write(out, value);
        return out.toByteArray();
    }

    public static Object decode(byte[] data) throws YRException {
        ByteBuffer in = ByteBuffer.wrap(data);
        Object value = read(in);
        if (in.hasRemaining()) {
            throw new YRException(YRException.ERR_INNER_COMMUNICATION, "trailing bytes in encoded value");
        }
        return value;
    }

    /**
     * A growable byte array. Not a ByteArrayOutputStream: its every write is synchronized
     * (a lock per byte of every value of every call), and nothing here is shared.
     */
    private static final class Out {
        private byte[] buf = new byte[64];
        private int count;

        private void ensure(int more) {
            if (count + more > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, count + more));
            }
        }

        void tag(char c) {
            ensure(1);
            buf[count++] = (byte) c;
        }

        void u32(int n) {
            ensure(4);
            buf[count] = (byte) (n >>> 24);
            buf[count + 1] = (byte) (n >>> 16);
            buf[count + 2] = (byte) (n >>> 8);
            buf[count + 3] = (byte) n;
            count += 4;
        }

        void i64(long v) {
            ensure(8);
            for (int shift = 56; shift >= 0; shift -= 8) {
                buf[count++] = (byte) (v >>> shift);
            }
        }

        void blob(byte[] b) {
            u32(b.length);
            ensure(b.length);
            System.arraycopy(b, 0, buf, count, b.length);
            count += b.length;
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buf, count);
        }
    }

    private static void write(Out out, Object v) throws YRException {
        if (v == null) {
            out.tag('N');
        } else if (v instanceof Boolean) {
            out.tag((Boolean) v ? 'T' : 'F');
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            out.tag('I');
            out.i64(((Number) v).longValue());
        } else if (v instanceof Double || v instanceof Float) {
            out.tag('D');
            out.i64(Double.doubleToRawLongBits(((Number) v).doubleValue()));
        } else if (v instanceof String || v instanceof Character) {
            out.tag('S');
            out.blob(v.toString().getBytes(StandardCharsets.UTF_8));
        } else if (v instanceof byte[]) {
            out.tag('B');
            out.blob((byte[]) v);
        } else if (writeRemote(out, v)) {
            // a handle or ref, written as H or R with its id
        } else if (v.getClass().isArray()) {
            int n = Array.getLength(v);
            out.tag('L');
            out.u32(n);
            for (int i = 0; i < n; i++) {
                write(out, Array.get(v, i));
            }
        } else if (v instanceof Collection) {
            Collection<?> c = (Collection<?>) v;
            out.tag('L');
            out.u32(c.size());
            for (Object item : c) {
                write(out, item);
            }
        } else if (v instanceof Map) {
            Map<?, ?> m = (Map<?, ?>) v;
            out.tag('M');
            out.u32(m.size());
            for (Map.Entry<?, ?> e : m.entrySet()) {
                write(out, e.getKey());
                write(out, e.getValue());
            }
        } else if (v instanceof Enum) {
            write(out, ((Enum<?>) v).name());
        } else {
            throw new YRException(YRException.ERR_PARAM_INVALID, "a value of type "
                    + v.getClass().getName() + " cannot cross languages; use primitives, "
                    + "String, arrays, List, Map, InstanceHandler or ObjectRef");
        }
    }

    /** Writes v as H or R if the registered types say it is a handle or ref. */
    private static boolean writeRemote(Out out, Object v) {
        RemoteTypes types = remotes;
        char tag = types.tagOf(v);
        if (tag == 0) {
            return false;
        }
        out.tag(tag);
        out.blob(types.idOf(v).getBytes(StandardCharsets.UTF_8));
        return true;
    }

    private static String str(ByteBuffer in) {
        int n = in.getInt();
        byte[] b = new byte[n];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static Object read(ByteBuffer in) throws YRException {
        char tag = (char) in.get();
        switch (tag) {
            case 'N':
                return null;
            case 'T':
                return Boolean.TRUE;
            case 'F':
                return Boolean.FALSE;
            case 'I': {
                long v = in.getLong();
                // Untyped integers read as Integer when they fit: what Java code expects
                // from literals. Declared types convert further (Convert).
                return (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) ? (Object) (int) v : (Object) v;
            }
            case 'D':
                return in.getDouble();
            case 'S':
                return str(in);
            case 'B': {
                byte[] b = new byte[in.getInt()];
                in.get(b);
                return b;
            }
            case 'L': {
                int n = in.getInt();
                List<Object> list = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    list.add(read(in));
                }
                return list;
            }
            case 'M': {
                int n = in.getInt();
                Map<Object, Object> map = new LinkedHashMap<>();
                for (int i = 0; i < n; i++) {
                    Object k = read(in);
                    map.put(k, read(in));
                }
                return map;
            }
            case HANDLE:
            case REF:
                return remotes.make(tag, str(in));
            default:
                throw new YRException(YRException.ERR_INNER_COMMUNICATION, "bad value tag " + (int) tag);
        }
    }
}
