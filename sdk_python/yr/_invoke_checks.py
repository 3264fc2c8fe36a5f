"""The checks of InvokeOptions fields added for openYuanrong parity (issue 13), with
openYuanrong's ranges, and the refusal of the fields yr does not implement.

Types are checked before (`check_field_types`: a wrong type is a YRTypeError naming the
field). Here: ranges (YRValueError), and "not supported" for a field set to anything but
its default when yr has nothing that would act on it: such a value is never accepted and
ignored. docs/config.md lists what each field does.
"""
from __future__ import annotations

from .exceptions import YRValueError

MAX_INT = 0x7FFFFFFF   # openYuanrong's bound for counts and times
# custom_extensions keys yr acts on, besides Concurrency and lifecycle (checked in config)
GRACEFUL_SHUTDOWN_TIME = "GRACEFUL_SHUTDOWN_TIME"   # seconds between the terminate message and SIGTERM
RECOVER_RETRY_TIMEOUT = "RECOVER_RETRY_TIMEOUT"     # ms a caller waits for a restarting instance
DEFAULT_RECOVER_TIMEOUT_MS = 10 * 60 * 1000

# field -> why yr has nothing to act on it (the value must stay the default)
_NOT_SUPPORTED = {
    "max_invoke_latency": "yr has no heterogeneous (device) functions to meet a latency for",
    "cpu_limit": "yr does not run workers in containers (cpu and memory are logical)",
    "mem_limit": "yr does not run workers in containers (cpu and memory are logical)",
    "pod_labels": "yr does not run on Kubernetes",
    "affinity": "use schedule_affinities",
    "device": "yr has no heterogeneous (device) functions",
    "is_data_affinity": "yr has no data system to be near",
    "function_group_options": "start a gang with yr.create_function_group (docs/groups.md)",
    "alias_params": "yr has no function aliases (FaaS)",
    "debug": "yr has no debug server",
    "is_delete_remote_tensor": "yr has no device tensors",
    "bypass_datasystem": "yr has no data system (values travel inline or through shared memory)",
    "skip_serialize": "yr always sends the class code",
    "port_forwardings": "yr has no sandboxes",
    "instance_priority": "yr never preempts instances, so all have one priority",
    "preempted_allowed": "yr never preempts instances",
}
_DEFAULTS = {"max_invoke_latency": 5000, "cpu_limit": 0, "mem_limit": 0, "pod_labels": {}, "affinity": {},
             "device": None, "is_data_affinity": False,
             "function_group_options": None, "alias_params": {}, "debug": None,
             "is_delete_remote_tensor": False, "bypass_datasystem": False, "skip_serialize": False,
             "port_forwardings": [], "instance_priority": 0, "preempted_allowed": False}


def check_more_options(opt) -> None:
    """Raises YRValueError naming the first invalid or unsupported field of `opt`."""
    _check_ranges(opt)
    _check_limits(opt)
    for name, why in _NOT_SUPPORTED.items():
        if getattr(opt, name) != _DEFAULTS[name]:
            raise YRValueError(f"InvokeOptions.{name} is not supported: {why}")
    if opt.idle_timeout is not None and opt.idle_timeout != -1 and opt.idle_timeout < 1:
        raise YRValueError(f"invalid InvokeOptions.idle_timeout: seconds >= 1, -1 or None (never), "
                           f"got {opt.idle_timeout}")
    unknown = set(opt.runtime_env) - {"env_vars"}
    if unknown:
        raise YRValueError(f"InvokeOptions.runtime_env: {', '.join(sorted(unknown))} not supported (only env_vars)")
    _check_extensions(opt.custom_extensions)


def _check_ranges(opt) -> None:
    for name in ("min_instances", "max_instances", "max_invoke_latency", "instance_priority"):
        value = getattr(opt, name)
        if name in ("max_instances", "max_invoke_latency") and value == -1:
            continue
        if not 0 <= value <= MAX_INT:
            raise YRValueError(f"invalid InvokeOptions.{name}: must be in [0, {MAX_INT}], got {value}")
    if opt.max_instances > 0 and opt.min_instances > opt.max_instances:
        raise YRValueError(f"invalid InvokeOptions: min_instances ({opt.min_instances}) is above "
                           f"max_instances ({opt.max_instances})")


def _check_limits(opt) -> None:
    for name, floor in (("cpu_limit", "cpu"), ("mem_limit", "memory")):
        value = getattr(opt, name)
        if value < 0:
            raise YRValueError(f"{name} ({value}) must be 0 or a positive value")
        if 0 < value < getattr(opt, floor):
            raise YRValueError(f"{name} ({value}) must be >= {floor} ({getattr(opt, floor)})")


def _int_extension(ext: dict, key: str):
    value = ext.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise YRValueError(f"invalid InvokeOptions.custom_extensions[{key!r}]: an integer is required, "
                           f"got {value!r}") from None


def _check_extensions(ext: dict) -> None:
    _int_extension(ext, GRACEFUL_SHUTDOWN_TIME)   # < 0: the runtime's default
    timeout = _int_extension(ext, RECOVER_RETRY_TIMEOUT)
    if timeout is not None and timeout <= 0:
        raise YRValueError(f"invalid InvokeOptions.custom_extensions[{RECOVER_RETRY_TIMEOUT!r}]: milliseconds > 0, "
                           f"got {timeout}")


def graceful_shutdown_time(opt) -> float | None:
    """Seconds a terminated worker is given before SIGTERM; None: the runtime's default."""
    value = _int_extension(opt.custom_extensions, GRACEFUL_SHUTDOWN_TIME)
    return None if value is None or value < 0 else float(value)


def recover_timeout(opt) -> float:
    """Seconds a caller waits for a restarting instance (RECOVER_RETRY_TIMEOUT, in ms)."""
    value = _int_extension(opt.custom_extensions, RECOVER_RETRY_TIMEOUT)
    return (value or DEFAULT_RECOVER_TIMEOUT_MS) / 1000
