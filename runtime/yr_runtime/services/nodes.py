"""The master's side of joined nodes: the `NodeSession` stream and `RemoteNodeLink`.

A node on another daemon (`yr start --master_address`) opens one NodeSession stream: it
registers first (id, protocol version, resources, labels, host), then reports its
NodeEvents; the master answers `Registered` and sends the NodeLink requests on the same
stream. `RemoteNodeLink` is the NodeLink of such a node: each call is one message queued on
the stream, so it never blocks. The stream's end is the node's end: the master removes the
node and its instances become DEAD naming it. Only translation here: the master decides.
"""
from __future__ import annotations

import asyncio
import itertools
import logging

import msgpack

import grpc

from yr_runtime.core.resources import Resources
from yr_runtime.master import Master
from yr_runtime.node.link import NodeStatus
from yr_runtime.node.logs import LogRead
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.wire import messages as m
from yr_runtime.wire.handshake import PROTOCOL_VERSION

log = logging.getLogger("yr.nodes")


def to_assign_pb(a: m.Assign) -> pb.AssignWorker:
    return pb.AssignWorker(instance_id=a.instance_id, job_id=a.job_id, language=a.language,
                           class_name=a.class_name, code=a.code, concurrency=a.concurrency,
                           driver_env=a.driver_env, executable=a.executable,
                           recover_retry_times=a.recover_retry_times,
                           has_state=a.state is not None, state=a.state or b"")


def from_assign_pb(p: pb.AssignWorker) -> m.Assign:
    return m.Assign(instance_id=p.instance_id, job_id=p.job_id, language=p.language,
                    class_name=p.class_name, code=p.code, concurrency=p.concurrency,
                    driver_env=p.driver_env, executable=p.executable,
                    recover_retry_times=p.recover_retry_times, state=p.state if p.has_state else None)


def from_resources(r: pb.Resources) -> Resources:
    return Resources(int(r.cpu_millis), int(r.memory_mib), dict(r.custom))


class RemoteNodeLink:
    """The NodeLink of a joined node: every request is a NodeDown message on its stream."""

    def __init__(self, node_id: str, host: str, labels: dict, session_dir: str):
        self.node_id, self.host, self.labels, self.session_dir = node_id, host, labels, session_dir
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.warm = 0   # as the node last reported
        self.log_reads: dict[int, object] = {}   # request id -> reply, for ReadLog answers
        self._ids = itertools.count(1)

    def start_worker(self, assign: m.Assign) -> None:
        self.outbox.put_nowait(pb.NodeDown(start_worker=to_assign_pb(assign)))

    def stop_worker(self, instance_id: str, worker_id: str) -> None:
        self.outbox.put_nowait(pb.NodeDown(stop_worker=pb.StopWorker(instance_id=instance_id, worker_id=worker_id)))

    def free_job(self, job_id: str) -> None:
        self.outbox.put_nowait(pb.NodeDown(free_job=pb.FreeJob(job_id=job_id)))

    def forget_state(self, instance_id: str) -> None:
        self.outbox.put_nowait(pb.NodeDown(forget_state=pb.ForgetState(instance_id=instance_id)))

    def status(self) -> NodeStatus:
        return NodeStatus(self.node_id, self.warm)

    def read_log(self, instance_id: str, offset: int, tail_lines: int, max_bytes: int, reply) -> None:
        rid = next(self._ids)
        self.log_reads[rid] = reply   # the caller bounds its wait and drops the entry (forget_read)
        self.outbox.put_nowait(pb.NodeDown(read_log=pb.ReadLog(
            request_id=rid, instance_id=instance_id, offset=offset, tail_lines=tail_lines, max_bytes=max_bytes)))

    def forget_read(self, reply) -> None:
        for rid, r in list(self.log_reads.items()):
            if r is reply:
                del self.log_reads[rid]

    async def shutdown(self) -> None:
        """Asks the node to stop; its stream's end then removes it."""
        self.outbox.put_nowait(pb.NodeDown(shutdown=pb.NodeShutdown(reason="the master stops")))
        self.outbox.put_nowait(None)


def deliver(master: Master, link: RemoteNodeLink, up: pb.NodeUp) -> None:
    """One report of a joined node, told to the master as the NodeEvents call it stands for."""
    kind = up.WhichOneof("kind")
    if kind == "worker_assigned":
        e = up.worker_assigned
        master.worker_assigned(e.instance_id, e.worker_id, e.pid, e.endpoint)
    elif kind == "worker_exited":
        e = up.worker_exited
        master.worker_exited(e.instance_id, e.worker_id, e.reason)
    elif kind == "initialized":
        e = up.initialized
        master.initialized(e.instance_id, e.error if e.failed else None)
    elif kind == "blocked":
        master.blocked(up.blocked.instance_id, up.blocked.blocked)
    elif kind == "state_saved":
        master.state_saved(up.state_saved.instance_id, up.state_saved.data)
    elif kind == "log":
        master.log(up.log.job_id, up.log.label, list(up.log.lines))
    elif kind == "status":
        link.warm = up.status.warm_workers
    elif kind == "log_chunk":
        reply = link.log_reads.pop(up.log_chunk.request_id, None)
        if reply is not None:
            c = up.log_chunk
            reply(LogRead(c.data, c.next_offset, c.found))
    elif kind == "metrics":
        master.node_metrics(link.node_id, msgpack.unpackb(up.metrics.report, raw=False, strict_map_key=False))
    else:
        log.warning("node %s sent an unexpected %s", link.node_id, kind)


async def node_session(master: Master, master_session_dir: str, request_iterator, context):
    """The NodeSession handler: register, then relay both ways until either end stops."""
    requests = request_iterator.__aiter__()
    try:
        first = await requests.__anext__()
    except StopAsyncIteration:
        return
    if first.WhichOneof("kind") != "register":
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a node must register first")
    reg = first.register
    if reg.protocol_version != PROTOCOL_VERSION:
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                            f"node {reg.node_id!r} speaks yr node protocol version {reg.protocol_version}, "
                            f"this master speaks version {PROTOCOL_VERSION}: run the same yr release on both")
    if not reg.node_id or reg.node_id in master.links:
        await context.abort(grpc.StatusCode.ALREADY_EXISTS,
                            f"a node with id {reg.node_id!r} is already in the cluster (or the id is empty)")
    link = RemoteNodeLink(reg.node_id, reg.address, dict(reg.labels), reg.session_dir)
    master.add_node(link, from_resources(reg.resources), dict(reg.labels))
    log.info("node %s joined from %s (%s)", reg.node_id, reg.address or "?", from_resources(reg.resources))
    reason = "its stream ended"

    async def pump() -> None:
        nonlocal reason
        try:
            async for up in requests:
                deliver(master, link, up)
        except Exception as e:   # a broken stream: the node is gone
            reason = f"its connection broke ({type(e).__name__})"
        link.outbox.put_nowait(None)
    reader = asyncio.get_running_loop().create_task(pump())
    try:
        yield pb.NodeDown(registered=pb.Registered(protocol_version=PROTOCOL_VERSION,
                                                   master_session_dir=master_session_dir))
        while True:
            down = await link.outbox.get()
            if down is None:
                return
            yield down
    finally:
        reader.cancel()
        master.remove_node(reg.node_id, f"its node {reg.node_id} was lost ({reason})")
        log.info("node %s left: %s", reg.node_id, reason)
