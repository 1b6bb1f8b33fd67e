"""The Memcached operator: operator-sdk's sample reconciler, on `cluster.client`.

For each Memcached `ns/name` it does what the sample's `Reconcile` does:

1. get the Memcached; gone → log `Memcached resource not found. Ignoring since object must
   be deleted` and stop (its Deployment goes with it: garbage collection by ownerReference);
2. get the Deployment named after it in its namespace; missing → build it
   (`deployment_for`), log `Creating a new Deployment` with `Deployment.Namespace` and
   `Deployment.Name`, create it;
3. `spec.replicas` differs from `spec.size` → update the Deployment;
4. list the pods labelled `app=memcached,memcached_cr=<name>` in the namespace and write
   their sorted names to `status.nodes` when they changed.

Triggers, as the sample's `For(&Memcached{}).Owns(&Deployment{})`: any change to a
Memcached, and any change to a Deployment it controls. One addition: changes to the pods it
lists also trigger it. The sample relies on Deployment status changes alone, which leaves
`status.nodes` naming pods that were deleted after the Deployment's last status write (a
scale to 0 ends with the Deployment at 0 replicas while its pods are still terminating).

Reads go to the API through the client, not to informer caches, so a reconcile never
mistakes a Deployment it created a moment ago for a missing one (which would create it
twice and log the creation twice); informers only decide when to reconcile. A write that
conflicts with a newer version re-reads at once instead of failing with back-off.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from cluster import informer as informing
from cluster import reconciling
from cluster.api import errors, objects
from cluster.client import Client
from redisha.samples.memcached import crd
from redisha.samples.memcached.logs import log_values

LOGGER_NAME = "controllers.Memcached"
"""The sample's logger: `ctrl.Log.WithName("controllers").WithName("Memcached")`."""

APP_LABEL = "app"
CR_LABEL = "memcached_cr"
POD_SELECTOR = f"{APP_LABEL}=memcached,{CR_LABEL}"
"""Every pod some Memcached owns (the pod informer's filter)."""


@dataclass(frozen=True)
class MemcachedSettings:
    """What the sample hard-codes, plus the controller's own tuning."""

    image: str = "memcached:1.4.36-alpine"
    """The memcached container's image."""
    command: tuple[str, ...] = ("memcached", "-m=64", "-o", "modern", "-v")
    """The memcached container's command, exactly as the sample writes it."""
    port: int = 11211
    workers: int = 1
    """Memcacheds reconciled at once (controller-runtime's MaxConcurrentReconciles)."""
    stop_timeout: float = 5.0
    """Seconds `stop` lets a running reconcile finish before cancelling it."""


def labels_for(name: str) -> dict[str, str]:
    """The labels of a Memcached's pods (the sample's `labelsForMemcached`)."""
    return {APP_LABEL: "memcached", CR_LABEL: name}


def selector_for(name: str) -> str:
    """`labels_for(name)` as a label selector string."""
    return ",".join(f"{key}={value}" for key, value in labels_for(name).items())


def deployment_for(memcached: dict[str, Any],
                   settings: MemcachedSettings | None = None) -> dict[str, Any]:
    """The Deployment a Memcached wants (the sample's `deploymentForMemcached`), owned by it."""
    settings = settings or MemcachedSettings()
    name, namespace = objects.name_of(memcached), objects.namespace_of(memcached)
    labels = labels_for(name)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "ownerReferences": [objects.owner_reference(memcached)],
        },
        "spec": {
            "replicas": desired_size(memcached),
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{
                    "image": settings.image,
                    "name": "memcached",
                    "command": list(settings.command),
                    "ports": [{"containerPort": settings.port, "name": "memcached"}],
                }]},
            },
        },
    }


def desired_size(memcached: dict[str, Any]) -> int:
    return int((memcached.get("spec") or {}).get("size") or 0)


def pod_names(pods: list[dict[str, Any]]) -> list[str]:
    """What `status.nodes` should say: the pods' names, sorted."""
    return sorted(objects.name_of(pod) for pod in pods)


def _pod_owner_key(pod: dict[str, Any]) -> str | None:
    name = objects.labels_of(pod).get(CR_LABEL)
    if not name:
        return None
    namespace = objects.namespace_of(pod)
    return f"{namespace}/{name}" if namespace else name


class MemcachedReconciler:
    """Runs the Memcached operator until `stop`.

    `start` needs the CRD installed (`crd.install(client)` or `kubectl apply -f`), as the
    sample's manager needs `make install` first. With no `informers` factory given it makes
    and stops its own; a shared factory is left running on `stop`.
    """

    def __init__(self, client: Client, *, logger: logging.Logger | None = None,
                 settings: MemcachedSettings | None = None,
                 informers: informing.InformerFactory | None = None) -> None:
        """`logger` receives the operator's lines (default: `controllers.Memcached`); give
        its handler a `logs.ZapConsoleFormatter` for the sample's exact look."""
        self.client = client
        self.log = logger or logging.getLogger(LOGGER_NAME)
        self.settings = settings or MemcachedSettings()
        self._own_factory = informers is None
        self.informers = informers or informing.InformerFactory(client)
        self.controller = reconciling.Controller("memcached", self.reconcile,
                                                 workers=self.settings.workers)
        self._registrations: list[informing.HandlerRegistration] = []
        self._started: list[informing.Informer] = []
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Watch Memcacheds, their Deployments and pods; reconcile once the caches filled.

        Raises `errors.NotFound` (the server has no such resource type) without the CRD.
        """
        if self._task is not None:
            return
        memcacheds = await self.informers.informer(crd.RESOURCE)
        deployments = await self.informers.informer("deployments")
        pods = await self.informers.informer("pods", label_selector=POD_SELECTOR)
        self._registrations = [
            reconciling.watch_into(memcacheds, self.controller),
            reconciling.watch_into(deployments, self.controller,
                                   lambda d: reconciling.owner_key(d, crd.KIND)),
            reconciling.watch_into(pods, self.controller, _pod_owner_key),
        ]
        for informer in (memcacheds, deployments, pods):
            if not informer.running:
                await informer.start()
                self._started.append(informer)
        self._task = asyncio.get_running_loop().create_task(self.controller.run(),
                                                            name="memcached-controller")

    async def stop(self) -> None:
        """Stop reconciling and watching; returns when nothing of ours is left running."""
        for registration in self._registrations:
            registration.remove()
        self._registrations = []
        await self.controller.stop(timeout=self.settings.stop_timeout)
        task, self._task = self._task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if self._own_factory:
            await self.informers.stop()
        else:
            for informer in self._started:
                await informer.stop()
        self._started = []

    # -- reconcile ----------------------------------------------------------------------------

    async def reconcile(self, key: str) -> reconciling.Result | None:
        """One pass of the sample's Reconcile for the Memcached `ns/name`."""
        namespace, name = objects.split_key(key)
        log_key = {"memcached": key}
        try:
            memcached = await self.client.get(crd.RESOURCE, name, namespace)
        except errors.NotFound:
            log_values(self.log, logging.INFO,
                       "Memcached resource not found. Ignoring since object must be deleted",
                       **log_key)
            return None
        if objects.is_terminating(memcached):
            return None  # its Deployment is being collected with it
        size = desired_size(memcached)
        try:
            found = await self.client.get("deployments", name, namespace)
        except errors.NotFound:
            deployment = deployment_for(memcached, self.settings)
            where = {"Deployment.Namespace": namespace, "Deployment.Name": name}
            log_values(self.log, logging.INFO, "Creating a new Deployment", **log_key, **where)
            try:
                await self.client.create(deployment)
            except errors.APIError as exc:
                log_values(self.log, logging.ERROR, "Failed to create new Deployment",
                           **log_key, **where, error=str(exc))
                raise
            return reconciling.Result(requeue_after=0)
        replicas = (found.get("spec") or {}).get("replicas")
        if replicas != size:
            found["spec"]["replicas"] = size
            try:
                await self.client.update(found)
            except errors.Conflict:
                return reconciling.Result(requeue_after=0)
            except errors.APIError as exc:
                log_values(self.log, logging.ERROR, "Failed to update Deployment", **log_key,
                           **{"Deployment.Namespace": namespace, "Deployment.Name": name},
                           error=str(exc))
                raise
            return reconciling.Result(requeue_after=0)
        listed = await self.client.list("pods", namespace, label_selector=selector_for(name))
        names = pod_names(listed.items)
        status = memcached.get("status") or {}
        if status.get("nodes") != names:
            memcached["status"] = {**status, "nodes": names}
            try:
                await self.client.update_status(memcached)
            except errors.Conflict:
                return reconciling.Result(requeue_after=0)
            except errors.APIError as exc:
                log_values(self.log, logging.ERROR, "Failed to update Memcached status",
                           **log_key, error=str(exc))
                raise
        return None
