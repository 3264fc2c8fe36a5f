"""A joined node's side of its `NodeSession` stream to the master.

`Uplink` is the NodeEvents the node's `Agent` reports to: each report becomes one NodeUp
message. `serve` registers the node, then carries out the master's requests (NodeDown) on the
agent. A node with nothing to say sends a Heartbeat every third of its lease, which the
master renews on every message. When the stream breaks (the master died, restarts, or the
network failed) the node keeps its workers running and registers again (`again`, with the
workers it runs) every RECONNECT seconds; only when it has been without its master for
longer than its lease (the master has moved its instances elsewhere by then) does `serve`
return, and the node stops its workers. The master telling it to stop ends it at once; a
node that stops (`leave`) ends its stream, so the master removes it without waiting for
the lease. Only translation here.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Callable

import msgpack

import grpc

from yr_runtime.core.liveness import OwnLease
from yr_runtime.node.agent import Agent
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.proto import control_pb2_grpc as pbg
from yr_runtime.services import tls as tls_creds
from yr_runtime.services.nodes import from_assign_pb
from yr_runtime.wire import masters, tls

log = logging.getLogger("yr.uplink")
REGISTER_TIMEOUT = 15.0
RECONNECT = 0.5   # seconds between attempts to register again
_ABANDONED: list = []   # channels of streams cut off by the node's own lease (see _session)


class JoinError(RuntimeError):
    """The master refused the node, or could not be reached."""


class Uplink:
    """NodeEvents of a joined node: every report is a NodeUp message on its stream."""

    def __init__(self):
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.leaving = False
        self.saves = Saves()

    def leave(self) -> None:
        """The node stops: its stream ends after the reports queued so far."""
        self.leaving = True
        self.outbox.put_nowait(pb.NodeUp(heartbeat=pb.Heartbeat(leaving=True)))
        self.outbox.put_nowait(None)

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

    def state_saved(self, instance_id: str, data: bytes, stored=None) -> None:
        seq = self.saves.saved(instance_id, data, stored)
        self.outbox.put_nowait(pb.NodeUp(state_saved=pb.StateSaved(instance_id=instance_id, data=data, seq=seq)))

    def new_stream(self) -> None:
        """A new stream is opening: the unconfirmed states go first (the latest of each
        instance; the older saves still queued are dropped, so none overtakes a newer one)."""
        queued = []
        while not self.outbox.empty():
            up = self.outbox.get_nowait()
            if up is None or up.WhichOneof("kind") != "state_saved":
                queued.append(up)
        for up in self.saves.resend() + queued:
            self.outbox.put_nowait(up)

    def log(self, job_id: str, label: str, lines: list[str]) -> None:
        self.outbox.put_nowait(pb.NodeUp(log=pb.NodeLog(job_id=job_id, label=label, lines=lines)))

    def status(self, warm_workers: int) -> None:
        self.outbox.put_nowait(pb.NodeUp(status=pb.NodeStatus(warm_workers=warm_workers)))

    def metrics(self, report: dict) -> None:
        self.outbox.put_nowait(pb.NodeUp(metrics=pb.NodeMetrics(report=msgpack.packb(report, use_bin_type=True))))

    def log_chunk(self, request_id: int, read) -> None:
        self.outbox.put_nowait(pb.NodeUp(log_chunk=pb.LogChunk(
            request_id=request_id, data=read.data, next_offset=read.next_offset, found=read.found)))


class Saves:
    """The saved states the master has not confirmed yet, and the saves waiting for it.

    A worker's yr.save_state() returns when the master holds the state (`StateStored`), so
    a call acknowledged after it is not lost with this node. While the node has no stream
    to its master (it broke, the master restarts) the saves return at once instead (the
    state is in this node's store: calls go on without their master) and the latest state of
    each instance is sent again first thing on the next stream."""

    def __init__(self):
        self.seqs = itertools.count(1)
        self.latest: dict[str, tuple[int, bytes]] = {}              # instance -> (seq, data) unconfirmed
        self.waiting: dict[str, list[tuple[int, Callable]]] = {}     # instance -> saves waiting
        self.connected = False

    def saved(self, instance_id: str, data: bytes, stored) -> int:
        seq = next(self.seqs)
        self.latest[instance_id] = (seq, data)
        if stored is not None:
            if self.connected:
                self.waiting.setdefault(instance_id, []).append((seq, stored))
            else:
                stored()
        return seq

    def stored(self, instance_id: str, seq: int) -> None:
        """The master holds the state saved as `seq`: it and the earlier saves are done."""
        if self.latest.get(instance_id, (seq + 1,))[0] <= seq:
            del self.latest[instance_id]
        waiting = self.waiting.pop(instance_id, [])
        for s, done in waiting:
            if s <= seq:
                done()
        if later := [w for w in waiting if w[0] > seq]:
            self.waiting[instance_id] = later

    def resend(self) -> list:
        """The unconfirmed states, the latest of each instance, to send first on a new stream."""
        return [pb.NodeUp(state_saved=pb.StateSaved(instance_id=i, data=d, seq=s)) for i, (s, d) in self.latest.items()]

    def down(self, fenced: bool = False) -> None:
        """The stream ended: the waiting saves return (their state stays in this node's store),
        unless the node fenced itself (its lease is gone, its workers stop): then they never
        do, so no call is acknowledged whose state the master may not have."""
        self.connected = False
        waiting, self.waiting = self.waiting, {}
        for saves in waiting.values():
            for _, done in saves:
                if not fenced:
                    done()


def _carry_out(agent: Agent, down: pb.NodeDown, uplink: "Uplink | None" = None) -> bool:
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
    elif kind == "state_stored" and uplink is not None:
        uplink.saves.stored(down.state_stored.instance_id, down.state_stored.seq)
    elif kind == "read_log" and uplink is not None:
        r = down.read_log
        agent.read_log(r.instance_id, r.offset, r.tail_lines, r.max_bytes,
                       lambda read: uplink.log_chunk(r.request_id, read))
    elif kind == "shutdown":
        return False
    return True


async def _diagnose(master_address: str, identity) -> str:
    """Why the master could not be reached (TLS expected or not, a certificate refused), or ''."""
    host, _, port = masters.first(master_address).rpartition(":")
    return await asyncio.to_thread(tls.diagnose, host.strip("[]"), int(port), identity)


async def _refusal(channel, token: bytes, error: grpc.aio.AioRpcError) -> str:
    """What the master said when it refused the node's stream. A refusal that races the
    stream's first write can reach this side as INTERNAL "Internal error from Core" instead
    of the master's status (grpc/grpc#36066), so the master is asked again by a unary call
    with the same token, whose status is never lost that way."""
    if error.code() != grpc.StatusCode.INTERNAL:
        return error.details()
    try:
        await pbg.MasterStub(channel).Status(pb.StatusRequest(), metadata=(("yr-token", token.decode()),),
                                             timeout=REGISTER_TIMEOUT)
    except grpc.aio.AioRpcError as again:
        if again.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL):
            return again.details()
    except Exception:   # noqa: BLE001 - only a better message was sought
        pass
    return error.details()


class _Broken(Exception):
    """The stream to the master broke (or the master could not be reached): try again."""


async def serve(agent: Agent, uplink: Uplink, master_address: str, token: bytes,
                register: pb.Register, on_registered, identity: tls.Identity | None = None) -> str:
    """Registers the node with the master, calls `on_registered()`, then relays (registering
    again after a broken stream, within the lease) until the node must stop; returns why.
    Raises JoinError if the master refuses the node or cannot be reached at first.
    With `identity` the channel is mutual TLS (the master's port requires it then)."""
    loop = asyncio.get_running_loop()
    try:
        return await _session(agent, uplink, master_address, token, register, on_registered, False, identity)
    except _Broken as e:
        raise JoinError(str(e)) from None
    except _Registered as r:   # registered, then the stream broke
        ttl, reason = r.ttl, r.reason
    if uplink.leaving:
        return "it stopped"
    broke = loop.time()
    log.warning("%s; registering again (this node stops if that fails for %gs, its lease)", reason, ttl)
    while loop.time() - broke < ttl:
        await asyncio.sleep(RECONNECT)
        try:
            return await _session(agent, uplink, master_address, token, _again(register, agent),
                                  lambda reg: None, True, identity)
        except _Broken as e:
            reason = str(e)
        except _Registered as r:   # it was back, and broke again: a new lease from now
            ttl, broke, reason = r.ttl, loop.time(), r.reason
            log.warning("%s; registering again", reason)
        if uplink.leaving:
            return "it stopped"
    return f"{reason}; it did not get back to its master within its lease ({ttl:g}s)"


class _LeaseBox:
    """One stream's own lease (set once registered) and whether the fence cut the stream."""

    def __init__(self):
        self.own: OwnLease | None = None
        self.ready = asyncio.Event()
        self.cut_off = False


async def _ups(uplink: Uplink, register: pb.Register, lease: _LeaseBox):
    """The node's side of a stream: the registration, then its reports, and a heartbeat
    every third of its lease whatever else it sends (the master's answers keep its own view
    of its lease: `OwnLease`)."""
    yield pb.NodeUp(register=register)
    await lease.ready.wait()
    loop = asyncio.get_running_loop()
    beat = lease.own.ttl / 3
    next_beat = loop.time()
    while True:
        now = loop.time()
        if now >= next_beat:
            next_beat = now + beat
            yield pb.NodeUp(heartbeat=pb.Heartbeat(seq=lease.own.heartbeat(now)))
            continue
        try:
            up = await asyncio.wait_for(uplink.outbox.get(), next_beat - now)
        except asyncio.TimeoutError:
            continue
        if up is None:
            return
        yield up


async def _relay(agent: Agent, uplink: Uplink, call, lease: _LeaseBox) -> str | None:
    """Carries out the master's requests until the stream ends (None) or the master says
    stop (why); raises grpc.aio.AioRpcError if the stream broke."""
    while (down := await call.read()) is not grpc.aio.EOF:   # (read(), not `async for`: not both)
        if down.WhichOneof("kind") == "lease_renewed":
            lease.own.answered(down.lease_renewed.seq)
        elif not _carry_out(agent, down, uplink):
            return f"the master asked it to stop ({down.shutdown.reason})"
    return None


async def _fence(lease: _LeaseBox) -> None:
    """Ends the stream when the node's own lease is gone (its master stopped answering: a
    partition, a hung master): the node then stops its workers, before the master, which
    holds the lease no longer than the node thinks, restarts them elsewhere."""
    loop = asyncio.get_running_loop()
    while not lease.own.expired(loop.time()):
        await asyncio.sleep(max(0.05, lease.own.deadline - loop.time()))
    lease.cut_off = True


class _Registered(Exception):
    """A session registered, then its stream broke: `ttl` is the lease the master gave."""

    def __init__(self, ttl: float, reason: str):
        super().__init__(reason)
        self.ttl, self.reason = ttl, reason


def _again(register: pb.Register, agent: Agent) -> pb.Register:
    """The registration of a node that registers again: the workers it runs, for reconciling."""
    again = pb.Register()
    again.CopyFrom(register)
    again.again = True
    del again.running[:]
    again.running.extend(pb.RunningWorker(instance_id=w.instance_id, worker_id=w.id, pid=w.pid, endpoint=w.endpoint,
                                          ready=w.ready) for w in agent.running())
    return again


async def _session(agent: Agent, uplink: Uplink, master_address: str, token: bytes, register: pb.Register,
                   on_registered, again: bool, identity) -> str:
    """One NodeSession stream: returns why the node must stop; raises JoinError (refused),
    _Broken (not registered) or _Registered (registered, then broken)."""
    options = [("grpc.max_receive_message_length", 512 << 20), ("grpc.max_send_message_length", 512 << 20),
               ("grpc.enable_retries", 0)]
    target = masters.target(master_address)   # several masters: whichever leads (wire/masters.py)
    channel = (grpc.aio.secure_channel(target, tls_creds.channel_credentials(identity),
                                       options + tls_creds.CHANNEL_OPTIONS)
               if identity else grpc.aio.insecure_channel(target, options))
    call = fence = relay = None
    loop = asyncio.get_running_loop()
    started, lease = loop.time(), _LeaseBox()
    uplink.new_stream()
    try:
        call = pbg.MasterStub(channel).NodeSession(_ups(uplink, register, lease), metadata=(("yr-token", token.decode()),))
        try:
            first = await asyncio.wait_for(call.read(), REGISTER_TIMEOUT)
        except asyncio.TimeoutError:
            raise _Broken(f"the master at {master_address} did not answer within {REGISTER_TIMEOUT:g}s") from None
        except grpc.aio.AioRpcError as e:
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                why = await _diagnose(master_address, identity)
                raise _Broken(f"cannot reach a yr master at {master_address}: {why or e.details()}") from None
            why = await _refusal(channel, token, e)
            raise JoinError(f"the master at {master_address} refused this node: {why}") from None
        if first is grpc.aio.EOF or first.WhichOneof("kind") != "registered":
            raise JoinError(f"the master at {master_address} did not accept the registration")
        ttl = first.registered.lease_ttl_s or REGISTER_TIMEOUT
        lease.own = OwnLease(ttl, started)
        lease.ready.set()
        if again:
            log.warning("registered again with the master at %s", master_address)
        on_registered(first.registered)
        uplink.saves.connected = True
        # the stream is read in a task of its own, raced against the node's own lease: a
        # stream that says nothing (a partition) or is stuck on its full buffers never holds it
        fence = loop.create_task(_fence(lease))
        relay = loop.create_task(_relay(agent, uplink, call, lease))
        await asyncio.wait({fence, relay}, return_when=asyncio.FIRST_COMPLETED)
        if not relay.done():
            relay.cancel()
            return f"no answer from its master at {master_address} within its lease ({ttl:g}s)"
        try:
            stop = relay.result()
        except grpc.aio.AioRpcError as e:
            raise _Registered(ttl, f"its master at {master_address} is gone ({e.code().name}: {e.details()})") from None
        if stop is not None:
            return stop
        if uplink.leaving:
            return "it stopped"
        raise _Registered(ttl, f"its master at {master_address} ended the stream")
    finally:
        uplink.saves.down(fenced=lease.cut_off)
        for task in (fence, relay):
            if task is not None:
                task.cancel()
        if call is not None:
            call.cancel()
        if lease.cut_off:
            # A stream cut off with writes its peer never took: closing the last channel
            # shuts gRPC's poller down, which joins a thread that waits for those writes, on
            # the event loop: the node would hang before stopping its workers. Left open
            # (the node stops now; the process's exit ends it).
            _ABANDONED.append(channel)
        else:
            await channel.close()
