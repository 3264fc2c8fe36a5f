"""Which idle warm worker takes a create, and which are prepared ahead (no I/O here).

A Python create spends most of its time in the worker before the constructor runs: taking
the driver's environment (import path, working directory, env vars) and importing the
module its class comes from. An idle worker can do that ahead, when told the environment
of the latest create (`driver_env`, the Assign's JSON, which names those modules:
docs/architecture.md "Creation"). The rules:

- An idle worker is plain (`prepared == ""`) or prepared for exactly one environment.
- A create takes an idle worker prepared for its own environment first, else a plain one;
  never one prepared for another environment (its import path, modules and env vars are
  another driver's), and C++ creates take none (they run the user's own program).
- All idle workers but one are prepared for the environment of the latest Python create;
  one stays plain for other drivers (a pool of one stays plain). When that environment
  changes, workers prepared for the old one are stopped (the refill replaces them).
- "The same environment" ignores its "preload" list: the driver adds a module to it the
  first time it ships a class or function from that module, and a worker prepared with
  fewer modules is as right for the create (it imports the rest when it needs them).
  Comparing whole strings stopped the prepared workers at every new module, so the create
  that brought it found the pool short.
"""
from __future__ import annotations

import functools
import json


def preparable(language: str, driver_env: str) -> bool:
    """Whether a create of this kind sets the environment warm workers are prepared for."""
    return language == "python" and bool(driver_env)


@functools.lru_cache(maxsize=64)
def identity(driver_env: str) -> str:
    """What makes two environments the same for a prepared worker: all but "preload"."""
    try:
        env = json.loads(driver_env)
    except ValueError:
        return driver_env
    if not isinstance(env, dict):
        return driver_env
    env.pop("preload", None)
    return json.dumps(env, sort_keys=True)


def same(prepared: str, driver_env: str) -> bool:
    """Whether a worker prepared for `prepared` may take a create bringing `driver_env`."""
    return prepared == driver_env or identity(prepared) == identity(driver_env)


def pick(idle: list, language: str, driver_env: str):
    """The idle worker (anything with `.prepared`) a create takes, or None."""
    if language == "cpp":
        return None
    plain = None
    for w in idle:
        if w.prepared and same(w.prepared, driver_env):
            return w
        if plain is None and not w.prepared:
            plain = w
    return plain


def stale(idle: list, driver_env: str) -> list:
    """Idle workers prepared for an environment other than the latest one: to stop."""
    return [w for w in idle if w.prepared and not same(w.prepared, driver_env)]


def to_prepare(idle: list, driver_env: str) -> list:
    """Plain idle workers to prepare now for `driver_env`, keeping one plain."""
    if not driver_env:
        return []
    plain = [w for w in idle if not w.prepared]
    return plain[:max(len(plain) - 1, 0)]
