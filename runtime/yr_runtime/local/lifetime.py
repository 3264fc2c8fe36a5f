"""Tying a child process's life to its parent's (Linux PR_SET_PDEATHSIG)."""
from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> None:
    """Asks the kernel to send `sig` when the parent dies; exits at once if it already has."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig))
    except (OSError, AttributeError):
        pass  # callers also watch their parent by other means (a socket or a pid check)
    if parent_pid and os.getppid() != parent_pid:
        os._exit(1)
