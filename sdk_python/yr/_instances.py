"""Creating instances and stateless-function executors through the master."""
from __future__ import annotations

import json
import os
import sys
import threading

from . import _serialization
from ._calls import Target
from .config import InvokeOptions
from .exceptions import SerializationError, YRError
from .object_ref import new_id


_env_cache: dict = {}


def driver_env(opts: InvokeOptions, custom_envs: dict | None = None) -> str:
    """The import path, working directory and env vars a worker takes from its driver (JSON):
    Config.custom_envs, then the options' env_vars (which win).
    Cached: it is asked for at every creation and rarely changes."""
    env_vars = {**(custom_envs or {}), **opts.env_vars}
    key = (tuple(sys.path), os.getcwd(), tuple(sorted(env_vars.items())))
    env = _env_cache.get(key)
    if env is None:
        paths = [p for p in sys.path if p and os.path.isdir(p)]
        env = json.dumps({"sys_path": paths, "cwd": key[1], "env_vars": env_vars})
        _env_cache.clear()
        _env_cache[key] = env
    return env


def make_spec(rt, class_name: str, code: bytes, opts: InvokeOptions, *, language: str = "python",
              executable: str = "", hidden: bool = False, concurrency: int | None = None):
    from yr_runtime.proto import control_pb2 as pb  # protobuf and gRPC load only where instances are made
    return pb.InstanceSpec(
        instance_id=f"{class_name.split('.')[-1][:24]}-{new_id()}".replace(" ", "_"),
        job_id=rt.job_id, language=language, class_name=class_name, code=code,
        resources=pb.Resources(cpu_millis=int(opts.cpu), memory_mib=int(opts.memory),
                               custom={k: float(v) for k, v in opts.custom_resources.items()}),
        concurrency=concurrency or opts.effective_concurrency(),
        name=opts.name, namespace=opts.namespace or (rt.namespace if opts.name else ""),
        recover_retry_times=opts.recover_retry_times, detached=opts.detached,
        schedule_timeout_ms=int(opts.schedule_timeout_ms), executable=executable,
        driver_env=driver_env(opts, rt.config and rt.config.custom_envs), hidden=hidden)


def constructor_code(cls_code: bytes | None, args, kwargs, class_name: str, spec: dict | None = None) -> bytes:
    body = {"args": list(args), "kwargs": dict(kwargs)}
    if cls_code is not None:
        body["cls"] = cls_code
    if spec is not None:
        body["spec"] = spec
    try:
        return _serialization.dumps(body)
    except SerializationError:
        for i, a in enumerate(args):
            try:
                _serialization.discard(_serialization.dumps(a))   # frees the file of one that succeeds
            except SerializationError as e:
                raise SerializationError(f"argument {i} of {class_name}() ({type(a).__name__}) cannot be "
                                         f"serialized: {e.__cause__ or e}") from None
        raise


def create(rt, spec) -> Target:
    """Asks the master for an instance; returns its Target at once (named: after the answer)."""
    from ._control import MasterClient
    timeout = None if spec.schedule_timeout_ms < 0 else spec.schedule_timeout_ms / 1000 + 60
    fut = rt.master.create_instance_async(spec, timeout)
    if spec.name:
        reply = MasterClient.result_of(fut, f"create instance {spec.name!r}")
        target = rt.target(reply.instance.instance_id, reply.instance.class_name)
        target.detached = reply.instance.detached
        if not reply.existed:
            rt.created[target.instance_id] = target
        if target.channel is None:
            target.endpoint = reply.instance.endpoint
            target.connect(reply.instance.endpoint)
        return target
    target = rt.target(spec.instance_id, spec.class_name)
    target.detached = spec.detached
    rt.created[target.instance_id] = target

    def done(f):
        try:
            info = MasterClient.result_of(f, f"create {spec.class_name}").instance
        except YRError as e:
            target.fail(e)
            return
        target.endpoint = info.endpoint
        target.connect(info.endpoint)
    fut.add_done_callback(done)
    return target


def attach(rt, instance_id: str, class_name: str, endpoint: str = "") -> Target:
    """The Target for an instance this process did not create (a handle that arrived)."""
    target = rt.target(instance_id, class_name)
    if target.channel is not None or getattr(target, "_attaching", False):
        return target
    target._attaching = True
    if endpoint:
        target.endpoint = endpoint
        target.connect(endpoint)
        return target

    def lookup():
        try:
            info = rt.master.get_instance(instance_id=instance_id, timeout=60)
        except YRError as e:
            target.fail(e)
            return
        target.endpoint = info.endpoint
        target.connect(info.endpoint)
    threading.Thread(target=lookup, name="yr-attach", daemon=True).start()
    return target


class ExecutorPool:
    """Hidden instances that run stateless calls; grows while every executor is busy."""

    def __init__(self, rt, opts: InvokeOptions, language: str = "python", executable: str = "",
                 spec: dict | None = None, max_size: int | None = None):
        self.rt, self.opts = rt, opts
        self.language, self.executable, self.spec = language, executable, spec
        self.max_size = max_size or max(2, os.cpu_count() or 2)
        self.targets: list[Target] = []
        self.inflight: dict[str, int] = {}
        self._lock = threading.Lock()

    def submit(self, key: str, code: bytes, args, kwargs):
        from . import _protocol as P
        with self._lock:
            t = self._pick()
            self.inflight[t.instance_id] = self.inflight.get(t.instance_id, 0) + 1
        try:
            ref = t.submit(P.FUNC, key, args, kwargs, code=code)
        except BaseException:
            self._done(t.instance_id)
            raise
        ref._slot.add_callback(lambda _s, iid=t.instance_id: self._done(iid))
        return ref

    def _done(self, iid: str) -> None:
        with self._lock:
            self.inflight[iid] = self.inflight.get(iid, 1) - 1

    def _pick(self) -> Target:
        self.targets = [t for t in self.targets if t.error is None and not t.terminated]
        if self.targets:
            best = min(self.targets, key=lambda t: self.inflight.get(t.instance_id, 0))
            if self.inflight.get(best.instance_id, 0) == 0 or len(self.targets) >= self.max_size:
                return best
        code = _serialization.dumps({"executor": True, "spec": self.spec, "args": [], "kwargs": {}})
        label = "stateless" if self.language == "python" else f"stateless-{self.language}"
        opts = InvokeOptions(cpu=self.opts.cpu, memory=self.opts.memory,
                             custom_resources=dict(self.opts.custom_resources),
                             env_vars=dict(self.opts.env_vars), schedule_timeout_ms=self.opts.schedule_timeout_ms)
        spec = make_spec(self.rt, label, code, opts, language=self.language,
                         executable=self.executable, hidden=True, concurrency=1)
        t = create(self.rt, spec)
        self.targets.append(t)
        return t
