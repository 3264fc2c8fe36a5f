"""The observability RPCs (`List`, `ReadLog`), translated: protobuf in, the rows or the log
piece out. Shared by the gRPC servicer and the dashboard's web handlers (observe/web.py)."""
from __future__ import annotations

import asyncio
import json

import grpc

from yr_runtime.node.logs import LogRead
from yr_runtime.observe import state
from yr_runtime.proto import control_pb2 as pb

LOG_TIMEOUT = 5.0   # s: a node that does not answer a ReadLog within this fails the call


class LogError(LookupError):
    """The log cannot be read: unknown instance, its node is gone or did not answer."""


async def list_rows(master, request, context) -> pb.ListReply:
    try:
        rows = state.rows(master, request.kind)
        found, total = state.select(rows, dict(request.filters), request.limit, state.COLUMNS[request.kind])
    except state.ListError as e:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
    return pb.ListReply(rows=[json.dumps(r) for r in found], total=total)


async def read_log(master, request, context) -> pb.LogChunk:
    try:
        read, alive = await fetch_log(master, request.instance_id, request.offset, request.tail_lines,
                                      request.max_bytes, request.timeout_s or LOG_TIMEOUT)
    except LogError as e:
        await context.abort(grpc.StatusCode.NOT_FOUND, str(e))
    return pb.LogChunk(data=read.data, next_offset=read.next_offset, found=read.found, alive=alive)


async def fetch_log(master, instance_id: str, offset: int, tail_lines: int, max_bytes: int,
                    timeout: float = LOG_TIMEOUT) -> tuple[LogRead, bool]:
    """Asks the instance's node for a piece of its worker log (bounded by `timeout`); returns
    it and whether the instance is still alive. Raises LogError naming what is missing."""
    inst = master.cluster.instances.get(instance_id)
    if inst is None:
        raise LogError(f"there is no instance with id {instance_id} (or it died long ago and was forgotten)")
    link = master.links.get(inst.node_id)
    if link is None:
        raise LogError(f"instance {instance_id} ran on node {inst.node_id or '(none yet)'}, which is not in the "
                       "cluster now; its log stays in that node's session directory (logs/worker-*.log)")
    loop = asyncio.get_running_loop()
    answer = loop.create_future()

    def reply(read: LogRead) -> None:   # maybe from a node's stream, maybe at once
        if not answer.done():
            answer.set_result(read)
    link.read_log(instance_id, offset, tail_lines, max_bytes, reply)
    try:
        read = await asyncio.wait_for(answer, timeout)
    except asyncio.TimeoutError:
        raise LogError(f"node {inst.node_id} did not send the log of {instance_id} within {timeout:g}s") from None
    finally:
        forget = getattr(link, "forget_read", None)   # a remote link keeps the pending reply
        if forget is not None:
            forget(reply)
    if not read.found:
        raise LogError(f"node {inst.node_id} has no log of instance {instance_id} (it never started a worker for it)")
    return read, inst.state != "DEAD"
