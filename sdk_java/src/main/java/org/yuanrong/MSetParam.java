package org.yuanrong;

/** Parameters of a KV transaction write ({@code mSetTx}); existence must stay NX. */
public class MSetParam {
    private ExistenceOpt existence = ExistenceOpt.NX;
    private WriteMode writeMode = WriteMode.NONE_L2_CACHE;
    private int ttlSecond = 0;
    private CacheType cacheType = CacheType.MEMORY;

    public ExistenceOpt getExistence() {
        return existence;
    }

    public WriteMode getWriteMode() {
        return writeMode;
    }

    public int getTtlSecond() {
        return ttlSecond;
    }

    public CacheType getCacheType() {
        return cacheType;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds an MSetParam (defaults NX, NONE_L2_CACHE, 0, MEMORY). */
    public static class Builder {
        private final MSetParam p = new MSetParam();

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

        public MSetParam build() {
            return p;
        }
    }
}
