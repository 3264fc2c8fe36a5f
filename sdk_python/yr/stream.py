"""Streams (openYuanrong's `yr.create_stream_producer` / `create_stream_consumer`): producers
in any process send elements; every subscription receives all of them in order. The stream
lives in the runtime's master, bounded in bytes: a producer whose stream is full waits for
consumers to ack (back-pressure). Semantics and limits: docs/kv.md ("Streams")."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Dict, List, Union

from yr_runtime.core.streams import MIN_MAX_STREAM_SIZE

from . import _context
from .exceptions import YRRuntimeError, YRTimeoutError, YRTypeError, YRValueError
from .object_ref import new_id

MAX_PAGE_SIZE = 16 << 20
MAX_ELEMENT = 256 << 20   # one element travels in one gRPC message


def _client():
    from . import _data   # gRPC loads only in processes that use the control plane
    return _data


@dataclass(init=True, repr=False, eq=False, order=False, unsafe_hash=False)
class ProducerConfig:
    """How a producer buffers and how big its stream may grow (openYuanrong's fields and defaults).

    delay_flush_time: ms after a send before its buffer is flushed (< 0: only when the page
    fills or the producer closes; 0: at once). page_size: the buffer, a multiple of 4 KiB.
    max_stream_size: the bytes the stream may hold for its consumers (back-pressure above).
    auto_clean_up: delete the stream when its last producer and consumer close.
    retain_for_num_consumers: keep elements sent before any consumer for the first N.
    reserve_size: a multiple of page_size in [0, max_stream_size] (checked; yr reserves
    nothing ahead). encrypt_stream and extend_config are not supported (refused if set)."""
    delay_flush_time: int = 5
    page_size: int = 1024 * 1024
    max_stream_size: int = 1024 * 1024 * 1024
    auto_clean_up: bool = False
    encrypt_stream: bool = False
    retain_for_num_consumers: int = 0
    reserve_size: int = 0
    extend_config: Dict[str, str] = field(default_factory=dict)


class SubscriptionType(Enum):
    """Only STREAM (one consumer per subscription) is supported, as in openYuanrong."""
    STREAM = 0
    ROUND_ROBIN = 1
    KEY_PARTITIONS = 2


@dataclass(init=True, repr=False, eq=False, order=False, unsafe_hash=False)
class SubscriptionConfig:
    """A consumer's subscription: its name and type (STREAM)."""
    subscription_name: str
    subscriptionType: SubscriptionType = SubscriptionType.STREAM
    extend_config: Dict[str, str] = field(default_factory=dict)


class Element:
    """An element: `data` (bytes-like) and `id` (the stream's number for it on receive; ignored on send)."""

    def __init__(self, value: Union[bytes, memoryview], ele_id: int = 0) -> None:
        self.data = value
        self.id = ele_id

    def __repr__(self) -> str:
        return f"Element(id={self.id}, {len(self.data)} bytes)"


def _int(v, what: str, low: int, high: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low or (high is not None and v > high):
        raise YRValueError(f"{what} must be an int in [{low}, {high if high is not None else 'inf'}], got {v!r}")
    return v


def _check_producer_config(c) -> None:
    if not isinstance(c, ProducerConfig):
        raise YRTypeError(f"config must be a yr.ProducerConfig, got {type(c).__name__}")
    if isinstance(c.delay_flush_time, bool) or not isinstance(c.delay_flush_time, int):
        raise YRValueError(f"ProducerConfig.delay_flush_time must be an int (ms), got {c.delay_flush_time!r}")
    _int(c.page_size, "ProducerConfig.page_size", 4096, MAX_PAGE_SIZE)
    if c.page_size % 4096:
        raise YRValueError(f"ProducerConfig.page_size must be a multiple of 4 KiB, got {c.page_size}")
    _int(c.max_stream_size, "ProducerConfig.max_stream_size", MIN_MAX_STREAM_SIZE)
    _int(c.retain_for_num_consumers, "ProducerConfig.retain_for_num_consumers", 0)
    _int(c.reserve_size, "ProducerConfig.reserve_size", 0, c.max_stream_size)
    if c.reserve_size % c.page_size:
        raise YRValueError(f"ProducerConfig.reserve_size must be a multiple of page_size, got {c.reserve_size}")
    if c.encrypt_stream:
        raise YRValueError("ProducerConfig.encrypt_stream is not supported by yr (streams are not encrypted)")
    if c.extend_config:
        raise YRValueError(f"ProducerConfig.extend_config is not supported by yr, got keys {sorted(c.extend_config)}")


class Producer:
    """Sends elements into one stream; made by yr.create_stream_producer. Thread-safe.

    Elements wait in a buffer of `page_size` bytes, sent as one batch when it would overflow,
    `delay_flush_time` ms after the first of them, or at close(). A batch goes into the stream
    when it fits (back-pressure): a send that must flush waits up to its timeout_ms for room."""

    def __init__(self, name: str, config: ProducerConfig):
        self._rt = _context.current()
        self.stream_name, self._config = name, config
        self._id = f"prod-{new_id()}"
        self._lock = threading.Lock()
        self._pending: list = []
        self._pending_bytes = 0
        self._timer: threading.Timer | None = None
        self._error: BaseException | None = None   # of a background flush, raised by the next send
        self._closed = False
        _client().stream_open(self._rt.master, f"create_stream_producer {name!r}", stream=name, id=self._id,
                              job_id=self._rt.job_id, producer=True, max_stream_size=config.max_stream_size,
                              retain_for_num_consumers=config.retain_for_num_consumers,
                              auto_clean_up=config.auto_clean_up)

    def send(self, element: Element, timeout_ms: int | None = None) -> None:
        """Buffers the element; a flush this needs waits up to timeout_ms (None: until there
        is room) and raises YRTimeoutError if the stream stays full (the element is not sent)."""
        if not isinstance(element, Element):
            raise YRTypeError(f"send takes a yr.Element, got {type(element).__name__}")
        data = element.data
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise YRTypeError(f"Element data must be bytes, bytearray or memoryview, got {type(data).__name__}")
        data = bytes(data)
        if len(data) > min(self._config.max_stream_size, MAX_ELEMENT):
            raise YRValueError(f"an element of {len(data)} bytes is too large: at most "
                               f"{min(self._config.max_stream_size, MAX_ELEMENT)} bytes (max_stream_size "
                               f"{self._config.max_stream_size}, and {MAX_ELEMENT} bytes per element)")
        timeout = -1.0 if timeout_ms is None else _int(timeout_ms, "timeout_ms", 0) / 1000
        with self._lock:
            self._check_open()
            if self._pending and self._pending_bytes + len(data) > self._config.page_size:
                self._flush(timeout)
            self._pending.append(data)
            self._pending_bytes += len(data)
            delay = self._config.delay_flush_time
            if delay == 0 or self._pending_bytes >= self._config.page_size:
                try:
                    self._flush(timeout)
                except BaseException:
                    self._pending.pop()   # this element was not sent; those before it stay buffered
                    self._pending_bytes -= len(data)
                    raise
            elif delay > 0 and self._timer is None:
                self._timer = threading.Timer(delay / 1000, self._auto_flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self, timeout_ms: int | None = None) -> None:
        """Sends what is buffered now (yr's addition: openYuanrong's Python Producer flushes only by itself)."""
        with self._lock:
            self._check_open()
            self._flush(-1.0 if timeout_ms is None else _int(timeout_ms, "timeout_ms", 0) / 1000)

    def close(self) -> None:
        """Flushes the buffer (waiting for room), then closes; the producer cannot be used again."""
        with self._lock:
            if self._closed:
                return
            try:
                if self._pending and not self._rt.closed:
                    self._flush(-1.0)
            finally:
                self._closed = True
                if not self._rt.closed:
                    _client().stream_close(self._rt.master, self._id, True, "close producer")

    def _check_open(self) -> None:
        if self._closed:
            raise YRRuntimeError(f"the producer of stream {self.stream_name!r} is closed")
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def _flush(self, timeout: float) -> None:
        """Sends the buffer as one batch (lock held); on failure the buffer is kept."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        _client().stream_send(self._rt.master, self._id, self._pending, timeout, f"send to stream {self.stream_name!r}")
        self._pending, self._pending_bytes = [], 0

    def _auto_flush(self) -> None:
        with self._lock:
            self._timer = None
            if self._closed or not self._pending or self._rt.closed:
                return
            try:
                self._flush(0.0)
            except YRTimeoutError:   # the stream is full: try again later (a send that must flush waits)
                self._timer = threading.Timer(max(self._config.delay_flush_time, 1) / 1000, self._auto_flush)
                self._timer.daemon = True
                self._timer.start()
            except Exception as e:   # noqa: BLE001  told to the next send, not lost in a thread
                self._error = e


class Consumer:
    """Receives the elements of one subscription, in order; made by yr.create_stream_consumer."""

    def __init__(self, name: str, config: SubscriptionConfig):
        self._rt = _context.current()
        self.stream_name, self.subscription_name = name, config.subscription_name
        self._id = f"cons-{new_id()}"
        self._closed = False
        _client().stream_open(self._rt.master, f"create_stream_consumer {name!r}", stream=name, id=self._id,
                              job_id=self._rt.job_id, producer=False, subscription=config.subscription_name)

    def receive(self, timeout_ms: int, expect_num: int | None = None) -> List[Element]:
        """Waits until `expect_num` elements (None: at least one) are there or `timeout_ms`
        passed, and returns what there is (maybe []), oldest first, each with its id."""
        timeout = _int(timeout_ms, "timeout_ms", 0) / 1000
        expect = 0 if expect_num is None else _int(expect_num, "expect_num", 1)
        self._check_open()
        got = _client().stream_receive(self._rt.master, self._id, expect, timeout,
                                       f"receive from stream {self.stream_name!r}")
        return [Element(data, i) for i, data in got]

    def ack(self, element_id: int) -> None:
        """Acknowledges every received element up to element_id, freeing their room in the stream."""
        self._check_open()
        _client().stream_ack(self._rt.master, self._id, _int(element_id, "element_id", 1), "ack")

    def close(self) -> None:
        """Acks what was received and ends the subscription."""
        if not self._closed:
            self._closed = True
            if not self._rt.closed:
                _client().stream_close(self._rt.master, self._id, False, "close consumer")

    def _check_open(self) -> None:
        if self._closed:
            raise YRRuntimeError(f"the consumer of stream {self.stream_name!r} is closed")


def _name(name) -> str:
    if not isinstance(name, str) or not name:
        raise YRValueError(f"a stream name must be a non-empty str, got {name!r:.80}")
    return name


def create_stream_producer(stream_name: str, config: ProducerConfig | None = None) -> Producer:
    """A producer of the stream (created if it does not exist)."""
    config = ProducerConfig() if config is None else config
    _check_producer_config(config)
    return Producer(_name(stream_name), config)


def create_stream_consumer(stream_name: str, config: SubscriptionConfig) -> Consumer:
    """A consumer of the stream through the subscription config.subscription_name."""
    if not isinstance(config, SubscriptionConfig):
        raise YRTypeError(f"config must be a yr.SubscriptionConfig, got {type(config).__name__}")
    if config.subscriptionType is not SubscriptionType.STREAM:
        raise YRValueError(f"subscription type {config.subscriptionType} is not supported (only STREAM)")
    if config.extend_config:
        raise YRValueError(f"SubscriptionConfig.extend_config is not supported by yr, got keys {sorted(config.extend_config)}")
    if not isinstance(config.subscription_name, str) or not config.subscription_name:
        raise YRValueError("SubscriptionConfig.subscription_name must be a non-empty str")
    return Consumer(_name(stream_name), config)


def delete_stream(stream_name: str) -> None:
    """Deletes the stream; refused while it has producers or consumers."""
    _client().stream_delete(_context.current().master, _name(stream_name), f"delete_stream {stream_name!r}")


def query_global_producers_num(stream_name: str) -> int:
    """How many producers the stream has, in all processes."""
    return _client().stream_counts(_context.current().master, _name(stream_name), "query_global_producers_num")[0]


def query_global_consumers_num(stream_name: str) -> int:
    """How many consumers the stream has, in all processes."""
    return _client().stream_counts(_context.current().master, _name(stream_name), "query_global_consumers_num")[1]
