"""Every message between the processes of a node, defined once and imported by both ends.

Links (each framed by `frames`; an agent connection starts with the hello of `handshake`):
- worker -> agent: `WorkerHello`, `Initialized`, `TaskBlocked`, `Metrics` (drivers send it too)
- agent -> worker: `Assign`, `Terminate`, `Prepare`
- SDK -> agent (the node object store and saved state): `ObjPut`, `ObjGet`, `ObjFree`,
  `StatePut`, `StateGet`, `ObjHold`, `ObjRelease` (borrowed refs)
- agent -> SDK: `ObjValue`, `ObjMissing`, `ObjRefused`, `StateSaved`, `State`, `ObjHeld`
- SDK -> agent of the master's node -> SDK: `CreateOnNode` -> `Created`
- agent <-> zygote (a socketpair): `ForkRequest` (sent with one fd: the write end of the new
  worker's output pipe) ->; <- `Forked`, `ChildExited`

Call frames between callers and workers are not here: they are the hot path, with their
own fixed binary header (`yr._protocol`).

Each message is a frozen dataclass with a wire tag `T`. `encode()` gives a msgpack map
`{"t": tag, field: value, ...}`; `decode(body)` checks the tag and the type of every field
and raises `MessageError` (a ValueError) naming what is wrong. Peers are authenticated, but
a buggy or hostile one must only lose its own connection, never crash the daemon.
Unknown fields are ignored (a newer peer may send more); missing ones take their default
or are an error when the field has none.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import ClassVar

import msgpack

from . import frames

BOOTSTRAP_ENV = "YR_WORKER_BOOTSTRAP"   # JSON `Bootstrap` a worker process is started with


class MessageError(ValueError):
    """Bytes that are not a valid message of this protocol."""


_BY_TAG: dict[str, type["Message"]] = {}
_FIELDS: dict[type, tuple] = {}


def message(tag: str):
    """Class decorator: a frozen dataclass registered under its wire tag."""
    def register(cls):
        cls = dataclasses.dataclass(frozen=True)(cls)
        cls.T = tag
        if tag in _BY_TAG:
            raise RuntimeError(f"two messages use the tag {tag!r}")
        _BY_TAG[tag] = cls
        hints = typing.get_type_hints(cls)
        _FIELDS[cls] = tuple((f.name, _checker(hints[f.name]), f.default is dataclasses.MISSING
                              and f.default_factory is dataclasses.MISSING)
                             for f in dataclasses.fields(cls))
        return cls
    return register


class Message:
    T: ClassVar[str] = ""

    def encode(self) -> bytes:
        body = {"t": self.T}
        for f in dataclasses.fields(self):
            body[f.name] = getattr(self, f.name)
        return msgpack.packb(body, use_bin_type=True)

    def frame(self) -> bytes:
        """The message as one whole frame, length prefix included."""
        return frames.encode(self.encode())


def decode(body: bytes, *expected: type[Message]) -> Message:
    """The message in a frame body; with `expected`, only those kinds are accepted."""
    try:
        raw = msgpack.unpackb(body, raw=False, strict_map_key=False)
    except (msgpack.UnpackException, ValueError, TypeError) as e:
        raise MessageError(f"undecodable message: {e}") from None
    if not isinstance(raw, dict):
        raise MessageError(f"a message is a map, got {type(raw).__name__}")
    cls = _BY_TAG.get(raw.get("t"))
    if cls is None:
        raise MessageError(f"unknown message type {raw.get('t')!r:.40}")
    if expected and cls not in expected:
        raise MessageError(f"unexpected message {cls.T!r} here (expected "
                           f"{', '.join(c.T for c in expected)})")
    values = {}
    for name, check, required in _FIELDS[cls]:
        if name not in raw:
            if required:
                raise MessageError(f"message {cls.T!r} lacks its field {name!r}")
            continue
        values[name] = check(raw[name], cls.T, name)
    return cls(**values)


def _checker(hint):
    """A function (value, tag, field) -> value that accepts only values of `hint`."""
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        check = _checker(inner)
        return lambda v, t, n: None if v is None else check(v, t, n)
    want = origin or hint
    if want is float:
        want = (int, float)

    def check(v, tag, name):
        if not isinstance(v, want) or (isinstance(v, bool) and want is not bool):
            raise MessageError(f"field {name!r} of message {tag!r} has type {type(v).__name__}, "
                               f"expected {getattr(hint, '__name__', hint)}")
        return v
    return check


# ---- worker <-> agent ------------------------------------------------------------------------
@message("hello")
class WorkerHello(Message):
    """A worker started by the agent is ready for an assignment and serves at `endpoint`."""
    worker_id: str
    pid: int
    endpoint: str


@message("assign")
class Assign(Message):
    """Host this instance (or serve stateless calls): everything a worker needs to start it."""
    instance_id: str
    job_id: str
    language: str = "python"
    class_name: str = ""
    code: bytes = b""                 # the SDK's serialized class/spec; opaque to the runtime
    concurrency: int = 1
    driver_env: str = ""              # JSON: sys_path, cwd, env_vars of the creating driver
    executable: str = ""              # C++: the user's program
    recover_retry_times: int = 0
    state: bytes | None = None        # a restart: the instance's last saved state
    epoch: int = 0                    # its placement (the master's count): callers' preambles must match


@message("initialized")
class Initialized(Message):
    """The instance's constructor finished (`error` says how it failed, if it did)."""
    instance_id: str
    error: str | None = None


@message("blocked")
class TaskBlocked(Message):
    """The worker's running call waits for other calls (True) or runs again (False)."""
    instance_id: str
    blocked: bool


@message("terminate")
class Terminate(Message):
    """Shut down: run the instance's shutdown hook and exit."""


@message("metrics")
class Metrics(Message):
    """A process's counts for the metrics (yr._telemetry; every second while they change).
    `calls`: "Class.method" or function name -> [started, finished, failed, seconds, bucket
    counts...]; `user`: [[kind, name, description, unit, labels, value], ...]."""
    source: str                       # "worker:<id>" or "driver:<job>:<pid>": one report replaces the last
    instance_id: str = ""
    class_name: str = ""
    calls: dict = dataclasses.field(default_factory=dict)
    queued: int = 0                   # calls received and not started
    user: list = dataclasses.field(default_factory=list)


# ---- SDK <-> agent: node object store and saved state -----------------------------------------
@message("obj_put")
class ObjPut(Message):
    id: str
    data: bytes
    error: bool = False
    job: str = ""
    contains: list = dataclasses.field(default_factory=list)   # ids of refs inside the value: held while it is stored


@message("obj_get")
class ObjGet(Message):
    rid: int
    id: str
    timeout: float = -1.0             # seconds; -1 waits until the object is put
    owner: str = ""                   # the data address (tcp:HOST:PORT) of the node that holds it; "": this one
    owner_node: str = ""              # that node's id (named when it is lost)


@message("obj_free")
class ObjFree(Message):
    ids: list


@message("state_put")
class StatePut(Message):
    rid: int
    instance_id: str
    data: bytes


@message("state_get")
class StateGet(Message):
    rid: int
    instance_id: str


@message("obj_value")
class ObjValue(Message):
    rid: int
    data: bytes
    error: bool = False


@message("obj_missing")
class ObjMissing(Message):
    """The object was not put within the get's timeout."""
    rid: int


@message("obj_refused")
class ObjRefused(Message):
    """The object was not stored (the store was full); `reason` says so."""
    rid: int
    reason: str


@message("ok")
class StateSaved(Message):
    rid: int


@message("state")
class State(Message):
    rid: int
    data: bytes | None = None


@message("obj_lost")
class ObjLost(Message):
    """The object lived on another node, which cannot be reached (gone); `reason` says so."""
    rid: int
    reason: str


@message("caller")
class CallerHandoff(Message):
    """Agent -> worker: a caller connection accepted on the node's data port comes with this
    message (its fd rides on the message's bytes, SCM_RIGHTS); its preamble was checked."""


@message("create")
class CreateOnNode(Message):
    """SDK -> agent of the master's own node: a create without the gRPC hop (docs/architecture.md
    "Creation"). `spec`: a serialized control.proto `InstanceSpec`, passed through untouched."""
    rid: int
    spec: bytes


@message("created")
class Created(Message):
    """The answer to CreateOnNode: a serialized `CreateInstanceReply`, or the refusal's error
    kind (`wire.errors.ErrorCode`) and message."""
    rid: int
    reply: bytes | None = None
    kind: int = 0
    error: str = ""


@message("prepare")
class Prepare(Message):
    """Agent -> idle warm worker: take this driver environment (an Assign's `driver_env`)
    ahead of a create that brings the same one (runtime/yr_runtime/node/warm.py)."""
    driver_env: str


# ---- agent <-> zygote --------------------------------------------------------------------------
@message("fork")
class ForkRequest(Message):
    """Fork a worker with this bootstrap; its output goes to the fd sent with the message."""
    rid: int
    boot: dict


@message("forked")
class Forked(Message):
    rid: int
    pid: int


@message("exit")
class ChildExited(Message):
    """A forked worker was reaped; `status` is a returncode (negative: killed by a signal)."""
    pid: int
    status: int


@message("obj_hold")
class ObjHold(Message):
    """SDK -> agent: this process keeps refs to these objects beyond the call that brought
    them (a *borrow*): an owner's free leaves them in the store until each hold is released
    with ObjRelease or the holding connection ends. Answered with ObjHeld once held; an object
    of another node (`owner`, its data address) is pulled here first, so the copy outlives
    its owner's free."""
    rid: int
    ids: list
    owner: str = ""
    owner_node: str = ""
    # with tokens (one per id): *transfer* holds for refs sent in a call's result, not tied to
    # this connection; the receiver that rebuilds the ref releases its token when done with it
    tokens: list = dataclasses.field(default_factory=list)


@message("obj_held")
class ObjHeld(Message):
    rid: int


@message("obj_release")
class ObjRelease(Message):
    """SDK -> agent: one hold on each of these objects is let go (not answered); each of
    `tokens` ends the transfer hold taken with it (an unknown or spent token: nothing)."""
    ids: list
    tokens: list = dataclasses.field(default_factory=list)


# ---- node <-> node: object pulls on the data port (wire.preamble purpose OBJECTS) -----------
# The puller sends PullObject, then PullChunk for each piece of a mapped body's file (several
# in flight); each chunk is answered by one raw frame: b"\x00" + the bytes, or b"\x01" + why.
@message("pull")
class PullObject(Message):
    rid: int
    id: str
    timeout: float = -1.0
    puller: str = ""   # the puller's data address: the owner tells it when the object is freed


@message("pulled")
class PulledObject(Message):
    """An INLINE body (`desc` None: `data` is the whole body), or a MAPPED one: `data` is its
    pickle, `desc` its descriptor (the path is the owner's), `size` the bytes of its file,
    to be pulled with PullChunk. Not found in time: ObjMissing; not stored: ObjRefused."""
    rid: int
    data: bytes
    error: bool = False
    job: str = ""
    desc: dict | None = None
    size: int = 0


@message("chunk")
class PullChunk(Message):
    """A piece of the file of the object last answered with PulledObject on this connection."""
    offset: int
    length: int


@message("free_copies")
class FreeCopies(Message):
    """Owner -> a node that pulled: these objects were freed on their owner; drop your copies.
    Not answered."""
    ids: list


# ---- bootstrap ---------------------------------------------------------------------------------
# The C++ SDK (sdk_cpp/src/runtime.cpp) tests for this variable by name to know it runs as a
# worker; the value is read here only.
@dataclasses.dataclass(frozen=True)
class Bootstrap:
    """What a worker process is started with (JSON in $YR_WORKER_BOOTSTRAP, or the zygote's
    fork request): where its session is, how to reach its agent, who it is."""
    session_dir: str
    agent: str
    worker_id: str
    language: str = "python"
    parent_pid: int = 0
    tcp: str = ""                      # a host: the worker also serves calls over TCP there
    data: str = ""                     # the node's data port (tcp:HOST:PORT): the worker is reached there

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Bootstrap":
        """Raises MessageError when `d` is not a bootstrap (unknown keys are ignored)."""
        if not isinstance(d, dict):
            raise MessageError(f"a bootstrap is a map, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in d.items() if k in names})
        except TypeError as e:
            raise MessageError(f"bad bootstrap: {e}") from None

    def to_env(self) -> str:
        """The value of $YR_WORKER_BOOTSTRAP (BOOTSTRAP_ENV)."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_env(cls, text: str) -> "Bootstrap":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as e:
            raise MessageError(f"${BOOTSTRAP_ENV} is not JSON: {e}") from None
