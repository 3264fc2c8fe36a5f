"""The facade the C++ and Java SDKs call (contract: docs/bridge.md).

Everything here is a thin translation onto the Python SDK: neutral values in, neutral
values out, every error a `yr.YRError` with a `code`. No protocol logic lives here.
"""
from __future__ import annotations

import hashlib
import json

import msgpack

from . import _api, _bridge_streams, _context, _instances, _runtime_api, _xlang, kv, object_ref
from . import _protocol as P
from ._bridge_streams import (stream_ack, stream_close, stream_counts, stream_create_producer,  # noqa: F401
                              stream_delete, stream_flush, stream_receive, stream_send, stream_subscribe)
from ._decorators import InstanceProxy
from .affinity import Affinity, AffinityKind, AffinityScope, AffinityType, LabelOperator, OperatorType
from .config import Config, InvokeOptions
from .exceptions import YRTypeError, YRValueError
from .object_ref import ObjectRef
from .params import CacheType, ExistenceOpt, GetParam, GetParams, MSetParam, SetParam, WriteMode

_CONFIG_KEYS = {"server_address", "ns", "log_level", "num_cpus", "connect_timeout", "job_id", "log_to_driver"}
_OPTION_KEYS = {"cpu", "memory", "custom_resources", "concurrency", "name", "namespace",
                "recover_retry_times", "schedule_timeout_ms", "env_vars", "labels", "schedule_affinities",
                "preferred_priority", "required_priority", "preferred_anti_other_labels"}
# The C++ and Java SDKs' spellings of affinity kinds, types and operators (openYuanrong's
# constants), besides the Python enum names.
_SPELLINGS = {"Resource": "RESOURCE", "Instance": "INSTANCE", "PreferredAffinity": "PREFERRED",
              "PreferredAntiAffinity": "PREFERRED_ANTI", "RequiredAffinity": "REQUIRED",
              "RequiredAntiAffinity": "REQUIRED_ANTI", "LabelIn": "LABEL_IN", "LabelNotIn": "LABEL_NOT_IN",
              "LabelExists": "LABEL_EXISTS", "LabelDoesNotExist": "LABEL_NOT_EXISTS"}


def init(config: dict | None = None) -> None:
    config = dict(config or {})
    unknown = set(config) - _CONFIG_KEYS
    if unknown:
        raise YRValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
    _api.init(Config(**{k: v for k, v in config.items() if v is not None and v != ""}))


def finalize() -> None:
    _function_cache.clear()
    _bridge_streams.forget_all()
    _api.finalize()


def is_initialized() -> bool:
    return _api.is_initialized()


def options(opts: dict | None) -> InvokeOptions:
    opts = dict(opts or {})
    unknown = set(opts) - _OPTION_KEYS
    if unknown:
        raise YRValueError(f"unknown invoke options: {', '.join(sorted(unknown))}")
    if opts.get("schedule_affinities"):
        opts["schedule_affinities"] = [_affinity(a) for a in opts["schedule_affinities"]]
    if opts.get("labels") is not None:
        opts["labels"] = list(opts["labels"])
    o = InvokeOptions(**{k: v for k, v in opts.items() if v is not None})
    o.custom_resources = {str(k): float(v) for k, v in o.custom_resources.items()}
    return o.check()


def _affinity(a: dict) -> Affinity:
    """{"kind", "type", "operators": [{"type", "key", "values"}], "scope"?} as a yr.Affinity."""
    def enum(cls, name):
        try:
            return cls[_SPELLINGS.get(name, name)]
        except (KeyError, TypeError):
            raise YRValueError(f"unknown {cls.__name__} {name!r} in an affinity") from None
    ops = [LabelOperator(enum(OperatorType, o.get("type")), o.get("key"), list(o.get("values") or []))
           for o in a.get("operators") or []]
    scope = a.get("scope")
    return Affinity(enum(AffinityKind, a.get("kind")), enum(AffinityType, a.get("type")), ops,
                    enum(AffinityScope, scope.upper()) if scope else None)


def _check_spec(spec: dict, kind: str) -> str:
    if not isinstance(spec, dict) or spec.get("language") not in ("cpp", "java", "python"):
        raise YRValueError(f"spec must be a dict with language cpp|java|python, got {spec!r:.200}")
    if spec["language"] == "cpp" and not spec.get("executable"):
        spec["executable"] = _xlang.cpp_executable()   # cross-language: Config or $YR_CPP_CODE_PATH
    elif spec["language"] == "java" and not spec.get("classpath"):
        spec["classpath"] = _xlang.java_classpath()     # cross-language: Config or $YR_JAVA_CODE_PATH
    name = spec.get(kind)
    if not name:
        raise YRValueError(f"spec has no {kind!r}")
    return name


def create_instance(spec: dict, args: list, opts: dict | None = None) -> InstanceProxy:
    spec = dict(spec)
    class_name = _check_spec(spec, "class")
    if spec["language"] == "python":   # a Python class by module and name (cross-language)
        return _xlang.create_python(spec, list(args), options(opts))
    rt = _context.current()
    code = _instances.constructor_code(None, list(args), {}, class_name, spec=spec)
    pb_spec = _instances.make_spec(rt, class_name, code, options(opts), language=spec["language"],
                                   executable=spec.get("executable", ""))
    return InstanceProxy(_instances.create(rt, pb_spec), None)


def invoke_method(handle: InstanceProxy, method: str, args: list, opts: dict | None = None) -> ObjectRef:
    if not isinstance(handle, InstanceProxy):
        raise YRTypeError(f"expected an instance handle, got {type(handle).__name__}")
    return handle._target.submit(P.CALL, str(method), tuple(args), {})


_function_cache: dict = {}   # (runtime, spec, options) -> (key, code, pool): C++/Java call in a loop


def invoke_function(spec: dict, args: list, opts: dict | None = None) -> ObjectRef:
    key, code, pool = _function_target(spec, opts)
    return pool.submit(key, code, tuple(args), {})


def function_submitter(spec: dict, opts: dict | None = None):
    """`submit(args) -> ref`: invoke_function of this spec and options with the target
    resolved once (the C++ SDK keeps one per function and options until finalize)."""
    key, code, pool = _function_target(spec, opts)
    submit = pool.submit

    def call(args):
        return submit(key, code, tuple(args), {})
    return call


def _function_target(spec: dict, opts: dict | None):
    rt = _context.current()
    try:
        memo = (id(rt), repr(sorted(spec.items())), repr(sorted((opts or {}).items())))
    except TypeError:   # unorderable keys: let the checks below say what is wrong
        memo = None
    hit = _function_cache.get(memo)
    if hit is None:
        spec = dict(spec)
        fn_name = _check_spec(spec, "function")
        if spec["language"] == "python":   # a Python function by module and name (cross-language)
            hit = _xlang.python_function(spec, options(opts))
        else:
            code = json.dumps(spec, sort_keys=True).encode()
            key = f"{fn_name}:{hashlib.sha1(code).hexdigest()[:16]}"
            where = spec.get("executable") or spec.get("classpath", "")
            hit = (key, code, _instances.pool(rt, options(opts), spec["language"], where, spec))
        if memo is not None:
            if len(_function_cache) > 256:
                _function_cache.clear()
            _function_cache[memo] = hit
    return hit


def _plain(value):
    if isinstance(value, memoryview):
        return value.tobytes()
    return value


def get(refs, timeout: float = 300):
    out = _api.get(refs, timeout)
    return [_plain(v) for v in out] if isinstance(refs, (list, tuple)) else _plain(out)


def get_one(ref, timeout: float = 300):
    """get() of one ref, for a C++ YR::Get per call: an ObjectRef is waited for on its slot,
    without get()'s checks and list handling (on a ready ref 0.2 us where get() takes 1.2 us
    here); in a worker (a wait there may lend its cpu) and for anything else, get()."""
    if type(ref) is not ObjectRef or object_ref._block_hooks is not None:
        return get(ref, timeout)
    slot = ref._slot
    if not slot.wait(None if timeout == -1 else timeout):
        raise object_ref.not_ready_error(ref, timeout)
    return _plain(slot.value())


def wait(refs: list, wait_num: int, timeout: float):
    return _api.wait(list(refs), wait_num, None if timeout is None or timeout < 0 else timeout)


def put(value) -> ObjectRef:
    return _api.put(value)


def terminate(handle: InstanceProxy) -> None:
    handle.terminate()


def ref_id(ref: ObjectRef) -> str:
    return ref.id


def instance_id(handle: InstanceProxy) -> str:
    return handle.instance_id


# ---- KV (C++ YR::KV(), Java YR.kv()): bytes in, bytes out; enums as their int values -------------
def _set_param(cls, existence: int, ttl: int, write_mode: int, cache_type: int):
    try:
        return cls(ExistenceOpt(existence), WriteMode(write_mode), int(ttl), CacheType(cache_type))
    except ValueError as e:
        raise YRValueError(f"bad KV write parameter: {e}") from None


def kv_write(key: str, value: bytes, existence: int = 0, ttl: int = 0, write_mode: int = 0, cache_type: int = 0) -> None:
    kv.kv_write_with_param(key, value, _set_param(SetParam, existence, ttl, write_mode, cache_type))


def kv_m_write_tx(keys: list, values: list, existence: int = 1, ttl: int = 0, write_mode: int = 0,
                  cache_type: int = 0) -> None:
    kv.kv_m_write_tx(list(keys), list(values), _set_param(MSetParam, existence, ttl, write_mode, cache_type))


def kv_read(keys: list, timeout: float = 300, allow_partial: bool = False) -> list:
    """bytes per key; None for a missing one with allow_partial."""
    if allow_partial:
        return kv.kv_read_partial(list(keys), timeout)
    return kv.kv_read(list(keys), timeout)


def kv_get_with_param(keys: list, offsets: list, sizes: list, timeout: float = 300) -> list:
    params = GetParams([GetParam(int(o), int(n)) for o, n in zip(offsets, sizes)])
    return kv.kv_get_with_param(list(keys), params, timeout)


def kv_del(keys: list) -> list:
    """Deletes the keys; returns those that failed (none: a missing key is no failure)."""
    kv.kv_del(list(keys))
    return []


def kv_write_value(key: str, value, existence: int = 0, ttl: int = 0, write_mode: int = 0, cache_type: int = 0) -> None:
    """C++ Write<T> / Java write(Object): a neutral value, stored as msgpack (as openYuanrong)."""
    kv_write(key, msgpack.packb(value, use_bin_type=True), existence, ttl, write_mode, cache_type)


def kv_read_values(keys: list, timeout: float = 300, allow_partial: bool = False) -> list:
    return [None if v is None else msgpack.unpackb(v, raw=False, strict_map_key=False)
            for v in kv_read(keys, timeout, allow_partial)]


def cancel(refs: list, force: bool = True, recursive: bool = False) -> None:
    """yr.cancel of a non-empty list of refs (openYuanrong's C++ throws on an empty one)."""
    refs = list(refs)
    if not refs:
        raise YRValueError("Cancel: the list of refs is empty")
    _runtime_api.cancel(refs, bool(force), bool(recursive))


def get_instance(name: str, namespace: str = "", timeout: float = 60) -> InstanceProxy:
    """The handle of a running named instance (a lookup only, as yr.get_instance)."""
    if not isinstance(name, str) or not name:
        raise YRValueError("GetInstance: the name must be a non-empty string")
    if timeout is None or timeout < 0:
        raise YRValueError(f"GetInstance: the timeout must be >= 0 seconds, got {timeout!r}")
    return _api.get_instance(name, namespace or "", max(float(timeout), 0.001))


def serve_worker(host) -> None:
    """Worker mode for a C++ program: serves calls through `host` until told to exit. Started
    as its executable's template ($YR_CPP_TEMPLATE, by the node agent), it forks a worker
    per request instead (yr._zygote), each serving through `host`."""
    import os
    if os.environ.pop("YR_CPP_TEMPLATE", None):
        if len(os.listdir("/proc/self/task")) > 1:
            # Forking a process with other threads would copy locks they hold: this program
            # started a thread before YR::Init. Exit; the agent then starts it per worker.
            print("yr: this program runs threads before YR::Init, so it cannot be forked as a "
                  "template; its workers are started one by one (slower creation)", flush=True)
            return
        from yr_runtime.wire import messages as m
        os.environ.pop(m.BOOTSTRAP_ENV, None)
        from ._zygote import main
        main(host)
        return
    from ._worker import serve
    serve(host)
