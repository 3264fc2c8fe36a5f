package org.yuanrong.runtime.bridge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Type;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.yuanrong.exception.YRException;

class ConvertTest {
    @SuppressWarnings("unused")
    private static List<Long> longs;
    @SuppressWarnings("unused")
    private static Map<String, int[]> mapOfArrays;
    @SuppressWarnings("unused")
    private static Set<String> strings;

    private static Type field(String name) throws NoSuchFieldException {
        return ConvertTest.class.getDeclaredField(name).getGenericType();
    }

    @Test
    void primitivesAndBoxes() throws YRException {
        assertEquals(3, Convert.to(3, int.class));
        assertEquals(3L, Convert.to(3, long.class));
        assertEquals((short) 3, Convert.to(3, Short.class));
        assertEquals(3.0, Convert.to(3, double.class));
        assertEquals(2.5f, Convert.to(2.5, float.class));
        assertEquals('x', Convert.to("x", char.class));
        assertEquals(true, Convert.to(true, boolean.class));
        assertEquals(4, Convert.to(4.0, int.class));
    }

    @Test
    void lossyNarrowingIsAnError() {
        assertThrows(YRException.class, () -> Convert.to(1L << 40, int.class));
        assertThrows(YRException.class, () -> Convert.to(2.5, int.class));
        assertThrows(YRException.class, () -> Convert.to(300, byte.class));
        assertThrows(YRException.class, () -> Convert.to(null, int.class));
        assertThrows(YRException.class, () -> Convert.to("3", int.class));
    }

    @Test
    void arraysFromLists() throws YRException {
        assertArrayEquals(new int[] {1, 2}, (int[]) Convert.to(List.of(1, 2), int[].class));
        assertArrayEquals(new String[] {"a"}, (String[]) Convert.to(List.of("a"), String[].class));
        int[][] grid = (int[][]) Convert.to(List.of(List.of(1), List.of(2, 3)), int[][].class);
        assertArrayEquals(new int[] {2, 3}, grid[1]);
        assertArrayEquals(new byte[] {1}, (byte[]) Convert.to(new byte[] {1}, byte[].class));
    }

    @Test
    void genericCollectionsConvertTheirElements() throws Exception {
        List<?> l = (List<?>) Convert.to(List.of(1, 2), field("longs"));
        assertInstanceOf(Long.class, l.get(0));
        Map<?, ?> m = (Map<?, ?>) Convert.to(Map.of("a", List.of(1)), field("mapOfArrays"));
        assertArrayEquals(new int[] {1}, (int[]) m.get("a"));
        assertEquals(Set.of("a"), Convert.to(List.of("a", "a"), field("strings")));
    }

    @Test
    void objectAndUnknownTypesPassThrough() throws YRException {
        Object v = List.of(1);
        assertEquals(v, Convert.to(v, Object.class));
        assertEquals(v, Convert.to(v, null));
    }
}
