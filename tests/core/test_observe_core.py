"""The pure parts of observability, without sockets or processes: the master's metrics book,
the rows and filters of `yr list`, bounded log reads, the exposition parsed back with
prometheus_client's parser, the progress line, and the worker's call counters."""
import io

import pytest
from prometheus_client.parser import text_string_to_metric_families

from yr import _telemetry
from yr_runtime.core.resources import Resources
from yr_runtime.master import Master
from yr_runtime.node.logs import KEPT, read_log, remember_log
from yr_runtime.observe import book as books, exposition, state
from yr_runtime.observe.progress import Progress


def counts(started, finished, failed, seconds, bucket=0):
    c = [started, finished, failed, seconds] + [0] * (len(_telemetry.LATENCY_BOUNDS) + 1)
    c[4 + bucket] = finished
    return c


def report(*sources, objects=0):
    return {"sources": {s: {"instance_id": iid, "class_name": cls, "calls": calls, "queued": q, "user": user}
                        for s, iid, cls, calls, q, user in sources},
            "objects": objects, "object_bytes": 10 * objects, "listed_objects": [], "warm": 2}


def test_a_report_replaces_the_last_of_its_source_and_totals_add_sources():
    b = books.MetricsBook()
    b.node_report("n", report(("w1", "i1", "C", {"C.m": counts(3, 3, 1, 0.3)}, 0, [])), 0.0)
    b.node_report("n", report(("w1", "i1", "C", {"C.m": counts(5, 4, 1, 0.5)}, 1, [])), 1.0)   # replaces
    b.node_report("n", report(("w2", "i2", "C", {"C.m": counts(2, 2, 0, 0.2)}, 0, []),
                              ("w3", "e1", "exec", {"f": counts(7, 7, 0, 0.1)}, 0, [])), 2.0)
    totals = b.call_totals()
    assert totals[("C", "m")][:3] == [7, 6, 1] and totals[("", "f")][:3] == [7, 7, 0]
    assert b.instance_calls("i1")["m"][:3] == [5, 4, 1]
    assert b.queued() == {"C": 1}


def test_forgotten_sources_still_count_so_counters_never_go_down(monkeypatch):
    monkeypatch.setattr(books, "MAX_SOURCES", 2)
    b = books.MetricsBook()
    for i in range(5):
        b.node_report("n", report((f"w{i}", f"i{i}", "C", {"C.m": counts(1, 1, 0, 0.1)}, 0, [])), float(i))
    assert len(b.sources) == 2 and b.call_totals()[("C", "m")][:2] == [5, 5]


def test_call_rates_are_per_second_between_samples():
    b = books.MetricsBook()
    for t, n in ((0.0, 0), (2.0, 10), (3.0, 99), (4.0, 30)):   # t=3 is too close to sample
        b.node_report("n", report(("w", "i", "C", {"C.m": counts(n, n, 0, 0.0)}, 0, [])), t)
    assert [r["finished_per_s"] for r in b.call_rates()] == [5.0, 10.0]


def test_split_where_tells_methods_from_functions():
    assert books.split_where("a.b.C.run", "a.b.C") == ("a.b.C", "run")
    assert books.split_where("helper", "exec") == ("", "helper")


def test_select_filters_as_text_limits_and_names_bad_columns():
    rows = [{"id": "a", "state": "RUNNING", "n": 1, "ok": True}, {"id": "b", "state": "DEAD", "n": 2, "ok": False},
            {"id": "c", "state": "RUNNING", "n": 2, "ok": False}]
    assert state.select(rows, {"state": "RUNNING"}, 0) == ([rows[0], rows[2]], 2)
    assert state.select(rows, {"state": "RUNNING", "n": "2"}, 0) == ([rows[2]], 1)
    assert state.select(rows, {"ok": "true"}, 0) == ([rows[0]], 1)
    assert state.select(rows, {}, 2) == (rows[:2], 3)
    with pytest.raises(state.ListError, match="colour.*id, state, n, ok"):
        state.select(rows, {"colour": "red"}, 0)
    with pytest.raises(state.ListError, match="colour.*instance_id"):   # no rows: the kind's columns
        state.select([], {"colour": "red"}, 0, state.COLUMNS["instances"])
    m = Master(lambda: 0.0)
    for kind in state.KINDS:   # the columns declared are the rows' columns
        m.book.node_report("n", report(("w", "i", "C", {"f": counts(1, 1, 0, 0.1)}, 0, [])), 0.0)
        m.book.nodes["n"]["listed_objects"] = [["o1", 10, "j", False]]
        m.book.job_started("j", 1, 0.0)
        m.add_node(_Link(), Resources(1000, 100, {}))
        for row in state.rows(m, kind):
            assert tuple(row) == state.COLUMNS[kind], kind
    with pytest.raises(state.ListError, match="limit"):
        state.select(rows, {}, -1)
    with pytest.raises(state.ListError, match="widgets"):
        state.rows(Master(lambda: 0.0), "widgets")


def test_read_log_from_an_offset_or_the_last_lines(tmp_path):
    path = tmp_path / "w.log"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(100)))
    whole = read_log(path, 0, 0, 0)
    assert whole.found and whole.data.count(b"\n") == 100 and whole.next_offset == path.stat().st_size
    part = read_log(path, 0, 0, 20)
    assert part.data == b"line 0\nline 1\nline 2" and part.next_offset == 20
    assert read_log(path, part.next_offset, 0, 0).data.startswith(b"\nline 3\n")
    assert read_log(path, -1, 2, 0).data == b"line 98\nline 99\n"
    assert read_log(path, -1, 0, 16).data == b"line 99\n"          # only whole lines from a cut tail
    assert not read_log(None, 0, 0, 0).found and not read_log(tmp_path / "nope", 0, 0, 0).found
    files = {}
    for i in range(KEPT + 3):
        remember_log(files, f"i{i}", tmp_path / f"{i}")
    assert len(files) == KEPT and "i0" not in files and f"i{KEPT + 2}" in files


def parsed(master):
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(exposition.render(master).decode()) for s in fam.samples}


class _Link:
    node_id, host = "node-0", ""

    def status(self):
        from yr_runtime.node.link import NodeStatus
        return NodeStatus("node-0", 3)


def test_exposition_names_units_and_values():
    m = Master(lambda: 10.0)
    m.add_node(_Link(), Resources(4000, 1024, {"gpu": 2.0}))
    hist = {"bounds": [0.1, 1.0], "counts": [1, 2, 0], "sum": 1.2, "count": 3}
    m.node_metrics("node-0", report(
        ("w1", "i1", "C", {"C.m": counts(4, 3, 1, 0.6, bucket=5)}, 2,
         [["gauge", "temp", "t", "c", {"room": "a"}, 21.5], ["uint64_counter", "hits", "", "", {}, 7],
          ["histogram", "wait", "", "s", {}, hist], ["alarm", "disk", "", "", {"alarm_name": "full", "cause": "x",
                                                                             "location_info": ""}, 3]]),
        ("driver:j:1", "", "", {}, 0, [["double_counter", "progress", "", "", {}, 2.5]]), objects=4))
    s = parsed(m)
    cm = {"class": "C", "method": "m"}
    assert s[("yr_calls_started_total", frozenset(cm.items()))] == 4
    assert s[("yr_calls_finished_total", frozenset(cm.items()))] == 3
    assert s[("yr_calls_failed_total", frozenset(cm.items()))] == 1
    bound = str(_telemetry.LATENCY_BOUNDS[5])
    assert s[("yr_call_duration_seconds_bucket", frozenset({**cm, "le": bound}.items()))] == 3
    assert s[("yr_call_duration_seconds_bucket", frozenset({**cm, "le": str(_telemetry.LATENCY_BOUNDS[4])}.items()))] == 0
    assert s[("yr_call_duration_seconds_sum", frozenset(cm.items()))] == pytest.approx(0.6)
    assert s[("yr_calls_queued", frozenset({"class": "C"}.items()))] == 2
    node = frozenset({"node": "node-0"}.items())
    assert s[("yr_node_cpu_total_millicores", node)] == 4000 and s[("yr_node_memory_total_bytes", node)] == 1 << 30
    assert s[("yr_node_custom_resource_total", frozenset({"node": "node-0", "resource": "gpu"}.items()))] == 2
    assert s[("yr_object_store_objects", node)] == 4 and s[("yr_object_store_bytes", node)] == 40
    assert s[("yr_warm_workers", node)] == 3 and s[("yr_nodes", frozenset())] == 1
    assert s[("temp", frozenset({"process": "i1", "room": "a"}.items()))] == 21.5
    assert s[("hits_total", frozenset({"process": "i1"}.items()))] == 7
    assert s[("progress_total", frozenset({"process": "driver:j:1"}.items()))] == 2.5
    assert s[("wait_bucket", frozenset({"process": "i1", "le": "1.0"}.items()))] == 3
    assert s[("wait_count", frozenset({"process": "i1"}.items()))] == 3
    assert s[("disk", frozenset({"process": "i1", "alarm_name": "full", "cause": "x", "location_info": ""}.items()))] == 3


def test_the_worker_call_counters():
    c = _telemetry.CallStats()
    c.start("C.m")
    c.finish("C.m", False, 0.0002)
    c.start("C.m")
    c.finish("C.m", True, 100.0)
    c.finish("C.broken", True, 0.0)    # failed before its method was read: started too
    snap = c.snapshot()
    assert snap["C.m"][:3] == [2, 2, 1] and snap["C.m"][3] == pytest.approx(100.0002)
    assert snap["C.m"][4 + 1] == 1 and snap["C.m"][-1] == 1   # 0.2 ms in the second bucket, 100 s in +Inf
    assert snap["C.broken"][:3] == [1, 1, 1]


def test_progress_is_quiet_for_quick_operations_and_paced_otherwise():
    now = [0.0]
    out = io.StringIO()
    p = Progress("stopping", out=out, after=1.0, every=2.0, clock=lambda: now[0])
    p.update("5 left")
    assert out.getvalue() == ""
    now[0] = 1.5
    p.update("4 left")
    now[0] = 2.5
    p.update("3 left")   # too soon after the last line
    now[0] = 4.0
    p.update("1 left")
    p.done("stopped")
    assert out.getvalue().splitlines() == ["stopping: 4 left (2s)", "stopping: 1 left (4s)", "stopping: stopped"]
    quiet = io.StringIO()
    Progress("x", out=quiet, clock=lambda: 0.0).done()
    assert quiet.getvalue() == ""
