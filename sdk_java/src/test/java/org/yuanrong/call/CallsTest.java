package org.yuanrong.call;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yuanrong.InvokeOptions;

class CallsTest {
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
}
