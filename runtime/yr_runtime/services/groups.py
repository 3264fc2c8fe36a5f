"""The resource group and checkpoint RPCs of the Master service (docs/groups.md): translation
only, protobuf in, a call of the master's core (`core.cluster` for groups, rules in
core/groups.py; `core.checkpoints` for checkpoints), protobuf out."""
from __future__ import annotations

import asyncio
import dataclasses

from yr_runtime.core.checkpoints import CheckpointError
from yr_runtime.core.cluster import CoreError, Instance
from yr_runtime.core.groups import GroupError, bundles_from
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.wire.errors import ErrorCode

GROUP_WAIT = 300.0   # seconds a group may wait for free resources before it fails (openYuanrong: no bound)


def with_checkpoint(master, inst: Instance, spec: pb.InstanceSpec) -> Instance:
    """The instance to create, starting from its checkpoint's state if the spec names one
    (the worker restores it as after a restart, instead of running the constructor)."""
    if not spec.checkpoint_id:
        return inst
    try:
        ckpt = master.checkpoints.get(spec.checkpoint_id, master.now())
    except CheckpointError as e:
        raise CoreError(ErrorCode.ERR_PARAM_INVALID, f"cannot restore from checkpoint: {e}") from None
    inst.payload = dataclasses.replace(inst.payload, state=ckpt.state)
    return inst


class GroupsServicer:
    """Mixed into MasterService (which holds the master as `self.m` and refuses with `refuse`)."""

    async def CreateResourceGroup(self, request, context):
        from yr_runtime.services.master import refuse   # (master imports this module)
        try:
            bundles = bundles_from([{"CPU": b.cpu_millis, "Memory": b.memory_mib, **b.custom} for b in request.bundles])
        except GroupError as e:
            await refuse(context, CoreError(e.kind, str(e)))
        waiter = asyncio.get_running_loop().create_future()
        self.m.create_group(request.name, request.job_id, bundles, request.strategy, waiter, GROUP_WAIT)
        ans = await waiter
        if ans.error is not None:
            await refuse(context, ans.error)
        return pb.GroupReply()

    async def RemoveResourceGroup(self, request, context):
        self.m.remove_group(request.name)
        return pb.GroupReply()

    async def Snapshot(self, request, context):
        from yr_runtime.services.master import refuse
        try:
            cid = self.m.checkpoints.take(request.instance_id, request.function_type, request.namespace,
                                          request.state, float(request.ttl_s), self.m.now())
        except CheckpointError as e:
            await refuse(context, CoreError(ErrorCode.ERR_PARAM_INVALID, str(e)))
        return pb.SnapshotReply(checkpoint_id=cid)

    async def ListCheckpoints(self, request, context):
        found = self.m.checkpoints.list(request.function_type, request.namespace, self.m.now())
        return pb.ListCheckpointsReply(checkpoint_ids=[c.id for c in found],
                                       function_types=[c.function_type for c in found])

    async def DeleteCheckpoint(self, request, context):
        from yr_runtime.services.master import refuse
        try:
            self.m.checkpoints.delete(request.checkpoint_id, self.m.now())
        except CheckpointError as e:
            await refuse(context, CoreError(ErrorCode.ERR_PARAM_INVALID, str(e)))
        return pb.GroupReply()
