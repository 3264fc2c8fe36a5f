"""Checks of user-supplied settings: the declared type of a dataclass field, env var maps.

Every error names the field (`InvokeOptions.name`, `Config.custom_envs`) and what was
expected. Wrong types raise YRTypeError (a TypeError, as in openYuanrong); wrong values
raise YRValueError.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Union

from .exceptions import YRTypeError, YRValueError


def check_field_types(obj, owner: str) -> None:
    """Raises YRTypeError naming the first field of dataclass `obj` whose value does not
    match its annotation (str, int, float, bool, Optional, Union, Dict[K, V], List[T], Any)."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if not _matches(value, hints[f.name]):
            raise YRTypeError(f"invalid type for {owner}.{f.name}: expected {_describe(hints[f.name])}, "
                              f"got {type(value).__name__} {_short(value)}")


_HINTS: dict = {}


def _hints(cls) -> dict:
    hints = _HINTS.get(cls)
    if hints is None:  # resolved once per class: the annotations are strings (postponed evaluation)
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _matches(value, hint) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin is Union:
        return any(_matches(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin is dict:
        kt, vt = args or (Any, Any)
        return isinstance(value, dict) and all(_matches(k, kt) and _matches(v, vt) for k, v in value.items())
    if origin is list:
        (et,) = args or (Any,)
        return isinstance(value, list) and all(_matches(e, et) for e in value)
    if hint is int:  # bool is an int to Python, never to a user who wrote True for a count
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, origin or hint)


def _describe(hint) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union:
        return " or ".join(_describe(a) for a in args)
    if origin is dict:
        return f"dict of {_describe(args[0])} -> {_describe(args[1])}" if args else "dict"
    if origin is list:
        return f"list of {_describe(args[0])}" if args else "list"
    if hint is type(None):
        return "None"
    return "anything" if hint is Any else getattr(hint, "__name__", str(hint))


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_env_vars(env: dict, owner: str) -> None:
    """Environment variables for a worker: str -> str, names non-empty without '=' or NUL,
    values without NUL. Checked where they are given, so a bad one never reaches a worker."""
    if not isinstance(env, dict):
        raise YRTypeError(f"invalid type for {owner}: expected dict of str -> str, got {type(env).__name__}")
    for k, v in env.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise YRTypeError(f"invalid type for {owner}: names and values must be str, "
                              f"got {_short(k)}: {_short(v)} ({type(k).__name__} -> {type(v).__name__})")
        if not k or "=" in k or "\0" in k:
            raise YRValueError(f"invalid {owner}: the name {_short(k)} must be non-empty without '=' or NUL")
        if "\0" in v:
            raise YRValueError(f"invalid {owner}: the value of {k} contains a NUL character")
