"""openYuanrong's path to the stateless-function class; re-exports from `yr._decorators`."""
from .._decorators import FunctionProxy

__all__ = ["FunctionProxy"]
