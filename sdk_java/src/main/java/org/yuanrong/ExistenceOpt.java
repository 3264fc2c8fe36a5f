package org.yuanrong;

/** Whether a KV write may overwrite an existing key (openYuanrong's {@code ExistenceOpt}). */
public enum ExistenceOpt {
    /** Overwrite (the default). */
    NONE,
    /** Refuse if the key exists. */
    NX
}
