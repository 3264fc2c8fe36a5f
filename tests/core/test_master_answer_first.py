"""A create that a warm worker takes is answered before the new instance is recorded for the
metadata store (yr_runtime.master._drain): the record is off the create's path, and records
keep their own order."""
from concurrent.futures import Future

from yr_runtime.core import cluster as c
from yr_runtime.core.resources import Resources
from yr_runtime.master import Master

from test_master import Clock, FakeNode, instance


class Log(list):
    def waiter(self, name):
        f = Future()
        f.add_done_callback(lambda _f: self.append(("answer", name)))
        return f


def _master(log):
    master = Master(Clock())
    node = FakeNode("n", master, warm=1)
    node.report_at_once = True   # a warm worker: assigned inside start_worker, as the local node does
    master.add_node(node, Resources(8000, 8000))
    master.recorder.instance = lambda inst: log.append(("record", inst.id, inst.state))
    return master, node


def test_a_warm_create_is_answered_before_its_instance_is_recorded():
    log = Log()
    master, node = _master(log)
    master.create(instance("a"), log.waiter("a"))
    assert log[0] == ("answer", "a"), log
    assert [e for e in log if e[0] == "record"] == [("record", "a", c.STARTING)] * 2   # both notes, in order
    assert master.cluster.instances["a"].endpoint == "unix:/ep"


def test_records_keep_their_order_and_every_one_is_made():
    log = Log()
    master, node = _master(log)
    for iid in ("a", "b", "c"):
        master.create(instance(iid), log.waiter(iid))
    master.terminate("b")
    records = [e[1:] for e in log if e[0] == "record"]
    assert [r for r in records if r[0] == "b"][-1] == ("b", c.DEAD)      # the last note of b is its death
    assert [r[0] for r in records].count("a") == 2 and [r[0] for r in records].count("c") == 2
    assert [e[1] for e in log if e[0] == "answer"] == ["a", "b", "c"]
