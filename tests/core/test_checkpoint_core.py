"""Checkpoints in the pure core: ids, ttl on a hand-moved clock, listing filters, deletion, bounds."""
import pytest

from yr_runtime.core import checkpoints as ck


def test_take_get_list_delete():
    c = ck.Checkpoints()
    a = c.take("inst-1", "mod.Counter", "ns", b"s1", ttl=-1, now=0)
    b = c.take("inst-2", "mod.Other", "", b"s2", ttl=0, now=0)
    assert a.startswith("inst-1-mod.Counter-") and a != c.take("inst-1", "mod.Counter", "ns", b"s1", -1, 0)
    assert c.get(a, 1).state == b"s1"
    assert [x.id for x in c.list("mod.Counter", "", 1)][0] == a
    assert {x.id for x in c.list("", "", 1)} >= {a, b}
    assert [x.id for x in c.list("", "nope", 1)] == []
    assert [x.id for x in c.list("mod.Other", "", 1)] == [b]
    c.delete(b, 2)
    with pytest.raises(ck.CheckpointError, match="no checkpoint"):
        c.get(b, 2)
    with pytest.raises(ck.CheckpointError):
        c.delete(b, 2)


def test_ttl_default_600_explicit_and_zero_forever():
    c = ck.Checkpoints()
    d = c.take("i", "m.C", "", b"", ttl=-1, now=0)
    e = c.take("i", "m.C", "", b"", ttl=5, now=0)
    f = c.take("i", "m.C", "", b"", ttl=0, now=0)
    assert {x.id for x in c.list("", "", 4.9)} == {d, e, f}
    assert {x.id for x in c.list("", "", 5.0)} == {d, f}
    assert {x.id for x in c.list("", "", ck.DEFAULT_TTL)} == {f}
    assert c.get(f, 1e9).instance_id == "i"


def test_bounds_refuse_rather_than_evict(monkeypatch):
    monkeypatch.setattr(ck, "MAX_CHECKPOINTS", 2)
    c = ck.Checkpoints()
    c.take("i", "m.C", "", b"", 0, 0)
    c.take("i", "m.C", "", b"", 0, 0)
    with pytest.raises(ck.CheckpointError, match="delete some first"):
        c.take("i", "m.C", "", b"", 0, 0)
    with pytest.raises(ck.CheckpointError, match="function type"):
        ck.Checkpoints().take("i", "", "", b"", 0, 0)
