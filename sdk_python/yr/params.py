"""The parameter classes of the KV calls and of `yr.put`, as openYuanrong 0.9.10 names them
(`yr.base_runtime` there): ExistenceOpt, WriteMode, CacheType, ConsistencyType, SetParam,
MSetParam, GetParam, GetParams, CreateParam. Same fields, defaults and enum values.

What yr does with them (docs/kv.md): ExistenceOpt and ttl_second act; WriteMode
NONE_L2_CACHE and NONE_L2_CACHE_EVICT are accepted (yr keeps the value in the master's
memory and never evicts it, which EVICT allows); the write-through/back modes need a
second-level cache and CacheType.DISK a disk medium, which yr does not have: they are
refused with a "not supported" error rather than ignored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import List

from .exceptions import YRTypeError, YRValueError

DEFAULT_NO_TTL_LIMIT = 0


class ExistenceOpt(Enum):
    """Whether a write may overwrite an existing key."""
    NONE = 0   #: overwrite (the default)
    NX = 1     #: refuse if the key exists


class WriteMode(Enum):
    """Reliability of a written value (openYuanrong's second-level cache)."""
    NONE_L2_CACHE = 0
    WRITE_THROUGH_L2_CACHE = 1
    WRITE_BACK_L2_CACHE = 2
    NONE_L2_CACHE_EVICT = 3


class CacheType(Enum):
    """The medium a value is stored on."""
    MEMORY = 0
    DISK = 1


class ConsistencyType(Enum):
    """Consistency of an object put with yr.put."""
    PRAM = 0
    CAUSAL = 1


@dataclass(init=True, repr=False, eq=False, order=False, unsafe_hash=False)
class SetParam:
    """Parameters of one KV write."""
    existence: ExistenceOpt = ExistenceOpt.NONE
    write_mode: WriteMode = WriteMode.NONE_L2_CACHE
    ttl_second: int = DEFAULT_NO_TTL_LIMIT
    cache_type: CacheType = CacheType.MEMORY


@dataclass(init=True, repr=False, eq=False, order=False, unsafe_hash=False)
class MSetParam:
    """Parameters of kv_m_write_tx (existence must be NX)."""
    existence: ExistenceOpt = ExistenceOpt.NX
    write_mode: WriteMode = WriteMode.NONE_L2_CACHE
    ttl_second: int = DEFAULT_NO_TTL_LIMIT
    cache_type: CacheType = CacheType.MEMORY


@dataclass(init=True, repr=False, eq=False, order=False, unsafe_hash=False)
class CreateParam:
    """Parameters of yr.put."""
    consistency_type: ConsistencyType = ConsistencyType.PRAM
    cache_type: CacheType = CacheType.MEMORY


@dataclass(init=True, repr=False, eq=False, order=False, unsafe_hash=False)
class GetParam:
    """A slice of a value for kv_get_with_param: `size` bytes from `offset` (size 0: to the end)."""
    offset: int = 0
    size: int = 0


@dataclass(init=True, repr=False, eq=False, order=False, unsafe_hash=False)
class GetParams:
    """One GetParam per key of kv_get_with_param."""
    get_params: List[GetParam] = field(default_factory=list)


def _enum(value, cls, what: str):
    if not isinstance(value, cls):
        raise YRTypeError(f"{what} must be a yr.{cls.__name__}, got {type(value).__name__}")
    return value


def check_cache_type(cache_type, what: str) -> None:
    if _enum(cache_type, CacheType, f"{what}.cache_type") is CacheType.DISK:
        raise YRValueError(f"{what}.cache_type CacheType.DISK is not supported by yr (no disk medium): use MEMORY")


def check_set_param(p, cls=SetParam) -> tuple[int, int]:
    """(existence, ttl_second) of a SetParam/MSetParam, or a clear error for what yr refuses."""
    what = cls.__name__
    if not isinstance(p, cls):
        raise YRTypeError(f"expected a yr.{what}, got {type(p).__name__}")
    existence = _enum(p.existence, ExistenceOpt, f"{what}.existence")
    mode = _enum(p.write_mode, WriteMode, f"{what}.write_mode")
    if mode in (WriteMode.WRITE_THROUGH_L2_CACHE, WriteMode.WRITE_BACK_L2_CACHE):
        raise YRValueError(f"{what}.write_mode {mode} is not supported by yr (no second-level cache): "
                           "use NONE_L2_CACHE or NONE_L2_CACHE_EVICT")
    check_cache_type(p.cache_type, what)
    ttl = p.ttl_second
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise YRValueError(f"{what}.ttl_second must be an int >= 0 (0: no limit), got {ttl!r}")
    return existence.value, ttl


def check_create_param(p) -> None:
    if p is None:
        return
    if not isinstance(p, CreateParam):
        raise YRTypeError(f"create_param must be a yr.CreateParam, got {type(p).__name__}")
    _enum(p.consistency_type, ConsistencyType, "CreateParam.consistency_type")
    check_cache_type(p.cache_type, "CreateParam")
