package org.yuanrong.runtime.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yuanrong.exception.YRException;

class AnswerTest {
    @Test
    void errorAnswersBecomeYRExceptions() {
        YRException e = assertThrows(YRException.class, () -> Answer.unwrap(
                Map.of("err", Arrays.asList(2002, "java.lang.ArithmeticException", "java.lang.ArithmeticException: / by zero"))));
        assertEquals(2002, e.getErrorCode());
        assertEquals("java.lang.ArithmeticException", e.getRemoteClassName());
        assertTrue(e.getMessage().contains("/ by zero"));
    }

    @Test
    void nonJavaErrorsHaveNoRemoteClass() {
        YRException e = assertThrows(YRException.class, () -> Answer.unwrap(
                Map.of("err", Arrays.asList(4005, null, "not ready after 1.0s"))));
        assertEquals(4005, e.getErrorCode());
        assertNull(e.getRemoteClassName());
    }

    @Test
    void okAnswersUnwrap() throws YRException {
        assertEquals(List.of(1), Answer.unwrap(Map.of("ok", List.of(1))));
    }

    @Test
    void encodedAnswersReadBackAsTheyWereMade() throws YRException {
        assertEquals(List.of("x", 2), Answer.unwrap(Codec.decode(Answer.ok(List.of("x", 2)))));
        YRException e = assertThrows(YRException.class,
                () -> Answer.unwrap(Codec.decode(Answer.error(1001, "java.lang.IllegalStateException", null, ""))));
        assertEquals(1001, e.getErrorCode());
        assertEquals("java.lang.IllegalStateException", e.getRemoteClassName());
    }
}
