package org.yuanrong;

/** The medium of a KV value; yr refuses DISK as not supported (docs/kv.md). */
public enum CacheType {
    MEMORY,
    DISK
}
