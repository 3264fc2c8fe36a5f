"""C++ templates: a forking template of each C++ executable a job uses on a node.

A C++ worker used to be the user's program started again per instance: an exec, the
dynamic linker, an embedded interpreter and the SDK's imports, ~90 ms before the instance
could run. Now the first worker a job needs from an executable starts the program once as a
*template* (`processes.Zygote(executable)`): the template runs no instance's code; it forks
a child per worker, which starts with all that done.

Rules:
- One template per (job, code identity). Identity is the file, not only its path: a program
  rebuilt in place (new inode, size or mtime) gets a new template, so no instance runs stale
  code; an older version's template is stopped once it has no children.
- A template ends with its job: when the job ends it is stopped as soon as it has no live
  children (a detached instance keeps it until that instance ends). It ends with the agent
  (`stop`) and dies with it (PR_SET_PDEATHSIG) if the agent crashes; its children die with it.
- Each live template keeps WARM forked workers warm (connected to the agent, no instance yet),
  so a create is answered at once, as from the Python warm pool; it is made after the
  first create from the template and after each create that took one, and stopped when
  the job ends.
- A template that dies while asked to fork (a program that exits or crashes before
  YR::Init) is not tried again for that version: the agent starts the program directly,
  whose exit then says what went wrong, as before templates.
"""
from __future__ import annotations

import asyncio
import logging
import os

from . import processes

log = logging.getLogger("yr.templates")
WARM = 2   # forked workers kept ready per template: one is refilled while the next create comes


def identity(executable: str) -> tuple:
    """What makes two starts of `executable` the same code: path and file version."""
    st = os.stat(executable)
    return (os.path.realpath(executable), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class CppTemplates:
    """The templates of one node, by (job, code identity)."""

    def __init__(self):
        self._live: dict[tuple, processes.Zygote] = {}
        self._failed: set[tuple] = set()    # identities whose template died: started directly
        self._ended_jobs: set[str] = set()  # their templates stop once childless
        self._tasks: set[asyncio.Task] = set()
        self._starting: dict[tuple, asyncio.Lock] = {}   # creates at once wait for one template start
        self._warm: dict[tuple, list] = {}      # (job, identity) -> idle forked workers (agent's WorkerProc)
        self._warming: dict[tuple, int] = {}    # (job, identity) -> warm workers being made

    async def template(self, executable: str, job_id: str) -> processes.Zygote | None:
        """A live template of `executable` for `job_id`, started if needed; None when none
        can run (the caller then starts the program directly)."""
        try:
            ident = identity(executable)
        except OSError:
            return None
        if ident in self._failed:
            return None
        key = (job_id, ident)
        zyg = self._live.get(key)
        if zyg is not None and zyg.alive:
            return zyg
        lock = self._starting.setdefault(key, asyncio.Lock())
        async with lock:
            try:
                return await self._start(executable, key)
            finally:
                self._starting.pop(key, None)

    async def _start(self, executable: str, key: tuple) -> processes.Zygote | None:
        zyg = self._live.get(key)
        if zyg is not None and zyg.alive:   # started by a create that came at the same time
            return zyg
        self._forget_dead_and_stale(key[0], key[1][0])
        zyg = processes.Zygote(executable)
        zyg.on_child_exit = lambda k=key: self._maybe_stop(k)
        try:
            await zyg.start()
        except OSError as e:
            log.error("could not start a template of %s: %s", executable, e)
            return None
        self._live[key] = zyg
        return zyg

    # ---- warm workers (the agent makes them; they are kept here) ----------------------------
    def _key(self, executable: str, job_id: str) -> tuple | None:
        try:
            return (job_id, identity(executable))
        except OSError:
            return None

    def take_warm(self, executable: str, job_id: str):
        """An idle warm worker of this program for this job, or None."""
        idle = self._warm.get(self._key(executable, job_id)) or []
        while idle:
            w = idle.pop()
            if not w.stopping and not w.gone.done():
                return w
        return None

    def reserve_warm(self, executable: str, job_id: str) -> tuple | None:
        """The key under which to make a warm worker, or None when none is wanted (one is
        there or being made, the job ended, the program has no working template)."""
        key = self._key(executable, job_id)
        if key is None or job_id in self._ended_jobs or key[1] in self._failed:
            return None
        zyg = self._live.get(key)
        ready = sum(1 for w in self._warm.get(key, ()) if not w.gone.done())
        if zyg is None or not zyg.alive or ready + self._warming.get(key, 0) >= WARM:
            return None
        self._warming[key] = self._warming.get(key, 0) + 1
        return key

    def add_warm(self, key: tuple, w) -> bool:
        """Keeps `w` (made under reserve_warm's key) warm; False when it is no longer wanted."""
        self._warming[key] -= 1
        if not self._warming[key]:
            del self._warming[key]
        if w is None or key[0] in self._ended_jobs:
            return False
        self._warm.setdefault(key, []).append(w)
        return True

    def failed(self, executable: str, zyg: processes.Zygote) -> None:
        """The template of `executable` died while asked to fork: none for this version again
        (unless it was stopped on purpose: its job ended while the fork was on its way)."""
        if zyg.stopped:
            return
        try:
            self._failed.add(identity(executable))
        except OSError:
            pass

    def job_ended(self, job_id: str) -> list:
        """Stops the job's childless templates (the others once childless); returns its warm
        workers, for the agent to stop."""
        self._ended_jobs.add(job_id)
        warm = [w for key in [k for k in self._warm if k[0] == job_id] for w in self._warm.pop(key)]
        for key in [k for k in self._live if k[0] == job_id]:
            self._maybe_stop(key)
        return warm

    def _maybe_stop(self, key: tuple) -> None:
        zyg = self._live.get(key)
        if zyg is None or zyg.busy or not (key[0] in self._ended_jobs or not zyg.alive):
            return
        del self._live[key]
        self._stop_later(zyg)

    def _forget_dead_and_stale(self, job_id: str, path: str) -> None:
        """Forgets dead templates; stops childless ones of older versions of `path`."""
        for key, zyg in list(self._live.items()):
            if not zyg.alive or (key[0] == job_id and key[1][0] == path and not zyg.busy):
                del self._live[key]
                self._stop_later(zyg)

    def _stop_later(self, zyg: processes.Zygote) -> None:
        task = asyncio.get_running_loop().create_task(zyg.stop())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for zyg in list(self._live.values()):
            await zyg.stop()
        self._live.clear()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
