"""Resource groups, function groups and checkpoints, with openYuanrong's names (docs/groups.md).

- `create_resource_group(bundles, name=None, strategy="PACK")` reserves bundles of resources
  on the cluster's nodes, all or none; `ResourceGroup.wait()` waits for the outcome; an
  instance created with `InvokeOptions.resource_group_options` runs inside a bundle.
- `create_function_group(wrapper, args, group_size, options)` starts `group_size` instances
  (or calls) together or not at all: their resources are reserved as one resource group first.
- `InstanceProxy.snapshot()` keeps an instance's state as a checkpoint;
  `restore_from_checkpoint`, `list_checkpoints`, `delete_checkpoint` use them.
"""
from __future__ import annotations

import copy
import os
import threading
import uuid
from typing import Dict, List, Optional, Union

from . import _context, _instances, _serialization
from ._decorators import (FunctionProxy, InstanceCreator, InstanceProxy, _has_async_methods,
                          _public_methods)
from .config import (ASYNC_DEFAULT_CONCURRENCY, FunctionGroupContext, FunctionGroupOptions, InvokeOptions,
                     ResourceGroupOptions)
from .exceptions import YRRuntimeError, YRTimeoutError, YRTypeError, YRValueError



def _rpc():
    """yr._groups (gRPC) is loaded on first use: `import yr` loads no gRPC."""
    from . import _groups
    return _groups


STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")
MAX_GROUP_SIZE = 256                    # openYuanrong: a function group holds at most 256 instances
_RANK_ENV, _SIZE_ENV = "YR_FUNCTION_GROUP_RANK", "YR_FUNCTION_GROUP_SIZE"


# ---- resource groups -------------------------------------------------------------------------
class ResourceGroup:
    """The handle `create_resource_group` returns; the reservation is made asynchronously."""

    def __init__(self, name: str, request_id: str = "", bundles: Optional[List[Dict]] = None, _future=None):
        self.name, self.request_id, self.bundles = name, request_id, bundles
        self._future = _future

    @property
    def bundle_specs(self) -> List[Dict]:
        return self.bundles

    @property
    def bundle_count(self) -> int:
        return len(self.bundles or [])

    @property
    def resource_group_name(self) -> str:
        return self.name

    def wait(self, timeout_seconds: Optional[int] = None) -> None:
        """Waits until every bundle is reserved. `timeout_seconds` None or -1: until the runtime
        answers (a group waits for free resources at most 300 s there). Raises ValueError for a
        timeout < -1, YRTimeoutError when it passes, ResourceUnavailableError when the group
        cannot be reserved (the message names the resource), YRValueError for a bad group."""
        if timeout_seconds is None:
            timeout_seconds = -1
        if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int):
            raise YRTypeError(f"timeout_seconds must be an int, got {type(timeout_seconds).__name__}")
        if timeout_seconds < -1:
            raise YRValueError("Parameter 'timeout_seconds' should be greater than or equal to -1 (no timeout)")
        if self._future is None:
            return
        try:
            _rpc().result(self._future, None if timeout_seconds == -1 else timeout_seconds,
                           f"create resource group {self.name!r}")
        except TimeoutError:
            raise YRTimeoutError(f"resource group {self.name!r} was not reserved within {timeout_seconds}s") from None


def create_resource_group(bundles: List[Dict[str, float]], name: Optional[str] = None,
                          strategy: Optional[str] = "PACK") -> ResourceGroup:
    """Asks for `bundles` (each {"CPU": millicores, "Memory": MiB, other: amount}; CPU/Memory
    missing or 0 mean 300/128) to be reserved on the nodes, all or none, and returns at once.
    `name` defaults to "rgroup-<uuid>"; "" and "primary" are refused. strategy: PACK (few
    nodes), SPREAD (many nodes), STRICT_PACK (one node), STRICT_SPREAD (one node each).
    A group that can never fit, or must wait, is told by ResourceGroup.wait()."""
    if not isinstance(bundles, list):
        raise YRTypeError(f"invalid bundles type, actual: {type(bundles)}, expect: list.")
    if not bundles:
        raise YRValueError("invalid bundles number, actual: 0, expect: > 0.")
    for i, b in enumerate(bundles):
        _check_bundle(i, b)
    if name is None:
        name = f"rgroup-{uuid.uuid4()}"
    if not isinstance(name, str):
        raise YRTypeError(f"invalid name type: {type(name)}, should be a str")
    if name in ("", "primary"):
        raise YRValueError(f"invalid resource group name {name!r}: it must not be empty or 'primary'")
    strategy = strategy or "PACK"
    if strategy not in STRATEGIES:
        raise YRValueError(f"invalid strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    rt = _context.current()
    fut = _rpc().create_group_async(rt.master, name, bundles, strategy, rt.job_id)
    return ResourceGroup(name, name, [dict(b) for b in bundles], fut)


def _check_bundle(i: int, b) -> None:
    if not isinstance(b, dict):
        raise YRTypeError(f"bundle {i} must be a dict of resource name -> amount, got {type(b).__name__}")
    for k, v in b.items():
        if not isinstance(k, str) or not k:
            raise YRValueError(f"bundle {i}: resource names must be non-empty strings, got {k!r}")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise YRTypeError(f"bundle {i}: resource {k!r} must be a number, got {type(v).__name__}")
        if not 0 <= v < 1e12:
            raise YRValueError(f"bundle {i}: resource {k!r} must be >= 0, got {v!r}")


def remove_resource_group(resource_group: Union[str, ResourceGroup]) -> None:
    """Removes the group: its instances are terminated, its reservations given back. A name
    that names no group is a no-op."""
    name = resource_group.resource_group_name if isinstance(resource_group, ResourceGroup) else resource_group
    if not isinstance(name, str):
        raise YRTypeError(f"invalid name type: {type(name)}, should be a str")
    _rpc().remove_group(_context.current().master, name)


# ---- function groups -------------------------------------------------------------------------
class FunctionGroupMethodProxy:
    """A method of every instance of a function group: `invoke` returns one ref per instance."""

    def __init__(self, method_name: str, proxies: List[InstanceProxy]):
        self._method_name, self._proxies = method_name, proxies

    def invoke(self, *args, **kwargs) -> list:
        return [getattr(p, self._method_name).invoke(*args, **kwargs) for p in self._proxies]


class FunctionGroupHandler:
    """The instances of a function group, in rank order; `terminate()` ends them all."""

    def __init__(self, proxies: List[InstanceProxy], group_name: str):
        self._proxies, self._group_name = proxies, group_name

    def __getattr__(self, name: str) -> FunctionGroupMethodProxy:
        if name.startswith("_"):
            raise AttributeError(name)
        getattr(self._proxies[0], name)   # AttributeError naming the class's methods
        return FunctionGroupMethodProxy(name, self._proxies)

    @property
    def instances(self) -> List[InstanceProxy]:
        return list(self._proxies)

    def terminate(self) -> None:
        """Terminates every instance (by removing the group's resource group)."""
        remove_resource_group(self._group_name)
        for p in self._proxies:
            p.terminate()


def create_function_group(wrapper: Union[FunctionProxy, InstanceCreator], args: tuple, group_size: int,
                          options: FunctionGroupOptions) -> Union[list, FunctionGroupHandler]:
    """Starts `group_size` instances of an `@yr.instance` class (a FunctionGroupHandler) or
    calls of an `@yr.invoke` function (a list of refs) together or not at all: their resources
    (per instance: options.cpu/memory/resources) are first reserved as one resource group of
    group_size / scheduling_affinity_each_bundle_size bundles, each bundle on one node. If the
    gang cannot fit within options.timeout seconds, none starts and the error says why."""
    bundle_size = _check_group(group_size, options)
    per = InvokeOptions()
    per.cpu = per.cpu if options.cpu is None else options.cpu
    per.memory = per.memory if options.memory is None else options.memory
    per.custom_resources = dict(options.resources)
    per.concurrency, per.recover_retry_times = options.concurrency, options.recover_retry_times
    per.check()
    name = f"fgroup-{uuid.uuid4()}"
    bundle = {"CPU": per.cpu * bundle_size, "Memory": per.memory * bundle_size,
              **{k: v * bundle_size for k, v in per.custom_resources.items()}}
    group = create_resource_group([bundle] * (group_size // bundle_size), name, "PACK")
    try:
        group.wait(options.timeout)
    except BaseException:
        remove_resource_group(name)
        raise
    started = [_rank(wrapper, args, per, name, rank, bundle_size, group_size) for rank in range(group_size)]
    if isinstance(wrapper, InstanceCreator):
        return FunctionGroupHandler(started, name)
    _remove_when_done(started, name)
    return started


def _remove_when_done(refs: list, name: str) -> None:
    """A gang of calls holds its reservation until its last call is done (or failed)."""
    master, left, lock = _context.current().master, [len(refs)], threading.Lock()

    def one_done(_ref):
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            _rpc().remove_group_async(master, name)
    for ref in refs:
        ref.on_complete(one_done)


def _check_group(group_size, options) -> int:
    if not isinstance(options, FunctionGroupOptions):
        raise YRTypeError(f"options must be a yr.FunctionGroupOptions, got {type(options).__name__}")
    if isinstance(group_size, bool) or not isinstance(group_size, int) or not 0 < group_size <= MAX_GROUP_SIZE:
        raise YRValueError(f"invalid group size {group_size!r}: expected an int in [1, {MAX_GROUP_SIZE}]")
    bundle_size = options.scheduling_affinity_each_bundle_size
    if bundle_size is None or bundle_size <= 0:
        raise YRValueError(f"invalid bundle size: {bundle_size}, bundle size should bigger than 0")
    if bundle_size > group_size:
        raise YRValueError(f"invalid bundle size or group size, group size {group_size} should be "
                           f"bigger or equal to bundle size {bundle_size}")
    if group_size % bundle_size:
        raise YRValueError(f"group size: {group_size} is not divisible by bundle size: {bundle_size}")
    timeout = -1 if options.timeout is None else options.timeout
    if timeout != -1 and not 0 <= timeout <= 0x7FFFFFFF:
        raise YRValueError(f"invalid timeout {timeout} in FunctionGroupOptions, expect:-1, [0, 0x7FFFFFFF]")
    options.timeout = timeout
    return bundle_size


def _rank(wrapper, args, per: InvokeOptions, name: str, rank: int, bundle_size: int, size: int):
    opts = copy.deepcopy(per)
    opts.resource_group_options = ResourceGroupOptions(name, rank // bundle_size)
    opts.env_vars = {_RANK_ENV: str(rank), _SIZE_ENV: str(size)}   # get_function_group_context reads them
    if isinstance(wrapper, InstanceCreator):
        return wrapper.options(opts).invoke(*args)
    if isinstance(wrapper, FunctionProxy):
        return copy.copy(wrapper).options(opts).invoke(*args)   # options() mutates: keep the user's proxy as it was
    raise YRRuntimeError("function is not wrapped by @yr.invoke or @yr.instance")


def get_function_group_context() -> FunctionGroupContext:
    """Inside an instance or call of a function group: its rank and the group's size (both 0
    outside a function group). No devices are collected: server_list is empty."""
    return FunctionGroupContext(rank_id=int(os.environ.get(_RANK_ENV, 0)), world_size=int(os.environ.get(_SIZE_ENV, 0)))


# ---- checkpoints -----------------------------------------------------------------------------
def restore_from_checkpoint(checkpoint_id: str, instance_class) -> InstanceProxy:
    """A new instance of `instance_class` (an @yr.instance class) holding the checkpoint's state
    (its constructor does not run). Raises YRValueError if there is no such checkpoint or it
    was taken of another class."""
    if not isinstance(checkpoint_id, str):
        raise YRTypeError(f"checkpoint_id must be a str, got {type(checkpoint_id).__name__}")
    if not isinstance(instance_class, InstanceCreator):
        raise YRTypeError("instance_class must be an @yr.instance class")
    rt = _context.current()
    found = dict(_rpc().list_checkpoints(rt.master, "", ""))
    ftype = instance_class.function_type()
    if checkpoint_id not in found:   # the master refuses it too; asking first makes the error synchronous
        raise YRValueError(f"cannot restore from checkpoint: there is no checkpoint {checkpoint_id!r} "
                           "(never taken, deleted or expired)")
    if checkpoint_id in found and found[checkpoint_id] != ftype:
        raise YRValueError(f"checkpoint {checkpoint_id!r} was taken of {found[checkpoint_id]}, not {ftype}")
    cls = instance_class.__yr_wrapped__
    code = _instances.constructor_code(_serialization.dumps_function(cls), (), {}, cls.__name__)
    opts = instance_class._options
    concurrency = opts.effective_concurrency(ASYNC_DEFAULT_CONCURRENCY if _has_async_methods(cls) else 1)
    spec = _instances.make_spec(rt, cls.__qualname__, code, opts, concurrency=concurrency)
    spec.checkpoint_id = checkpoint_id
    return InstanceProxy(_instances.create(rt, spec), _public_methods(cls))


def list_checkpoints(function_type: Union[str, InstanceCreator] = "", namespace: str = "") -> list:
    """The ids of the checkpoints of `function_type` ("module.Class", an @yr.instance class, or
    "" for all) in `namespace` ("" for all), oldest first."""
    if isinstance(function_type, InstanceCreator):
        function_type = function_type.function_type()
    if function_type is None:
        function_type = ""
    if not isinstance(function_type, str) or not isinstance(namespace, str):
        raise YRTypeError("function_type must be a string, an @yr.instance class, or empty")
    return [cid for cid, _ in _rpc().list_checkpoints(_context.current().master, function_type, namespace)]


def delete_checkpoint(checkpoint_id: str) -> None:
    """Deletes the checkpoint; YRValueError if there is none by that id."""
    if not isinstance(checkpoint_id, str):
        raise YRTypeError(f"checkpoint_id must be a str, got {type(checkpoint_id).__name__}")
    _rpc().delete_checkpoint(_context.current().master, checkpoint_id)
