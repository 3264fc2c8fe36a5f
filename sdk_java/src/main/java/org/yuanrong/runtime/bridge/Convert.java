package org.yuanrong.runtime.bridge;

import java.lang.reflect.Array;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yuanrong.exception.YRException;

/**
 * Converts a decoded neutral value (Integer/Long, Double, Boolean, String, byte[],
 * ArrayList, LinkedHashMap, handles, refs) to a declared Java type: a parameter type in
 * a worker, a return type at {@code YR.get}. Narrowing that would lose information
 * (an int64 into an int, a fraction into an integer type) is an error, not a truncation.
 */
public final class Convert {
    private Convert() {
    }

    public static Object to(Object v, Type type) throws YRException {
        if (type == null || type == Object.class) {
            return v;
        }
        if (type instanceof Class) {
            return toClass(v, (Class<?>) type, null);
        }
        if (type instanceof ParameterizedType) {
            ParameterizedType p = (ParameterizedType) type;
            return toClass(v, (Class<?>) p.getRawType(), p.getActualTypeArguments());
        }
        if (type instanceof GenericArrayType) {
            return toArray(v, ((GenericArrayType) type).getGenericComponentType());
        }
        if (type instanceof WildcardType) {
            return to(v, ((WildcardType) type).getUpperBounds()[0]);
        }
        return v; // type variables: no information to convert with
    }

    private static YRException mismatch(Object v, Type type) {
        String got = v == null ? "null" : v.getClass().getName();
        return new YRException(YRException.ERR_PARAM_INVALID,
                "cannot convert a value of type " + got + " to " + type.getTypeName());
    }

    private static long exactLong(Object v, Class<?> c) throws YRException {
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (d == Math.rint(d) && !Double.isInfinite(d)) {
                return (long) d;
            }
        }
        throw mismatch(v, c);
    }

    private static long inRange(Object v, Class<?> c, long lo, long hi) throws YRException {
        long n = exactLong(v, c);
        if (n < lo || n > hi) {
            throw new YRException(YRException.ERR_PARAM_INVALID, n + " does not fit in " + c.getName());
        }
        return n;
    }

    private static Object toClass(Object v, Class<?> c, Type[] typeArgs) throws YRException {
        if (v == null) {
            if (c.isPrimitive()) {
                throw mismatch(null, c);
            }
            return null;
        }
        if (c == int.class || c == Integer.class) {
            return (int) inRange(v, c, Integer.MIN_VALUE, Integer.MAX_VALUE);
        }
        if (c == long.class || c == Long.class) {
            return exactLong(v, c);
        }
        if (c == short.class || c == Short.class) {
            return (short) inRange(v, c, Short.MIN_VALUE, Short.MAX_VALUE);
        }
        if (c == byte.class || c == Byte.class) {
            return (byte) inRange(v, c, Byte.MIN_VALUE, Byte.MAX_VALUE);
        }
        if (c == double.class || c == Double.class || c == float.class || c == Float.class) {
            if (!(v instanceof Number)) {
                throw mismatch(v, c);
            }
            double d = ((Number) v).doubleValue();
            return (c == double.class || c == Double.class) ? (Object) d : (Object) (float) d;
        }
        if (c == boolean.class || c == Boolean.class) {
            if (!(v instanceof Boolean)) {
                throw mismatch(v, c);
            }
            return v;
        }
        if (c == char.class || c == Character.class) {
            if (v instanceof String && ((String) v).length() == 1) {
                return ((String) v).charAt(0);
            }
            throw mismatch(v, c);
        }
        if (c.isArray()) {
            return toArray(v, c.getComponentType());
        }
        if (typeArgs != null && v instanceof Collection && Collection.class.isAssignableFrom(c)) {
            Collection<Object> out = Set.class.isAssignableFrom(c) ? new LinkedHashSet<>() : new ArrayList<>();
            for (Object item : (Collection<?>) v) {
                out.add(to(item, typeArgs[0]));
            }
            return checked(out, c);
        }
        if (v instanceof List && Set.class.isAssignableFrom(c)) {
            return checked(new LinkedHashSet<>((List<?>) v), c);
        }
        if (typeArgs != null && v instanceof Map && Map.class.isAssignableFrom(c)) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                out.put(to(e.getKey(), typeArgs[0]), to(e.getValue(), typeArgs[1]));
            }
            return checked(out, c);
        }
        return checked(v, c);
    }

    private static Object checked(Object v, Class<?> c) throws YRException {
        if (c.isInstance(v)) {
            return v;
        }
        throw mismatch(v, c);
    }

    private static Object toArray(Object v, Type componentType) throws YRException {
        Class<?> comp = rawClass(componentType);
        if (comp == byte.class && v instanceof byte[]) {
            return v;
        }
        List<?> items;
        if (v instanceof List) {
            items = (List<?>) v;
        } else if (v instanceof byte[]) {
            List<Object> bytes = new ArrayList<>();
            for (byte b : (byte[]) v) {
                bytes.add((int) b);
            }
            items = bytes;
        } else {
            throw mismatch(v, componentType);
        }
        Object array = Array.newInstance(comp, items.size());
        for (int i = 0; i < items.size(); i++) {
            Array.set(array, i, to(items.get(i), componentType));
        }
        return array;
    }

    private static Class<?> rawClass(Type t) {
        if (t instanceof Class) {
            return (Class<?>) t;
        }
        if (t instanceof ParameterizedType) {
            return (Class<?>) ((ParameterizedType) t).getRawType();
        }
        if (t instanceof GenericArrayType) {
            return Array.newInstance(rawClass(((GenericArrayType) t).getGenericComponentType()), 0).getClass();
        }
        return Object.class;
    }
}
