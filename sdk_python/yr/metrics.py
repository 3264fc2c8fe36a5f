"""User metrics, as openYuanrong 0.9.10 names them: `Gauge`, `UInt64Counter`, `DoubleCounter`,
`Histogram` and `Alarm` (with `AlarmInfo`, `AlarmSeverity`).

Each process keeps the current value of every metric it set (`yr._telemetry.user`) and
reports them to its node every second; the master exposes them on `/metrics` under the name
the code gave, with the labels given plus `process` (the instance id, or the driver's
`driver:<job>:<pid>`): see docs/observability.md.

Choices where openYuanrong differs or is unclear (docs/observability.md, "User metrics"):
- They work in drivers too (openYuanrong raises ValueError there); issue 13 asks for both.
- A counter made without labels has none (openYuanrong's default is a dataclass `field`
  object, which its own label check then refuses).
- `UInt64Counter` refuses negative values (ValueError): a uint64 cannot hold them.
- `Histogram.record` counts into real buckets (openYuanrong reports it as a gauge).
- `CustomGauge` and `CustomCounter` (openYuanrong's label-less wrappers) are a `Gauge` and a
  `UInt64Counter` without labels: same series, same `/metrics` names.
- `Alarm.set` exposes a gauge `<name>` whose value is the severity (0 = OFF), labelled with
  the alarm's name, location and cause.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Dict, Optional

from . import _context, _telemetry

_METRIC_NAME_RE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')
_METRIC_LABEL_NAME_RE = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*$')
_RESERVED_METRIC_LABEL_NAME_RE = re.compile(r'^__.*$')

__all__ = ["Gauge", "UInt64Counter", "DoubleCounter", "Histogram", "Alarm", "AlarmInfo", "AlarmSeverity",
           "CustomGauge", "CustomCounter"]


class AlarmSeverity(Enum):
    """Object alarm severity."""
    OFF = 0
    INFO = 1
    MINOR = 2
    MAJOR = 3
    CRITICAL = 4


@dataclass(init=True, repr=False, eq=False, order=False, unsafe_hash=False)
class AlarmInfo:
    """Alarm info."""
    alarm_name: str = ""
    alarm_severity: AlarmSeverity = AlarmSeverity.OFF
    location_info: str = ""
    cause: str = ""
    starts_at: int = -1
    ends_at: int = -1
    timeout: int = -1
    custom_options: Dict[str, str] = field(default_factory=dict)


class Metrics:
    """What every user metric checks: Prometheus names and string labels."""

    @classmethod
    def _check_name(cls, name: str):
        if not isinstance(name, str) or len(name) == 0:
            raise ValueError("invalid metric name, should not be empty")
        if not _METRIC_NAME_RE.match(name):
            raise ValueError(f'invalid metric name: {name}')

    @classmethod
    def _check_label(cls, labels: dict):
        if not isinstance(labels, dict):
            raise ValueError(f'invalid metrics label, {type(labels)} not dict type')
        for key, value in labels.items():
            if not isinstance(key, str) or not _METRIC_LABEL_NAME_RE.match(key):
                raise ValueError(f'invalid metrics label name: {key}')
            if _RESERVED_METRIC_LABEL_NAME_RE.match(key) or key == "process":
                raise ValueError(f'reserved metrics label name: {key}')
            if not isinstance(value, str):
                raise ValueError(f'invalid metrics label value: {value}, {type(value)} not str')


class _Labelled(Metrics):
    """A metric with a name, a description, a unit and labels (the key of its value)."""
    _kind = ""

    def __init__(self, name: str, description: str, unit: str = '', labels: Optional[Dict[str, str]] = None):
        labels = {} if labels is None else labels
        self._check_name(name)
        self._check_label(labels)
        self._name, self._description, self._unit, self._labels = name, description, unit, dict(labels)

    def add_labels(self, labels: Dict[str, str]) -> None:
        """Adds labels (merged over the present ones): later values go to the new series.

        Raises:
            ValueError: labels empty, not a dict of str to str, or a reserved name."""
        self._check_label(labels)
        if len(labels) == 0:
            raise ValueError("invalid metrics labels, should not be empty")
        self._labels = {**self._labels, **labels}

    def _key(self) -> tuple:
        return (self._kind, self._name, self._description, self._unit, tuple(sorted(self._labels.items())))

    def _set(self, value) -> None:
        _telemetry.user.set(self._key(), value)
        _ensure_reporting()

    def _update(self, change, initial):
        value = _telemetry.user.update(self._key(), change, initial)
        _ensure_reporting()
        return value


class Gauge(_Labelled):
    """A value that goes up and down (Prometheus gauge).

    Args:
        name (str): name. description (str): description. unit (str, optional): unit.
        labels (Dict[str, str], optional): labels, e.g. ``{"request_id": "abc"}``."""
    _kind = "gauge"

    def __init__(self, name: str, description: str, unit: str = '', labels: Dict[str, str] = None):
        super().__init__(name, description, unit, labels)

    def set(self, value: float) -> None:
        """Sets the value. Raises ValueError (or TypeError) if it is not a number."""
        self._set(float(value))


class UInt64Counter(_Labelled):
    """A 64-bit unsigned integer counter (exposed as a Prometheus counter, `<name>_total`)."""
    _kind = "uint64_counter"

    def __init__(self, name: str, description: str, unit: str, labels: Dict[str, str] = None):
        super().__init__(name, description, unit, labels)

    @staticmethod
    def _uint(value) -> int:
        ivalue = int(value)
        if not 0 <= ivalue < 1 << 64:
            raise ValueError(f"invalid uint64 counter value {ivalue}, should be in [0, 2**64)")
        return ivalue

    def set(self, value: int) -> None:
        """Sets the counter to `value` (an integer >= 0)."""
        self._set(self._uint(value))

    def reset(self) -> None:
        """Sets the counter to 0."""
        self._set(0)

    def increase(self, value: int) -> None:
        """Adds `value` (an integer >= 0) to the counter."""
        delta = self._uint(value)
        self._update(lambda old: self._uint(old + delta), 0)

    def get_value(self) -> int:
        """The counter's value in this process (0 if never set)."""
        return _telemetry.user.get(self._key(), 0)


class DoubleCounter(_Labelled):
    """A floating-point counter (exposed as a Prometheus counter, `<name>_total`)."""
    _kind = "double_counter"

    def __init__(self, name: str, description: str, unit: str, labels: Dict[str, str] = None):
        super().__init__(name, description, unit, labels)

    def set(self, value: float) -> None:
        """Sets the counter to `value`."""
        self._set(float(value))

    def reset(self) -> None:
        """Sets the counter to 0."""
        self._set(0.0)

    def increase(self, value: float) -> None:
        """Adds `value` to the counter."""
        delta = float(value)
        self._update(lambda old: old + delta, 0.0)

    def get_value(self) -> float:
        """The counter's value in this process (0.0 if never set)."""
        return _telemetry.user.get(self._key(), 0.0)


class Histogram(_Labelled):
    """A distribution of values in buckets (Prometheus histogram: `_bucket`, `_sum`, `_count`).

    Args:
        buckets (list, optional): increasing upper bounds; default DEFAULT_BUCKETS."""
    _kind = "histogram"
    DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]

    def __init__(self, name: str, description: str, unit: str = '', labels: Dict[str, str] = None,
                 buckets: Optional[list] = None):
        super().__init__(name, description, unit, labels)
        bounds = [float(b) for b in (self.DEFAULT_BUCKETS if buckets is None else buckets)]
        if not bounds or any(a >= b for a, b in zip(bounds, bounds[1:])):
            raise ValueError(f"invalid histogram buckets {buckets!r}: a non-empty increasing list of numbers")
        self._bounds = bounds

    def record(self, value: float) -> None:
        """Counts `value` into its bucket."""
        fvalue = float(value)
        i = next((k for k, b in enumerate(self._bounds) if fvalue <= b), len(self._bounds))

        def add(old):
            counts = list(old["counts"])
            counts[i] += 1
            return {"bounds": self._bounds, "counts": counts, "sum": old["sum"] + fvalue, "count": old["count"] + 1}
        self._update(add, {"bounds": self._bounds, "counts": [0] * (len(self._bounds) + 1), "sum": 0.0, "count": 0})


class CustomGauge(Gauge):
    """A gauge without labels (openYuanrong's `CustomGauge`): `set`, `inc`, `dec`, `get_value`.

    Raises ValueError (from the calls) for a value < 0 given to `set`, or a delta <= 0 given
    to `inc`/`dec`, as openYuanrong's checks."""

    def __init__(self, name: str, description: str, unit: str = ''):
        super().__init__(name, description, unit)

    def add_labels(self, labels: Dict[str, str]) -> None:
        raise AttributeError("CustomGauge has no labels (use yr.Gauge)")

    def set(self, value: float) -> None:
        """Sets the value (a number >= 0)."""
        self._set(_number(value, "gauge value", 0.0, strict=False))

    def inc(self, delta: float) -> None:
        """Adds `delta` (a number > 0)."""
        fdelta = _number(delta, "gauge delta", 0.0, strict=True)
        self._update(lambda old: old + fdelta, 0.0)

    def dec(self, delta: float) -> None:
        """Subtracts `delta` (a number > 0); the value may go below 0."""
        fdelta = _number(delta, "gauge delta", 0.0, strict=True)
        self._update(lambda old: old - fdelta, 0.0)

    def get_value(self) -> float:
        """The gauge's value in this process (0.0 if never set)."""
        return _telemetry.user.get(self._key(), 0.0)


class CustomCounter(UInt64Counter):
    """A uint64 counter without labels (openYuanrong's `CustomCounter`): `inc`, `get_value`.
    Exposed as `<name>_total`, as `UInt64Counter`."""

    def __init__(self, name: str, description: str, unit: str = ''):
        super().__init__(name, description, unit)

    def add_labels(self, labels: Dict[str, str]) -> None:
        raise AttributeError("CustomCounter has no labels (use yr.UInt64Counter)")

    def inc(self, delta: int = 1) -> None:
        """Adds `delta`, an integer > 0 (ValueError otherwise)."""
        ivalue = int(delta)
        if ivalue <= 0:
            raise ValueError("invalid counter delta, should be > 0")
        self.increase(ivalue)


def _number(value, what: str, floor: float, strict: bool) -> float:
    fvalue = float(value)
    if fvalue < floor or (strict and fvalue == floor):
        raise ValueError(f"invalid {what}, should be {'>' if strict else '>='} {floor:g}")
    return fvalue


class Alarm(Metrics):
    """An alarm: its latest `AlarmInfo`, exposed as a gauge holding the severity."""

    def __init__(self, name: str, description: str):
        self._check_name(name)
        self._name, self._description = name, description

    def set(self, alarm_info: AlarmInfo) -> None:
        """Raises the alarm (or, with severity OFF, clears it).

        Raises:
            ValueError: the alarm_name is empty, or alarm_info is not an AlarmInfo."""
        if not isinstance(alarm_info, AlarmInfo):
            raise ValueError(f"alarm_info must be an AlarmInfo, got {type(alarm_info).__name__}")
        if len(alarm_info.alarm_name) == 0:
            raise ValueError("invalid alarm name, should not be empty")
        severity = AlarmSeverity(alarm_info.alarm_severity)
        labels = (("alarm_name", alarm_info.alarm_name), ("cause", alarm_info.cause),
                  ("location_info", alarm_info.location_info))
        _telemetry.user.set(("alarm", self._name, self._description, "", labels), severity.value)
        _ensure_reporting()


def _ensure_reporting() -> None:
    """A driver's values reach its node once yr is initialized (a worker reports already)."""
    if _telemetry.started() or not _context.is_initialized():
        return
    rt = _context.current()
    _telemetry.start(lambda msg: _context.current().agent.report(msg), f"driver:{rt.job_id}:{os.getpid()}")
