"""What the multi-node e2e tests ask of a cluster through the `yr` command, once."""
from __future__ import annotations

import json
import time

from test_examples import yr_cli


def status(env) -> dict:
    """`yr status --json` of the cluster `env` points at (its YR_SESSION_ROOT)."""
    out = yr_cli("status", "--json", env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def wait_for(what, timeout=40.0):
    """Polls `what()` until truthy and returns its value; fails the test after `timeout`
    seconds (a generous bound: it proves that it happens, not how fast)."""
    deadline = time.monotonic() + timeout
    while not (got := what()):
        assert time.monotonic() < deadline, "not within the bound"
        time.sleep(0.2)
    return got
