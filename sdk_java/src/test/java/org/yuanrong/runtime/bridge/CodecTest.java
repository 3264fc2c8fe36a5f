package org.yuanrong.runtime.bridge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yuanrong.exception.YRException;

class CodecTest {
    private static Object roundTrip(Object v) throws YRException {
        return Codec.decode(Codec.encode(v));
    }

    @Test
    void scalarsRoundTrip() throws YRException {
        assertNull(roundTrip(null));
        assertEquals(true, roundTrip(true));
        assertEquals(false, roundTrip(false));
        assertEquals(3, roundTrip(3));
        assertEquals(3, roundTrip((short) 3));
        assertEquals(Long.MAX_VALUE, roundTrip(Long.MAX_VALUE));
        assertEquals(-1.5, roundTrip(-1.5));
        assertEquals(1.0, roundTrip(1.0f));
        assertEquals("héllo ✓", roundTrip("héllo ✓"));
        assertEquals("c", roundTrip('c'));
    }

    @Test
    void integersThatFitDecodeAsInteger() throws YRException {
        assertInstanceOf(Integer.class, roundTrip(5L));
        assertInstanceOf(Long.class, roundTrip(1L << 40));
    }

    @Test
    void bytesStayBytes() throws YRException {
        assertArrayEquals(new byte[] {1, 2, -1}, (byte[]) roundTrip(new byte[] {1, 2, -1}));
    }

    @Test
    void arraysAndCollectionsBecomeLists() throws YRException {
        assertEquals(List.of(1, 2, 3), roundTrip(new int[] {1, 2, 3}));
        assertEquals(List.of("a", "b"), roundTrip(new String[] {"a", "b"}));
        assertEquals(Arrays.asList(1, null, List.of(2.5)), roundTrip(Arrays.asList(1, null, List.of(2.5))));
    }

    @Test
    void mapsKeepOrder() throws YRException {
        Map<Object, Object> m = new LinkedHashMap<>();
        m.put("z", 1);
        m.put(7, List.of("x"));
        assertEquals(m, roundTrip(m));
        assertEquals(List.of("z", 7), List.copyOf(((Map<?, ?>) roundTrip(m)).keySet()));
    }

    /** A handle or ref of the layers above, as far as the codec is concerned: a tag and an id. */
    private record Remote(char tag, String id) {
    }

    /** The registered types decide what is a handle or ref, both ways (see RemoteTypes). */
    private static final RemoteTypes REMOTES = new RemoteTypes() {
        @Override
        public char tagOf(Object value) {
            return value instanceof Remote ? ((Remote) value).tag() : 0;
        }

        @Override
        public String idOf(Object value) {
            return ((Remote) value).id();
        }

        @Override
        public Object make(char tag, String id) {
            return new Remote(tag, id);
        }
    };

    @Test
    void handlesAndRefsTravelAsTaggedIdsOfTheRegisteredTypes() throws YRException {
        Codec.register(REMOTES);
        assertArrayEquals(new byte[] {'H', 0, 0, 0, 2, 'h', '1'}, Codec.encode(new Remote(Codec.HANDLE, "h1")));
        assertEquals(new Remote(Codec.REF, "r3"), roundTrip(new Remote(Codec.REF, "r3")));
        assertEquals(List.of(new Remote(Codec.HANDLE, "h12")), roundTrip(List.of(new Remote(Codec.HANDLE, "h12"))));
    }

    @Test
    void wireFormatIsTheDocumentedOne() throws YRException {
        // Twin of the Python codec: tag byte, big-endian int64, u32 lengths.
        assertArrayEquals(new byte[] {'I', 0, 0, 0, 0, 0, 0, 1, 2}, Codec.encode(258));
        assertArrayEquals(new byte[] {'S', 0, 0, 0, 2, 'h', 'i'}, Codec.encode("hi"));
        assertArrayEquals(new byte[] {'L', 0, 0, 0, 2, 'N', 'T'}, Codec.encode(Arrays.asList(null, true)));
    }

    @Test
    void otherObjectsAreRejectedWithAReason() {
        YRException e = assertThrows(YRException.class, () -> Codec.encode(new Object()));
        assertEquals(YRException.ERR_PARAM_INVALID, e.getErrorCode());
    }

    @Test
    void badInputIsACommunicationError() {
        YRException e = assertThrows(YRException.class, () -> Codec.decode(new byte[] {'?'}));
        assertEquals(YRException.ERR_INNER_COMMUNICATION, e.getErrorCode());
    }
}
