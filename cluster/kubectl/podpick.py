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
from typing import Any

from cluster.api import objects, selectors
from cluster.api.resources import ResourceType
from cluster.controllers import podcontrol, replicaset
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


def verb_of(purpose: Purpose) -> str:
    return "get the logs from" if purpose is Purpose.LOGS else "attach to"


def check_selects_pods(rt: ResourceType, purpose: Purpose) -> None:
    """kubectl's refusal for a kind that names no pods (a ConfigMap, a Node)."""
    if rt.key not in WORKLOADS + MAP_SELECTORS:
        raise CommandError(error_line(
            f"cannot {verb_of(purpose)} {go_type(rt)}: selector for {go_type(rt)} not "
            "implemented"))


def pod_selector(rt: ResourceType, obj: dict[str, Any], purpose: Purpose) -> str:
    """The label selector of the pods `obj` runs or fronts, or kubectl's refusal."""
    check_selects_pods(rt, purpose)
    spec = obj.get("spec") or {}
    if rt.key in MAP_SELECTORS:
        selector = spec.get("selector") or {}
        if not selector:
            raise CommandError(error_line(
                f"invalid service '{objects.name_of(obj)}': Service is defined without a "
                "selector"))
        return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return selectors.selector_string(spec.get("selector"))


def logging_order(pod: dict[str, Any]) -> tuple[Any, ...]:
    """Sort key of `podutils.ByLogging`: scheduled, furthest along (Running), Ready, ready
    longest, most restarts, oldest first (an unknown time sorts last)."""
    since = podcontrol.ready_since(pod)
    try:
        created = objects.parse_time((pod.get("metadata") or {})["creationTimestamp"])
    except (KeyError, TypeError, ValueError):
        created = float("inf")
    return (
        0 if (pod.get("spec") or {}).get("nodeName") else 1,
        -replicaset.PHASE_ORDINAL.get(podcontrol.phase_of(pod), 0),
        0 if podcontrol.is_pod_ready(pod) else 1,
        since if since is not None else float("inf"),
        -podcontrol.max_restarts(pod),
        created,
    )


def preferred_order(pods: list[dict[str, Any]], purpose: Purpose) -> list[dict[str, Any]]:
    """`pods`, the one kubectl would pick first (ties keep the list's order). exec takes
    the most established pod: `podutils.ActivePods` reversed, which is the ReplicaSet's
    scale-down order reversed."""
    if purpose is Purpose.LOGS:
        return sorted(pods, key=logging_order)
    return sorted(pods, key=replicaset.deletion_order, reverse=True)


async def first_pod(s: Session, rt: ResourceType, obj: dict[str, Any], purpose: Purpose,
                    timeout: float) -> tuple[dict[str, Any], int]:
    """The pod kubectl uses for `obj`, and how many pods matched. Waits up to `timeout`
    seconds for a first pod, then fails as kubectl does."""
    selector = pod_selector(rt, obj, purpose)
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
