"""A cluster's master address: one `HOST:PORT`, or several (`IP:PORT,IP:PORT`, a leader
and its standby masters) that nodes, drivers and workers dial as one gRPC channel.

With several, the channel's target lists them all (gRPC's `ipv4:`/`ipv6:` resolvers) and
its default `pick_first` policy connects to the first that accepts a connection: only the
leading master listens (a standby opens its port when it takes over), so a channel that
loses its master reconnects to whichever leads next (docs/architecture.md, "Partitions and
fencing"). A list holds IP literals only (a name may resolve to several addresses of
its own); one address is passed on as it is.
"""
from __future__ import annotations

import ipaddress


def split(address: str) -> list[tuple[str, int]]:
    """(host, port) of each master in `address`; ValueError naming what is wrong."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"a master address is IP:PORT[,IP:PORT...], got {address!r}")
    parts = [p.strip() for p in address.split(",")]
    out = []
    for part in parts:
        host, sep, port = part.rpartition(":")
        host = host.strip("[]") if host.startswith("[") else host
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"master address {part!r} (in {address!r}) is not IP:PORT, e.g. 127.0.0.1:22770")
        if len(parts) > 1:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise ValueError(f"master address {part!r} in the list {address!r}: a list of masters names "
                                 "each by its IP address, not a host name") from None
        out.append((host, int(port)))
    return out


def target(address: str) -> str:
    """The gRPC target of `address`: itself for one master (or a Unix socket), else the
    `ipv4:`/`ipv6:` list of all (ValueError if they mix families or are not IP:PORT)."""
    if address.startswith("unix:") or "," not in address:
        return address
    hosts = split(address)
    v6 = {ipaddress.ip_address(h).version == 6 for h, _ in hosts}
    if len(v6) > 1:
        raise ValueError(f"the masters {address!r} mix IPv4 and IPv6 addresses: use one family")
    if v6.pop():
        return "ipv6:" + ",".join(f"[{h}]:{p}" for h, p in hosts)
    return "ipv4:" + ",".join(f"{h}:{p}" for h, p in hosts)


def first(address: str) -> str:
    """The first master of `address` as HOST:PORT (for diagnostics that dial one)."""
    return address.split(",", 1)[0].strip()
