"""What this process counts for the runtime's metrics, and the thread that reports it.

Two sources, both plain data owned by this module:
- `calls`: a worker's calls per method (started, finished, failed, seconds, a latency
  histogram). The worker's loop thread (or its call threads) increments plain integers in
  lists: no lock, no system call, no allocation per call once a method has been seen.
  A reader may see a count one call behind another; the next report corrects it.
- `user`: the values of the user metrics (`yr.Gauge`, `yr.UInt64Counter`, ... in
  `yr.metrics`), keyed by (kind, name, labels), set under a lock (user code, not the hot path).

`start(send, ...)` starts one daemon thread that, every INTERVAL seconds, sends a
`wire.messages.Metrics` report through `send` if anything changed since the last one;
`flush()` sends at once (a worker does it before it exits). The agent keeps the last report
of each source; the master sums them (docs/observability.md).
"""
from __future__ import annotations

import _thread
import os
import threading
from bisect import bisect_left

from yr_runtime.wire import messages as m

INTERVAL = float(os.environ.get("YR_METRICS_INTERVAL", "1.0"))
# Upper bounds (seconds) of the call latency buckets; the last bucket is +Inf.
LATENCY_BOUNDS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                  2.5, 5.0, 10.0, 30.0)
FIRST_BUCKET = 4   # counters of a method: started, finished, failed, seconds, then one per bucket


class CallStats:
    """Counters of the calls a worker ran, per `where` ("Class.method" or a function's name)."""
    __slots__ = ("by", "received")

    def __init__(self):
        self.by: dict[str, list] = {}
        self.received = 0   # call frames read (so: queued = received - started)

    def new(self, where: str) -> list:
        """The counters of a method seen for the first time (the worker's loop inlines the rest)."""
        c = self.by[where] = [0, 0, 0, 0.0] + [0] * (len(LATENCY_BOUNDS) + 1)
        return c

    def start(self, where: str) -> None:
        c = self.by.get(where) or self.new(where)
        c[0] += 1

    def finish(self, where: str, failed: bool, seconds: float) -> None:
        c = self.by.get(where)
        if c is None:   # failed before its method was read: counted as started too
            self.start(where)
            c = self.by[where]
        c[1] += 1
        c[2] += failed
        c[3] += seconds
        c[FIRST_BUCKET + bisect_left(LATENCY_BOUNDS, seconds)] += 1

    def snapshot(self) -> dict:
        return {k: list(v) for k, v in list(self.by.items())}


class UserSeries:
    """The user metrics' current values: (kind, name, description, unit, labels) -> value."""

    def __init__(self):
        self.lock = threading.Lock()
        self.values: dict[tuple, object] = {}
        self.version = 0

    def set(self, key: tuple, value) -> None:
        with self.lock:
            self.values[key] = value
            self.version += 1

    def update(self, key: tuple, change, initial):
        """Sets key to change(old value or `initial`); returns the new value."""
        with self.lock:
            value = self.values[key] = change(self.values.get(key, initial))
            self.version += 1
            return value

    def get(self, key: tuple, default):
        with self.lock:
            return self.values.get(key, default)

    def snapshot(self) -> list:
        with self.lock:
            return [[kind, name, desc, unit, dict(labels), _plain(v)]
                    for (kind, name, desc, unit, labels), v in self.values.items()]


def _plain(v):
    return list(v) if isinstance(v, (list, tuple)) else v


calls = CallStats()
user = UserSeries()
_reporter: "_Reporter | None" = None
_start_lock = threading.Lock()


class _Reporter:
    def __init__(self, send, source: str, instance_id: str, class_name: str, queued):
        self.send, self.source, self.instance_id, self.class_name = send, source, instance_id, class_name
        self.queued = queued or (lambda: calls.received - sum(c[0] for c in list(calls.by.values())))
        self.last = None
        self.wake = threading.Event()
        self.running = False

    def run_thread(self) -> None:
        if self.running:
            return
        self.running = True
        # Not threading.Thread.start(), which waits until the thread runs (0.05-0.5 ms here,
        # more under load).
        _thread.start_new_thread(self._run, ())

    def _run(self) -> None:
        while True:
            self.wake.wait(INTERVAL)
            self.wake.clear()
            self.report()

    def report(self, force: bool = False) -> None:
        state = (sum(c[0] + c[1] for c in list(calls.by.values())), calls.received, user.version)
        if state == self.last and not force:
            return
        self.last = state
        try:
            self.send(m.Metrics(source=self.source, instance_id=self.instance_id, class_name=self.class_name,
                                calls=calls.snapshot(), queued=max(0, int(self.queued())),
                                user=user.snapshot()))
        except Exception:   # the agent is gone or closing: this process ends soon; reports are best effort
            pass


def start(send, source: str, instance_id: str = "", class_name: str = "", queued=None, thread: bool = True) -> None:
    """Starts this process's reporter (once; later calls change nothing): `send(msg)` writes
    a `Metrics` message to the node's agent. `thread=False`: its thread starts at
    `run_thread()` (a new worker starts it once its first calls are answered: a thread that
    starts takes the GIL, and the CPU, from them)."""
    global _reporter
    with _start_lock:
        if _reporter is None:
            _reporter = _Reporter(send, source, instance_id, class_name, queued)
            if thread:
                _reporter.run_thread()


def run_thread() -> None:
    """Starts the reporter's thread (`start(thread=False)`); once."""
    with _start_lock:
        if _reporter is not None:
            _reporter.run_thread()


def started() -> bool:
    return _reporter is not None


def flush(send=None) -> None:
    """Reports now (a worker before it exits; a driver as it closes, through `send`, since
    its runtime is no longer current by then)."""
    r = _reporter
    if r is not None:
        saved = r.send
        r.send = send or saved
        try:
            r.report(force=True)
        finally:
            r.send = saved
