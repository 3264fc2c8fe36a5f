package org.yuanrong.affinity;

/** What an affinity looks at: the node's labels, or the labels of the instances on the node. */
public enum AffinityKind {
    /** The node's labels ({@code yr start --labels k=v}, and {@code NODE_ID}). */
    RESOURCE,
    /** The labels ({@code InvokeOptions.Builder().addLabel}) of the instances running on the node. */
    INSTANCE
}
