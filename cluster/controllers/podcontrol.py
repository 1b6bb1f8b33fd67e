"""What every workload controller shares: pods from templates, ControllerRef ownership and
expectations.

- **Pods from a template.** `pod_from_template` builds the pod a controller asks for (labels,
  annotations and finalizers of the template, its spec, and a controller ownerReference);
  `PodControl` creates and deletes pods and records `SuccessfulCreate` / `SuccessfulDelete`
  events (or `FailedCreate` / `FailedDelete`) in kube-controller-manager's wording.
- **Ownership** (client-go's `ControllerRefManager`). A controller owns what carries its
  ownerReference with `controller: true`. `RefManager.claim` keeps the owned objects that
  still match the selector, *adopts* matching orphans and *releases* owned objects whose
  labels no longer match, so relabelling a pod takes it out of its ReplicaSet. Adoption
  first re-reads the owner from the API: a controller that was just deleted must not grab
  objects the garbage collector is about to orphan or delete.
- **Indexes** that make a reconcile cost what its own objects cost: `OWNERSHIP_INDEXERS`
  files objects under their controller's uid and orphans under their namespace, so a
  ReplicaSet with 100 pods reads 100 pods, not every pod in the cluster. Controllers sharing
  an informer must register these very functions (the informer rejects two functions under
  one index name), so reuse them rather than writing look-alikes.
- **Expectations** (client-go's `ControllerExpectations`), kept by revision: see
  `Expectations`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol, cast

from cluster import reconciling
from cluster.api import errors, objects, selectors
from cluster.client import Client
from cluster.events import EventRecorder

log = logging.getLogger(__name__)

CONTROLLER_UID_INDEX = "podcontrol/controller-uid"
"""Index name: objects by the uid of their controller owner."""

ORPHANS_INDEX = "podcontrol/orphans"
"""Index name: objects without a controller owner, by namespace."""


def by_controller_uid(obj: dict[str, Any]) -> list[str]:
    """Index function for `CONTROLLER_UID_INDEX`."""
    ref = objects.controller_of(obj)
    uid = ref.get("uid") if ref is not None else None
    return [uid] if uid else []


def orphans_by_namespace(obj: dict[str, Any]) -> list[str]:
    """Index function for `ORPHANS_INDEX`."""
    return [] if objects.controller_of(obj) is not None else [objects.namespace_of(obj)]


OWNERSHIP_INDEXERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    CONTROLLER_UID_INDEX: by_controller_uid,
    ORPHANS_INDEX: orphans_by_namespace,
}
"""Pass as `indexers=` when asking the `InformerFactory` for an owned kind's informer."""


class Indexed(Protocol):
    """What `candidates` needs of an informer."""

    def by_index(self, index: str, value: str) -> list[dict[str, Any]]: ...


def candidates(informer: Indexed, owner: dict[str, Any]) -> list[dict[str, Any]]:
    """Objects `owner` may claim: those it controls, plus the orphans of its namespace."""
    owned = informer.by_index(CONTROLLER_UID_INDEX, objects.uid_of(owner))
    return owned + informer.by_index(ORPHANS_INDEX, objects.namespace_of(owner))


# -- pod state ----------------------------------------------------------------------------


def _condition(pod: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == kind:
            return cast(dict[str, Any], cond)
    return None


def phase_of(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def max_restarts(pod: dict[str, Any]) -> int:
    """The highest restartCount among the pod's containers (how troubled it has been)."""
    return max((int(c.get("restartCount") or 0)
                for c in (pod.get("status") or {}).get("containerStatuses") or ()), default=0)


def is_pod_active(pod: dict[str, Any]) -> bool:
    """Counts towards replicas: not Succeeded or Failed, and not being deleted."""
    return phase_of(pod) not in ("Succeeded", "Failed") and not objects.is_terminating(pod)


def is_pod_ready(pod: dict[str, Any]) -> bool:
    cond = _condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def ready_since(pod: dict[str, Any]) -> float | None:
    """When the pod last turned Ready (its condition's lastTransitionTime), if it is Ready."""
    cond = _condition(pod, "Ready")
    if cond is None or cond.get("status") != "True":
        return None
    stamp = cond.get("lastTransitionTime")
    try:
        return objects.parse_time(stamp) if stamp else None
    except ValueError:
        return None


def is_pod_available(pod: dict[str, Any], min_ready_seconds: int, now: float) -> bool:
    """Ready for at least `min_ready_seconds` (kube's `IsPodAvailable`)."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds <= now


# -- pods from templates ------------------------------------------------------------------


def pods_prefix(controller_name: str) -> str:
    """The `generateName` of a controller's pods: `web-` gives `web-8z8k5`."""
    return controller_name + "-"


def pod_from_template(template: dict[str, Any], owner: dict[str, Any], *,
                      name: str | None = None,
                      generate_name: str | None = None) -> dict[str, Any]:
    """The pod `owner` creates from its pod `template` (kube's `GetPodFromTemplate`).

    Give `name` for a fixed name (StatefulSets) or `generate_name` for a prefix the API
    server completes with five random characters (ReplicaSets).
    """
    tmeta = template.get("metadata") or {}
    meta: dict[str, Any] = {"namespace": objects.namespace_of(owner)}
    if name:
        meta["name"] = name
    elif generate_name:
        meta["generateName"] = generate_name
    for key in ("labels", "annotations"):
        meta[key] = dict(tmeta.get(key) or {})
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    meta["ownerReferences"] = [objects.owner_reference(owner)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": objects.clone(template.get("spec") or {})}


def namespace_terminating(exc: BaseException) -> bool:
    """Whether a create failed only because its namespace is going away (not worth an event)."""
    return isinstance(exc, errors.Forbidden) and "being terminated" in str(exc)


class PodControl:
    """Creates and deletes a controller's pods, recording Events about the controller."""

    def __init__(self, client: Client, recorder: EventRecorder) -> None:
        self.client = client
        self.recorder = recorder

    async def create_pod(self, owner: dict[str, Any], template: dict[str, Any], *,
                         name: str | None = None,
                         generate_name: str | None = None) -> dict[str, Any]:
        """Create one pod from `template`; raises the API's error after a FailedCreate event."""
        pod = pod_from_template(template, owner, name=name, generate_name=generate_name)
        try:
            created = await self.client.create(pod)
        except errors.APIError as exc:
            if not namespace_terminating(exc):
                await self.recorder.warning(owner, "FailedCreate", f"Error creating: {exc}")
            raise
        await self.recorder.normal(owner, "SuccessfulCreate",
                                   f"Created pod: {objects.name_of(created)}")
        return created

    async def delete_pod(self, owner: dict[str, Any], pod: dict[str, Any]) -> dict[str, Any] | None:
        """Delete `pod`; None when it was already gone. Raises other API errors."""
        name = objects.name_of(pod)
        try:
            gone = await self.client.delete("pods", name, objects.namespace_of(pod))
        except errors.NotFound:
            return None
        except errors.APIError as exc:
            await self.recorder.warning(owner, "FailedDelete", f"Error deleting: {exc}")
            raise
        await self.recorder.normal(owner, "SuccessfulDelete", f"Deleted pod: {name}")
        return gone


async def slow_start_batch(count: int, initial_batch_size: int,
                           fn: Callable[[], Awaitable[Any]]) -> tuple[int, BaseException | None]:
    """Call `fn` `count` times in batches of 1, 2, 4, … (kube's `slowStartBatch`).

    Every call of a batch is made; the first batch with a failure ends the run, so a
    template the API rejects costs one failed create, not a thousand. Returns the successes
    and the first error.

    A batch's calls are made one after another rather than as concurrent tasks: the
    in-process client never waits, so that takes no longer, and it spares each batch the
    trips around the event loop that starting and gathering tasks cost, each of them as
    long as everything else ready on a busy loop (at 10,000 pods they were what paced pod
    creation). A client that waited on the network would want kube's concurrency back.
    Between batches the loop gets a turn, so informers and other controllers keep moving
    while a large ReplicaSet fills up.
    """
    remaining, successes = count, 0
    batch = min(remaining, max(1, initial_batch_size))
    while batch > 0:
        failures: list[BaseException] = []
        for _ in range(batch):
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                failures.append(exc)
        successes += batch - len(failures)
        if failures:
            return successes, failures[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
        if batch:
            await asyncio.sleep(0)
    return successes, None


# -- expectations ---------------------------------------------------------------------------


def revision_of(obj: dict[str, Any]) -> int | None:
    try:
        return int(objects.resource_version_of(obj))
    except ValueError:
        return None


@dataclass
class _Expectation:
    revision: int
    deadline: float


class Expectations:
    """The controller's own writes its informer cache has not shown yet, per owner key.

    A ReplicaSet that created 100 pods must not count pods again until its cache holds
    them, or a second reconcile would create 100 more. kube counts pending creations and
    deletions per controller and decrements them from event handlers; we record instead the
    highest store revision our writes for `key` produced (create, update and delete all
    return it as `resourceVersion`, which in this engine is the store's revision counter)
    and trust the cache once the informer has delivered that revision. Revisions are delivered in order, so every write up to it has been seen,
    including objects created and deleted again in between, and nothing depends on the
    handlers running. Like kube's, an expectation lapses after `timeout` seconds, so a lost
    event can delay a controller but never wedge it.
    """

    def __init__(self, *, timeout: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self._clock = clock
        self._pending: dict[str, _Expectation] = {}

    def expect(self, key: str, written: dict[str, Any] | None) -> None:
        """Remember that `written` (what a write returned) must reach the cache first."""
        if written is None:
            return
        revision = revision_of(written)
        if revision is None:
            return
        current = self._pending.get(key)
        if current is None or current.revision < revision:
            self._pending[key] = _Expectation(revision, self._clock() + self.timeout)

    def satisfied(self, key: str, observed_revision: int | None) -> bool:
        """True once the cache reached every write recorded for `key` (or they timed out)."""
        pending = self._pending.get(key)
        if pending is None:
            return True
        if observed_revision is not None and observed_revision >= pending.revision:
            del self._pending[key]
            return True
        if self._clock() >= pending.deadline:
            log.warning("expectations for %s timed out waiting for revision %d", key,
                        pending.revision)
            del self._pending[key]
            return True
        return False

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)

    def __len__(self) -> int:
        return len(self._pending)


# -- ownership --------------------------------------------------------------------------------


class RefManager:
    """Claims objects for one controller owner (client-go's `ControllerRefManager`).

    `resource` names the claimed kind (`pods`, `replicasets`); `labels` picks what the
    selector is matched against (a Deployment matches its ReplicaSets' own labels, like a
    ReplicaSet its pods'). `on_write` sees every object an adoption or release wrote, so
    the caller can expect it in its cache.
    """

    def __init__(self, client: Client, owner: dict[str, Any], selector: selectors.Selector, *,
                 resource: str,
                 on_write: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.client = client
        self.owner = owner
        self.selector = selector
        self.resource = resource
        self._on_write = on_write
        self._owner_checked = False
        self._uid = objects.uid_of(owner)

    async def claim(self, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The candidates this owner controls after adopting and releasing as needed.

        Conflicts propagate: the object changed under us, and the reconcile is retried on a
        fresher cache rather than acting on a count that misses it.
        """
        claimed: list[dict[str, Any]] = []
        owner_deleting = objects.is_terminating(self.owner)
        for obj in candidates:
            matches = self.selector.matches(objects.labels_of(obj))
            ref = objects.controller_of(obj)
            if ref is not None:
                if ref.get("uid") != self._uid:
                    continue  # someone else's
                if matches:
                    claimed.append(obj)
                elif not owner_deleting:
                    await self._release(obj)
                continue
            if owner_deleting or not matches or objects.is_terminating(obj):
                continue
            if objects.namespace_of(obj) != objects.namespace_of(self.owner):
                continue
            adopted = await self._adopt(obj)
            if adopted is not None:
                claimed.append(adopted)
        return claimed

    async def _check_owner(self) -> None:
        """Re-read the owner from the API once: adopt only for a live owner with our uid."""
        if self._owner_checked:
            return
        kind = self.owner.get("kind", "")
        fresh = await self.client.get(kind, objects.name_of(self.owner),
                                      objects.namespace_of(self.owner) or None)
        if objects.uid_of(fresh) != self._uid:
            raise errors.NotFound(kind, objects.name_of(self.owner))
        if objects.is_terminating(fresh):
            raise errors.Conflict(kind, objects.name_of(self.owner),
                                  f"{objects.object_key(fresh)} has just been deleted at "
                                  f"{objects.meta(fresh).get('deletionTimestamp')}")
        self._owner_checked = True

    async def _adopt(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        await self._check_owner()
        adopted = objects.clone(obj)
        meta = objects.meta(adopted)
        meta["ownerReferences"] = list(meta.get("ownerReferences") or ()) + [
            objects.owner_reference(self.owner)]
        try:
            written = await self.client.update(adopted)
        except errors.NotFound:
            return None
        self._wrote(written)
        return written

    async def _release(self, obj: dict[str, Any]) -> None:
        released = objects.clone(obj)
        meta = objects.meta(released)
        refs = [r for r in meta.get("ownerReferences") or () if r.get("uid") != self._uid]
        if refs:
            meta["ownerReferences"] = refs
        else:
            meta.pop("ownerReferences", None)
        try:
            written = await self.client.update(released)
        except errors.NotFound:
            return
        self._wrote(written)

    def _wrote(self, obj: dict[str, Any]) -> None:
        if self._on_write is not None:
            self._on_write(obj)


class OwnerRouter:
    """Routes a dependent's events to the owner that should look at them.

    An owned object (a pod of a ReplicaSet, a ReplicaSet of a Deployment) wakes its
    controller owner, the old one too when ownership moved; an orphan that appears or
    changes its labels wakes every owner that could adopt it (`enqueue_matching`), as
    kube-controller-manager's handlers do. Handlers only enqueue keys.
    """

    def __init__(self, controller: reconciling.Controller, owner_kind: str,
                 enqueue_matching: Callable[[dict[str, Any]], None]) -> None:
        self._controller = controller
        self._kind = owner_kind
        self._enqueue_matching = enqueue_matching

    def added(self, obj: dict[str, Any]) -> None:
        key = reconciling.owner_key(obj, self._kind)
        if key is not None:
            self._controller.enqueue(key)
        elif objects.controller_of(obj) is None and not objects.is_terminating(obj):
            self._enqueue_matching(obj)

    def updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        old_key = reconciling.owner_key(old, self._kind)
        new_key = reconciling.owner_key(new, self._kind)
        if old_key is not None and old_key != new_key:
            self._controller.enqueue(old_key)
        if new_key is not None:
            self._controller.enqueue(new_key)
        elif objects.controller_of(new) is None and (
                objects.labels_of(old) != objects.labels_of(new)
                or objects.controller_of(old) is not None):
            self._enqueue_matching(new)

    def deleted(self, obj: dict[str, Any]) -> None:
        self._controller.enqueue_owner(obj, self._kind)
