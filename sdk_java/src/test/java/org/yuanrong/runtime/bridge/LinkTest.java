package org.yuanrong.runtime.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import org.junit.jupiter.api.Test;
import org.yuanrong.InvokeOptions;
import org.yuanrong.exception.YRException;

class LinkTest {
    @Test
    void classpathIsAbsoluteAndHasTheSdkAndPy4j() {
        String cp = Link.classpath(getClass().getClassLoader());
        for (String entry : cp.split(File.pathSeparator)) {
            assertTrue(new File(entry).isAbsolute(), entry);
        }
        assertTrue(cp.contains("py4j"), cp);
    }

    @Test
    void callsWithoutALinkFailClearly() {
        YRException e = assertThrows(YRException.class, Link::require);
        assertEquals(YRException.ERR_INCORRECT_INIT_USAGE, e.getErrorCode());
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
