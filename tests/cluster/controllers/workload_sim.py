"""Stand-ins for kubelets in controller tests: pod status written the way a kubelet would.

Kubernetes' own controller unit tests set pod phases and conditions by hand; these helpers do
the same through the client, so controllers see ordinary watch events.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, Callable

from cluster.api import errors, objects
from cluster.apiserver import APIServer
from cluster.client import Client, EventType


def peek(api: APIServer, resource: str, name: str, namespace: str | None = "default"
         ) -> dict[str, Any] | None:
    """The stored object, or None: a synchronous read for `wait_for` predicates."""
    try:
        return api.get(resource, name, namespace)
    except errors.NotFound:
        return None


def ready_status(ip: str, *, ready: bool = True, phase: str = "Running",
                 when: str = "2024-01-01T00:00:00Z") -> dict[str, Any]:
    """A pod status with an IP, a phase and a Ready condition."""
    flag = "True" if ready else "False"
    return {"phase": phase, "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": flag, "lastTransitionTime": when},
                           {"type": "ContainersReady", "status": flag,
                            "lastTransitionTime": when}]}


async def set_pod_status(client: Client, name: str, namespace: str = "default", *,
                         ip: str = "10.0.0.1", ready: bool = True,
                         phase: str = "Running") -> dict[str, Any]:
    """Write a kubelet-like status onto a pod, retrying on conflicts."""
    while True:
        pod = await client.get("pods", name, namespace)
        pod["status"] = ready_status(ip, ready=ready, phase=phase)
        try:
            return await client.update_status(pod)
        except errors.Conflict:
            continue


class AutoReady:
    """Marks every pod Running (and Ready, unless `ready_if` says no) as soon as it appears."""

    def __init__(self, client: Client, namespace: str | None = None, *,
                 ready_if: Callable[[dict[str, Any]], bool] = lambda pod: True) -> None:
        self._client = client
        self._namespace = namespace
        self._ready_if = ready_if
        self._ips = (f"10.1.{n // 250}.{n % 250 + 1}" for n in itertools.count())
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        async with self._client.watch("pods", self._namespace) as watch:
            async for event in watch:
                pod = event.object
                if event.type is EventType.DELETED or objects.is_terminating(pod):
                    continue
                if (pod.get("status") or {}).get("phase") != "Pending":
                    continue
                try:
                    await set_pod_status(self._client, objects.name_of(pod),
                                         objects.namespace_of(pod), ip=next(self._ips),
                                         ready=self._ready_if(pod))
                except errors.NotFound:
                    continue
