package org.yuanrong.runtime.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yuanrong.exception.YRException;
import org.yuanrong.runtime.bridge.Codec;

class WorkerCallsTest {
    public static class Acc {
        private long total;

        public Acc(long start) {
            total = start;
        }

        public long add(int n) {
            total += n;
            return total;
        }

        public int[] twice(int[] xs) {
            return Arrays.stream(xs).map(x -> 2 * x).toArray();
        }

        public long sum(List<Long> xs) {
            return xs.stream().mapToLong(Long::longValue).sum();
        }

        public void fail(String why) {
            throw new IllegalStateException(why);
        }

        public static String greet(String who) {
            return "hello " + who;
        }
    }

    private final WorkerCalls calls = new WorkerCalls();

    private Map<?, ?> call(String op, Object... args) throws YRException {
        return (Map<?, ?>) Codec.decode(calls.call(op, Codec.encode(Arrays.asList(args))));
    }

    private Object ok(String op, Object... args) throws YRException {
        Map<?, ?> answer = call(op, args);
        assertTrue(answer.containsKey("ok"), String.valueOf(answer));
        return answer.get("ok");
    }

    private String create() throws YRException {
        Map<String, Object> spec = Map.of("class", Acc.class.getName(), "constructor", "<init>", "signature", "(J)V");
        return (String) ok("create", spec, List.of(10));
    }

    @Test
    void methodsRunWithConvertedArguments() throws YRException {
        String id = create();
        assertEquals(13, ok("call_method", id, "add#(I)J", List.of(3)));
        assertEquals(14, ok("call_method", id, "add", List.of(1)));
        assertEquals(List.of(2, 4), ok("call_method", id, "twice#([I)[I", List.of(List.of(1, 2))));
        assertEquals(6, ok("call_method", id, "sum#(Ljava/util/List;)J", List.of(List.of(1, 2, 3))));
    }

    @Test
    void staticFunctions() throws YRException {
        Map<String, Object> spec = Map.of("class", Acc.class.getName(), "function", "greet",
                "signature", "(Ljava/lang/String;)Ljava/lang/String;");
        assertEquals("hello yr", ok("call_function", spec, List.of("yr")));
    }

    @Test
    void userExceptionsKeepClassAndMessage() throws YRException {
        String id = create();
        List<?> err = (List<?>) call("call_method", id, "fail#(Ljava/lang/String;)V", List.of("boom")).get("err");
        assertEquals(YRException.ERR_USER_FUNCTION_EXCEPTION, err.get(0));
        assertEquals("java.lang.IllegalStateException", err.get(1));
        assertEquals("boom", err.get(2));
        assertTrue(((String) err.get(3)).startsWith("java.lang.IllegalStateException: boom"));
    }

    @Test
    void resolutionErrorsAreReported() throws YRException {
        String id = create();
        List<?> err = (List<?>) call("call_method", id, "nope#()V", List.of()).get("err");
        assertEquals(YRException.ERR_PARAM_INVALID, err.get(0));
        err = (List<?>) call("call_method", id, "add#(I)J", List.of("x")).get("err");
        assertEquals(YRException.ERR_PARAM_INVALID, err.get(0));
        err = (List<?>) call("create", Map.of("class", "no.Such", "signature", "()V"), List.of()).get("err");
        assertTrue(((String) err.get(2)).contains("no.Such"));
    }

    public static class Base {
        protected int hidden = 1;
        private String label = "base";
    }

    public static class Stateful extends Base {
        private final long[] history;
        private int hidden = 2;
        private transient Object cache = new Object();
        private static int shared = 9;

        public Stateful(long[] history) {
            this.history = history;
        }

        public String show() {
            return java.util.Arrays.toString(history) + "/" + hidden + "/" + super.hidden + "/" + cache;
        }
    }

    public static class Unsaveable {
        private final Object lock = new Object();
    }

    @Test
    void stateIsSavedAndRestoredWithoutTheConstructor() throws YRException {
        Map<String, Object> spec = Map.of("class", Stateful.class.getName(), "signature", "([J)V");
        String id = (String) ok("create", spec, List.of(List.of(1, 2)));
        Map<?, ?> state = (Map<?, ?>) ok("save_state", id);
        Map<?, ?> fields = (Map<?, ?>) state.get("fields");
        assertEquals(Stateful.class.getName(), state.get("class"));
        assertEquals(List.of("history", "hidden", Base.class.getName() + "#hidden", "label"),
                List.copyOf(fields.keySet()));
        String restored = (String) ok("restore", state);
        assertEquals("[1, 2]/2/1/null", ok("call_method", restored, "show", List.of()));
    }

    @Test
    void unsaveableFieldsAreNamed() throws YRException {
        String id = (String) ok("create", Map.of("class", Unsaveable.class.getName(), "signature", "()V"), List.of());
        List<?> err = (List<?>) call("save_state", id).get("err");
        assertTrue(((String) err.get(2)).contains("field lock"), String.valueOf(err));
    }

    @Test
    void bytesRoundTrip() throws YRException {
        assertArrayEquals(new byte[] {1}, (byte[]) Codec.decode(Codec.encode(new byte[] {1})));
    }
}
