"""What the tutorial shows, as data, and the pure functions that compare output with it.

`Expected` holds every outcome the tutorial states (a line of output, a name's shape, an
order of events). The steps read it instead of spelling the strings inline, so a test
can hand the replay a wrong expectation and see the check it feeds fail by name. The
functions here only read text and objects; they never touch the cluster.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cluster.api import names


@dataclass(frozen=True)
class Expected:
    """The outcomes the tutorial (and kubectl/redis wording) promise, step by step."""

    run_created: str = "pod/redis created"
    """Step 3.1: what `kubectl run redis --image=redis` prints."""
    running_row: tuple[str, ...] = ("1/1", "Running", "0")
    """Step 3.1: READY, STATUS and RESTARTS of a started single-container pod."""
    ping_reply: str = "PONG"
    """Step 3.2: redis-cli's answer to `ping`."""
    small_node_memory: str = "3584Mi"
    """Step 3.3: node1's allocatable memory (3.5Gi, as the API spells it)."""
    large_node_memory: str = "4Gi"
    """Step 3.3: node2's allocatable memory."""
    container_request: str = "2Gi"
    """Step 3.3: what each of the pod's two containers asks for."""
    unschedulable: tuple[str, ...] = ("0/2 nodes are available", "2 Insufficient memory")
    """Step 3.3: the scheduler's words for a second such pod, which fits on no node."""
    deployment_created: str = "deployment.apps/redis-deployment created"
    """Step 3.4: what `kubectl create deployment` prints."""
    replacement_seconds: float = 10.0
    """Step 3.4: "within seconds" — how long the Deployment may take to replace its pod."""
    pod_file_created: str = "pod/redis created"
    """Step 3.5: what `kubectl create -f pod.yaml` prints."""
    event_chain: tuple[str, ...] = ("ScalingReplicaSet", "SuccessfulCreate", "Scheduled",
                                    "Pulled", "Created", "Started")
    """Step 4: the list-watch chain, in the order its events are recorded."""
    statefulset_created: str = "statefulset.apps/redis-sfs created"
    statefulset_pods: tuple[str, ...] = ("redis-sfs-0", "redis-sfs-1")
    """Step 5.1: the StatefulSet's pods, in the order they are started."""
    before_service: tuple[str, ...] = (
        "Connecting to MASTER redis-sfs-0.redis-sfs:6379",
        "Unable to connect to MASTER: Resource temporarily unavailable")
    """Step 5.2: the replica's log while the master's name does not resolve."""
    service_created: str = "service/redis-sfs created"
    service_row: tuple[str, ...] = ("redis-sfs", "ClusterIP", "None", "<none>", "6379/TCP")
    """Step 5.3: `kubectl get service` for the headless Service (AGE follows)."""
    sync_sequence: tuple[str, ...] = (
        "MASTER <-> REPLICA sync started",
        "Master replied to PING, replication can continue...",
        "Partial resynchronization not possible (no cached master)",
        "Full resync from master: ",
        "MASTER <-> REPLICA sync: receiving ",
        "MASTER <-> REPLICA sync: Flushing old data",
        "MASTER <-> REPLICA sync: Loading DB in memory",
        "MASTER <-> REPLICA sync: Finished with success")
    """Step 5.3: the replica's log once the Service exists, in this order."""
    master_address: str = "redis-sfs-0.redis-sfs.default.svc.cluster.local"
    """Step 5.3: the master's full DNS name, reached from the replica."""
    replica_role: tuple[str, ...] = ("role:slave", "master_link_status:down")
    """Step 5.5: the replica's INFO replication after its master died."""
    readonly_error: str = "READONLY You can't write against a read only replica."
    """Step 5.5: a write to the orphaned replica."""
    crd_applied: str = "customresourcedefinition.apiextensions.k8s.io/memcacheds.cache.example.com created"
    memcached_applied: str = "memcached.cache.example.com/memcached-sample created"
    memcached_deployment: str = "memcached-sample"
    """Step 6: the Deployment the operator makes, named after the Memcached object."""
    operator_log: str = "Creating a new Deployment"
    """Step 6: the controller's log line (with the Deployment's namespace and name)."""


EXPECTED = Expected()
"""The tutorial as written."""


# -- kubectl tables ---------------------------------------------------------------------------


def table_rows(stdout: str) -> list[list[str]]:
    """The data rows of a kubectl table, cells split on blanks (header dropped).

    Only for tables whose cells hold no spaces (pods, services, nodes).
    """
    lines = [line for line in stdout.splitlines() if line.strip()]
    return [line.split() for line in lines[1:]]


def table_row(stdout: str, name: str) -> list[str] | None:
    """The row whose first cell is `name`, or None."""
    for row in table_rows(stdout):
        if row and row[0] == name:
            return row
    return None


def row_starts_with(row: Sequence[str] | None, cells: Sequence[str]) -> bool:
    """Whether a row begins with `cells` (the columns after it, like AGE, vary)."""
    return row is not None and list(row[:len(cells)]) == list(cells)


# -- names ------------------------------------------------------------------------------------

_ALPHABET = f"[{names.NAME_SUFFIX_ALPHABET}]"


@dataclass(frozen=True)
class GeneratedName:
    """A Deployment pod's name taken apart: `<deployment>-<template hash>-<suffix>`."""

    owner: str
    template_hash: str
    suffix: str


def deployment_pod_name(name: str, deployment: str) -> GeneratedName | None:
    """`redis-deployment-866c4c6cf9-8z8k5` → its parts, or None if not of that shape.

    The hash is the pod-template-hash (up to 10 characters of Kubernetes' vowel-free
    alphabet), the suffix 5 random characters of the same alphabet.
    """
    pattern = (rf"{re.escape(deployment)}-(?P<hash>{_ALPHABET}{{1,10}})"
               rf"-(?P<suffix>{_ALPHABET}{{{names.NAME_SUFFIX_LENGTH}}})")
    match = re.fullmatch(pattern, name)
    if match is None:
        return None
    return GeneratedName(deployment, match["hash"], match["suffix"])


# -- sequences --------------------------------------------------------------------------------


def missing_in_order(lines: Iterable[str], wanted: Sequence[str]) -> str | None:
    """The first of `wanted` not found, in order, as a substring of successive lines.

    None when every piece appears, each on a line after the previous piece's line.
    """
    pending = list(wanted)
    for line in lines:
        if pending and pending[0] in line:
            pending.pop(0)
    return pending[0] if pending else None


def info_fields(text: str) -> dict[str, str]:
    """`INFO` output (`# Replication` headers, `key:value` lines) as a dict."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value
    return fields


# -- objects ----------------------------------------------------------------------------------


def pod_ready(pod: Mapping[str, Any] | None) -> bool:
    """Running with its Ready condition True: what `1/1 Running` means."""
    if not pod or (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in status.get("conditions") or [])


def node_ready(node: Mapping[str, Any]) -> str:
    """The status of a node's Ready condition: `True`, `False` or `Unknown`."""
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("status", "Unknown"))
    return "Unknown"


def event_time(event: Mapping[str, Any]) -> int:
    """When an event was first recorded, in nanoseconds.

    Event names are `<object>.<hex nanoseconds>` (client-go's convention, which the
    engine's recorder keeps), finer than `firstTimestamp`'s whole seconds.
    """
    name = str((event.get("metadata") or {}).get("name", ""))
    try:
        return int(name.rpartition(".")[2], 16)
    except ValueError:
        return 0


def chain_order(events: Iterable[Mapping[str, Any]], chain: Sequence[str]) -> tuple[list[str], str | None]:
    """The chain's reasons as recorded (earliest occurrence of each), and the first
    problem: a missing link or one recorded before the link it follows."""
    first: dict[str, int] = {}
    for event in events:
        reason = str(event.get("reason", ""))
        if reason in chain:
            stamp = event_time(event)
            first[reason] = min(stamp, first.get(reason, stamp))
    seen = sorted(first, key=lambda reason: first[reason])
    missing = [reason for reason in chain if reason not in first]
    if missing:
        return seen, f"no {missing[0]} event"
    for before, after in itertools.pairwise(chain):
        if first[after] < first[before]:
            return seen, f"{after} was recorded before {before}"
    return seen, None
