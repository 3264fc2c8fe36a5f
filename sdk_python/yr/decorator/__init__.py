"""openYuanrong's module paths for its decorator classes (`yr.decorator.instance_proxy`,
`yr.decorator.function_proxy`), so programs that import from there run unchanged. The classes
live in `yr._decorators`; these modules only re-export them."""
from . import function_proxy, instance_proxy

__all__ = ["function_proxy", "instance_proxy"]
