"""Affinity: where an instance may or should run, by node labels or by the labels of the
instances already on a node (openYuanrong's `yr.affinity` names and values).

    yr.InvokeOptions(schedule_affinities=[yr.Affinity(
        yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED,
        [yr.LabelOperator(yr.OperatorType.LABEL_IN, "zone", ["a", "b"])])])

RESOURCE rules look at a node's labels (`yr start --labels k=v`, and `NODE_ID`); INSTANCE
rules at the `labels` of the instances on it (keys only: LABEL_EXISTS / LABEL_NOT_EXISTS).
Operators of one Affinity must all hold; docs/architecture.md "Placement" has the rules.
"""
from __future__ import annotations

import enum
from typing import List, Optional


class AffinityType(enum.Enum):
    PREFERRED = 1        # choose a matching node if one has room, else any
    PREFERRED_ANTI = 2   # choose a node that does not match if one has room, else any
    REQUIRED = 3         # only a matching node
    REQUIRED_ANTI = 4    # only a node that does not match


class AffinityKind(enum.Enum):
    RESOURCE = 10        # the node's labels
    INSTANCE = 20        # the labels of the instances running on the node


class OperatorType(enum.Enum):
    LABEL_IN = 1         # the key is there with one of the values
    LABEL_NOT_IN = 2     # the key is there with none of the values
    LABEL_EXISTS = 3     # the key is there
    LABEL_NOT_EXISTS = 4  # the key is not there


class AffinityScope(enum.Enum):
    """Accepted for compatibility: yr has one worker pool per node, so both mean the node."""
    POD = 1
    NODE = 2


class LabelOperator:
    """One condition on a label: `operator_type` applied to `key` (and `values`)."""

    def __init__(self, operator_type: OperatorType, key: str, values: Optional[List[str]] = None):
        self.operator_type = operator_type
        self.key = key
        self.values = values if values else []

    def __repr__(self) -> str:
        return f"LabelOperator({self.operator_type}, {self.key!r}, {self.values!r})"


class Affinity:
    """A rule: of `affinity_kind`, of `affinity_type`, holding when all `label_operators` hold."""

    def __init__(self, affinity_kind: AffinityKind, affinity_type: AffinityType,
                 label_operators: List[LabelOperator], affinity_scope: Optional[AffinityScope] = None):
        self.affinity_kind = affinity_kind
        self.affinity_type = affinity_type
        self.label_operators = label_operators
        self.affinity_scope = affinity_scope

    def __repr__(self) -> str:
        return f"Affinity({self.affinity_kind}, {self.affinity_type}, {self.label_operators!r})"


def check_affinities(affinities: list, owner: str) -> None:
    """Raises YRTypeError / YRValueError naming the first malformed rule of `affinities`."""
    from .exceptions import YRTypeError, YRValueError
    for i, a in enumerate(affinities):
        where = f"{owner}[{i}]"
        for attr, kind in (("affinity_kind", AffinityKind), ("affinity_type", AffinityType)):
            if not isinstance(getattr(a, attr, None), kind):
                raise YRTypeError(f"invalid type for {where}.{attr}: expected yr.{kind.__name__}, "
                                  f"got {type(getattr(a, attr, None)).__name__}")
        if a.affinity_scope is not None and not isinstance(a.affinity_scope, AffinityScope):
            raise YRTypeError(f"invalid type for {where}.affinity_scope: expected yr.AffinityScope or None")
        if not isinstance(a.label_operators, list) or not a.label_operators:
            raise YRTypeError(f"invalid {where}.label_operators: expected a non-empty list of yr.LabelOperator, "
                              f"got {a.label_operators!r}")
        for j, op in enumerate(a.label_operators):
            _check_operator(op, a.affinity_kind, f"{where}.label_operators[{j}]", YRTypeError, YRValueError)


def _check_operator(op, kind: AffinityKind, where: str, type_error, value_error) -> None:
    if not isinstance(op, LabelOperator):
        raise type_error(f"invalid type for {where}: expected yr.LabelOperator, got {type(op).__name__}")
    if not isinstance(op.operator_type, OperatorType):
        raise type_error(f"invalid type for {where}.operator_type: expected yr.OperatorType, "
                         f"got {type(op.operator_type).__name__}")
    if not isinstance(op.key, str) or not op.key:
        raise type_error(f"invalid {where}.key: expected a non-empty str, got {op.key!r}")
    if not isinstance(op.values, list) or not all(isinstance(v, str) for v in op.values):
        raise type_error(f"invalid type for {where}.values: expected a list of str, got {op.values!r}")
    with_values = op.operator_type in (OperatorType.LABEL_IN, OperatorType.LABEL_NOT_IN)
    if with_values and not op.values:
        raise value_error(f"invalid {where}: {op.operator_type.name} needs at least one value")
    if with_values and kind is AffinityKind.INSTANCE:
        raise value_error(f"invalid {where}: instance labels are keys only, so INSTANCE affinity takes "
                          f"LABEL_EXISTS or LABEL_NOT_EXISTS, got {op.operator_type.name}")
