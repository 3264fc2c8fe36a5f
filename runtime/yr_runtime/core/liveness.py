"""Node leases: which nodes are alive, decided from their heartbeats, as a pure state machine.

Rules it keeps:
- A node holds a lease of `ttl` seconds from its registration; every heartbeat renews it.
  A lease not renewed for `ttl` seconds has expired: the node is declared dead (a hung
  node, e.g. SIGSTOPped, keeps its connection open but stops heartbeating).
- A node whose connection broke keeps its lease until it expires: if it reconnects and
  registers again before then, nothing of it is lost (a brief network blip, a master
  restart). A node that leaves gracefully is forgotten at once (no lease to wait for).
- After a master (re)start, the nodes that the metadata store says held instances are
  *expected*: each gets a lease from the start, so a node that never comes back is
  declared dead after `ttl`, and its instances are handled like any lost node's.
- The master itself may stall (stopped, swapped out, a long GC). If the ticks stop for
  longer than `ttl`, nobody could have heartbeated meanwhile: every lease is extended by
  the stall instead of all expiring at once.
The clock is passed in; no I/O. The metadata store's lease of a node mirrors this one for
other readers (the store's own expiry never kills a node: etcd being unreachable must not).
"""
from __future__ import annotations


class Leases:
    def __init__(self, ttl: float):
        if ttl <= 0:
            raise ValueError(f"a node lease TTL must be positive, got {ttl}")
        self.ttl = ttl
        self._deadline: dict[str, float] = {}   # node id -> when its lease expires
        self._last_tick: float | None = None

    def grant(self, node_id: str, now: float) -> None:
        """A node registered (or is expected back after a master restart)."""
        self._deadline[node_id] = now + self.ttl

    def renew(self, node_id: str, now: float) -> bool:
        """A heartbeat; False if the node holds no lease (it was declared dead or never joined)."""
        if node_id not in self._deadline:
            return False
        self._deadline[node_id] = now + self.ttl
        return True

    def forget(self, node_id: str) -> None:
        """The node left gracefully or was removed: no lease to expire."""
        self._deadline.pop(node_id, None)

    def holds(self, node_id: str) -> bool:
        return node_id in self._deadline

    def expired(self, now: float) -> list[str]:
        """The nodes whose lease ran out by `now` (forgotten here: each is reported once)."""
        if self._last_tick is not None and now - self._last_tick > self.ttl:
            stall = now - self._last_tick   # the master did not run: nobody could heartbeat
            self._deadline = {n: d + stall for n, d in self._deadline.items()}
        self._last_tick = now
        gone = sorted(n for n, d in self._deadline.items() if now >= d)
        for n in gone:
            del self._deadline[n]
        return gone


class OwnLease:
    """A joined node's view of its own lease, from the master's answers to its heartbeats.

    The master renews a lease when a heartbeat arrives, so a heartbeat sent at `t` and
    answered renewed the lease until at least `t + ttl` on the master's side: the node
    takes exactly that as its own deadline. So a node cut off from its master (a partition:
    no error, only silence) knows its lease is gone no later than the master does, and
    stops its workers before the master restarts them elsewhere: no instance runs twice.
    A silence shorter than that (a brief blip) costs nothing. Pure; the clock is passed in.
    """

    def __init__(self, ttl: float, now: float):
        self.ttl = ttl
        self.deadline = now + ttl     # the registration itself was a renewal, sent before `now`
        self._sent: dict[int, float] = {}
        self._seq = 0

    def heartbeat(self, now: float) -> int:
        """A heartbeat leaves now: its sequence number (the master answers with it)."""
        self._seq += 1
        self._sent[self._seq] = now
        return self._seq

    def answered(self, seq: int) -> None:
        """The master answered heartbeat `seq` (it held the lease then, and renewed it)."""
        sent = self._sent.get(seq)
        if sent is not None:
            self.deadline = max(self.deadline, sent + self.ttl)
            self._sent = {s: t for s, t in self._sent.items() if s > seq}

    def expired(self, now: float) -> bool:
        return now >= self.deadline
