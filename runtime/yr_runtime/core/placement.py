"""Where an instance goes: labels, affinity and the choice of a node, as pure functions.

Rules (openYuanrong's documented semantics; docs/architecture.md "Placement"):
- A node's labels are those it was started with (`--labels k=v`) plus `NODE_ID` = its id.
  An instance's labels (`InvokeOptions.labels`) are keys; a node's *instance labels* are the
  labels of the instances placed on it and not dead (STARTING or RUNNING).
- A rule is (kind, type, operators). RESOURCE rules look at the node's labels, INSTANCE
  rules at its instance labels. A rule *matches* a node when all its operators hold (AND):
  LABEL_IN: the key is there with a value in the list; LABEL_NOT_IN: the key is there with a
  value not in the list; LABEL_EXISTS: the key is there; LABEL_NOT_EXISTS: it is not.
- Rules of the same kind and type are OR-ed into one selector. A node is *allowed* when, for
  each kind, it matches one of the REQUIRED rules (if any) and none of the REQUIRED_ANTI
  rules. With preferred_anti_other_labels a node must also satisfy at least one preferred
  condition (a PREFERRED rule it matches or a PREFERRED_ANTI rule it does not).
- Among the allowed nodes whose free resources fit the request now, the best is chosen by,
  in order: (required_priority only) the earliest REQUIRED rule it matches; its preferred
  conditions (preferred_priority: in the order given, the first one decides; else how many
  hold); the requester's own node; the most free cpu, then memory.
- A request no node can ever take fails at once: none of the current nodes' labels satisfies
  its REQUIRED/REQUIRED_ANTI RESOURCE rules, or none of the nodes so allowed is big enough
  in total. INSTANCE rules depend on what runs, so a request they keep out waits (up to its
  schedule timeout) like one waiting for busy capacity.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

RESOURCE, INSTANCE = "RESOURCE", "INSTANCE"
PREFERRED, PREFERRED_ANTI, REQUIRED, REQUIRED_ANTI = "PREFERRED", "PREFERRED_ANTI", "REQUIRED", "REQUIRED_ANTI"
LABEL_IN, LABEL_NOT_IN, LABEL_EXISTS, LABEL_NOT_EXISTS = "LABEL_IN", "LABEL_NOT_IN", "LABEL_EXISTS", "LABEL_NOT_EXISTS"
KINDS = (RESOURCE, INSTANCE)
TYPES = (PREFERRED, PREFERRED_ANTI, REQUIRED, REQUIRED_ANTI)
OPERATORS = (LABEL_IN, LABEL_NOT_IN, LABEL_EXISTS, LABEL_NOT_EXISTS)
NODE_ID = "NODE_ID"


@dataclass(frozen=True)
class Operator:
    op: str
    key: str
    values: tuple = ()

    def holds(self, labels) -> bool:
        """`labels`: a mapping key -> value (instance labels map to '')."""
        if self.op == LABEL_EXISTS:
            return self.key in labels
        if self.op == LABEL_NOT_EXISTS:
            return self.key not in labels
        if self.key not in labels:
            return False
        return (labels[self.key] in self.values) == (self.op == LABEL_IN)

    def __str__(self) -> str:
        vals = f", [{', '.join(self.values)}]" if self.op in (LABEL_IN, LABEL_NOT_IN) else ""
        return f"{self.op}({self.key}{vals})"


@dataclass(frozen=True)
class Rule:
    kind: str
    type: str
    operators: tuple = ()

    def matches(self, node_labels, instance_labels) -> bool:
        labels = node_labels if self.kind == RESOURCE else instance_labels
        return all(o.holds(labels) for o in self.operators)

    def __str__(self) -> str:
        return f"{self.type} {self.kind} affinity [{' AND '.join(map(str, self.operators))}]"


@dataclass(frozen=True)
class Policy:
    """An instance's affinity rules and how they are weighed (InvokeOptions' fields)."""
    rules: tuple = ()
    preferred_priority: bool = True
    required_priority: bool = False
    preferred_anti_other_labels: bool = False

    def required(self, kind: str | None = None) -> list:
        return [r for r in self.rules if r.type in (REQUIRED, REQUIRED_ANTI) and kind in (None, r.kind)]

    def preferred(self) -> list:
        return [r for r in self.rules if r.type in (PREFERRED, PREFERRED_ANTI)]


NO_POLICY = Policy()


def node_labels(node) -> dict:
    """The labels RESOURCE rules see: the node's own, and NODE_ID."""
    return {**node.labels, NODE_ID: node.id}


def _required_hold(rules: Iterable[Rule], labels: dict, inst_labels) -> bool:
    rules = list(rules)
    pos = [r for r in rules if r.type == REQUIRED]
    neg = [r for r in rules if r.type == REQUIRED_ANTI]
    for kind in KINDS:
        p = [r for r in pos if r.kind == kind]
        if p and not any(r.matches(labels, inst_labels) for r in p):
            return False
    return not any(r.matches(labels, inst_labels) for r in neg)


def _preferred_conditions(policy: Policy, labels: dict, inst_labels) -> tuple:
    """One bool per preferred rule, in order: does the node satisfy it?"""
    return tuple(r.matches(labels, inst_labels) == (r.type == PREFERRED) for r in policy.preferred())


def allowed(policy: Policy, node) -> bool:
    """May the instance go on `node` (its labels and what runs there now), resources aside?"""
    if policy is NO_POLICY:
        return True
    labels = node_labels(node)
    if not _required_hold(policy.required(), labels, node.instance_labels):
        return False
    if policy.preferred_anti_other_labels and policy.preferred():
        return any(_preferred_conditions(policy, labels, node.instance_labels))
    return True


def choose(resources, policy: Policy, requester_node: str, nodes: Iterable):
    """The node the instance goes on now, or None if none is allowed and has room."""
    fitting = [n for n in nodes if resources.fits_in(n.available) and allowed(policy, n)]
    if not fitting:
        return None
    return max(fitting, key=lambda n: _rank(policy, requester_node, n))


def _rank(policy: Policy, requester_node: str, node) -> tuple:
    local_and_free = (node.id == requester_node, node.available.cpu, node.available.memory)
    if policy is NO_POLICY:
        return local_and_free
    labels = node_labels(node)
    first_required = 0
    if policy.required_priority:
        req = [r for r in policy.required() if r.type == REQUIRED]
        first_required = -next((i for i, r in enumerate(req) if r.matches(labels, node.instance_labels)), len(req))
    prefs = _preferred_conditions(policy, labels, node.instance_labels)
    pref_score = prefs if policy.preferred_priority else sum(prefs)
    return (first_required, pref_score) + local_and_free


def never_allowed(policy: Policy, nodes: Iterable) -> str | None:
    """Why no current node's labels can ever satisfy the REQUIRED RESOURCE rules, or None."""
    rules = policy.required(RESOURCE)
    nodes = list(nodes)
    if not rules or any(_required_hold(rules, node_labels(n), {}) for n in nodes):
        return None
    shown = "; ".join(f"{n.id} {_fmt(node_labels(n))}" for n in nodes[:8])
    more = f"; and {len(nodes) - 8} more" if len(nodes) > 8 else ""
    return (f"no node satisfies its {' / '.join(map(str, rules))} (node labels: {shown}{more})")


def unmet(policy: Policy) -> str:
    """The rules an instance waits for, for the message of its schedule timeout ('' if none)."""
    rules = policy.required() + (policy.preferred() if policy.preferred_anti_other_labels else [])
    return " / ".join(map(str, rules))


def _fmt(labels: dict) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"


def parse_labels(text: str) -> dict:
    """`k=v,k2=v2` (from `--labels`) as a dict; ValueError names a malformed item. NODE_ID is
    the node's id, never set by hand."""
    labels = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ValueError(f"label {item!r} is not of the form key=value")
        if key == NODE_ID:
            raise ValueError(f"label {NODE_ID} is the node's id and cannot be set")
        labels[key] = value
    return labels
