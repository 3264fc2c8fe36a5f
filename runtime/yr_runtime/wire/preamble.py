"""The first frame on a node's TCP data port: the cluster token and what the connection is for.

Each node that talks TCP (a joined node, or the master's node of `yr start --master`) listens on
ONE data port. A connection's first frame (framed as usual: 4-byte length, then the body) is a
preamble; the receiver refuses a length above MAX_PREAMBLE before reading the body, and checks
the token (constant time) before it decodes anything else. Body layout (fixed binary, no
deserializer):

    MAGIC "YRD1" | purpose u8 | epoch u64 LE | token length u8 | token | target (UTF-8, the rest)

- purpose CALLER: the connection carries calls for the worker named by `target` (its worker
  id); the agent hands the accepted socket to that worker (SCM_RIGHTS), which serves it like
  any caller connection (same frames, batching, pipelining).
- purpose OBJECTS: object pulls, served by the agent itself (`target` is empty).
- epoch: a fencing token: the placement of the instance the caller believes it reaches
  (`InstanceInfo.epoch`, counted by the master per instance); 0 means "none" (unchecked: a
  handle that arrived pickled, an SDK that sends none). A CALLER preamble whose epoch is not
  that of the worker it names (`Assign.epoch`) is refused once, at the preamble (`stale`):
  the receiver answers one REFUSED frame (`refusal`: the call frames' header, kind b"R",
  call id 0, the reason in UTF-8) and closes. Nothing behind the preamble was read, so the
  caller may send its calls again after re-resolving the instance (docs/architecture.md
  "Partitions and fencing").

Pure: no I/O, tested without sockets (tests/core/test_preamble.py).
"""
from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass

from .handshake import AuthError

MAGIC = b"YRD1"
CALLER, OBJECTS = 1, 2
MAX_PREAMBLE = 512      # bytes of the first frame's body: a longer length prefix is refused unread
MAX_TOKEN = 255
_FIXED = struct.Struct("<4sBQB")   # magic, purpose, epoch, token length
REFUSED = b"R"                      # the kind byte of a refusal frame (yr._protocol's frames)
_REFUSAL = struct.Struct("<IcQ")    # length, kind, call id: yr._protocol.call_frame's header


class PreambleError(ValueError):
    """A first frame that is not a valid data-port preamble (the token was right)."""


@dataclass(frozen=True)
class Preamble:
    purpose: int
    target: str = ""
    epoch: int = 0


def encode(token: bytes, purpose: int, target: str = "", epoch: int = 0) -> bytes:
    """The preamble's body (frame it with `frames.encode`). ValueError for what cannot travel."""
    raw = target.encode()
    if purpose not in (CALLER, OBJECTS):
        raise ValueError(f"unknown data-port purpose {purpose!r}")
    if len(token) > MAX_TOKEN:
        raise ValueError(f"a token is at most {MAX_TOKEN} bytes, got {len(token)}")
    if not 0 <= epoch < 1 << 64:
        raise ValueError(f"an epoch is an unsigned 64-bit number, got {epoch}")
    body = _FIXED.pack(MAGIC, purpose, epoch, len(token)) + token + raw
    if len(body) > MAX_PREAMBLE:
        raise ValueError(f"a preamble is at most {MAX_PREAMBLE} bytes; target {target[:40]!r}... is too long")
    return body


def check_length(n: int) -> None:
    """Refuses a first frame's announced length before its body is read."""
    if n > MAX_PREAMBLE:
        raise AuthError(f"a data-port preamble of {n} bytes announced (at most {MAX_PREAMBLE})")


def decode(body: bytes, token: bytes) -> Preamble:
    """The preamble in `body`, once its token matched `token` (AuthError otherwise, before any
    other field is looked at beyond the fixed header); PreambleError if the rest is malformed."""
    check_length(len(body))
    if len(body) < _FIXED.size or not body.startswith(MAGIC):
        raise AuthError("connection did not start with a yr data-port preamble")
    _, purpose, epoch, n = _FIXED.unpack_from(body)
    end = _FIXED.size + n
    if not hmac.compare_digest(bytes(body[_FIXED.size:end]), token) or len(body) < end:
        raise AuthError("wrong cluster token")
    if purpose not in (CALLER, OBJECTS):
        raise PreambleError(f"unknown data-port purpose {purpose}")
    try:
        target = bytes(body[end:]).decode()
    except UnicodeDecodeError:
        raise PreambleError("the preamble's target is not UTF-8") from None
    if purpose == CALLER and not target:
        raise PreambleError("a caller preamble names no worker")
    return Preamble(purpose, target, epoch)


def first_frame(peer, token: bytes, epoch: int = 0) -> bytes:
    """The whole first frame a caller sends on a connection to `peer` (an address string, or
    an already connected socket): a CALLER preamble for a worker behind a data port
    (`tcp:HOST:PORT/WORKER`), else the plain hello of `handshake`."""
    from . import address, frames, handshake
    if isinstance(peer, str) and peer.startswith("tcp:"):
        target = address.parse(peer).target
        if target:
            return frames.encode(encode(token, CALLER, target, epoch))
    return frames.encode(handshake.hello(token))


def stale(sent: int, own: int) -> bool:
    """Whether a caller that sent epoch `sent` must be refused by a worker of epoch `own`
    (either 0: nothing to compare, accepted)."""
    return bool(sent and own and sent != own)


def refusal(instance_id: str, sent: int, own: int) -> bytes:
    """The whole refusal frame for a caller that sent epoch `sent` to the worker of
    `instance_id`, whose placement is epoch `own`."""
    side = "an older" if sent < own else "a newer"
    why = (f"stale epoch: instance {instance_id} was reached with epoch {sent}, {side} placement "
           f"than this worker's epoch {own}; connection refused").encode()
    return _REFUSAL.pack(9 + len(why), REFUSED, 0) + why
