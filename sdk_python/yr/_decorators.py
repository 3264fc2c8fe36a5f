"""@yr.instance and @yr.invoke: what users hold in their hands.

`Cls.invoke(...)` returns an `InstanceProxy` at once; `proxy.method.invoke(...)` returns an
ObjectRef. `f.invoke(...)` runs a stateless function on pooled workers.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import inspect

from . import _context, _instances
from . import _protocol as P
from . import _serialization
from .config import InvokeOptions
from .exceptions import YRTypeError, YRValueError


def _check_options(opt) -> InvokeOptions:
    if not isinstance(opt, InvokeOptions):
        raise YRTypeError(f"options must be a yr.InvokeOptions, got {type(opt).__name__}")
    return copy.deepcopy(opt).check()


def _public_methods(cls) -> frozenset:
    return frozenset(n for n, v in inspect.getmembers(cls) if callable(v) and not n.startswith("__"))


class InstanceCreator:
    """What `@yr.instance` turns a class into. `invoke(...)` creates a remote instance."""

    def __init__(self, cls, options: InvokeOptions | None = None):
        if not inspect.isclass(cls):
            raise YRTypeError(f"@yr.instance decorates classes, got {type(cls).__name__}")
        self.__yr_wrapped__ = cls
        self._options = _check_options(options or InvokeOptions())
        self._methods: frozenset | None = None  # computed on first use: when unpickled, cls may be incomplete
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
        new._options = _check_options(opt)
        return new

    def invoke(self, *args, **kwargs) -> "InstanceProxy":
        rt = _context.current()
        cls = self.__yr_wrapped__
        if self._code is None:
            self._code = _serialization.dumps_function(cls)
        code = _instances.constructor_code(self._code, args, kwargs, cls.__name__)
        spec = _instances.make_spec(rt, cls.__qualname__, code, self._options)
        if self._methods is None:
            self._methods = _public_methods(cls)
        return InstanceProxy(_instances.create(rt, spec), self._methods)

    def get_instance(self, name: str, namespace: str = "", timeout: float = 60) -> "InstanceProxy":
        from ._api import get_instance
        return get_instance(name, namespace, timeout)

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
    elif hasattr(opt, key):
        setattr(opt, key, value)
    else:
        raise YRValueError(f"unknown option {key!r}")


class MethodProxy:
    __slots__ = ("_target", "_name")

    def __init__(self, target, name: str):
        self._target, self._name = target, name

    def invoke(self, *args, **kwargs):
        return self._target.submit(P.CALL, self._name, args, kwargs)

    def options(self, opt: InvokeOptions | None = None, **_kwargs) -> "MethodProxy":
        if opt is not None:
            _check_options(opt)
        return self

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"call remote methods with .invoke(): {self._target.class_name}.{self._name}.invoke(...)")


class InstanceProxy:
    """A handle to a remote instance. Can be passed to other functions and instances."""

    def __init__(self, target, methods: frozenset | None = None):
        self._target = target
        self._methods = methods

    def __getattr__(self, name: str) -> MethodProxy:
        if name.startswith("__") or name in ("_target", "_methods"):
            raise AttributeError(name)
        if self._methods is not None and name not in self._methods:
            raise AttributeError(f"{self._target.class_name} has no method {name!r} "
                                 f"(it has: {', '.join(sorted(self._methods)) or 'none'})")
        return MethodProxy(self._target, name)

    @property
    def instance_id(self) -> str:
        return self._target.instance_id

    def is_activate(self) -> bool:
        return not self._target.terminated and self._target.error is None

    def terminate(self, is_sync: bool = False) -> None:
        """Stops the instance. Calls not yet answered fail; later calls raise at once."""
        t = self._target
        if t.terminated:
            return
        t.mark_terminated()
        rt = _context.current()
        rt.created.pop(t.instance_id, None)
        fut = rt.master.terminate(t.instance_id, wait=is_sync)
        if not is_sync:
            rt.pending_terminations.append(fut)

    def __repr__(self) -> str:
        return f"<yr instance {self._target.class_name} {self._target.instance_id}>"

    def __reduce__(self):
        t = self._target
        return (_rebuild_proxy, (t.instance_id, t.class_name, self._methods, getattr(t, "endpoint", "")))


def _rebuild_proxy(instance_id, class_name, methods, endpoint):
    return InstanceProxy(_instances.attach(_context.current(), instance_id, class_name, endpoint), methods)


class FunctionProxy:
    """What `@yr.invoke` turns a function into. `invoke(...)` runs it remotely."""

    def __init__(self, fn, options: InvokeOptions | None = None):
        if not inspect.isfunction(fn):
            raise RuntimeError(f"@yr.invoke decorates plain functions, got {type(fn).__name__}")
        self.__yr_wrapped__ = fn
        self._options = _check_options(options or InvokeOptions())
        self._code: bytes | None = None
        self._key = ""
        functools.update_wrapper(self, fn, updated=())

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"invoke function cannot be called directly: use {self.__yr_wrapped__.__name__}.invoke(...)")

    def options(self, opt: InvokeOptions) -> "FunctionProxy":
        """Sets the options of later calls (openYuanrong semantics: mutates and returns self)."""
        self._options = _check_options(opt)
        return self

    def invoke(self, *args, **kwargs):
        rt = _context.current()
        if self._code is None:
            self._code = _serialization.dumps_function(self.__yr_wrapped__)
            self._key = f"{self.__yr_wrapped__.__qualname__}:{hashlib.sha1(self._code).hexdigest()[:16]}"
        return _pool(rt, self._options).submit(self._key, self._code, args, kwargs)

    def get_original_func(self):
        return self.__yr_wrapped__

    def __reduce__(self):
        return (FunctionProxy, (self.__yr_wrapped__, self._options))


def _pool(rt, opts: InvokeOptions, language: str = "python", executable: str = "", spec=None):
    key = (language, executable, opts.cpu, opts.memory, tuple(sorted(opts.custom_resources.items())),
           tuple(sorted(opts.env_vars.items())))
    pool = rt.pools.get(key)
    if pool is None:
        pool = rt.pools[key] = _instances.ExecutorPool(rt, opts, language, executable, spec)
    return pool


def instance(cls=None, *, invoke_options: InvokeOptions | None = None):
    """Class decorator: `@yr.instance` or `@yr.instance(invoke_options=opt)`."""
    if cls is None:
        return lambda c: InstanceCreator(c, invoke_options)
    return InstanceCreator(cls, invoke_options)


def invoke(fn=None, *, invoke_options: InvokeOptions | None = None, return_nums: int = 1):
    """Function decorator: `@yr.invoke` or `@yr.invoke(invoke_options=opt)`."""
    if return_nums != 1:
        raise YRValueError("return_nums other than 1 is not supported yet")
    if fn is None:
        return lambda f: FunctionProxy(f, invoke_options)
    return FunctionProxy(fn, invoke_options)
