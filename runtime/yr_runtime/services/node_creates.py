"""Creates that reach the master through its own node's agent socket (`m.CreateOnNode`).

Only translation, as in the gRPC servicer: a serialized `InstanceSpec` in, `Master.create`,
its answer out as a serialized `CreateInstanceReply` or a refusal's kind and message.
Why a second door: a driver on the master's node pays ~2 ms per create for gRPC's call
set-up and its server queue on this class of machine, more than the create itself; the
agent's framed socket answers in the same turn of the event loop (docs/architecture.md
"Creation"). Validation and the core's decision are the same code as the servicer's.
"""
from __future__ import annotations

from google.protobuf.message import DecodeError

from yr_runtime.core.cluster import CoreError
from yr_runtime.master import Master
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.services.master import requested_instance, to_info
from yr_runtime.wire import messages as m
from yr_runtime.wire.errors import ErrorCode


class _Reply:
    """The core's waiter for one create (it needs only done/set_result): writes the answer
    on the asking connection when the core gives it."""

    def __init__(self, master: Master, writer, rid: int):
        self._m, self._writer, self._rid = master, writer, rid
        self._done = False

    def done(self) -> bool:
        return self._done

    def set_result(self, ans) -> None:
        self._done = True
        if ans.error is not None:
            _write(self._writer, _refusal(self._rid, ans.error))
            return
        reply = pb.CreateInstanceReply(instance=to_info(self._m.cluster.instances[ans.instance_id]),
                                       existed=ans.existed)
        _write(self._writer, m.Created(rid=self._rid, reply=reply.SerializeToString()))


def _refusal(rid: int, error: CoreError) -> m.Created:
    return m.Created(rid=rid, kind=int(error.kind), error=str(error))


def _write(writer, msg: m.Created) -> None:
    if not writer.is_closing():   # the asker left: its instance lives on, as with gRPC
        writer.write(msg.frame())


def handler(master: Master):
    """The agent's `on_create(msg, writer)` for the master's own node."""
    def on_create(msg: m.CreateOnNode, writer) -> None:
        try:
            inst = requested_instance(master, pb.InstanceSpec.FromString(msg.spec))
        except DecodeError as e:
            _write(writer, _refusal(msg.rid, CoreError(ErrorCode.ERR_PARAM_INVALID, f"undecodable InstanceSpec: {e}")))
            return
        except CoreError as e:
            _write(writer, _refusal(msg.rid, e))
            return
        master.create(inst, _Reply(master, writer, msg.rid))
    return on_create
