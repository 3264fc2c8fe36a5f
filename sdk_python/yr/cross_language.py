"""Python calling C++ and Java: `yr.cpp_function`, `yr.cpp_instance_class`,
`yr.java_function`, `yr.java_instance_class` (openYuanrong's spellings; docs/cross-language.md).

No registration step: the code comes from `$YR_CPP_CODE_PATH` / `Config.cpp_code_path`
(a C++ executable built with the yr C++ SDK) and `$YR_JAVA_CODE_PATH` /
`Config.java_code_path` (a Java class path), resolved at the first invoke (see `_xlang`).
URNs are accepted and ignored.
"""
from __future__ import annotations

import hashlib
import json

from . import _context, _instances
from . import _protocol as P
from ._decorators import InstanceProxy, _check_options
from ._xlang import check_args, cpp_executable, java_classpath
from .config import InvokeOptions

__all__ = ["cpp_function", "cpp_instance_class", "java_function", "java_instance_class"]


def _where(spec: dict) -> str:
    return spec.get("executable") or spec.get("classpath", "")


class CrossLanguageFunction:
    """A stateless C++ or Java function. `invoke(*args)` returns an ObjectRef."""

    def __init__(self, language: str, target: dict, label: str):
        self._language, self._target, self._label = language, dict(target), label
        self._options = InvokeOptions()
        self._urn = ""
        self._code: tuple | None = None   # (key, code, spec), made at the first invoke

    def options(self, opt: InvokeOptions) -> "CrossLanguageFunction":
        """Sets the options of later calls (openYuanrong semantics: mutates and returns self)."""
        self._options = _check_options(opt)
        return self

    def set_urn(self, urn: str) -> "CrossLanguageFunction":
        """Accepted for openYuanrong compatibility; yr needs no URN."""
        self._urn = str(urn or "")
        return self

    def _spec(self) -> tuple:
        if self._code is None:
            spec = {"language": self._language, **self._target}
            if self._language == "cpp":
                spec["executable"] = cpp_executable()
            else:
                spec["classpath"] = java_classpath()
            code = json.dumps(spec, sort_keys=True).encode()
            self._code = (f"{self._label}:{hashlib.sha1(code).hexdigest()[:16]}", code, spec)
        return self._code

    def invoke(self, *args, **kwargs):
        args = check_args(args, kwargs, self._label)
        key, code, spec = self._spec()
        pool = _instances.pool(_context.current(), self._options, self._language, _where(spec), spec)
        return pool.submit(key, code, tuple(args), {}, self._options.retry_times)

    def __repr__(self) -> str:
        return f"<yr {self._language} function {self._label}>"


class CrossLanguageInstanceCreator:
    """Creates instances of a C++ or Java class: `.options(opt).invoke(*args)` -> handle."""

    def __init__(self, language: str, target: dict, label: str):
        self._language, self._target, self._label = language, dict(target), label
        self._options = InvokeOptions()
        self._urn = ""

    def options(self, opt: InvokeOptions) -> "CrossLanguageInstanceCreator":
        self._options = _check_options(opt)
        return self

    def set_urn(self, urn: str) -> "CrossLanguageInstanceCreator":
        """Accepted for openYuanrong compatibility; yr needs no URN."""
        self._urn = str(urn or "")
        return self

    def get_class_name(self) -> str:
        return self._target["class"]

    def get_factory_name(self) -> str:
        return self._target.get("factory", "")

    def invoke(self, *args, **kwargs) -> "CrossLanguageInstance":
        args = check_args(args, kwargs, self._label)
        spec = {"language": self._language, **self._target}
        if self._language == "cpp":
            spec["executable"] = cpp_executable()
        else:
            spec["classpath"] = java_classpath()
        rt = _context.current()
        class_name = spec["class"]
        code = _instances.constructor_code(None, args, {}, class_name, spec=spec)
        pb_spec = _instances.make_spec(rt, class_name, code, self._options, language=self._language,
                                       executable=spec.get("executable", ""))
        return CrossLanguageInstance(_instances.create(rt, pb_spec), _method_prefix(spec))


def _method_prefix(spec: dict) -> str:
    """C++ methods are registered as "&Class::Method"; Java ones by their name."""
    return f"&{spec['class']}::" if spec["language"] == "cpp" else ""


class CrossLanguageMethod:
    __slots__ = ("_target", "_name")

    def __init__(self, target, name: str):
        self._target, self._name = target, name

    def invoke(self, *args, **kwargs):
        args = check_args(args, kwargs, self._name)
        return self._target.submit(P.CALL, self._name, tuple(args), {})

    def options(self, opt: InvokeOptions | None = None) -> "CrossLanguageMethod":
        """Accepted for openYuanrong compatibility: options belong to the instance."""
        return self

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"call remote methods with .invoke(): {self._name}.invoke(...)")


class CrossLanguageInstance(InstanceProxy):
    """A handle to a C++ or Java instance: `ins.Add.invoke(9)` calls C++ `&Counter::Add` (or
    Java `Add`); a full registered name works too (`getattr(ins, "&Counter::Add")`). Passes
    to any function or method of any language like every handle."""

    def __init__(self, target, prefix: str):
        super().__init__(target, None)
        self._prefix = prefix

    def __getattr__(self, name: str) -> CrossLanguageMethod:
        if name.startswith("__") or name in ("_target", "_methods", "_prefix"):
            raise AttributeError(name)
        return CrossLanguageMethod(self._target, name if name.startswith("&") else self._prefix + name)

    def __reduce__(self):
        t = self._target
        return (_rebuild, (t.instance_id, t.class_name, t.endpoint, self._prefix))


def _rebuild(instance_id, class_name, endpoint, prefix):
    return CrossLanguageInstance(_instances.attach(_context.current(), instance_id, class_name, endpoint), prefix)


def cpp_function(function_name: str, function_urn: str = "") -> CrossLanguageFunction:
    """A C++ function registered with YR_INVOKE in the program at $YR_CPP_CODE_PATH."""
    _name(function_name, "function_name")
    return CrossLanguageFunction("cpp", {"function": function_name}, function_name).set_urn(function_urn)


def cpp_instance_class(class_name: str, factory_name: str, function_urn: str = "") -> CrossLanguageInstanceCreator:
    """A C++ class whose factory (e.g. "Counter::FactoryCreate") is registered with YR_INVOKE."""
    _name(class_name, "class_name")
    _name(factory_name, "factory_name")
    return CrossLanguageInstanceCreator("cpp", {"class": class_name, "factory": factory_name},
                                        factory_name).set_urn(function_urn)


def java_function(class_name: str, function_name: str, function_urn: str = "") -> CrossLanguageFunction:
    """A public static Java method, found by name and argument count on $YR_JAVA_CODE_PATH."""
    _name(class_name, "class_name")
    _name(function_name, "function_name")
    return CrossLanguageFunction("java", {"class": class_name, "function": function_name},
                                 f"{class_name}.{function_name}").set_urn(function_urn)


def java_instance_class(class_name: str, function_urn: str = "") -> CrossLanguageInstanceCreator:
    """A Java class (fully qualified), constructed with the constructor taking as many
    arguments as given; its methods are found by name and argument count."""
    _name(class_name, "class_name")
    return CrossLanguageInstanceCreator("java", {"class": class_name, "constructor": "<init>"},
                                        class_name).set_urn(function_urn)


def _name(value, what: str) -> None:
    from .exceptions import YRTypeError, YRValueError
    if not isinstance(value, str):
        raise YRTypeError(f"{what} must be a str, got {type(value).__name__}")
    if not value.strip():
        raise YRValueError(f"{what} must not be empty")
