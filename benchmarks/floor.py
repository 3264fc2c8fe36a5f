"""The physical floor of a call: a 16-byte ping-pong over a Unix socket pair between two
Python processes (run.py prints it beside the call rates; call_cpu.py beside CPU per call)."""
from __future__ import annotations

import os
import socket
import time

TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def socket_floor(n: int = 20000) -> list:
    """[round trips/s, parent CPU us per round trip, child CPU us per round trip]."""
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        a.close()
        while True:
            d = b.recv(64)
            if not d:
                os._exit(0)
            b.sendall(d)
    b.close()
    msg = b"x" * 16
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        a.sendall(msg)
        a.recv(64)
    dt, c1, child = time.perf_counter() - t0, time.process_time(), cpu_of(pid)
    a.close()
    os.waitpid(pid, 0)
    return [round(n / dt), round((c1 - c0) / n * 1e6, 1), round(child / n * 1e6, 1)]
