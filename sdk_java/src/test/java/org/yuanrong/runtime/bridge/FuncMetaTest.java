package org.yuanrong.runtime.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.yuanrong.exception.YRException;
import org.yuanrong.function.YRFunc0;
import org.yuanrong.function.YRFunc1;
import org.yuanrong.function.YRFunc2;
import org.yuanrong.function.YRFunc3;

class FuncMetaTest {
    public static class Sample {
        public Sample() {
        }

        public Sample(int a, String b) {
        }

        public int add(int n) {
            return n;
        }

        public List<Long> longs() {
            return null;
        }

        public static String hello(String who) {
            return who;
        }
    }

    @Test
    void constructorReference() throws YRException {
        FuncMeta m = FuncMeta.of((YRFunc0<Sample>) Sample::new);
        assertEquals(Sample.class.getName(), m.getClassName());
        assertEquals("<init>", m.getMethodName());
        assertEquals("()V", m.getSignature());
        assertEquals(FuncMeta.Kind.CONSTRUCTOR, m.getKind());
        FuncMeta two = FuncMeta.of((YRFunc2<Integer, String, Sample>) Sample::new);
        assertEquals("(ILjava/lang/String;)V", two.getSignature());
        assertEquals(2, two.parameterCount());
    }

    @Test
    void instanceMethodReference() throws YRException {
        FuncMeta m = FuncMeta.of((YRFunc2<Sample, Integer, Integer>) Sample::add);
        assertEquals("add", m.getMethodName());
        assertEquals("(I)I", m.getSignature());
        assertEquals(FuncMeta.Kind.INSTANCE, m.getKind());
        assertEquals(1, m.parameterCount());
        assertEquals("add#(I)I", m.qualifiedMethod());
        assertEquals(int.class, m.genericReturnType());
    }

    @Test
    void staticMethodReference() throws YRException {
        FuncMeta m = FuncMeta.of((YRFunc1<String, String>) Sample::hello);
        assertEquals(FuncMeta.Kind.STATIC, m.getKind());
        assertEquals("(Ljava/lang/String;)Ljava/lang/String;", m.getSignature());
    }

    @Test
    void genericReturnTypeIsKept() throws YRException {
        FuncMeta m = FuncMeta.of((YRFunc1<Sample, List<Long>>) Sample::longs);
        assertEquals("java.util.List<java.lang.Long>", m.genericReturnType().getTypeName());
    }

    @Test
    void lambdasAreRejected() {
        YRException e = assertThrows(YRException.class, () -> FuncMeta.of((YRFunc3<Integer, Integer, Integer, Integer>) (a, b, c) -> a));
        assertEquals(YRException.ERR_PARAM_INVALID, e.getErrorCode());
    }

    @Test
    void kindIsChecked() throws YRException {
        FuncMeta m = FuncMeta.of((YRFunc2<Sample, Integer, Integer>) Sample::add);
        assertThrows(YRException.class, () -> m.require(FuncMeta.Kind.STATIC, "YR.function"));
    }
}
