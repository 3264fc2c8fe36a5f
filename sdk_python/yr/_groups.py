"""Resource group and checkpoint calls to the master (docs/groups.md): deadlines on every
call, gRPC errors mapped to yr errors (grpc.RpcError never leaves this module)."""
from __future__ import annotations

import grpc

from yr_runtime.proto import control_pb2 as pb

from ._control import CONTROL_TIMEOUT, MasterClient, map_error

GROUP_WAIT = 300.0   # the master's bound on a group's wait for free resources (services/groups.py)
_in_flight: set = set()   # gRPC cancels a call whose future is collected: keep each until it is done


def _keep(fut):
    _in_flight.add(fut)
    fut.add_done_callback(_in_flight.discard)
    return fut


def create_group_async(master: MasterClient, name: str, bundles: list, strategy: str, job_id: str):
    """A grpc future answered once the group is reserved or has failed (`result`)."""
    stub, md = master.rpc()
    req = pb.ResourceGroupRequest(name=name, strategy=strategy, job_id=job_id, bundles=[
        pb.Resources(cpu_millis=int(b.get("CPU", 0)), memory_mib=int(b.get("Memory", 0)),
                     custom={k: float(v) for k, v in b.items() if k not in ("CPU", "Memory")}) for b in bundles])
    return _keep(stub.CreateResourceGroup.future(req, timeout=GROUP_WAIT + CONTROL_TIMEOUT, metadata=md))


def result(fut, timeout: float | None, what: str) -> None:
    """Waits for a future of this module up to `timeout` seconds (None: its own deadline)."""
    try:
        fut.result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise TimeoutError from None
    except grpc.RpcError as e:
        raise map_error(e, what) from None


def _call(master: MasterClient, rpc: str, req, what: str):
    stub, md = master.rpc()
    try:
        return getattr(stub, rpc)(req, timeout=CONTROL_TIMEOUT, metadata=md)
    except grpc.RpcError as e:
        raise map_error(e, what) from None


def remove_group(master: MasterClient, name: str) -> None:
    _call(master, "RemoveResourceGroup", pb.ResourceGroupRequest(name=name), f"remove resource group {name!r}")


def remove_group_async(master: MasterClient, name: str) -> None:
    """Removes the group without waiting (from a callback thread, which must not block);
    if the runtime is gone, so is the group."""
    stub, md = master.rpc()
    _keep(stub.RemoveResourceGroup.future(pb.ResourceGroupRequest(name=name), timeout=CONTROL_TIMEOUT, metadata=md))


def snapshot(master: MasterClient, instance_id: str, function_type: str, namespace: str, state: bytes,
             ttl: int) -> str:
    req = pb.SnapshotRequest(instance_id=instance_id, function_type=function_type, namespace=namespace,
                             state=state, ttl_s=ttl)
    return _call(master, "Snapshot", req, f"snapshot of instance {instance_id}").checkpoint_id


def list_checkpoints(master: MasterClient, function_type: str, namespace: str) -> list:
    """[(checkpoint id, function type)], oldest first."""
    reply = _call(master, "ListCheckpoints", pb.ListCheckpointsRequest(function_type=function_type, namespace=namespace),
                  "list checkpoints")
    return list(zip(reply.checkpoint_ids, reply.function_types))


def delete_checkpoint(master: MasterClient, checkpoint_id: str) -> None:
    _call(master, "DeleteCheckpoint", pb.SnapshotReply(checkpoint_id=checkpoint_id),
          f"delete checkpoint {checkpoint_id!r}")
