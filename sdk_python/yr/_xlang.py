"""Cross-language calls (issue 14; docs/cross-language.md): the one place that knows how a
target in another language is named, where its code comes from, which values may cross,
and how an error reads on the other side.

- **Python callers** use `cpp_function`, `cpp_instance_class`, `java_function` and
  `java_instance_class` (openYuanrong's spellings); the proxies build a bridge spec
  (docs/bridge.md) and go through `yr._bridge`, like the C++ and Java SDKs do.
- **C++ and Java callers** name Python targets with `{"language": "python", "module": m,
  "class": c}` or `{..., "function": f}`; `create_python` / `invoke_python` turn that into an
  ordinary Python instance or stateless call whose code is a `PyTarget`, a by-name reference
  that the worker imports from the caller's import path.
- **Where code comes from** (no meta service): C++ from `Config.cpp_code_path` or
  `$YR_CPP_CODE_PATH` (an executable built with the C++ SDK, or a directory holding one
  executable); Java from `Config.java_code_path` or `$YR_JAVA_CODE_PATH` (a class path);
  Python from the caller's working directory and import path (`sys.path`, which workers
  inherit), plus `Config.code_dir` and `Config.load_paths` when the caller set them.
  Missing code fails at the call, naming what was looked for and where.
- **Portable values**: None, bool, int (64-bit), float, str, bytes, list/tuple, dict with
  str keys, nested; ObjectRefs and instance handles. Anything else fails at the call with
  a YRTypeError naming its type and where it sits (`check_portable`). Only cross-language
  calls pay for the check: Python-to-Python calls never come here.
"""
from __future__ import annotations

import importlib
import os
import sys
import threading

from .exceptions import YRInvokeError, YRTypeError, YRValueError

CPP_ENV = "YR_CPP_CODE_PATH"
JAVA_ENV = "YR_JAVA_CODE_PATH"
_INT64 = (-(1 << 63), (1 << 63) - 1)
PORTABLE_TYPES = "None, bool, int (64-bit), float, str, bytes, list, dict with str keys, ObjectRef, instance handle"


# ---- values -------------------------------------------------------------------------------

def check_portable(value, where: str) -> None:
    """Raises YRTypeError if `value` holds anything but portable values, naming the first
    offending value's type and its position (`where`, then [i] / [key] steps)."""
    from ._decorators import InstanceProxy
    from .object_ref import ObjectRef
    stack = [(value, where)]
    while stack:
        v, path = stack.pop()
        if v is None or isinstance(v, (bool, float, str, bytes, bytearray, ObjectRef, InstanceProxy)):
            continue
        if isinstance(v, int):
            if not _INT64[0] <= v <= _INT64[1]:
                raise YRTypeError(f"{path}: the int {v} does not fit in 64 bits, so it cannot cross languages")
            continue
        if isinstance(v, (list, tuple)):
            stack.extend((x, f"{path}[{i}]") for i, x in enumerate(v))
            continue
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    raise YRTypeError(f"{path}: a dict key of type {type(k).__qualname__} ({k!r:.60}) cannot "
                                      "cross languages; keys must be str")
                stack.append((x, f"{path}[{k!r}]"))
            continue
        raise YRTypeError(f"{path}: a value of type {_type_name(v)} cannot cross languages "
                          f"(portable: {PORTABLE_TYPES})")


def _type_name(v) -> str:
    t = type(v)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def check_args(args, kwargs, name: str) -> list:
    """Positional arguments for a C++/Java/by-name Python target; kwargs are refused (C++ and
    Java have no keyword arguments; openYuanrong flattens them, which hides mistakes)."""
    if kwargs:
        raise YRValueError(f"{name}: keyword arguments cannot be passed across languages "
                           f"({', '.join(sorted(kwargs))}); pass them positionally")
    args = list(args)
    check_portable(args, f"{name} argument")
    return args


# ---- errors -------------------------------------------------------------------------------

def error_text(exc: BaseException) -> str:
    """How a remote error reads for a C++ or Java caller: the original type name, message and
    traceback text. A C++ user error keeps the C++ host's "failed to invoke X, exception: ..."."""
    if isinstance(exc, YRInvokeError):
        cause = exc.cause
        if getattr(cause, "cpp_type", None) or getattr(cause, "java_class", None):
            return str(cause)   # C++: "failed to invoke X, exception: what()"; Java: its stack trace
        kind = exc.type_name or (type(cause).__name__ if cause is not None else "")
        msg = str(cause) if cause is not None else ""
        head = f"{kind}: {msg}" if kind else msg
        return f"{head}\n{exc.traceback_str.rstrip()}" if exc.traceback_str else head
    return str(exc) or type(exc).__name__


def remote_class(exc: BaseException) -> str | None:
    """The original type name of a remote user error, or None."""
    if not isinstance(exc, YRInvokeError):
        return None
    cause = exc.cause
    return getattr(cause, "cpp_type", None) or getattr(cause, "java_class", None) or exc.type_name or None


# ---- where code comes from ----------------------------------------------------------------

def _config():
    from . import _context
    return _context.current().config   # raises InitError before yr.init()


def _split(paths: str) -> list[str]:
    return [p for p in paths.replace(",", os.pathsep).split(os.pathsep) if p]


def _code_path(explicit: str, field: str, env: str) -> tuple[str, str]:
    """(where it came from, the value) of the first of `explicit`, Config.<field> and $<env>
    that is set; ("", "") if none is."""
    cfg = _config()
    for source, value in (("the caller", explicit), (f"Config.{field}", getattr(cfg, field, "") or ""),
                          (f"${env}", os.environ.get(env, ""))):
        if value:
            return source, value
    return "", ""


def cpp_executable(explicit: str = "") -> str:
    """The absolute path of the C++ program that hosts C++ targets: `explicit`, else
    Config.cpp_code_path, else $YR_CPP_CODE_PATH. A directory must hold exactly one
    executable file. Raises YRValueError naming what was looked for and where."""
    source, raw = _code_path(explicit, "cpp_code_path", CPP_ENV)
    if not raw:
        raise YRValueError(f"no C++ code: set ${CPP_ENV} or Config.cpp_code_path to the executable "
                           "(built with the yr C++ SDK) that registers the C++ functions with YR_INVOKE")
    candidates = []
    for entry in _split(raw):
        entry = os.path.abspath(entry)
        if os.path.isdir(entry):
            candidates += sorted(os.path.join(entry, f) for f in os.listdir(entry)
                                 if os.path.isfile(os.path.join(entry, f)) and os.access(os.path.join(entry, f), os.X_OK)
                                 and not f.endswith(".so"))
        elif os.path.isfile(entry):
            if entry.endswith(".so") or ".so." in os.path.basename(entry):
                raise YRValueError(f"C++ code path {entry} (from {source}) is a shared library; yr runs C++ "
                                   "targets in an executable built with the yr C++ SDK: give its path")
            if not os.access(entry, os.X_OK):
                raise YRValueError(f"C++ code path {entry} (from {source}) is not executable")
            candidates.append(entry)
        else:
            raise YRValueError(f"C++ code path {entry} (from {source}) does not exist")
    if len(candidates) != 1:
        raise YRValueError(f"C++ code path {raw!r} (from {source}) holds {len(candidates)} executables "
                           f"({', '.join(candidates[:5]) or 'none'}); name the one to run")
    return candidates[0]


def java_classpath(explicit: str = "") -> str:
    """The class path that hosts Java targets: `explicit`, else Config.java_code_path, else
    $YR_JAVA_CODE_PATH; every entry made absolute and checked to exist."""
    source, raw = _code_path(explicit, "java_code_path", JAVA_ENV)
    if not raw:
        raise YRValueError(f"no Java code: set ${JAVA_ENV} or Config.java_code_path to the class path "
                           "(jars and class directories) of the Java classes to call")
    entries = [os.path.abspath(e) for e in _split(raw)]
    missing = [e for e in entries if not os.path.exists(e.rstrip("*"))]
    if missing:
        raise YRValueError(f"Java class path entry {missing[0]} (from {source}) does not exist")
    return os.pathsep.join(entries)


def python_paths(extra=()) -> list[str]:
    """Where a Python target is imported from: `extra` (the caller's), the caller's working
    directory, Config.code_dir and Config.load_paths, in that order."""
    cfg = _config()
    paths = [*extra, os.getcwd()]
    if cfg is not None:
        paths += [cfg.code_dir] if cfg.code_dir else []
        paths += list(cfg.load_paths or [])
    return [os.path.abspath(p) for p in dict.fromkeys(paths) if p]


# ---- Python targets by name ---------------------------------------------------------------

class PyTarget:
    """A Python class or function named by module and qualified name; calling it imports the
    module (from `paths` first) and calls the target. Pickles by reference to this class, so
    a worker loads it without the caller's code."""

    _lock = threading.Lock()

    def __init__(self, module: str, name: str, paths: list[str]):
        self.module, self.name, self.paths = module, name, list(paths)
        self._obj = None

    def __reduce__(self):
        return (PyTarget, (self.module, self.name, self.paths))

    def resolve(self):
        obj = self._obj
        if obj is None:
            with PyTarget._lock:
                for p in reversed(self.paths):
                    if p not in sys.path:
                        sys.path.insert(0, p)
                try:
                    obj = importlib.import_module(self.module)
                except ModuleNotFoundError as e:
                    if e.name and not self.module.startswith(e.name) and not e.name.startswith(self.module):
                        raise
                    raise ModuleNotFoundError(f"no Python module {self.module!r} on the import path (looked in "
                                              f"{', '.join(self.paths) or 'sys.path'} and sys.path)",
                                              name=self.module) from None
                for part in self.name.split("."):
                    try:
                        obj = getattr(obj, part)
                    except AttributeError:
                        raise AttributeError(f"Python module {self.module!r} ({getattr(sys.modules.get(self.module), '__file__', '?')}) "
                                             f"has no {self.name!r}") from None
                obj = getattr(obj, "__yr_wrapped__", obj)   # a @yr.instance / @yr.invoke target
                self._obj = obj
        return obj

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)


def python_target(spec: dict, kind: str) -> PyTarget:
    module, name = spec.get("module"), spec.get(kind)
    if not isinstance(module, str) or not module or not isinstance(name, str) or not name:
        raise YRValueError(f"a Python target needs a module and a {kind} name, got {spec!r:.200}")
    return PyTarget(module, name, python_paths(spec.get("paths") or ()))


def create_python(spec: dict, args: list, opts) -> "object":
    """An instance of a Python class named by module and class (see module docstring)."""
    from . import _context, _instances, _serialization
    from ._decorators import InstanceProxy
    target = python_target(spec, "class")
    args = check_args(args, {}, f"{target.module}.{target.name}")
    rt = _context.current()
    code = _instances.constructor_code(_serialization.dumps_function(target), args, {}, target.name)
    pb_spec = _instances.make_spec(rt, target.name, code, opts, language="python")
    return InstanceProxy(_instances.create(rt, pb_spec), None)


def python_function(spec: dict, opts):
    """(key, code, pool) of a stateless call of a Python function named by module and name."""
    import hashlib
    from . import _context, _instances, _serialization
    target = python_target(spec, "function")
    code = _serialization.dumps_function(target)
    key = f"{target.module}.{target.name}:{hashlib.sha1(code).hexdigest()[:16]}"
    return key, code, _instances.pool(_context.current(), opts)
