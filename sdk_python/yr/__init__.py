"""yr: stateful functions (actors) and stateless functions on one runtime.

    @yr.instance
    class Counter: ...
    yr.init(); c = Counter.invoke(); print(yr.get(c.add.invoke(3))); yr.finalize()
"""
from ._api import (ClientInfo, finalize, get, get_instance, init, is_initialized, kill_instance, load_state,
                   put, resources, save_state, wait)
from .affinity import Affinity, AffinityKind, AffinityScope, AffinityType, LabelOperator, OperatorType
from ._decorators import FunctionProxy, InstanceCreator, InstanceProxy, MethodProxy, instance, invoke, method
from ._results import ObjectRefGenerator
from ._runtime_api import cancel, exit, get_node_ip_address, list_named_instances
from .config import (Config, DeviceInfo, FunctionGroupContext, FunctionGroupOptions, InvokeOptions,
                     ResourceGroupOptions, SchedulingAffinityType, ServerInfo)
from .exceptions import (CancelError, GetTimeoutError, InitError, InstanceDiedError, InstanceNotFoundError,
                         InstanceTerminatedError, ResourceUnavailableError, RuntimeUnavailableError,
                         SerializationError, YRError, YRInvokeError, YRRuntimeError, YRTimeoutError,
                         YRTypeError, YRValueError)
from .object_ref import ObjectRef
from .kv import kv_del, kv_get, kv_get_with_param, kv_m_write_tx, kv_read, kv_set, kv_write, kv_write_with_param
from .params import (CacheType, ConsistencyType, CreateParam, ExistenceOpt, GetParam, GetParams, MSetParam, SetParam,
                     WriteMode)
from .stream import (Element, ProducerConfig, SubscriptionConfig, create_stream_consumer, create_stream_producer,
                     delete_stream, query_global_consumers_num, query_global_producers_num)
from .metrics import (Alarm, AlarmInfo, AlarmSeverity, CustomCounter, CustomGauge, DoubleCounter, Gauge, Histogram,
                      UInt64Counter)
from .cross_language import cpp_function, cpp_instance_class, java_function, java_instance_class
from .groups import (FunctionGroupHandler, FunctionGroupMethodProxy, ResourceGroup, create_function_group,
                     create_resource_group, delete_checkpoint, get_function_group_context, list_checkpoints,
                     remove_resource_group, restore_from_checkpoint)
from .group import Group, GroupOptions

StatefulInstance = InstanceProxy
StatelessFunction = FunctionProxy
StatefulInstanceCreator = InstanceCreator

__all__ = [
    "init", "finalize", "is_initialized", "instance", "invoke", "put", "get", "wait", "get_instance",
    "kill_instance", "resources", "save_state", "load_state", "Config", "InvokeOptions", "ObjectRef", "ClientInfo",
    "InstanceCreator", "InstanceProxy", "FunctionProxy", "StatefulInstance", "StatelessFunction",
    "YRError", "YRRuntimeError", "YRValueError", "YRTypeError", "YRTimeoutError", "GetTimeoutError",
    "YRInvokeError", "InitError", "InstanceDiedError", "InstanceTerminatedError", "InstanceNotFoundError",
    "ResourceUnavailableError", "RuntimeUnavailableError", "SerializationError", "CancelError",
    "Affinity", "AffinityKind", "AffinityType", "AffinityScope", "LabelOperator", "OperatorType",
    "kv_write", "kv_read", "kv_set", "kv_get", "kv_get_with_param", "kv_del", "kv_m_write_tx", "kv_write_with_param",
    "SetParam", "MSetParam", "GetParam", "GetParams", "CreateParam", "ExistenceOpt", "WriteMode", "CacheType",
    "ConsistencyType", "create_stream_producer", "create_stream_consumer", "delete_stream", "ProducerConfig",
    "SubscriptionConfig", "Element", "query_global_producers_num", "query_global_consumers_num",
    "Gauge", "UInt64Counter", "DoubleCounter", "Histogram", "Alarm", "AlarmInfo", "AlarmSeverity", "CustomGauge",
    "CustomCounter",
    "cpp_function", "cpp_instance_class", "java_function", "java_instance_class",
    "cancel", "method", "exit", "list_named_instances", "get_node_ip_address", "MethodProxy",
    "StatefulInstanceCreator", "ObjectRefGenerator",
    "create_resource_group", "remove_resource_group", "ResourceGroup", "ResourceGroupOptions",
    "create_function_group", "get_function_group_context", "FunctionGroupOptions", "FunctionGroupContext",
    "FunctionGroupHandler", "FunctionGroupMethodProxy", "SchedulingAffinityType",
    "restore_from_checkpoint", "list_checkpoints", "delete_checkpoint", "Group", "GroupOptions",
    "DeviceInfo", "ServerInfo",
]
