package org.yuanrong.stream;

import java.util.HashMap;
import java.util.Map;

/**
 * How a producer buffers and how big its stream may grow (openYuanrong's fields and Java
 * defaults). {@code ProducerConfig.builder().delayFlushTimeMs(10L).maxStreamSize(1 << 20).build()}.
 * encryptStream and a non-empty extendConfig are refused (not supported by yr); reserveSize is
 * checked but nothing is reserved ahead.
 */
public class ProducerConfig {
    private long delayFlushTimeMs = 5L;
    private long pageSizeByte = 1024 * 1024L;
    private long maxStreamSize = 100 * 1024 * 1024L;
    private boolean autoCleanup = false;
    private boolean encryptStream = false;
    private long retainForNumConsumers = 0L;
    private long reserveSize = 0L;
    private Map<String, String> extendConfig = new HashMap<>();

    public ProducerConfig() {
    }

    public static Builder builder() {
        return new Builder();
    }

    public long getDelayFlushTimeMs() {
        return delayFlushTimeMs;
    }

    public long getPageSizeByte() {
        return pageSizeByte;
    }

    public long getMaxStreamSize() {
        return maxStreamSize;
    }

    public boolean isAutoCleanup() {
        return autoCleanup;
    }

    public boolean isEncryptStream() {
        return encryptStream;
    }

    public long getRetainForNumConsumers() {
        return retainForNumConsumers;
    }

    public long getReserveSize() {
        return reserveSize;
    }

    public Map<String, String> getExtendConfig() {
        return extendConfig;
    }

    /** Builds a ProducerConfig; unset fields keep the defaults. */
    public static class Builder {
        private final ProducerConfig c = new ProducerConfig();

        public Builder delayFlushTimeMs(long v) {
            c.delayFlushTimeMs = v;
            return this;
        }

        public Builder pageSizeByte(long v) {
            c.pageSizeByte = v;
            return this;
        }

        public Builder maxStreamSize(long v) {
            c.maxStreamSize = v;
            return this;
        }

        public Builder autoCleanup(boolean v) {
            c.autoCleanup = v;
            return this;
        }

        public Builder encryptStream(boolean v) {
            c.encryptStream = v;
            return this;
        }

        public Builder retainForNumConsumers(long v) {
            c.retainForNumConsumers = v;
            return this;
        }

        public Builder reserveSize(long v) {
            c.reserveSize = v;
            return this;
        }

        public Builder extendConfig(Map<String, String> v) {
            c.extendConfig = v == null ? new HashMap<>() : new HashMap<>(v);
            return this;
        }

        public ProducerConfig build() {
            return c;
        }
    }
}
