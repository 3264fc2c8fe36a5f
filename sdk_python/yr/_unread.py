"""The transfer holds inside a result body that will never be read.

A worker that sends refs in a call's result holds each at its node store under a token
until the receiver has them (`yr._context.hold_sent`); unpickling the result hands each hold
to the receiver (`ObjectRef.__reduce__` pickles such a ref as a call of
`yr._context.adopt_ref(object_id, token, ...)`). A result dropped unread is never unpickled,
so its tokens are read here instead, from the pickle's opcodes: nothing of the value is
built and no user code runs (the receiver may not even be able to import the value's
classes). Pure: bytes in, tokens out.
"""
from __future__ import annotations

import pickletools

from yr_runtime.wire import bodies

# The function a transfer-held ref is rebuilt by, as pickles name it (tests/sdk_python/
# test_unread.py fails if `ObjectRef.__reduce__` names another), and a part of its name found
# in every body that holds a transfer hold.
ADOPT_GLOBAL = ["yr._context", "adopt_ref"]
MARK = b"adopt_ref"
_STRINGS = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"})
_GETS = frozenset({"BINGET", "LONG_BINGET", "GET"})
_PUTS = frozenset({"BINPUT", "LONG_BINPUT", "PUT"})
_ADOPT = object()   # what the walk pushes for the adopt_ref global


def transfer_tokens(body: bytes) -> list[str]:
    """The tokens of the transfer holds in the result body `body` (a flag byte, a mapped
    value's descriptor, then the pickle; see `yr_runtime.wire.bodies`): for each ref the
    body holds as a call of `yr._context.adopt_ref(object_id, token, *owner)`, its token.
    [] for a body without any, or one that is not a well-formed pickle."""
    if MARK not in body:
        return []
    try:
        start = bodies.split_mapped(body)[1] if body[:1] == bodies.MAPPED else 1
        return _tokens(bytes(body[start:]))
    except Exception:   # not a pickle genops can walk (truncated, unknown opcode): nothing to release
        return []


def _tokens(data) -> list[str]:
    """Walks the opcodes, tracking the strings pushed (directly or from the memo) since the
    last push of the `adopt_ref` global (made, or fetched from the memo after its first
    use): its second string argument is a token."""
    memo: dict[int, object] = {}
    last: object = None      # the value of the last opcode that pushed one (for MEMOIZE)
    recent: list[str] = []   # the last two strings pushed (a STACK_GLOBAL's module and name)
    args: list[str] | None = None   # strings pushed since an adopt_ref global, while < 2
    tokens = []
    for op, arg, _pos in pickletools.genops(data):
        name = op.name
        if name == "MEMOIZE":
            memo[len(memo)] = last
            continue
        if name in _PUTS:
            memo[arg] = last
            continue
        value: object = None
        if name in _STRINGS:
            value = arg
        elif name in _GETS:
            value = memo.get(arg)
        elif name == "STACK_GLOBAL":
            value = _ADOPT if recent[-2:] == ADOPT_GLOBAL else None
        elif name == "GLOBAL":
            value = _ADOPT if arg == " ".join(ADOPT_GLOBAL) else None
        last = value
        if value is _ADOPT:
            args = []
        elif isinstance(value, str):
            recent = [*recent[-1:], value]
            if args is not None:
                args.append(value)
                if len(args) == 2:   # (object_id, token)
                    tokens.append(args[1])
                    args = None
        elif name not in ("FRAME", "PROTO"):
            recent = []
    return tokens
