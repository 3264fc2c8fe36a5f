"""Hosts: what runs user code inside a worker (contract: docs/bridge.md).

The worker loop speaks the protocol; a host creates instances and binds their methods
and functions. Python classes and functions arrive pickled; C++ and Java bring their own
host objects, adapted here by ForeignHost.
"""
from __future__ import annotations

import json

from . import _serialization


class PythonHost:
    """Runs Python classes and functions shipped with cloudpickle."""

    def create_instance(self, spec, args, kwargs):
        cls = _serialization.loads_function(spec["cls"])
        cls = getattr(cls, "__yr_wrapped__", cls)
        return cls(*args, **kwargs)

    def bind_method(self, instance, method: str):
        fn = getattr(instance, method, None)
        if fn is None or method.startswith("__") or not callable(fn):
            raise AttributeError(f"{type(instance).__name__} has no method {method!r}")
        return fn

    def bind_function(self, code: bytes):
        fn = _serialization.loads_function(code)
        return getattr(fn, "__yr_wrapped__", fn)

    def save_state(self, instance):
        return instance   # the whole object, pickled by value

    def restore_instance(self, spec, state):
        return state

    def shutdown(self, instance) -> None:
        hook = getattr(instance, "__yr_shutdown__", None)
        if hook is not None:
            hook(5)


class ForeignHost:
    """Adapts a C++/Java host (create_instance/call_method/call_function) to the worker."""

    def __init__(self, host):
        self._h = host

    def create_instance(self, spec, args, kwargs):
        return self._h.create_instance(spec["spec"], list(args), dict(kwargs))

    def bind_method(self, instance, method):
        h = self._h
        if hasattr(h, "bind_method"):   # the host binds once (C++: one C call per call, no wrapper)
            return h.bind_method(instance, method)
        return lambda *a, **k: h.call_method(instance, method, list(a), dict(k))

    def bind_function(self, code: bytes):
        spec, h = json.loads(code), self._h
        if hasattr(h, "bind_function"):
            return h.bind_function(spec)
        return lambda *a, **k: h.call_function(spec, list(a), dict(k))

    @property
    def can_save(self) -> bool:
        return hasattr(self._h, "save_state") and hasattr(self._h, "restore_instance")

    def save_state(self, instance):
        if not hasattr(self._h, "save_state"):
            raise NotImplementedError("this language's host cannot save instance state")
        return self._h.save_state(instance)

    def restore_instance(self, spec, state):
        if not hasattr(self._h, "restore_instance"):
            raise NotImplementedError("this language's host cannot restore instance state")
        return self._h.restore_instance(spec["spec"], state)

    def shutdown(self, instance) -> None:
        if hasattr(self._h, "shutdown"):
            self._h.shutdown()


def host_for(language: str):
    """The host for an assignment's language: Python here, Java through yr._java_host."""
    if language == "java":
        from ._java_host import JavaHost
        return ForeignHost(JavaHost())
    return PythonHost()
