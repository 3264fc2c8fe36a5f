"""The openYuanrong error codes are one table per language, and the tables agree.

Python: `yr_runtime.wire.errors.ErrorCode` (named again, without numbers, in `yr.exceptions`);
C++: `enum ErrorCode` in sdk_cpp/include/yr/exception.h; Java: the `ERR_*` constants of
`YRException`. No other source file spells a code as a number.
"""
import io
import re
import tokenize
from pathlib import Path

import pytest

from yr import exceptions
from yr_runtime.wire import errors as wire_errors
from yr_runtime.wire.errors import KIND_KEY, ErrorCode, kind_from_metadata, kind_metadata

ROOT = Path(__file__).resolve().parents[2]
CPP_HEADER = ROOT / "sdk_cpp" / "include" / "yr" / "exception.h"
JAVA_TABLE = ROOT / "sdk_java" / "src" / "main" / "java" / "org" / "yuanrong" / "exception" / "YRException.java"
CODES = {m.value for m in ErrorCode if m.value}


def cpp_codes(text: str) -> dict[str, int]:
    """The members of `enum ErrorCode`; any line in it that is not `NAME = NUMBER,` fails."""
    body = re.search(r"enum ErrorCode\s*:\s*int\s*\{(.*?)\};", text, re.S)
    assert body, "no `enum ErrorCode : int { ... };` in exception.h"
    table = {}
    for line in body.group(1).splitlines():
        line = line.split("//")[0].strip()
        if line:
            m = re.fullmatch(r"(ERR_\w+)\s*=\s*(\d+),?", line)
            assert m, f"exception.h: not a plain `NAME = NUMBER,` entry: {line!r}"
            table[m.group(1)] = int(m.group(2))
    return table


def java_codes(text: str) -> dict[str, int]:
    """The `ERR_*` int constants of YRException; one declared any other way fails."""
    table = {}
    for line in text.splitlines():
        if re.search(r"\bERR_\w+\s*=", line):
            m = re.fullmatch(r"\s*public static final int (ERR_\w+) = (\d+);", line)
            assert m, f"YRException.java: not a plain `public static final int NAME = NUMBER;`: {line!r}"
            table[m.group(1)] = int(m.group(2))
    return table


def test_python_cpp_and_java_declare_the_same_codes_and_names():
    python = {m.name: m.value for m in ErrorCode}
    assert len(set(python.values())) == len(python)  # no aliases hiding in the enum
    assert cpp_codes(CPP_HEADER.read_text()) == python
    assert java_codes(JAVA_TABLE.read_text()) == python


def test_yr_exceptions_names_exactly_the_enumeration():
    named = {n: getattr(exceptions, n) for n in dir(exceptions) if n.startswith("ERR_")}
    assert named == {m.name: m for m in ErrorCode}
    assert all(isinstance(v, ErrorCode) for v in named.values())


def test_the_parsers_catch_a_drift():
    """A renamed, renumbered, missing or computed entry is caught, not skipped."""
    header = CPP_HEADER.read_text()
    with pytest.raises(AssertionError):
        cpp_codes(header.replace("ERR_FINALIZED = 9000", "ERR_FINALIZED = ERR_OK + 9000"))
    assert cpp_codes(header.replace("ERR_FINALIZED = 9000", "ERR_FINALISED = 9000")) != \
        {m.name: m.value for m in ErrorCode}
    java = JAVA_TABLE.read_text()
    with pytest.raises(AssertionError):
        java_codes(java.replace("int ERR_OK = 0;", "int ERR_OK = 1 - 1;"))
    assert java_codes(java.replace("ERR_INSTANCE_EXITED = 1007", "ERR_INSTANCE_EXITED = 1008")) != \
        {m.name: m.value for m in ErrorCode}


# ---- no code spelled as a number outside the tables -------------------------------------------
TABLES = {CPP_HEADER, JAVA_TABLE, Path(wire_errors.__file__).resolve()}


def _python_numbers(path: Path) -> set[int]:
    toks = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return {int(t.string) for t in toks if t.type == tokenize.NUMBER and t.string.isdigit()}


def _c_like_numbers(path: Path) -> set[int]:
    text = re.sub(r"//[^\n]*|/\*.*?\*/", " ", path.read_text(), flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)  # string literals: messages, not codes
    return {int(n) for n in re.findall(r"(?<![\w.])(\d+)(?![\w.])", text)}


def _sources():
    yield from ((p, _python_numbers) for p in (ROOT / "sdk_python" / "yr").rglob("*.py"))
    yield from ((p, _python_numbers) for p in (ROOT / "runtime").rglob("*.py") if "proto" not in p.parts)
    for top, pattern in ((ROOT / "sdk_cpp", "*.h"), (ROOT / "sdk_cpp", "*.cpp"),
                         (ROOT / "sdk_java" / "src" / "main", "*.java")):
        yield from ((p, _c_like_numbers) for p in top.rglob(pattern) if "build" not in p.parts)


def test_no_source_spells_an_error_code_as_a_number():
    """Code that turns an error into a code (the bridges, the SDKs) names it from its table."""
    found = {}
    for path, numbers in _sources():
        if path.resolve() not in TABLES:
            hits = numbers(path) & CODES
            if hits:
                found[str(path.relative_to(ROOT))] = sorted(hits)
    assert found == {}


# ---- the kind on the wire ----------------------------------------------------------------------
def test_kinds_travel_in_metadata_and_unknown_ones_are_none():
    for code in ErrorCode:
        assert kind_from_metadata(kind_metadata(code)) is code
    assert kind_from_metadata(None) is None
    assert kind_from_metadata((("other", "1"),)) is None
    assert kind_from_metadata(((KIND_KEY, "77777"),)) is None   # a code from a newer runtime
    assert kind_from_metadata(((KIND_KEY, "x"),)) is None


def test_every_kind_the_runtime_sends_has_its_own_class_carrying_that_code():
    """The core and the master answer with these kinds (found in their source): each reaches
    the user as the class of the one table, with the kind as `.code`."""
    sent = set()
    for path in ((ROOT / "runtime").rglob("*.py")):
        sent |= {ErrorCode[n] for n in re.findall(r"ErrorCode\.(ERR_\w+)", path.read_text())}
    assert {ErrorCode.ERR_PARAM_INVALID, ErrorCode.ERR_INSTANCE_EXITED} <= sent
    for kind in sent:
        err = exceptions.error_for(kind, "m")
        assert type(err) is not exceptions.YRRuntimeError, kind
        assert err.code is kind and str(err) == "m"
    generic = exceptions.error_for(None, "m")
    assert type(generic) is exceptions.YRRuntimeError and generic.code == ErrorCode.ERR_OK
