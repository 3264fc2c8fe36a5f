"""The master's metrics in Prometheus' text format, built with `prometheus_client` from the
book (calls, queues, stores, warm pools, user metrics) and the cluster (instances, nodes).

Names follow Prometheus' conventions: a `yr_` prefix, base units in the name (seconds,
bytes; cpu in millicores), `_total` on counters (prometheus_client adds it). The table of
every name is in docs/observability.md. User metrics keep the names their code gave them,
with a `process` label (the instance id, or `driver:<job>:<pid>`): a value set in two
processes stays two series, as each process owns its own.
"""
from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from yr_runtime.observe import state

log = logging.getLogger("yr.metrics")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BOUNDS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                  2.5, 5.0, 10.0, 30.0)   # = yr._telemetry.LATENCY_BOUNDS (the SDK's, which we cannot import)


class _Collector:
    def __init__(self, master):
        self.master = master

    def collect(self):
        yield from _calls(self.master.book)
        yield from _cluster(self.master)
        yield from _user(self.master.book)


def render(master) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(master))
    return generate_latest(registry)


def _calls(book):
    labels = ["class", "method"]
    started = CounterMetricFamily("yr_calls_started", "Calls that started running, per class and method", labels=labels)
    finished = CounterMetricFamily("yr_calls_finished", "Calls that finished (with a result or an error)", labels=labels)
    failed = CounterMetricFamily("yr_calls_failed", "Calls that finished with an error", labels=labels)
    latency = HistogramMetricFamily("yr_call_duration_seconds", "Time a call ran in its worker", labels=labels)
    for (cls, method), c in sorted(book.call_totals().items()):
        key = [cls, method]
        started.add_metric(key, c[0])
        finished.add_metric(key, c[1])
        failed.add_metric(key, c[2])
        buckets, acc = [], 0
        for bound, n in zip([*map(str, LATENCY_BOUNDS), "+Inf"], c[4:]):
            acc += n
            buckets.append((bound, acc))
        latency.add_metric(key, buckets, c[3])
    queued = GaugeMetricFamily("yr_calls_queued", "Calls received by workers and not started yet", labels=["class"])
    for cls, n in sorted(book.queued().items()):
        queued.add_metric([cls], n)
    yield from (started, finished, failed, latency, queued)


def _cluster(master):
    states = GaugeMetricFamily("yr_instances", "Instances the master knows, per class and state",
                               labels=["class", "state"])
    restarts = GaugeMetricFamily("yr_instance_restarts", "Restarts of the instances the master knows, per class",
                                 labels=["class"])
    count: dict = {}
    rcount: dict = {}
    for i in master.cluster.instances.values():
        if not i.hidden:
            count[(i.class_name, i.state)] = count.get((i.class_name, i.state), 0) + 1
            rcount[i.class_name] = rcount.get(i.class_name, 0) + i.restarts
    for key, n in sorted(count.items()):
        states.add_metric(list(key), n)
    for cls, n in sorted(rcount.items()):
        restarts.add_metric([cls], n)
    yield from (states, restarts)
    yield from _nodes(state.rows(master, "nodes"))
    jobs = GaugeMetricFamily("yr_jobs", "Jobs (drivers) the master knows, per state", labels=["state"])
    by_state: dict = {}
    for j in master.book.jobs.values():
        by_state[j["state"]] = by_state.get(j["state"], 0) + 1
    for s, n in sorted(by_state.items()):
        jobs.add_metric([s], n)
    yield jobs


def _nodes(nodes):
    def gauge(name, doc):
        return GaugeMetricFamily(name, doc, labels=["node"])
    fams = {
        "cpu_total": gauge("yr_node_cpu_total_millicores", "A node's cpu capacity"),
        "cpu_used": gauge("yr_node_cpu_used_millicores", "A node's cpu held by instances"),
        "memory_total_mib": gauge("yr_node_memory_total_bytes", "A node's memory capacity"),
        "memory_used_mib": gauge("yr_node_memory_used_bytes", "A node's memory held by instances"),
        "objects": gauge("yr_object_store_objects", "Objects in a node's store"),
        "object_bytes": gauge("yr_object_store_bytes", "Bytes a node's store holds (values in shared "
                                                       "memory count their descriptor)"),
        "warm_workers": gauge("yr_warm_workers", "Idle pre-forked workers of a node"),
        "instances": gauge("yr_node_instances", "Live instances on a node"),
    }
    custom_total = GaugeMetricFamily("yr_node_custom_resource_total", "A node's custom resource capacity",
                                     labels=["node", "resource"])
    custom_used = GaugeMetricFamily("yr_node_custom_resource_used", "A node's custom resource held",
                                    labels=["node", "resource"])
    for n in nodes:
        for col, fam in fams.items():
            fam.add_metric([n["node_id"]], n[col] * (1 << 20) if col.endswith("_mib") else n[col])
        for k, v in n["custom_total"].items():
            custom_total.add_metric([n["node_id"], k], v)
            custom_used.add_metric([n["node_id"], k], n["custom_used"][k])
    nodes_alive = GaugeMetricFamily("yr_nodes", "Nodes in the cluster")
    nodes_alive.add_metric([], len(nodes))
    yield from (*fams.values(), custom_total, custom_used, nodes_alive)


_KINDS = {"gauge": GaugeMetricFamily, "uint64_counter": CounterMetricFamily, "double_counter": CounterMetricFamily,
          "alarm": GaugeMetricFamily}


def _user(book):
    fams: dict[str, object] = {}
    for source, instance_id, kind, name, desc, unit, labels, value in book.user_series():
        process = instance_id or source
        names = ["process", *sorted(labels)]
        values = [process, *(labels[k] for k in sorted(labels))]
        if name not in fams:
            doc = desc + (f" ({unit})" if unit else "")
            fams[name] = ((HistogramMetricFamily(name, doc, labels=names) if kind == "histogram"
                           else _KINDS.get(kind, GaugeMetricFamily)(name, doc, labels=names)), names, kind)
        fam, first_names, first_kind = fams[name]
        if first_names != names or first_kind != kind:
            log.warning("user metric %s reported with other labels or of another kind; series dropped", name)
            continue
        if kind == "histogram":
            acc, buckets = 0, []
            for bound, n in zip([*map(str, value["bounds"]), "+Inf"], value["counts"]):
                acc += n
                buckets.append((bound, acc))
            fam.add_metric(values, buckets, value["sum"])
        else:
            fam.add_metric(values, value)
    yield from (fam for fam, _, _ in fams.values())
