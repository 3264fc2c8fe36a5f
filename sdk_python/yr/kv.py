"""The KV API (openYuanrong's `yr.kv_*`): a key-value store held by the runtime's master and
shared by every driver and worker of the cluster. Semantics, limits and what yr refuses:
docs/kv.md. Values are bytes-like (bytes, bytearray, memoryview) and come back as bytes."""
from __future__ import annotations

from typing import List, Union

from yr_runtime.core.kv import MAX_VALUE

from . import _context
from .exceptions import YRTypeError, YRValueError
from .params import ExistenceOpt, GetParams, MSetParam, SetParam, WriteMode, CacheType, check_set_param

DEFAULT_GET_TIMEOUT = 300


def _client():
    from . import _data   # gRPC loads only in processes that use the control plane (see _context.master)
    return _data


def _key(key, what: str) -> str:
    if not isinstance(key, str) or not key:
        raise YRValueError(f"{what}: a key must be a non-empty str, got {key!r:.80}")
    return key


def _keys(key, what: str) -> list:
    keys = [key] if isinstance(key, str) else key
    if not isinstance(keys, (list, tuple)) or not keys:
        raise YRValueError(f"{what}: expected a key or a non-empty list of keys, got {key!r:.80}")
    return [_key(k, what) for k in keys]


def _value(value, what: str):
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise YRTypeError(f"{what}: a value must be bytes, bytearray or memoryview, got {type(value).__name__}")
    n = memoryview(value).nbytes
    if n > MAX_VALUE:
        raise YRValueError(f"{what}: the value is too large: {n} bytes (at most {MAX_VALUE} bytes per value)")
    return value


def _timeout(timeout, what: str, zero_ok: bool = True) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or (
            timeout != -1 and (timeout < 0 or (timeout == 0 and not zero_ok))):
        raise YRValueError(f"{what}: timeout must be {'>= 0' if zero_ok else '> 0'} seconds or -1 (no limit), "
                           f"got {timeout!r}")
    return float(timeout)


def _write(key, value, set_param, what: str) -> None:
    existence, ttl = check_set_param(set_param)
    _client().kv_write(_context.current().master, [_key(key, what)], [_value(value, what)], existence, ttl,
                       False, f"{what} {key!r}")


def kv_write(key: str, value: bytes, existence: ExistenceOpt = ExistenceOpt.NONE,
             write_mode: WriteMode = WriteMode.NONE_L2_CACHE, ttl_second: int = 0,
             cache_type: CacheType = CacheType.MEMORY) -> None:
    """Stores `value` under `key`. existence NX refuses an existing key; ttl_second > 0 deletes
    the key that many seconds later (0: never)."""
    _write(key, value, SetParam(existence, write_mode, ttl_second, cache_type), "kv_write")


def kv_write_with_param(key: str, value: bytes, set_param: SetParam) -> None:
    """kv_write with its parameters in a SetParam."""
    _write(key, value, set_param, "kv_write_with_param")


def kv_set(key: str, value: bytes, set_param: SetParam | None = None) -> None:
    """kv_write with its parameters in a SetParam (default SetParam())."""
    _write(key, value, SetParam() if set_param is None else set_param, "kv_set")


def kv_m_write_tx(keys: List[str], values: List[bytes], m_set_param: MSetParam | None = None) -> None:
    """Writes every key or none (a transaction). m_set_param.existence must be NX (as in openYuanrong)."""
    what = "kv_m_write_tx"
    m_set_param = MSetParam() if m_set_param is None else m_set_param
    if not isinstance(keys, (list, tuple)) or not isinstance(values, (list, tuple)):
        raise YRTypeError(f"{what}: keys and values must be lists")
    if len(keys) != len(values):
        raise YRValueError(f"arguments list size not equal. keys size is: {len(keys)}, values size is: {len(values)}.")
    if not keys:
        raise YRValueError(f"{what}: no keys")
    existence, ttl = check_set_param(m_set_param, MSetParam)
    if existence != ExistenceOpt.NX.value:
        raise YRValueError("invalid param: existence should be NX.")
    _client().kv_write(_context.current().master, [_key(k, what) for k in keys], [_value(v, what) for v in values],
                       existence, ttl, True, what)


def kv_read(key: Union[str, List[str]], timeout: int = DEFAULT_GET_TIMEOUT):
    """The value of `key` (bytes), or the list of values of a list of keys. Waits up to
    `timeout` seconds (-1: no limit, 0: not at all) for keys that do not exist yet, then
    raises YRTimeoutError naming the keys still missing."""
    return _read(key, _timeout(timeout, "kv_read"), "kv_read")


def kv_get(key: Union[str, List[str]], timeout: int = DEFAULT_GET_TIMEOUT):
    """kv_read, with timeout > 0 or -1 (as openYuanrong checks)."""
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout <= 0 and timeout != -1:
        raise YRValueError("Parameter 'timeout' should be greater than 0 or equal to -1 (no timeout)")
    return _read(key, _timeout(timeout, "kv_get", zero_ok=False), "kv_get")


def _read(key, timeout: float, what: str, allow_partial: bool = False):
    keys = _keys(key, what)
    out = _client().kv_read(_context.current().master, keys, timeout, allow_partial, what)
    return out[0] if isinstance(key, str) else out


def kv_read_partial(keys: List[str], timeout: float = DEFAULT_GET_TIMEOUT) -> list:
    """The values of keys, None for those still missing after `timeout` (C++ and Java's allowPartial)."""
    return _client().kv_read(_context.current().master, _keys(keys, "kv_read"), _timeout(timeout, "kv_read"),
                             True, "kv_read")


def kv_get_with_param(keys: List[str], get_params: GetParams, timeout: int = DEFAULT_GET_TIMEOUT) -> list:
    """A slice of each value: get_params.get_params[i] (offset, size; size 0: to the end) for keys[i]."""
    what = "kv_get_with_param"
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout < -1:
        raise YRValueError("Parameter 'timeout' should be greater than or equal to -1 (no timeout).")
    if not isinstance(get_params, GetParams):
        raise YRTypeError(f"{what}: get_params must be a yr.GetParams, got {type(get_params).__name__}")
    if len(get_params.get_params) == 0:
        raise YRValueError("Get params does not accept empty list")
    if not isinstance(keys, (list, tuple)) or len(get_params.get_params) != len(keys):
        raise YRValueError("Get params size is not equal to keys size")
    offsets, sizes = [], []
    for p in get_params.get_params:
        for name in ("offset", "size"):
            v = getattr(p, name, None)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise YRValueError(f"{what}: GetParam.{name} must be an int >= 0, got {v!r}")
        offsets.append(p.offset)
        sizes.append(p.size)
    return _client().kv_read(_context.current().master, _keys(list(keys), what), _timeout(timeout, what), False, what,
                             offsets, sizes)


def kv_del(key: Union[str, List[str]]) -> None:
    """Deletes a key or a list of keys; keys that do not exist are no error."""
    _client().kv_del(_context.current().master, _keys(key, "kv_del"), "kv_del")
