"""The rows of `yr list` and of the dashboard, read from the master (no I/O): nodes,
instances, functions, objects and jobs as plain dicts, then filtered and limited.

Instances: live ones first (then the dead, newest last), each with id, class, name and
namespace, node, state, restarts, exit reason, resources and the job that created it.
Stateless executors are runtime-internal: they appear under `functions`, not `instances`.
"""
from __future__ import annotations

KINDS = ("nodes", "instances", "functions", "objects", "jobs")
COLUMNS = {   # every column of each kind's rows (what --filter may name)
    "nodes": ("node_id", "address", "state", "labels", "cpu_total", "cpu_used", "memory_total_mib",
              "memory_used_mib", "custom_total", "custom_used", "instances", "warm_workers", "objects", "object_bytes"),
    "instances": ("instance_id", "class", "name", "namespace", "node_id", "state", "restarts", "exit_reason", "cpu",
                  "memory_mib", "custom", "job_id", "pid", "language", "detached"),
    "functions": ("function", "executors", "calls_started", "calls_finished", "calls_failed"),
    "objects": ("object_id", "node_id", "size_bytes", "job_id", "error"),
    "jobs": ("job_id", "driver_pid", "state", "started", "ended", "instances_alive", "instances"),
}


class ListError(ValueError):
    """A bad `yr list` request (unknown kind or column); its message names what was wrong."""


def rows(master, kind: str) -> list[dict]:
    if kind not in KINDS:
        raise ListError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    return globals()[f"_{kind}"](master)


def select(found: list[dict], filters: dict[str, str], limit: int, columns=None) -> tuple[list[dict], int]:
    """The rows whose columns equal every filter (compared as text), at most `limit` (0: all);
    and how many matched. A filter on a column not in `columns` (default: the first row's)
    is a ListError naming the columns."""
    columns = list(columns if columns is not None else found[0] if found else ())
    unknown = [k for k in filters if k not in columns]
    if unknown:
        raise ListError(f"cannot filter on {', '.join(unknown)}: the columns are {', '.join(columns)}")
    if limit < 0:
        raise ListError(f"--limit must be >= 0, got {limit}")
    matched = [r for r in found if all(_text(r.get(k)) == v for k, v in filters.items())]
    return (matched[:limit] if limit else matched), len(matched)


def _text(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    return "" if v is None else str(v)


def _nodes(master) -> list[dict]:
    out = []
    for n in master.cluster.nodes.values():
        link = master.links.get(n.id)
        book = master.book.nodes.get(n.id, {})
        alive = sum(1 for i in master.cluster.instances.values() if i.node_id == n.id and i.state != "DEAD")
        out.append({"node_id": n.id, "address": getattr(link, "host", ""), "state": "ALIVE",
                    "labels": dict(n.labels), "cpu_total": n.total.cpu, "cpu_used": n.total.cpu - n.available.cpu,
                    "memory_total_mib": n.total.memory, "memory_used_mib": n.total.memory - n.available.memory,
                    "custom_total": dict(n.total.custom),
                    "custom_used": {k: v - n.available.custom.get(k, 0) for k, v in n.total.custom.items()},
                    "instances": alive, "warm_workers": link.status().warm_workers if link else 0,
                    "objects": book.get("objects", 0), "object_bytes": book.get("object_bytes", 0)})
    return out


def instance_row(i) -> dict:
    return {"instance_id": i.id, "class": i.class_name, "name": i.name, "namespace": i.namespace,
            "node_id": i.node_id, "state": i.state, "restarts": i.restarts, "exit_reason": i.exit_reason,
            "cpu": i.resources.cpu, "memory_mib": i.resources.memory, "custom": dict(i.resources.custom),
            "job_id": i.job_id, "pid": i.pid, "language": i.language, "detached": i.detached}


def _instances(master) -> list[dict]:
    shown = [i for i in master.cluster.instances.values() if not i.hidden]
    return [instance_row(i) for i in sorted(shown, key=lambda i: i.state == "DEAD")]


def _functions(master) -> list[dict]:
    """Stateless functions: the calls counted per function and their live executors."""
    out: dict[str, dict] = {}
    for (cls, method), c in master.book.call_totals().items():
        if not cls:
            out[method] = {"function": method, "executors": 0, "calls_started": c[0], "calls_finished": c[1],
                           "calls_failed": c[2]}
    for i in master.cluster.instances.values():
        if i.hidden and i.state != "DEAD":
            for name in (i.class_name, i.class_name.split(".")[-1]):
                if name in out:
                    out[name]["executors"] += 1
                    break
            else:
                out[i.class_name] = {"function": i.class_name, "executors": 1, "calls_started": 0,
                                     "calls_finished": 0, "calls_failed": 0}
    return sorted(out.values(), key=lambda r: r["function"])


def _objects(master) -> list[dict]:
    return [{"object_id": oid, "node_id": node, "size_bytes": size, "job_id": job, "error": err}
            for node, data in master.book.nodes.items() for oid, size, job, err in data["listed_objects"]]


def _jobs(master) -> list[dict]:
    jobs = {j: dict(data, instances_alive=0, instances=0) for j, data in master.book.jobs.items()}
    for i in master.cluster.instances.values():
        if i.hidden or i.job_id not in jobs:
            continue
        jobs[i.job_id]["instances"] += 1
        jobs[i.job_id]["instances_alive"] += i.state != "DEAD"
    return sorted(jobs.values(), key=lambda r: r["state"] != "RUNNING")
