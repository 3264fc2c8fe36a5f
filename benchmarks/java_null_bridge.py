"""A yr._bridge that does nothing: invokes make a ref holding their first argument, get returns
it. A Java driver run with ``YR_BRIDGE_MODULE=java_null_bridge`` (this directory on
PYTHONPATH) measures its own path alone, the driver JVM and its bridge process
(``benchmarks/java_ab.py --null-bridge``): no runtime, no workers, no waits on them.
"""
from __future__ import annotations

_initialized = False


class Ref:
    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value


class Handle:
    """Stands for an instance handle."""


def init(config=None) -> None:
    global _initialized
    _initialized = True


def finalize() -> None:
    global _initialized
    _initialized = False


def is_initialized() -> bool:
    return _initialized


def create_instance(spec, args, opts=None) -> Handle:
    return Handle()


def invoke_method(handle, method, args, opts=None) -> Ref:
    return Ref(args[0] if args else 0)


def invoke_function(spec, args, opts=None) -> Ref:
    return Ref(args[0] if args else 0)


def get(refs, timeout=300):
    return [r.value for r in refs] if isinstance(refs, list) else refs.value


def wait(refs, wait_num, timeout):
    return list(refs), []


def put(value) -> Ref:
    return Ref(value)


def terminate(handle) -> None:
    pass


def ref_id(ref) -> str:
    return f"null-{id(ref)}"


def instance_id(handle) -> str:
    return f"null-{id(handle)}"
