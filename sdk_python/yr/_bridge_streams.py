"""Streams for the C++ and Java SDKs (C++ `YR::CreateProducer` / `YR::Subscribe`, Java
`YR.createProducer` / `YR.subscribe`): the stream_* calls of yr._bridge.

A producer or consumer stays here, in the process's Python runtime, under an id string the
C++/Java object holds; every call names it by that id (neutral values only cross the bridge,
docs/bridge.md). Semantics are yr.stream's (docs/kv.md "Streams"), plus openYuanrong's
autoAck for C++/Java subscribers: each receive first acks what the previous one returned.
"""
from __future__ import annotations

import threading

from . import stream
from .exceptions import ERR_FINALIZED, YRRuntimeError, YRValueError

_lock = threading.Lock()
_endpoints: dict = {}   # id -> stream.Producer | _Subscriber; removed at close
_next = [0]


class _Subscriber:
    """A consumer and its autoAck state: the last id a receive returned, acked by the next."""

    def __init__(self, consumer: stream.Consumer, auto_ack: bool) -> None:
        self.consumer, self.auto_ack, self.last = consumer, auto_ack, 0
        self.lock = threading.Lock()   # one receive at a time: the ack-then-receive pair stays whole


def _register(endpoint) -> str:
    with _lock:
        _next[0] += 1
        key = f"s{_next[0]}"
        _endpoints[key] = endpoint
    return key


def _get(key: str, kind: type):
    endpoint = _endpoints.get(key)
    if not isinstance(endpoint, kind):
        what = "producer" if kind is stream.Producer else "consumer"
        raise YRRuntimeError(f"the stream {what} {key!r} is closed (or was never opened)", code=ERR_FINALIZED)
    return endpoint


def _timeout(timeout_ms) -> int | None:
    """A send/flush timeout from C++/Java: < 0 waits until there is room (None)."""
    return None if timeout_ms is None or timeout_ms < 0 else int(timeout_ms)


def stream_create_producer(name: str, config: dict) -> str:
    """config: ProducerConfig's fields by their Python names (absent ones keep the defaults)."""
    unknown = set(config) - set(stream.ProducerConfig.__dataclass_fields__)
    if unknown:
        raise YRValueError(f"unknown ProducerConfig fields: {', '.join(sorted(unknown))}")
    fields = dict(config)
    fields["extend_config"] = dict(fields.get("extend_config") or {})
    return _register(stream.create_stream_producer(name, stream.ProducerConfig(**fields)))


def stream_send(key: str, data: bytes, timeout_ms: int = -1) -> None:
    _get(key, stream.Producer).send(stream.Element(data), _timeout(timeout_ms))


def stream_flush(key: str, timeout_ms: int = -1) -> None:
    _get(key, stream.Producer).flush(_timeout(timeout_ms))


def stream_subscribe(name: str, subscription_name: str, subscription_type: int = 0, auto_ack: bool = False,
                     extend_config: dict | None = None) -> str:
    try:
        kind = stream.SubscriptionType(subscription_type)
    except ValueError:
        raise YRValueError(f"unknown subscription type {subscription_type!r}") from None
    config = stream.SubscriptionConfig(subscription_name, kind, dict(extend_config or {}))
    return _register(_Subscriber(stream.create_stream_consumer(name, config), bool(auto_ack)))


def stream_receive(key: str, expect_num: int, timeout_ms: int) -> list:
    """[[ids...], [datas...]] of up to expect_num elements (0: at least one) within timeout_ms."""
    sub = _get(key, _Subscriber)
    with sub.lock:
        if sub.auto_ack and sub.last:
            sub.consumer.ack(sub.last)
            sub.last = 0
        got = sub.consumer.receive(timeout_ms, expect_num or None)
        if got:
            sub.last = got[-1].id
    return [[e.id for e in got], [e.data for e in got]]


def stream_ack(key: str, element_id: int) -> None:
    _get(key, _Subscriber).consumer.ack(element_id)


def stream_close(key: str) -> None:
    """Closes a producer (flushing, waiting for room) or a consumer; closing twice is no error."""
    endpoint = _endpoints.get(key)
    if endpoint is None:
        return
    try:
        (endpoint.consumer if isinstance(endpoint, _Subscriber) else endpoint).close()
    finally:
        with _lock:
            _endpoints.pop(key, None)


def stream_delete(name: str) -> None:
    stream.delete_stream(name)


def stream_counts(name: str) -> list:
    """[producers, consumers] of the stream in all processes."""
    return [stream.query_global_producers_num(name), stream.query_global_consumers_num(name)]


def forget_all() -> None:
    """At finalize: the runtime closed every endpoint of this job; drop them here too."""
    with _lock:
        _endpoints.clear()
