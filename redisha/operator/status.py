"""`status` of a RedisFailover, built from what was observed and decided (pure).

Conditions follow Kubernetes' shape (`type`, `status`, `reason`, `message`,
`lastTransitionTime`, `observedGeneration`); a condition's transition time moves only when
its status flips, so it says how long the RedisFailover has been (un)available.
"""

from __future__ import annotations

from typing import Any

from cluster.api import objects
from redisha.operator.decisions import Plan
from redisha.operator.observing import Observation
from redisha.operator.reasons import Phase

AVAILABLE = "Available"
READY = "Ready"


def _condition(previous: list[dict[str, Any]], kind: str, ok: bool, reason: str,
               message: str, now: float, generation: int) -> dict[str, Any]:
    status = "True" if ok else "False"
    transition = objects.format_time(now)
    for old in previous:
        if old.get("type") == kind and old.get("status") == status:
            transition = old.get("lastTransitionTime") or transition
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": transition, "observedGeneration": generation}


def replicas_status(obs: Observation, plan: Plan) -> list[dict[str, Any]]:
    """Every redis pod but the primary: address, offset, lag behind the primary, link."""
    primary = plan.primary
    primary_offset = primary.info.offset if primary is not None and primary.info else None
    out = []
    for pod in obs.redis:
        if primary is not None and pod.name == primary.name:
            continue
        entry: dict[str, Any] = {"name": pod.name, "ip": pod.ip}
        info = pod.info
        if info is None:
            entry.update(link="unknown", role="unknown")
        else:
            offset = info.offset if info.is_master else info.replica_offset
            entry.update(offset=offset, role="primary" if info.is_master else "replica",
                         link="up" if info.link_up else "down")
            if primary_offset is not None and not info.is_master \
                    and primary is not None and info.primary == primary.address:
                entry["lagBytes"] = max(primary_offset - offset, 0)
        out.append(entry)
    return out


def sentinels_status(obs: Observation) -> list[dict[str, Any]]:
    """Every sentinel pod and what it believes."""
    out = []
    for s in obs.sentinels:
        entry: dict[str, Any] = {"name": s.name, "ip": s.ip}
        if s.master is not None:
            entry.update(primary=str(s.named or s.master.address), epoch=s.master.config_epoch,
                         failoverState=s.master.failover_state,
                         knownSentinels=s.master.num_other_sentinels,
                         knownReplicas=s.master.num_slaves)
        else:
            entry["primary"] = ""
        out.append(entry)
    return out


def epoch_of(obs: Observation, plan: Plan) -> int:
    """The highest configuration epoch a sentinel reports for the agreed primary."""
    return max((s.master.config_epoch for s in obs.sentinels
                if s.master is not None and s.master.address == plan.agreed), default=0)


def build(rf: dict[str, Any], obs: Observation, plan: Plan, *, now: float,
          last_failover: dict[str, Any] | None) -> dict[str, Any]:
    """The whole status for `rf` (its previous status supplies transition times)."""
    previous = rf.get("status") or {}
    conditions_before = list(previous.get("conditions") or [])
    generation = int((rf.get("metadata") or {}).get("generation") or 0)
    primary = plan.primary
    status: dict[str, Any] = {
        "phase": plan.phase.value,
        "observedGeneration": generation,
        "primary": primary.name if primary is not None else "",
        "primaryIP": primary.ip if primary is not None else "",
        "epoch": epoch_of(obs, plan),
        "replicas": replicas_status(obs, plan),
        "sentinels": sentinels_status(obs),
    }
    if primary is None and plan.phase is not Phase.BOOTSTRAPPING:
        # Keep naming the last primary while it is being replaced, as `kubectl get rf` shows.
        status["primary"] = previous.get("primary", "")
        status["primaryIP"] = previous.get("primaryIP", "")
    if last_failover:
        status["lastFailover"] = dict(last_failover)
    available = primary is not None
    status["conditions"] = [
        _condition(conditions_before, AVAILABLE, available,
                   "PrimaryAvailable" if available else "NoPrimary",
                   f"{primary.name} accepts writes" if primary is not None else plan.message,
                   now, generation),
        _condition(conditions_before, READY, plan.phase is Phase.READY, plan.phase.value,
                   plan.message or "the primary, every replica and every sentinel agree",
                   now, generation),
    ]
    return status
