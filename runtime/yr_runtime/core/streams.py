"""The cluster's streams (`yr.create_stream_producer` / `create_stream_consumer`): pure, held
by the master, so producers and consumers in any process of any node share one stream.

No I/O; the clock is passed in; waiters are anything with done()/set_result(). Rules:
- A stream exists from its first producer or consumer until `delete` (refused while it has
  producers or consumers), or until its last one closes if a producer asked for
  auto_clean_up. Its byte bound (`max_stream_size`) and retention are the first producer's
  (a stream a consumer created first takes them from its first producer).
- Elements get ids 1, 2, 3, ... in the order the stream accepts them. Every subscription
  receives every element accepted after it subscribed, in that order (a STREAM subscription
  has one consumer; a second consumer of the same subscription is refused). Elements sent
  while a stream has no subscription are dropped, unless a producer set
  retain_for_num_consumers = N: then they are kept until N subscriptions have been made,
  and each of those first N starts at the oldest element kept.
- **Back-pressure**: the elements held (not yet acked by every subscription, or retained)
  take at most max_stream_size bytes. A send that does not fit waits, in arrival order
  behind earlier waiting sends, until acks free room; at its deadline it fails
  (ERR_GET_OPERATION_FAILED, nothing of it accepted). A send larger than max_stream_size
  alone fails at once (ERR_PARAM_INVALID).
- `receive` answers with up to `expect_num` elements (all available if None) after the
  subscription's cursor, at most `max_bytes` of them (but at least one), as soon as
  `expect_num` (or, if None, one) are available, or at its deadline with what there is
  (maybe none: a timeout is not an error, as openYuanrong's Consumer.receive). One receive
  waits per consumer at a time.
- `ack(id)` acknowledges every element up to `id` received by that consumer (cumulative,
  as the data system's Ack); the bytes no subscription still needs are freed, and waiting
  sends go in. Closing a consumer acks what it received and ends its subscription.
- A job that ends closes the producers and consumers its processes opened.
- `expire(now)` times out waiters past their deadline; the master calls it every tick.
"""
from __future__ import annotations

import heapq
import math
import re
from collections import deque
from dataclasses import dataclass, field

from yr_runtime.wire.errors import ErrorCode

NAME_RE = re.compile(r"[a-zA-Z0-9~.\-/_!@#%^&*()+=:;]+")
MAX_NAME = 255
DEFAULT_MAX_STREAM_SIZE = 1 << 30
MIN_MAX_STREAM_SIZE = 64 << 10
RECEIVE_MAX_BYTES = 8 << 20    # one receive answer (one gRPC message): at most this, or one element


class StreamError(Exception):
    def __init__(self, kind: ErrorCode, message: str):
        super().__init__(message)
        self.kind = kind


def check_name(name) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME or not NAME_RE.fullmatch(name):
        raise StreamError(ErrorCode.ERR_PARAM_INVALID,
                          f"invalid stream name {name!r:.80}: 1 to {MAX_NAME} characters from "
                          "a-z A-Z 0-9 ~ . - / _ ! @ # % ^ & * ( ) + = : ;")
    return name


@dataclass(eq=False)
class _Sub:
    name: str
    consumer: str
    cursor: int          # the id of the next element to deliver
    acked: int           # every id <= acked is acknowledged


@dataclass(eq=False)
class _Waiter:
    waiter: object
    deadline: float
    owner: str                    # producer or consumer id
    elements: list = field(default_factory=list)   # a send's elements
    size: int = 0
    expect: int | None = None     # a receive's expect_num
    max_bytes: int = 0


@dataclass(eq=False)
class Stream:
    name: str
    max_size: int = DEFAULT_MAX_STREAM_SIZE
    retain: int = 0
    auto_clean_up: bool = False
    configured: bool = False      # by a producer
    elements: deque = field(default_factory=deque)   # (id, bytes), oldest first
    next_id: int = 1
    used: int = 0
    producers: set = field(default_factory=set)
    subs: dict = field(default_factory=dict)         # subscription name -> _Sub
    subs_made: int = 0
    sends: deque = field(default_factory=deque)      # _Waiter, in arrival order
    receives: dict = field(default_factory=dict)     # consumer id -> _Waiter

    def first_id(self) -> int:
        return self.elements[0][0] if self.elements else self.next_id


class Streams:
    def __init__(self):
        self.streams: dict[str, Stream] = {}
        self.producers: dict[str, tuple[str, str]] = {}   # id -> (stream, job)
        self.consumers: dict[str, tuple[str, str, str]] = {}   # id -> (stream, subscription, job)
        self._deadlines: list = []
        self._seq = 0

    # ---- producers and consumers ----------------------------------------------------------
    def create_producer(self, producer_id: str, job_id: str, name: str, max_stream_size: int = DEFAULT_MAX_STREAM_SIZE,
                        retain_for_num_consumers: int = 0, auto_clean_up: bool = False) -> None:
        check_name(name)
        if producer_id in self.producers:
            raise StreamError(ErrorCode.ERR_PARAM_INVALID, f"producer {producer_id} exists already")
        if max_stream_size < MIN_MAX_STREAM_SIZE:
            raise StreamError(ErrorCode.ERR_PARAM_INVALID,
                              f"max_stream_size must be at least {MIN_MAX_STREAM_SIZE} bytes, got {max_stream_size}")
        if retain_for_num_consumers < 0:
            raise StreamError(ErrorCode.ERR_PARAM_INVALID, "retain_for_num_consumers must be >= 0")
        s = self.streams.setdefault(name, Stream(name))
        if not s.configured:
            s.configured, s.max_size, s.retain = True, max_stream_size, retain_for_num_consumers
        s.auto_clean_up = s.auto_clean_up or auto_clean_up
        s.producers.add(producer_id)
        self.producers[producer_id] = (name, job_id)

    def create_consumer(self, consumer_id: str, job_id: str, name: str, subscription: str) -> None:
        check_name(name)
        if not isinstance(subscription, str) or not subscription:
            raise StreamError(ErrorCode.ERR_PARAM_INVALID, "a subscription needs a non-empty subscription_name")
        if consumer_id in self.consumers:
            raise StreamError(ErrorCode.ERR_PARAM_INVALID, f"consumer {consumer_id} exists already")
        s = self.streams.setdefault(name, Stream(name))
        if subscription in s.subs:
            raise StreamError(ErrorCode.ERR_PARAM_INVALID,
                              f"subscription {subscription!r} of stream {name!r} has a consumer already "
                              "(a STREAM subscription has one consumer)")
        start = s.first_id() if s.subs_made < s.retain else s.next_id
        s.subs[subscription] = _Sub(subscription, consumer_id, start, start - 1)
        s.subs_made += 1
        self.consumers[consumer_id] = (name, subscription, job_id)
        self._release(s)

    def close_producer(self, producer_id: str) -> None:
        entry = self.producers.pop(producer_id, None)
        if entry is None:
            return
        s = self.streams[entry[0]]
        s.producers.discard(producer_id)
        for w in [w for w in s.sends if w.owner == producer_id]:
            s.sends.remove(w)
            _answer(w, StreamError(ErrorCode.ERR_FINALIZED, "the producer was closed"))
        self._admit(s)
        self._maybe_clean(s)

    def close_consumer(self, consumer_id: str) -> None:
        entry = self.consumers.pop(consumer_id, None)
        if entry is None:
            return
        s = self.streams[entry[0]]
        s.subs.pop(entry[1], None)
        w = s.receives.pop(consumer_id, None)
        if w is not None:
            _answer(w, StreamError(ErrorCode.ERR_FINALIZED, "the consumer was closed"))
        self._release(s)
        self._maybe_clean(s)

    def job_ended(self, job_id: str) -> None:
        for pid in [p for p, (_, job) in self.producers.items() if job == job_id]:
            self.close_producer(pid)
        for cid in [c for c, (_, _, job) in self.consumers.items() if job == job_id]:
            self.close_consumer(cid)

    def delete(self, name: str) -> None:
        check_name(name)
        s = self.streams.get(name)
        if s is None:
            return
        if s.producers or s.subs:
            raise StreamError(ErrorCode.ERR_PARAM_INVALID,
                              f"stream {name!r} still has {len(s.producers)} producer(s) and {len(s.subs)} "
                              "consumer(s); close them before delete_stream")
        del self.streams[name]

    def producers_num(self, name: str) -> int:
        s = self.streams.get(check_name(name))
        return 0 if s is None else len(s.producers)

    def consumers_num(self, name: str) -> int:
        s = self.streams.get(check_name(name))
        return 0 if s is None else len(s.subs)

    # ---- data -----------------------------------------------------------------------------
    def send(self, producer_id: str, elements: list, waiter, now: float, deadline: float = math.inf) -> None:
        """Answers `waiter` with the id of the last element accepted, or a StreamError."""
        self.expire(now)
        s = self._producer_stream(producer_id)
        size = sum(len(e) for e in elements)
        if size > s.max_size:
            raise StreamError(ErrorCode.ERR_PARAM_INVALID,
                              f"{size} bytes sent at once do not fit in stream {s.name!r} "
                              f"(max_stream_size {s.max_size} bytes)")
        w = _Waiter(waiter, deadline, producer_id, list(elements), size)
        s.sends.append(w)
        self._admit(s)
        if s.sends and s.sends[-1] is w:
            if deadline <= now:   # no wait asked for: fail now rather than at the next tick
                s.sends.pop()
                _answer(w, self._full(s))
            else:
                self._arm(w, now)

    def receive(self, consumer_id: str, expect_num: int | None, waiter, now: float, deadline: float,
                max_bytes: int = RECEIVE_MAX_BYTES) -> None:
        """Answers `waiter` with a list of (id, bytes) (see the rules at the top)."""
        self.expire(now)
        s, sub = self._consumer_sub(consumer_id)
        if expect_num is not None and expect_num <= 0:
            raise StreamError(ErrorCode.ERR_PARAM_INVALID, f"expect_num must be > 0, got {expect_num}")
        if consumer_id in s.receives:
            raise StreamError(ErrorCode.ERR_PARAM_INVALID, "this consumer has a receive waiting already")
        w = _Waiter(waiter, deadline, consumer_id, expect=expect_num, max_bytes=max_bytes)
        if self._available(s, sub) >= (expect_num or 1) or deadline <= now:
            _answer(w, self._take(s, sub, w))
            return
        s.receives[consumer_id] = w
        self._arm(w, now)

    def ack(self, consumer_id: str, element_id: int) -> None:
        s, sub = self._consumer_sub(consumer_id)
        if element_id >= sub.cursor:
            raise StreamError(ErrorCode.ERR_PARAM_INVALID,
                              f"cannot ack element {element_id}: this consumer has received up to {sub.cursor - 1}")
        sub.acked = max(sub.acked, element_id)
        self._release(s)

    def forget(self, waiter) -> None:
        """Drops the waits of a waiter whose caller left."""
        for s in self.streams.values():
            for w in [w for w in s.sends if w.waiter is waiter]:
                s.sends.remove(w)
            for cid in [c for c, w in s.receives.items() if w.waiter is waiter]:
                del s.receives[cid]
            self._admit(s)

    def expire(self, now: float) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, w = heapq.heappop(self._deadlines)
            if w.waiter.done():
                continue
            entry = self.producers.get(w.owner) or self.consumers.get(w.owner)
            s = self.streams.get(entry[0]) if entry else None
            if s is None:
                continue
            if w in s.sends:
                s.sends.remove(w)
                _answer(w, self._full(s))
                self._admit(s)
            elif s.receives.get(w.owner) is w:
                del s.receives[w.owner]
                _answer(w, self._take(s, s.subs[self.consumers[w.owner][1]], w))

    # ---- inside ---------------------------------------------------------------------------
    @staticmethod
    def _full(s: Stream) -> StreamError:
        return StreamError(ErrorCode.ERR_GET_OPERATION_FAILED,
                           f"stream {s.name!r} is full ({s.used} of {s.max_size} bytes held for consumers that "
                           "have not acked them); the send timed out")

    def _producer_stream(self, producer_id: str) -> Stream:
        entry = self.producers.get(producer_id)
        if entry is None:
            raise StreamError(ErrorCode.ERR_FINALIZED, f"producer {producer_id} is closed")
        return self.streams[entry[0]]

    def _consumer_sub(self, consumer_id: str) -> tuple[Stream, _Sub]:
        entry = self.consumers.get(consumer_id)
        if entry is None:
            raise StreamError(ErrorCode.ERR_FINALIZED, f"consumer {consumer_id} is closed")
        s = self.streams[entry[0]]
        return s, s.subs[entry[1]]

    def _arm(self, w: _Waiter, now: float) -> None:
        if w.deadline != math.inf:
            self._seq += 1
            heapq.heappush(self._deadlines, (w.deadline, self._seq, w))

    @staticmethod
    def _available(s: Stream, sub: _Sub) -> int:
        return s.next_id - sub.cursor

    def _take(self, s: Stream, sub: _Sub, w: _Waiter) -> list:
        out, size = [], 0
        i = sub.cursor - s.first_id()
        want = w.expect if w.expect is not None else len(s.elements)
        while i < len(s.elements) and len(out) < want:
            eid, data = s.elements[i]
            if out and size + len(data) > w.max_bytes:
                break
            out.append((eid, data))
            size += len(data)
            i += 1
        if out:
            sub.cursor = out[-1][0] + 1
        return out

    def _admit(self, s: Stream) -> None:
        """Accepts waiting sends, oldest first, while they fit."""
        accepted = False
        while s.sends and s.used + s.sends[0].size <= s.max_size:
            w = s.sends.popleft()
            for data in w.elements:
                s.elements.append((s.next_id, data))
                s.next_id += 1
                s.used += len(data)
            accepted = True
            _answer(w, s.next_id - 1)
        if accepted:
            self._release(s)
            self._feed(s)

    def _feed(self, s: Stream) -> None:
        for cid, w in list(s.receives.items()):
            sub = s.subs[self.consumers[cid][1]]
            if self._available(s, sub) >= (w.expect or 1):
                del s.receives[cid]
                _answer(w, self._take(s, sub, w))

    def _release(self, s: Stream) -> None:
        """Frees what no subscription needs any more, then lets waiting sends in."""
        if s.subs_made < s.retain:
            return   # kept for the consumers still to come
        floor = min((sub.acked for sub in s.subs.values()), default=s.next_id - 1)
        freed = False
        while s.elements and s.elements[0][0] <= floor:
            s.used -= len(s.elements.popleft()[1])
            freed = True
        if freed and s.sends:
            self._admit(s)

    def _maybe_clean(self, s: Stream) -> None:
        if s.auto_clean_up and not s.producers and not s.subs and self.streams.get(s.name) is s:
            del self.streams[s.name]


def _answer(w: _Waiter, result) -> None:
    if not w.waiter.done():
        w.waiter.set_result(result)
