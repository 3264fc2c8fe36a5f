"""Resource groups: bundles of resources reserved on nodes, all or nothing (pure, no I/O).

Rules it keeps (openYuanrong's `create_resource_group`; docs/groups.md):
- A group is a list of bundles (Resources). It is reserved atomically: either every bundle
  gets a node and leaves that node's available resources, or none does and nothing changes.
- The strategy decides the nodes. PACK: all bundles on one node if one has room, else as few
  nodes as first-fit (largest bundle first) gives. SPREAD: each bundle on the node holding
  fewest of this group's bundles (then most free). STRICT_PACK: all on one node, or fail.
  STRICT_SPREAD: every bundle on a different node, or fail. (Greedy, not an optimal packing.)
- A group that could not be placed even on empty nodes (the nodes' totals) fails at once,
  naming the resource or the strategy; one that fits the totals but not what is free now is
  PENDING and is tried again whenever the cluster schedules, until its deadline (FAILED).
- Names are unique among live groups; "primary" and "" are refused (openYuanrong).
- An instance with resource_group_options goes into a bundle of a CREATED group: the one
  its index names, or (index -1) the first with room. It takes the bundle's free resources,
  never the node's, and gives them back to the bundle when it dies. A request larger than
  the bundle's (every bundle's, for -1) total, an index out of range or a group that does
  not exist fails at once; one that waits for a busy bundle or a PENDING group waits up to
  its schedule timeout like any create.
- Removing a group (or the end of the job that created it) first kills its instances, then
  gives every bundle's reservation back to its node, exactly once.
- A bundle whose node is lost is unplaced (its instances move or die as any on that node);
  it is reserved again, on its own, on a node with room the next time the cluster schedules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from yr_runtime.wire.errors import ErrorCode

from .resources import Resources

PENDING, CREATED, FAILED = "PENDING", "CREATED", "FAILED"
PACK, SPREAD, STRICT_PACK, STRICT_SPREAD = "PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"
STRATEGIES = (PACK, SPREAD, STRICT_PACK, STRICT_SPREAD)
RESERVED_NAMES = ("", "primary")


class GroupError(Exception):
    """Why a group or a placement into it is refused; `kind` is the ErrorCode the caller sees."""

    def __init__(self, kind: ErrorCode, message: str):
        super().__init__(message)
        self.kind = ErrorCode(kind)


@dataclass
class Bundle:
    index: int
    want: Resources                 # what it reserves
    node_id: str = ""               # "" while unplaced
    available: Resources = field(default_factory=Resources)   # what its instances have not taken


@dataclass
class Group:
    name: str
    job_id: str
    strategy: str
    bundles: list
    state: str = PENDING
    deadline: float | None = None
    error: str = ""
    waiters: list = field(default_factory=list)   # answered when CREATED or FAILED


class Groups:
    """The cluster's resource groups and which bundle each grouped instance took."""

    def __init__(self):
        self.groups: dict[str, Group] = {}
        self.placed: dict[str, Bundle] = {}      # instance id -> the bundle it took

    # ---- groups --------------------------------------------------------------------------
    def create(self, name: str, job_id: str, bundles: list, strategy: str, nodes: dict,
               deadline: float | None) -> Group:
        """Registers the group and reserves it now if it fits; GroupError if it never can."""
        strategy = strategy or PACK
        if name in RESERVED_NAMES:
            raise GroupError(ErrorCode.ERR_PARAM_INVALID, f"invalid resource group name {name!r}: "
                                                          "it must not be empty or 'primary'")
        if strategy not in STRATEGIES:
            raise GroupError(ErrorCode.ERR_PARAM_INVALID, f"invalid resource group strategy {strategy!r} "
                                                          f"(expected one of {', '.join(STRATEGIES)})")
        if name in self.groups:
            raise GroupError(ErrorCode.ERR_PARAM_INVALID, f"resource group {name!r} already exists")
        if not bundles:
            raise GroupError(ErrorCode.ERR_PARAM_INVALID, "a resource group needs at least one bundle")
        wants = list(bundles)
        never = _plan(wants, strategy, {n.id: n.total for n in nodes.values()})
        if isinstance(never, str):
            raise GroupError(ErrorCode.ERR_RESOURCE_NOT_ENOUGH, f"resource group {name!r} can never be "
                                                                f"reserved: {never}")
        group = Group(name, job_id, strategy, [Bundle(i, w) for i, w in enumerate(wants)], deadline=deadline)
        self.groups[name] = group
        self._try(group, nodes)
        return group

    def retry(self, nodes: dict) -> list:
        """Tries PENDING groups (oldest first) and unplaced bundles of CREATED ones; returns
        the groups that became CREATED (their waiters are to be answered)."""
        done = []
        for group in self.groups.values():
            if group.state == PENDING and self._try(group, nodes):
                done.append(group)
            elif group.state == CREATED:
                for b in group.bundles:
                    if not b.node_id:
                        _reserve_one(b, nodes)
        return done

    def expire(self, now: float) -> list:
        """PENDING groups past their deadline become FAILED (and are forgotten); returns them."""
        late = [g for g in self.groups.values()
                if g.state == PENDING and g.deadline is not None and now >= g.deadline]
        for g in late:
            g.state = FAILED
            g.error = (f"resource group {g.name!r} timed out waiting for free resources "
                       f"({', '.join(describe(b.want) for b in g.bundles)})")
            del self.groups[g.name]
        return late

    def remove(self, name: str, nodes: dict) -> Group | None:
        """Forgets the group and gives its reservations back to their nodes. The caller kills
        its instances first (they return what they took to the bundles, then this returns
        the bundles whole)."""
        group = self.groups.pop(name, None)
        if group is None:
            return None
        for b in group.bundles:
            if b.node_id in nodes:
                nodes[b.node_id].available = nodes[b.node_id].available + b.want
            b.node_id = ""
        if group.state == PENDING:
            group.state, group.error = FAILED, f"resource group {name!r} was removed before it was reserved"
        return group

    def instances_of(self, name: str) -> list:
        return [iid for iid, b in self.placed.items() if self._group_of(b) == name]

    def node_lost(self, node_id: str) -> None:
        """The bundles on a lost node are unplaced (their books went with the node)."""
        for group in self.groups.values():
            for b in group.bundles:
                if b.node_id == node_id:
                    b.node_id, b.available = "", b.want
        for iid in [iid for iid, b in self.placed.items() if not b.node_id]:
            del self.placed[iid]

    # ---- instances ---------------------------------------------------------------------------
    def check(self, resources: Resources, name: str, index: int) -> None:
        """Refuses at once what can never go into the group's bundle (GroupError)."""
        group = self.groups.get(name)
        if group is None:
            raise GroupError(ErrorCode.ERR_PARAM_INVALID, f"there is no resource group named {name!r}")
        if not -1 <= index < len(group.bundles):
            raise GroupError(ErrorCode.ERR_PARAM_INVALID,
                             f"bundle_index {index} is out of range for resource group {name!r} "
                             f"({len(group.bundles)} bundles: -1 or 0..{len(group.bundles) - 1})")
        candidates = group.bundles if index == -1 else [group.bundles[index]]
        reasons = [resources.shortfall(b.want) for b in candidates]
        if all(reasons):
            where = "any bundle" if index == -1 else f"bundle {index}"
            raise GroupError(ErrorCode.ERR_RESOURCE_NOT_ENOUGH,
                             f"it does not fit in {where} of resource group {name!r}: "
                             + reasons[0].replace("the node has", "the bundle has"))

    def choose(self, resources: Resources, name: str, index: int) -> Bundle | None:
        """The placed bundle of a CREATED group with room for `resources` now, or None."""
        group = self.groups.get(name)
        if group is None or group.state != CREATED:
            return None
        candidates = group.bundles if index == -1 else group.bundles[index:index + 1]
        return next((b for b in candidates if b.node_id and resources.fits_in(b.available)), None)

    def take(self, instance_id: str, bundle: Bundle, resources: Resources) -> None:
        bundle.available = bundle.available - resources
        self.placed[instance_id] = bundle

    def give_back(self, instance_id: str, resources: Resources) -> bool:
        """Returns what a dead instance took to its bundle; False if it was in none."""
        bundle = self.placed.pop(instance_id, None)
        if bundle is None:
            return False
        bundle.available = bundle.available + resources
        return True

    # ---- internals ---------------------------------------------------------------------------
    def _try(self, group: Group, nodes: dict) -> bool:
        plan = _plan([b.want for b in group.bundles], group.strategy, {n.id: n.available for n in nodes.values()})
        if isinstance(plan, str):
            return False
        for b, node_id in zip(group.bundles, plan):
            b.node_id, b.available = node_id, b.want
            nodes[node_id].available = nodes[node_id].available - b.want
        group.state = CREATED
        return True

    def _group_of(self, bundle: Bundle) -> str:
        return next((g.name for g in self.groups.values() if any(b is bundle for b in g.bundles)), "")


def _reserve_one(bundle: Bundle, nodes: dict) -> None:
    fitting = [n for n in nodes.values() if bundle.want.fits_in(n.available)]
    if fitting:
        node = max(fitting, key=lambda n: (n.available.cpu, n.available.memory))
        bundle.node_id, bundle.available = node.id, bundle.want
        node.available = node.available - bundle.want


def _plan(wants: list, strategy: str, free: dict) -> list | str:
    """A node id per bundle within `free` (node id -> Resources), or why there is none."""
    if not free:
        return "there are no nodes"
    if strategy in (PACK, STRICT_PACK):
        total = sum(wants, Resources())
        whole = [nid for nid, room in free.items() if total.fits_in(room)]
        if whole:
            best = max(whole, key=lambda nid: (free[nid].cpu, free[nid].memory))
            return [best] * len(wants)
        if strategy == STRICT_PACK:
            return f"STRICT_PACK needs one node with {describe(total)}; " + _biggest(free)
    if strategy == STRICT_SPREAD and len(wants) > len(free):
        return f"STRICT_SPREAD needs {len(wants)} nodes, there are {len(free)}"
    return _greedy(wants, strategy, dict(free))


def _greedy(wants: list, strategy: str, room: dict) -> list | str:
    """Largest bundle first; PACK: the first node with room (most used first), SPREAD: the node
    holding fewest of the group's bundles; STRICT_SPREAD: only nodes holding none."""
    order = sorted(range(len(wants)), key=lambda i: (-wants[i].cpu, -wants[i].memory))
    count = {nid: 0 for nid in room}
    plan = [""] * len(wants)
    for i in order:
        fitting = [nid for nid in room if wants[i].fits_in(room[nid])
                   and not (strategy == STRICT_SPREAD and count[nid])]
        if not fitting:
            beside = " beside the larger bundles" if any(plan) else ""
            return f"bundle {i} ({describe(wants[i])}) does not fit{beside}: " + _biggest(room, "left" if beside else "")
        if strategy in (PACK, STRICT_PACK):
            nid = max(fitting, key=lambda n: (count[n], -room[n].cpu))
        else:
            nid = min(fitting, key=lambda n: (count[n], -room[n].cpu, -room[n].memory))
        plan[i], count[nid] = nid, count[nid] + 1
        room[nid] = room[nid] - wants[i]
    return plan


def _biggest(room: dict, left: str = "") -> str:
    shown = "; ".join(f"{nid} has {describe(r)}{' ' + left if left else ''}" for nid, r in list(room.items())[:8])
    return f"nodes: {shown}"


def describe(r: Resources) -> str:
    extra = "".join(f", {k}={v:g}" for k, v in sorted(r.custom.items()))
    return f"cpu={r.cpu}m, memory={r.memory}MiB{extra}"


def bundles_from(specs: Iterable[dict]) -> list:
    """openYuanrong bundles ({"CPU": millicores, "Memory": MiB, other: amount}) as Resources:
    CPU/Memory missing or 0 become 300/128; other resources at 0 are dropped; a negative
    amount, an empty name or a non-number is a GroupError naming it."""
    out = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise GroupError(ErrorCode.ERR_PARAM_INVALID, f"bundle {i} must be a dict of resource name -> amount")
        custom = {}
        for k, v in spec.items():
            if not isinstance(k, str) or not k:
                raise GroupError(ErrorCode.ERR_PARAM_INVALID, f"bundle {i}: resource names must be non-empty strings")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v < 0:
                raise GroupError(ErrorCode.ERR_PARAM_INVALID,
                                 f"bundle {i}: resource {k!r} must be a number >= 0, got {v!r}")
            if k not in ("CPU", "Memory") and v > 0:
                custom[k] = float(v)
        out.append(Resources(int(spec.get("CPU") or 300), int(spec.get("Memory") or 128), custom))
    return out
