"""The master's book of metrics: the last report of every process (workers and drivers, as
their nodes relay them), each node's store and warm pool, the jobs, and a short history of
call rates for the dashboard's chart. Pure data: no I/O, the clock passed in.

Rules:
- A report replaces the previous one of its source (counts in it are totals since the
  process started), so a report lost or repeated changes nothing.
- Counters never go down: when a source is forgotten (past MAX_SOURCES, oldest first) its
  calls are folded into `retired`, which every total includes.
"""
from __future__ import annotations

from collections import deque

MAX_SOURCES = 10_000
MAX_JOBS = 1000
RATE_EVERY = 2.0        # seconds between two samples of the call totals
RATE_SAMPLES = 300      # 10 minutes of them


def split_where(where: str, class_name: str) -> tuple[str, str]:
    """("Class", "method") of a call counted as "Class.method"; ("", f) for a function f."""
    if class_name and where.startswith(class_name + "."):
        return class_name, where[len(class_name) + 1:]
    return "", where


def add_counts(into: list, more: list) -> list:
    if not into:
        return list(more)
    for i, v in enumerate(more[:len(into)]):
        into[i] += v
    return into


class MetricsBook:
    def __init__(self):
        self.sources: dict[str, dict] = {}
        self.retired: dict[tuple, list] = {}
        self.nodes: dict[str, dict] = {}
        self.jobs: dict[str, dict] = {}
        self.rates: deque = deque(maxlen=RATE_SAMPLES)   # (time, finished, failed) totals
        self._last_sample = float("-inf")

    # ---- reports -------------------------------------------------------------------------------
    def node_report(self, node_id: str, report: dict, now: float) -> None:
        for source, data in (report.get("sources") or {}).items():
            self.sources.pop(source, None)
            self.sources[source] = dict(data, node_id=node_id)
        while len(self.sources) > MAX_SOURCES:
            self._retire(next(iter(self.sources)))
        self.nodes[node_id] = {k: report.get(k, 0) for k in ("objects", "object_bytes", "warm")}
        self.nodes[node_id]["listed_objects"] = report.get("listed_objects") or []
        if now - self._last_sample >= RATE_EVERY:
            self._last_sample = now
            totals = self.call_totals().values()
            self.rates.append((now, sum(c[1] for c in totals), sum(c[2] for c in totals)))

    def node_gone(self, node_id: str) -> None:
        self.nodes.pop(node_id, None)

    def _retire(self, source: str) -> None:
        data = self.sources.pop(source)
        for where, counts in data["calls"].items():
            key = split_where(where, data["class_name"])
            self.retired[key] = add_counts(self.retired.get(key, []), counts)

    # ---- jobs -------------------------------------------------------------------------------
    def job_started(self, job_id: str, pid: int, now: float) -> None:
        self.jobs[job_id] = {"job_id": job_id, "driver_pid": pid, "state": "RUNNING", "started": now, "ended": 0.0}
        while len(self.jobs) > MAX_JOBS:
            self.jobs.pop(next(iter(self.jobs)))

    def job_ended(self, job_id: str, now: float) -> None:
        job = self.jobs.get(job_id)
        if job is not None:
            job.update(state="FINISHED", ended=now)

    # ---- sums -------------------------------------------------------------------------------
    def call_totals(self) -> dict[tuple, list]:
        """(class, method) -> [started, finished, failed, seconds, bucket counts...] over all
        sources, forgotten ones included."""
        out = {k: list(v) for k, v in self.retired.items()}
        for data in self.sources.values():
            for where, counts in data["calls"].items():
                key = split_where(where, data["class_name"])
                out[key] = add_counts(out.get(key, []), counts)
        return out

    def instance_calls(self, instance_id: str) -> dict[str, list]:
        """method -> counters, for the instance's current and earlier workers."""
        out: dict[str, list] = {}
        for data in self.sources.values():
            if data["instance_id"] == instance_id:
                for where, counts in data["calls"].items():
                    method = split_where(where, data["class_name"])[1]
                    out[method] = add_counts(out.get(method, []), counts)
        return out

    def queued(self) -> dict[str, int]:
        """class -> calls received by its workers and not started yet (live sources)."""
        out: dict[str, int] = {}
        for data in self.sources.values():
            if data.get("queued"):
                out[data["class_name"]] = out.get(data["class_name"], 0) + data["queued"]
        return out

    def user_series(self) -> list:
        """[source, instance_id, kind, name, description, unit, labels, value] of every user metric."""
        return [[source, data["instance_id"], *series] for source, data in self.sources.items()
                for series in data.get("user") or ()]

    def call_rates(self) -> list[dict]:
        """Calls finished (and failed) per second between consecutive samples."""
        pts = list(self.rates)
        return [{"time": b[0], "finished_per_s": (b[1] - a[1]) / (b[0] - a[0]), "failed_per_s": (b[2] - a[2]) / (b[0] - a[0])}
                for a, b in zip(pts, pts[1:]) if b[0] > a[0]]
