package org.yuanrong.stream;

/** How a subscription's consumers share its elements; only STREAM (one consumer) is supported, as in openYuanrong. */
public enum SubscriptionType {
    STREAM,
    ROUND_ROBIN,
    KEY_PARTITIONS
}
