package org.yuanrong;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yuanrong.affinity.Affinity;
import org.yuanrong.affinity.AffinityKind;
import org.yuanrong.affinity.AffinityScope;
import org.yuanrong.affinity.AffinityType;
import org.yuanrong.affinity.LabelOperator;

/**
 * Resources and scheduling options of an instance or a call.
 *
 * <p>Defaults as in openYuanrong: cpu 500 millicores, memory 500 MiB. Concurrency may be
 * given with {@code concurrency(n)} or as openYuanrong's custom extension "Concurrency".
 * {@code labels} are the instance's own labels (what INSTANCE affinities of later instances
 * look at); {@code scheduleAffinities} are the rules for placing it (docs/architecture.md,
 * "Placement").
 */
public class InvokeOptions {
    /** How long a creation may wait for room on a node (openYuanrong's default); -1 waits forever. */
    public static final int DEFAULT_SCHEDULE_TIMEOUT_MS = 30000;

    private int cpu = 500;
    private int memory = 500;
    private Map<String, Float> customResources = new LinkedHashMap<>();
    private Map<String, String> customExtensions = new LinkedHashMap<>();
    private int concurrency = 0;
    private String name = "";
    private String namespace = "";
    private int recoverRetryTimes = 0;
    private int scheduleTimeoutMs = DEFAULT_SCHEDULE_TIMEOUT_MS;
    private List<String> labels = new ArrayList<>();
    private List<Affinity> scheduleAffinities = new ArrayList<>();
    private boolean preferredPriority = true;          // preferred rules weigh in order (else: how many hold)
    private boolean requiredPriority = false;          // the earliest REQUIRED rule a node matches wins
    private boolean preferredAntiOtherLabels = false;  // only nodes satisfying some preferred rule may be chosen

    public InvokeOptions() {
    }

    /** A deep copy: handlers copy the options they are given. */
    public InvokeOptions(InvokeOptions other) {
        this.cpu = other.cpu;
        this.memory = other.memory;
        this.customResources = new LinkedHashMap<>(other.customResources);
        this.customExtensions = new LinkedHashMap<>(other.customExtensions);
        this.concurrency = other.concurrency;
        this.name = other.name;
        this.namespace = other.namespace;
        this.recoverRetryTimes = other.recoverRetryTimes;
        this.scheduleTimeoutMs = other.scheduleTimeoutMs;
        this.labels = new ArrayList<>(other.labels);
        this.scheduleAffinities = new ArrayList<>(other.scheduleAffinities);
        this.preferredPriority = other.preferredPriority;
        this.requiredPriority = other.requiredPriority;
        this.preferredAntiOtherLabels = other.preferredAntiOtherLabels;
    }

    public boolean isPreferredPriority() {
        return preferredPriority;
    }

    public InvokeOptions setPreferredPriority(boolean preferredPriority) {
        this.preferredPriority = preferredPriority;
        return this;
    }

    public boolean isRequiredPriority() {
        return requiredPriority;
    }

    public InvokeOptions setRequiredPriority(boolean requiredPriority) {
        this.requiredPriority = requiredPriority;
        return this;
    }

    public boolean isPreferredAntiOtherLabels() {
        return preferredAntiOtherLabels;
    }

    public InvokeOptions setPreferredAntiOtherLabels(boolean preferredAntiOtherLabels) {
        this.preferredAntiOtherLabels = preferredAntiOtherLabels;
        return this;
    }

    public static Builder builder() {
        return new Builder();
    }

    public int getCpu() {
        return cpu;
    }

    public InvokeOptions setCpu(int cpu) {
        this.cpu = cpu;
        return this;
    }

    public int getMemory() {
        return memory;
    }

    public InvokeOptions setMemory(int memory) {
        this.memory = memory;
        return this;
    }

    public Map<String, Float> getCustomResources() {
        return customResources;
    }

    public InvokeOptions setCustomResources(Map<String, Float> customResources) {
        this.customResources = new LinkedHashMap<>(customResources);
        return this;
    }

    public Map<String, String> getCustomExtensions() {
        return customExtensions;
    }

    public InvokeOptions setCustomExtensions(Map<String, String> customExtensions) {
        this.customExtensions = new LinkedHashMap<>(customExtensions);
        return this;
    }

    /** The concurrency set directly or through the "Concurrency" extension; 0 if unset. */
    public int getConcurrency() {
        if (concurrency > 0) {
            return concurrency;
        }
        String ext = customExtensions.get("Concurrency");
        return ext == null ? 0 : Integer.parseInt(ext.trim());
    }

    public InvokeOptions setConcurrency(int concurrency) {
        this.concurrency = concurrency;
        return this;
    }

    public String getName() {
        return name;
    }

    public InvokeOptions setName(String name) {
        this.name = name == null ? "" : name;
        return this;
    }

    public String getNamespace() {
        return namespace;
    }

    public InvokeOptions setNamespace(String namespace) {
        this.namespace = namespace == null ? "" : namespace;
        return this;
    }

    public int getRecoverRetryTimes() {
        return recoverRetryTimes;
    }

    public InvokeOptions setRecoverRetryTimes(int recoverRetryTimes) {
        this.recoverRetryTimes = recoverRetryTimes;
        return this;
    }

    public int getScheduleTimeoutMs() {
        return scheduleTimeoutMs;
    }

    public InvokeOptions setScheduleTimeoutMs(int scheduleTimeoutMs) {
        this.scheduleTimeoutMs = scheduleTimeoutMs;
        return this;
    }

    public List<String> getLabels() {
        return labels;
    }

    public InvokeOptions setLabels(List<String> labels) {
        this.labels = new ArrayList<>(labels);
        return this;
    }

    public List<Affinity> getScheduleAffinities() {
        return scheduleAffinities;
    }

    public InvokeOptions setScheduleAffinities(List<Affinity> affinities) {
        this.scheduleAffinities = new ArrayList<>(affinities);
        return this;
    }

    @Override
    public String toString() {
        return "InvokeOptions{cpu=" + cpu + ", memory=" + memory + ", customResources="
                + customResources + ", concurrency=" + getConcurrency() + ", name='" + name
                + "', namespace='" + namespace + "', recoverRetryTimes=" + recoverRetryTimes
                + ", scheduleTimeoutMs=" + scheduleTimeoutMs + ", labels=" + labels + ", scheduleAffinities=" + scheduleAffinities + "}";
    }

    /** {@code new InvokeOptions.Builder().cpu(1000).memory(1024).addCustomResource("ssd", 1.0f).build()}. */
    public static class Builder {
        private final InvokeOptions options = new InvokeOptions();

        public Builder cpu(int cpu) {
            options.setCpu(cpu);
            return this;
        }

        public Builder memory(int memory) {
            options.setMemory(memory);
            return this;
        }

        public Builder addCustomResource(String key, Float value) {
            options.customResources.put(key, value);
            return this;
        }

        public Builder customResources(Map<String, Float> resources) {
            options.customResources.putAll(resources);
            return this;
        }

        public Builder addCustomExtension(String key, String value) {
            options.customExtensions.put(key, value);
            return this;
        }

        public Builder customExtensions(Map<String, String> extensions) {
            options.customExtensions.putAll(extensions);
            return this;
        }

        public Builder concurrency(int concurrency) {
            options.setConcurrency(concurrency);
            return this;
        }

        public Builder name(String name) {
            options.setName(name);
            return this;
        }

        public Builder namespace(String namespace) {
            options.setNamespace(namespace);
            return this;
        }

        public Builder recoverRetryTimes(int times) {
            options.setRecoverRetryTimes(times);
            return this;
        }

        public Builder scheduleTimeoutMs(int scheduleTimeoutMs) {
            options.setScheduleTimeoutMs(scheduleTimeoutMs);
            return this;
        }

        /** One label of the instance (INSTANCE affinities of other instances look at these keys). */
        public Builder addLabel(String label) {
            options.labels.add(label);
            return this;
        }

        public Builder labels(List<String> labels) {
            options.labels.addAll(labels);
            return this;
        }

        /** A rule on the node's labels: {@code addResourceAffinity(AffinityType.REQUIRED, List.of(op))}. */
        public Builder addResourceAffinity(AffinityType type, List<LabelOperator> operators) {
            return addScheduleAffinity(new Affinity(AffinityKind.RESOURCE, type, operators));
        }

        public Builder addResourceAffinity(AffinityType type, List<LabelOperator> operators, AffinityScope scope) {
            return addScheduleAffinity(new Affinity(AffinityKind.RESOURCE, type, operators, scope));
        }

        /** A rule on the labels of the instances on a node (LABEL_EXISTS / LABEL_NOT_EXISTS only). */
        public Builder addInstanceAffinity(AffinityType type, List<LabelOperator> operators) {
            return addScheduleAffinity(new Affinity(AffinityKind.INSTANCE, type, operators));
        }

        public Builder addInstanceAffinity(AffinityType type, List<LabelOperator> operators, AffinityScope scope) {
            return addScheduleAffinity(new Affinity(AffinityKind.INSTANCE, type, operators, scope));
        }

        public Builder addScheduleAffinity(Affinity affinity) {
            options.scheduleAffinities.add(java.util.Objects.requireNonNull(affinity, "affinity"));
            return this;
        }

        public Builder scheduleAffinities(List<Affinity> affinities) {
            affinities.forEach(this::addScheduleAffinity);
            return this;
        }

        public Builder preferredPriority(boolean value) {
            options.preferredPriority = value;
            return this;
        }

        public Builder requiredPriority(boolean value) {
            options.requiredPriority = value;
            return this;
        }

        public Builder preferredAntiOtherLabels(boolean value) {
            options.preferredAntiOtherLabels = value;
            return this;
        }

        /** A copy, so the builder can go on being used. */
        public InvokeOptions build() {
            return new InvokeOptions(options);
        }
    }
}
