"""The agent's rules for first calls carried by a create (runtime/yr_runtime/node/carry.py),
without sockets: which calls go with the Assign, which are left to the driver, and what the
answer says."""
from __future__ import annotations

from yr_runtime.node import carry
from yr_runtime.wire import frames
from yr_runtime.wire import messages as m


class Writer:
    """An asyncio writer's two methods the answer uses: records the frames written."""

    def __init__(self):
        self.frames: list[bytes] = []
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing

    def write(self, frame: bytes) -> None:
        self.frames.append(frame)


def create(iid: str, rid: int = 1) -> m.CreateOnNode:
    return m.CreateOnNode(rid=rid, spec=b"spec", carry=iid)


def call(iid: str, n: int) -> m.CarryCall:
    return m.CarryCall(instance_id=iid, call=b"C" + n.to_bytes(8, "little") + b"body")


def assign(iid: str, language: str = "python") -> m.Assign:
    return m.Assign(instance_id=iid, job_id="j", language=language)


def decoded(written: list[bytes]) -> list:
    return [m.decode(b) for b in frames.FrameDecoder().feed(b"".join(written))]


def answer(c: carry.Carried, msg: m.CreateOnNode, w: Writer) -> list:
    c.answer_writer(msg, w).write(m.Created(rid=msg.rid, reply=b"r").frame())
    return decoded(w.frames)


def test_calls_read_with_their_create_go_with_its_assign_and_the_answer_says_how_many():
    c, w = carry.Carried(), Writer()
    batch = [create("a", 5), call("a", 1), m.ObjFree(ids=["x"]), call("a", 2)]
    rest = c.gather(batch, w)
    assert rest == [batch[0], batch[2]]   # the calls are kept, everything else handled in order
    got = c.take(assign("a"))
    assert got.calls == [call("a", 1).call, call("a", 2).call]
    assert answer(c, batch[0], w) == [m.CarryTaken(rid=5, count=2), m.Created(rid=5, reply=b"r")]


def test_calls_after_the_assign_are_left_to_the_driver():
    c, w = carry.Carried(), Writer()
    c.gather([create("a"), call("a", 1)], w)
    c.take(assign("a"))
    c.gather([call("a", 2)], w)   # too late: the worker has its Assign
    assert c.take(assign("a")).calls == []
    assert answer(c, create("a"), w)[0] == m.CarryTaken(rid=1, count=1)


def test_a_create_answered_without_an_assign_here_says_nothing_and_forgets_its_calls():
    """Placed on another node, or refused: the driver sends (or fails) the calls itself."""
    c, w = carry.Carried(), Writer()
    c.gather([create("a"), call("a", 1)], w)
    assert answer(c, create("a"), w) == [m.Created(rid=1, reply=b"r")]
    c.gather([call("a", 2)], w)
    assert c.take(assign("a")).calls == []


def test_a_create_whose_calls_come_in_a_later_read_still_carries_them():
    c, w = carry.Carried(), Writer()
    msg = create("a")
    assert c.gather([msg], w) == [msg]
    writer = c.answer_writer(msg, w)   # as the agent hands it to the master, before the Assign
    c.gather([call("a", 1)], w)
    assert c.take(assign("a")).calls == [call("a", 1).call]
    writer.write(m.Created(rid=1, reply=b"r").frame())
    assert decoded(w.frames)[0] == m.CarryTaken(rid=1, count=1)


def test_only_the_connection_that_created_may_carry_and_its_end_forgets_its_creates():
    c, mine, other = carry.Carried(), Writer(), Writer()
    c.gather([create("a"), create("b")], mine)
    c.answer_writer(create("a"), mine)
    c.answer_writer(create("b"), mine)
    c.gather([call("a", 1)], other)
    assert c.take(assign("a")).calls == []
    c.drop(mine)
    c.gather([call("b", 1)], mine)
    assert c.take(assign("b")).calls == []


def test_past_the_bounds_no_more_calls_are_carried_so_the_driver_keeps_their_order():
    c, w = carry.Carried(), Writer()
    c.gather([create("a")] + [call("a", i) for i in range(carry.MAX_CALLS + 5)], w)
    assert len(c.take(assign("a")).calls) == carry.MAX_CALLS
    big = m.CarryCall(instance_id="b", call=b"C" + bytes(8) + b"x" * carry.MAX_BYTES)
    c.gather([create("b"), call("b", 1), big, call("b", 3)], w)
    assert c.take(assign("b")).calls == [call("b", 1).call]   # not `big`, nor the one after it


def test_an_assign_of_another_language_carries_nothing():
    c, w = carry.Carried(), Writer()
    c.gather([create("a"), call("a", 1)], w)
    assert c.take(assign("a", "cpp")).calls == []
    assert answer(c, create("a"), w) == [m.Created(rid=1, reply=b"r")]


def test_a_create_that_carries_nothing_is_answered_on_its_own_writer():
    c, w = carry.Carried(), Writer()
    plain = m.CreateOnNode(rid=3, spec=b"spec")
    assert c.answer_writer(plain, w) is w
    assert c.gather([plain], w) == [plain]
