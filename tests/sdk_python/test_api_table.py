"""docs/api.md's coverage table against yr.__all__: a row marked built is exported and
importable, a row marked otherwise is not exported, and no openYuanrong name yr exports
is missing from the table. The table lists openYuanrong 0.9.10's __all__ (107 names)."""
import re
from pathlib import Path

import yr

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
ROW = re.compile(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \| (built|not built yet|out of scope) \|(.*)\|\s*$")
OPENYUANRONG_NAMES = 107


def table() -> dict:
    rows, names = {}, []
    for line in API_MD.read_text().splitlines():
        if line.startswith("| `"):
            m = ROW.match(line)
            assert m, f"docs/api.md: a coverage row that does not parse: {line!r}"
            names.append(m.group(1))
            rows[m.group(1)] = m.group(2)
    assert len(names) == len(set(names)), "docs/api.md: a name appears twice in the coverage table"
    assert names == sorted(names, key=str.lower), "docs/api.md: the coverage table must stay sorted by name"
    return rows


def test_the_table_lists_every_openyuanrong_name_once():
    assert len(table()) == OPENYUANRONG_NAMES


def test_built_rows_are_exported_and_importable():
    missing = [n for n, status in table().items() if status == "built" and n not in yr.__all__]
    assert not missing, f"docs/api.md says built but yr.__all__ lacks: {missing}"
    for name, status in table().items():
        if status == "built":
            assert getattr(yr, name) is not None
            exec(f"from yr import {name}", {})


def test_rows_not_built_are_not_exported():
    wrong = [n for n, status in table().items() if status != "built" and (n in yr.__all__ or hasattr(yr, n))]
    assert not wrong, f"yr exports these, but docs/api.md says they are not built: {wrong} (flip their rows)"
