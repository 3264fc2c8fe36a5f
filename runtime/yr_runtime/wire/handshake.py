"""The first frame on every yr connection: a magic tag and the session token.

Nothing a peer sends is deserialized before its token has been checked here, in constant
time. A connection whose first frame is not a valid hello is closed by the receiver, and
one whose first frame announces more than MAX_HELLO bytes is closed before they are read.
"""
from __future__ import annotations

import hmac

MAGIC = b"YR1\x00"
MAX_HELLO = 256   # a receiver reads no longer first frame: FrameDecoder(first_max=MAX_HELLO)


class AuthError(PermissionError):
    """The peer did not present this session's token."""


def hello(token: bytes) -> bytes:
    return MAGIC + token


def check_hello(body: bytes, token: bytes) -> None:
    if len(body) > MAX_HELLO or not body.startswith(MAGIC):
        raise AuthError("connection did not start with a yr hello")
    if not hmac.compare_digest(body[len(MAGIC):], token):
        raise AuthError("wrong session token")

SESSION_OPEN_HEADER = "yr-session-open"   # gRPC header: the master accepted a driver's session stream

# The version of what nodes and the master say to each other (NodeSession). A node of another
# version is refused at register with a message naming both: bump it on any incompatible change.
PROTOCOL_VERSION = 3   # 2: nodes heartbeat (a node of 1 would be declared dead), register again, leave;
# 3: the master answers heartbeats (a node of 3 fences itself without the answers) and confirms saved states
