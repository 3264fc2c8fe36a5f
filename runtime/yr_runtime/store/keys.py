"""Where each kind of cluster metadata lives: `/yr/v1/<cluster_id>/...` (docs/architecture.md,
"Metadata store"). Every name given here becomes one path segment, percent-encoded, so a
name holding "/" or "%" cannot reach into another key; `segment` reverses the encoding.

| key                         | value (JSON)                                  | lease            |
|-----------------------------|-----------------------------------------------|------------------|
| nodes/<node_id>             | addresses, resources, labels, protocol        | the node's       |
| master/leader               | the leading master: id, address, pid          | the leader's     |
| master/candidates/<id>      | a master campaigning or leading: id, address  | that master's    |
| instances/<instance_id>     | class, name, namespace, job, node, state, ... | none             |
| names/<namespace>/<name>    | instance id (get-or-create: `create`)         | none             |
| jobs/<job_id>               | driver node and pid                           | the driver node's|
"""
from __future__ import annotations

from urllib.parse import quote, unquote

from yr_runtime.store.base import KEY_ROOT


def _seg(value: str, what: str, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} is a str, got {type(value).__name__}: {value!r:.80}")
    if not value and not empty_ok:
        raise ValueError(f"{what} must not be empty")
    return quote(value, safe="")


def segment(encoded: str) -> str:
    """The name one key segment encodes (e.g. the node id of a `nodes/` key's last part)."""
    return unquote(encoded)


def last_segment(key: str) -> str:
    """The decoded last segment of `key`: the node, instance, name or job it is about."""
    return segment(key.rsplit("/", 1)[-1])


def cluster_prefix(cluster_id: str) -> str:
    return f"{KEY_ROOT}{_seg(cluster_id, 'cluster id')}/"


def nodes_prefix(cluster_id: str) -> str:
    return cluster_prefix(cluster_id) + "nodes/"


def node_key(cluster_id: str, node_id: str) -> str:
    return nodes_prefix(cluster_id) + _seg(node_id, "node id")


def leader_key(cluster_id: str) -> str:
    return cluster_prefix(cluster_id) + "master/leader"


def candidates_prefix(cluster_id: str) -> str:
    return cluster_prefix(cluster_id) + "master/candidates/"


def candidate_key(cluster_id: str, master_id: str) -> str:
    return candidates_prefix(cluster_id) + _seg(master_id, "master id")


def instances_prefix(cluster_id: str) -> str:
    return cluster_prefix(cluster_id) + "instances/"


def instance_key(cluster_id: str, instance_id: str) -> str:
    return instances_prefix(cluster_id) + _seg(instance_id, "instance id")


def names_prefix(cluster_id: str, namespace: str | None = None) -> str:
    """All names, or (with `namespace`, "" being the default one) the names of one namespace."""
    base = cluster_prefix(cluster_id) + "names/"
    return base if namespace is None else base + _seg(namespace, "namespace", empty_ok=True) + "/"


def name_key(cluster_id: str, namespace: str, name: str) -> str:
    return names_prefix(cluster_id, namespace) + _seg(name, "instance name")


def name_of_key(key: str) -> tuple[str, str]:
    """(namespace, name) of a `names/` key."""
    ns, name = key.rsplit("/", 2)[-2:]
    return segment(ns), segment(name)


def jobs_prefix(cluster_id: str) -> str:
    return cluster_prefix(cluster_id) + "jobs/"


def job_key(cluster_id: str, job_id: str) -> str:
    return jobs_prefix(cluster_id) + _seg(job_id, "job id")
