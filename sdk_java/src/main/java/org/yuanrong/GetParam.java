package org.yuanrong;

/** A slice of a KV value: {@code size} bytes from {@code offset} (size 0: to the end). */
public class GetParam {
    private long offset;
    private long size;

    public GetParam() {
    }

    public GetParam(long offset, long size) {
        this.offset = offset;
        this.size = size;
    }

    public long getOffset() {
        return offset;
    }

    public long getSize() {
        return size;
    }

    public static Builder builder() {
        return new Builder();
    }

    public static class Builder {
        private final GetParam p = new GetParam();

        public Builder offset(long offset) {
            p.offset = offset;
            return this;
        }

        public Builder size(long size) {
            p.size = size;
            return this;
        }

        public GetParam build() {
            return p;
        }
    }
}
