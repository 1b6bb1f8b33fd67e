"""The Deployment controller: ReplicaSets per pod template, rolled out, scaled and pruned.

A Deployment owns one ReplicaSet per pod template it has had, named
`<deployment>-<pod-template-hash>`; the hash also labels the ReplicaSet, its selector, its
template and so every pod (`redis-deployment-866c4c6cf9-8z8k5`). The ReplicaSet whose
template equals the Deployment's (ignoring that label) is the *new* one; all others are
*old*. A reconcile follows kube-controller-manager's `syncDeployment`:

- **Claim** the ReplicaSets: adopt matching orphans, release those whose labels no longer
  match (`podcontrol.RefManager`).
- **Scale** when only `spec.replicas` changed (the active ReplicaSets' desired-replicas
  annotation disagrees): the new size goes to the one active ReplicaSet, or is shared out
  proportionally among several in the middle of a rollout.
- **Roll out** a template change. RollingUpdate scales the new ReplicaSet up while the total
  stays within `replicas + maxSurge`, and old ones down while at least
  `replicas - maxUnavailable` pods stay available (surge rounds percentages up,
  unavailability rounds them down; both 0 becomes unavailability 1). Recreate scales every
  old ReplicaSet to 0, waits until their pods are gone, then creates the new one at full
  size.
- **Record** history: `deployment.kubernetes.io/revision` on the new ReplicaSet (highest old
  revision + 1) and on the Deployment, desired-replicas / max-replicas annotations on
  ReplicaSets it scales, and old ReplicaSets at zero beyond `revisionHistoryLimit` deleted.
- **Report** status (replicas, updatedReplicas, readyReplicas, availableReplicas,
  unavailableReplicas, observedGeneration) and the Available and Progressing conditions
  with kube's reasons and messages; `ScalingReplicaSet` events read `Scaled up replica set
  web-866c4c6cf9 to 3` on creation and `Scaled down replica set web-7d4b9c7b5c to 0 from 1`
  afterwards, as kube 1.27+ prints them.

Two deliberate differences from kube, both to keep the availability promise under stale
caches. The controller does not act until its informer shows its own last ReplicaSet write
(`podcontrol.Expectations`), and when deciding how far old ReplicaSets may shrink it counts
an old ReplicaSet's available pods as at most its `spec.replicas` (a ReplicaSet just told to
shrink still reports the pods it is about to delete).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import struct
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, cast

from cluster import informer as informing
from cluster import reconciling
from cluster.api import errors, names, objects, selectors
from cluster.client import Client, PatchType
from cluster.controllers import podcontrol
from cluster.events import EventRecorder

log = logging.getLogger(__name__)

KIND = "Deployment"
COMPONENT = "deployment-controller"

HASH_LABEL = "pod-template-hash"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
SKIPPED_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration", REVISION_ANNOTATION,
    REVISION_HISTORY_ANNOTATION, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION,
    "deprecated.deployment.rollback.to",
})
"""Deployment annotations not copied onto its ReplicaSets."""

MAX_REVISION_HISTORY_CHARS = 2000
"""Longest `revision-history` annotation kept on a ReplicaSet rolled back to."""

UNLIMITED = 2**31 - 1
"""`math.MaxInt32`: kube's sentinel for 'no progress deadline' / 'keep every revision'."""


class Strategy(str, enum.Enum):
    ROLLING_UPDATE = "RollingUpdate"
    RECREATE = "Recreate"


class ConditionType(str, enum.Enum):
    AVAILABLE = "Available"
    PROGRESSING = "Progressing"
    REPLICA_FAILURE = "ReplicaFailure"


class Reason(str, enum.Enum):
    """Condition reasons, spelled as kube's deployment controller spells them."""

    MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
    MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"
    NEW_RS_CREATED = "NewReplicaSetCreated"
    FOUND_NEW_RS = "FoundNewReplicaSet"
    RS_UPDATED = "ReplicaSetUpdated"
    NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
    TIMED_OUT = "ProgressDeadlineExceeded"
    PAUSED = "DeploymentPaused"
    RESUMED = "DeploymentResumed"
    FAILED_RS_CREATE = "ReplicaSetCreateError"


@dataclass(frozen=True)
class DeploymentSettings:
    """Tuning of the Deployment controller (kube-controller-manager's defaults)."""

    workers: int = 5
    """Deployments reconciled concurrently (`--concurrent-deployment-syncs`)."""

    expectations_timeout: float = 300.0
    """Seconds after which an unobserved write of ours stops blocking a Deployment."""

    stop_timeout: float = 5.0
    """Seconds `stop` lets in-flight reconciles finish before cancelling them."""

    coalesce: float = 0.1
    """A busy key is reconciled at most once per this many seconds (the first event of a
    quiet key still acts at once): a hundred pods turning Running cost a few status
    syncs, not a hundred. 0 reconciles on every event, as kube-controller-manager does."""


# -- the pod-template hash --------------------------------------------------------------------

_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def fnv32a(data: bytes, state: int = _FNV32_OFFSET) -> int:
    """32-bit FNV-1a of `data`, continuing from `state` (Go's `hash/fnv.New32a`)."""
    h = state
    for byte in data:
        h = ((h ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """Map each character onto the vowel-free alphabet (apimachinery's `SafeEncodeString`)."""
    alphabet = names.NAME_SUFFIX_ALPHABET
    return "".join(alphabet[ord(c) % len(alphabet)] for c in text)


def pod_template_hash(template: dict[str, Any], collision_count: int | None = None) -> str:
    """The `pod-template-hash` of a Deployment's pod template (kube's `ComputeHash`).

    kube hashes the Go struct with FNV-32a, appends the collision count as 8 bytes when
    there is one, and spells the decimal value of the hash with `safe_encode`: 8 to 10
    characters like `866c4c6cf9` (fewer only for the rare hash below 10,000,000). We hash
    a canonical JSON encoding (sorted keys, no spaces), so the value depends only on the
    stored template and survives restarts and Python's per-process hash salt; it cannot
    equal Go's bytes, and need not.
    """
    data = json.dumps(template, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()
    h = fnv32a(data)
    if collision_count is not None:
        # kube writes the count as a little-endian uint32 into an 8-byte buffer.
        h = fnv32a(struct.pack("<I", collision_count & 0xFFFFFFFF) + b"\x00" * 4, h)
    return safe_encode(str(h))


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    meta = template.get("metadata") or {}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    rest = {k: v for k, v in meta.items() if k != "labels" and v not in (None, {}, [])}
    if labels:
        rest["labels"] = labels
    return {**template, "metadata": rest}


def templates_equal_ignoring_hash(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two pod templates differ at most in the `pod-template-hash` label."""
    return _without_hash(a) == _without_hash(b)


# -- reading Deployments and ReplicaSets ------------------------------------------------------


def _spec(obj: dict[str, Any] | None) -> dict[str, Any]:
    return (obj or {}).get("spec") or {}


def _status(obj: dict[str, Any] | None) -> dict[str, Any]:
    return (obj or {}).get("status") or {}


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def replicas_of(obj: dict[str, Any] | None) -> int:
    """`spec.replicas` (defaulted to 1 by the API server)."""
    value = _spec(obj).get("replicas", 1)
    return int(value) if value is not None else 1


def _count(obj: dict[str, Any] | None, field: str) -> int:
    return int(_status(obj).get(field) or 0)


def _created(obj: dict[str, Any]) -> str:
    return (obj.get("metadata") or {}).get("creationTimestamp") or ""


def by_creation(rs: dict[str, Any]) -> tuple[str, str]:
    """Oldest first, then by name (kube's `ReplicaSetsByCreationTimestamp`)."""
    return (_created(rs), objects.name_of(rs))


def revision_of(obj: dict[str, Any]) -> int:
    """The `deployment.kubernetes.io/revision` annotation as a number (0 if absent)."""
    try:
        return int(_annotations(obj).get(REVISION_ANNOTATION, "0"))
    except ValueError:
        return 0


def is_rolling(d: dict[str, Any]) -> bool:
    kind = (_spec(d).get("strategy") or {}).get("type", Strategy.ROLLING_UPDATE.value)
    return bool(kind == Strategy.ROLLING_UPDATE.value)


def scaled_value(value: Any, total: int, *, round_up: bool) -> int:
    """An int-or-percent against `total` (apimachinery's `GetScaledValueFromIntOrPercent`)."""
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            percent = int(text[:-1])
            scaled = percent * total
            return -(-scaled // 100) if round_up else scaled // 100
        if text.isdigit():
            return int(text)
    raise ValueError(f"invalid value for IntOrString: {value!r}: it is not a percentage")


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """(surge, unavailable) in pods: surge rounds up, unavailability down; never both 0."""
    surge = scaled_value(max_surge if max_surge is not None else 0, desired, round_up=True)
    unavailable = scaled_value(max_unavailable if max_unavailable is not None else 0, desired,
                               round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # kube: otherwise a rollout could never make progress
    return surge, unavailable


def _fenceposts(d: dict[str, Any]) -> tuple[int, int]:
    rolling = (_spec(d).get("strategy") or {}).get("rollingUpdate") or {}
    return resolve_fenceposts(rolling.get("maxSurge", "25%"), rolling.get("maxUnavailable", "25%"),
                              replicas_of(d))


def max_surge(d: dict[str, Any]) -> int:
    return _fenceposts(d)[0] if is_rolling(d) else 0


def max_unavailable(d: dict[str, Any]) -> int:
    if not is_rolling(d) or replicas_of(d) == 0:
        return 0
    return min(_fenceposts(d)[1], replicas_of(d))


def total_replicas(rss: Iterable[dict[str, Any] | None]) -> int:
    return sum(replicas_of(rs) for rs in rss if rs is not None)


def new_rs_new_replicas(d: dict[str, Any], all_rss: Iterable[dict[str, Any] | None],
                        new_rs: dict[str, Any]) -> int:
    """How big the new ReplicaSet may be now (kube's `NewRSNewReplicas`)."""
    if not is_rolling(d):
        return replicas_of(d)
    current = total_replicas(all_rss)
    most = replicas_of(d) + max_surge(d)
    if current >= most:
        return replicas_of(new_rs)
    grow = min(most - current, replicas_of(d) - replicas_of(new_rs))
    return replicas_of(new_rs) + grow


def is_saturated(d: dict[str, Any], rs: dict[str, Any] | None) -> bool:
    """The new ReplicaSet runs all the Deployment's replicas, all available."""
    if rs is None:
        return False
    try:
        desired = int(_annotations(rs).get(DESIRED_REPLICAS_ANNOTATION, ""))
    except ValueError:
        return False
    want = replicas_of(d)
    return replicas_of(rs) == want and desired == want and _count(rs, "availableReplicas") == want


def active(rss: Iterable[dict[str, Any] | None]) -> list[dict[str, Any]]:
    return [rs for rs in rss if rs is not None and replicas_of(rs) > 0]


def find_active_or_latest(new_rs: dict[str, Any] | None,
                          old_rss: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The one active ReplicaSet, or the newest if none is active; None if several are."""
    if new_rs is None and not old_rss:
        return None
    newest_first = sorted(old_rss, key=by_creation, reverse=True)
    running = active([*newest_first, new_rs])
    if not running:
        return new_rs if new_rs is not None else newest_first[0]
    return running[0] if len(running) == 1 else None


def _max_replicas_annotation(rs: dict[str, Any]) -> int | None:
    try:
        return int(_annotations(rs)[MAX_REPLICAS_ANNOTATION])
    except (KeyError, ValueError):
        return None


def get_proportion(rs: dict[str, Any], d: dict[str, Any], to_add: int, added: int) -> int:
    """This ReplicaSet's share of `to_add` replicas (kube's `GetProportion`)."""
    if replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    allowed = to_add - added
    if replicas_of(d) == 0:
        fraction = -replicas_of(rs)
    else:
        before = _max_replicas_annotation(rs) or 0
        if before == 0:
            before = _count(d, "replicas")
        if before == 0:
            fraction = 0
        else:
            scaled = replicas_of(rs) * (replicas_of(d) + max_surge(d)) / before
            fraction = int(scaled + 0.5) - replicas_of(rs)  # Go's math.Round for >= 0
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def set_replicas_annotations(rs: dict[str, Any], desired: int, most: int) -> bool:
    """Write desired/max-replicas annotations on a ReplicaSet copy; True if they changed."""
    annotations = objects.meta(rs).setdefault("annotations", {})
    changed = False
    for key, value in ((DESIRED_REPLICAS_ANNOTATION, str(desired)),
                       (MAX_REPLICAS_ANNOTATION, str(most))):
        if annotations.get(key) != value:
            annotations[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: dict[str, Any], desired: int, most: int) -> bool:
    annotations = _annotations(rs)
    return annotations.get(DESIRED_REPLICAS_ANNOTATION) != str(desired) \
        or annotations.get(MAX_REPLICAS_ANNOTATION) != str(most)


def set_new_rs_annotations(d: dict[str, Any], rs: dict[str, Any], new_revision: int, *,
                           exists: bool) -> bool:
    """Copy the Deployment's annotations and the revision onto a ReplicaSet copy.

    The revision only ever grows; when an existing ReplicaSet gets a higher one (a rollback
    to it), its former revisions are kept in `revision-history`. True if anything changed.
    """
    annotations = objects.meta(rs).setdefault("annotations", {})
    changed = False
    for key, value in _annotations(d).items():
        if key in SKIPPED_ANNOTATIONS or annotations.get(key) == value:
            continue
        annotations[key] = value
        changed = True
    old_text = annotations.get(REVISION_ANNOTATION)
    try:
        old_revision = int(old_text) if old_text else 0
    except ValueError:
        return changed
    if old_revision < new_revision:
        annotations[REVISION_ANNOTATION] = str(new_revision)
        changed = True
        if old_text:
            history = [h for h in annotations.get(REVISION_HISTORY_ANNOTATION, "").split(",") if h]
            history.append(old_text)
            while history and len(",".join(history)) > MAX_REVISION_HISTORY_CHARS:
                history.pop(0)
            annotations[REVISION_HISTORY_ANNOTATION] = ",".join(history)
    if not exists and set_replicas_annotations(rs, replicas_of(d), replicas_of(d) + max_surge(d)):
        changed = True
    return changed


# -- status and conditions --------------------------------------------------------------------


def has_progress_deadline(d: dict[str, Any]) -> bool:
    deadline = _spec(d).get("progressDeadlineSeconds")
    return deadline is not None and int(deadline) != UNLIMITED


def get_condition(status: dict[str, Any], kind: ConditionType) -> dict[str, Any] | None:
    for cond in status.get("conditions") or ():
        if cond.get("type") == kind.value:
            return cast(dict[str, Any], cond)
    return None


def new_condition(kind: ConditionType, status: str, reason: Reason | str, message: str,
                  now: float) -> dict[str, Any]:
    stamp = objects.format_time(now)
    return {"type": kind.value, "status": status, "lastUpdateTime": stamp,
            "lastTransitionTime": stamp, "reason": str(getattr(reason, "value", reason)),
            "message": message}


def set_condition(status: dict[str, Any], cond: dict[str, Any]) -> None:
    """Replace the condition of its type, keeping lastTransitionTime if status is unchanged.

    Like kube's `SetDeploymentCondition`, the same status and reason is not an update.
    """
    current = next((c for c in status.get("conditions") or () if c.get("type") == cond["type"]),
                   None)
    if current is not None and current.get("status") == cond["status"] \
            and current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: dict[str, Any], kind: str) -> None:
    kept = [c for c in status.get("conditions") or () if c.get("type") != kind]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def calculate_status(all_rss: list[dict[str, Any] | None], new_rs: dict[str, Any] | None,
                     d: dict[str, Any], now: float) -> dict[str, Any]:
    """The Deployment's status from its ReplicaSets (kube's `calculateStatus`).

    Conditions are carried over from `d` and Available is set; zero counts are left out,
    as Go's `omitempty` leaves them out of real objects.
    """
    rss = [rs for rs in all_rss if rs is not None]
    available = sum(_count(rs, "availableReplicas") for rs in rss)
    counts = {
        "observedGeneration": int((d.get("metadata") or {}).get("generation") or 0),
        "replicas": sum(_count(rs, "replicas") for rs in rss),
        "updatedReplicas": _count(new_rs, "replicas"),
        "readyReplicas": sum(_count(rs, "readyReplicas") for rs in rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, total_replicas(rss) - available),
    }
    status: dict[str, Any] = {k: v for k, v in counts.items() if v}
    old = _status(d)
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if old.get("conditions"):
        status["conditions"] = [dict(c) for c in old["conditions"]]
    if available >= replicas_of(d) - max_unavailable(d):
        set_condition(status, new_condition(ConditionType.AVAILABLE, "True",
                                            Reason.MINIMUM_REPLICAS_AVAILABLE,
                                            "Deployment has minimum availability.", now))
    else:
        set_condition(status, new_condition(ConditionType.AVAILABLE, "False",
                                            Reason.MINIMUM_REPLICAS_UNAVAILABLE,
                                            "Deployment does not have minimum availability.",
                                            now))
    return status


def deployment_complete(d: dict[str, Any], status: dict[str, Any]) -> bool:
    """Every replica updated and available, for the Deployment's current generation."""
    want = replicas_of(d)
    return (int(status.get("updatedReplicas") or 0) == want
            and int(status.get("replicas") or 0) == want
            and int(status.get("availableReplicas") or 0) == want
            and int(status.get("observedGeneration") or 0)
            >= int((d.get("metadata") or {}).get("generation") or 0))


def deployment_progressing(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether `new` shows progress over `old` (kube's `DeploymentProgressing`)."""
    def n(status: dict[str, Any], field: str) -> int:
        return int(status.get(field) or 0)
    old_old = n(old, "replicas") - n(old, "updatedReplicas")
    new_old = n(new, "replicas") - n(new, "updatedReplicas")
    return (n(new, "updatedReplicas") > n(old, "updatedReplicas") or new_old < old_old
            or n(new, "readyReplicas") > n(old, "readyReplicas")
            or n(new, "availableReplicas") > n(old, "availableReplicas"))


def deployment_timed_out(d: dict[str, Any], status: dict[str, Any], now: float) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(status, ConditionType.PROGRESSING)
    if cond is None or cond.get("reason") == Reason.NEW_RS_AVAILABLE.value:
        return False
    if cond.get("reason") == Reason.TIMED_OUT.value:
        return True
    try:
        since = objects.parse_time(cond.get("lastUpdateTime") or "")
    except ValueError:
        return False
    return since + int(_spec(d)["progressDeadlineSeconds"]) < now


# -- the controller ---------------------------------------------------------------------------


class DeploymentController:
    """Reconciles every Deployment; `start` wires informers and workers, `stop` ends them.

    `start` starts the informers it needs if the factory has not (sharing them with other
    controllers); `stop` leaves them running, since they are the factory's to stop.
    """

    def __init__(self, client: Client, informers: informing.InformerFactory,
                 settings: DeploymentSettings | None = None, *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.informers = informers
        self.settings = settings or DeploymentSettings()
        self.clock = clock
        self.recorder = EventRecorder(client, component=COMPONENT, clock=clock)
        self.rs_expectations = podcontrol.Expectations(
            timeout=self.settings.expectations_timeout, clock=monotonic)
        """Our ReplicaSet writes, waited for in the ReplicaSet informer."""
        self.own_expectations = podcontrol.Expectations(
            timeout=self.settings.expectations_timeout, clock=monotonic)
        """Our writes to Deployments (status, revision), waited for in their informer."""
        self.controller = reconciling.Controller("deployment", self.reconcile,
                                                 workers=self.settings.workers,
                                                 coalesce=self.settings.coalesce,
                                                 clock=monotonic)
        self._rs_router = podcontrol.OwnerRouter(self.controller, KIND, self._enqueue_matching)
        self.deployments: informing.Informer | None = None
        self.replica_sets: informing.Informer | None = None
        self.pods: informing.Informer | None = None
        self._registrations: list[informing.HandlerRegistration] = []
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            return
        self.deployments = await self.informers.informer("deployments")
        self.replica_sets = await self.informers.informer(
            "replicasets", indexers=podcontrol.OWNERSHIP_INDEXERS)
        self.pods = await self.informers.informer("pods", indexers=podcontrol.OWNERSHIP_INDEXERS)
        self._registrations = [
            reconciling.watch_into(self.deployments, self.controller),
            self.replica_sets.add_handler(on_add=self._rs_router.added,
                                          on_update=self._rs_router.updated,
                                          on_delete=self._rs_router.deleted),
            self.pods.add_handler(on_delete=self._pod_deleted),
        ]
        self.controller.wait_for(self.replica_sets)
        self.controller.wait_for(self.pods)
        for informer in (self.deployments, self.replica_sets, self.pods):
            await informer.start()
        self._task = asyncio.get_running_loop().create_task(self.controller.run(),
                                                            name="deployment-controller")

    async def stop(self) -> None:
        for registration in self._registrations:
            registration.remove()
        self._registrations = []
        await self.controller.stop(timeout=self.settings.stop_timeout)
        task, self._task = self._task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    # -- event handlers: they only enqueue keys -------------------------------------------------

    def _pod_deleted(self, pod: dict[str, Any]) -> None:
        """A Recreate rollout waits for the old pods to be gone: their going wakes it."""
        ref = objects.controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet" or self.replica_sets is None:
            return
        rs = self.replica_sets.get_by_name(objects.namespace_of(pod), str(ref.get("name", "")))
        if rs is not None:
            self.controller.enqueue_owner(rs, KIND)

    def _enqueue_matching(self, rs: dict[str, Any]) -> None:
        """An orphan ReplicaSet appeared or changed: every Deployment that could adopt it looks."""
        if self.deployments is None:
            return
        labels = objects.labels_of(rs)
        for d in self.deployments.by_index(informing.NAMESPACE_INDEX, objects.namespace_of(rs)):
            try:
                selector = selectors.from_label_selector(_spec(d).get("selector"))
            except errors.APIError:
                continue
            if not selector.empty and selector.matches(labels):
                self.controller.enqueue(objects.object_key(d))

    # -- reconcile ---------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> reconciling.Result | None:
        assert self.deployments is not None and self.replica_sets is not None, "start() first"
        cached = self.deployments.get(key)
        if cached is None:
            self.rs_expectations.forget(key)
            self.own_expectations.forget(key)
            return None
        if not self.rs_expectations.satisfied(key, self.replica_sets.last_sync_revision) \
                or not self.own_expectations.satisfied(key, self.deployments.last_sync_revision):
            return None  # the informer event of our last write enqueues this key again
        try:
            return await _Sync(self, key, cached).run()
        except errors.Conflict:
            # Something we read changed under us; its informer event brings us back with a
            # fresher view, so a retry now would only conflict again.
            log.debug("deployment %s: conflict; waiting for the newer version", key)
            return None

    def expect_rs(self, key: str, written: dict[str, Any] | None) -> None:
        self.rs_expectations.expect(key, written)


class _Sync:
    """One reconcile of one Deployment: its working copy, its ReplicaSets, and the writes."""

    def __init__(self, ctl: DeploymentController, key: str, cached: dict[str, Any]) -> None:
        self.ctl = ctl
        self.client = ctl.client
        self.key = key
        self.cached = cached
        self.d = objects.clone(cached)
        self.now = ctl.clock()
        self.requeue_after: float | None = None
        self.rs_list: list[dict[str, Any]] = []

    async def run(self) -> reconciling.Result | None:
        d = self.d
        selector_spec = _spec(d).get("selector")
        try:
            selector = selectors.from_label_selector(selector_spec)
        except errors.APIError as exc:
            raise reconciling.TerminalError(f"{self.key}: invalid selector: {exc}") from exc
        if not selector_spec or selector.empty:
            await self.ctl.recorder.warning(
                d, "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.")
            status = _status(d)
            generation = int(objects.meta(d).get("generation") or 0)
            if int(status.get("observedGeneration") or 0) < generation:
                d["status"] = {**status, "observedGeneration": generation}
                await self._write()
            return None
        assert self.ctl.replica_sets is not None
        refs = podcontrol.RefManager(self.client, self.cached, selector, resource="replicasets",
                                     on_write=lambda obj: self.ctl.expect_rs(self.key, obj))
        self.rs_list = await refs.claim(podcontrol.candidates(self.ctl.replica_sets, self.cached))
        if objects.is_terminating(d):
            await self.sync_status_only()
        else:
            self.check_paused_conditions()
            if _spec(d).get("paused") or self.is_scaling_event():
                await self.sync()
            elif is_rolling(d):
                await self.rollout_rolling()
            else:
                await self.rollout_recreate()
        await self._write()
        return reconciling.Result(self.requeue_after) if self.requeue_after is not None else None

    # -- writes ------------------------------------------------------------------------------------

    async def _write(self) -> None:
        """Write the Deployment's status and revision annotation where they changed."""
        if _status(self.d) != _status(self.cached):
            try:
                written = await self.client.update_status(self.d)
            except errors.NotFound:
                return
            self.ctl.own_expectations.expect(self.key, written)
        revision = _annotations(self.d).get(REVISION_ANNOTATION)
        if revision is not None and revision != _annotations(self.cached).get(REVISION_ANNOTATION):
            ns, name = objects.split_key(self.key)
            try:
                patch = {"metadata": {"annotations": {REVISION_ANNOTATION: revision}}}
                written = await self.client.patch("deployments", name, patch, ns,
                                                  patch_type=PatchType.MERGE)
            except errors.NotFound:
                return
            self.ctl.own_expectations.expect(self.key, written)

    async def _update_rs(self, rs: dict[str, Any]) -> dict[str, Any]:
        written = await self.client.update(rs)
        self.ctl.expect_rs(self.key, written)
        return written

    # -- ReplicaSets: new, old, revisions ---------------------------------------------------------

    def find_new_rs(self) -> dict[str, Any] | None:
        template = _spec(self.d).get("template") or {}
        for rs in sorted(self.rs_list, key=by_creation):
            if templates_equal_ignoring_hash(_spec(rs).get("template") or {}, template):
                return rs
        return None

    async def get_all_rs_and_sync_revision(self, *, create: bool
                                           ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        new_rs = self.find_new_rs()
        old_rss = [rs for rs in self.rs_list if rs is not new_rs]
        return await self.get_new_rs(new_rs, old_rss, create=create), old_rss

    async def get_new_rs(self, existing: dict[str, Any] | None, old_rss: list[dict[str, Any]], *,
                         create: bool) -> dict[str, Any] | None:
        """The new ReplicaSet with its revision synced, created first if `create`."""
        d = self.d
        new_revision = max((revision_of(rs) for rs in old_rss), default=0) + 1
        if existing is not None:
            rs: dict[str, Any] = objects.clone(existing)
            changed = set_new_rs_annotations(d, rs, new_revision, exists=True)
            min_ready = _spec(d).get("minReadySeconds", 0) or 0
            if (_spec(rs).get("minReadySeconds", 0) or 0) != min_ready:
                rs["spec"]["minReadySeconds"] = min_ready
                changed = True
            if changed:
                rs = await self._update_rs(rs)
            self.set_revision(_annotations(rs).get(REVISION_ANNOTATION, ""))
            progressing = get_condition(_status(d), ConditionType.PROGRESSING)
            if has_progress_deadline(d) and progressing is None:
                set_condition(d.setdefault("status", {}), new_condition(
                    ConditionType.PROGRESSING, "True", Reason.FOUND_NEW_RS,
                    f'Found new replica set "{objects.name_of(rs)}"', self.now))
            return rs
        if not create:
            return None
        return await self.create_new_rs(old_rss, new_revision)

    async def create_new_rs(self, old_rss: list[dict[str, Any]],
                            new_revision: int) -> dict[str, Any] | None:
        d = self.d
        spec = _spec(d)
        template = objects.clone(spec.get("template") or {})
        collision_count = _status(d).get("collisionCount")
        pod_hash = pod_template_hash(template, collision_count)
        template.setdefault("metadata", {})
        template["metadata"]["labels"] = {**(template["metadata"].get("labels") or {}),
                                          HASH_LABEL: pod_hash}
        selector = objects.clone(spec.get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
        name = f"{objects.name_of(d)}-{pod_hash}"
        new_rs: dict[str, Any] = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": objects.namespace_of(d),
                         "labels": dict(template["metadata"]["labels"]),
                         "ownerReferences": [objects.owner_reference(d)]},
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        if spec.get("minReadySeconds"):
            new_rs["spec"]["minReadySeconds"] = spec["minReadySeconds"]
        new_rs["spec"]["replicas"] = new_rs_new_replicas(d, [*old_rss, new_rs], new_rs)
        set_new_rs_annotations(d, new_rs, new_revision, exists=False)
        try:
            created = await self.client.create(new_rs)
        except errors.AlreadyExists:
            return await self._adopt_existing_or_collide(name)
        except errors.APIError as exc:
            if podcontrol.namespace_terminating(exc):
                raise
            message = f'Failed to create new replica set "{name}": {exc}'
            if has_progress_deadline(d):
                set_condition(d.setdefault("status", {}), new_condition(
                    ConditionType.PROGRESSING, "False", Reason.FAILED_RS_CREATE, message, self.now))
                await self._write()
            await self.ctl.recorder.warning(d, Reason.FAILED_RS_CREATE.value, message)
            raise
        self.ctl.expect_rs(self.key, created)
        self.rs_list.append(created)
        replicas = replicas_of(created)
        if replicas > 0:
            await self.ctl.recorder.normal(d, "ScalingReplicaSet",
                                           f"Scaled up replica set {name} to {replicas}")
        self.set_revision(str(new_revision))
        if has_progress_deadline(d):
            set_condition(d.setdefault("status", {}), new_condition(
                ConditionType.PROGRESSING, "True", Reason.NEW_RS_CREATED,
                f'Created new replica set "{name}"', self.now))
        return created

    async def _adopt_existing_or_collide(self, name: str) -> dict[str, Any] | None:
        """Our name is taken: it is our ReplicaSet (a stale cache), or a hash collision."""
        d = self.d
        try:
            existing = await self.client.get("replicasets", name, objects.namespace_of(d))
        except errors.NotFound:
            raise errors.Conflict("replicasets", name, "replica set vanished while creating")
        ref = objects.controller_of(existing)
        ours = ref is not None and ref.get("uid") == objects.uid_of(d)
        if ours and templates_equal_ignoring_hash(_spec(d).get("template") or {},
                                                  _spec(existing).get("template") or {}):
            self.rs_list.append(existing)
            return existing
        # A different template hashed to our name: bump collisionCount so that the next
        # reconcile computes another hash (kube's answer to collisions).
        status = d.setdefault("status", {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        log.info("deployment %s: hash collision on %s; collisionCount now %d", self.key, name,
                 status["collisionCount"])
        await self._write()
        raise errors.Conflict("replicasets", name, "pod-template-hash collision")

    def set_revision(self, revision: str) -> None:
        if not revision:
            return
        annotations = objects.meta(self.d).setdefault("annotations", {})
        annotations[REVISION_ANNOTATION] = revision

    # -- scaling -----------------------------------------------------------------------------------

    def is_scaling_event(self) -> bool:
        """Some active ReplicaSet was sized for another `spec.replicas` than the current one."""
        for rs in active(self.rs_list):
            try:
                desired = int(_annotations(rs)[DESIRED_REPLICAS_ANNOTATION])
            except (KeyError, ValueError):
                continue
            if desired != replicas_of(self.d):
                return True
        return False

    async def scale_rs_and_record(self, rs: dict[str, Any], new_scale: int
                                  ) -> tuple[bool, dict[str, Any]]:
        if replicas_of(rs) == new_scale:
            return False, rs
        operation = "up" if replicas_of(rs) < new_scale else "down"
        return await self.scale_rs(rs, new_scale, operation)

    async def scale_rs(self, rs: dict[str, Any], new_scale: int, operation: str
                       ) -> tuple[bool, dict[str, Any]]:
        """Resize one ReplicaSet and stamp the desired/max annotations on it."""
        d = self.d
        want, most = replicas_of(d), replicas_of(d) + max_surge(d)
        size_changed = replicas_of(rs) != new_scale
        if not size_changed and not replicas_annotations_need_update(rs, want, most):
            return False, rs
        old_scale = replicas_of(rs)
        copy = objects.clone(rs)
        copy["spec"]["replicas"] = new_scale
        set_replicas_annotations(copy, want, most)
        written = await self._update_rs(copy)
        self._replace(rs, written)
        if size_changed:
            await self.ctl.recorder.normal(d, "ScalingReplicaSet",
                                           f"Scaled {operation} replica set {objects.name_of(rs)} "
                                           f"to {new_scale} from {old_scale}")
        return size_changed, written

    def _replace(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        for i, rs in enumerate(self.rs_list):
            if rs is old or objects.uid_of(rs) == objects.uid_of(old):
                self.rs_list[i] = new

    async def scale(self, new_rs: dict[str, Any] | None, old_rss: list[dict[str, Any]]) -> None:
        """Apply a change of `spec.replicas` (kube's `scale`), proportionally mid-rollout."""
        d = self.d
        target = find_active_or_latest(new_rs, old_rss)
        if target is not None:
            if replicas_of(target) != replicas_of(d):
                await self.scale_rs_and_record(target, replicas_of(d))
            return
        if is_saturated(d, new_rs):
            for old in active(old_rss):
                await self.scale_rs_and_record(old, 0)
            return
        if not is_rolling(d):
            return
        rss = active([*old_rss, new_rs])
        allowed = replicas_of(d) + max_surge(d) if replicas_of(d) > 0 else 0
        to_add = allowed - total_replicas(rss)
        operation = ""
        if to_add != 0:
            # Larger first; among equals the newer grows first and the older shrinks first
            # (two stable sorts: by age, then by size).
            rss.sort(key=by_creation, reverse=to_add > 0)
            rss.sort(key=lambda rs: -replicas_of(rs))
            operation = "up" if to_add > 0 else "down"
        sizes: dict[str, int] = {}
        added = 0
        for rs in rss:
            if to_add != 0:
                share = get_proportion(rs, d, to_add, added)
                sizes[objects.uid_of(rs)] = replicas_of(rs) + share
                added += share
            else:
                sizes[objects.uid_of(rs)] = replicas_of(rs)
        for i, rs in enumerate(rss):
            uid = objects.uid_of(rs)
            if i == 0 and to_add != 0:
                sizes[uid] = max(0, sizes[uid] + to_add - added)
            await self.scale_rs(rs, sizes[uid], operation)

    async def sync(self) -> None:
        """Scaling or paused: resize, prune history if paused, report (kube's `sync`)."""
        new_rs, old_rss = await self.get_all_rs_and_sync_revision(create=False)
        await self.scale(new_rs, old_rss)
        new_rs, old_rss = self._refresh(new_rs, old_rss)
        if _spec(self.d).get("paused"):
            await self.cleanup(old_rss)
        self.sync_deployment_status([*old_rss, new_rs], new_rs)

    async def sync_status_only(self) -> None:
        new_rs, old_rss = await self.get_all_rs_and_sync_revision(create=False)
        self.sync_deployment_status([*old_rss, new_rs], new_rs)

    def _fresh(self, rs: dict[str, Any]) -> dict[str, Any]:
        """A ReplicaSet as it is after this reconcile's writes."""
        uid = objects.uid_of(rs)
        return next((cur for cur in self.rs_list if objects.uid_of(cur) == uid), rs)

    def _fresh_list(self, rss: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self._fresh(rs) for rs in rss]

    def _refresh(self, new_rs: dict[str, Any] | None, old_rss: list[dict[str, Any]]
                 ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        return (self._fresh(new_rs) if new_rs is not None else None), self._fresh_list(old_rss)

    # -- rolling update ----------------------------------------------------------------------------

    async def rollout_rolling(self) -> None:
        new_rs, old_rss = await self.get_all_rs_and_sync_revision(create=True)
        if new_rs is None:
            return
        if await self.reconcile_new_rs(new_rs, old_rss):
            self.sync_rollout_status([*self._fresh_list(old_rss), self._fresh(new_rs)],
                                     self._fresh(new_rs))
            return
        new_rs, old_rss = self._fresh(new_rs), self._fresh_list(old_rss)
        if await self.reconcile_old_rss(new_rs, old_rss):
            self.sync_rollout_status([*self._fresh_list(old_rss), self._fresh(new_rs)],
                                     self._fresh(new_rs))
            return
        if deployment_complete(self.d, _status(self.d)):
            await self.cleanup(old_rss)
        self.sync_rollout_status([*old_rss, new_rs], new_rs)

    async def reconcile_new_rs(self, new_rs: dict[str, Any], old_rss: list[dict[str, Any]]) -> bool:
        want = replicas_of(self.d)
        if replicas_of(new_rs) == want:
            return False
        if replicas_of(new_rs) > want:
            scaled, _ = await self.scale_rs_and_record(new_rs, want)
            return scaled
        size = new_rs_new_replicas(self.d, [*old_rss, new_rs], new_rs)
        scaled, _ = await self.scale_rs_and_record(new_rs, size)
        return scaled

    async def reconcile_old_rss(self, new_rs: dict[str, Any],
                                old_rss: list[dict[str, Any]]) -> bool:
        """Shrink old ReplicaSets as far as availability allows (kube's
        `reconcileOldReplicaSets`): first their unavailable pods, then available ones down
        to `replicas - maxUnavailable`."""
        olds = active(old_rss)
        if total_replicas(olds) == 0:
            return False
        d = self.d
        all_pods = total_replicas([*old_rss, new_rs])
        min_available = replicas_of(d) - max_unavailable(d)
        new_unavailable = replicas_of(new_rs) - _count(new_rs, "availableReplicas")
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = await self.cleanup_unhealthy(olds, max_scaled_down)
        scaled = await self.scale_down_old_for_rolling(self._fresh(new_rs),
                                                       active(self._fresh_list(old_rss)))
        return cleaned + scaled > 0

    async def cleanup_unhealthy(self, olds: list[dict[str, Any]], limit: int) -> int:
        """Scale old ReplicaSets down by their unavailable pods, at most `limit` in all."""
        total = 0
        for rs in sorted(olds, key=by_creation):
            if total >= limit:
                break
            unhealthy = replicas_of(rs) - _count(rs, "availableReplicas")
            if replicas_of(rs) == 0 or unhealthy <= 0:
                continue
            step = min(limit - total, unhealthy)
            await self.scale_rs_and_record(rs, replicas_of(rs) - step)
            total += step
        return total

    async def scale_down_old_for_rolling(self, new_rs: dict[str, Any],
                                         olds: list[dict[str, Any]]) -> int:
        d = self.d
        min_available = replicas_of(d) - max_unavailable(d)
        available = _available_now(new_rs) + sum(_available_now(rs) for rs in olds)
        if available <= min_available:
            return 0
        budget = available - min_available
        total = 0
        for rs in sorted(olds, key=by_creation):
            if total >= budget:
                break
            if replicas_of(rs) == 0:
                continue
            step = min(replicas_of(rs), budget - total)
            await self.scale_rs_and_record(rs, replicas_of(rs) - step)
            total += step
        return total

    # -- recreate ----------------------------------------------------------------------------------

    async def rollout_recreate(self) -> None:
        new_rs, old_rss = await self.get_all_rs_and_sync_revision(create=False)
        scaled = False
        for rs in active(old_rss):
            changed, _ = await self.scale_rs_and_record(rs, 0)
            scaled = scaled or changed
        new_rs, old_rss = self._refresh(new_rs, old_rss)
        if scaled or self.old_pods_running(new_rs, old_rss):
            self.sync_rollout_status([*old_rss, new_rs], new_rs)
            return
        if new_rs is None:
            new_rs = await self.get_new_rs(None, old_rss, create=True)
            if new_rs is None:
                return
        await self.scale_rs_and_record(new_rs, replicas_of(self.d))
        new_rs, old_rss = self._fresh(new_rs), self._fresh_list(old_rss)
        if deployment_complete(self.d, _status(self.d)):
            await self.cleanup(old_rss)
        self.sync_rollout_status([*old_rss, new_rs], new_rs)

    def old_pods_running(self, new_rs: dict[str, Any] | None,
                         old_rss: list[dict[str, Any]]) -> bool:
        """Any old ReplicaSet still reports pods, or still has a pod not yet finished."""
        if sum(_count(rs, "replicas") for rs in old_rss) > 0:
            return True
        assert self.ctl.pods is not None
        new_uid = objects.uid_of(new_rs) if new_rs is not None else None
        for rs in old_rss:
            if objects.uid_of(rs) == new_uid:
                continue
            for pod in self.ctl.pods.by_index(podcontrol.CONTROLLER_UID_INDEX, objects.uid_of(rs)):
                if podcontrol.phase_of(pod) not in ("Succeeded", "Failed"):
                    return True
        return False

    # -- history -----------------------------------------------------------------------------------

    async def cleanup(self, old_rss: list[dict[str, Any]]) -> None:
        """Delete the oldest revisions at zero replicas beyond `revisionHistoryLimit`."""
        limit = _spec(self.d).get("revisionHistoryLimit")
        if limit is None or int(limit) == UNLIMITED:
            return
        cleanable = [rs for rs in old_rss if not objects.is_terminating(rs)]
        excess = len(cleanable) - int(limit)
        if excess <= 0:
            return
        cleanable.sort(key=lambda rs: (revision_of(rs), by_creation(rs)))
        for rs in cleanable[:excess]:
            meta = rs.get("metadata") or {}
            if _count(rs, "replicas") != 0 or replicas_of(rs) != 0 \
                    or int(meta.get("generation") or 0) > _count(rs, "observedGeneration"):
                continue
            try:
                gone = await self.client.delete("replicasets", meta["name"], meta.get("namespace"))
            except errors.NotFound:
                continue
            self.ctl.expect_rs(self.key, gone)

    # -- status ------------------------------------------------------------------------------------

    def check_paused_conditions(self) -> None:
        d = self.d
        if not has_progress_deadline(d):
            return
        status = d.setdefault("status", {})
        cond = get_condition(status, ConditionType.PROGRESSING)
        if cond is not None and cond.get("reason") == Reason.TIMED_OUT.value:
            return
        paused_recorded = cond is not None and cond.get("reason") == Reason.PAUSED.value
        if _spec(d).get("paused") and not paused_recorded:
            set_condition(status, new_condition(ConditionType.PROGRESSING, "Unknown",
                                                Reason.PAUSED, "Deployment is paused", self.now))
        elif not _spec(d).get("paused") and paused_recorded:
            set_condition(status, new_condition(ConditionType.PROGRESSING, "Unknown",
                                                Reason.RESUMED, "Deployment is resumed", self.now))

    def sync_deployment_status(self, all_rss: list[dict[str, Any] | None],
                               new_rs: dict[str, Any] | None) -> None:
        self.d["status"] = calculate_status(all_rss, new_rs, self.d, self.now)

    def sync_rollout_status(self, all_rss: list[dict[str, Any] | None],
                            new_rs: dict[str, Any] | None) -> None:
        """Status plus the Progressing condition (kube's `syncRolloutStatus`)."""
        d, now = self.d, self.now
        status = calculate_status(all_rss, new_rs, d, now)
        if not has_progress_deadline(d):
            remove_condition(status, ConditionType.PROGRESSING.value)
        current = get_condition(_status(d), ConditionType.PROGRESSING)
        all_updated = int(status.get("replicas") or 0) == int(status.get("updatedReplicas") or 0)
        complete_before = (all_updated and current is not None
                           and current.get("reason") == Reason.NEW_RS_AVAILABLE.value)
        rs_name = objects.name_of(new_rs) if new_rs is not None else None
        what = f'ReplicaSet "{rs_name}"' if rs_name else f'Deployment "{objects.name_of(d)}"'
        if has_progress_deadline(d) and not complete_before:
            if deployment_complete(d, status):
                set_condition(status, new_condition(
                    ConditionType.PROGRESSING, "True", Reason.NEW_RS_AVAILABLE,
                    f"{what} has successfully progressed.", now))
            elif deployment_progressing(_status(d), status):
                cond = new_condition(ConditionType.PROGRESSING, "True", Reason.RS_UPDATED,
                                     f"{what} is progressing.", now)
                existing = get_condition(status, ConditionType.PROGRESSING)
                if existing is not None:
                    if existing.get("status") == "True":
                        cond["lastTransitionTime"] = existing.get("lastTransitionTime")
                    remove_condition(status, ConditionType.PROGRESSING.value)
                set_condition(status, cond)
            elif deployment_timed_out(d, status, now):
                set_condition(status, new_condition(
                    ConditionType.PROGRESSING, "False", Reason.TIMED_OUT,
                    f"{what} has timed out progressing.", now))
        self._replica_failure(all_rss, status)
        d["status"] = status
        self.requeue_after = self._stuck_requeue(status)

    def _replica_failure(self, all_rss: list[dict[str, Any] | None],
                         status: dict[str, Any]) -> None:
        """Surface a ReplicaSet's ReplicaFailure condition on the Deployment."""
        for rs in all_rss:
            for cond in _status(rs).get("conditions") or ():
                if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
                    set_condition(status, new_condition(
                        ConditionType.REPLICA_FAILURE, "True", cond.get("reason", ""),
                        cond.get("message", ""), self.now))
                    return
        remove_condition(status, ConditionType.REPLICA_FAILURE.value)

    def _stuck_requeue(self, status: dict[str, Any]) -> float | None:
        """When to look again for a rollout that may time out (kube's `requeueStuckDeployment`)."""
        d = self.d
        current = get_condition(status, ConditionType.PROGRESSING)
        if not has_progress_deadline(d) or current is None:
            return None
        if deployment_complete(d, status) or current.get("reason") == Reason.TIMED_OUT.value:
            return None
        try:
            since = objects.parse_time(current.get("lastUpdateTime") or "")
        except ValueError:
            return None
        after = since + int(_spec(d)["progressDeadlineSeconds"]) - self.now
        return max(after, 0.0) + 1.0


def _available_now(rs: dict[str, Any] | None) -> int:
    """Available pods a ReplicaSet will keep: never more than it is now asked to run."""
    if rs is None:
        return 0
    return min(_count(rs, "availableReplicas"), replicas_of(rs))

