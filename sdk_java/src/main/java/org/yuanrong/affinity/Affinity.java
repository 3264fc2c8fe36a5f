package org.yuanrong.affinity;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A scheduling rule of one kind and type that holds when all its label operators hold
 * (openYuanrong's Java {@code Affinity}). Usually made with
 * {@code InvokeOptions.Builder().addResourceAffinity / addInstanceAffinity}.
 */
public class Affinity {
    private final AffinityKind affinityKind;
    private final AffinityType affinityType;
    private final List<LabelOperator> labelOperators;
    private final AffinityScope affinityScope;

    public Affinity(AffinityKind kind, AffinityType type, List<LabelOperator> operators) {
        this(kind, type, operators, null);
    }

    /** {@code scope} may be null (no scope). */
    public Affinity(AffinityKind kind, AffinityType type, List<LabelOperator> operators, AffinityScope scope) {
        this.affinityKind = Objects.requireNonNull(kind, "Affinity kind");
        this.affinityType = Objects.requireNonNull(type, "Affinity type");
        this.labelOperators = new ArrayList<>(Objects.requireNonNull(operators, "Affinity label operators"));
        this.affinityScope = scope;
    }

    public AffinityKind getAffinityKind() {
        return affinityKind;
    }

    public AffinityType getAffinityType() {
        return affinityType;
    }

    public List<LabelOperator> getLabelOperators() {
        return labelOperators;
    }

    /** Null when none was given. */
    public AffinityScope getAffinityScope() {
        return affinityScope;
    }

    @Override
    public String toString() {
        return "Affinity{" + affinityKind + ", " + affinityType + ", " + labelOperators
                + (affinityScope == null ? "" : ", " + affinityScope) + "}";
    }
}
