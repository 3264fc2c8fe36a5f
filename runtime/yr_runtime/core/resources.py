"""Logical resources: cpu in millicores, memory in MiB, and named custom resources.

Resources are bookkeeping for scheduling only; nothing is enforced on the process.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CPU_MIN, CPU_MAX = 1, 1_000_000
MEMORY_MIN, MEMORY_MAX = 1, 1_073_741_824


class ResourceError(ValueError):
    """A resource request that is malformed (negative, zero, not a number...)."""


@dataclass(frozen=True)
class Resources:
    cpu: int = 0                      # millicores
    memory: int = 0                   # MiB
    custom: dict = field(default_factory=dict)

    def fits_in(self, other: "Resources") -> bool:
        if self.cpu > other.cpu or self.memory > other.memory:
            return False
        return all(other.custom.get(k, 0.0) + 1e-9 >= v for k, v in self.custom.items())

    def __add__(self, o: "Resources") -> "Resources":
        keys = set(self.custom) | set(o.custom)
        return Resources(self.cpu + o.cpu, self.memory + o.memory,
                         {k: self.custom.get(k, 0.0) + o.custom.get(k, 0.0) for k in keys})

    def __sub__(self, o: "Resources") -> "Resources":
        keys = set(self.custom) | set(o.custom)
        return Resources(self.cpu - o.cpu, self.memory - o.memory,
                         {k: self.custom.get(k, 0.0) - o.custom.get(k, 0.0) for k in keys})

    def shortfall(self, total: "Resources") -> str | None:
        """Why this request can never fit in `total`, or None if it can."""
        if self.cpu > total.cpu:
            return f"cpu {self.cpu} millicores requested, the node has {total.cpu} in total"
        if self.memory > total.memory:
            return f"memory {self.memory} MiB requested, the node has {total.memory} in total"
        for k, v in self.custom.items():
            if k not in total.custom:
                return f"custom resource {k!r} requested, but no node declares it"
            if v > total.custom[k] + 1e-9:
                return f"custom resource {k!r}: {v:g} requested, the node has {total.custom[k]:g} in total"
        return None


def validate_request(cpu, memory, custom) -> Resources:
    """Checks a user's resource request and returns it, or raises ResourceError naming the field."""
    for name, value, lo, hi in (("cpu", cpu, CPU_MIN, CPU_MAX), ("memory", memory, MEMORY_MIN, MEMORY_MAX)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ResourceError(f"{name} must be a number, got {value!r}")
        if not lo <= value <= hi:
            raise ResourceError(f"{name} must be between {lo} and {hi}, got {value!r}")
    if not isinstance(custom, dict):
        raise ResourceError(f"custom_resources must be a dict of name -> amount, got {type(custom).__name__}")
    clean = {}
    for k, v in custom.items():
        if not isinstance(k, str) or not k:
            raise ResourceError(f"custom resource names must be non-empty strings, got {k!r}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1e12:
            raise ResourceError(f"custom resource {k!r} must be a positive number, got {v!r}")
        clean[k] = float(v)
    return Resources(int(cpu), int(memory), clean)
