package org.yuanrong.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.client.ObjectRef;

class YRTest {
    @Test
    void callsBeforeInitFailClearly() {
        YRException e = assertThrows(YRException.class, () -> YR.put(1));
        assertEquals(YRException.ERR_INCORRECT_INIT_USAGE, e.getErrorCode());
        assertThrows(YRException.class, YR::Finalize);
    }

    @Test
    void argumentsAreCheckedBeforeAnyCall() {
        ObjectRef<Object> ref = new ObjectRef<>("r1", null);
        assertEquals(YRException.ERR_PARAM_INVALID,
                assertThrows(YRException.class, () -> YR.get((ObjectRef<Object>) null, 1)).getErrorCode());
        assertEquals(YRException.ERR_PARAM_INVALID,
                assertThrows(YRException.class, () -> YR.wait(List.of(ref), 2, 1)).getErrorCode());
        assertThrows(IllegalArgumentException.class, () -> YR.put(ref));
    }
}
