"""Epochs as fencing tokens at the data-port preamble (docs/architecture.md "Partitions and
fencing"): the master counts each instance's placements (InstanceInfo.epoch, Assign.epoch);
a caller's connection to a worker on another node names the epoch it believes in, and a
worker of another placement refuses it once, naming the instance and both epochs.

Checks, on a master and a joined node "far" on loopback (real daemons, workers, sockets):
a raw preamble with a newer epoch is refused with that message and nothing else is served;
after the worker is killed and restarted (epoch 2) normal calls go on, and a preamble with
the old epoch 1 is refused saying it is older; a caller (the SDK) holding an older or a newer
epoch than the worker's is refused, looks the instance up again and its calls run exactly
once on the right placement; a handle passed to another instance carries its epoch. The same SDK checks over TLS live in test_tls_dataport.py.
"""
import pytest

from cluster_of_two import master_and_far
from yr_testing import run_script

PIN = """
import os, signal, socket, time, yr
from yr import _calls, _context, _decorators
from yr_runtime.wire import address, frames, preamble

def on(node):
    rule = yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED,
                       [yr.LabelOperator(yr.OperatorType.LABEL_IN, "NODE_ID", [node])])
    return yr.InvokeOptions(cpu=500, memory=100, schedule_affinities=[rule], recover_retry_times=1)

@yr.instance
class Counter:
    def __init__(self): self.n = 0
    def inc(self):
        self.n += 1
        return self.n
    def through(self, other):   # a handle that arrived pickled: its epoch came with its endpoint
        return [other._target.epoch, yr.get(other.inc.invoke(), timeout=60)]
"""

# The SDK's side, over plain TCP or TLS alike: a Target that holds a stale epoch for the
# worker's endpoint is refused, re-resolves and its calls run once on the right placement.
SDK_STALE = """
def stale_caller(a, rt, info, epoch):
    rt._channels.pop(info.endpoint, None)          # a connection of its own, as another process would make
    t = _calls.Target(rt, info.instance_id, "Counter")
    t.connect(info.endpoint, epoch)
    refused = t.channel
    return _decorators.InstanceProxy(t, a._methods, a._shapes), t, refused

def check_stale_callers(a, rt, iid, before):
    info = rt.master.get_instance(instance_id=iid)
    n = before
    for epoch in [e for e in (info.epoch - 1, info.epoch + 5) if e > 0]:   # older (0: unchecked) and newer
        proxy, t, refused = stale_caller(a, rt, info, epoch)
        got = [yr.get(proxy.inc.invoke(), timeout=60) for _ in range(3)]
        assert got == [n + 1, n + 2, n + 3], (epoch, got)   # refused calls ran once, in order, after
        n += 3
        side = "an older" if epoch < info.epoch else "a newer"
        assert (f"stale epoch: instance {iid} was reached with epoch {epoch}, {side} placement than "
                f"this worker's epoch {info.epoch}; connection refused") == refused.refused, refused.refused
        assert t.epoch == info.epoch and t.endpoint == info.endpoint
    print("SDK-STALE-OK", info.epoch)
    return n
"""

PLAIN = PIN + SDK_STALE + """
yr.init()
rt = _context.current()
a = Counter.options(on("far")).invoke()
assert yr.get(a.inc.invoke(), timeout=60) == 1
iid = a._target.instance_id
info = rt.master.get_instance(instance_id=iid)
assert info.epoch == 1 and info.endpoint.startswith("tcp:"), info

def raw(endpoint, epoch):
    # the preamble, then a call frame pipelined behind it: the refusal comes and then the close
    where = address.parse(endpoint)
    with socket.create_connection((where.where, where.port), timeout=60) as s:
        s.sendall(frames.encode(preamble.encode(rt.token, preamble.CALLER, where.target, epoch))
                  + b"\\x09\\x00\\x00\\x00C" + b"\\x01" * 8)
        got = b""
        while True:
            part = s.recv(4096)
            if not part:
                return got
            got += part

body = raw(info.endpoint, 2)
assert body == preamble.refusal(iid, 2, 1), body
assert b"instance " + iid.encode() + b" was reached with epoch 2, a newer placement than this worker's epoch 1" in body
assert yr.get(a.inc.invoke(), timeout=60) == 2       # the worker served nothing of it and serves on
print("NEWER-REFUSED")

os.kill(info.pid, signal.SIGKILL)                    # a restart: the second placement
assert yr.get(a.inc.invoke(), timeout=120) == 1      # no saved state: it starts over
new = rt.master.get_instance(instance_id=iid)
assert new.epoch == 2 and new.endpoint != info.endpoint, new
assert a._target.epoch == 2                           # the SDK follows the restart's epoch
assert [yr.get(a.inc.invoke(), timeout=60) for _ in range(3)] == [2, 3, 4]
print("AFTER-RESTART-OK")
b = Counter.invoke()
assert yr.get(b.through.invoke(a), timeout=120) == [2, 5]
print("HANDLE-EPOCH-OK")
body = raw(new.endpoint, 1)
assert body == preamble.refusal(iid, 1, 2) and b"epoch 1, an older placement than this worker's epoch 2" in body, body
print("OLDER-REFUSED")
n = check_stale_callers(a, rt, iid, 5)
assert yr.get(a.inc.invoke(), timeout=60) == n + 1   # the handle's own connection was never disturbed
a.terminate()
b.terminate()
yr.finalize()
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from master_and_far(tmp_path_factory, "epochs")


def test_stale_epochs_are_refused_at_the_preamble_and_callers_re_resolve(cluster):
    res = run_script(PLAIN, env=cluster, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    for mark in ("NEWER-REFUSED", "AFTER-RESTART-OK", "HANDLE-EPOCH-OK", "OLDER-REFUSED", "SDK-STALE-OK 2"):
        assert mark in res.stdout, (mark, res.stdout)
