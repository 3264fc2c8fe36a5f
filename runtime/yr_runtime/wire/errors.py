"""The error kinds of yr: the one enumeration of openYuanrong error codes in Python.

The core answers a refused request with one of these (`CoreError(ErrorCode.X, message)`),
the master carries it to the caller in the gRPC trailing metadata under `KIND_KEY`, and the
SDK turns it into its exception class with the one table in `yr.exceptions`. The C++
(`sdk_cpp/include/yr/exception.h`, `enum ErrorCode`) and Java (`YRException.ERR_*`) SDKs
declare the same names and numbers; `tests/core/test_error_codes.py` checks that they agree.
This module imports nothing, so the pure core may use it (see pyproject.toml).
"""
from __future__ import annotations

import enum


class ErrorCode(enum.IntEnum):
    """openYuanrong error codes. Members are ints, so `.code == 1001` keeps working."""

    ERR_OK = 0
    ERR_PARAM_INVALID = 1001           # a bad parameter: the caller's fault
    ERR_RESOURCE_NOT_ENOUGH = 1002     # no node can hold it, or capacity did not free up in time
    ERR_INSTANCE_NOT_FOUND = 1003
    ERR_RESOURCE_CONFIG_ERROR = 1006   # "invalid resource parameter": a custom resource no node declares
    ERR_INSTANCE_EXITED = 1007         # its worker died (or it was dead when asked for)
    ERR_USER_CODE_LOAD = 2001
    ERR_USER_FUNCTION_EXCEPTION = 2002  # user code raised
    ERR_INNER_COMMUNICATION = 3002     # the runtime (or the language bridge) cannot be reached
    ERR_INNER_SYSTEM_ERROR = 3003
    ERR_INCORRECT_INIT_USAGE = 4001
    ERR_INIT_CONNECTION_FAILED = 4002
    ERR_GET_OPERATION_FAILED = 4005    # a wait (get, lookup) timed out
    ERR_FINALIZED = 9000               # used after finalize, or a call on a terminated instance


KIND_KEY = "yr-error-kind"  # gRPC trailing metadata: the ErrorCode of a refused control call, in decimal


def kind_metadata(code: ErrorCode) -> tuple[tuple[str, str], ...]:
    """The trailing metadata that carries `code` to the caller."""
    return ((KIND_KEY, str(int(code))),)


def kind_from_metadata(metadata) -> ErrorCode | None:
    """The ErrorCode in gRPC (trailing) metadata, or None when there is none or it is not one
    this side knows (a newer runtime: the caller falls back to a generic error)."""
    for key, value in metadata or ():
        if key == KIND_KEY:
            try:
                return ErrorCode(int(value))
            except ValueError:
                return None
    return None
