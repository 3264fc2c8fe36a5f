"""Config (for yr.init) and InvokeOptions (per instance or function), as in openYuanrong."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .exceptions import YRValueError


@dataclass
class Config:
    """Settings for `yr.init`. Empty `server_address` means: find a running runtime, or start
    a temporary one that ends with this driver."""

    server_address: str = ""
    ns: str = ""
    log_level: str = "WARNING"
    log_to_driver: bool = True
    num_cpus: Optional[int] = None          # temporary runtime: logical cpus (default: machine cores)
    memory_mib: Optional[int] = None        # temporary runtime: logical memory
    custom_resources: Dict[str, float] = field(default_factory=dict)  # temporary runtime
    warm_workers: Optional[int] = None      # temporary runtime: size of the warm pool
    connect_timeout: float = 30.0
    local_mode: bool = False
    job_id: str = ""


@dataclass
class InvokeOptions:
    """Resources and behaviour of an instance or stateless function.

    cpu is in millicores, memory in MiB. They are logical: they decide where and whether an
    instance fits, not how much it may use.
    """

    cpu: int = 500
    memory: int = 500
    custom_resources: Dict[str, float] = field(default_factory=dict)
    concurrency: Optional[int] = None
    name: str = ""
    namespace: str = ""
    recover_retry_times: int = 0
    retry_times: int = 0
    schedule_timeout_ms: int = 30000
    custom_extensions: Dict[str, str] = field(default_factory=dict)
    env_vars: Dict[str, str] = field(default_factory=dict)
    labels: List[str] = field(default_factory=list)
    need_order: Optional[bool] = None
    get_if_exists: bool = False

    def check(self) -> "InvokeOptions":
        """Raises YRValueError naming the first invalid field; returns self."""
        from yr_runtime.core.resources import ResourceError, validate_request
        try:
            validate_request(self.cpu, self.memory, self.custom_resources)
        except ResourceError as e:
            raise YRValueError(f"invalid InvokeOptions: {e}") from None
        c = self.effective_concurrency()
        if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= 1000:
            raise YRValueError(f"invalid InvokeOptions: concurrency must be an int in [1, 1000], got {c!r}")
        if self.need_order and c > 1:
            raise YRValueError("invalid InvokeOptions: need_order=True cannot be combined with concurrency > 1")
        for fname in ("recover_retry_times", "retry_times"):
            v = getattr(self, fname)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 1000:
                raise YRValueError(f"invalid InvokeOptions: {fname} must be an int in [0, 1000], got {v!r}")
        for fname in ("name", "namespace"):
            v = getattr(self, fname)
            if not isinstance(v, str) or len(v) > 256:
                raise YRValueError(f"invalid InvokeOptions: {fname} must be a string of at most 256 characters")
        return self

    def effective_concurrency(self) -> int:
        if self.concurrency is not None:
            return self.concurrency
        legacy = self.custom_extensions.get("Concurrency")
        try:
            return int(legacy) if legacy is not None else 1
        except ValueError:
            raise YRValueError(f"invalid InvokeOptions: custom_extensions['Concurrency'] must be an int, got {legacy!r}") from None

    @property
    def detached(self) -> bool:
        return self.custom_extensions.get("lifecycle") == "detached"
