"""The StatefulSet controller: pods with stable names, stable storage and ordered changes.

A StatefulSet `web` with three replicas owns pods `web-0`, `web-1`, `web-2`. Each pod keeps
its name for life: deleted, it comes back under the same name, with `spec.hostname` = its
name and `spec.subdomain` = the set's `serviceName`, so `web-1.<service>` resolves to
whichever incarnation is current. Each `volumeClaimTemplates` entry `data` gives every pod a
claim `data-web-1` that is *not* owned by the pod: it outlives it and the successor mounts
the same claim (unless `persistentVolumeClaimRetentionPolicy` says otherwise).

The algorithm is kube-controller-manager's (`stateful_set_control.go`), as a pure planner
(`plan_actions`) plus an executor:

- `OrderedReady` is monotonic: create ordinal 0, wait until it is Running and Ready, then 1,
  and so on; scale down deletes the highest ordinal first, one at a time, each after the
  pods below it are healthy and the previous one is gone. `Parallel` creates and deletes
  everything at once.
- A template change makes a new revision, stored as a `ControllerRevision` named
  `<set>-<hash>` (the pods' `controller-revision-hash` label). A `RollingUpdate` deletes the
  highest-ordinal pod of another revision, waits for its replacement to be Running and Ready,
  and goes on down to `partition`; pods below the partition stay at (and are recreated at)
  the current revision. `OnDelete` only uses the new revision for pods deleted by someone.
- Failed and Succeeded pods are deleted and recreated (with only `SuccessfulDelete` and
  `SuccessfulCreate` events: Kubernetes 1.31 dropped `RecreatingFailedPod`).

Claims are created `Pending`; binding them is `pvcbinder.PVCBinder`'s job (there is no
volume provisioner in the engine).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from cluster import informer as informing
from cluster import reconciling
from cluster.api import errors, names, objects, selectors
from cluster.client import Client, PatchType
from cluster.controllers import podcontrol
from cluster.events import EventRecorder

log = logging.getLogger(__name__)

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
"""Each pod's own name, so a Service can select exactly one member of the set."""
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
"""The pod's ordinal, as a label (Kubernetes 1.28+)."""
REVISION_LABEL = "controller-revision-hash"
"""The name of the ControllerRevision a pod was made from."""

_ORDINAL_RE = re.compile(r"^(.*)-([0-9]+)$")


class PodManagementPolicy(str, enum.Enum):
    ORDERED_READY = "OrderedReady"
    PARALLEL = "Parallel"


class UpdateStrategy(str, enum.Enum):
    ROLLING_UPDATE = "RollingUpdate"
    ON_DELETE = "OnDelete"


class RetentionPolicy(str, enum.Enum):
    """`persistentVolumeClaimRetentionPolicy.whenDeleted` / `whenScaled`."""

    RETAIN = "Retain"
    DELETE = "Delete"


@dataclass(frozen=True)
class StatefulSetSettings:
    """How the StatefulSet controller runs."""

    workers: int = 4
    """StatefulSets reconciled concurrently (kube-controller-manager's --concurrent-statefulset-syncs: 5)."""

    informer: informing.InformerSettings = field(default_factory=informing.InformerSettings)
    """Retry timing of the informers this controller creates when it has no shared factory."""


# --------------------------------------------------------------------------- names and shapes


def pod_name(set_name: str, ordinal: int) -> str:
    return f"{set_name}-{ordinal}"


def parse_ordinal(name: str) -> tuple[str, int] | None:
    """`("web", 2)` for `web-2`; None for a name with no ordinal suffix."""
    match = _ORDINAL_RE.match(name)
    if match is None:
        return None
    return match.group(1), int(match.group(2))


def claim_name(template_name: str, pod: str) -> str:
    """`data-web-0`: the claim of template `data` for pod `web-0`."""
    return f"{template_name}-{pod}"


def safe_encode(text: str) -> str:
    """apimachinery's `rand.SafeEncodeString`: no vowels, no look-alike characters."""
    alphabet = names.NAME_SUFFIX_ALPHABET
    return "".join(alphabet[ord(c) % len(alphabet)] for c in text)


@functools.lru_cache(maxsize=256)
def _fnv32(data: bytes) -> int:
    """FNV-1 32-bit, the hash Go's `fnv.New32` computes for revision names.

    Byte by byte in Python it costs half a millisecond for a template, and every
    reconcile of a set hashes the same few templates again: a pure function, memoised."""
    value = 0x811C9DC5
    for byte in data:
        value = (value * 0x01000193) & 0xFFFFFFFF
        value ^= byte
    return value


def revision_data(sts: dict[str, Any]) -> dict[str, Any]:
    """What a ControllerRevision stores: the template, as a patch that replaces it."""
    template = objects.clone((sts.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_hash(data: dict[str, Any], collision_count: int = 0) -> str:
    """A stable short hash of the revision data (stable across engine restarts)."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    raw += str(collision_count).encode() if collision_count else b""
    return safe_encode(str(_fnv32(raw)))


def template_of_revision(revision: dict[str, Any]) -> dict[str, Any]:
    template = objects.clone(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def is_running_and_ready(pod: dict[str, Any]) -> bool:
    """Phase Running and the Ready condition True (kube's `isRunningAndReady`)."""
    return podcontrol.phase_of(pod) == "Running" and podcontrol.is_pod_ready(pod)


def is_healthy(pod: dict[str, Any]) -> bool:
    return is_running_and_ready(pod) and not objects.is_terminating(pod)


def is_finished(pod: dict[str, Any]) -> bool:
    """Failed or Succeeded: its containers will not run again, so it is replaced."""
    return podcontrol.phase_of(pod) in ("Failed", "Succeeded")


def pod_revision(pod: dict[str, Any]) -> str:
    return ((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL, "")


def new_pod(sts: dict[str, Any], template: dict[str, Any], revision: str,
            ordinal: int) -> dict[str, Any]:
    """The pod for `ordinal` made from `template` at `revision`, with its identity and claims."""
    spec = sts.get("spec") or {}
    name = pod_name(sts["metadata"]["name"], ordinal)
    pod = podcontrol.pod_from_template(template, sts, name=name)
    labels = pod["metadata"]["labels"]
    labels[POD_NAME_LABEL] = name
    labels[POD_INDEX_LABEL] = str(ordinal)
    labels[REVISION_LABEL] = revision
    if not pod["metadata"]["annotations"]:
        del pod["metadata"]["annotations"]
    pod_spec = pod["spec"]
    pod_spec["hostname"] = name
    if spec.get("serviceName"):
        pod_spec["subdomain"] = spec["serviceName"]
    claims = [t for t in spec.get("volumeClaimTemplates") or () if (t.get("metadata") or {}).get("name")]
    if claims:
        claim_volumes = [{"name": t["metadata"]["name"],
                          "persistentVolumeClaim": {"claimName": claim_name(t["metadata"]["name"], name)}}
                         for t in claims]
        taken = {v["name"] for v in claim_volumes}
        pod_spec["volumes"] = claim_volumes + [v for v in pod_spec.get("volumes") or ()
                                               if v.get("name") not in taken]
    return pod


def new_claims(sts: dict[str, Any], pod: str) -> list[dict[str, Any]]:
    """The claims `pod` needs: one per `volumeClaimTemplates` entry, labelled like the set."""
    spec = sts.get("spec") or {}
    match_labels = (spec.get("selector") or {}).get("matchLabels") or {}
    claims = []
    for template in spec.get("volumeClaimTemplates") or ():
        tmeta = template.get("metadata") or {}
        if not tmeta.get("name"):
            continue
        labels = dict(tmeta.get("labels") or {})
        labels.update(match_labels)
        meta: dict[str, Any] = {"name": claim_name(tmeta["name"], pod),
                                "namespace": sts["metadata"].get("namespace", "default"),
                                "labels": labels}
        if tmeta.get("annotations"):
            meta["annotations"] = dict(tmeta["annotations"])
        claims.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                       "spec": objects.clone(template.get("spec") or {})})
    return claims


def wanted_claim_owners(claim: dict[str, Any], sts: dict[str, Any],
                        pod: dict[str, Any] | None, *, condemned: bool) -> list[dict[str, Any]]:
    """The claim's ownerReferences under the set's retention policy.

    `whenDeleted: Delete` makes the set an owner (deleting the set deletes the claim);
    `whenScaled: Delete` makes a condemned pod an owner (deleting it on scale-down deletes
    the claim). Other owners are kept; references to this set or pod that the policy does
    not want are dropped, so switching back to Retain releases the claim.
    """
    policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    set_uid = sts["metadata"]["uid"]
    pod_uid = objects.uid_of(pod) if pod is not None else ""
    refs = [r for r in (claim.get("metadata") or {}).get("ownerReferences") or ()
            if r.get("uid") not in (set_uid, pod_uid)]
    if policy.get("whenDeleted") == RetentionPolicy.DELETE.value:
        refs.append(objects.owner_reference(sts))
    if pod is not None and condemned and policy.get("whenScaled") == RetentionPolicy.DELETE.value:
        refs.append(objects.owner_reference(pod, controller=False))
    return refs


# --------------------------------------------------------------------------- the decision


class Step(str, enum.Enum):
    CREATE = "create"
    """Create the ordinal's claims (if missing) and its pod."""
    DELETE_FINISHED = "delete-finished"
    """Delete a Failed or Succeeded pod so that it can be recreated."""
    SCALE_DOWN = "scale-down"
    """Delete a pod whose ordinal is past the replica count."""
    UPDATE = "update"
    """Delete a pod of an old revision so that it is recreated at the update revision."""


@dataclass(frozen=True)
class Action:
    step: Step
    ordinal: int
    revision: str = ""
    """For CREATE: the revision the new pod is made from."""


@dataclass(frozen=True)
class SetView:
    """What the planner needs to know about one StatefulSet, already resolved."""

    replicas: int
    start: int
    pods: Mapping[int, dict[str, Any]]
    """Live pods by ordinal (all of the set's pods, condemned ones included)."""
    monotonic: bool
    rolling: bool
    partition: int
    current_revision: str
    update_revision: str


def _revision_for(view: SetView, index: int) -> str:
    """Below the partition a new pod keeps the current revision; above it, the update one."""
    if view.rolling and index < view.partition:
        return view.current_revision
    return view.update_revision


def plan_actions(view: SetView) -> list[Action]:
    """The actions of one pass, in order; the executor stops at the first that fails.

    A pure function of the observed pods, so that running it again after a crash, or
    after a stale read, proposes the same steps (each of which is idempotent).
    """
    actions: list[Action] = []
    first = view.start
    replicas: list[dict[str, Any] | None] = [view.pods.get(first + i) for i in range(view.replicas)]
    condemned = sorted(o for o in view.pods if not first <= o < first + view.replicas)

    # 1. Every ordinal in range exists and, under OrderedReady, is healthy before the next.
    pending: list[bool] = [False] * view.replicas  # created in this pass, not healthy yet
    for i, pod in enumerate(replicas):
        ordinal = first + i
        if pod is not None and is_finished(pod) and not objects.is_terminating(pod):
            actions.append(Action(Step.DELETE_FINISHED, ordinal))
            pod = None
        if pod is None:
            actions.append(Action(Step.CREATE, ordinal, _revision_for(view, i)))
            if view.monotonic:
                return actions
            pending[i] = True
            continue
        if view.monotonic and (objects.is_terminating(pod) or not is_running_and_ready(pod)):
            return actions

    # 2. Scale down from the highest ordinal; under OrderedReady one at a time, and only
    # once every lower ordinal is healthy (guaranteed by step 1 having returned otherwise).
    first_unhealthy: int | None = None
    for i, pod in enumerate(replicas):
        if pending[i] or pod is None or not is_healthy(pod):
            first_unhealthy = first + i
            break
    if first_unhealthy is None:
        first_unhealthy = next((o for o in condemned if not is_healthy(view.pods[o])), None)
    for ordinal in reversed(condemned):
        pod = view.pods[ordinal]
        if objects.is_terminating(pod):
            if view.monotonic:
                return actions
            continue
        if view.monotonic and not is_running_and_ready(pod) and ordinal != first_unhealthy:
            return actions
        actions.append(Action(Step.SCALE_DOWN, ordinal))
        if view.monotonic:
            return actions

    # 3. Rolling update: highest ordinal first, down to the partition, one pod at a time.
    if not view.rolling:
        return actions
    for i in range(view.replicas - 1, view.partition - 1, -1):
        pod = replicas[i]
        if pending[i] or pod is None:
            return actions
        if pod_revision(pod) != view.update_revision and not objects.is_terminating(pod):
            actions.append(Action(Step.UPDATE, first + i))
            return actions
        if not is_healthy(pod):
            return actions
    return actions


def compute_status(sts: dict[str, Any], pods: Iterable[dict[str, Any]], *,
                   current_revision: str, update_revision: str, collision_count: int,
                   now: float) -> tuple[dict[str, Any], float | None]:
    """The set's status from its pods, and when a pod becomes available (minReadySeconds).

    Zero counts other than `replicas` and `availableReplicas` are omitted, as the API
    serialises them (`omitempty`).
    """
    spec = sts.get("spec") or {}
    min_ready = float(spec.get("minReadySeconds") or 0)
    replicas = ready = current = updated = available = 0
    next_available: float | None = None
    for pod in pods:
        replicas += 1
        if is_running_and_ready(pod):
            ready += 1
            since = podcontrol.ready_since(pod)
            if min_ready <= 0 or since is None or since + min_ready <= now:
                available += 1
            else:
                due = since + min_ready - now
                next_available = due if next_available is None else min(next_available, due)
        if not objects.is_terminating(pod):
            revision = pod_revision(pod)
            current += revision == current_revision
            updated += revision == update_revision
    strategy = (spec.get("updateStrategy") or {}).get("type", UpdateStrategy.ROLLING_UPDATE.value)
    if (strategy == UpdateStrategy.ROLLING_UPDATE.value and updated == replicas
            and ready == replicas and replicas == int(spec.get("replicas", 1))):
        current_revision, current = update_revision, updated
    status: dict[str, Any] = {
        "observedGeneration": (sts.get("metadata") or {}).get("generation", 1),
        "replicas": replicas,
        "readyReplicas": ready,
        "currentReplicas": current,
        "updatedReplicas": updated,
        "availableReplicas": available,
        "currentRevision": current_revision,
        "updateRevision": update_revision,
        "collisionCount": collision_count,
    }
    for key in ("readyReplicas", "currentReplicas", "updatedReplicas"):
        if not status[key]:
            del status[key]
    return status, next_available


def _view_of(sts: dict[str, Any], pods: dict[int, dict[str, Any]], current_revision: str,
             update_revision: str) -> SetView:
    spec = sts.get("spec") or {}
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("type", UpdateStrategy.ROLLING_UPDATE.value) == \
        UpdateStrategy.ROLLING_UPDATE.value
    policy = spec.get("podManagementPolicy", PodManagementPolicy.ORDERED_READY.value)
    return SetView(
        replicas=int(spec.get("replicas", 1)),
        start=int((spec.get("ordinals") or {}).get("start") or 0),
        pods=pods,
        monotonic=policy != PodManagementPolicy.PARALLEL.value,
        rolling=rolling,
        partition=int((strategy.get("rollingUpdate") or {}).get("partition") or 0) if rolling else 0,
        current_revision=current_revision,
        update_revision=update_revision)


# --------------------------------------------------------------------------- the controller


class StatefulSetController:
    """Reconciles StatefulSets into pods, claims and ControllerRevisions."""

    def __init__(self, client: Client, *, factory: informing.InformerFactory | None = None,
                 settings: StatefulSetSettings | None = None,
                 recorder: EventRecorder | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.settings = settings or StatefulSetSettings()
        self._own_factory = factory is None
        self.factory = factory or informing.InformerFactory(client, settings=self.settings.informer)
        self.recorder = recorder or EventRecorder(client, component="statefulset-controller",
                                                  clock=clock)
        self._clock = clock
        self.controller = reconciling.Controller("statefulset", self.reconcile,
                                                 workers=self.settings.workers)
        self._task: asyncio.Task[None] | None = None
        self._sets: informing.Informer | None = None
        self._pods: informing.Informer | None = None
        self._revisions: informing.Informer | None = None
        self._claims: informing.Informer | None = None

    async def start(self) -> None:
        """Wire the informers and start reconciling (returns at once)."""
        if self._task is not None:
            return
        self._sets = await self.factory.informer("statefulsets.apps")
        self._pods = await self.factory.informer("pods", indexers=podcontrol.OWNERSHIP_INDEXERS)
        self._revisions = await self.factory.informer("controllerrevisions.apps",
                                                      indexers=podcontrol.OWNERSHIP_INDEXERS)
        self._claims = await self.factory.informer("persistentvolumeclaims")
        reconciling.watch_into(self._sets, self.controller)
        self.controller.wait_for(self._pods)
        self.controller.wait_for(self._revisions)
        self.controller.wait_for(self._claims)
        self._pods.add_handler(on_add=self._pod_changed, on_update=self._pod_updated,
                               on_delete=self._pod_changed)
        self._revisions.add_handler(on_delete=self._owned_changed)
        await self.factory.start()
        self._task = asyncio.get_running_loop().create_task(self.controller.run(),
                                                            name="statefulset controller")

    async def stop(self) -> None:
        """Stop reconciling; stops the informers too when this controller made them."""
        await self.controller.stop()
        task, self._task = self._task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if self._own_factory:
            await self.factory.stop()

    # -- event handlers: only enqueue -------------------------------------------------------

    def _pod_changed(self, pod: dict[str, Any]) -> None:
        key = reconciling.owner_key(pod, "StatefulSet")
        if key is not None:
            self.controller.enqueue(key)
            return
        if objects.controller_of(pod) is None and self._sets is not None:
            parsed = parse_ordinal(objects.name_of(pod))
            if parsed is not None:
                key = f"{objects.namespace_of(pod)}/{parsed[0]}"
                if self._sets.get(key) is not None:
                    self.controller.enqueue(key)

    def _pod_updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if objects.controller_of(old) != objects.controller_of(new):
            self._pod_changed(old)  # released or adopted: the old owner recounts
        self._pod_changed(new)

    def _owned_changed(self, obj: dict[str, Any]) -> None:
        key = reconciling.owner_key(obj, "StatefulSet")
        if key is not None:
            self.controller.enqueue(key)

    # -- reconcile ----------------------------------------------------------------------------

    async def reconcile(self, key: str) -> reconciling.Result | None:
        assert self._sets is not None
        sts = self._sets.get(key)
        if sts is None or objects.is_terminating(sts):
            return None  # the API server deletes what the set owned
        spec = sts.get("spec") or {}
        selector = selectors.from_label_selector(spec.get("selector"))
        if selector.empty:
            raise reconciling.TerminalError(f"statefulset {key} has an empty selector")

        pods = await self._claim_pods(sts, selector)
        revisions, current, update, collisions = await self._revisions_of(sts)
        view = _view_of(sts, pods, objects.name_of(current), objects.name_of(update))
        await self._sync_claim_owners(sts, view)
        templates = {objects.name_of(current): template_of_revision(current),
                     objects.name_of(update): template_of_revision(update)}
        live = dict(pods)
        try:
            for action in plan_actions(view):
                await self._act(sts, action, templates, live)
        finally:
            # Status reflects what this pass did even when an action failed midway.
            requeue = await self._write_status(sts, live.values(), current, update, collisions)
        await self._truncate_history(sts, revisions, live.values(), current, update)
        return reconciling.Result(requeue_after=requeue) if requeue is not None else None

    async def _claim_pods(self, sts: dict[str, Any],
                          selector: selectors.Selector) -> dict[int, dict[str, Any]]:
        """The set's pods by ordinal: those it controls, plus orphans named like its members.

        Orphans are adopted and owned pods whose labels no longer match the selector are
        released (`podcontrol.RefManager`); as in kube, only orphans whose names are
        `<set>-<ordinal>` are candidates, and owned pods without such a name are ignored.
        """
        assert self._pods is not None
        set_name = sts["metadata"]["name"]

        def member(pod: dict[str, Any]) -> bool:
            parsed = parse_ordinal(objects.name_of(pod))
            return parsed is not None and parsed[0] == set_name

        candidates = [p for p in podcontrol.candidates(self._pods, sts)
                      if objects.controller_of(p) is not None or member(p)]
        manager = podcontrol.RefManager(self.client, sts, selector, resource="pods")
        claimed: dict[int, dict[str, Any]] = {}
        for pod in await manager.claim(candidates):
            parsed = parse_ordinal(objects.name_of(pod))
            if parsed is not None and parsed[0] == set_name:
                claimed[parsed[1]] = pod
        return claimed

    async def _patch_claim_owners(self, claim: dict[str, Any],
                                  refs: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Replace a claim's ownerReferences, guarded by its uid and resourceVersion."""
        m = claim["metadata"]
        body = {"metadata": {"uid": m["uid"], "resourceVersion": m["resourceVersion"],
                             "ownerReferences": refs or None}}
        try:
            return await self.client.patch("persistentvolumeclaims", m["name"], body,
                                           m.get("namespace"), patch_type=PatchType.MERGE)
        except errors.NotFound:
            return None

    # -- revisions ----------------------------------------------------------------------------

    async def _revisions_of(self, sts: dict[str, Any]
                            ) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any], int]:
        """The set's revisions, its current and update revision, and the collision count.

        The update revision is the one holding the current template; it is created if new,
        and moved to the top of the history when the template went back to an old one
        (a rollback), as kube does.
        """
        assert self._revisions is not None
        owned = self._revisions.by_index(podcontrol.CONTROLLER_UID_INDEX, sts["metadata"]["uid"])
        revisions: list[dict[str, Any]] = sorted(owned, key=lambda r: int(r.get("revision") or 0))
        status = sts.get("status") or {}
        collisions = int(status.get("collisionCount") or 0)
        data = revision_data(sts)
        by_name = {objects.name_of(r): r for r in revisions}
        top = int(revisions[-1].get("revision") or 0) if revisions else 0
        while True:
            name = f"{sts['metadata']['name']}-{revision_hash(data, collisions)}"
            existing = by_name.get(name)
            if existing is None:
                existing = await self._create_revision(sts, name, data, top + 1)
                if existing is None:  # a foreign object holds the name: hash again
                    collisions += 1
                    continue
                revisions.append(existing)
            elif existing.get("data") != data:
                collisions += 1
                continue
            elif int(existing.get("revision") or 0) < top:
                bumped = objects.clone(existing)
                bumped["revision"] = top + 1
                existing = await self.client.update(bumped)
                revisions = [r for r in revisions if objects.name_of(r) != name] + [existing]
            update = existing
            break
        current = next((r for r in revisions
                        if objects.name_of(r) == status.get("currentRevision")), update)
        return revisions, current, update, collisions

    async def _create_revision(self, sts: dict[str, Any], name: str, data: dict[str, Any],
                               number: int) -> dict[str, Any] | None:
        labels = dict(((data["spec"]["template"]).get("metadata") or {}).get("labels") or {})
        revision = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
                    "metadata": {"name": name, "namespace": sts["metadata"].get("namespace"),
                                 "labels": labels,
                                 "ownerReferences": [objects.owner_reference(sts)]},
                    "data": data, "revision": number}
        try:
            return await self.client.create(revision)
        except errors.AlreadyExists:
            found = await self.client.get("controllerrevisions.apps", name,
                                          sts["metadata"].get("namespace"))
            ref = objects.controller_of(found)
            if ref is not None and ref.get("uid") == sts["metadata"]["uid"] \
                    and found.get("data") == data:
                return found  # ours; the cache had not caught up
            return None

    async def _truncate_history(self, sts: dict[str, Any], revisions: list[dict[str, Any]],
                                pods: Iterable[dict[str, Any]], current: dict[str, Any],
                                update: dict[str, Any]) -> None:
        """Keep `revisionHistoryLimit` unused revisions; those pods still use always stay."""
        limit = int((sts.get("spec") or {}).get("revisionHistoryLimit", 10))
        in_use = {pod_revision(p) for p in pods} | {objects.name_of(current), objects.name_of(update)}
        history = [r for r in revisions if objects.name_of(r) not in in_use]
        for revision in history[:max(0, len(history) - limit)]:
            try:
                await self.client.delete("controllerrevisions.apps", objects.name_of(revision),
                                         objects.namespace_of(revision))
            except errors.NotFound:
                pass

    # -- acting -------------------------------------------------------------------------------

    async def _act(self, sts: dict[str, Any], action: Action, templates: dict[str, dict[str, Any]],
                   live: dict[int, dict[str, Any]]) -> None:
        name = pod_name(sts["metadata"]["name"], action.ordinal)
        if action.step is Step.CREATE:
            pod = new_pod(sts, templates[action.revision], action.revision, action.ordinal)
            await self._create_claims(sts, name)
            live[action.ordinal] = await self._create_pod(sts, pod)
            return
        pod = live[action.ordinal]
        if action.step is Step.SCALE_DOWN:
            await self._sync_pod_claim_owners(sts, pod, condemned=True)
        remaining = await self._delete_pod(sts, pod)
        if remaining is None:
            del live[action.ordinal]
        else:
            live[action.ordinal] = remaining  # terminating: its kubelet finishes it

    async def _create_claims(self, sts: dict[str, Any], pod: str) -> None:
        """Create the pod's missing claims; a claim still being deleted blocks the pod."""
        assert self._claims is not None
        for claim in new_claims(sts, pod):
            cname, namespace = claim["metadata"]["name"], claim["metadata"]["namespace"]
            existing = self._claims.get_by_name(namespace, cname)
            if existing is not None:
                if objects.is_terminating(existing):
                    raise RuntimeError(f"pvc {cname} is being deleted")
                continue
            claim["metadata"]["ownerReferences"] = wanted_claim_owners(claim, sts, None,
                                                                       condemned=False)
            if not claim["metadata"]["ownerReferences"]:
                del claim["metadata"]["ownerReferences"]
            try:
                await self.client.create(claim)
            except errors.AlreadyExists:
                continue
            except errors.APIError as exc:
                await self.recorder.warning(
                    sts, "FailedCreate", f"create Claim {cname} for Pod {pod} in StatefulSet "
                    f"{objects.name_of(sts)} failed error: {exc}")
                raise
            await self.recorder.normal(
                sts, "SuccessfulCreate",
                f"create Claim {cname} Pod {pod} in StatefulSet {objects.name_of(sts)} success")

    async def _create_pod(self, sts: dict[str, Any], pod: dict[str, Any]) -> dict[str, Any]:
        name = pod["metadata"]["name"]
        try:
            created = await self.client.create(pod)
        except errors.AlreadyExists:
            found = await self.client.get("pods", name, pod["metadata"]["namespace"])
            ref = objects.controller_of(found)
            if ref is not None and ref.get("uid") == sts["metadata"]["uid"]:
                return found  # created by an earlier pass the cache has not seen yet
            await self.recorder.warning(
                sts, "FailedCreate", f"create Pod {name} in StatefulSet {objects.name_of(sts)} "
                f"failed error: pods \"{name}\" already exists")
            raise
        except errors.APIError as exc:
            await self.recorder.warning(
                sts, "FailedCreate",
                f"create Pod {name} in StatefulSet {objects.name_of(sts)} failed error: {exc}")
            raise
        await self.recorder.normal(
            sts, "SuccessfulCreate",
            f"create Pod {name} in StatefulSet {objects.name_of(sts)} successful")
        return created

    async def _delete_pod(self, sts: dict[str, Any], pod: dict[str, Any]) -> dict[str, Any] | None:
        """Delete a member; returns it if it is still there (terminating), else None."""
        name = objects.name_of(pod)
        try:
            after = await self.client.delete("pods", name, objects.namespace_of(pod))
        except errors.NotFound:
            return None  # already gone: the cache was behind
        except errors.APIError as exc:
            await self.recorder.warning(
                sts, "FailedDelete",
                f"delete Pod {name} in StatefulSet {objects.name_of(sts)} failed error: {exc}")
            raise
        await self.recorder.normal(
            sts, "SuccessfulDelete",
            f"delete Pod {name} in StatefulSet {objects.name_of(sts)} successful")
        return after if objects.is_terminating(after) else None

    # -- claim retention ----------------------------------------------------------------------

    async def _sync_claim_owners(self, sts: dict[str, Any], view: SetView) -> None:
        """Bring the ownerReferences of existing pods' claims in line with the policy."""
        if not (sts.get("spec") or {}).get("volumeClaimTemplates"):
            return
        for ordinal, pod in view.pods.items():
            if objects.is_terminating(pod):
                continue
            condemned = not view.start <= ordinal < view.start + view.replicas
            await self._sync_pod_claim_owners(sts, pod, condemned=condemned)

    async def _sync_pod_claim_owners(self, sts: dict[str, Any], pod: dict[str, Any], *,
                                     condemned: bool) -> None:
        assert self._claims is not None
        for template in new_claims(sts, objects.name_of(pod)):
            claim = self._claims.get_by_name(template["metadata"]["namespace"],
                                             template["metadata"]["name"])
            if claim is None or objects.is_terminating(claim):
                continue
            wanted = wanted_claim_owners(claim, sts, pod, condemned=condemned)
            if wanted != (claim["metadata"].get("ownerReferences") or []):
                await self._patch_claim_owners(claim, wanted)

    # -- status -------------------------------------------------------------------------------

    async def _write_status(self, sts: dict[str, Any], pods: Iterable[dict[str, Any]],
                            current: dict[str, Any], update: dict[str, Any],
                            collisions: int) -> float | None:
        status, next_available = compute_status(
            sts, list(pods), current_revision=objects.name_of(current),
            update_revision=objects.name_of(update), collision_count=collisions,
            now=self._clock())
        if status != (sts.get("status") or {}):
            fresh = objects.clone(sts)
            fresh["status"] = status
            await self.client.update_status(fresh)
        return next_available
