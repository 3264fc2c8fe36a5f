"""yr.cancel of a running stateless call: interrupt it, and restart its executor only if it
does not stop (docs/api.md, "Cancel").

The caller side (`request`): the call's executor is a worker on this machine (its channel is
a Unix socket). The caller creates an empty file `<socket>.cancel-<call id>` next to the
worker's socket and sends the worker SIGUSR2 (its pid is the socket's peer credentials).
The answer of the call then arrives as usual (an error, or the value if it finished first);
if it has not arrived after GRACE seconds, the caller restarts the executor.

The worker side (`install`, for stateless executors only): the SIGUSR2 handler runs on the
main thread (which runs the calls of a concurrency-1 executor). It reads the ids named by
the files, finds the thread whose `Worker._run` frame runs that call id and raises
`CallCancelled` in it: directly on the main thread, through PyThreadState_SetAsyncExc on a
call thread. Nothing of this runs per call: the frames are read only when a cancel comes.
A call that is not running yet, or is blocked in C code that does not return to Python
(the exception waits for it), is not stopped here: the caller's grace passes and it restarts
the executor.
"""
from __future__ import annotations

import glob
import os
import signal
import socket
import struct
import sys
import threading

SIGNAL = signal.SIGUSR2
GRACE = float(os.environ.get("YR_CANCEL_GRACE", "2.0"))   # seconds a cancelled call has to stop
_SUFFIX, _RECURSIVE = ".cancel-", ".cancelr-"


class CallCancelled(BaseException):
    """Raised inside a call that yr.cancel interrupts (a BaseException: `except Exception`
    in user code does not swallow it)."""


# ---- the caller side ---------------------------------------------------------------------------
def local_worker(sock) -> tuple[int, str] | None:
    """(pid, socket path) of the worker at the other end of `sock`, if it is a Unix socket
    on this machine; None otherwise (a worker on another node cannot be signalled)."""
    if sock is None or sock.family != socket.AF_UNIX:
        return None
    try:
        path = sock.getpeername()
        pid, _, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    except OSError:
        return None
    if not path or not pid:
        return None
    return pid, path if isinstance(path, str) else path.decode()


def request(pid: int, path: str, call_id: int, recursive: bool = False) -> str | None:
    """Asks worker `pid` to interrupt call `call_id` (and, `recursive`, the stateless calls
    it made); the request file's path (None if the worker is gone)."""
    marker = f"{path}{_RECURSIVE if recursive else _SUFFIX}{call_id}"
    try:
        with open(marker, "x"):
            pass
        os.kill(pid, SIGNAL)
    except FileExistsError:
        os.kill(pid, SIGNAL)
    except OSError:
        forget(marker)
        return None
    return marker


def forget(marker: str | None) -> None:
    if marker:
        try:
            os.unlink(marker)
        except OSError:
            pass


# ---- the worker side ---------------------------------------------------------------------------
def install(socket_path: str, run_code) -> None:
    """Installs the SIGUSR2 handler of a stateless executor whose call socket is at
    `socket_path`; `run_code` is Worker._run's code object (the frame of a running call)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def on_signal(_signum, frame):
        wanted = _requested(socket_path)
        if not wanted:
            return
        me = threading.get_ident()
        for ident, top in list(sys._current_frames().items()):
            cid = _running_call(frame if ident == me else top, run_code)
            if cid is None or cid not in wanted:
                continue
            forget(wanted[cid])
            if _RECURSIVE in wanted[cid]:
                threading.Thread(target=cancel_made_calls, name="yr-cancel", daemon=True).start()
            if ident == me:
                raise CallCancelled(f"call {cid} was cancelled (yr.cancel)")
            import ctypes   # only here: a driver never needs it
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(CallCancelled))
    signal.signal(SIGNAL, on_signal)


def _requested(socket_path: str) -> dict:
    """{call id: request file} of the requests waiting for this worker."""
    out = {}
    for marker in glob.glob(glob.escape(socket_path) + ".cancel*-*"):
        try:
            out[int(marker.rsplit("-", 1)[1])] = marker
        except ValueError:
            pass
    return out


def cancel_made_calls() -> None:
    """allow_recursive: cancels every stateless call this worker made that has not finished
    (with concurrency > 1, those of its other running calls too), as yr.cancel would."""
    from . import _context
    from .exceptions import CancelError
    reg = _context.current().instances
    for pool in list(reg.pools.values()) if reg is not None else ():
        with pool._lock:
            slots = [c.slot for c in (*pool.waiting, *pool.deferred)]
            for ex in pool.executors:
                slots += [c.slot for c in ex.target._queue]
                if ex.target.channel is not None:
                    slots += [c.slot for c in list(ex.target.channel._pending.values())]
        for slot in slots:
            if not slot.done:
                pool.cancel(slot, CancelError("the call was cancelled with the call that made it "
                                              "(yr.cancel, allow_recursive=True)"), True, True)


def _running_call(frame, run_code) -> int | None:
    """The call id of the Worker._run frame under `frame`, if that call's user code (or the
    reading of its arguments) is what runs: not once its result is made or while its error is
    handled, where an exception would escape the run's own handler; nor while `_run`'s own
    code runs (it may be outside its `try`): then the grace decides."""
    if frame is not None and frame.f_code is run_code:
        return None
    while frame is not None:
        if frame.f_code is run_code:
            loc = frame.f_locals
            if "result" in loc or "e" in loc:
                return None
            return loc.get("call_id")
        frame = frame.f_back
    return None
