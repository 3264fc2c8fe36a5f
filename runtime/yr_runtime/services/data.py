"""The KV and stream RPCs of the Master service (docs/kv.md): translation only, protobuf in,
a call of the master's `kv` (core.kv.KVStore) or `streams` (core.streams.Streams), protobuf
out. Values travel in chunks of at most KV_CHUNK bytes, both ways, so no gRPC message grows
with a value. A wait (a read of a missing key, a send into a full stream, a receive) is an
asyncio future the core answers; its deadline is the core's (the master's tick expires it);
a caller that leaves (its call cancelled) has its wait forgotten."""
from __future__ import annotations

import asyncio
import math

import grpc

from yr_runtime.core.kv import KVError
from yr_runtime.core.streams import StreamError
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.wire.errors import ErrorCode, kind_metadata

KV_CHUNK = 1 << 20


async def _refuse(context, e: "KVError | StreamError") -> None:
    await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(e), kind_metadata(e.kind))


def _deadline(now: float, timeout_s: float) -> float:
    return math.inf if timeout_s < 0 else now + timeout_s


class DataServicer:
    """Mixed into MasterService (which holds the master as `self.m`)."""

    async def _wait(self, core, ask):
        """Registers a waiter with `ask(waiter)` and waits for the core's answer."""
        waiter = asyncio.get_running_loop().create_future()
        ask(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            core.forget(waiter)
            raise

    # ---- KV --------------------------------------------------------------------------------
    async def KvWrite(self, request_iterator, context):
        kv, header, parts = self.m.kv, None, []
        try:
            async for chunk in request_iterator:
                if header is None:
                    if not chunk.HasField("header"):
                        raise KVError(ErrorCode.ERR_PARAM_INVALID, "a KV write starts with its header")
                    header = chunk.header
                    if len(header.keys) != len(header.sizes) or any(n < 0 for n in header.sizes):
                        raise KVError(ErrorCode.ERR_PARAM_INVALID, "a KV write needs one size >= 0 per key")
                    kv.check_sizes(list(header.keys), list(header.sizes), header.existence)   # before the bytes
                    total = sum(header.sizes)
                    got = 0
                    continue
                got += len(chunk.data)
                if got > total:
                    raise KVError(ErrorCode.ERR_PARAM_INVALID, f"a KV write sent more than the {total} bytes announced")
                parts.append(chunk.data)
            if header is None:
                raise KVError(ErrorCode.ERR_PARAM_INVALID, "an empty KV write")
            if got != total:
                raise KVError(ErrorCode.ERR_PARAM_INVALID, f"a KV write announced {total} bytes and sent {got}")
            blob = b"".join(parts)
            parts.clear()
            values, at = [], 0
            for n in header.sizes:
                values.append(blob[at:at + n])
                at += n
            kv.m_write(list(header.keys), values, self.m.now(), header.existence, int(header.ttl_second))
        except KVError as e:
            await _refuse(context, e)
        return pb.KvWriteReply()

    async def KvRead(self, request, context):
        keys = list(request.keys)
        n = len(keys)
        if request.offsets and (len(request.offsets) != n or len(request.sizes) != n):
            await _refuse(context, KVError(ErrorCode.ERR_PARAM_INVALID, "one offset and one size per key"))
        now = self.m.now()
        try:
            answer = await self._wait(self.m.kv, lambda w: self.m.kv.read(
                keys, w, now, _deadline(now, request.timeout_s), request.allow_partial))
        except KVError as e:
            await _refuse(context, e)
        if isinstance(answer, KVError):
            await _refuse(context, answer)
        for i, value in enumerate(answer):
            if value is None:
                yield pb.KvReadChunk(index=i, found=False)
                continue
            if request.offsets:
                try:
                    value = _slice(keys[i], value, request.offsets[i], request.sizes[i])
                except KVError as e:
                    await _refuse(context, e)
            view = memoryview(value)
            at = 0
            while True:
                yield pb.KvReadChunk(index=i, found=True, size=len(value), data=bytes(view[at:at + KV_CHUNK]))
                at += KV_CHUNK
                if at >= len(value):
                    break

    async def KvDel(self, request, context):
        try:
            return pb.KvDelReply(deleted=self.m.kv.delete(list(request.keys), self.m.now()))
        except KVError as e:
            await _refuse(context, e)

    # ---- streams ---------------------------------------------------------------------------
    async def StreamOpen(self, request, context):
        st = self.m.streams
        try:
            if request.producer:
                st.create_producer(request.id, request.job_id, request.stream, request.max_stream_size,
                                   request.retain_for_num_consumers, request.auto_clean_up)
            else:
                st.create_consumer(request.id, request.job_id, request.stream, request.subscription)
        except StreamError as e:
            await _refuse(context, e)
        return pb.StreamReply()

    async def StreamClose(self, request, context):
        (self.m.streams.close_producer if request.producer else self.m.streams.close_consumer)(request.id)
        return pb.StreamReply()

    async def StreamSend(self, request, context):
        st, now = self.m.streams, self.m.now()
        try:
            answer = await self._wait(st, lambda w: st.send(request.id, list(request.elements), w, now,
                                                            _deadline(now, request.timeout_s)))
        except StreamError as e:
            await _refuse(context, e)
        if isinstance(answer, StreamError):
            await _refuse(context, answer)
        return pb.StreamSendReply(last_id=answer)

    async def StreamReceive(self, request, context):
        st, now = self.m.streams, self.m.now()
        try:
            answer = await self._wait(st, lambda w: st.receive(request.id, request.expect_num or None, w, now,
                                                               _deadline(now, request.timeout_s)))
        except StreamError as e:
            await _refuse(context, e)
        if isinstance(answer, StreamError):
            await _refuse(context, answer)
        return pb.StreamReceiveReply(elements=[pb.StreamElement(id=i, data=d) for i, d in answer])

    async def StreamAck(self, request, context):
        try:
            self.m.streams.ack(request.id, request.element_id)
        except StreamError as e:
            await _refuse(context, e)
        return pb.StreamReply()

    async def StreamDelete(self, request, context):
        try:
            self.m.streams.delete(request.stream)
        except StreamError as e:
            await _refuse(context, e)
        return pb.StreamReply()

    async def StreamCounts(self, request, context):
        try:
            st = self.m.streams
            return pb.StreamCount(producers=st.producers_num(request.stream), consumers=st.consumers_num(request.stream))
        except StreamError as e:
            await _refuse(context, e)


def _slice(key: str, value: bytes, offset: int, size: int) -> bytes:
    """kv_get_with_param's GetParam: `size` bytes from `offset` (0: to the end)."""
    if offset < 0 or size < 0 or offset > len(value):
        raise KVError(ErrorCode.ERR_PARAM_INVALID, f"GetParam(offset={offset}, size={size}) is outside the "
                                                   f"{len(value)} bytes of KV key {key!r}")
    end = len(value) if size == 0 else min(len(value), offset + size)
    return value[offset:end]
