"""Which part a pod plays in Redis HA, and the tone its row is painted in.

The dashboard learns roles the way `kubectl` would: from pod labels the operator writes
(`redisha.io/role=primary|replica`, `app.kubernetes.io/component=sentinel`), and the
`redisha.io/writes-to` label of a writer workload. Pods nobody labels —
the tutorial's plain StatefulSet — are asked with `redis-cli role` through the API's exec,
and the answer is kept beside the label, never written back.
"""

from __future__ import annotations

import enum
import re
from typing import Any, Mapping

from cluster.api import objects

ROLE_LABEL = "redisha.io/role"
"""The operator's label for a Redis pod's role; the primary Service selects `primary`."""
COMPONENT_LABEL = "app.kubernetes.io/component"
"""Kubernetes' recommended label, which the operator sets to `redis` or `sentinel`."""
INSTANCE_LABEL = "app.kubernetes.io/instance"
"""The operator sets it to the RedisFailover's name on every pod it owns."""
WRITES_TO_LABEL = "redisha.io/writes-to"
"""On a writer workload's pods: the name of the RedisFailover (same namespace) it writes
to. The dashboard follows those pods' logs for the HA pane's write counters."""


class Role(str, enum.Enum):
    """A Redis pod's role as the dashboard shows it (Redis' own words are master/slave)."""

    PRIMARY = "primary"
    REPLICA = "replica"
    SENTINEL = "sentinel"
    WRITER = "writer"
    """A client workload writing to a RedisFailover (`redisha.io/writes-to`)."""


_LABEL_WORDS = {"primary": Role.PRIMARY, "master": Role.PRIMARY, "replica": Role.REPLICA,
                "slave": Role.REPLICA, "sentinel": Role.SENTINEL}


def role_from_labels(pod: dict[str, Any]) -> Role | None:
    """The role the operator labelled the pod with, if any."""
    labels = objects.labels_of(pod)
    word = labels.get(ROLE_LABEL)
    if word in _LABEL_WORDS:
        return _LABEL_WORDS[word]
    if labels.get(COMPONENT_LABEL) == "sentinel":
        return Role.SENTINEL
    if labels.get(WRITES_TO_LABEL):
        return Role.WRITER
    return None


def labelled_by_operator(pod: dict[str, Any]) -> bool:
    """Is the pod one the RedisFailover operator runs (`app.kubernetes.io/instance` and
    component `redis` or `sentinel`)? Its labels are the whole truth about its role:
    without a role label it is neither primary nor replica for now (a frozen ex-primary,
    a pod waiting to rejoin), and asking it would only find what the operator overruled."""
    labels = objects.labels_of(pod)
    return INSTANCE_LABEL in labels and labels.get(COMPONENT_LABEL) in ("redis", "sentinel")


def role_from_reply(reply: str) -> Role | None:
    """The role in `redis-cli role` output: its first line is master, slave or sentinel."""
    first = reply.strip().split("\n", 1)[0].strip().strip('"').lower()
    return _LABEL_WORDS.get(first)


def role_of(pod: dict[str, Any], probed: Mapping[str, Role]) -> Role | None:
    """Labels first; the probe's answer (by `ns/name` key) for pods nobody labelled."""
    return role_from_labels(pod) or probed.get(objects.object_key(pod))


def runs_redis(pod: dict[str, Any]) -> bool:
    """Does any container run a `redis` image (any registry, any tag)?"""
    for container in (pod.get("spec") or {}).get("containers") or ():
        image = str(container.get("image") or "")
        repo = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
        if repo == "redis":
            return True
    return False


class Tone(str, enum.Enum):
    """How a row is painted; each is a component class `row--<tone>` in the stylesheet."""

    NORMAL = "normal"
    PRIMARY = "primary"
    REPLICA = "replica"
    SENTINEL = "sentinel"
    PENDING = "pending"
    FAILING = "failing"
    TERMINATING = "terminating"
    COMPLETED = "completed"


_PENDING_STATUSES = frozenset({"Pending", "ContainerCreating", "PodInitializing",
                               "SchedulingGated", "NotReady"})
_DONE_STATUSES = frozenset({"Completed", "Succeeded"})
_INIT_PROGRESS = re.compile(r"Init:\d+/\d+")
"""`Init:0/2`: init containers still running, as planned (`Init:Error` is a failure)."""


def pod_tone(status: str, ready: str, role: Role | None) -> Tone:
    """Failing and terminating win over roles: a crashing primary must look alarming."""
    if status == "Terminating":
        return Tone.TERMINATING
    if status in _DONE_STATUSES:
        return Tone.COMPLETED
    if status in _PENDING_STATUSES or _INIT_PROGRESS.fullmatch(status):
        return Tone.PENDING
    if status != "Running":
        return Tone.FAILING
    have, _, want = ready.partition("/")
    if have != want:
        return Tone.PENDING
    if role is Role.PRIMARY:
        return Tone.PRIMARY
    if role is Role.REPLICA:
        return Tone.REPLICA
    if role is Role.SENTINEL:
        return Tone.SENTINEL
    return Tone.NORMAL


def status_tone(status: str) -> Tone:
    """The tone of a row of any other kind, by its STATUS-like cell."""
    if status in ("Ready", "Active", "Bound", "Running", "Normal", ""):
        return Tone.NORMAL
    if status in ("Terminating",):
        return Tone.TERMINATING
    if status in ("Pending",) or "SchedulingDisabled" in status:
        return Tone.PENDING
    return Tone.FAILING
