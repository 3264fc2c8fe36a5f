package org.yuanrong.affinity;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One condition on a label: {@code type} applied to {@code key} (and {@code values}, which
 * LABEL_IN / LABEL_NOT_IN need). Values are checked when the options reach the runtime.
 */
public class LabelOperator {
    private final OperatorType operatorType;
    private final String key;
    private final List<String> values;

    /** For LABEL_EXISTS / LABEL_NOT_EXISTS. */
    public LabelOperator(OperatorType operatorType, String key) {
        this(operatorType, key, null);
    }

    public LabelOperator(OperatorType operatorType, String key, List<String> values) {
        this.operatorType = Objects.requireNonNull(operatorType, "LabelOperator operatorType");
        this.key = Objects.requireNonNull(key, "LabelOperator key");
        this.values = values == null ? new ArrayList<>() : new ArrayList<>(values);
    }

    public OperatorType getOperatorType() {
        return operatorType;
    }

    public String getKey() {
        return key;
    }

    public List<String> getValues() {
        return values;
    }

    @Override
    public String toString() {
        return "LabelOperator{" + operatorType + ", '" + key + "', " + values + "}";
    }
}
