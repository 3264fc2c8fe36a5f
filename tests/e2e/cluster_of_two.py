"""A master and one joined node "far" on this machine over loopback, 2000 millicores each,
in a session root of their own: the body of the two-node fixtures of
test_multinode_data.py and test_multinode_groups.py."""
import re

from yr_testing import wait_no_runtime_processes
from test_examples import yr_cli


def master_and_far(tmp_path_factory, name: str):
    """Yields the environment (YR_SESSION_ROOT) of the two nodes; stops both afterwards and
    checks that no runtime process of theirs is left."""
    root = tmp_path_factory.mktemp(name) / "sessions"
    env = {"YR_SESSION_ROOT": str(root)}
    out = yr_cli("start", "--master", "--cpu", "2000", env=env)
    assert out.returncode == 0, out.stderr
    address = re.search(r"yr start --master_address (\S+)", out.stdout).group(1)
    try:
        out = yr_cli("start", "--master_address", address, "--cpu", "2000", "--node-id", "far", env=env)
        assert out.returncode == 0 and "yr node far joined" in out.stdout, out.stderr
        yield env
    finally:
        stop = yr_cli("stop", env=env)
        assert stop.returncode == 0, stop.stderr
        assert wait_no_runtime_processes(15, root=str(root)) == []
