"""KV and stream calls to the master (docs/kv.md): values cut into chunks of at most CHUNK
bytes both ways (no gRPC message grows with a value), deadlines on every call, and gRPC
errors mapped to yr errors (grpc.RpcError never leaves this module).

A wait of `timeout` seconds (< 0: forever) is the master's; the call's own gRPC deadline is
that plus CONTROL_TIMEOUT, so a runtime that stops answering is noticed, and only a wait the
caller asked to be infinite has none."""
from __future__ import annotations

import grpc

from yr_runtime.proto import control_pb2 as pb

from ._control import CONTROL_TIMEOUT, MasterClient, map_error

CHUNK = 1 << 20
_BYTES_PER_S = 64 << 20   # a large value gets CONTROL_TIMEOUT more per this many bytes


def _deadline(timeout: float) -> float | None:
    return None if timeout < 0 else timeout + CONTROL_TIMEOUT


# ---- KV ------------------------------------------------------------------------------------
def kv_write(master: MasterClient, keys: list, values: list, existence: int, ttl: int, transaction: bool,
             what: str) -> None:
    """Writes values (bytes-like) under keys, every one or none."""
    views = [memoryview(v).cast("B") for v in values]
    sizes = [len(v) for v in views]

    def chunks():
        yield pb.KvWriteChunk(header=pb.KvWriteHeader(keys=keys, sizes=sizes, existence=existence,
                                                      ttl_second=ttl, transaction=transaction))
        for v in views:
            for at in range(0, len(v), CHUNK):
                yield pb.KvWriteChunk(data=bytes(v[at:at + CHUNK]))
    stub, md = master.rpc()
    try:
        stub.KvWrite(chunks(), timeout=CONTROL_TIMEOUT * (1 + sum(sizes) // _BYTES_PER_S), metadata=md)
    except grpc.RpcError as e:
        raise map_error(e, what) from None


def kv_read(master: MasterClient, keys: list, timeout: float, allow_partial: bool, what: str,
            offsets: list | None = None, sizes: list | None = None) -> list:
    """The values (bytes) of keys, None for a missing one when allow_partial."""
    stub, md = master.rpc()
    req = pb.KvReadRequest(keys=keys, timeout_s=timeout, allow_partial=allow_partial,
                           offsets=offsets or [], sizes=sizes or [])
    out: list = [None] * len(keys)
    parts: dict[int, list] = {}
    try:
        for chunk in stub.KvRead(req, timeout=_deadline(timeout), metadata=md):
            if chunk.found:
                parts.setdefault(chunk.index, []).append(chunk.data)
    except grpc.RpcError as e:
        raise map_error(e, what) from None
    for i, p in parts.items():
        out[i] = p[0] if len(p) == 1 else b"".join(p)
    return out


def kv_del(master: MasterClient, keys: list, what: str) -> list:
    stub, md = master.rpc()
    try:
        return list(stub.KvDel(pb.KvDelRequest(keys=keys), timeout=CONTROL_TIMEOUT, metadata=md).deleted)
    except grpc.RpcError as e:
        raise map_error(e, what) from None


# ---- streams -------------------------------------------------------------------------------
def _call(master: MasterClient, method: str, request, what: str, timeout: float | None = CONTROL_TIMEOUT):
    stub, md = master.rpc()
    try:
        return getattr(stub, method)(request, timeout=timeout, metadata=md)
    except grpc.RpcError as e:
        raise map_error(e, what) from None


def stream_open(master: MasterClient, what: str, **fields) -> None:
    _call(master, "StreamOpen", pb.StreamOpenRequest(**fields), what)


def stream_close(master: MasterClient, stream_id: str, producer: bool, what: str) -> None:
    _call(master, "StreamClose", pb.StreamCloseRequest(id=stream_id, producer=producer), what)


def stream_send(master: MasterClient, producer_id: str, elements: list, timeout: float, what: str) -> int:
    """Sends the elements (bytes) as one batch; waits up to `timeout` s (< 0: forever) for room."""
    req = pb.StreamSendRequest(id=producer_id, elements=elements, timeout_s=timeout)
    return _call(master, "StreamSend", req, what, _deadline(timeout)).last_id


def stream_receive(master: MasterClient, consumer_id: str, expect_num: int, timeout: float, what: str) -> list:
    """[(id, bytes)]: up to expect_num (0: what there is) elements, waiting up to `timeout` s."""
    req = pb.StreamReceiveRequest(id=consumer_id, expect_num=expect_num, timeout_s=timeout)
    return [(e.id, e.data) for e in _call(master, "StreamReceive", req, what, _deadline(timeout)).elements]


def stream_ack(master: MasterClient, consumer_id: str, element_id: int, what: str) -> None:
    _call(master, "StreamAck", pb.StreamAckRequest(id=consumer_id, element_id=element_id), what)


def stream_delete(master: MasterClient, name: str, what: str) -> None:
    _call(master, "StreamDelete", pb.StreamQuery(stream=name), what)


def stream_counts(master: MasterClient, name: str, what: str) -> tuple[int, int]:
    c = _call(master, "StreamCounts", pb.StreamQuery(stream=name), what)
    return c.producers, c.consumers
