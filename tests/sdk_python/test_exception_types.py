"""Any exception raised remotely reaches the caller as its own type and yr.YRInvokeError,
with its message, attributes and the remote traceback, whether or not `cls(*args)` can
rebuild it (OSError and its subclasses, exceptions whose __init__ takes other arguments,
unpicklable attributes, failing __reduce__, BaseException subclasses, chains)."""
import errno
import threading

import pytest

import yr


class CodeError(Exception):
    def __init__(self, code, msg):
        super().__init__(f"{code}: {msg}")
        self.code, self.msg = code, msg


class Rich(ValueError):
    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details
        self.hint = "try again"


class HoldsLock(Exception):
    def __init__(self, msg):
        super().__init__(msg)
        self.lock = threading.Lock()   # does not pickle: the rest still travels
        self.ok = 42


class ReduceFails(Exception):
    def __reduce__(self):
        raise RuntimeError("this exception refuses to be pickled")


class Abort(BaseException):
    def __init__(self, why, level):
        super().__init__(why)
        self.level = level


class Slotted(Exception):
    __slots__ = ("where_from",)

    def __init__(self, a, b):
        super().__init__(a)
        self.where_from = b


def chained():
    try:
        raise KeyError("inner key")
    except KeyError as inner:
        raise RuntimeError("outer failure") from inner


# name -> (factory, expected type, text that must appear in str(), check of the caught error)
CASES = {
    "FileNotFoundError": (lambda: open("/nonexistent/yr-test/file"), FileNotFoundError, "No such file",
                          lambda e: e.errno == errno.ENOENT and e.filename == "/nonexistent/yr-test/file"),
    "PermissionError": (lambda: (_ for _ in ()).throw(PermissionError(errno.EACCES, "Permission denied", "/root/x")),
                        PermissionError, "Permission denied",
                        lambda e: e.errno == errno.EACCES and e.filename == "/root/x" and e.strerror == "Permission denied"),
    "ConnectionError": (lambda: (_ for _ in ()).throw(ConnectionError("peer went away")), ConnectionError,
                        "peer went away", lambda e: e.args == ("peer went away",)),
    "ConnectionRefusedError": (lambda: (_ for _ in ()).throw(ConnectionRefusedError(errno.ECONNREFUSED, "refused")),
                               ConnectionRefusedError, "refused", lambda e: e.errno == errno.ECONNREFUSED),
    "TimeoutError": (lambda: (_ for _ in ()).throw(TimeoutError("too slow")), TimeoutError, "too slow",
                     lambda e: isinstance(e, OSError)),
    "OSError-two-files": (lambda: (_ for _ in ()).throw(OSError(errno.EXDEV, "cross-device", "/a", None, "/b")),
                          OSError, "cross-device", lambda e: (e.filename, e.filename2) == ("/a", "/b")),
    "BlockingIOError": (lambda: (_ for _ in ()).throw(BlockingIOError(errno.EAGAIN, "again", 3)), BlockingIOError,
                        "again", lambda e: e.characters_written == 3),
    "UnicodeDecodeError": (lambda: b"\xff".decode("utf-8"), UnicodeDecodeError, "can't decode",
                           lambda e: (e.encoding, e.object, e.start, e.end) == ("utf-8", b"\xff", 0, 1)),
    "ImportError": (lambda: (_ for _ in ()).throw(ImportError("no module here", name="missing_mod", path="/p")),
                    ImportError, "no module here", lambda e: (e.name, e.path) == ("missing_mod", "/p")),
    "KeyError": (lambda: {}["the-key"], KeyError, "the-key", lambda e: e.args == ("the-key",)),
    "StopIteration": (lambda: next(iter(())), StopIteration, "StopIteration", lambda e: e.value is None),
    "user-init-with-other-args": (lambda: (_ for _ in ()).throw(CodeError(7, "bad thing")), CodeError,
                                  "7: bad thing", lambda e: (e.code, e.msg) == (7, "bad thing")),
    "extra-attributes": (lambda: (_ for _ in ()).throw(Rich("rich", row=3)), Rich, "rich",
                         lambda e: e.details == {"row": 3} and e.hint == "try again" and isinstance(e, ValueError)),
    "unpicklable-attribute": (lambda: (_ for _ in ()).throw(HoldsLock("has a lock")), HoldsLock, "has a lock",
                              lambda e: e.ok == 42),
    "reduce-raises": (lambda: (_ for _ in ()).throw(ReduceFails("no pickling")), ReduceFails, "no pickling",
                      lambda e: e.args == ("no pickling",)),
    "BaseException-subclass": (lambda: (_ for _ in ()).throw(Abort("stop now", 2)), Abort, "stop now",
                               lambda e: e.level == 2 and isinstance(e, Exception)),
    "SystemExit": (lambda: exit_with(5), SystemExit, "SystemExit: 5", lambda e: e.code == 5),
    "KeyboardInterrupt": (lambda: (_ for _ in ()).throw(KeyboardInterrupt("interrupted by user code")),
                          KeyboardInterrupt, "interrupted by user code", lambda e: isinstance(e, Exception)),
    "slots": (lambda: (_ for _ in ()).throw(Slotted("slotted", "here")), Slotted, "slotted",
              lambda e: e.where_from == "here"),
    "chain": (chained, RuntimeError, "outer failure",
              lambda e: isinstance(e.__cause__, KeyError) and e.__cause__.args == ("inner key",)
              and "direct cause" in str(e) and "inner key" in str(e)),
}


def exit_with(code):
    import sys
    sys.exit(code)


def raise_case(name):
    CASES[name][0]()
    return "did not raise"


@yr.instance
class Raiser:
    def __init__(self, name=None):
        if name is not None:
            raise_case(name)

    def raise_it(self, name):
        return raise_case(name)


@yr.invoke
def raise_stateless(name):
    return raise_case(name)


def run_case(how, name):
    if how == "method":
        return Raiser.invoke().raise_it.invoke(name)
    if how == "constructor":
        return Raiser.invoke(name).raise_it.invoke("never")
    return raise_stateless.invoke(name)


@pytest.mark.parametrize("how", ["method", "constructor", "stateless"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_remote_exception_arrives_as_its_type_with_attributes_and_traceback(driver, how, name):
    _, expected, text, check = CASES[name]
    with pytest.raises(expected) as info:
        yr.get(run_case(how, name), timeout=60)
    err = info.value
    assert isinstance(err, yr.YRInvokeError) and isinstance(err, expected)
    assert err.code == 2002 or name in ("user-init-with-other-args", "SystemExit")
    message = str(err)
    assert text in message and "Traceback (most recent call last)" in message and "raise_case" in message
    assert ("__init__" in message) == (how == "constructor")
    assert check(err), f"attributes of {name} were lost: {vars(err)}"


def test_except_file_not_found_reads_errno_and_filename(driver):
    try:
        yr.get(raise_stateless.invoke("FileNotFoundError"), timeout=60)
    except FileNotFoundError as e:
        assert (e.errno, e.filename) == (errno.ENOENT, "/nonexistent/yr-test/file")
        assert isinstance(e, yr.YRInvokeError) and "open(" in str(e)
    else:
        pytest.fail("no FileNotFoundError")


def test_exception_whose_class_cannot_travel_names_its_type(driver):
    @yr.invoke
    def raise_local():
        class Weird(Exception):
            lock = __import__("threading").Lock()   # the class itself does not pickle
        raise Weird("weird message")
    with pytest.raises(yr.YRInvokeError) as info:
        yr.get(raise_local.invoke(), timeout=60)
    err = info.value
    assert "Weird" in err.type_name and "Weird: weird message" in str(err) and "Traceback" in str(err)
    assert yr.get(yr.put(1)) == 1
