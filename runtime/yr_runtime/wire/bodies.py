"""The layout of a value body: defined once, read by the SDKs and by the node agent.

A body (a serialized value, made by the Python SDK's serializer) starts with one flag byte:
- INLINE (0): the rest is the value's pickle;
- MAPPED (1): a 4-byte little-endian length and a JSON descriptor {"path", "sizes"}, then
  the pickle, whose large buffers live, back to back, in the file at `path`: a file in
  /dev/shm, or a spill file in the session directory (`<session>/spill/`) when /dev/shm
  is full. Receivers map either the same way. Whoever drops the last copy of a body that
  will not be loaded unlinks its file (`unlink_file`); loading unlinks it too.
  A body may also point at files it does not own ("lent": a list of [index, path, offset,
  size], buffers borrowed from its receiver's own files, see the Python SDK's
  `_serialization` "lending"); then "path" may be "" (no own file). Such bodies stay between
  a caller and its worker on one machine: the node store never holds one.
The agent never unpickles: it only needs `descriptor` to free the file of a body it holds.
"""
from __future__ import annotations

import json
import os
import struct

INLINE = b"\x00"
MAPPED = b"\x01"
_LEN = struct.Struct("<I")
SPILL_DIR = "spill"   # under the session directory


def mapped_header(desc: dict) -> bytes:
    """The start of a MAPPED body (the pickle follows)."""
    raw = json.dumps(desc).encode()
    return MAPPED + _LEN.pack(len(raw)) + raw


def split_mapped(body) -> tuple[dict, int]:
    """(descriptor, offset of the pickle) of a MAPPED body; ValueError if it is malformed."""
    try:
        (n,) = _LEN.unpack_from(body, 1)
        desc = json.loads(bytes(body[5:5 + n]))
    except (struct.error, UnicodeDecodeError) as e:
        raise ValueError(f"malformed mapped body: {e}") from None
    if not isinstance(desc, dict) or not isinstance(desc.get("path"), str) or not isinstance(desc.get("sizes"), list):
        raise ValueError("malformed mapped body: bad descriptor")
    return desc, 5 + n


def unlink_file(body) -> None:
    """Removes the file of a MAPPED body (nothing for INLINE or malformed bodies, or a file
    already gone)."""
    if body[:1] != MAPPED:
        return
    try:
        path = split_mapped(body)[0]["path"]
        if path:
            os.unlink(path)
    except (OSError, ValueError):
        pass


def spill_dir(session_dir) -> str:
    """Where the values that do not fit in /dev/shm are written (removed with the session)."""
    return os.path.join(str(session_dir), SPILL_DIR)
