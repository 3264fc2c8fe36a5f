package org.yuanrong.affinity;

/** Accepted for compatibility with openYuanrong: yr has one worker pool per node, so both mean the node. */
public enum AffinityScope {
    POD,
    NODE
}
