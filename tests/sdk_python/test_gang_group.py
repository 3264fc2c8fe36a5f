"""yr.Group / yr.GroupOptions (openYuanrong's gang of instances) on a real runtime: the
instances of a group start together or not at all, the group's errors and timeouts,
terminate, and same_lifecycle (docs/groups.md, "Groups of instances")."""
import os

import pytest

import yr

# the node of test_groups.py's kind (4000 millicores, 4000 MiB, no warm pool), one per module
from test_groups import drv, free_cpu, small  # noqa: E402,F401  (fixtures used by name)


@yr.instance
class Member:
    def __init__(self, tag):
        self.tag = tag

    def who(self):
        return self.tag, os.getpid()

    def die(self):
        os._exit(3)


def member(group, cpu=1000, **kw):
    return Member.options(yr.InvokeOptions(cpu=cpu, memory=100, group_name=group, **kw))


def test_instances_of_a_group_are_created_by_invoke_together(drv):
    before = free_cpu()
    g = yr.Group("gang-a", yr.GroupOptions(timeout=60))
    members = [member("gang-a").invoke(f"m{i}") for i in range(3)]
    early = members[0].who.invoke()          # queued until the group is created
    assert free_cpu() == before               # nothing is created before invoke()
    with pytest.raises(yr.GetTimeoutError):
        yr.get(early, 1)
    g.invoke()
    g.wait()
    assert free_cpu() == before - 3000
    assert yr.get(early, 30)[0] == "m0"
    answers = yr.get([m.who.invoke() for m in members], 30)
    assert [a[0] for a in answers] == ["m0", "m1", "m2"] and len({a[1] for a in answers}) == 3
    with pytest.raises(yr.YRRuntimeError, match="already invoked"):
        g.invoke()
    with pytest.raises(ValueError, match="already invoked"):
        member("gang-a").invoke("late")
    g.terminate()
    for m in members:
        with pytest.raises(yr.InstanceTerminatedError):
            yr.get(m.who.invoke(), 30)
    with pytest.raises(yr.YRRuntimeError, match="terminated already"):
        g.terminate()
    deadline_free = [free_cpu() for _ in range(1)]
    assert wait_until(lambda: free_cpu() == before), deadline_free


def wait_until(check, timeout=30.0):
    import time
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.2)
    return True


def test_a_group_that_can_never_fit_creates_none_of_its_instances(drv):
    before = free_cpu()
    g = yr.Group("gang-big", yr.GroupOptions(timeout=30))
    members = [member("gang-big", cpu=2000).invoke(i) for i in range(3)]   # 6000m on a 4000m node
    g.invoke()
    with pytest.raises(yr.ResourceUnavailableError, match="can never be reserved"):
        g.wait()
    for m in members:
        with pytest.raises(yr.ResourceUnavailableError):
            yr.get(m.who.invoke(), 30)
    assert free_cpu() == before
    # STRICT_SPREAD wants one node per instance: two instances on one node never fit either
    s = yr.Group("gang-spread", yr.GroupOptions(strategy="STRICT_SPREAD"))
    pair = [member("gang-spread", cpu=500).invoke(i) for i in range(2)]
    s.invoke()
    with pytest.raises(yr.ResourceUnavailableError):
        s.wait()
    with pytest.raises(yr.ResourceUnavailableError):
        yr.get(pair[1].who.invoke(), 30)
    g.terminate()   # a failed group may still be terminated (a no-op here)


def test_a_group_not_placed_within_its_timeout_is_rolled_back(drv):
    hog = Member.options(cpu=3000, memory=100).invoke("hog")   # fits the node's total, not what is free
    assert yr.get(hog.who.invoke(), 30)[0] == "hog"
    before = free_cpu()
    g = yr.Group("gang-slow", yr.GroupOptions(timeout=1))
    members = [member("gang-slow").invoke(i) for i in range(2)]
    g.invoke()
    with pytest.raises(yr.YRTimeoutError, match="not scheduled within 1s"):
        g.wait()
    with pytest.raises(yr.YRTimeoutError):
        yr.get(members[0].who.invoke(), 30)
    hog.terminate()
    assert wait_until(lambda: free_cpu() == before + 3000)
    # the name is free again; with room, the same gang starts
    g2 = yr.Group("gang-slow", yr.GroupOptions(timeout=30))
    again = [member("gang-slow").invoke(i) for i in range(2)]
    g2.invoke()
    g2.wait()
    assert [a[0] for a in yr.get([m.who.invoke() for m in again], 30)] == [0, 1]
    g2.terminate()


def test_a_group_terminated_while_it_waits_for_room_is_never_created(drv):
    hog = Member.options(cpu=3000, memory=100).invoke("hog")
    assert yr.get(hog.who.invoke(), 30)[0] == "hog"
    before = free_cpu()
    g = yr.Group("gang-stop", yr.GroupOptions())   # timeout -1: it would wait
    members = [member("gang-stop").invoke(i) for i in range(2)]
    g.invoke()
    g.terminate()
    with pytest.raises(yr.YRRuntimeError, match="terminated before"):
        g.wait()
    with pytest.raises(yr.InstanceTerminatedError):
        yr.get(members[0].who.invoke(), 30)
    hog.terminate()
    assert wait_until(lambda: free_cpu() == before + 3000)   # nothing of the group was reserved


@pytest.mark.parametrize("same", [True, False])
def test_same_lifecycle_decides_whether_a_lost_instance_takes_the_group_with_it(drv, same):
    g = yr.Group(f"gang-fate-{same}", yr.GroupOptions(same_lifecycle=same))
    a, b = (member(f"gang-fate-{same}").invoke(t) for t in ("a", "b"))
    g.invoke()
    g.wait()
    assert yr.get(b.who.invoke(), 30)[0] == "b"
    with pytest.raises(yr.InstanceDiedError):
        yr.get(a.die.invoke(), 30)
    def b_is_gone() -> bool:
        try:
            yr.get(b.who.invoke(), 30)
            return False
        except (yr.InstanceDiedError, yr.InstanceTerminatedError):
            return True
    # The master tears the group down once a's node reports its death, which may come after
    # the driver saw the connection close: b goes soon after a, not necessarily before the
    # driver's next call reaches it.
    if same:
        assert wait_until(b_is_gone, timeout=20)
        with pytest.raises(yr.YRRuntimeError, match="terminated already"):
            g.terminate()
    else:
        assert not wait_until(b_is_gone, timeout=3)   # b outlives a
        assert yr.get(b.who.invoke(), 30)[0] == "b"
        g.terminate()


def test_group_errors_are_openyuanrongs(drv):
    with pytest.raises(ValueError, match="no yr.Group named 'nowhere'"):
        member("nowhere").invoke(0)
    with pytest.raises(ValueError, match="must not be empty"):
        yr.Group("", yr.GroupOptions())
    with pytest.raises(TypeError, match="GroupOptions"):
        yr.Group("g-type", {"timeout": 5})
    g = yr.Group("g-err")
    assert g.group_opts == yr.GroupOptions(timeout=-1, same_lifecycle=True, strategy="")
    with pytest.raises(ValueError, match="exists already"):
        yr.Group("g-err")
    with pytest.raises(yr.YRRuntimeError, match="wait.. before invoke"):
        g.wait()
    with pytest.raises(yr.YRRuntimeError, match="not invoked"):
        g.terminate()
    with pytest.raises(ValueError, match="no instances"):
        g.invoke()
    with pytest.raises(ValueError, match="cannot be detached"):
        Member.options(yr.InvokeOptions(group_name="g-err"), lifetime="detached").invoke(0)
    with pytest.raises(ValueError, match="group_name applies to instances"):
        yr.invoke(invoke_options=yr.InvokeOptions(group_name="g-err"))(lambda: 1).invoke()
    for opts, err, match in ((yr.GroupOptions(timeout=-5), RuntimeError, "expect -1 or > 0"),
                             (yr.GroupOptions(timeout="5"), TypeError, "timeout"),
                             (yr.GroupOptions(strategy="DENSE"), ValueError, "strategy"),
                             (yr.GroupOptions(same_lifecycle=1), TypeError, "same_lifecycle")):
        bad = yr.Group(f"g-bad-{id(opts)}", opts)
        member(bad.group_name).invoke(0)
        with pytest.raises(err, match=match):
            bad.invoke()
    for call in (g.suspend, g.resume):
        with pytest.raises(yr.YRRuntimeError, match="not supported"):
            call()
    full = yr.Group("g-full")
    for i in range(256):
        member("g-full").invoke(i)
    with pytest.raises(ValueError, match="at most 256"):
        member("g-full").invoke(256)
