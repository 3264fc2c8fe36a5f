"""An in-process stand-in for ``yr._bridge`` (the contract of docs/bridge.md), for testing
the Java SDK's own layers (codec, lambda resolution, py4j links, worker JVM host) without
a runtime. Selected with ``YR_BRIDGE_MODULE=fake_bridge`` (see yr._bridge_py4j).

Instances run on ``yr._java_host.JavaHost`` in this process, one single-thread executor
per instance (calls in order); functions on a shared pool. Only custom resource "ssd"
exists. The end-to-end tests run the same programs against the real runtime.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import time

from yr._java_host import JavaHost

_ids = itertools.count(1)
_host: JavaHost | None = None
_pool: cf.ThreadPoolExecutor | None = None
_handles: list["InstanceHandle"] = []
_named: dict[tuple, "InstanceHandle"] = {}
_RESOURCES = {"ssd"}


class FakeError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class ObjectRef:
    def __init__(self, future: cf.Future) -> None:
        self.future = future
        self.id = f"obj-{next(_ids)}"


class InstanceHandle:
    def __init__(self, spec: dict, args: list) -> None:
        self.id = f"ins-{next(_ids)}"
        self.executor = cf.ThreadPoolExecutor(1)
        self.terminated = False
        self.instance = self.executor.submit(_host.create_instance, spec, _resolve(args), {})


def _resolve(args: list) -> list:
    return [a.future.result() if isinstance(a, ObjectRef) else a for a in args]


def _check(options: dict | None) -> None:
    for key in (options or {}).get("custom_resources") or {}:
        if key not in _RESOURCES:
            raise FakeError(1006, f"invalid resource parameter: no node has custom resource {key!r}")


def _require_init() -> None:
    if _host is None:
        raise FakeError(9000, "not initialized")


def init(config: dict) -> None:
    global _host, _pool
    if _host is not None:
        raise FakeError(4001, "already initialized")
    _host, _pool = JavaHost(exit_when_jvm_dies=False), cf.ThreadPoolExecutor(4)


def finalize() -> None:
    global _host, _pool
    if _host is None:
        return
    for handle in _handles:
        terminate(handle)
    _handles.clear()
    _named.clear()
    _pool.shutdown(wait=False)
    _host.shutdown()
    _host = _pool = None


def is_initialized() -> bool:
    return _host is not None


def create_instance(spec: dict, args: list, options: dict) -> InstanceHandle:
    _require_init()
    _check(options)
    key = (options.get("namespace", ""), options.get("name", ""))
    if key[1] and key in _named and not _named[key].terminated:
        return _named[key]  # named instances are get-or-create
    handle = InstanceHandle(spec, args)
    _handles.append(handle)
    if key[1]:
        _named[key] = handle
    return handle


def invoke_method(handle: InstanceHandle, method: str, args: list, options: dict | None = None) -> ObjectRef:
    if handle.terminated:
        raise FakeError(1007, f"instance {handle.id} was terminated")

    def run():
        return _host.call_method(handle.instance.result(), method, _resolve(args), {})

    return ObjectRef(handle.executor.submit(run))


def invoke_function(spec: dict, args: list, options: dict | None = None) -> ObjectRef:
    _require_init()
    _check(options)
    return ObjectRef(_pool.submit(lambda: _host.call_function(spec, _resolve(args), {})))


def _value(ref: ObjectRef, timeout: float | None):
    try:
        return ref.future.result(timeout=timeout)
    except cf.TimeoutError:
        raise FakeError(4005, f"get timed out after {timeout} s") from None
    except FakeError:
        raise
    except Exception as exc:  # noqa: BLE001 - a remote user error
        error = FakeError(2002, str(exc))
        error.cause = exc  # like yr.YRInvokeError.cause
        raise error from exc


def get(refs, timeout: float):
    t = None if timeout is None or timeout < 0 else timeout
    if isinstance(refs, list):
        return [_value(r, t) for r in refs]
    return _value(refs, t)


def wait(refs: list, wait_num: int, timeout: float):
    deadline = None if timeout < 0 else time.monotonic() + timeout
    while True:
        finished = [r for r in refs if r.future.done()]
        left = None if deadline is None else deadline - time.monotonic()
        if len(finished) >= wait_num or (left is not None and left <= 0):
            break
        cf.wait({r.future for r in refs if not r.future.done()}, timeout=left,
                return_when=cf.FIRST_COMPLETED)
    ready = finished[:wait_num]
    return ready, [r for r in refs if r not in ready]


def put(value) -> ObjectRef:
    future: cf.Future = cf.Future()
    future.set_result(value)
    return ObjectRef(future)


def terminate(handle: InstanceHandle) -> None:
    handle.terminated = True
    handle.executor.shutdown(wait=False)


def ref_id(ref: ObjectRef) -> str:
    return ref.id


def instance_id(handle: InstanceHandle) -> str:
    return handle.id
