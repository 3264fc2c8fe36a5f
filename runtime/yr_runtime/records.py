"""The master's records as the JSON values of the metadata store, and back (no I/O).

An instance record holds everything a restarted master needs to find the instance again
(node, worker, endpoint, state, restarts, epoch) and to restart it elsewhere (its request,
affinity, labels and the `Assign` payload with the SDK's opaque code, in base64). What the
store keys are is `store.keys`; that the store holds bytes is `store.encode_json`.
"""
from __future__ import annotations

import base64
import dataclasses

from yr_runtime.core import cluster as core
from yr_runtime.core import placement
from yr_runtime.core.resources import Resources
from yr_runtime.wire import messages as m

_PLAIN = ("id", "job_id", "class_name", "language", "name", "namespace", "detached", "hidden",
          "recover_retry_times", "schedule_timeout", "state", "node_id", "worker_id", "pid", "endpoint",
          "exit_reason", "restarts", "requester_node", "epoch")


def instance_to_json(inst: core.Instance) -> dict:
    out = {k: getattr(inst, k) for k in _PLAIN}
    out["resources"] = dataclasses.asdict(inst.resources)
    out["labels"] = list(inst.labels)
    out["affinity"] = dataclasses.asdict(inst.affinity)
    if isinstance(inst.payload, m.Assign):
        a = dataclasses.replace(inst.payload, state=None)   # saved states stay with the nodes and the master
        out["assign"] = {f.name: getattr(a, f.name) for f in dataclasses.fields(a) if f.name != "state"}
        out["assign"]["code"] = base64.b64encode(a.code).decode()
    return out


def instance_from_json(d: dict) -> core.Instance:
    """The record `instance_to_json` made; ValueError/KeyError/TypeError if it is not one."""
    inst = core.Instance(**{k: d[k] for k in _PLAIN if k in d}, resources=Resources(**d["resources"]),
                         labels=tuple(d.get("labels", ())), affinity=_policy(d.get("affinity")))
    if "assign" in d:
        a = dict(d["assign"], code=base64.b64decode(d["assign"]["code"]))
        inst.payload = m.Assign(**a)
    return inst


def _policy(d: dict | None) -> placement.Policy:
    if not d or not d.get("rules"):
        return placement.NO_POLICY if not d else placement.Policy(
            (), d["preferred_priority"], d["required_priority"], d["preferred_anti_other_labels"])
    rules = tuple(placement.Rule(r["kind"], r["type"], tuple(placement.Operator(o["op"], o["key"], tuple(o["values"]))
                                                             for o in r["operators"])) for r in d["rules"])
    return placement.Policy(rules, d["preferred_priority"], d["required_priority"], d["preferred_anti_other_labels"])


class NoRecorder:
    """The recorder of a master without a metadata store (tests of the master alone)."""

    def instance(self, inst) -> None: ...

    def node_joined(self, node_id: str, info: dict) -> None: ...

    def node_alive(self, node_id: str) -> None: ...

    def node_left(self, node_id: str) -> None: ...

    def job_started(self, job_id: str, info: dict) -> None: ...

    def job_ended(self, job_id: str) -> None: ...
