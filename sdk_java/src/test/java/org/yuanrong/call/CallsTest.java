package org.yuanrong.call;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yuanrong.InvokeOptions;
import org.yuanrong.affinity.Affinity;
import org.yuanrong.affinity.AffinityKind;
import org.yuanrong.affinity.AffinityScope;
import org.yuanrong.affinity.AffinityType;
import org.yuanrong.affinity.LabelOperator;
import org.yuanrong.affinity.OperatorType;

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

    @Test
    void handlersWithoutOptionsShareTheDefaultsWhoseMapIsTheBridgesDefault() {
        // Invokes of such handlers send no options map (Calls.DEFAULTS): only sound while
        // the map they would send is the bridge's default (tests/sdk_java/test_py4j_codec.py
        // checks the Python side of this contract).
        assertEquals(Map.of("cpu", 500, "memory", 500), Calls.optionsMap(Calls.DEFAULTS, null, null));
        assertEquals(Calls.optionsMap(new InvokeOptions(), null, null), Calls.optionsMap(Calls.DEFAULTS, null, null));
    }

    @Test
    void labelsAndAffinitiesGoIntoTheOptionsMapInTheBridgeSpelling() {
        InvokeOptions.Builder b = new InvokeOptions.Builder().addLabel("web").scheduleTimeoutMs(600_000)
                .addResourceAffinity(AffinityType.REQUIRED,
                        List.of(new LabelOperator(OperatorType.LABEL_IN, "zone", List.of("a", "b")),
                                new LabelOperator(OperatorType.LABEL_EXISTS, "NODE_ID")))
                .addInstanceAffinity(AffinityType.PREFERRED_ANTI,
                        List.of(new LabelOperator(OperatorType.LABEL_NOT_EXISTS, "db")), AffinityScope.NODE)
                .addScheduleAffinity(new Affinity(AffinityKind.RESOURCE, AffinityType.REQUIRED_ANTI,
                        List.of(new LabelOperator(OperatorType.LABEL_NOT_IN, "gpu", List.of("none")))));
        InvokeOptions o = b.build();
        b.addLabel("later");  // the built options are a copy
        Map<String, Object> m = Calls.optionsMap(o, null, null);
        assertEquals(List.of("web"), m.get("labels"));
        assertEquals(600_000, m.get("schedule_timeout_ms"));
        assertEquals(List.of(
                Map.of("kind", "RESOURCE", "type", "REQUIRED", "operators", List.of(
                        Map.of("type", "LABEL_IN", "key", "zone", "values", List.of("a", "b")),
                        Map.of("type", "LABEL_EXISTS", "key", "NODE_ID", "values", List.of()))),
                Map.of("kind", "INSTANCE", "type", "PREFERRED_ANTI", "scope", "NODE", "operators", List.of(
                        Map.of("type", "LABEL_NOT_EXISTS", "key", "db", "values", List.of()))),
                Map.of("kind", "RESOURCE", "type", "REQUIRED_ANTI", "operators", List.of(
                        Map.of("type", "LABEL_NOT_IN", "key", "gpu", "values", List.of("none"))))),
                m.get("schedule_affinities"));
        assertEquals(List.of("web"), new InvokeOptions(o).getLabels());
        assertEquals(3, new InvokeOptions(o).getScheduleAffinities().size());
    }

    @Test
    void priorityFlagsGoIntoTheOptionsMapWhenNotTheirDefaults() {
        assertEquals(Map.of("cpu", 500, "memory", 500), Calls.optionsMap(new InvokeOptions.Builder()
                .preferredPriority(true).requiredPriority(false).preferredAntiOtherLabels(false).build(), null, null));
        InvokeOptions o = new InvokeOptions.Builder().preferredPriority(false).requiredPriority(true)
                .preferredAntiOtherLabels(true).build();
        Map<String, Object> m = Calls.optionsMap(o, null, null);
        assertEquals(false, m.get("preferred_priority"));
        assertEquals(true, m.get("required_priority"));
        assertEquals(true, m.get("preferred_anti_other_labels"));
        InvokeOptions copy = new InvokeOptions(o);
        assertTrue(!copy.isPreferredPriority() && copy.isRequiredPriority() && copy.isPreferredAntiOtherLabels());
        assertTrue(new InvokeOptions().setRequiredPriority(true).isRequiredPriority());
    }

    @Test
    void anAffinityWithoutItsPartsIsRefusedWhenMade() {
        NullPointerException e = assertThrows(NullPointerException.class,
                () -> new InvokeOptions.Builder().addResourceAffinity(null, List.of()));
        assertTrue(e.getMessage().contains("Affinity type"), e.getMessage());
        e = assertThrows(NullPointerException.class, () -> new LabelOperator(OperatorType.LABEL_IN, null));
        assertTrue(e.getMessage().contains("key"), e.getMessage());
    }
}
