"""The warm pool's rules (runtime/yr_runtime/node/warm.py), without processes."""
from dataclasses import dataclass

from yr_runtime.node import warm


@dataclass(eq=False)
class W:
    prepared: str = ""


def test_a_create_takes_a_worker_prepared_for_its_environment_first():
    plain, mine, other = W(), W("env-a"), W("env-b")
    assert warm.pick([plain, other, mine], "python", "env-a") is mine
    assert warm.pick([other, plain], "python", "env-a") is plain


def test_a_worker_prepared_for_another_environment_is_never_taken():
    assert warm.pick([W("env-b"), W("env-b")], "python", "env-a") is None
    assert warm.pick([W("env-b")], "java", "") is None


def test_cpp_creates_take_no_warm_worker():
    assert warm.pick([W(), W("env-a")], "cpp", "env-a") is None


def test_all_idle_workers_but_one_are_prepared_and_a_pool_of_one_stays_plain():
    idle = [W(), W(), W()]
    assert warm.to_prepare(idle, "env-a") == idle[:2]
    assert warm.to_prepare([W()], "env-a") == []
    assert warm.to_prepare([W(), W()], "") == []   # no Python create yet


def test_workers_prepared_for_an_older_environment_are_stale():
    old, new, plain = W("env-a"), W("env-b"), W()
    assert warm.stale([old, new, plain], "env-b") == [old]


def test_only_python_creates_with_an_environment_set_it():
    assert warm.preparable("python", "{}")
    assert not warm.preparable("cpp", "{}") and not warm.preparable("python", "")


def test_a_longer_preload_list_is_the_same_environment():
    # the driver adds a module to "preload" the first time it ships something from it:
    # workers prepared before are still right for it (and not stopped as stale)
    before = '{"sys_path": ["/p"], "cwd": "/w", "env_vars": {}, "preload": ["a"]}'
    after = '{"sys_path": ["/p"], "cwd": "/w", "env_vars": {}, "preload": ["a", "b"]}'
    other = '{"sys_path": ["/q"], "cwd": "/w", "env_vars": {}, "preload": ["a", "b"]}'
    prepared = W(before)
    assert warm.pick([W(), prepared], "python", after) is prepared
    assert warm.stale([prepared], after) == []
    assert warm.stale([prepared], other) == [prepared]
    assert warm.pick([prepared], "python", other) is None
