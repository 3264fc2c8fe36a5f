"""The Master gRPC service. Handlers translate only: protobuf in, a call of the `Master`
(yr_runtime.master, which owns the state); its answer, protobuf out."""
from __future__ import annotations

import asyncio
import hmac

import grpc

from yr_runtime.core import placement
from yr_runtime.core.cluster import CoreError, Instance
from yr_runtime.master import LogLines, Master
from yr_runtime.core.resources import ResourceError, Resources, validate_request
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.proto import control_pb2_grpc as pbg
from yr_runtime.services import data, groups, nodes
from yr_runtime.services import observe as observe_rpc
from yr_runtime.wire import handshake, messages as m
from yr_runtime.wire.errors import ErrorCode, kind_metadata

LANGUAGES = ("python", "cpp", "java")


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """Refuses every call that does not carry this session's token, before its handler runs."""

    def __init__(self, token: bytes):
        self._token = token.decode()

        async def deny(request, context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong yr session token")
        # Stream-request handlers: gRPC reads no request message for them, so an
        # unauthenticated call is refused before its body (up to 512 MiB) is buffered.
        self._deny_unary = grpc.stream_unary_rpc_method_handler(deny)
        self._deny_stream = grpc.stream_stream_rpc_method_handler(deny)

    async def intercept_service(self, continuation, details):
        md = dict(details.invocation_metadata or ())
        streamed = details.method.endswith(("/Session", "/NodeSession"))
        if not hmac.compare_digest(md.get("yr-token", ""), self._token):
            return self._deny_stream if streamed else self._deny_unary
        version = md.get("yr-protocol", str(handshake.PROTOCOL_VERSION))   # sent by every SDK client
        if version != str(handshake.PROTOCOL_VERSION):
            return _refuse_version(version, streamed)
        return await continuation(details)


def _refuse_version(version: str, streamed: bool):
    """A handler refusing a client of another protocol version, naming both (before any handler runs)."""
    async def deny(request, context):
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                            f"this client speaks yr protocol version {version[:20]}, this master speaks version "
                            f"{handshake.PROTOCOL_VERSION}: run the same yr release on both")
    return grpc.stream_stream_rpc_method_handler(deny) if streamed else grpc.stream_unary_rpc_method_handler(deny)


async def refuse(context, error: CoreError) -> None:
    """Ends the call with the core's answer: its kind in the trailing metadata (the caller maps
    that to its error), its message as the details. The gRPC status is deliberately coarse:
    the kind says what went wrong; a status of its own would be a second table to keep."""
    await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error), kind_metadata(error.kind))


def to_resources(r: Resources) -> pb.Resources:
    return pb.Resources(cpu_millis=r.cpu, memory_mib=r.memory, custom=r.custom)


def to_info(inst: Instance) -> pb.InstanceInfo:
    return pb.InstanceInfo(
        instance_id=inst.id, name=inst.name, namespace=inst.namespace, state=inst.state,
        endpoint=inst.endpoint, class_name=inst.class_name, pid=inst.pid, job_id=inst.job_id,
        node_id=inst.node_id, exit_reason=inst.exit_reason, resources=to_resources(inst.resources),
        language=inst.language, restarts=inst.restarts, detached=inst.detached, hidden=inst.hidden,
        recover_retry_times=inst.recover_retry_times, epoch=inst.epoch)


def instance_from_spec(spec: pb.InstanceSpec, now: float) -> Instance:
    if not spec.instance_id or len(spec.instance_id) > 200:
        raise CoreError(ErrorCode.ERR_PARAM_INVALID, "instance_id must be a non-empty string of at most 200 characters")
    if spec.language not in LANGUAGES:
        raise CoreError(ErrorCode.ERR_PARAM_INVALID,
                        f"unknown language {spec.language!r} (expected one of {', '.join(LANGUAGES)})")
    if not 1 <= spec.concurrency <= 1000:
        raise CoreError(ErrorCode.ERR_PARAM_INVALID, f"concurrency must be in [1, 1000], got {spec.concurrency}")
    if spec.recover_retry_times < 0:
        raise CoreError(ErrorCode.ERR_PARAM_INVALID, "recover_retry_times must be >= 0")
    try:
        res = validate_request(spec.resources.cpu_millis, spec.resources.memory_mib, dict(spec.resources.custom))
    except ResourceError as e:
        raise CoreError(ErrorCode.ERR_PARAM_INVALID, str(e)) from None
    deadline = None if spec.schedule_timeout_ms < 0 else now + spec.schedule_timeout_ms / 1000
    payload = m.Assign(instance_id=spec.instance_id, job_id=spec.job_id, language=spec.language,
                       class_name=spec.class_name, code=spec.code, concurrency=spec.concurrency,
                       driver_env=spec.driver_env, executable=spec.executable,
                       recover_retry_times=spec.recover_retry_times)
    return Instance(id=spec.instance_id, job_id=spec.job_id, resources=res, class_name=spec.class_name,
                    language=spec.language, name=spec.name, namespace=spec.namespace, detached=spec.detached,
                    hidden=spec.hidden, recover_retry_times=spec.recover_retry_times,
                    schedule_deadline=deadline, payload=payload,
                    schedule_timeout=None if deadline is None else spec.schedule_timeout_ms / 1000, labels=tuple(spec.labels),
                    affinity=policy_from_spec(spec), requester_node=spec.requester_node_id,
                    resource_group=spec.resource_group, bundle_index=spec.bundle_index)


def requested_instance(master: Master, spec: pb.InstanceSpec) -> Instance:
    """The instance a create asks for (CoreError if refused), for both doors: this servicer
    and the agent socket of the master's node (services/node_creates.py)."""
    return groups.with_checkpoint(master, instance_from_spec(spec, master.now()), spec)


def policy_from_spec(spec: pb.InstanceSpec) -> placement.Policy:
    """The spec's affinity rules as the core's Policy; CoreError (ERR_PARAM_INVALID) names a bad one."""
    if any(not label for label in spec.labels):
        raise CoreError(ErrorCode.ERR_PARAM_INVALID, "instance labels must be non-empty strings")
    if not spec.affinities and not spec.preferred_anti_other_labels and not spec.required_priority:
        return placement.NO_POLICY
    rules = []
    for i, a in enumerate(spec.affinities):
        where = f"affinity {i}"
        if a.kind not in placement.KINDS or a.type not in placement.TYPES or not a.operators:
            raise CoreError(ErrorCode.ERR_PARAM_INVALID, f"{where}: unknown kind {a.kind!r} or type {a.type!r}, "
                                                         "or no label operators")
        ops = []
        for o in a.operators:
            with_values = o.op in (placement.LABEL_IN, placement.LABEL_NOT_IN)
            if o.op not in placement.OPERATORS or not o.key or (with_values and not o.values):
                raise CoreError(ErrorCode.ERR_PARAM_INVALID,
                                f"{where}: bad label operator {o.op!r} on key {o.key!r} (IN/NOT_IN need values)")
            if with_values and a.kind == placement.INSTANCE:
                raise CoreError(ErrorCode.ERR_PARAM_INVALID, f"{where}: instance labels are keys only, so "
                                                             "INSTANCE affinity takes LABEL_EXISTS or LABEL_NOT_EXISTS")
            ops.append(placement.Operator(o.op, o.key, tuple(o.values)))
        rules.append(placement.Rule(a.kind, a.type, tuple(ops)))
    return placement.Policy(tuple(rules), preferred_priority=not spec.preferred_by_count,
                            required_priority=spec.required_priority,
                            preferred_anti_other_labels=spec.preferred_anti_other_labels)


class MasterService(data.DataServicer, groups.GroupsServicer, pbg.MasterServicer):   # KV, streams; groups
    def __init__(self, master: Master, session_dir: str, pid: int):
        self.m, self.session_dir, self.pid = master, session_dir, pid

    async def _answer(self, context, ask):
        """Asks the master (`ask(waiter)`) and waits for its answer; a refusal ends the call."""
        waiter = asyncio.get_running_loop().create_future()
        ask(waiter)
        ans = await waiter
        if ans.error is not None:
            await refuse(context, ans.error)
        return ans

    async def CreateInstance(self, request, context):
        try:
            inst = requested_instance(self.m, request.spec)
        except CoreError as e:
            await refuse(context, e)
        ans = await self._answer(context, lambda w: self.m.create(inst, w))
        return pb.CreateInstanceReply(instance=to_info(self.m.cluster.instances[ans.instance_id]), existed=ans.existed)

    async def TerminateInstance(self, request, context):
        return pb.TerminateReply(was_alive=self.m.terminate(request.instance_id))

    async def GetInstance(self, request, context):
        c = self.m.cluster
        if request.timeout_s <= 0 and request.instance_id:
            inst = c.find(request.instance_id)
            if inst is None:
                await refuse(context, CoreError(ErrorCode.ERR_INSTANCE_NOT_FOUND,
                                                f"there is no instance with id {request.instance_id}"))
            return self._info(inst)
        ans = await self._answer(context, lambda w: self.m.lookup(
            w, instance_id=request.instance_id, name=request.name,
            namespace=request.namespace, timeout=max(request.timeout_s, 0.0)))
        return self._info(c.instances[ans.instance_id])

    def _info(self, inst: Instance) -> pb.InstanceInfo:
        info = to_info(inst)
        info.node_suspect = inst.node_id in self.m.suspects
        return info

    async def Status(self, request, context):
        c = self.m.cluster
        nodes = [self._node_info(n) for n in c.nodes.values()]
        return pb.StatusReply(nodes=nodes, instances=[to_info(i) for i in c.instances.values()],
                              session_dir=self.session_dir, pid=self.pid,
                              warm_workers=self.m.warm_workers())

    def _node_info(self, n) -> pb.NodeInfo:
        link = self.m.links.get(n.id)
        return pb.NodeInfo(node_id=n.id, total=to_resources(n.total), available=to_resources(n.available),
                           address=getattr(link, "host", ""), labels=n.labels,
                           state="SUSPECT" if n.id in self.m.suspects else "ALIVE", warm_workers=link.status().warm_workers if link else 0)

    async def NodeSession(self, request_iterator, context):
        async for down in nodes.node_session(self.m, self.session_dir, request_iterator, context):
            yield down

    async def Session(self, request, context):
        queue = asyncio.Queue()
        self.m.open_session(request.job_id, queue, request.pid)
        # the driver's yr.init returns once it sees this header: the session is accepted
        await context.send_initial_metadata(((handshake.SESSION_OPEN_HEADER, "1"),))
        try:
            while True:
                ev = await queue.get()
                if ev is None:
                    return
                yield to_event(ev)
        finally:
            self.m.close_session(request.job_id, request.owns_runtime)

    async def List(self, request, context):
        return await observe_rpc.list_rows(self.m, request, context)

    async def ReadLog(self, request, context):
        return await observe_rpc.read_log(self.m, request, context)

    async def Shutdown(self, request, context):
        self.m.request_stop("asked to shut down")
        return pb.ShutdownReply()


def to_event(ev: "Instance | LogLines") -> pb.Event:
    if isinstance(ev, LogLines):
        return pb.Event(log=pb.LogLines(label=ev.label, lines=ev.lines))
    return pb.Event(instance=to_info(ev))
