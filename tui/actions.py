"""What the dashboard's keys do through the API: kill, delete, cordon, drain, describe, YAML.

Every function takes the client and returns the line to show (kubectl's wording where
kubectl has one); API failures propagate as `APIError`s for the caller to show as one line.
"""

from __future__ import annotations

from typing import Any

from cluster.api import errors, objects
from cluster.api.options import PatchType
from cluster.api.resources import ResourceType
from cluster.client import Client
from cluster.kubectl import printing
from cluster.kubectl.commands import Kubectl


async def kill_pod(client: Client, namespace: str, name: str) -> str:
    """k9s's ctrl-k: delete now, without the grace period (`delete --grace-period=0`)."""
    await client.delete("pods", name, namespace, grace_period_seconds=0)
    return f'pod "{name}" killed'


async def delete_object(client: Client, rt: ResourceType, namespace: str | None,
                        name: str) -> str:
    """ctrl-d after the confirmation: an ordinary delete, with the object's grace period."""
    await client.delete(rt.key, name, namespace if rt.namespaced else None)
    return printing.deleted_line(rt, name)


async def set_unschedulable(client: Client, node: str, unschedulable: bool) -> str:
    """`kubectl cordon` / `uncordon`, with their messages."""
    current = await client.get("nodes", node)
    verb = "cordoned" if unschedulable else "uncordoned"
    if bool((current.get("spec") or {}).get("unschedulable")) == unschedulable:
        return f"node/{node} already {verb}"
    await client.patch("nodes", node, {"spec": {"unschedulable": unschedulable or None}},
                       patch_type=PatchType.MERGE)
    return f"node/{node} {verb}"


def _drainable(pod: dict[str, Any]) -> bool:
    """`kubectl drain` leaves DaemonSet pods (with --ignore-daemonsets) and mirror pods,
    and pods already finished or being deleted need nothing."""
    owner = objects.controller_of(pod)
    if owner is not None and owner.get("kind") == "DaemonSet":
        return False
    if "kubernetes.io/config.mirror" in (objects.meta(pod).get("annotations") or {}):
        return False
    if objects.is_terminating(pod):
        return False
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


async def drain(client: Client, node: str) -> str:
    """Cordon the node, then delete its pods (there is no eviction API here, so
    PodDisruptionBudgets are not consulted); one summary line."""
    await set_unschedulable(client, node, True)
    pods = await client.list("pods", None, field_selector=f"spec.nodeName={node}")
    evicted = 0
    for pod in pods.items:
        if not _drainable(pod):
            continue
        try:
            await client.delete("pods", objects.name_of(pod), objects.namespace_of(pod))
        except errors.NotFound:
            continue
        evicted += 1
    return f"node/{node} drained ({evicted} pod{'s' if evicted != 1 else ''} evicted)"


async def describe_text(client: Client, rt: ResourceType, namespace: str | None,
                        name: str) -> str:
    """`kubectl describe`, through the kubectl layer (its output, or its error line)."""
    argv = ["describe", rt.key, name]
    if rt.namespaced and namespace:
        argv += ["-n", namespace]
    result = await Kubectl(client).run(argv)
    return result.stdout if result.exit_code == 0 else result.stderr


async def yaml_text(client: Client, rt: ResourceType, namespace: str | None, name: str) -> str:
    """`kubectl get -o yaml` without managedFields, as k9s shows it."""
    obj = await client.get(rt.key, name, namespace if rt.namespaced else None)
    objects.meta(obj).pop("managedFields", None)
    return printing.to_yaml(obj)


async def owned_uids(client: Client, owner: dict[str, Any]) -> frozenset[str]:
    """The owner's uid and those of the workloads it owns, two levels down
    (RedisFailover -> StatefulSet; Deployment -> ReplicaSet), whose pods a drill-in shows."""
    uids = {objects.uid_of(owner)}
    namespace = objects.namespace_of(owner) or None
    for resource in ("deployments", "statefulsets", "replicasets"):
        for obj in (await client.list(resource, namespace)).items:
            refs = objects.meta(obj).get("ownerReferences") or ()
            if any(ref.get("uid") in uids for ref in refs):
                uids.add(objects.uid_of(obj))
    return frozenset(uids)
