"""The SDK's control-plane client: gRPC to the master, errors mapped to yr errors.

`grpc.RpcError` never leaves this module. Every call carries the session token and a
deadline, so no control call can hang.
"""
from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # gRPC's own INFO lines (GOAWAY at shutdown) are noise to users
import grpc  # noqa: E402

from yr_runtime.proto import control_pb2 as pb
from yr_runtime.proto import control_pb2_grpc as pbg

from yr_runtime.wire import handshake, masters
from yr_runtime.wire.errors import ErrorCode, kind_from_metadata

from .exceptions import ERR_INIT_CONNECTION_FAILED, InitError, RuntimeUnavailableError, error_for

if TYPE_CHECKING:   # wire.tls (and so `ssl`) loads only for a TLS master
    from yr_runtime.wire.tls import Identity

CONTROL_TIMEOUT = 30.0
SESSION_RETRY = 0.5   # seconds between attempts to reopen the session stream of a master that went away
RESEND = 0.3          # seconds before a create or lookup in flight when its master went is sent again


def _kind_of(e: grpc.RpcError) -> ErrorCode | None:
    """The master's answer travels as a kind in the trailing metadata; a call that failed
    before any answer (gRPC's own status, set on this side) is told by its status."""
    kind = kind_from_metadata(e.trailing_metadata() if hasattr(e, "trailing_metadata") else None)
    if kind is not None:
        return kind
    status = e.code() if hasattr(e, "code") else None
    if status in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
        return ErrorCode.ERR_INNER_COMMUNICATION
    if status is grpc.StatusCode.DEADLINE_EXCEEDED:  # this call's own deadline
        return ErrorCode.ERR_GET_OPERATION_FAILED
    return None


def _master_went(e) -> bool:
    """A call that failed because its master went away under it (the connection broke, or it
    no longer leads): UNAVAILABLE with no answer of the master's own."""
    return (isinstance(e, grpc.RpcError) and hasattr(e, "code") and e.code() == grpc.StatusCode.UNAVAILABLE
            and _kind_of(e) is ErrorCode.ERR_INNER_COMMUNICATION)


class _Resent:
    """A create's future, sent again (after RESEND s) while it fails because its master went
    away under it, until its deadline: a create in flight when a master dies completes on
    the master that follows (a restarted one, or a standby). `result()` and
    `add_done_callback(fn)` as a grpc future's. The request carries its instance id (or its
    name), so a master that restored it from etcd does not make it twice."""

    def __init__(self, send, deadline: float | None):
        self._send, self._deadline = send, deadline
        self._lock = threading.Lock()
        self._callbacks: list = []
        self._settled = threading.Event()
        self._fut = None
        self._start()

    def _start(self) -> None:
        remaining = None if self._deadline is None else max(0.0, self._deadline - time.monotonic())
        self._fut = self._send(remaining)
        self._fut.add_done_callback(self._answered)

    def _answered(self, fut) -> None:
        e = fut.exception()
        left = None if self._deadline is None else self._deadline - time.monotonic()
        if e is not None and _master_went(e) and (left is None or left > RESEND):
            threading.Timer(RESEND, self._start).start()
            return
        with self._lock:
            self._settled.set()
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn(self)

    def result(self, timeout: float | None = None):
        self._settled.wait(timeout)
        return self._fut.result(timeout=0)

    def add_done_callback(self, fn) -> None:
        with self._lock:
            if not self._settled.is_set():
                self._callbacks.append(fn)
                return
        fn(self)


def map_error(e: grpc.RpcError, what: str) -> Exception:
    kind = _kind_of(e)
    detail = e.details() if hasattr(e, "details") else str(e)
    if kind is ErrorCode.ERR_INNER_COMMUNICATION:
        detail = f"the yr runtime is unavailable ({detail}); is it running? (`yr status`)"
    return error_for(kind, f"{what}: {detail}")


def _channel(address: str, identity: Identity | None):
    """Plain gRPC (a Unix socket, or TCP to a master without TLS), or mutual TLS: this member's
    certificate presented, the master's verified against the cluster CA and its name MASTER_NAME."""
    options = [("grpc.max_receive_message_length", 512 << 20), ("grpc.max_send_message_length", 512 << 20),
               ("grpc.enable_retries", 0)]
    address = masters.target(address)   # a list of masters: one channel to whichever leads (wire/masters.py)
    if identity is None:
        return grpc.insecure_channel(address, options=options)
    from yr_runtime.wire.tls import MASTER_NAME
    ca, cert, key = identity.pem()
    creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
    return grpc.secure_channel(address, creds, options=options + [("grpc.ssl_target_name_override", MASTER_NAME)])


class MasterClient:
    def __init__(self, address: str, token: bytes, identity: Identity | None = None):
        self.address, self._identity = address, identity
        self._channel = _channel(address, identity)
        self._stub = pbg.MasterStub(self._channel)
        # Every call says which protocol this side speaks: the master refuses another version by name.
        self._md = (("yr-token", token.decode()), ("yr-protocol", str(handshake.PROTOCOL_VERSION)))
        self._session_call = None
        self._closed = False
        self._lock = threading.Lock()
        # A master on TCP may be restarted at the same address (its cluster lives on): creates
        # and the session wait for it. A Unix socket's master never comes back there.
        self._master_may_return = not address.startswith("unix:")

    def close(self) -> None:
        with self._lock:
            self._closed = True
        if self._session_call is not None:
            self._session_call.cancel()
        self._channel.close()

    def wait_ready(self, timeout: float) -> None:
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            why = self._why_unreachable()
            raise RuntimeUnavailableError(f"the yr master did not answer within {timeout:.0f}s"
                                          + (f": {self.address}: {why}" if why else "")) from None

    def _why_unreachable(self) -> str:
        """For a TCP master: whether TLS was expected and not offered, or a certificate refused."""
        host, sep, port = masters.first(self.address).rpartition(":")
        if self.address.startswith("unix:") or not sep or not port.isdigit():
            return ""
        from yr_runtime.wire import tls
        return tls.diagnose(host.strip("[]"), int(port), self._identity)

    def rpc(self):
        """(stub, metadata) for the KV and stream calls of yr._data, which map their own errors."""
        return self._stub, self._md

    # ---- calls ---------------------------------------------------------------------------------
    def create_instance_async(self, spec: pb.InstanceSpec, timeout: float | None):
        """A grpc future; `result_of(fut, what)` turns it into an InstanceInfo or a yr error.
        A create made while a master on TCP is away (restarting, or a standby taking over)
        waits for it, up to `timeout`: sent again if it was in flight when the master went."""
        def send(remaining):
            return self._stub.CreateInstance.future(pb.CreateInstanceRequest(spec=spec), timeout=remaining,
                                                    metadata=self._md, wait_for_ready=self._master_may_return)
        if not self._master_may_return:
            return send(timeout)
        return _Resent(send, None if timeout is None else time.monotonic() + timeout)

    @staticmethod
    def result_of(fut, what: str):
        try:
            return fut.result()
        except grpc.RpcError as e:
            raise map_error(e, what) from None

    def terminate(self, instance_id: str, wait: bool = False):
        fut = self._stub.TerminateInstance.future(pb.TerminateRequest(instance_id=instance_id),
                                                  timeout=CONTROL_TIMEOUT, metadata=self._md)
        if wait:
            self.result_of(fut, f"terminate instance {instance_id}")
        return fut

    def get_instance(self, *, instance_id: str = "", name: str = "", namespace: str = "", timeout: float = 0.0) -> pb.InstanceInfo:
        """A lookup; while a master on TCP is away (restarting, a standby taking over) it waits
        for it, and is asked again if it was in flight when the master went (bounded: `timeout`
        plus CONTROL_TIMEOUT in all)."""
        req = pb.GetInstanceRequest(instance_id=instance_id, name=name, namespace=namespace, timeout_s=timeout)
        what = f"get instance {name or instance_id}"
        deadline = time.monotonic() + timeout + CONTROL_TIMEOUT
        while True:
            try:
                return self._stub.GetInstance(req, timeout=max(0.0, deadline - time.monotonic()), metadata=self._md,
                                              wait_for_ready=self._master_may_return)
            except grpc.RpcError as e:
                if not (self._master_may_return and _master_went(e) and time.monotonic() < deadline - RESEND):
                    raise map_error(e, what) from None
            time.sleep(RESEND)

    def status(self) -> pb.StatusReply:
        try:
            return self._stub.Status(pb.StatusRequest(), timeout=CONTROL_TIMEOUT, metadata=self._md)
        except grpc.RpcError as e:
            raise map_error(e, "status") from None

    def shutdown(self) -> None:
        try:
            self._stub.Shutdown(pb.ShutdownRequest(), timeout=5, metadata=self._md)
        except grpc.RpcError:
            pass

    def open_session(self, job_id: str, pid: int, owns_runtime: bool, on_event, on_end, timeout: float = CONTROL_TIMEOUT) -> None:
        """Opens the driver's lifeline stream; events go to on_event, on_end(reason) once at the end.
        Returns once the master has accepted it; raises InitError naming why if it refused it
        (wrong token, another protocol version), RuntimeUnavailableError if it did not answer.
        If a master on TCP goes away later (UNAVAILABLE) the stream is opened again when it is back
        (a master restarted with its metadata store keeps the job only if its driver comes back)."""
        request = pb.SessionRequest(job_id=job_id, pid=pid, owns_runtime=owns_runtime)
        call = self._stub.Session(request, metadata=self._md)
        self._session_call = call
        opened = threading.Event()

        def pump():
            reason = "session stream ended"
            accepted = False   # a stream the master never accepted is not opened again: open_session raises
            try:   # the master's headers: SESSION_OPEN_HEADER if it accepted the session, none if it refused
                accepted = any(k == handshake.SESSION_OPEN_HEADER for k, _ in call.initial_metadata() or ())
                if not accepted:
                    call.code()   # a refusal: wait for its status, so open_session can name it
            except grpc.RpcError:
                pass
            opened.set()
            while True:
                try:
                    for ev in self._session_call:
                        on_event(ev)
                    break
                except grpc.RpcError as e:
                    reason = "cancelled" if e.code() == grpc.StatusCode.CANCELLED else f"{e.code().name}: {e.details()}"
                    if (e.code() != grpc.StatusCode.UNAVAILABLE or self._closed or not self._master_may_return
                            or not accepted):
                        break
                time.sleep(SESSION_RETRY)
                with self._lock:
                    if self._closed:
                        break
                    self._session_call = self._stub.Session(request, metadata=self._md, wait_for_ready=True)
            on_end(reason)
        threading.Thread(target=pump, name="yr-session", daemon=True).start()
        if not opened.wait(timeout):
            raise RuntimeUnavailableError(f"the yr master at {self.address} did not open this driver's session "
                                          f"within {timeout:.0f}s")
        if call.done() and call.code() not in (grpc.StatusCode.OK, grpc.StatusCode.CANCELLED, None):
            raise InitError(f"the yr master at {self.address} refused this driver: {call.details()}",
                            code=ERR_INIT_CONNECTION_FAILED)
