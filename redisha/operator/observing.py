"""What the operator sees of one RedisFailover: its pods, what each redis server and each
sentinel answers. `observe` gathers it (all pods asked at once, each within the clients'
timeout, so one frozen pod costs one timeout); the records are what `decisions` reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cluster.api import objects
from redisha.operator import manifests
from redisha.operator.nodes import NodeInfo, RedisNodes
from redisha.operator.resp_client import ReplyError, Unreachable
from redisha.operator.sentinels import Address, MasterState, SentinelClient


@dataclass(frozen=True)
class RedisPod:
    """One pod of the redis StatefulSet and what its server said."""

    name: str
    ordinal: int
    ip: str
    node: str
    role_label: str | None
    terminating: bool
    running: bool
    """The redis container is running (not waiting, not terminated)."""
    info: NodeInfo | None = None
    """None: not asked (no address, not running) or no answer in time."""

    @property
    def reachable(self) -> bool:
        return self.info is not None

    @property
    def address(self) -> Address:
        return Address(self.ip, manifests.REDIS_PORT)


@dataclass(frozen=True)
class SentinelPod:
    """One sentinel pod and what it said about `mymaster`."""

    name: str
    ip: str
    running: bool
    answered: bool = False
    named: Address | None = None
    """Its GET-MASTER-ADDR-BY-NAME answer: the primary it names."""
    master: MasterState | None = None
    """None: not monitoring `mymaster` (or no answer: see `answered`)."""
    replicas: tuple[Address, ...] = ()
    sentinels: tuple[Address, ...] = ()


@dataclass(frozen=True)
class Observation:
    """One RedisFailover's world at one moment."""

    redis: tuple[RedisPod, ...]
    sentinels: tuple[SentinelPod, ...]
    bootstrapped: bool
    """The sentinel ConfigMap exists: a primary was chosen once, sentinels follow it."""

    def pod_at(self, address: Address | None) -> RedisPod | None:
        """The live (not terminating) redis pod with this address."""
        if address is None:
            return None
        for pod in self.redis:
            if pod.ip == address.ip and not pod.terminating:
                return pod
        return None

    def pod_named(self, name: str) -> RedisPod | None:
        for pod in self.redis:
            if pod.name == name:
                return pod
        return None


def _ordinal(name: str) -> int:
    _, _, tail = name.rpartition("-")
    return int(tail) if tail.isdigit() else -1


def container_running(pod: dict[str, Any], container: str) -> bool:
    for status in (pod.get("status") or {}).get("containerStatuses") or ():
        if status.get("name") == container:
            return "running" in (status.get("state") or {})
    return False


def redis_pod(pod: dict[str, Any], info: NodeInfo | None = None) -> RedisPod:
    """The record of a redis pod object (before or after asking its server)."""
    return RedisPod(
        name=objects.name_of(pod), ordinal=_ordinal(objects.name_of(pod)),
        ip=(pod.get("status") or {}).get("podIP") or "",
        node=(pod.get("spec") or {}).get("nodeName") or "",
        role_label=objects.labels_of(pod).get(manifests.ROLE_LABEL),
        terminating=objects.is_terminating(pod),
        running=container_running(pod, manifests.REDIS), info=info)


def _askable(pod: dict[str, Any], container: str) -> bool:
    return bool((pod.get("status") or {}).get("podIP")) and container_running(pod, container)


async def _ask_redis(nodes: RedisNodes, pod: dict[str, Any]) -> RedisPod:
    info = None
    if _askable(pod, manifests.REDIS):
        try:
            info = await nodes.info(pod["status"]["podIP"])
        except (Unreachable, ReplyError):
            info = None
    return redis_pod(pod, info)


async def _ask_sentinel(sentinels: SentinelClient, pod: dict[str, Any]) -> SentinelPod:
    name = objects.name_of(pod)
    ip = (pod.get("status") or {}).get("podIP") or ""
    running = _askable(pod, manifests.SENTINEL) and not objects.is_terminating(pod)
    if not running:
        return SentinelPod(name=name, ip=ip, running=False)
    try:
        view = await sentinels.observe(ip)
    except (Unreachable, ReplyError):
        return SentinelPod(name=name, ip=ip, running=True)
    return SentinelPod(name=name, ip=ip, running=True, answered=True, named=view.named,
                       master=view.master, replicas=view.replicas, sentinels=view.sentinels)


def _by_name(pods: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(pods, key=lambda p: (_ordinal(objects.name_of(p)), objects.name_of(p)))


async def ask_sentinels(sentinels: SentinelClient,
                        pods: Iterable[dict[str, Any]]) -> tuple[SentinelPod, ...]:
    """Every sentinel pod's view, asked at once."""
    return tuple(await asyncio.gather(*(_ask_sentinel(sentinels, p) for p in _by_name(pods))))


async def ask_redis(nodes: RedisNodes, pods: Iterable[dict[str, Any]]) -> tuple[RedisPod, ...]:
    """Every redis pod's state, asked at once."""
    return tuple(await asyncio.gather(*(_ask_redis(nodes, p) for p in _by_name(pods))))
