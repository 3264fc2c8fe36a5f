"""The module-level API: init, finalize, put, get, wait, get_instance, status."""
from __future__ import annotations

import logging
import os

from . import _context, _instances
from . import object_ref as _refs
from ._decorators import InstanceProxy
from .config import Config
from .exceptions import YRTypeError, YRValueError
from .object_ref import ObjectRef
from .params import CreateParam, check_create_param


class ClientInfo:
    def __init__(self, job_id: str):
        self.job_id = job_id

    def __repr__(self) -> str:
        return f"ClientInfo(job_id={self.job_id!r})"


def init(conf: Config | None = None) -> ClientInfo:
    """Connects this driver to a runtime: the configured address, $YR_SERVER_ADDRESS, the one
    `yr start` made current, or else a temporary local runtime that ends with this driver.
    Raises InitError if called twice."""
    conf = conf or Config()
    if not isinstance(conf, Config):
        raise YRTypeError(f"yr.init takes a yr.Config, got {type(conf).__name__}")
    conf.check()  # again: fields may have been set after the Config was made
    logging.getLogger("yr").setLevel(conf.python_log_level())
    if conf.env_file:
        os.environ.update(_read_env_file(conf.env_file))
    rt = _context.init_driver(conf)
    return ClientInfo(rt.job_id)


def _read_env_file(path: str) -> dict:
    """KEY=VALUE lines; blank lines and lines starting with # are skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise YRValueError(f"invalid Config.env_file: cannot read {path!r}: {e.strerror}") from None
    env = {}
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise YRValueError(f"invalid Config.env_file: {path}:{n} is not KEY=VALUE: {line[:60]!r}")
        env[key.strip()] = value.strip()
    return env


def finalize() -> None:
    """Terminates this driver's instances, frees its objects and stops a temporary runtime.
    Does nothing if yr is not initialized; raises InitError inside a worker (only a driver
    may finalize)."""
    _context.finalize()


def is_initialized() -> bool:
    return _context.is_initialized()


def put(obj, create_param: CreateParam | None = None) -> ObjectRef:
    """Stores a value and returns a ref to it. bytes-like values come back as memoryview.
    create_param (yr.CreateParam): either consistency is kept (one store per node);
    CacheType.DISK is refused (not supported)."""
    rt = _context.current()
    check_create_param(create_param)
    if obj is None:
        raise YRValueError("yr.put: cannot put None")
    if isinstance(obj, ObjectRef):
        raise YRTypeError("yr.put: cannot put an ObjectRef (wrap it in a list)")
    if isinstance(obj, (bytes, bytearray, memoryview)) and len(obj) == 0:
        raise YRValueError("yr.put: cannot put an empty bytes-like value")
    return rt.put(obj)


def get(refs, timeout: float = 300, allow_partial: bool = False):
    """The value of one ref, or the list of values of a list of refs.

    timeout is in seconds (> 0), or -1 to wait forever; on timeout GetTimeoutError (a
    TimeoutError) is raised. A remote exception is re-raised as its original type."""
    _context.current()
    return _refs.get(refs, timeout, allow_partial)


def wait(refs, wait_num: int | None = None, timeout: float | None = None):
    """(ready, unready): returns when `wait_num` refs are ready or `timeout` passed."""
    _context.current()
    return _refs.wait(refs, wait_num, timeout)


def get_instance(name: str, namespace: str = "", timeout: float = 60) -> InstanceProxy:
    """The handle of the named instance, once it is running. Raises InstanceNotFoundError if
    there is none, YRTimeoutError if it is not running within `timeout` seconds."""
    return InstanceProxy(_instances.find_named(_context.current(), name, namespace, timeout))


def kill_instance(instance_id: str) -> None:
    _context.current().master.terminate(instance_id, wait=True)


def resources() -> list[dict]:
    """Nodes with their capacity and what is allocatable now."""
    st = _context.current().master.status()
    out = []
    for n in st.nodes:
        def conv(r):
            d = {"CPU": r.cpu_millis, "Memory": r.memory_mib}
            d.update(dict(r.custom))
            return d
        out.append({"id": n.node_id, "status": 0, "capacity": conv(n.total), "allocatable": conv(n.available)})
    return out


def save_state(timeout_sec: int = 30) -> None:
    """Inside a method: saves the instance so that a restart (recover_retry_times) resumes
    from this state instead of running the constructor again. Raises YRTypeError
    ("an integer is required", as openYuanrong) if timeout_sec is not an int."""
    _context.save_state(_check_timeout(timeout_sec))


def load_state(timeout_sec: int = 30) -> None:
    """Inside a method: puts back the state saved last by yr.save_state. Raises
    YRRuntimeError "Failed to load state ..." if nothing was saved."""
    _context.load_state(_check_timeout(timeout_sec))


def _check_timeout(timeout_sec) -> int:
    if isinstance(timeout_sec, bool) or not isinstance(timeout_sec, int):
        # The builtin, as openYuanrong: called inside a method (the only place these work), it
        # reaches the caller as YRInvokeError(TypeError), which `except TypeError` catches.
        raise TypeError(f"an integer is required (timeout_sec), got {type(timeout_sec).__name__}")
    if timeout_sec <= 0:
        raise YRValueError(f"timeout_sec must be > 0 seconds, got {timeout_sec}")
    return timeout_sec
