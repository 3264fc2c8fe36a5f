"""`yr.Group` and `yr.GroupOptions`: openYuanrong's gang of instances that start together or
not at all (docs/groups.md, "Groups of instances").

    g = yr.Group("train", yr.GroupOptions(timeout=60))
    a = Worker.options(yr.InvokeOptions(group_name="train")).invoke()   # not created yet
    b = Worker.options(yr.InvokeOptions(group_name="train")).invoke()
    g.invoke()      # reserves one bundle per instance (all or none), then creates them
    g.wait()        # until all are created, or the group failed (raises why)
    g.terminate()   # ends them all

How: `InstanceCreator.invoke` with `group_name` calls `enlist`, which keeps the instance's
spec and returns its Target at once (calls on it queue, as on any instance being created).
`Group.invoke` reserves a resource group of one bundle per instance (its resources) with
the group's strategy (the master places it all or none), then creates each instance into
its bundle, from one thread per group. Any failure (no room, `timeout` passed, a refused
create) rolls the whole group back: created instances are terminated, the reservation is
given back, and every instance's calls fail with the error.
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

from . import _context, _instances
from .config import GroupOptions
from .exceptions import (InstanceDiedError, YRError, YRRuntimeError, YRTimeoutError, YRTypeError,
                         YRValueError)

__all__ = ["Group", "GroupOptions"]

MAX_INSTANCES = 256           # openYuanrong: a group holds at most 256 instances
STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")
_open: dict = {}              # group name -> Group, from construction until terminate
_open_lock = threading.Lock()


def _rpc():
    """gRPC loads on first use (`import yr` loads none)."""
    from . import _groups
    return _groups


@dataclass(init=True, repr=False, eq=False, order=False, unsafe_hash=False)
class Group:
    """Instances created with `InvokeOptions(group_name=<this name>)` after this Group was made
    are created together by `invoke()`, or none is (fate sharing). The name is unique among
    this process's groups not yet terminated."""
    group_name: str = ""
    group_opts: GroupOptions = None

    def __post_init__(self):
        if not isinstance(self.group_name, str):
            raise YRTypeError(f"group_name must be a str, got {type(self.group_name).__name__}")
        if not self.group_name:
            raise YRValueError("group_name must not be empty (InvokeOptions.group_name names the group)")
        if self.group_opts is None:
            self.group_opts = GroupOptions()
        if not isinstance(self.group_opts, GroupOptions):
            raise YRTypeError(f"group_opts must be a yr.GroupOptions, got {type(self.group_opts).__name__}")
        self._lock = threading.Lock()
        self._members: list = []      # [(spec, target)] in creation order
        self._state = "open"          # open -> invoked -> terminated
        self._rg_name = ""
        self._rt = None               # the runtime context of invoke()
        self._done = threading.Event()   # set once every instance is created, or the group failed
        self._error: BaseException | None = None
        self._owner = _context._rt    # the runtime context it was made in (None before yr.init)
        with _open_lock:
            old = _open.get(self.group_name)
            if old is not None and old._owner is self._owner:   # one of an ended context is forgotten
                raise YRValueError(f"a yr.Group named {self.group_name!r} exists already (terminate it first)")
            _open[self.group_name] = self

    # ---- openYuanrong's API ---------------------------------------------------------------
    def invoke(self) -> None:
        """Creates the group's instances together, asynchronously: all of them, or none.

        Raises:
            YRRuntimeError: invoked twice or after terminate; a timeout < 0 other than -1.
            YRValueError: the group has no instances; an unknown strategy.
        Errors of the creation itself (no room, `timeout` passed) come from `wait()` and from
        the calls on the group's instances."""
        opts = _check_options(self.group_opts)
        with self._lock:
            if self._state != "open":
                raise YRRuntimeError(f"group {self.group_name!r} was already invoked; create a new yr.Group")
            if not self._members:
                raise YRValueError(f"group {self.group_name!r} has no instances: create them with "
                                   f"InvokeOptions(group_name={self.group_name!r}) before invoke()")
            self._state = "invoked"
            rt = self._rt = _context.current()
            self._rg_name = f"group-{self.group_name}-{uuid.uuid4().hex[:8]}"
            bundles = [_bundle(spec) for spec, _ in self._members]
            fut = _rpc().create_group_async(rt.master, self._rg_name, bundles, opts.strategy or "PACK", rt.job_id)
        threading.Thread(target=self._start, args=(rt, fut, opts.timeout), name="yr-group", daemon=True).start()

    def wait(self) -> None:
        """Waits until every instance of the group is created. Raises YRRuntimeError if
        `invoke()` was not called, and the group's error if it failed (YRTimeoutError when
        `GroupOptions.timeout` passed, ResourceUnavailableError when it can never fit)."""
        if self._state == "open":
            raise YRRuntimeError(f"group {self.group_name!r}: wait() before invoke()")
        timeout = self.group_opts.timeout
        bound = (_rpc().GROUP_WAIT if timeout == -1 else timeout) + _create_bound(self._members)
        if not self._done.wait(bound):   # the start thread bounds both steps; this is a backstop
            raise YRTimeoutError(f"group {self.group_name!r} was not created within {bound:.0f}s")
        if self._error is not None:
            raise self._error

    def terminate(self) -> None:
        """Terminates every instance of the group and gives its reservation back. Raises
        YRRuntimeError if the group was not invoked or is terminated already."""
        with self._lock:
            if self._state != "invoked":
                raise YRRuntimeError(f"group {self.group_name!r} cannot be terminated: "
                                     f"{'it was not invoked' if self._state == 'open' else 'it is terminated already'}")
            self._state = "terminated"
            if not self._done.is_set() and self._error is None:   # wait() does not wait for a creation that stopped
                self._error = YRRuntimeError(f"group {self.group_name!r} was terminated before its instances "
                                             "were all created")
        self._done.set()
        with _open_lock:
            if _open.get(self.group_name) is self:
                del _open[self.group_name]
        self._teardown(None)

    def suspend(self) -> None:
        raise YRRuntimeError("Group.suspend is not supported: yr does not checkpoint whole groups "
                             "(InstanceProxy.snapshot saves one instance's state)")

    def resume(self) -> None:
        raise YRRuntimeError("Group.resume is not supported: yr does not checkpoint whole groups "
                             "(yr.restore_from_checkpoint restores one instance)")

    # ---- the start thread -----------------------------------------------------------------
    def _start(self, rt, fut, timeout: int) -> None:
        try:
            _rpc().result(fut, None if timeout == -1 else timeout, f"create group {self.group_name!r}")
        except TimeoutError:
            self._fail(YRTimeoutError(f"group {self.group_name!r} was not scheduled within {timeout}s "
                                      "(GroupOptions.timeout): none of its instances was created"))
            return
        except YRError as e:
            self._fail(e)
            return
        answers, lock = [len(self._members)], threading.Lock()

        def answered(_target, error):
            if error is not None:
                self._fail(YRRuntimeError(f"group {self.group_name!r} was rolled back: one of its instances "
                                          f"could not be created: {error}"))
            with lock:
                answers[0] -= 1
                last = answers[0] == 0
            if last:
                self._done.set()
        with self._lock:
            if self._state != "invoked":   # terminated while the reservation was made: give it back
                _rpc().remove_group_async(rt.master, self._rg_name)
                return
            for i, (spec, target) in enumerate(self._members):
                spec.resource_group, spec.bundle_index = self._rg_name, i
                if self.group_opts.same_lifecycle:
                    target.on_lost = self._member_lost
                _instances.create(rt, spec, on_answer=answered)

    def _member_lost(self, target, ch, calls: list) -> None:
        """same_lifecycle: an instance whose worker went away takes the group with it."""
        err = InstanceDiedError(f"{target.label} of group {self.group_name!r} went away; the group's instances "
                                "share its fate (GroupOptions.same_lifecycle)")
        for c in calls:
            c.slot.set_error(err)
        target.fail(err)
        with self._lock:
            if self._state != "invoked":
                return
            self._state = "terminated"
        with _open_lock:
            if _open.get(self.group_name) is self:
                del _open[self.group_name]
        self._teardown(err)

    def _fail(self, err: BaseException) -> None:
        """Rolls the group back (once) and records why."""
        with self._lock:
            if self._error is not None:
                return
            self._error = err
        with _open_lock:
            if _open.get(self.group_name) is self:
                del _open[self.group_name]   # the name may be used again
        self._teardown(err)
        self._done.set()

    def _teardown(self, err: BaseException | None) -> None:
        rt = self._rt
        for _, target in self._members:
            target.on_lost = None
            if err is None:
                _instances.terminate(rt, target)
                continue
            target.fail(err)   # its calls raise the group's error, not "terminated"
            _instances.registry(rt).created.pop(target.instance_id, None)
            try:
                _instances.registry(rt).pending.append(rt.master.terminate(target.instance_id))
            except YRError:
                pass
        try:
            _rpc().remove_group_async(rt.master, self._rg_name)
        except YRError:   # the runtime is gone (finalize): so is the group
            pass


def enlist(rt, spec, opts):
    """The Target of an instance of group `opts.group_name`, created when the group is
    invoked (InstanceCreator.invoke calls this instead of `_instances.create`)."""
    name = opts.group_name
    with _open_lock:
        group = _open.get(name)
    if group is None:
        raise YRValueError(f"there is no yr.Group named {name!r}: make yr.Group({name!r}, yr.GroupOptions()) "
                           "before creating its instances")
    if opts.detached:
        raise YRValueError("instances of a yr.Group cannot be detached (they share the group's lifecycle)")
    if opts.name:
        raise YRValueError("instances of a yr.Group cannot be named in yr (InvokeOptions.name with group_name)")
    with group._lock:
        if group._state != "open":
            raise YRValueError(f"group {name!r} was already invoked: its instances are fixed (make a new yr.Group)")
        if len(group._members) >= MAX_INSTANCES:
            raise YRValueError(f"group {name!r} holds at most {MAX_INSTANCES} instances")
        target = rt.target(spec.instance_id, spec.class_name)
        group._members.append((spec, target))
    _instances.registry(rt).created[target.instance_id] = target   # finalize ends it like any instance
    return target


def _check_options(opts: GroupOptions) -> GroupOptions:
    timeout, same, strategy = opts.timeout, opts.same_lifecycle, opts.strategy
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise YRTypeError(f"GroupOptions.timeout must be an int (seconds), got {type(timeout).__name__}")
    if timeout < 0 and timeout != -1:
        raise YRRuntimeError(f"Invalid parameter, timeout: {timeout}, expect -1 or > 0")
    if not isinstance(same, bool):
        raise YRTypeError(f"GroupOptions.same_lifecycle must be a bool, got {type(same).__name__}")
    if strategy is None:
        strategy = opts.strategy = ""
    if not isinstance(strategy, str):
        raise YRTypeError(f"GroupOptions.strategy must be a str, got {type(strategy).__name__}")
    if strategy and strategy not in STRATEGIES:
        raise YRValueError(f"invalid GroupOptions.strategy {strategy!r}: expected '' or one of {', '.join(STRATEGIES)}")
    return opts


def _bundle(spec) -> dict:
    r = spec.resources
    return {"CPU": r.cpu_millis, "Memory": r.memory_mib, **dict(r.custom)}


def _create_bound(members: list) -> float:
    """Seconds the creates may take once reserved (each is bounded by its schedule timeout)."""
    ms = [spec.schedule_timeout_ms for spec, _ in members]
    return 60.0 + (max(ms) / 1000 if ms and min(ms) >= 0 else _rpc().GROUP_WAIT)
