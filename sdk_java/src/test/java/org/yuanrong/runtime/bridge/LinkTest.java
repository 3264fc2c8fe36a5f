package org.yuanrong.runtime.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yuanrong.InvokeOptions;
import org.yuanrong.api.YR;
import org.yuanrong.exception.YRException;

class LinkTest {
    @Test
    void errorAnswersBecomeYRExceptions() {
        YRException e = assertThrows(YRException.class, () -> Link.unwrap(
                Map.of("err", Arrays.asList(2002, "java.lang.ArithmeticException", "java.lang.ArithmeticException: / by zero"))));
        assertEquals(2002, e.getErrorCode());
        assertEquals("java.lang.ArithmeticException", e.getRemoteClassName());
        assertTrue(e.getMessage().contains("/ by zero"));
    }

    @Test
    void nonJavaErrorsHaveNoRemoteClass() {
        YRException e = assertThrows(YRException.class, () -> Link.unwrap(
                Map.of("err", Arrays.asList(4005, null, "not ready after 1.0s"))));
        assertEquals(4005, e.getErrorCode());
        assertNull(e.getRemoteClassName());
    }

    @Test
    void okAnswersUnwrap() throws YRException {
        assertEquals(List.of(1), Link.unwrap(Map.of("ok", List.of(1))));
    }

    @Test
    void classpathIsAbsoluteAndHasTheSdkAndPy4j() {
        String cp = Link.classpath(getClass().getClassLoader());
        for (String entry : cp.split(File.pathSeparator)) {
            assertTrue(new File(entry).isAbsolute(), entry);
        }
        assertTrue(cp.contains("py4j"), cp);
    }

    @Test
    void callsBeforeInitFailClearly() {
        YRException e = assertThrows(YRException.class, () -> YR.put(1));
        assertEquals(YRException.ERR_INCORRECT_INIT_USAGE, e.getErrorCode());
        assertThrows(YRException.class, YR::Finalize);
    }

    @Test
    void optionsMapFollowsTheBridgeContract() {
        InvokeOptions o = new InvokeOptions.Builder().addCustomResource("ssd", 1.0f).cpu(1000).memory(1024)
                .concurrency(4).recoverRetryTimes(2).build();
        Map<String, Object> m = Calls.optionsMap(o, "c1", "ns");
        assertEquals(1000, m.get("cpu"));
        assertEquals(1024, m.get("memory"));
        assertEquals(Map.of("ssd", 1.0), m.get("custom_resources"));
        assertEquals(4, m.get("concurrency"));
        assertEquals("c1", m.get("name"));
        assertEquals("ns", m.get("namespace"));
        assertEquals(2, m.get("recover_retry_times"));
        Map<String, Object> defaults = Calls.optionsMap(new InvokeOptions(), null, null);
        assertEquals(Map.of("cpu", 500, "memory", 500), defaults);
    }

    @Test
    void concurrencyExtensionIsHonoured() {
        InvokeOptions o = new InvokeOptions.Builder().addCustomExtension("Concurrency", "8").build();
        assertEquals(8, o.getConcurrency());
    }

    @Test
    void builderResultsAreIndependentCopies() {
        InvokeOptions.Builder b = new InvokeOptions.Builder().cpu(700);
        InvokeOptions first = b.build();
        b.cpu(900).addCustomResource("gpu", 1f);
        assertEquals(700, first.getCpu());
        assertTrue(first.getCustomResources().isEmpty());
    }
}
