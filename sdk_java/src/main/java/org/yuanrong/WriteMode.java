package org.yuanrong;

/**
 * Reliability of a KV value (openYuanrong's {@code WriteMode}). yr keeps values in its
 * master's memory: the two L2-cache modes are refused as not supported (docs/kv.md).
 */
public enum WriteMode {
    NONE_L2_CACHE,
    WRITE_THROUGH_L2_CACHE,
    WRITE_BACK_L2_CACHE,
    NONE_L2_CACHE_EVICT
}
