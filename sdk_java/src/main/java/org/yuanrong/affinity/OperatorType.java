package org.yuanrong.affinity;

/** The condition a {@link LabelOperator} puts on one label key. */
public enum OperatorType {
    /** The key is there with one of the values. */
    LABEL_IN,
    /** The key is there with none of the values. */
    LABEL_NOT_IN,
    /** The key is there. */
    LABEL_EXISTS,
    /** The key is not there. */
    LABEL_NOT_EXISTS
}
