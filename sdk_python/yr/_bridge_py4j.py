"""The Python end of the Java SDK's py4j link (owned by the Java SDK, issue 5).

A JVM (a Java driver, or a worker JVM started by ``yr._java_host``) listens with a py4j
GatewayServer; this module connects to it, starts a py4j callback server and attaches a
``_BridgeService`` through which Java calls ``yr._bridge``. So Java needs no protocol code.

Rules this module keeps:

- Values cross as one ``bytes`` per call each way, in the neutral encoding of ``_Codec``
  (twin of ``org.yuanrong.runtime.bridge.Codec``). Instance handles and object refs never
  cross: the link keeps them in a ``_Registry`` and Java holds their ids. Java releases an
  id when its Java object is garbage-collected.
- Every call answers ``{"ok": value}`` or ``{"err": [code, remote_class, message]}``; no
  Python exception reaches py4j, so Java always gets a YRException with an openYuanrong code.
- Run as ``python -m yr._bridge_py4j`` by a Java driver, the process lives until Java says
  ``exit`` or its stdin (a pipe from the JVM) closes, and then finalizes the session:
  it never outlives the driver.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from typing import Any, Callable

from py4j.java_gateway import CallbackServerParameters, GatewayParameters, JavaGateway

from . import _bridge_sock
from ._bridge_codec import _Codec, _Failed, _Registry
from .exceptions import (ERR_GET_OPERATION_FAILED, ERR_INNER_COMMUNICATION, ERR_PARAM_INVALID,
                         ERR_USER_FUNCTION_EXCEPTION)

_OK = b"M\x00\x00\x00\x01S\x00\x00\x00\x02ok"   # an encoded {"ok": ...} up to its value


class _Turns:
    """Runs Java's invoke batches in the order Java made them (sequence numbers from 1),
    whichever py4j thread brings each one. A batch whose predecessor never arrives (its
    crossing failed) waits at most ``limit`` seconds, then runs."""

    def __init__(self, limit: float = 10.0) -> None:
        self._next = 1
        # As in _Registry: the bare lock when the batch's turn has come (the usual case, one
        # connection's frames), the condition only for a batch that must wait its turn.
        self._mutex = threading.Lock()
        self._cond = threading.Condition(self._mutex)
        self._waiting = 0
        self._limit = limit

    def wait(self, seq: int) -> None:
        with self._mutex:
            if self._next >= seq:
                return
            self._waiting += 1
            try:
                if not self._cond.wait_for(lambda: self._next >= seq, self._limit):
                    self._next = seq
            finally:
                self._waiting -= 1

    def done(self, seq: int) -> None:
        with self._mutex:
            if seq >= self._next:
                self._next = seq + 1
            if self._waiting:
                self._cond.notify_all()


def _error_code(exc: BaseException) -> int:
    """A yr error's own code; for other errors, the code of docs/bridge.md by builtin type."""
    code = getattr(exc, "code", None)
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(exc, TimeoutError):
        return ERR_GET_OPERATION_FAILED
    if isinstance(exc, (TypeError, ValueError, KeyError)):
        return ERR_PARAM_INVALID
    if isinstance(exc, (ConnectionError, EOFError)):
        return ERR_INNER_COMMUNICATION
    return ERR_USER_FUNCTION_EXCEPTION


def _error_answer(exc: BaseException) -> list:
    """[code, remote Java class or None, message]. A Java user error (a JavaError, raised
    by a worker JVM, as the exception or its ``cause``) is reported by its Java class and
    Java stack trace, without the Python frames of the worker that carried it."""
    for candidate in (getattr(exc, "cause", None), exc):
        if isinstance(candidate, JavaError) and isinstance(getattr(candidate, "stack", None), str):
            where = getattr(exc, "where", "")
            head = f"{where} raised:\n" if where else ""
            return [_error_code(exc), candidate.java_class, head + candidate.stack.rstrip()]
    from . import _xlang   # a Python or C++ user error: its original type, message and traceback
    kind = _xlang.remote_class(exc)
    if kind is not None:
        return [_error_code(exc), kind, _xlang.error_text(exc)]
    return [_error_code(exc), None, str(exc) or type(exc).__name__]


class _BridgeService:
    """``org.yuanrong.runtime.bridge.PyBridge``: Java's calls into ``yr._bridge``."""

    class Java:
        implements = ["org.yuanrong.runtime.bridge.PyBridge"]

    def __init__(self, bridge: Any, codec: _Codec, registry: _Registry,
                 on_exit: Callable[[], None] | None = None) -> None:
        self._b = bridge
        self._codec = codec
        self._registry = registry
        self._on_exit = on_exit
        self._local: dict[str, Callable[..., Any]] = {
            "wait": self._wait,
            "release": registry.release,
            "lent": registry.__len__,
            "exit": self._exit,
            "flush": lambda: None,
        }
        self._turns = _Turns()

    _BRIDGE_OPS = frozenset({
        "init", "finalize", "is_initialized", "create_instance", "invoke_method",
        "invoke_function", "get", "put", "terminate", "ref_id", "instance_id",
        "kv_write", "kv_m_write_tx", "kv_read", "kv_get_with_param", "kv_del", "kv_write_value", "kv_read_values",
        "cancel",
        "stream_create_producer", "stream_send", "stream_flush", "stream_subscribe", "stream_receive",
        "stream_ack", "stream_close", "stream_delete", "stream_counts"})

    def _op(self, op: str) -> Callable[..., Any]:
        if op in self._local:
            return self._local[op]
        if op in self._BRIDGE_OPS:
            return getattr(self._b, op)
        raise ValueError(f"unknown bridge operation {op!r}")

    def call(self, op: str, payload: bytes) -> bytes:
        try:
            args = self._codec.decode(payload)
            result = self._op(op)(*args)
            return _OK + self._codec.encode(result)   # = encode({"ok": result}), without the dict
        except BaseException as exc:  # noqa: BLE001 - every error must reach Java as data
            return self._codec.encode({"err": _error_answer(exc)})

    def error(self, exc: BaseException) -> bytes:
        """The encoded answer reporting ``exc``."""
        return self._codec.encode({"err": _error_answer(exc)})

    def release_encoded(self, ids: bytes) -> None:
        """Releases the ids of an encoded list (Java's releases riding on a data frame)."""
        self._registry.release(self._codec.decode(ids))

    _DEFERRABLE = frozenset({"invoke_method", "invoke_function"})

    def callBatched(self, seq: int, invokes: bytes, op: str, payload: bytes) -> bytes:  # noqa: N802 - Java's name
        """Runs Java's deferred invokes (in Java's order), then ``call(op, payload)``.

        ``invokes`` is an encoded list [id, entry, id, entry, ...]; each entry is an
        encoded [op, args...] of invoke_method/invoke_function. Each invoke registers its
        ref (or its error, as a _Failed) under Java's id: one crossing carries a burst of
        invokes, and a sync call (invoke then get) crosses once.
        """
        try:
            flat = self._codec.decode(invokes)
        except BaseException as exc:  # noqa: BLE001 - every error must reach Java as data
            return self._codec.encode({"err": _error_answer(exc)})
        self._turns.wait(seq)
        try:
            for i in range(0, len(flat), 2):
                self._run_deferred(flat[i], flat[i + 1])
        finally:
            self._turns.done(seq)
        return self.call(op, payload)

    def _run_deferred(self, key: str, entry: bytes) -> None:
        try:
            op, *args = self._codec.decode(entry)
            if op not in self._DEFERRABLE:
                raise ValueError(f"operation {op!r} cannot be deferred")
            result = getattr(self._b, op)(*args)
        except BaseException as exc:  # noqa: BLE001 - kept for whoever uses the ref
            result = _Failed(exc)
        self._registry.put(key, result)

    def _wait(self, refs: list, wait_num: int, timeout: float) -> list[int]:
        ready, _ = self._b.wait(refs, wait_num, timeout)
        ready_ids = {self._b.ref_id(r) for r in ready}
        return [i for i, r in enumerate(refs) if self._b.ref_id(r) in ready_ids]

    def _exit(self) -> None:
        if self._on_exit is not None:
            self._on_exit()


class JavaError(Exception):
    """An exception thrown by Java code in a worker JVM.

    ``str()`` is the Java stack trace, whose first line is ``<class name>: <message>``.
    """

    def __init__(self, code: int, java_class: str, message: str, stack: str) -> None:
        self.code = code
        self.java_class = java_class
        self.java_message = message
        self.stack = stack
        super().__init__(stack.rstrip() or f"{java_class}: {message}")

    def __reduce__(self):  # it travels pickled from the worker to the caller
        return (JavaError, (self.code, self.java_class, self.java_message, self.stack))


class Link:
    """The Python end of one JVM's py4j link (see the module docstring)."""

    def __init__(self, java_port: int, token: str, bridge: Any,
                 on_exit: Callable[[], None] | None = None, connect: bool = True) -> None:
        self.registry = _Registry()
        self.codec = _Codec(self.registry)
        self._args = (java_port, token)
        self.service = _BridgeService(bridge, self.codec, self.registry, on_exit)
        if connect:
            self.connect()

    def connect(self) -> None:
        """Connects to the JVM and attaches (a separate step, so that a worker can make
        its codec first and attach meanwhile; the Java end's calls back wait for it)."""
        java_port, token = self._args
        self.gateway = JavaGateway(
            gateway_parameters=GatewayParameters(
                address="127.0.0.1", port=java_port, auth_token=token, auto_convert=False),
            callback_server_parameters=CallbackServerParameters(
                address="127.0.0.1", port=0, auth_token=token,
                daemonize=True, daemonize_connections=True))
        try:
            entry = self.gateway.entry_point
            entry.resetCallback(self.gateway.get_callback_server().get_listening_port())
            entry.attach(self.service)
        except BaseException:
            self.gateway.shutdown()
            raise
        self._entry = entry

    def call(self, op: str, *args: Any) -> Any:
        """A worker operation on the JVM (org.yuanrong.runtime.worker.WorkerCalls)."""
        answer = self.codec.decode(self._entry.call(op, self.codec.encode(list(args))))
        if "err" in answer:
            raise JavaError(*answer["err"])
        return answer["ok"]

    def close(self) -> None:
        try:
            if hasattr(self, "gateway"):
                self.gateway.shutdown()
        except Exception:  # noqa: BLE001 - the JVM may be gone already
            pass


def bridge_module() -> Any:
    """``yr._bridge``, or the module named by YR_BRIDGE_MODULE (a test seam: the Java
    SDK's tests use an in-process fake to test the Java side without a runtime)."""
    return importlib.import_module(os.environ.get("YR_BRIDGE_MODULE") or "yr._bridge")


def main() -> None:
    """``python -m yr._bridge_py4j``: the bridge process of a Java driver."""
    port = int(os.environ["YR_PY4J_JAVA_PORT"])
    token = os.environ["YR_PY4J_TOKEN"]
    os.dup2(2, 1)  # the driver's stdout is the user's program output: keep ours off it
    bridge = bridge_module()

    stop = threading.Event()

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            stop.set()

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=watch_stdin, name="yr-stdin", daemon=True).start()
    link = Link(port, token, bridge, on_exit=stop.set, connect=False)
    data = None
    if os.environ.get(_bridge_sock.SOCKET_ENV):   # bound before attaching: Java uses it at once
        try:
            data = _bridge_sock.DataServer(os.environ[_bridge_sock.SOCKET_ENV], link.service)
        except OSError as exc:   # Java sees no socket and calls through py4j
            print(f"yr._bridge_py4j: no data socket ({exc}); calls go through py4j", file=sys.stderr)
    link.connect()
    while not stop.wait(0.5):
        pass
    try:
        if bridge.is_initialized():
            bridge.finalize()
    except Exception as exc:  # noqa: BLE001 - exiting anyway; say why
        print(f"yr._bridge_py4j: finalize failed: {exc}", file=sys.stderr)
    link.close()
    if data is not None:
        data.close()
    elif os.environ.get(_bridge_sock.SOCKET_ENV):
        try:   # the directory the JVM made for a socket that could not be bound
            os.rmdir(os.path.dirname(os.environ[_bridge_sock.SOCKET_ENV]))
        except OSError:
            pass
    sys.stderr.flush()
    os._exit(0)  # py4j threads must not keep a driver-less process alive


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy: JavaError must be one class.
    from yr._bridge_py4j import main as _main
    _main()
