"""A joined node's side of its `NodeSession` stream to the master.

`Uplink` is the NodeEvents the node's `Agent` reports to: each report becomes one NodeUp
message. `serve` registers the node, then carries out the master's requests (NodeDown) on the
agent until the stream ends, which ends the node: a node without its master stops its
workers (the master has declared its instances DEAD by then). Only translation here.
"""
from __future__ import annotations

import asyncio
import logging

import grpc

from yr_runtime.node.agent import Agent
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.proto import control_pb2_grpc as pbg
from yr_runtime.services import tls as tls_creds
from yr_runtime.services.nodes import from_assign_pb
from yr_runtime.wire import tls

log = logging.getLogger("yr.uplink")
REGISTER_TIMEOUT = 15.0


class JoinError(RuntimeError):
    """The master refused the node, or could not be reached."""


class Uplink:
    """NodeEvents of a joined node: every report is a NodeUp message on its stream."""

    def __init__(self):
        self.outbox: asyncio.Queue = asyncio.Queue()

    def worker_assigned(self, instance_id: str, worker_id: str, pid: int, endpoint: str) -> None:
        self.outbox.put_nowait(pb.NodeUp(worker_assigned=pb.WorkerAssigned(
            instance_id=instance_id, worker_id=worker_id, pid=pid, endpoint=endpoint)))

    def worker_exited(self, instance_id: str, worker_id: str, reason: str) -> None:
        self.outbox.put_nowait(pb.NodeUp(worker_exited=pb.WorkerExited(
            instance_id=instance_id, worker_id=worker_id, reason=reason)))

    def initialized(self, instance_id: str, error: str | None) -> None:
        self.outbox.put_nowait(pb.NodeUp(initialized=pb.InstanceInitialized(
            instance_id=instance_id, failed=error is not None, error=error or "")))

    def blocked(self, instance_id: str, is_blocked: bool) -> None:
        self.outbox.put_nowait(pb.NodeUp(blocked=pb.InstanceBlocked(instance_id=instance_id, blocked=is_blocked)))

    def state_saved(self, instance_id: str, data: bytes) -> None:
        self.outbox.put_nowait(pb.NodeUp(state_saved=pb.StateSaved(instance_id=instance_id, data=data)))

    def log(self, job_id: str, label: str, lines: list[str]) -> None:
        self.outbox.put_nowait(pb.NodeUp(log=pb.NodeLog(job_id=job_id, label=label, lines=lines)))

    def status(self, warm_workers: int) -> None:
        self.outbox.put_nowait(pb.NodeUp(status=pb.NodeStatus(warm_workers=warm_workers)))


def _carry_out(agent: Agent, down: pb.NodeDown) -> bool:
    """One request of the master, carried out on the agent; False: the master says stop."""
    kind = down.WhichOneof("kind")
    if kind == "start_worker":
        agent.start_worker(from_assign_pb(down.start_worker))
    elif kind == "stop_worker":
        agent.stop_worker(down.stop_worker.instance_id, down.stop_worker.worker_id)
    elif kind == "free_job":
        agent.free_job(down.free_job.job_id)
    elif kind == "forget_state":
        agent.forget_state(down.forget_state.instance_id)
    elif kind == "shutdown":
        return False
    return True


async def _diagnose(master_address: str, identity) -> str:
    """Why the master could not be reached (TLS expected or not, a certificate refused), or ''."""
    host, _, port = master_address.rpartition(":")
    return await asyncio.to_thread(tls.diagnose, host.strip("[]"), int(port), identity)


async def serve(agent: Agent, uplink: Uplink, master_address: str, token: bytes,
                register: pb.Register, on_registered, identity: tls.Identity | None = None) -> str:
    """Registers the node with the master, calls `on_registered()`, then relays until the
    stream ends; returns why it ended. Raises JoinError if the master refuses the node.
    With `identity` the channel is mutual TLS (the master's port requires it then)."""
    options = [("grpc.max_receive_message_length", 512 << 20), ("grpc.max_send_message_length", 512 << 20),
               ("grpc.enable_retries", 0)]
    channel = (grpc.aio.secure_channel(master_address, tls_creds.channel_credentials(identity),
                                       options + tls_creds.CHANNEL_OPTIONS)
               if identity else grpc.aio.insecure_channel(master_address, options))

    async def ups():
        yield pb.NodeUp(register=register)
        while True:
            up = await uplink.outbox.get()
            if up is None:
                return
            yield up
    try:
        call = pbg.MasterStub(channel).NodeSession(ups(), metadata=(("yr-token", token.decode()),))
        try:
            first = await asyncio.wait_for(call.read(), REGISTER_TIMEOUT)
        except asyncio.TimeoutError:
            raise JoinError(f"the master at {master_address} did not answer within {REGISTER_TIMEOUT:g}s") from None
        except grpc.aio.AioRpcError as e:
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                why = await _diagnose(master_address, identity)
                raise JoinError(f"cannot reach a yr master at {master_address}: {why or e.details()}") from None
            raise JoinError(f"the master at {master_address} refused this node: {e.details()}") from None
        if first is grpc.aio.EOF or first.WhichOneof("kind") != "registered":
            raise JoinError(f"the master at {master_address} did not accept the registration")
        on_registered(first.registered)
        try:
            while (down := await call.read()) is not grpc.aio.EOF:   # (read(), not `async for`: not both)
                if not _carry_out(agent, down):
                    return "the master asked it to stop"
        except grpc.aio.AioRpcError as e:
            return f"its master at {master_address} is gone ({e.code().name}: {e.details()})"
        return f"its master at {master_address} ended the stream"
    finally:
        uplink.outbox.put_nowait(None)
        await channel.close()
