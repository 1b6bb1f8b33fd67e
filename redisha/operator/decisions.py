"""What to do about one RedisFailover, decided from an `Observation` (pure functions).

The operator reads (`observing`), decides here, then acts (`operator`); nothing here does
I/O or reads a clock, so every rule can be tested with records. The rules:

- **The primary is what the sentinels agree on**: the address more than half of the
  running sentinels answer to GET-MASTER-ADDR-BY-NAME. It is *healthy* when the pod with
  that address runs and says `role:master`. Labels follow that view only.
- **Rejoin**: with a healthy primary and no failover under way, every other reachable pod
  that is a primary itself or replicates anything else is pointed at it (REPLICAOF): at
  once when it waits for a primary or follows an address that is gone, after a grace
  period when it is a primary or follows another live pod (it may be the outcome of a
  failover the sentinels are still spreading).
- **Sentinels**: one that monitors nothing gets MONITOR; one that names another primary
  for longer than a grace period gets REMOVE + MONITOR + SET; settings that differ from the
  spec get SET; one that remembers replicas or sentinels that no longer exist gets RESET,
  one sentinel per `reset_interval`.
- **Bootstrap and repair** promote a pod themselves — the only times the operator does:
  at creation (no sentinels yet), and when the primary is lost and the sentinels cannot
  replace it (none of the replicas they know is alive, or they had down-after +
  failover-timeout to do it and did not). Either way
  the pod holding the most data wins (replication offset, then keys, then a current
  primary, then the lowest ordinal), and only once every pod of the set has answered, so
  an empty pod never wins over one with data.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from redisha.operator import manifests
from redisha.operator.observing import Observation, RedisPod, SentinelPod
from redisha.operator.reasons import EventReason, Phase
from redisha.operator.sentinels import Address
from redisha.operator.spec import FailoverSpec


@dataclass(frozen=True)
class Tuning:
    """How patient the operator is (the `OperatorSettings` decisions read)."""

    sentinel_fix_grace: float = 3.0
    """Seconds a sentinel may name another primary than the majority before it is
    re-pointed (a sentinel learns a failover's outcome from its peers within seconds)."""
    reset_grace: float = 5.0
    """Seconds a sentinel must remember a vanished replica or sentinel before a RESET."""
    reset_interval: float = 5.0
    """Seconds between two RESETs (of different sentinels): one at a time."""
    repair_grace: float = 1.0
    """Seconds added to down-after + failover-timeout before the operator repairs a lost
    primary on its own, when the sentinels did not say they cannot."""


@dataclass(frozen=True)
class Timing:
    """The clock and what the operator remembers, as decisions need them."""

    now: float
    first_seen: Mapping[str, float] = field(default_factory=dict)
    """When each condition of the previous plans (`Plan.conditions`) was first seen,
    continuously since."""
    last_reset: float = float("-inf")
    failover_pending: bool = False
    """The operator asked the sentinels for a failover that has not finished."""
    bootstrapping: bool = False
    """No primary has been agreed on since creation (the status still says Bootstrapping)."""

    def held(self, condition: str, seconds: float) -> bool:
        since = self.first_seen.get(condition)
        return since is not None and self.now - since >= seconds


class FixKind(str, enum.Enum):
    MONITOR = "monitor"
    """REMOVE (when it monitors something), MONITOR the primary, SET the spec's options."""
    SET = "set"
    RESET = "reset"


@dataclass(frozen=True)
class SentinelFix:
    sentinel: str
    ip: str
    kind: FixKind
    primary: Address | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    why: str = ""


@dataclass(frozen=True)
class Promotion:
    """The operator makes `primary` the primary and the rest its replicas."""

    primary: RedisPod
    replicas: tuple[RedisPod, ...]
    reason: EventReason
    why: str


@dataclass(frozen=True)
class Plan:
    phase: Phase
    agreed: Address | None
    """The sentinels' majority view, healthy or not."""
    primary: RedisPod | None
    """The pod at `agreed` when it runs as a primary."""
    labels: Mapping[str, str | None] = field(default_factory=dict)
    """Pod name → the `redisha.io/role` it must have (None: none); only changes."""
    rejoin: tuple[RedisPod, ...] = ()
    config: tuple[RedisPod, ...] = ()
    fixes: tuple[SentinelFix, ...] = ()
    promotion: Promotion | None = None
    conditions: frozenset[str] = frozenset()
    """Conditions true now that rules wait on (`Timing.first_seen`'s keys)."""
    message: str = ""
    """Why the phase is not Ready (empty when it is)."""


LOST = "lost"


def agreed_primary(sentinels: tuple[SentinelPod, ...]) -> Address | None:
    """The address more than half of the running sentinels name (GET-MASTER-ADDR-BY-NAME)."""
    running = [s for s in sentinels if s.running]
    votes = Counter(s.named for s in running if s.answered and s.named is not None)
    if not votes:
        return None
    address, count = votes.most_common(1)[0]
    return address if count * 2 > len(running) else None


def sentinels_busy(sentinels: tuple[SentinelPod, ...]) -> bool:
    """A sentinel reports a failover under way."""
    return any(s.master is not None and s.master.failover_in_progress for s in sentinels)


def choose_primary(pods: tuple[RedisPod, ...] | list[RedisPod]) -> RedisPod | None:
    """The pod holding the most data among those that answered."""
    candidates = [p for p in pods if p.info is not None and not p.terminating]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.info.offset, p.info.keys,  # type: ignore[union-attr]
                                          p.info.is_master, -p.ordinal))  # type: ignore[union-attr]


@dataclass(frozen=True)
class Handover:
    """What the fast path does before it asks the sentinels to replace a primary whose
    pod is going away (`plan_handover`)."""

    forbid: tuple[RedisPod, ...]
    """Replicas whose pods are terminating too: `replica-priority 0`, so the sentinels
    never promote a pod that is about to go (that would be a second failover)."""
    candidates: tuple[RedisPod, ...]
    """Replicas that can take over: live, not terminating, replicating the old primary.
    None: do not ask; the pods come back and the operator repairs (one change)."""
    behind: tuple[RedisPod, ...]
    """Candidates that have not yet reached the fenced primary's final offset: wait for
    them (a promoted replica that lacks a write another one acknowledged would make that
    one drop it on its full resync)."""


def plan_handover(primary_ip: str, pods: tuple[RedisPod, ...] | list[RedisPod],
                  final_offset: int | None = None) -> Handover:
    """Who is forbidden promotion, who can take over and who must catch up first, when
    the primary at `primary_ip` is going away. `pods` carry fresh answers (`info`);
    `final_offset` is the fenced primary's last `master_repl_offset` (None: it did not
    answer, so nobody can be waited for)."""
    others = [p for p in pods if p.ip and p.ip != primary_ip and p.running]
    forbid = tuple(p for p in others if p.terminating)
    candidates = tuple(p for p in others if not p.terminating and p.info is not None
                       and not p.info.is_master and p.info.primary is not None
                       and p.info.primary.ip == primary_ip)
    behind = () if final_offset is None else tuple(
        p for p in candidates if p.info is not None and p.info.link_up
        and p.info.replica_offset < final_offset)
    return Handover(forbid=forbid, candidates=candidates, behind=behind)


def is_healthy(pod: RedisPod | None) -> bool:
    return pod is not None and pod.running and pod.info is not None and pod.info.is_master


def _set_complete(obs: Observation, spec: FailoverSpec) -> list[RedisPod] | None:
    """Every pod of the set (ordinals below spec.replicas), when all answered; else None."""
    pods = [p for p in obs.redis if 0 <= p.ordinal < spec.redis.replicas and not p.terminating]
    if len(pods) < spec.redis.replicas or not all(p.reachable for p in pods):
        return None
    return pods


def plan_labels(obs: Observation, agreed: Address | None,
                primary: RedisPod | None) -> dict[str, str | None]:
    """Role labels from the sentinels' view: `primary` only on the agreed, healthy primary
    (or on the agreed one that does not answer, until the sentinels replace it);
    `replica` on pods replicating it (any replica while no primary is known). A replica
    still following a primary that is gone keeps the label it has: the sentinels are
    reconfiguring it, and taking it off to put it back a moment later would only churn
    the replicas Service in the middle of a failover."""
    if agreed is None:
        return {}
    live = {p.address for p in obs.redis if p.ip and not p.terminating}
    changes: dict[str, str | None] = {}
    for pod in obs.redis:
        if pod.terminating or not pod.ip:
            continue
        want: str | None
        if primary is not None and pod.name == primary.name:
            want = manifests.PRIMARY
        elif pod.info is None:
            if pod.role_label == manifests.PRIMARY:
                keep = primary is None and pod.ip == agreed.ip
                want = manifests.PRIMARY if keep else None
            else:
                want = pod.role_label
        elif pod.info.is_master or pod.info.waiting:
            want = None
        elif primary is not None:
            follows = pod.info.primary == primary.address
            reconfiguring = (pod.info.primary not in live
                             and pod.role_label == manifests.REPLICA)
            want = manifests.REPLICA if follows or reconfiguring else None
        else:
            want = manifests.REPLICA
        if want != pod.role_label:
            changes[pod.name] = want
    return changes


def plan_rejoins(obs: Observation, primary: RedisPod, timing: Timing, tuning: Tuning,
                 conditions: set[str]) -> tuple[RedisPod, ...]:
    """Reachable pods other than the primary that do not replicate it.

    A pod waiting for a primary (`NOWHERE`) or replicating an address no live pod has is
    rejoined at once: nothing else can want it. A pod that is a primary itself, or
    replicates another live pod, is rejoined only once that has lasted the sentinel grace
    period: it may be the outcome of a failover the sentinels are still spreading."""
    live = {p.address for p in obs.redis if p.ip and not p.terminating}
    rejoin = []
    for p in obs.redis:
        if p.info is None or p.terminating or p.name == primary.name:
            continue
        if not p.info.is_master and p.info.primary == primary.address:
            continue
        if not p.info.is_master and (p.info.waiting or p.info.primary not in live):
            rejoin.append(p)
            continue
        key = f"stray:{p.name}"
        conditions.add(key)
        if timing.held(key, tuning.sentinel_fix_grace):
            rejoin.append(p)
    return tuple(rejoin)


def config_options(spec: FailoverSpec) -> dict[str, str]:
    """The redis settings the spec controls, as CONFIG SET names them."""
    return {"min-replicas-to-write": str(spec.redis.min_replicas_to_write),
            "min-replicas-max-lag": str(spec.redis.min_replicas_max_lag)}


def plan_config(obs: Observation, spec: FailoverSpec) -> tuple[RedisPod, ...]:
    """Reachable pods whose min-replicas settings differ from the spec."""
    wanted = config_options(spec)
    return tuple(p for p in obs.redis
                 if p.info is not None and not p.terminating and p.info.config
                 and any(p.info.config.get(k) != v for k, v in wanted.items()))


def _target(obs: Observation, agreed: Address | None, primary: RedisPod | None,
            busy: bool) -> Address | None:
    """The primary sentinels must monitor: the healthy agreed one; with no majority at
    all, the one pod that is a primary, when a sentinel names it or none names any."""
    if primary is not None:
        return primary.address
    if agreed is not None or busy:
        return None
    masters = [p for p in obs.redis if p.info is not None and p.info.is_master
               and not p.terminating]
    if len(masters) != 1:
        return None
    named = {s.named for s in obs.sentinels if s.named is not None}
    return masters[0].address if (not named or masters[0].address in named) else None


def plan_sentinels(obs: Observation, spec: FailoverSpec, target: Address,
                   timing: Timing, tuning: Tuning,
                   conditions: set[str]) -> tuple[SentinelFix, ...]:
    """MONITOR, SET and (one) RESET, as the module docstring says."""
    running = [s for s in obs.sentinels if s.running]
    expected_others = max(len(running) - 1, 0)
    redis_ips = {p.ip for p in obs.redis if p.ip and not p.terminating}
    sentinel_ips = {s.ip for s in running}
    wanted = spec.sentinel.options()
    fixes: list[SentinelFix] = []
    stale: list[SentinelPod] = []
    for s in running:
        if not s.answered:
            continue
        if s.master is None:
            fixes.append(SentinelFix(s.name, s.ip, FixKind.MONITOR, target, wanted,
                                     f"monitored nothing; now {target}"))
            continue
        if s.master.address != target:
            key = f"wrong:{s.ip}"
            conditions.add(key)
            if timing.held(key, tuning.sentinel_fix_grace):
                fixes.append(SentinelFix(s.name, s.ip, FixKind.MONITOR, target, wanted,
                                         f"monitored {s.master.address}; now {target}"))
            continue
        differing = {k: v for k, v in wanted.items() if s.master.options().get(k) != v}
        if differing:
            fixes.append(SentinelFix(s.name, s.ip, FixKind.SET, target, differing,
                                     "settings " + ", ".join(f"{k} {v}"
                                                             for k, v in differing.items())))
        if (any(r.ip not in redis_ips for r in s.replicas)
                or any(o.ip not in sentinel_ips for o in s.sentinels)
                or s.master.num_other_sentinels > expected_others):
            conditions.add(f"stale:{s.ip}")
            stale.append(s)
    monitoring = any(f.kind is FixKind.MONITOR for f in fixes)
    if stale and not monitoring and timing.now - timing.last_reset >= tuning.reset_interval:
        for s in stale:
            if timing.held(f"stale:{s.ip}", tuning.reset_grace):
                fixes.append(SentinelFix(s.name, s.ip, FixKind.RESET, target,
                                         why="remembered replicas or sentinels that are gone"))
                break
    return tuple(fixes)


def _promotion(obs: Observation, spec: FailoverSpec, reason: EventReason,
               why: str) -> Promotion | None:
    pods = _set_complete(obs, spec)
    if pods is None:
        return None
    chosen = choose_primary(pods)
    if chosen is None:
        return None
    others = tuple(p for p in obs.redis
                   if p.name != chosen.name and p.info is not None and not p.terminating)
    return Promotion(chosen, others, reason, why)


def _repairable(obs: Observation, agreed: Address | None) -> bool:
    """Nothing can serve writes and nothing is hidden: the agreed primary's pod is gone or
    answers as a replica, and no reachable pod is a primary."""
    if any(p.info is not None and p.info.is_master and not p.terminating for p in obs.redis):
        return False
    pod = obs.pod_at(agreed)
    return pod is None or pod.info is not None


def sentinels_blind(obs: Observation, agreed: Address | None) -> bool:
    """No sentinel monitoring `agreed` knows a live pod that replicates: they could never
    pick a replica to promote (all the replicas they know are gone, say every pod was
    recreated with a new address)."""
    live = {p.address for p in obs.redis
            if p.info is not None and not p.terminating and not p.info.is_master}
    monitoring = [s for s in obs.sentinels
                  if s.answered and s.master is not None and s.master.address == agreed]
    return bool(monitoring) and all(not (set(s.replicas) & live) for s in monitoring)


def _ready_problems(obs: Observation, spec: FailoverSpec, primary: RedisPod,
                    plan_has_work: bool) -> list[str]:
    problems = []
    followers = [p for p in obs.redis if p.name != primary.name and not p.terminating
                 and p.info is not None and p.info.primary == primary.address
                 and p.info.link_up]
    if len(followers) < spec.redis.replicas - 1:
        problems.append(f"{len(followers)} of {spec.redis.replicas - 1} replicas in sync")
    monitoring = [s for s in obs.sentinels if s.running and s.master is not None
                  and s.master.address == primary.address]
    if len(monitoring) < spec.sentinel.replicas:
        problems.append(f"{len(monitoring)} of {spec.sentinel.replicas} sentinels "
                        f"monitoring {primary.name}")
    elif any(s.master.num_other_sentinels < spec.sentinel.replicas - 1  # type: ignore[union-attr]
             or s.master.num_slaves < spec.redis.replicas - 1  # type: ignore[union-attr]
             or not {f.address for f in followers} <= set(s.replicas)
             for s in monitoring):
        # A replica a sentinel does not know (a pod recreated with a new address) is one
        # it cannot promote: until it learns it, a failover may find no good replica.
        problems.append("sentinels still discovering their peers and the replicas")
    if plan_has_work:
        problems.append("reconfiguring")
    return problems


def decide(obs: Observation, spec: FailoverSpec, timing: Timing,
           tuning: Tuning | None = None) -> Plan:
    """The plan for one reconcile."""
    tuning = tuning or Tuning()
    conditions: set[str] = set()
    agreed = agreed_primary(obs.sentinels)
    bootstrapped = obs.bootstrapped or agreed is not None
    if not bootstrapped:
        promotion = _promotion(obs, spec, EventReason.BOOTSTRAPPED,
                               "first start: every redis pod answered")
        message = "" if promotion else "waiting for every redis pod to start"
        return Plan(Phase.BOOTSTRAPPING, None, None, promotion=promotion, message=message)
    pod = obs.pod_at(agreed)
    primary = pod if is_healthy(pod) else None
    # A sentinel's failover always ends on its own (each of its steps finishes or gives
    # up within failover-timeout), so while one is reported the sentinels decide alone.
    busy = timing.failover_pending or sentinels_busy(obs.sentinels)
    labels = plan_labels(obs, agreed, primary)
    rejoin: tuple[RedisPod, ...] = ()
    fixes: tuple[SentinelFix, ...] = ()
    promotion = None
    if primary is not None and not busy:
        rejoin = plan_rejoins(obs, primary, timing, tuning, conditions)
    target = _target(obs, agreed, primary, busy)
    if target is not None and not busy:
        fixes = plan_sentinels(obs, spec, target, timing, tuning, conditions)
    config = plan_config(obs, spec)
    if primary is None:
        conditions.add(LOST)
        patience = (spec.sentinel.down_after_ms + spec.sentinel.failover_timeout_ms) / 1000 \
            + tuning.repair_grace
        if (not busy and _repairable(obs, agreed)
                and (sentinels_blind(obs, agreed) or timing.held(LOST, patience))):
            promotion = _promotion(obs, spec, EventReason.REPAIRED,
                                   "no primary, and the sentinels cannot promote one")
    if primary is None:
        phase = Phase.FAILOVER if (busy or agreed is not None) else Phase.DEGRADED
        if timing.bootstrapping and promotion is None:
            phase = Phase.BOOTSTRAPPING
        if promotion is not None:
            message = f"repairing: promoting {promotion.primary.name}"
        elif agreed is None:
            message = "the sentinels do not agree on a primary"
        else:
            message = f"the primary {agreed} is not serving"
    elif busy:
        phase, message = Phase.FAILOVER, "a failover is under way"
    else:
        work = bool(labels or rejoin or fixes or config)
        problems = _ready_problems(obs, spec, primary, work)
        phase = Phase.DEGRADED if problems else Phase.READY
        message = "; ".join(problems)
    return Plan(phase, agreed, primary, labels=labels, rejoin=rejoin, config=config,
                fixes=fixes, promotion=promotion, conditions=frozenset(conditions),
                message=message)
