"""The garbage collector: deletes objects whose owners are all gone.

The API server already cascades when an owner is deleted (synchronously, see
`cluster.apiserver`), so what is left for this controller is the *dangling* owner: a
dependent created with an ownerReference to something that does not exist (any more),
or one left behind by a crash between two writes. As in kube-controller-manager's garbage
collector:

- an owner reference is **dangling** when no object of its kind and name exists, or the
  one that exists has another uid (a namesake created later is not the owner);
- an object with at least one live owner stays; its dangling references are removed;
- an object whose owners are all dangling is deleted (background propagation, with a
  resourceVersion precondition so that a concurrent change wins);
- an owner of a kind the server does not serve is not judged (the object is kept and
  looked at again by the next scan), because a missing CRD is not proof of a missing owner.

Candidates come from two sources: informers on the kinds that usually have owners
(`GCSettings.watched`), which check each added or re-owned object against their caches;
and a periodic scan of every served kind (`scan`), which also covers custom resources and
anything created while the controller was down. Either source only enqueues: the decision is
made on fresh reads from the API, never on a cache that may lag behind a new owner.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
from dataclasses import dataclass, field
from typing import Any

from cluster import informer as informing
from cluster import reconciling
from cluster.api import errors, objects
from cluster.api.resources import ResourceType
from cluster.client import Client, PatchType

log = logging.getLogger(__name__)


class OwnerState(str, enum.Enum):
    """What a live read says about one ownerReference."""

    ALIVE = "alive"
    DANGLING = "dangling"
    UNKNOWN = "unknown"
    """The owner's kind is not served: no verdict."""


@dataclass(frozen=True)
class GCSettings:
    """What the garbage collector watches and how often it scans."""

    scan_period: float = 30.0
    """Seconds between full scans of every served kind (kube re-syncs its graph every 30 s)."""

    watched: tuple[str, ...] = (
        "pods", "replicasets.apps", "deployments.apps", "statefulsets.apps",
        "controllerrevisions.apps", "persistentvolumeclaims", "services", "configmaps",
        "secrets", "leases.coordination.k8s.io", "nodes")
    """Kinds checked through shared informers when added or re-owned; the rest wait for a scan.

    Owners of these kinds are also looked up in the caches before asking the API (kubelets'
    Leases are owned by their Nodes, hence `nodes`)."""

    ignored: tuple[str, ...] = ("events",)
    """Kinds never scanned: numerous, short-lived and never owned by the engine."""

    workers: int = 2
    """Objects judged concurrently."""

    informer: informing.InformerSettings = field(default_factory=informing.InformerSettings)
    """Retry timing of the informers this controller creates when it has no shared factory."""


def item_key(resource: str, namespace: str, name: str) -> str:
    """`<resource>/<namespace>/<name>`: the queue key (namespace empty for cluster scope)."""
    return f"{resource}/{namespace}/{name}"


def split_item_key(key: str) -> tuple[str, str, str]:
    resource, namespace, name = key.split("/", 2)
    return resource, namespace, name


class GarbageCollector:
    """Deletes dependents whose every owner is gone; trims dangling references otherwise."""

    def __init__(self, client: Client, *, factory: informing.InformerFactory | None = None,
                 settings: GCSettings | None = None) -> None:
        self.client = client
        self.settings = settings or GCSettings()
        self._own_factory = factory is None
        self.factory = factory or informing.InformerFactory(client, settings=self.settings.informer)
        self.controller = reconciling.Controller("garbage-collector", self.reconcile,
                                                 workers=self.settings.workers)
        self._types: dict[tuple[str, str], ResourceType] = {}
        """(apiVersion, kind) → served type, refreshed when a reference names an unknown one."""
        self._informers: dict[str, informing.Informer] = {}
        """Store key → informer, for the watched kinds."""
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if self._tasks:
            return
        await self._refresh_types()
        for resource in self.settings.watched:
            try:
                rt = await self.client.resolve(resource)
            except errors.NotFound:
                continue
            inf = await self.factory.informer(rt.key)
            self._informers[rt.key] = inf
            self.controller.wait_for(inf)
            inf.add_handler(on_add=functools.partial(self._changed, rt),
                            on_update=functools.partial(self._updated, rt))
        await self.factory.start()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self.controller.run(), name="garbage collector"),
                       loop.create_task(self._scan_forever(), name="garbage collector scan")]

    async def stop(self) -> None:
        await self.controller.stop()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._own_factory:
            await self.factory.stop()

    # -- finding candidates -------------------------------------------------------------------

    def _changed(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if objects.is_terminating(obj):
            return
        refs = (obj.get("metadata") or {}).get("ownerReferences")
        if refs and not all(self._cached_owner_alive(obj, ref) for ref in refs):
            self.controller.enqueue(item_key(rt.key, objects.namespace_of(obj),
                                             objects.name_of(obj)))

    def _updated(self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Only a change of owners is news: a status write must not cost a live lookup."""
        if (old.get("metadata") or {}).get("ownerReferences") != \
                (new.get("metadata") or {}).get("ownerReferences"):
            self._changed(rt, new)

    def _cached_owner_alive(self, obj: dict[str, Any], ref: dict[str, Any]) -> bool:
        """Whether a cache already shows the owner; False means "ask the API", not "gone"."""
        rt = self._types.get((str(ref.get("apiVersion", "")), str(ref.get("kind", ""))))
        if rt is None:
            return False
        inf = self._informers.get(rt.key)
        if inf is None:
            return False
        owner = inf.get_by_name(objects.namespace_of(obj) if rt.namespaced else None,
                                str(ref.get("name", "")))
        return owner is not None and objects.uid_of(owner) == ref.get("uid")

    async def scan(self) -> int:
        """Look at every object of every served kind once; returns how many were enqueued.

        Watched kinds are read from the informer caches, the others listed. Owners are
        matched by uid against everything seen in this scan, so a scan costs one pass over
        the objects, whatever their number of owners.
        """
        await self._refresh_types()
        everything: list[tuple[ResourceType, list[dict[str, Any]]]] = []
        for rt in list(self._types.values()):
            if rt.key in self.settings.ignored:
                continue
            inf = self._informers.get(rt.key)
            if inf is not None:
                items = inf.list()
            else:
                try:
                    items = (await self.client.list(rt.key)).items
                except errors.APIError:
                    continue
            everything.append((rt, items))
        uids = {objects.uid_of(obj) for _, items in everything for obj in items}
        enqueued = 0
        for rt, items in everything:
            for obj in items:
                refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
                if refs and not objects.is_terminating(obj) \
                        and any(ref.get("uid") not in uids for ref in refs):
                    self.controller.enqueue(item_key(rt.key, objects.namespace_of(obj),
                                                     objects.name_of(obj)))
                    enqueued += 1
        return enqueued

    async def _scan_forever(self) -> None:
        for inf in self._informers.values():
            await inf.wait_for_sync()
        while True:
            try:
                await self.scan()
            except Exception:
                log.warning("garbage collector: scan failed", exc_info=True)
            await asyncio.sleep(self.settings.scan_period)

    async def _refresh_types(self) -> None:
        self._types = {(rt.api_version, rt.kind): rt for rt in await self.client.resources()}

    # -- judging one object -------------------------------------------------------------------

    async def reconcile(self, key: str) -> reconciling.Result | None:
        resource, namespace, name = split_item_key(key)
        obj = await self.client.get(resource, name, namespace or None)
        if objects.is_terminating(obj):
            return None
        refs = obj["metadata"].get("ownerReferences") or []
        if not refs:
            return None
        verdicts: dict[OwnerState, list[dict[str, Any]]] = {state: [] for state in OwnerState}
        for ref in refs:
            verdicts[await self._owner_state(obj, ref)].append(ref)
        alive, dangling, unknown = (verdicts[OwnerState.ALIVE], verdicts[OwnerState.DANGLING],
                                    verdicts[OwnerState.UNKNOWN])
        if alive or unknown:
            if dangling:
                kept = [r for r in refs if r not in dangling]
                body = {"metadata": {"uid": obj["metadata"]["uid"],
                                     "resourceVersion": obj["metadata"]["resourceVersion"],
                                     "ownerReferences": kept}}
                await self.client.patch(resource, name, body, namespace or None,
                                        patch_type=PatchType.MERGE)
            if unknown and not alive:
                # Not proof of absence; the periodic scan brings it back for another look.
                log.info("garbage collector: keeping %s: owner kinds not served: %s", key,
                         ", ".join(f"{r.get('apiVersion')}/{r.get('kind')}" for r in unknown))
            return None
        log.info("garbage collector: deleting %s: all owners are gone (%s)", key,
                 ", ".join(f"{r.get('kind')}/{r.get('name')}" for r in dangling))
        try:
            await self.client.delete(resource, name, namespace or None,
                                     resource_version=obj["metadata"]["resourceVersion"])
        except errors.Conflict:
            # Changed since we read it (perhaps adopted): judge the new state.
            return reconciling.Result(requeue_after=0)
        return None

    async def _owner_state(self, obj: dict[str, Any], ref: dict[str, Any]) -> OwnerState:
        type_key = (str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        rt = self._types.get(type_key)
        if rt is None:
            await self._refresh_types()
            rt = self._types.get(type_key)
            if rt is None:
                return OwnerState.UNKNOWN
        namespace = objects.namespace_of(obj)
        if rt.namespaced and not namespace:
            return OwnerState.DANGLING  # a cluster-scoped object cannot be owned by a namespaced one
        try:
            owner = await self.client.get(rt.key, str(ref.get("name", "")),
                                          namespace if rt.namespaced else None)
        except errors.NotFound:
            return OwnerState.DANGLING
        return OwnerState.ALIVE if objects.uid_of(owner) == ref.get("uid") else OwnerState.DANGLING
