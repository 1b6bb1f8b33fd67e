"""Which pod `kubectl logs deploy/web` or `kubectl exec svc/db -- ...` talks to.

kubectl turns a workload or a Service into its label selector, lists the pods it selects
and sorts them: for `logs` the pod most worth reading first (running, ready longest, most
restarts, oldest: `podutils.ByLogging`), for `exec` the most established one (the reverse of
`podutils.ActivePods`, which prefers fewer restarts). When nothing matches yet it waits, up
to `--pod-running-timeout`, for a pod to appear. This module holds those rules so that both
commands pick the same pod the real kubectl would.
"""

from __future__ import annotations

import asyncio
import enum
import functools
from collections.abc import Callable
from typing import Any

from cluster.api import objects, selectors
from cluster.api.resources import ResourceType
from cluster.kubectl.session import CommandError, Session, error_line

WORKLOADS = ("deployments.apps", "replicasets.apps", "statefulsets.apps", "daemonsets.apps",
             "jobs.batch")
"""Kinds whose `spec.selector` is a LabelSelector naming their pods."""
MAP_SELECTORS = ("services", "replicationcontrollers")
"""Kinds whose `spec.selector` is a plain label map."""
POLL_SECONDS = 0.2
"""How often the pod list is read again while waiting for a first pod."""


class Purpose(str, enum.Enum):
    """What the pod is for; it decides the order of preference."""

    LOGS = "logs"
    ATTACH = "attach"


def go_type(rt: ResourceType) -> str:
    """How kubectl names the Go type of an object in its errors: `*v1.Deployment`."""
    return f"*{rt.version}.{rt.kind}"


def pod_selector(rt: ResourceType, obj: dict[str, Any], verb: str) -> str:
    """The label selector of the pods `obj` runs or fronts, or kubectl's refusal."""
    spec = obj.get("spec") or {}
    if rt.key in MAP_SELECTORS:
        selector = spec.get("selector") or {}
        if not selector:
            raise CommandError(error_line(
                f"invalid service '{objects.name_of(obj)}': Service is defined without a "
                "selector"))
        return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    if rt.key in WORKLOADS:
        return selectors.selector_string(spec.get("selector"))
    raise CommandError(error_line(
        f"cannot {verb} {go_type(rt)}: selector for {go_type(rt)} not implemented"))


def _time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return objects.parse_time(text)
    except ValueError:
        return None


def _after_or_zero(t1: float | None, t2: float | None) -> bool:
    """Go's `afterOrZero`: an unset time sorts as later than any set one."""
    if t1 is None or t2 is None:
        return t1 is None
    return t1 > t2


def _ready_since(pod: dict[str, Any]) -> float | None:
    """When the pod became Ready, or None when it is not Ready."""
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "Ready":
            return _time(c.get("lastTransitionTime")) if c.get("status") == "True" else None
    return None


def _is_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def _max_restarts(pod: dict[str, Any]) -> int:
    return max((int(c.get("restartCount") or 0)
                for c in (pod.get("status") or {}).get("containerStatuses") or ()), default=0)


def _node(pod: dict[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def _phase(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def _created(pod: dict[str, Any]) -> float | None:
    return _time(objects.meta(pod).get("creationTimestamp"))


def by_logging_less(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """`podutils.ByLogging`: scheduled, Running, Ready, ready longest, most restarts,
    oldest, in that order of importance."""
    if _node(a) != _node(b) and (not _node(a) or not _node(b)):
        return bool(_node(a))
    rank = {"Running": 0, "Unknown": 1, "Pending": 2}
    if rank.get(_phase(a), 0) != rank.get(_phase(b), 0):
        return rank.get(_phase(a), 0) < rank.get(_phase(b), 0)
    if _is_ready(a) != _is_ready(b):
        return _is_ready(a)
    if _is_ready(a) and _is_ready(b) and _ready_since(a) != _ready_since(b):
        return _after_or_zero(_ready_since(b), _ready_since(a))
    if _max_restarts(a) != _max_restarts(b):
        return _max_restarts(a) > _max_restarts(b)
    if _created(a) != _created(b):
        return _after_or_zero(_created(b), _created(a))
    return False


def active_pods_less(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """`podutils.ActivePods`: the pod to give up first sorts first (unscheduled, Pending,
    not Ready, ready the shortest, most restarts, newest)."""
    if _node(a) != _node(b) and (not _node(a) or not _node(b)):
        return not _node(a)
    rank = {"Pending": 0, "Unknown": 1, "Running": 2}
    if rank.get(_phase(a), 0) != rank.get(_phase(b), 0):
        return rank.get(_phase(a), 0) < rank.get(_phase(b), 0)
    if _is_ready(a) != _is_ready(b):
        return not _is_ready(a)
    if _is_ready(a) and _is_ready(b) and _ready_since(a) != _ready_since(b):
        return _after_or_zero(_ready_since(a), _ready_since(b))
    if _max_restarts(a) != _max_restarts(b):
        return _max_restarts(a) > _max_restarts(b)
    if _created(a) != _created(b):
        return _after_or_zero(_created(a), _created(b))
    return False


def _sorted(pods: list[dict[str, Any]],
            less: Callable[[dict[str, Any], dict[str, Any]], bool]) -> list[dict[str, Any]]:
    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        return -1 if less(a, b) else (1 if less(b, a) else 0)
    return sorted(pods, key=functools.cmp_to_key(compare))


def preferred_order(pods: list[dict[str, Any]], purpose: Purpose) -> list[dict[str, Any]]:
    """`pods`, the one kubectl would pick first (ties keep the list's name order)."""
    if purpose is Purpose.LOGS:
        return _sorted(pods, by_logging_less)
    return _sorted(pods, lambda a, b: active_pods_less(b, a))


async def first_pod(s: Session, rt: ResourceType, obj: dict[str, Any], purpose: Purpose,
                    timeout: float) -> tuple[dict[str, Any], int]:
    """The pod kubectl uses for `obj`, and how many pods matched. Waits up to `timeout`
    seconds for a first pod, then fails as kubectl does."""
    verb = "get the logs from" if purpose is Purpose.LOGS else "attach to"
    selector = pod_selector(rt, obj, verb)
    namespace = objects.namespace_of(obj) or s.namespace
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        listed = await s.client.list("pods", namespace, label_selector=selector)
        pods = sorted(listed.items, key=objects.name_of)
        if pods:
            return preferred_order(pods, purpose)[0], len(pods)
        left = deadline - loop.time()
        if left <= 0:
            raise CommandError(error_line("timed out waiting for the condition"))
        await asyncio.sleep(min(POLL_SECONDS, left))
