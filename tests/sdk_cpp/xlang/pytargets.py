"""Python targets of the cross-language matrix (tests/sdk_cpp/test_cross_language.py):
called by name from C++ (YR::PyFunction) and Java (PyFunction.of), and with yr's own API
from Python."""


def echo(x):
    return x


def fail(message):
    raise ValueError(f"python says {message}")


class Counter:
    def __init__(self, start=0):
        self.count = start

    def add(self, n):
        self.count += n
        return self.count

    def echo(self, x):
        return x

    def fail(self, message):
        raise KeyError(f"python counter says {message}")


def add_via(handle, method, n):
    """Calls `method` of an instance of any language through a handle passed in."""
    import yr
    return yr.get(getattr(handle, method).invoke(n), 60)
