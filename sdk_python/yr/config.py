"""Config (for yr.init) and InvokeOptions (per instance or function), as in openYuanrong.

Every field openYuanrong documents is accepted, so its programs run as written; docs/config.md
says what each one does here (several have no effect: there is no data system, frontend or
TLS to configure). Wrong types raise YRTypeError (a TypeError) naming the field, wrong values
YRValueError; options yr has not built are refused as "not supported", never ignored.
"""
from __future__ import annotations

import logging
from enum import IntEnum
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Union

from ._checks import check_env_vars, check_field_types
from .affinity import Affinity, check_affinities
from ._invoke_checks import check_more_options
from .exceptions import YRTypeError, YRValueError

DEFAULT_RECYCLE_TIME = 2          # seconds an idle stateless worker is kept (openYuanrong's default)
MAX_RECYCLE_TIME = 300
ASYNC_DEFAULT_CONCURRENCY = 1000  # openYuanrong: an unset concurrency is 1000 for async classes
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL")


@dataclass
class Config:
    """Settings for `yr.init`. Empty `server_address` means: find a running runtime, or start
    a temporary one that ends with this driver. Checked when made and again at `yr.init`."""

    # ---- fields yr acts on ------------------------------------------------------------------
    server_address: str = ""
    ns: str = ""
    log_level: Union[str, int] = "WARNING"   # level of the `yr` logger; "" = $YR_LOG_LEVEL or WARNING
    log_to_driver: bool = True
    num_cpus: Optional[int] = None          # temporary runtime: logical cpus (default: machine cores)
    memory_mib: Optional[int] = None        # temporary runtime: logical memory
    custom_resources: Dict[str, float] = field(default_factory=dict)  # temporary runtime
    warm_workers: Optional[int] = None      # temporary runtime: size of the warm pool
    connect_timeout: float = 30.0
    local_mode: bool = False
    job_id: str = ""
    custom_envs: Dict[str, str] = field(default_factory=dict)  # env vars of every worker of this driver
    recycle_time: int = DEFAULT_RECYCLE_TIME  # seconds, (0, 300]: idle stateless workers are recycled
    env_file: str = ""                      # KEY=VALUE lines loaded into this driver's os.environ at init
    cpp_code_path: str = ""                 # C++ executable for yr.cpp_function/cpp_instance_class (else $YR_CPP_CODE_PATH)
    java_code_path: str = ""                # class path for yr.java_function/java_instance_class (else $YR_JAVA_CODE_PATH)
    # ---- openYuanrong fields accepted for compatibility, without effect here (docs/config.md) ----
    function_id: str = ""
    cpp_function_id: str = ""
    cpp_auto_function_name: str = ""
    function_name: str = ""
    ds_address: str = ""
    is_driver: bool = True
    invoke_timeout: int = 900
    code_dir: str = ""
    connection_nums: int = 100
    in_cluster: Optional[bool] = None
    tls_config: Any = None
    auto: bool = False
    deployment_config: Any = None
    rt_server_address: str = ""
    log_dir: str = "./"
    log_file_size_max: int = 0
    log_file_num_max: int = 0
    log_flush_interval: int = 5
    logger: Optional[logging.Logger] = None
    runtime_id: str = "driver"
    max_task_instance_num: int = -1
    load_paths: List[str] = field(default_factory=list)
    rpc_timeout: int = 30 * 60
    enable_mtls: Optional[bool] = None
    enable_tls: Optional[bool] = None
    private_key_path: str = ""
    certificate_file_path: str = ""
    verify_file_path: str = ""
    private_key_paaswd: str = field(default="", repr=False)  # sic: openYuanrong's spelling
    http_ioc_threads_num: int = 400
    server_name: str = ""
    tenant_id: str = ""
    enable_metrics: bool = True
    bypass_datasystem: Optional[bool] = None
    master_addr_list: List[str] = field(default_factory=list)
    working_dir: str = ""
    enable_ds_encrypt: bool = False
    ds_public_key_path: str = ""
    runtime_public_key_path: str = ""
    runtime_private_key_path: str = ""
    runtime_env: Optional[Dict[str, Any]] = None
    dedup_logs: bool = True
    auth_token: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> "Config":
        """Raises YRTypeError / YRValueError naming the first invalid field; returns self."""
        check_field_types(self, "Config")
        check_env_vars(self.custom_envs, "Config.custom_envs")
        if not 0 < self.recycle_time <= MAX_RECYCLE_TIME:
            raise YRValueError(f"invalid Config.recycle_time: must be in (0, {MAX_RECYCLE_TIME}] seconds, "
                               f"got {self.recycle_time}")
        if self.connection_nums < 1:
            raise YRValueError(f"invalid Config.connection_nums: must be >= 1, got {self.connection_nums}")
        for name in ("num_cpus", "memory_mib"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise YRValueError(f"invalid Config.{name}: must be > 0, got {getattr(self, name)}")
        if self.warm_workers is not None and self.warm_workers < 0:
            raise YRValueError(f"invalid Config.warm_workers: must be >= 0, got {self.warm_workers}")
        if not self.connect_timeout > 0:
            raise YRValueError(f"invalid Config.connect_timeout: must be > 0 seconds, got {self.connect_timeout}")
        self.python_log_level()
        return self

    def python_log_level(self) -> int:
        """log_level as a `logging` level: a name (any case), a number, or "" for
        $YR_LOG_LEVEL (default WARNING)."""
        import os
        level = self.log_level if self.log_level != "" else os.environ.get("YR_LOG_LEVEL", "WARNING")
        if isinstance(level, int):
            return level
        name = level.strip().upper()
        if name not in _LOG_LEVELS:
            raise YRValueError(f"invalid Config.log_level: expected one of {', '.join(_LOG_LEVELS)}, got {level!r}")
        return logging.getLevelName("WARNING" if name == "WARN" else name)


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
    custom_extensions: Dict[str, Union[str, int]] = field(default_factory=dict)
    env_vars: Dict[str, str] = field(default_factory=dict)
    labels: List[str] = field(default_factory=list)   # this instance's labels, for others' INSTANCE affinity
    schedule_affinities: List[Affinity] = field(default_factory=list)
    preferred_priority: bool = True             # preferred rules weigh in the order given (else: how many hold)
    required_priority: bool = False             # the earliest REQUIRED rule a node matches wins
    preferred_anti_other_labels: bool = False   # only nodes satisfying some preferred rule may be chosen
    need_order: Optional[bool] = None
    get_if_exists: bool = False
    # ---- the rest of openYuanrong's fields: checked in _invoke_checks; docs/config.md says which act ----
    min_instances: int = 0            # stateless: executors kept even when idle
    max_instances: int = 0            # stateless: at most this many executors (0 or -1: no limit)
    max_invoke_latency: int = 5000
    trace_id: str = ""                # the worker's $YR_TRACE_ID
    instance_priority: int = 0
    preempted_allowed: bool = False
    idle_timeout: Optional[int] = None   # openYuanrong: 300; None or -1: never (see docs/config.md)
    cpu_limit: int = 0
    mem_limit: int = 0
    pod_labels: Dict[str, str] = field(default_factory=dict)
    affinity: Dict[str, str] = field(default_factory=dict)
    device: Any = None
    is_data_affinity: bool = False
    resource_group_options: Any = None   # a ResourceGroupOptions: place into a bundle (docs/groups.md)
    function_group_options: Any = None
    alias_params: Dict[str, str] = field(default_factory=dict)
    runtime_env: Dict[str, Any] = field(default_factory=dict)
    debug: Any = None
    group_name: str = ""
    is_delete_remote_tensor: bool = False
    bypass_datasystem: bool = False
    skip_serialize: bool = False
    port_forwardings: List[Any] = field(default_factory=list)

    def check(self) -> "InvokeOptions":
        """Raises YRTypeError (wrong type) or YRValueError (wrong value, or not supported)
        naming the first invalid field; returns self."""
        check_field_types(self, "InvokeOptions")
        from yr_runtime.core.resources import ResourceError, validate_request
        try:
            validate_request(self.cpu, self.memory, self.custom_resources)
        except ResourceError as e:
            raise YRValueError(f"invalid InvokeOptions: {e}") from None
        c = self.effective_concurrency()
        if not 1 <= c <= 1000:
            raise YRValueError(f"invalid InvokeOptions: concurrency must be an int in [1, 1000], got {c!r}")
        if self.need_order and c > 1:
            raise YRValueError("invalid InvokeOptions: need_order=True cannot be combined with concurrency > 1")
        for fname in ("recover_retry_times", "retry_times"):
            if not 0 <= getattr(self, fname) <= 1000:
                raise YRValueError(f"invalid InvokeOptions: {fname} must be an int in [0, 1000], got {getattr(self, fname)!r}")
        if self.schedule_timeout_ms < -1:
            raise YRValueError(f"invalid InvokeOptions: schedule_timeout_ms must be -1 (wait forever) or >= 0, "
                               f"got {self.schedule_timeout_ms}")
        for fname in ("name", "namespace"):
            if len(getattr(self, fname)) > 256:
                raise YRValueError(f"invalid InvokeOptions: {fname} must be a string of at most 256 characters")
        check_env_vars(self.env_vars, "InvokeOptions.env_vars")
        if not all(self.labels):
            raise YRValueError(f"invalid InvokeOptions.labels: labels must be non-empty strings, got {self.labels!r}")
        check_affinities(self.schedule_affinities, "InvokeOptions.schedule_affinities")
        self._check_not_built()
        check_more_options(self)
        check_resource_group_options(self.resource_group_options)
        return self

    def _check_not_built(self) -> None:
        lifecycle = self.custom_extensions.get("lifecycle")
        if lifecycle is not None and lifecycle != "detached":
            raise YRValueError("invalid InvokeOptions.custom_extensions['lifecycle']: only 'detached' is supported, "
                               f"got {lifecycle!r}")

    def effective_concurrency(self, default: int = 1) -> int:
        """concurrency, else custom_extensions['Concurrency'], else `default`."""
        if self.concurrency is not None:
            return self.concurrency
        legacy = self.custom_extensions.get("Concurrency")
        if legacy is None:
            return default
        try:
            return int(legacy)
        except ValueError:
            raise YRValueError(f"invalid InvokeOptions: custom_extensions['Concurrency'] must be an int, got {legacy!r}") from None

    def placement_key(self) -> tuple:
        """labels, affinity and resource group as a hashable value (executors are pooled by it); () if none."""
        rgo = self.resource_group_options
        group = (rgo.resource_group_name, rgo.bundle_index) if rgo is not None and rgo.resource_group_name else ()
        if not self.labels and not self.schedule_affinities:
            return group
        rules = tuple((a.affinity_kind.name, a.affinity_type.name,
                       tuple((o.operator_type.name, o.key, tuple(o.values)) for o in a.label_operators))
                      for a in self.schedule_affinities)
        return (tuple(self.labels), rules, self.preferred_priority, self.required_priority,
                self.preferred_anti_other_labels) + group

    def placement_options(self) -> dict:
        """The fields placement_key covers, to copy them into another InvokeOptions."""
        return dict(labels=list(self.labels), schedule_affinities=list(self.schedule_affinities),
                    preferred_priority=self.preferred_priority, required_priority=self.required_priority,
                    preferred_anti_other_labels=self.preferred_anti_other_labels,
                    resource_group_options=self.resource_group_options)

    def concurrency_is_set(self) -> bool:
        return self.concurrency is not None or "Concurrency" in self.custom_extensions

    @property
    def detached(self) -> bool:
        return self.custom_extensions.get("lifecycle") == "detached"


def option_names() -> frozenset:
    """The InvokeOptions fields, the only keywords `.options(...)` may set directly."""
    return frozenset(f.name for f in fields(InvokeOptions))



# ---- resource groups and function groups (docs/groups.md) ------------------------------------
class SchedulingAffinityType(IntEnum):
    """How the instances of a function group sit in its bundles (openYuanrong: only this one)."""
    REQUIRED_AFFINITY_IN_EACH_BUNDLE = 0


@dataclass
class ResourceGroupOptions:
    """Places an instance into a resource group (yr.create_resource_group): into bundle
    `bundle_index`, or (-1) the first bundle with room. It uses the bundle's reserved
    resources, not its node's free ones."""
    resource_group_name: str = ""
    bundle_index: int = -1


@dataclass
class FunctionGroupOptions:
    """Options of yr.create_function_group: each instance's resources and how many share a
    bundle (one node). `timeout` (seconds, -1: as long as the runtime lets a group wait)
    bounds the wait for the whole gang to fit."""
    cpu: Optional[int] = None
    memory: Optional[int] = None
    resources: Dict[str, float] = field(default_factory=dict)
    scheduling_affinity_type: Optional[SchedulingAffinityType] = None
    scheduling_affinity_each_bundle_size: Optional[int] = None
    timeout: Optional[int] = None
    concurrency: Optional[int] = None
    recover_retry_times: int = 0


@dataclass
class DeviceInfo:
    """One accelerator device mounted into a function-group instance (openYuanrong's fields:
    the device's HDC channel number, its NIC's IP, its rank). yr detects no devices, so none
    is ever reported; the type is here for programs that build or read server lists."""
    device_id: int = 0
    device_ip: str = ""
    rank_id: int = 0


@dataclass
class ServerInfo:
    """A node hosting function-group instances, with the devices mounted there (see DeviceInfo)."""
    devices: List[DeviceInfo] = field(default_factory=list)
    server_id: str = ""


@dataclass
class FunctionGroupContext:
    """Where an instance sits in its function group: rank in [0, world_size). `server_list`
    (ServerInfo) stays empty on yr: it collects no devices."""
    rank_id: int = 0
    world_size: int = 0
    server_list: List[ServerInfo] = field(default_factory=list)
    device_name: str = ""


def check_resource_group_options(rgo) -> None:
    """YRTypeError / YRValueError naming what is wrong with InvokeOptions.resource_group_options."""
    if rgo is None:
        return
    if not isinstance(rgo, ResourceGroupOptions):
        raise YRTypeError("invalid type for InvokeOptions.resource_group_options: expected a "
                          f"yr.ResourceGroupOptions, got {type(rgo).__name__}")
    check_field_types(rgo, "ResourceGroupOptions")
    if rgo.resource_group_name and rgo.bundle_index < -1:
        raise YRValueError(f"invalid ResourceGroupOptions.bundle_index: must be -1 or >= 0, got {rgo.bundle_index}")


@dataclass
class GroupOptions:
    """Options of a yr.Group (openYuanrong's names and defaults, docs/groups.md).

    - `timeout`: seconds the group may wait for room for all its instances; -1: as long as the
      runtime lets a group wait (300 s). Other values < 0 are refused by Group.invoke.
    - `same_lifecycle`: True: an instance that goes away takes the group with it; False:
      created together, then independent.
    - `strategy`: "" (as PACK), "PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD" (as resource groups)."""
    timeout: int = -1
    same_lifecycle: bool = True
    strategy: str = ""
