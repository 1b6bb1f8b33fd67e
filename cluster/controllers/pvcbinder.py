"""Binds PersistentVolumeClaims at once, standing in for a PV controller and a provisioner.

The engine has no storage: a claim only has to look like a real cluster's once a dynamic
provisioner has served it, so that `kubectl get pvc` shows `Bound` and a StatefulSet's
successor pod finds the same claim (same name, same uid) its predecessor used. For every
`Pending` claim this controller does what the PV controller does after provisioning:

1. `spec.volumeName` is set to `pvc-<claim uid>` (the name external provisioners give the
   volume) with the `pv.kubernetes.io/bind-completed` and `bound-by-controller` annotations;
2. `status` becomes `phase: Bound` with the claim's access modes and a capacity equal to the
   requested storage.

No PersistentVolume objects are created (the kind is not served). Any claim is bound, not
only a StatefulSet's, as a default StorageClass with a provisioner would.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from cluster import informer as informing
from cluster import reconciling
from cluster.api import objects
from cluster.client import Client

BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"


@dataclass(frozen=True)
class PVCBinderSettings:
    """How the claim binder runs."""

    workers: int = 2
    """Claims bound concurrently."""

    informer: informing.InformerSettings = field(default_factory=informing.InformerSettings)
    """Retry timing of the informer this binder creates when it has no shared factory."""


def volume_name(claim: dict[str, Any]) -> str:
    """`pvc-<uid>`, as dynamically provisioned volumes are named."""
    return f"pvc-{objects.uid_of(claim)}"


def bound_status(claim: dict[str, Any]) -> dict[str, Any]:
    """The status of a bound claim: phase, access modes and the requested capacity."""
    spec = claim.get("spec") or {}
    status: dict[str, Any] = {"phase": "Bound"}
    if spec.get("accessModes"):
        status["accessModes"] = list(spec["accessModes"])
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is not None:
        status["capacity"] = {"storage": storage}
    return status


class PVCBinder:
    """Binds every Pending claim to a (virtual) volume of its requested size."""

    def __init__(self, client: Client, *, factory: informing.InformerFactory | None = None,
                 settings: PVCBinderSettings | None = None) -> None:
        self.client = client
        self.settings = settings or PVCBinderSettings()
        self._own_factory = factory is None
        self.factory = factory or informing.InformerFactory(client, settings=self.settings.informer)
        self.controller = reconciling.Controller("pvc-binder", self.reconcile,
                                                 workers=self.settings.workers)
        self._claims: informing.Informer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is not None:
            return
        self._claims = await self.factory.informer("persistentvolumeclaims")
        reconciling.watch_into(self._claims, self.controller)
        await self.factory.start()
        self._task = asyncio.get_running_loop().create_task(self.controller.run(),
                                                            name="pvc binder")

    async def stop(self) -> None:
        await self.controller.stop()
        task, self._task = self._task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if self._own_factory:
            await self.factory.stop()

    async def reconcile(self, key: str) -> reconciling.Result | None:
        assert self._claims is not None
        claim = self._claims.get(key)
        if claim is None or objects.is_terminating(claim):
            return None
        if (claim.get("status") or {}).get("phase") == "Bound":
            return None
        if not (claim.get("spec") or {}).get("volumeName"):
            bound = objects.clone(claim)
            bound["spec"]["volumeName"] = volume_name(claim)
            annotations = objects.meta(bound).setdefault("annotations", {})
            annotations[BIND_COMPLETED] = "yes"
            annotations[BOUND_BY_CONTROLLER] = "yes"
            claim = await self.client.update(bound)
        status = objects.clone(claim)
        status["status"] = bound_status(claim)
        await self.client.update_status(status)
        return None
