"""The master's side of joined nodes: the `NodeSession` stream and `RemoteNodeLink`.

A node on another daemon (`yr start --master_address`) opens one NodeSession stream: it
registers first (id, protocol version, resources, labels, host), then reports its
NodeEvents; the master answers `Registered` and sends the NodeLink requests on the same
stream. `RemoteNodeLink` is the NodeLink of such a node: each call is one message queued on
the stream, so it never blocks. Every message of the node renews its lease (it sends a
Heartbeat when it has nothing else to say). A stream the node ends (it stops) removes the
node at once; a stream that breaks leaves the node's fate to its lease: a node that
registers again (`again`, with the workers it runs) before the lease expires takes its
link back, queued requests and all, and is reconciled; one that does not is removed when
its lease expires (the master's tick). Only translation here: the master decides.
"""
from __future__ import annotations

import asyncio
import itertools
import logging

import msgpack

import grpc

from yr_runtime.core import cluster as core
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
                           has_state=a.state is not None, state=a.state or b"", epoch=a.epoch)


def from_assign_pb(p: pb.AssignWorker) -> m.Assign:
    return m.Assign(instance_id=p.instance_id, job_id=p.job_id, language=p.language,
                    class_name=p.class_name, code=p.code, concurrency=p.concurrency,
                    driver_env=p.driver_env, executable=p.executable,
                    recover_retry_times=p.recover_retry_times, state=p.state if p.has_state else None,
                    epoch=p.epoch)


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
        self.session = 0          # which NodeSession stream serves it (a newer one takes over)

    def take_over(self) -> asyncio.Queue:
        """A new stream serves the node: the requests not yet sent move to it; the old
        stream's sender ends. Returns the new stream's queue."""
        old, self.outbox = self.outbox, asyncio.Queue()
        while not old.empty():
            item = old.get_nowait()
            if item is not None:
                self.outbox.put_nowait(item)
        old.put_nowait(None)
        self.session += 1
        return self.outbox

    def lost(self) -> None:
        """Declared dead (no heartbeat): the node is told so and its stream ends."""
        self.outbox.put_nowait(pb.NodeDown(shutdown=pb.NodeShutdown(reason="the master declared this node dead "
                                                                          "(no heartbeat within its lease)")))
        self.outbox.put_nowait(None)

    def start_worker(self, assign: m.Assign) -> None:
        self.outbox.put_nowait(pb.NodeDown(start_worker=to_assign_pb(assign)))

    def stop_worker(self, instance_id: str, worker_id: str) -> None:
        self.outbox.put_nowait(pb.NodeDown(stop_worker=pb.StopWorker(instance_id=instance_id, worker_id=worker_id)))

    def free_job(self, job_id: str) -> None:
        self.outbox.put_nowait(pb.NodeDown(free_job=pb.FreeJob(job_id=job_id)))

    def state_stored(self, instance_id: str, seq: int) -> None:
        self.outbox.put_nowait(pb.NodeDown(state_stored=pb.StateStored(instance_id=instance_id, seq=seq)))

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
    alive = master.heartbeat(link.node_id)   # whatever it says, it is alive
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
        e = up.state_saved
        master.state_saved(e.instance_id, e.data, node_id=link.node_id)
        link.state_stored(e.instance_id, e.seq)
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
    elif kind == "heartbeat":
        if alive and up.heartbeat.seq:   # the node's own view of its lease (liveness.OwnLease)
            link.outbox.put_nowait(pb.NodeDown(lease_renewed=pb.LeaseRenewed(seq=up.heartbeat.seq)))
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
    known = master.links.get(reg.node_id)
    if not reg.node_id or (known is not None and not (reg.again and isinstance(known, RemoteNodeLink))):
        await context.abort(grpc.StatusCode.ALREADY_EXISTS,
                            f"a node with id {reg.node_id!r} is already in the cluster (or the id is empty)")
    link = known if known is not None else RemoteNodeLink(reg.node_id, reg.address, dict(reg.labels), reg.session_dir)
    outbox = link.take_over()
    mine = link.session
    running = [core.Running(r.instance_id, r.worker_id, r.pid, r.endpoint, r.ready) for r in reg.running] \
        if reg.again else None
    master.add_node(link, from_resources(reg.resources), dict(reg.labels), leased=True, running=running,
                    info={"host": reg.address, "labels": dict(reg.labels), "pid": reg.pid,
                          "protocol_version": reg.protocol_version})
    log.info("node %s %s from %s (%s)", reg.node_id, "registered again" if reg.again else "joined",
             reg.address or "?", from_resources(reg.resources))
    reason, left = "its stream ended", False

    async def pump() -> None:
        nonlocal reason, left
        try:
            async for up in requests:
                deliver(master, link, up)
                left = left or (up.WhichOneof("kind") == "heartbeat" and up.heartbeat.leaving)
            reason = "it stopped" if left else "its stream ended without a goodbye"
        except Exception as e:   # a broken stream: the node may come back within its lease
            reason = f"its connection broke ({type(e).__name__})"
        outbox.put_nowait(None)
    reader = asyncio.get_running_loop().create_task(pump())
    try:
        yield pb.NodeDown(registered=pb.Registered(protocol_version=PROTOCOL_VERSION,
                                                   master_session_dir=master_session_dir,
                                                   lease_ttl_s=master.leases.ttl))
        while True:
            down = await outbox.get()
            if down is None:
                return
            yield down
    finally:
        reader.cancel()
        if link.session == mine and master.links.get(reg.node_id) is link:
            if left or not master.leases.holds(reg.node_id):
                master.remove_node(reg.node_id, f"its node {reg.node_id} was lost ({reason})")
                log.info("node %s left: %s", reg.node_id, reason)
            else:
                master.disconnected(reg.node_id)
                log.warning("node %s: %s; it has %gs (its lease) to register again", reg.node_id, reason,
                            master.leases.ttl)
