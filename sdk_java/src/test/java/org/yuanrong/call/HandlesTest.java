package org.yuanrong.call;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.Codec;
import org.yuanrong.runtime.client.ObjectRef;

class HandlesTest {
    private static Object roundTrip(Object v) throws YRException {
        Codec.register(Handles.TYPES);
        return Codec.decode(Codec.encode(v));
    }

    @Test
    void handlesAndRefsTravelAsIds() throws YRException {
        InstanceHandler h = (InstanceHandler) roundTrip(new InstanceHandler("h12"));
        assertEquals("h12", h.getId());
        ObjectRef<?> r = (ObjectRef<?>) roundTrip(new ObjectRef<Object>("r3", null));
        assertEquals("r3", r.getId());
    }

    @Test
    void handlesAndRefsInsideCollectionsToo() throws YRException {
        Object nested = List.of(new InstanceHandler("h1"), List.of(new ObjectRef<Object>("r2", null)));
        List<?> back = (List<?>) roundTrip(nested);
        assertInstanceOf(InstanceHandler.class, back.get(0));
        assertInstanceOf(ObjectRef.class, ((List<?>) back.get(1)).get(0));
    }

    @Test
    void otherValuesAreNeitherAndUnknownTagsAreRefused() {
        assertEquals(0, Handles.TYPES.tagOf("h1"));
        assertThrows(YRException.class, () -> Handles.TYPES.make('X', "x"));
    }
}
