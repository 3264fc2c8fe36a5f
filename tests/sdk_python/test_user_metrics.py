"""The user metrics' API as openYuanrong 0.9.10 has it (names, signatures, checks), and their
values in this process. That they reach /metrics from workers and drivers is checked in
tests/e2e/test_observe.py."""
import inspect

import pytest

import yr
from yr import _telemetry


def test_signatures_are_openyuanrongs():
    sig = lambda c: list(inspect.signature(c).parameters)
    assert sig(yr.Gauge) == ["name", "description", "unit", "labels"]
    assert sig(yr.UInt64Counter) == sig(yr.DoubleCounter) == ["name", "description", "unit", "labels"]
    assert sig(yr.Histogram) == ["name", "description", "unit", "labels", "buckets"]
    assert sig(yr.Alarm) == ["name", "description"]
    assert [m for m in ("add_labels", "set", "reset", "increase", "get_value") if hasattr(yr.UInt64Counter, m)] == [
        "add_labels", "set", "reset", "increase", "get_value"]
    assert hasattr(yr.Histogram, "record") and hasattr(yr.Gauge, "set") and hasattr(yr.Alarm, "set")
    assert [s.name for s in yr.AlarmSeverity] == ["OFF", "INFO", "MINOR", "MAJOR", "CRITICAL"]
    info = yr.AlarmInfo()
    assert (info.alarm_name, info.alarm_severity, info.starts_at, info.custom_options) == ("", yr.AlarmSeverity.OFF, -1, {})
    assert yr.Histogram.DEFAULT_BUCKETS == [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]


@pytest.mark.parametrize("make", [
    lambda n, lab: yr.Gauge(n, "d", "", lab), lambda n, lab: yr.UInt64Counter(n, "d", "u", lab),
    lambda n, lab: yr.DoubleCounter(n, "d", "u", lab), lambda n, lab: yr.Histogram(n, "d", "", lab)])
def test_names_and_labels_are_checked(make):
    for bad in ("", "1abc", "a-b", "a b"):
        with pytest.raises(ValueError, match="metric name"):
            make(bad, {})
    for labels, what in (({"1x": "v"}, "label name"), ({"__x": "v"}, "reserved"), ({"process": "v"}, "reserved"),
                         ({"k": 1}, "label value"), (["k"], "not dict")):
        with pytest.raises(ValueError, match=what):
            make("ok_name", labels)
    m = make("ok_name", {"a": "b"})
    with pytest.raises(ValueError, match="should not be empty"):
        m.add_labels({})


def test_counters_set_increase_reset_and_read_back_per_labels():
    c = yr.UInt64Counter("test_um_count", "d", "1", {"k": "v"})
    c.set(5)
    c.increase(3)
    assert c.get_value() == 8
    c.add_labels({"phase": "two"})          # a new series
    assert c.get_value() == 0
    c.increase(2)
    assert c.get_value() == 2
    c.reset()
    assert c.get_value() == 0
    for bad in (-1, 1 << 64):
        with pytest.raises(ValueError, match="uint64"):
            c.set(bad)
    with pytest.raises((ValueError, TypeError)):
        c.increase("many")
    d = yr.DoubleCounter("test_um_double", "d", "s")   # no labels: none (openYuanrong's default is unusable)
    d.increase(0.25)
    d.increase(0.5)
    assert d.get_value() == 0.75
    series = {(k[0], k[1], k[4]): v for k, v in _telemetry.user.values.items()}
    assert series[("uint64_counter", "test_um_count", (("k", "v"),))] == 8
    assert series[("double_counter", "test_um_double", ())] == 0.75


def test_gauge_histogram_and_alarm_values():
    g = yr.Gauge("test_um_gauge", "d")
    g.set(3)
    g.set("4.5")   # float() of it, as openYuanrong
    with pytest.raises(ValueError):
        g.set("warm")
    h = yr.Histogram("test_um_hist", "d", "s", buckets=[1, 2])
    for v in (0.5, 1.5, 1.5, 9):
        h.record(v)
    with pytest.raises(ValueError, match="buckets"):
        yr.Histogram("test_um_badhist", "d", buckets=[2, 1])
    a = yr.Alarm("test_um_alarm", "d")
    with pytest.raises(ValueError, match="alarm name"):
        a.set(yr.AlarmInfo())
    with pytest.raises(ValueError, match="AlarmInfo"):
        a.set("fire")
    a.set(yr.AlarmInfo(alarm_name="disk", alarm_severity=yr.AlarmSeverity.MAJOR, cause="full"))
    series = {k[1]: v for k, v in _telemetry.user.values.items()}
    assert series["test_um_gauge"] == 4.5
    assert series["test_um_hist"] == {"bounds": [1.0, 2.0], "counts": [1, 2, 1], "sum": 12.5, "count": 4}
    assert series["test_um_alarm"] == 3


def test_custom_gauge_and_counter_are_openyuanrongs_label_less_metrics():
    sig = lambda c: list(inspect.signature(c).parameters)
    assert sig(yr.CustomGauge) == sig(yr.CustomCounter) == ["name", "description", "unit"]
    assert list(inspect.signature(yr.CustomCounter.inc).parameters.items())[1][1].default == 1
    for make in (yr.CustomGauge, yr.CustomCounter):
        for bad in ("", "1abc", "a-b"):
            with pytest.raises(ValueError, match="metric name"):
                make(bad, "d")
    g = yr.CustomGauge("test_um_cgauge", "d", "ms")
    assert g.get_value() == 0.0
    g.set(10)
    g.inc(2.5)
    g.dec("0.5")
    assert g.get_value() == 12.0
    for call, bad, what in ((g.set, -1, "gauge value"), (g.inc, 0, "gauge delta"), (g.dec, -2, "gauge delta")):
        with pytest.raises(ValueError, match=what):
            call(bad)
    with pytest.raises(ValueError):
        g.inc("lots")
    assert g.get_value() == 12.0   # refused calls changed nothing
    c = yr.CustomCounter("test_um_ccount", "d")
    c.inc()
    c.inc(4)
    for bad in (0, -3):
        with pytest.raises(ValueError, match="counter delta"):
            c.inc(bad)
    assert c.get_value() == 5
    with pytest.raises(AttributeError, match="no labels"):
        c.add_labels({"k": "v"})
    series = {(k[0], k[1], k[4]): v for k, v in _telemetry.user.values.items()}
    assert series[("gauge", "test_um_cgauge", ())] == 12.0
    assert series[("uint64_counter", "test_um_ccount", ())] == 5
