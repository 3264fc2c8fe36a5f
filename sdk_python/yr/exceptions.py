"""Errors raised by yr. Each names what went wrong and subclasses the builtin users catch.

Codes follow openYuanrong (`.code`): 1001 bad parameter, 1002 insufficient resources,
1003 instance not found, 1006 invalid resource parameter (a custom resource no node declares),
1007 instance exited, 2002 user code raised, 3002 communication, 4001 bad init usage,
4005 get timeout, 9000 used after finalize/terminate. They are the members of
`yr_runtime.wire.errors.ErrorCode` (the error kinds the runtime sends), named here as constants; the
C++ (`sdk_cpp/include/yr/exception.h`) and Java (`YRException`) SDKs declare the same names
and numbers (`tests/core/test_error_codes.py` checks it). `error_for` is the one table from
a code to the exception class raised for it.
"""
from __future__ import annotations

import types as _types

from yr_runtime.wire.errors import ErrorCode

# The names of ErrorCode, for `from yr.exceptions import ERR_...` (no numbers here: one table).
ERR_OK = ErrorCode.ERR_OK
ERR_PARAM_INVALID = ErrorCode.ERR_PARAM_INVALID
ERR_RESOURCE_NOT_ENOUGH = ErrorCode.ERR_RESOURCE_NOT_ENOUGH
ERR_INSTANCE_NOT_FOUND = ErrorCode.ERR_INSTANCE_NOT_FOUND
ERR_RESOURCE_CONFIG_ERROR = ErrorCode.ERR_RESOURCE_CONFIG_ERROR
ERR_INSTANCE_EXITED = ErrorCode.ERR_INSTANCE_EXITED
ERR_USER_CODE_LOAD = ErrorCode.ERR_USER_CODE_LOAD
ERR_USER_FUNCTION_EXCEPTION = ErrorCode.ERR_USER_FUNCTION_EXCEPTION
ERR_INNER_COMMUNICATION = ErrorCode.ERR_INNER_COMMUNICATION
ERR_INNER_SYSTEM_ERROR = ErrorCode.ERR_INNER_SYSTEM_ERROR
ERR_INCORRECT_INIT_USAGE = ErrorCode.ERR_INCORRECT_INIT_USAGE
ERR_INIT_CONNECTION_FAILED = ErrorCode.ERR_INIT_CONNECTION_FAILED
ERR_GET_OPERATION_FAILED = ErrorCode.ERR_GET_OPERATION_FAILED
ERR_FINALIZED = ErrorCode.ERR_FINALIZED


class YRError(Exception):
    """Base of every yr error. `code` is the openYuanrong error code."""

    code = 0

    def __init__(self, message: str = "", code: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class YRRuntimeError(YRError, RuntimeError):
    pass


class YRValueError(YRError, ValueError):
    code = ERR_PARAM_INVALID


class YRTypeError(YRError, TypeError):
    code = ERR_PARAM_INVALID


class YRTimeoutError(YRRuntimeError, TimeoutError):
    code = ERR_GET_OPERATION_FAILED


class GetTimeoutError(YRTimeoutError):
    """`yr.get` gave up waiting: the value was not ready within the timeout."""


class SerializationError(YRValueError):
    """A value could not be pickled or unpickled; the message names the value."""


class InitError(YRRuntimeError):
    """yr.init/finalize used out of order, or the runtime could not be reached or started."""

    code = ERR_INCORRECT_INIT_USAGE


class RuntimeUnavailableError(YRRuntimeError):
    """The runtime daemon cannot be reached (stopped, crashed or never started)."""

    code = ERR_INNER_COMMUNICATION


class ResourceUnavailableError(YRRuntimeError):
    """No node can ever satisfy a request, or capacity did not free up in time (code 1002);
    or the request names a custom resource no node declares (code 1006, "invalid resource
    parameter")."""

    code = ERR_RESOURCE_NOT_ENOUGH


class ObjectLostError(YRRuntimeError):
    """The object lived on another node, which is gone or cannot be reached; the message
    names the object and the node."""

    code = ERR_GET_OPERATION_FAILED


class InstanceNotFoundError(YRRuntimeError):
    code = ERR_INSTANCE_NOT_FOUND


class InstanceDiedError(YRRuntimeError):
    """The instance's worker process exited; the message says how (exit code or signal)."""

    code = ERR_INSTANCE_EXITED


class InstanceTerminatedError(YRRuntimeError):
    """The instance was terminated by its owner; calls on it fail."""

    code = ERR_FINALIZED


class CancelError(YRRuntimeError):
    """yr.get of a call cancelled with yr.cancel (openYuanrong raises a RuntimeError)."""


# The error kind the runtime sends -> the class raised for it (its `code` is the kind).
_CLASS_OF_KIND: dict[ErrorCode, type[YRError]] = {
    ERR_PARAM_INVALID: YRValueError,
    ERR_RESOURCE_NOT_ENOUGH: ResourceUnavailableError,
    ERR_RESOURCE_CONFIG_ERROR: ResourceUnavailableError,
    ERR_INSTANCE_NOT_FOUND: InstanceNotFoundError,
    ERR_INSTANCE_EXITED: InstanceDiedError,
    ERR_INNER_COMMUNICATION: RuntimeUnavailableError,
    ERR_INCORRECT_INIT_USAGE: InitError,
    ERR_INIT_CONNECTION_FAILED: InitError,
    ERR_GET_OPERATION_FAILED: YRTimeoutError,
    ERR_FINALIZED: InstanceTerminatedError,
}


def error_for(kind: ErrorCode | None, message: str) -> YRError:
    """The yr error for a kind the runtime answered with (None or a kind without a class of
    its own: a YRRuntimeError), carrying `kind` as its code."""
    return _CLASS_OF_KIND.get(kind, YRRuntimeError)(message, code=kind)


class YRInvokeError(YRRuntimeError):
    """User code raised in a remote function, method or constructor.

    `yr.get` raises a subclass of both this and the original exception type (any
    BaseException subclass), so `except FileNotFoundError as e` still catches a remote
    FileNotFoundError, with its args and attributes (`e.errno`, `e.filename`, a user
    exception's own fields). `str()` carries the remote traceback; `.cause` is the original
    exception rebuilt on this side, or None if its type could not be (then `type_name` and
    the traceback still name it).
    """

    code = ERR_USER_FUNCTION_EXCEPTION

    def __init__(self, cause: BaseException | None, traceback_str: str, where: str = "", type_name: str = ""):
        self.cause = cause
        self.traceback_str = traceback_str
        self.where = where
        self.type_name = type_name or (_qualified_name(type(cause)) if cause is not None else "")
        super().__init__(self._text())

    def _text(self) -> str:
        head = f"{self.where} raised:\n" if self.where else ""
        return head + self.traceback_str.rstrip()

    def __str__(self) -> str:
        return self._text()

    def __reduce__(self):
        # The cause travels as parts (type, args, attributes), each pickled on its own, and
        # is rebuilt without calling its __init__, which may take other arguments.
        return (_rebuild_invoke_error,
                (_cause_codec[0](self.cause), self.traceback_str, self.where, self.type_name))

    def origin_error(self) -> BaseException:
        """An exception that is both a YRInvokeError and an instance of the original type."""
        cause = self.cause
        if cause is None or isinstance(cause, YRError):
            return self
        cls = _dual_class(type(cause))
        err = None if cls is None else new_exception(type(cause), cls, cause.args, exception_state(cause))
        if err is None:
            return self
        err.cause, err.traceback_str, err.where, err.type_name = cause, self.traceback_str, self.where, self.type_name
        if "message" not in vars(err):
            err.message = self._text()
        err.__cause__ = cause.__cause__
        return err


def _rebuild_invoke_error(parts, traceback_str: str, where: str, type_name: str) -> YRInvokeError:
    return YRInvokeError(_cause_codec[1](parts), traceback_str, where, type_name)


# (dumps_exception, loads_exception): how a YRInvokeError's cause travels. Registered by
# _serialization (the only module that pickles) when it loads: this module imports no yr module.
_cause_codec: tuple = (lambda cause: None, lambda parts: None)


def set_cause_codec(dumps, loads) -> None:
    global _cause_codec
    _cause_codec = (dumps, loads)


def _qualified_name(cls: type) -> str:
    module = getattr(cls, "__module__", "")
    name = getattr(cls, "__qualname__", getattr(cls, "__name__", "?"))
    return name if module in ("builtins", "__main__", None, "") else f"{module}.{name}"


# Attributes every exception has that are not its own state (or are set apart: args).
_NOT_STATE = frozenset({"args", "__traceback__", "__context__", "__cause__", "__suppress_context__",
                        "__dict__", "__weakref__", "__class__"})


def exception_state(e: BaseException) -> dict:
    """An exception's attributes beyond its args: those stored in the C struct of builtin
    types (errno, filename, code, name, ...) and slots, then its __dict__."""
    state = {}
    for klass in reversed(type(e).__mro__[:-1]):   # not object: its __class__ is no state
        for name, d in vars(klass).items():
            if name not in _NOT_STATE and isinstance(d, (_types.MemberDescriptorType, _types.GetSetDescriptorType)):
                try:
                    state[name] = getattr(e, name)
                except AttributeError:   # e.g. BlockingIOError.characters_written when unset
                    pass
    state.update(getattr(e, "__dict__", None) or {})
    return state


def new_exception(orig: type, cls: type, args: tuple, state: dict) -> BaseException | None:
    """An instance of `cls` (`orig` or a subclass of it) with these args and attributes, made
    the way pickle makes objects: `__new__` of `orig`, then the attributes; its `__init__`
    (which may take other arguments) is not called. None if `orig` cannot be made so."""
    err = _allocate(orig, cls, args)
    if err is None:
        return None
    try:
        err.args = tuple(args)
    except (TypeError, AttributeError):
        pass
    for name, value in state.items():
        try:
            setattr(err, name, value)
        except Exception:   # read-only or validating attributes: keep what can be set
            pass
    return err


def _allocate(orig: type, cls: type, args: tuple) -> BaseException | None:
    for make in (lambda: orig.__new__(cls, *args), lambda: orig.__new__(cls), lambda: _solid_new(orig)(cls)):
        try:
            err = make()
        except Exception:   # a user __new__ wanting other arguments: try the next way
            continue
        if isinstance(err, cls):
            return err
    return None


def _solid_new(orig: type):
    """`__new__` of the builtin base whose instance layout `orig` extends."""
    for klass in orig.__mro__:
        if klass.__module__ == "builtins":
            return klass.__new__
    return BaseException.__new__


_DUAL: dict[type, type] = {}


def _dual_class(orig: type) -> type | None:
    if orig not in _DUAL:
        try:
            _DUAL[orig] = type(f"YRInvokeError({orig.__name__})", (YRInvokeError, orig),
                               {"__str__": YRInvokeError.__str__, "__reduce__": YRInvokeError.__reduce__,
                                "__init__": YRInvokeError.__init__, "__module__": YRInvokeError.__module__})
        except TypeError:  # e.g. layout conflicts with some builtin exception types
            return None
    return _DUAL[orig]
