"""A master's part in leader election, as the daemon sees it (rules: leadership.py).

`Standby.lead(store, ...)` runs before the master reads its store: with a store masters can
share (an etcd) it campaigns; until it leads the master stands by — its TCP port closed (so
nodes, drivers and workers that list several masters connect to the leader: wire/masters.py),
its node not started, `yr start` already answered. Once it leads it reads the store (the
restore of a restarted master), serves, and holds its leadership; it steps down (the daemon
stops, without stopping its joined nodes or ending its drivers' sessions: they follow the
next leader) when `Leadership.hold` says so or the store refuses a write as stale
(recorder `on_fenced`). `gate()` is the server interceptor that refuses requests while the
master may not act as the leader. With the in-memory store none of this happens.
"""
from __future__ import annotations

import asyncio
import logging
import socket

from yr_runtime import leadership
from yr_runtime.leadership import Leadership

log = logging.getLogger("yr.standby")
FIRST_PORT, PORTS_TRIED = 22770, 100   # as daemon.DEFAULT_PORT / PORTS_TRIED


class Standby:
    """The daemon's leadership: `daemon` provides listen/port/tcp_address, pid, recorder,
    request_stop and stopping() (awaits its stop)."""

    def __init__(self, daemon, node_ttl: float):
        self.daemon = daemon
        self.ttl = leadership.lease_ttl(node_ttl)
        self.leadership: Leadership | None = None
        self.stepped_down = ""    # why, once it stepped down
        self._holding: asyncio.Task | None = None

    async def lead(self, store, on_ready) -> bool:
        """Returns True once this master leads (at once with a store no other master can
        share), False if it was stopped while standing by. `on_ready(daemon)` is called when
        it starts standing by (`yr start` answers then)."""
        if not leadership.shared(store):
            return True
        d = self.daemon
        if d.dashboard:   # imported now, not once leading: ~1 s in which the leader lease is not renewed
            from yr_runtime.observe import web  # noqa: F401
        if d.listen and not d.port:
            d.port = free_port(d.listen)   # chosen now: the leader key publishes it before it listens
        d.tcp_address = f"{d.listen}:{d.port}" if d.listen else ""
        loop = asyncio.get_running_loop()
        self.leadership = Leadership(store, d.recorder.cluster_id, f"{socket.gethostname()}:{d.pid}",
                                     {"address": d.tcp_address, "pid": d.pid}, self.ttl, loop.time)

        def standing_by(holder: dict) -> None:
            log.warning("standing by: the master %s at %s leads this cluster", holder.get("id"), holder.get("address"))
            on_ready(d)
        campaign = loop.create_task(self.leadership.campaign(standing_by))
        stopped = loop.create_task(d.stopping())
        await asyncio.wait({campaign, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not campaign.done():
            campaign.cancel()
            return False
        d.recorder.fenced_by(self.leadership.reclaim, self.step_down)
        self._holding = loop.create_task(self._hold())   # (cancelled with the loop when the daemon ends)
        return True

    async def _hold(self) -> None:
        self.step_down(await self.leadership.hold())

    def step_down(self, why: str) -> None:
        """This master no longer leads: it refuses requests from now on and stops."""
        if self.stepped_down:
            return
        self.stepped_down = why
        self.leadership.step_down()
        log.error("stepping down as the leader: %s", why)
        self.daemon.request_stop(f"it stepped down as the leader: {why}")

    def gate(self) -> list:
        """The server interceptors of a leading master: [] when it does not campaign."""
        if self.leadership is None:
            return []
        from yr_runtime.services.leader_gate import LeaderGate
        return [LeaderGate(self.leadership.acting)]

    async def resign(self) -> None:
        """A leader that stops gives its leadership up at once (a standby leads)."""
        if self.leadership is not None and not self.stepped_down:
            await self.leadership.resign()


def free_port(host: str) -> int:
    """The first port from FIRST_PORT nobody listens on at `host` (OSError if none)."""
    for port in range(FIRST_PORT, FIRST_PORT + PORTS_TRIED):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            try:
                s.bind((host, port))
                return port
            except OSError:
                continue
    raise OSError(f"cannot listen on {host}:{FIRST_PORT}-{FIRST_PORT + PORTS_TRIED - 1}: all in use")
