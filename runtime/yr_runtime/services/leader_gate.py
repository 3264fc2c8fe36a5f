"""The leading master's gate: while it may not act as the leader (leadership.py: its
lease lapsed while another master campaigns, or it is stepping down), every request is
refused before its handler runs, so a master that was paused or cut off and comes back
decides nothing (creates, lookups, node registrations go to the new leader instead)."""
from __future__ import annotations

from typing import Callable

import grpc

NOT_LEADER = "this yr master is no longer the leader of its cluster: another master leads (retry there)"


class LeaderGate(grpc.aio.ServerInterceptor):
    """Refuses every call (UNAVAILABLE) while `acting()` is False; one clock read per call."""

    def __init__(self, acting: Callable[[], bool]):
        self._acting = acting

        async def deny(request, context):
            await context.abort(grpc.StatusCode.UNAVAILABLE, NOT_LEADER)
        self._deny_unary = grpc.stream_unary_rpc_method_handler(deny)
        self._deny_stream = grpc.stream_stream_rpc_method_handler(deny)

    async def intercept_service(self, continuation, details):
        if self._acting():
            return await continuation(details)
        return self._deny_stream if details.method.endswith(("/Session", "/NodeSession")) else self._deny_unary
