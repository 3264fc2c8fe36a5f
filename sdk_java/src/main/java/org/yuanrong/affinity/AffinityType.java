package org.yuanrong.affinity;

/** How strictly an affinity holds (openYuanrong's values). */
public enum AffinityType {
    /** A matching node if one has room, else any. */
    PREFERRED,
    /** A node that does not match if one has room, else any. */
    PREFERRED_ANTI,
    /** Only a matching node; if no node can ever match, the creation fails at once. */
    REQUIRED,
    /** Only a node that does not match. */
    REQUIRED_ANTI
}
