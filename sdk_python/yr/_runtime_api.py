"""yr.cancel, yr.exit, yr.list_named_instances, yr.get_node_ip_address (openYuanrong's
signatures and semantics; the choices made where its docs leave room are in docs/api.md)."""
from __future__ import annotations

from . import _context
from .exceptions import CancelError, YRRuntimeError, YRTypeError
from .object_ref import ObjectRef

_exiting: list = []   # the terminate requests of yr.exit()
LOCAL_NODE_IP = "127.0.0.1"   # the master's own node listens on loopback unless given --node-ip


def cancel(obj_refs, allow_force: bool = True, allow_recursive: bool = False) -> None:
    """Cancels stateless calls: a call not sent yet never runs; a running one is interrupted
    (an exception raised in it; its executor serves later calls) and, with `allow_force`, its
    executor is restarted if it has not stopped within a grace (2 s; the calls queued behind
    it run elsewhere). An executor on another node is not interrupted: with `allow_force`
    it is restarted at once, without, the call runs on. `allow_recursive`: the interrupted
    call's executor also cancels the stateless calls it made. `yr.get` of a cancelled ref
    raises CancelError once the call has stopped. As in openYuanrong, refs of instance
    method calls, finished calls and refs made elsewhere are left alone (no error).

    Raises TypeError (YRTypeError) if obj_refs is not an ObjectRef or a list of them."""
    refs = [obj_refs] if isinstance(obj_refs, ObjectRef) else obj_refs
    if not isinstance(refs, (list, tuple)) or not all(isinstance(r, ObjectRef) for r in refs):
        raise YRTypeError(f"yr.cancel: expected an ObjectRef or a list of ObjectRefs, got {obj_refs!r:.80}")
    for name, flag in (("allow_force", allow_force), ("allow_recursive", allow_recursive)):
        if not isinstance(flag, bool):
            raise YRTypeError(f"yr.cancel: {name} must be a bool, got {type(flag).__name__}")
    reg = _context.current().instances
    if reg is None:
        return
    for ref in refs:
        if ref._slot.done:
            continue
        err = CancelError(f"the call of object {ref.id} was cancelled (yr.cancel)")
        for pool in list(reg.pools.values()):
            if pool.cancel(ref._slot, err, allow_force, allow_recursive):
                break


def exit() -> None:  # noqa: A001  openYuanrong's name
    """Inside an instance: ends it once the current call returns (its worker is stopped;
    later calls on it fail as on a terminated instance). Raises YRRuntimeError elsewhere."""
    rt = _context.current()
    if not rt.instance_id:
        raise YRRuntimeError("yr.exit() can only be called inside an instance (a method of a @yr.instance class)")
    _exiting.append(rt.master.terminate(rt.instance_id))   # kept: an abandoned gRPC future may be cancelled


def list_named_instances(all_namespaces: bool = False) -> list:
    """Names of the living named instances: of the driver's namespace (Config.ns) as a sorted
    list of names; with all_namespaces=True, [{"name", "namespace"}] for every namespace."""
    if not isinstance(all_namespaces, bool):
        raise YRTypeError(f"list_named_instances: all_namespaces must be a bool, got {type(all_namespaces).__name__}")
    rt = _context.current()
    named = sorted({(i.namespace, i.name) for i in rt.master.status().instances if i.name and i.state != "DEAD"})
    if all_namespaces:
        return [{"name": n, "namespace": ns} for ns, n in named]
    return [n for ns, n in named if ns == (rt.namespace or "")]


def get_node_ip_address() -> str:
    """The IP address of the node this process runs on."""
    rt = _context.current()
    node_id = getattr(rt.info, "node_id", "") or ""
    for node in rt.master.status().nodes:
        if node.node_id == node_id and node.address:
            return node.address.rsplit(":", 1)[0] if node.address.count(":") == 1 else node.address
    return LOCAL_NODE_IP

