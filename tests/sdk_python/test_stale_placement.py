"""What a caller does after a worker refused its connection's epoch (yr._calls.stale_placement,
pure): send the calls to the placement the master names now, or fail naming why not."""
import pytest

from yr._calls import stale_placement

OLD = "tcp:127.0.0.1:4000/11-3"


@pytest.mark.parametrize("state, endpoint, epoch", [
    ("RUNNING", "tcp:127.0.0.1:4000/11-9", 2),   # restarted on the same node: a new worker
    ("RUNNING", "tcp:127.0.0.1:5000/12-1", 2),   # on another node
    ("RUNNING", OLD, 2),                          # same address, another placement
    ("RUNNING", OLD, 0),                          # a master that knows no epochs: try once more
])
def test_another_placement_is_tried(state, endpoint, epoch):
    assert stale_placement(OLD, 1, state, endpoint, epoch) == ""


@pytest.mark.parametrize("state, endpoint, epoch, reason, expected", [
    ("DEAD", "", 1, "its node far was lost", "it is dead: its node far was lost"),
    ("DEAD", OLD, 1, "", "it is dead: its worker exited"),
    ("STARTING", "", 2, "", "it has no worker (state STARTING)"),
    ("RUNNING", OLD, 1, "", "the master still names that worker with epoch 1: the worker and the master disagree"),
])
def test_otherwise_the_calls_fail_saying_why(state, endpoint, epoch, reason, expected):
    assert stale_placement(OLD, 1, state, endpoint, epoch, reason) == expected
