"""@yr.instance and @yr.invoke: what users hold in their hands.

`Cls.invoke(...)` returns an `InstanceProxy` at once; `proxy.method.invoke(...)` returns an
ObjectRef. `f.invoke(...)` runs a stateless function on pooled workers.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import inspect

from . import _context, _instances, _results
from . import _protocol as P
from . import _serialization
from ._invoke_checks import recover_timeout
from .config import ASYNC_DEFAULT_CONCURRENCY, InvokeOptions, option_names
from .exceptions import YRRuntimeError, YRTypeError, YRValueError


def _check_options(opt) -> InvokeOptions:
    if not isinstance(opt, InvokeOptions):
        raise YRTypeError(f"options must be a yr.InvokeOptions, got {type(opt).__name__}")
    return copy.deepcopy(opt).check()


def _check_instance_options(opt) -> InvokeOptions:
    opt = _check_options(opt)
    if opt.retry_times:
        raise YRValueError("InvokeOptions.retry_times is not supported for instances (it retries stateless "
                           "functions); use recover_retry_times to restart an instance whose worker died")
    for name in ("min_instances", "max_instances"):
        if getattr(opt, name) not in (0, -1):
            raise YRValueError(f"InvokeOptions.{name} applies to stateless functions, not to instances")
    return opt


def _check_function_options(opt) -> InvokeOptions:
    opt = _check_options(opt)
    if opt.idle_timeout not in (None, -1):
        raise YRValueError("InvokeOptions.idle_timeout applies to instances; stateless executors are recycled "
                           "after Config.recycle_time")
    if opt.group_name:
        raise YRValueError("InvokeOptions.group_name applies to instances (yr.Group), not to stateless functions")
    for key in ("GRACEFUL_SHUTDOWN_TIME", "RECOVER_RETRY_TIMEOUT"):
        if key in opt.custom_extensions:
            raise YRValueError(f"InvokeOptions.custom_extensions[{key!r}] applies to instances, not to "
                               "stateless functions")
    return opt


def _public_methods(cls) -> frozenset:
    return frozenset(n for n, v in inspect.getmembers(cls) if callable(v) and not n.startswith("__"))


def _has_async_methods(cls) -> bool:
    """openYuanrong's rule: a class with any `async def` (or async generator) method is async,
    and an async class's unset concurrency is 1000."""
    return any(inspect.iscoroutinefunction(v) or inspect.isasyncgenfunction(v)
               for _, v in inspect.getmembers(cls, callable))


class InstanceCreator:
    """What `@yr.instance` turns a class into. `invoke(...)` creates a remote instance."""

    def __init__(self, cls, options: InvokeOptions | None = None):
        if not inspect.isclass(cls):
            raise YRTypeError(f"@yr.instance decorates classes, got {type(cls).__name__}")
        self.__yr_wrapped__ = cls
        self._options = _check_instance_options(options or InvokeOptions())
        self._methods: frozenset | None = None  # computed on first use: when unpickled, cls may be incomplete
        self._shapes: dict | None = None         # likewise: methods with return_nums != 1 or generators
        self._concurrency = 0                    # likewise: the default depends on the methods being async
        self._code: bytes | None = None
        functools.update_wrapper(self, cls, updated=())

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"{self.__yr_wrapped__.__name__} is a yr instance class: create it with "
                           f"{self.__yr_wrapped__.__name__}.invoke(...)")

    def options(self, opt: InvokeOptions | None = None, **kwargs) -> "InstanceCreator":
        """A creator with these options (the original keeps its own). Keyword options set
        InvokeOptions fields; Ray's spellings work too: lifetime="detached",
        resources={...}, runtime_env={"env_vars": {...}}."""
        opt = copy.deepcopy(opt or self._options)
        for k, v in kwargs.items():
            _set_option(opt, k, v)
        new = copy.copy(self)
        new._options = _check_instance_options(opt)
        new._concurrency = 0
        return new

    def invoke(self, *args, **kwargs) -> "InstanceProxy":
        rt = _context.current()
        cls = self.__yr_wrapped__
        if self._code is None:
            self._code = _serialization.dumps_function(cls)
            _instances.remember_module(cls)
        code = _instances.constructor_code(self._code, args, kwargs, cls.__name__)
        if self._methods is None:
            self._methods = _public_methods(cls)
            self._shapes = _results.method_shapes(cls)
        if not self._concurrency:
            default = ASYNC_DEFAULT_CONCURRENCY if _has_async_methods(cls) else 1
            self._concurrency = self._options.effective_concurrency(default)
        spec = _instances.make_spec(rt, cls.__qualname__, code, self._options, concurrency=self._concurrency)
        if self._options.group_name:   # created later, with its yr.Group
            from .group import enlist
            target = enlist(rt, spec, self._options)
        else:
            target = _instances.create(rt, spec)
        if "RECOVER_RETRY_TIMEOUT" in self._options.custom_extensions:
            target.recover_timeout = recover_timeout(self._options)
        return InstanceProxy(target, self._methods, self._shapes)

    def get_instance(self, name: str, namespace: str = "", timeout: float = 60) -> "InstanceProxy":
        """The handle of the named instance (as `yr.get_instance`)."""
        return InstanceProxy(_instances.find_named(_context.current(), name, namespace, timeout),
                             None, _results.method_shapes(self.__yr_wrapped__))

    def function_type(self) -> str:
        """`module.Class`: how checkpoints name the class they were taken of."""
        return f"{self.__yr_wrapped__.__module__}.{self.__yr_wrapped__.__qualname__}"

    def list_checkpoints(self, namespace: str = "") -> list:
        """The ids of the checkpoints taken of instances of this class (docs/groups.md)."""
        from . import _groups   # gRPC loads only where it is used (`import yr` loads none)
        rt = _context.current()
        return [cid for cid, _ in _groups.list_checkpoints(rt.master, self.function_type(), namespace)]

    def __reduce__(self):
        return (InstanceCreator, (self.__yr_wrapped__, self._options))


def _set_option(opt: InvokeOptions, key: str, value) -> None:
    if key == "lifetime":
        if value not in ("detached", None, "non_detached"):
            raise YRValueError(f"lifetime must be 'detached' or None, got {value!r}")
        opt.custom_extensions = dict(opt.custom_extensions)
        if value == "detached":
            opt.custom_extensions["lifecycle"] = "detached"
        else:
            opt.custom_extensions.pop("lifecycle", None)
    elif key == "resources":
        opt.custom_resources = dict(value or {})
    elif key == "runtime_env":
        unknown = set(value or {}) - {"env_vars"}
        if unknown:
            raise YRValueError(f"runtime_env supports only env_vars, got {', '.join(sorted(unknown))}")
        opt.env_vars = dict((value or {}).get("env_vars") or {})
    elif key in option_names():   # only real fields: hasattr would also match methods like `check`
        setattr(opt, key, value)
    else:
        raise YRValueError(f"unknown option {key!r} (InvokeOptions fields, lifetime, resources and "
                           "runtime_env are accepted)")


class MethodProxy:
    __slots__ = ("_target", "_name")

    def __init__(self, target, name: str):
        self._target, self._name = target, name

    def invoke(self, *args, **kwargs):
        return self._target.submit(P.CALL, self._name, args, kwargs)

    def options(self, opt: InvokeOptions | None = None, **kwargs) -> "MethodProxy":
        """Per-call options are not built: options belong to the instance (set them on the
        class). Accepts only None or default InvokeOptions; anything else is refused."""
        if kwargs:
            raise YRValueError(f"method options are not supported ({', '.join(sorted(kwargs))}): "
                               "set options when creating the instance")
        if opt is not None:
            opt, default = _check_options(opt), InvokeOptions()
            changed = [f.name for f in dataclasses.fields(opt) if getattr(opt, f.name) != getattr(default, f.name)]
            if changed:
                raise YRValueError(f"method options are not supported (InvokeOptions.{', '.join(changed)} would "
                                   "have no effect on a method call): set them when creating the instance")
        return self

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"call remote methods with .invoke(): {self._target.class_name}.{self._name}.invoke(...)")


class _ShapedMethodProxy(MethodProxy):
    """A method declared with @yr.method(return_nums=N != 1), or a generator method."""
    __slots__ = ("_shape",)

    def __init__(self, target, name: str, shape):
        super().__init__(target, name)
        self._shape = shape

    def invoke(self, *args, **kwargs):
        t, name = self._target, self._name
        return _results.invoke_shaped(
            self._shape, lambda _stream, make_call: t.submit(P.CALL, name, args, kwargs, make_call=make_call),
            f"{t.class_name}.{name}")


class InstanceProxy:
    """A handle to a remote instance. Can be passed to other functions and instances."""

    def __init__(self, target, methods: frozenset | None = None, shapes: dict | None = None):
        self._target = target
        self._methods = methods
        self._shapes = shapes   # {method: shape} of methods with several returns or generators

    def __getattr__(self, name: str) -> MethodProxy:
        if name.startswith("__") or name in ("_target", "_methods", "_shapes"):
            raise AttributeError(name)
        if self._methods is not None and name not in self._methods:
            raise AttributeError(f"{self._target.class_name} has no method {name!r} "
                                 f"(it has: {', '.join(sorted(self._methods)) or 'none'})")
        shapes = self._shapes
        if shapes is not None and name in shapes:
            proxy = _ShapedMethodProxy(self._target, name, shapes[name])
        else:
            proxy = MethodProxy(self._target, name)
        # Kept as an attribute of this handle (method proxies hold no state of their own):
        # `h.add.invoke(1)` in a loop then finds it without calling __getattr__ again.
        self.__dict__[name] = proxy
        return proxy

    @property
    def instance_id(self) -> str:
        return self._target.instance_id

    @property
    def real_id(self) -> str:
        """openYuanrong's runtime-assigned id; in yr the instance id is final when the handle exists."""
        return self._target.instance_id

    def is_activate(self) -> bool:
        return not self._target.terminated and self._target.error is None

    def snapshot(self, ttl: int = -1, leave_running: bool = False) -> str:
        """Takes a checkpoint of the instance: the state `yr.save_state` would save, taken
        now, after the calls this handle sent before; returns its id. `ttl` seconds it is kept
        (-1: 600, 0: until deleted). Unless `leave_running`, the instance is terminated after.
        Raises YRRuntimeError if the instance is not active (docs/groups.md)."""
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not isinstance(leave_running, bool):
            raise YRTypeError("snapshot(ttl: int, leave_running: bool)")
        if ttl < -1:
            raise YRValueError(f"snapshot: ttl must be -1 (600 s), 0 (until deleted) or > 0 seconds, got {ttl}")
        if not self.is_activate():
            raise YRRuntimeError(f"Instance {self.instance_id} is not active")
        from . import _groups
        ftype, state = MethodProxy(self._target, P.CHECKPOINT_METHOD).invoke().get(timeout=300)
        rt = _context.current()
        cid = _groups.snapshot(rt.master, self.instance_id, ftype, rt.namespace or "", state, ttl)
        if not leave_running:
            self.terminate()
        return cid

    def terminate(self, is_sync: bool = False) -> None:
        """Stops the instance. Calls not yet answered fail; later calls raise at once."""
        if not self._target.terminated:
            _instances.terminate(_context.current(), self._target, is_sync)

    def __repr__(self) -> str:
        return f"<yr instance {self._target.class_name} {self._target.instance_id}>"

    def __reduce__(self):
        t = self._target
        return (_rebuild_proxy, (t.instance_id, t.class_name, self._methods, t.endpoint, self._shapes, t.epoch))


def _rebuild_proxy(instance_id, class_name, methods, endpoint, shapes=None, epoch=0):
    return InstanceProxy(_instances.attach(_context.current(), instance_id, class_name, endpoint, epoch),
                         methods, shapes)


class FunctionProxy:
    """What `@yr.invoke` turns a function into. `invoke(...)` runs it remotely."""

    def __init__(self, fn, options: InvokeOptions | None = None, return_nums: int = 1):
        if not inspect.isfunction(fn):
            raise RuntimeError(f"@yr.invoke decorates plain functions, got {type(fn).__name__}")
        self.__yr_wrapped__ = fn
        self._options = _check_function_options(options or InvokeOptions())
        self._return_nums = _results.check_return_nums(return_nums)
        self._shape = _results.shape_of(fn, return_nums)   # None: one return (the common path)
        self._code: bytes | None = None
        self._key = ""
        functools.update_wrapper(self, fn, updated=())

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"invoke function cannot be called directly: use {self.__yr_wrapped__.__name__}.invoke(...)")

    def options(self, opt: InvokeOptions) -> "FunctionProxy":
        """Sets the options of later calls (openYuanrong semantics: mutates and returns self)."""
        self._options = _check_function_options(opt)
        return self

    def invoke(self, *args, **kwargs):
        rt = _context.current()
        if self._code is None:
            self._code = _serialization.dumps_function(self.__yr_wrapped__)
            _instances.remember_module(self.__yr_wrapped__)
            self._key = f"{self.__yr_wrapped__.__qualname__}:{hashlib.sha1(self._code).hexdigest()[:16]}"
        pool = _instances.pool(rt, self._options)
        if self._shape is None:
            return pool.submit(self._key, self._code, args, kwargs, self._options.retry_times)
        return _results.invoke_shaped(self._shape, lambda stream, make_call: pool.submit(
            self._key, self._code, args, kwargs, 0 if stream else self._options.retry_times, make_call=make_call),
            self.__yr_wrapped__.__qualname__)

    def get_original_func(self):
        return self.__yr_wrapped__

    def __reduce__(self):
        return (FunctionProxy, (self.__yr_wrapped__, self._options, self._return_nums))


def instance(cls=None, *, invoke_options: InvokeOptions | None = None):
    """Class decorator: `@yr.instance` or `@yr.instance(invoke_options=opt)`."""
    if cls is None:
        return lambda c: InstanceCreator(c, invoke_options)
    return InstanceCreator(cls, invoke_options)


def invoke(fn=None, *, invoke_options: InvokeOptions | None = None, return_nums: int | None = None):
    """Function decorator: `@yr.invoke` or `@yr.invoke(invoke_options=opt, return_nums=N)`.
    return_nums (int in [0, 100], default 1): 0 makes `invoke` return None, N > 1 a list of
    N refs (the function returns a tuple or list of N values). A function that `yield`s
    returns an ObjectRefGenerator instead."""
    n = 1 if return_nums is None else _results.check_return_nums(return_nums)
    if fn is None:
        return lambda f: FunctionProxy(f, invoke_options, n)
    return FunctionProxy(fn, invoke_options, n)


def method(*args, return_nums: int = 1, **kwargs):
    """Method decorator: `@yr.method(return_nums=N)` declares how many values a method of a
    `@yr.instance` class returns (as `@yr.invoke`'s return_nums). Other openYuanrong keywords
    (concurrency_group, tensor transport) are refused as not supported."""
    if kwargs:
        raise YRValueError(f"yr.method: {', '.join(sorted(kwargs))} not supported (only return_nums is)")
    n = _results.check_return_nums(return_nums)

    def annotate(fn):
        if not callable(fn):
            raise YRTypeError(f"@yr.method decorates methods, got {type(fn).__name__}")
        fn.__return_nums__ = n
        return fn
    if args:
        if len(args) == 1 and callable(args[0]):
            return annotate(args[0])
        raise YRTypeError("yr.method takes return_nums as a keyword: @yr.method(return_nums=2)")
    return annotate
