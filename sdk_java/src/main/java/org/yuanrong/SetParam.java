package org.yuanrong;

/** Parameters of one KV write: {@code new SetParam.Builder().existence(ExistenceOpt.NX).ttlSecond(10).build()}. */
public class SetParam {
    private ExistenceOpt existence = ExistenceOpt.NONE;
    private WriteMode writeMode = WriteMode.NONE_L2_CACHE;
    private int ttlSecond = 0;
    private CacheType cacheType = CacheType.MEMORY;

    public ExistenceOpt getExistence() {
        return existence;
    }

    public WriteMode getWriteMode() {
        return writeMode;
    }

    /** Seconds until the key is deleted; 0: never. */
    public int getTtlSecond() {
        return ttlSecond;
    }

    public CacheType getCacheType() {
        return cacheType;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a SetParam; unset fields keep their defaults (NONE, NONE_L2_CACHE, 0, MEMORY). */
    public static class Builder {
        private final SetParam p = new SetParam();

        public Builder existence(ExistenceOpt existence) {
            p.existence = existence;
            return this;
        }

        public Builder writeMode(WriteMode writeMode) {
            p.writeMode = writeMode;
            return this;
        }

        public Builder ttlSecond(int ttlSecond) {
            p.ttlSecond = ttlSecond;
            return this;
        }

        public Builder cacheType(CacheType cacheType) {
            p.cacheType = cacheType;
            return this;
        }

        public SetParam build() {
            return p;
        }
    }
}
