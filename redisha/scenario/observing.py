"""Looking at a RedisFailover from outside, as a user would: the API's pods and Endpoints,
each redis pod's `ROLE`, each sentinel's `GET-MASTER-ADDR-BY-NAME`.

The scenario never asks the operator what happened: it checks the operator's and the
sentinels' work with its own eyes, over the same TCP a client uses.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from cluster.api import errors, objects
from cluster.client import Client
from redisha.operator import manifests
from redisha.scenario.checker import RedisView, SentinelView, Topology


@dataclass(frozen=True)
class PodRef:
    """A running pod: where it is and who it is."""

    name: str
    ip: str
    node: str
    uid: str


def pod_ref(pod: dict[str, Any]) -> PodRef:
    return PodRef(objects.name_of(pod), (pod.get("status") or {}).get("podIP") or "",
                  (pod.get("spec") or {}).get("nodeName") or "", objects.uid_of(pod))


def is_running(pod: dict[str, Any]) -> bool:
    """Has an IP, is not being deleted, and every container runs."""
    status = pod.get("status") or {}
    states = [c.get("state") or {} for c in status.get("containerStatuses") or ()]
    return (bool(status.get("podIP")) and not objects.is_terminating(pod) and bool(states)
            and all("running" in s for s in states))


async def pods(client: Client, namespace: str, name: str, component: str,
               *, running: bool = True) -> list[dict[str, Any]]:
    """The RedisFailover's redis or sentinel pods (running ones only, by default)."""
    listed = await client.list("pods", namespace,
                               label_selector=manifests.selector(name, component))
    found = [p for p in listed.items if is_running(p) or not running]
    return sorted(found, key=objects.name_of)


async def service_ip(client: Client, namespace: str, service: str) -> str:
    return str(((await client.get("services", service, namespace)).get("spec") or {})
               .get("clusterIP") or "")


async def endpoint_ips(client: Client, namespace: str, service: str) -> tuple[str, ...]:
    """The Service's ready addresses (none when the Endpoints do not exist yet)."""
    try:
        eps = await client.get("endpoints", service, namespace)
    except errors.NotFound:
        return ()
    return tuple(sorted(a.get("ip", "") for subset in eps.get("subsets") or ()
                        for a in subset.get("addresses") or ()))


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


async def ask_role(name: str, ip: str, *, timeout: float) -> RedisView:
    """`ROLE` of the redis server at `ip`."""
    client = aioredis.Redis(host=ip, port=manifests.REDIS_PORT, socket_timeout=timeout,
                            socket_connect_timeout=timeout)
    try:
        reply = await client.execute_command("ROLE")
    except (TimeoutError, RedisError, OSError) as exc:
        return RedisView(name, ip, error=f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
    role = _text(reply[0]) if reply else ""
    if role == "slave":
        return RedisView(name, ip, "slave", _text(reply[1]),
                         link_up=_text(reply[3]) == "connected")
    return RedisView(name, ip, role)


async def ask_sentinel(name: str, ip: str, *, timeout: float) -> SentinelView:
    """The master address the sentinel at `ip` names."""
    client = aioredis.Redis(host=ip, port=manifests.SENTINEL_PORT, socket_timeout=timeout,
                            socket_connect_timeout=timeout)
    try:
        reply = await client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                             manifests.MASTER_NAME)
    except (TimeoutError, RedisError, OSError) as exc:
        return SentinelView(name, ip, error=f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
    return SentinelView(name, ip, _text(reply[0]) if reply else "")


async def observe(client: Client, namespace: str, name: str, *, expected_redis: int,
                  expected_sentinels: int, timeout: float = 0.3) -> Topology:
    """Every running redis pod's role, the primary Service's endpoints, every running
    sentinel's answer — asked at once."""
    redis_pods = await pods(client, namespace, name, manifests.REDIS)
    sentinel_pods = await pods(client, namespace, name, manifests.SENTINEL)
    roles = asyncio.gather(*(ask_role(objects.name_of(p), pod_ref(p).ip, timeout=timeout)
                             for p in redis_pods))
    views = asyncio.gather(*(ask_sentinel(objects.name_of(p), pod_ref(p).ip, timeout=timeout)
                             for p in sentinel_pods))
    redis_views, sentinel_views = await asyncio.gather(roles, views)
    endpoints = await endpoint_ips(client, namespace, manifests.primary_service_name(name))
    return Topology(redis=tuple(redis_views), endpoints=endpoints,
                    sentinels=tuple(sentinel_views), expected_redis=expected_redis,
                    expected_sentinels=expected_sentinels)


async def server_id(ip: str, *, timeout: float = 0.5) -> str:
    """`<ip>:6379#<run id>` of the redis server at `ip`, as the writer names servers."""
    client = aioredis.Redis(host=ip, port=manifests.REDIS_PORT, socket_timeout=timeout,
                            socket_connect_timeout=timeout)
    try:
        info = await client.info("server")
    except (TimeoutError, RedisError, OSError):
        return ""
    finally:
        await client.aclose()
    return f"{ip}:{manifests.REDIS_PORT}#{str(info.get('run_id', ''))[:12]}"


__all__ = ["PodRef", "ask_role", "ask_sentinel", "endpoint_ips", "is_running", "observe",
           "pod_ref", "pods", "server_id", "service_ip"]
