"""openYuanrong's path to the stateful-instance classes; re-exports from `yr._decorators`."""
from .._decorators import InstanceCreator, InstanceProxy, MethodProxy

__all__ = ["InstanceCreator", "InstanceProxy", "MethodProxy"]
