"""yr: stateful functions (actors) and stateless functions on one runtime.

    @yr.instance
    class Counter: ...
    yr.init(); c = Counter.invoke(); print(yr.get(c.add.invoke(3))); yr.finalize()
"""
from ._api import (ClientInfo, finalize, get, get_instance, init, is_initialized, kill_instance, load_state,
                   put, resources, save_state, wait)
from .affinity import Affinity, AffinityKind, AffinityScope, AffinityType, LabelOperator, OperatorType
from ._decorators import FunctionProxy, InstanceCreator, InstanceProxy, instance, invoke
from .config import Config, InvokeOptions
from .exceptions import (CancelError, GetTimeoutError, InitError, InstanceDiedError, InstanceNotFoundError,
                         InstanceTerminatedError, ResourceUnavailableError, RuntimeUnavailableError,
                         SerializationError, YRError, YRInvokeError, YRRuntimeError, YRTimeoutError,
                         YRTypeError, YRValueError)
from .object_ref import ObjectRef

StatefulInstance = InstanceProxy
StatelessFunction = FunctionProxy

__all__ = [
    "init", "finalize", "is_initialized", "instance", "invoke", "put", "get", "wait", "get_instance",
    "kill_instance", "resources", "save_state", "load_state", "Config", "InvokeOptions", "ObjectRef", "ClientInfo",
    "InstanceCreator", "InstanceProxy", "FunctionProxy", "StatefulInstance", "StatelessFunction",
    "YRError", "YRRuntimeError", "YRValueError", "YRTypeError", "YRTimeoutError", "GetTimeoutError",
    "YRInvokeError", "InitError", "InstanceDiedError", "InstanceTerminatedError", "InstanceNotFoundError",
    "ResourceUnavailableError", "RuntimeUnavailableError", "SerializationError", "CancelError",
    "Affinity", "AffinityKind", "AffinityType", "AffinityScope", "LabelOperator", "OperatorType",
]
