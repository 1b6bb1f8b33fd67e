"""The one client interface every component uses to talk to the API.

Controllers, kubelets, the scheduler, the operator, the command layer and the dashboard all
hold a `Client` and nothing else of the engine. Today the only implementation is
`InProcessClient`, which calls the embedded `APIServer` directly; an HTTP implementation can
replace it without touching callers, which is why every call is `async` even though the
in-process one never waits.

Objects returned by `get`, `list`, `create`, `update`, `patch` and `delete` are the caller's
own copies. Objects inside `WatchEvent`s are shared with the store and every other watcher:
treat them as read-only (`objects.clone` first if you must change one).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator, Protocol

from cluster.api import objects
from cluster.api.options import PatchType, PropagationPolicy
from cluster.api.podio import ExecResult, LogLine
from cluster.api.watch import EventType, WatchEvent
from cluster.api.resources import ResourceType

__all__ = ["Client", "EventType", "ExecResult", "InProcessClient", "LogLine", "ObjectList",
           "PatchType", "PropagationPolicy", "Selector", "Watch", "WatchEvent"]

if TYPE_CHECKING:
    from cluster.apiserver import APIServer
    from cluster.store import Watcher


@dataclass(frozen=True, slots=True)
class ObjectList:
    """A list's items and the store revision they reflect (the List's resourceVersion)."""

    items: list[dict[str, Any]]
    resource_version: int


Selector = str | None
"""Label and field selectors travel as the REST API's strings: `app=web,tier!=db`."""


class Watch(Protocol):
    """An open watch: an async iterator of `WatchEvent`s until closed.

    Iteration raises `errors.Expired` when the requested revision was compacted, or when
    the server dropped this watcher for falling too far behind; the caller relists.
    """

    def __aiter__(self) -> AsyncIterator[WatchEvent]: ...

    async def __anext__(self) -> WatchEvent: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> "Watch": ...

    async def __aexit__(self, *exc: object) -> None: ...


class Client(Protocol):
    """What every component may ask of the API.

    `resource` names a kind the way kubectl accepts it: plural, singular, kind or short
    name, optionally group-qualified (`pods`, `Pod`, `po`, `deployments.apps`, `rf`).
    `namespace=None` means `default` for namespaced kinds in single-object calls, and all
    namespaces in `list` and `watch`; it is ignored for cluster-scoped kinds.
    """

    async def resolve(self, resource: str) -> ResourceType: ...

    async def resources(self) -> list[ResourceType]: ...

    async def version(self) -> dict[str, str]:
        """The server's `/version` document (major, minor, gitVersion, platform)."""
        ...

    async def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]: ...

    async def list(self, resource: str, namespace: str | None = None, *,
                   label_selector: Selector = None,
                   field_selector: Selector = None) -> ObjectList: ...

    def watch(self, resource: str, namespace: str | None = None, *,
              label_selector: Selector = None, field_selector: Selector = None,
              resource_version: int | None = None) -> Watch:
        """Events after `resource_version`; with None, synthetic ADDED events for every
        object that exists now, then the changes after that."""
        ...

    async def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]: ...

    async def update(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace spec and metadata; status is ignored for kinds with a status subresource.
        Fails with Conflict when metadata.resourceVersion is set and stale."""
        ...

    async def update_status(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace status only (the `/status` subresource)."""
        ...

    async def patch(self, resource: str, name: str, patch: Any, namespace: str | None = None, *,
                    patch_type: PatchType = PatchType.MERGE,
                    subresource: str | None = None) -> dict[str, Any]: ...

    async def bind(self, name: str, namespace: str | None, node_name: str) -> dict[str, Any]:
        """Assign a pending pod to a node (the `pods/binding` subresource); Conflict if the
        pod is already bound. Returns a success `Status`, as the subresource does."""
        ...

    async def delete(self, resource: str, name: str, namespace: str | None = None, *,
                     propagation_policy: PropagationPolicy | None = None,
                     resource_version: str | None = None,
                     grace_period_seconds: int | None = None) -> dict[str, Any]:
        """Returns the object as it is after the call: gone (its last state) or, when
        finalizers or foreground deletion hold it, marked with a deletionTimestamp."""
        ...

    # Logs and exec (`pods/log`, `pods/exec`): the API server forwards them to the pod's
    # kubelet. `container` may be left out only for a pod with one container (BadRequest
    # `a container name must be specified for pod X, choose one of: [a b]` otherwise).
    # Errors: NotFound for a missing pod; BadRequest for an unknown container, a container
    # still waiting to start, or no previous attempt; a 500 `BackendUnreachable` when the
    # pod's node has no kubelet answering.

    async def pod_logs(self, name: str, namespace: str | None = None, *,
                       container: str | None = None, previous: bool = False,
                       tail_lines: int | None = None) -> builtins.list[LogLine]:
        """The retained lines of the container's current (or `previous`) attempt, the last
        `tail_lines` of them; none yet for a pod not scheduled."""
        ...

    def follow_pod_logs(self, name: str, namespace: str | None = None, *,
                        container: str | None = None, previous: bool = False,
                        tail_lines: int | None = None) -> AsyncIterator[LogLine]:
        """`pod_logs`, then each new line until the container attempt ends; errors come
        from the first step of the iteration; cancel (or close) it to stop early."""
        ...

    async def pod_exec(self, name: str, namespace: str | None = None, *,
                       command: builtins.list[str], container: str | None = None,
                       stdin: bytes | None = None, timeout: float | None = None) -> ExecResult:
        """Run `command` in a running container; its exit code and output, whatever the
        code. BadRequest `pod X does not have a host assigned` before scheduling;
        TimeoutError (the command killed) when `timeout` passes."""
        ...


class InProcessClient:
    """`Client` over an `APIServer` in the same process and event loop.

    It copies objects on the way out so callers may change what they get, and hands watch
    events through untouched (shared, read-only) because copying every event for every
    watcher would dominate the cost of a busy cluster.
    """

    def __init__(self, apiserver: "APIServer") -> None:
        self._api = apiserver

    @property
    def apiserver(self) -> "APIServer":
        return self._api

    async def resolve(self, resource: str) -> ResourceType:
        return self._api.resolve(resource)

    async def resources(self) -> list[ResourceType]:
        return list(self._api.registry)

    async def version(self) -> dict[str, str]:
        return self._api.version()

    async def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        return objects.clone(self._api.get(resource, name, namespace))

    async def list(self, resource: str, namespace: str | None = None, *,
                   label_selector: Selector = None,
                   field_selector: Selector = None) -> ObjectList:
        items, revision = self._api.list(resource, namespace, label_selector=label_selector,
                                         field_selector=field_selector)
        return ObjectList([objects.clone(o) for o in items], revision)

    def watch(self, resource: str, namespace: str | None = None, *,
              label_selector: Selector = None, field_selector: Selector = None,
              resource_version: int | None = None) -> "Watcher":
        return self._api.watch(resource, namespace, label_selector=label_selector,
                               field_selector=field_selector, resource_version=resource_version)

    async def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        return objects.clone(self._api.create(obj, namespace))

    async def update(self, obj: dict[str, Any]) -> dict[str, Any]:
        return objects.clone(self._api.update(obj))

    async def update_status(self, obj: dict[str, Any]) -> dict[str, Any]:
        return objects.clone(self._api.update(obj, subresource="status"))

    async def patch(self, resource: str, name: str, patch: Any, namespace: str | None = None, *,
                    patch_type: PatchType = PatchType.MERGE,
                    subresource: str | None = None) -> dict[str, Any]:
        return objects.clone(self._api.patch(resource, name, patch, namespace,
                                             patch_type=patch_type, subresource=subresource))

    async def delete(self, resource: str, name: str, namespace: str | None = None, *,
                     propagation_policy: PropagationPolicy | None = None,
                     resource_version: str | None = None,
                     grace_period_seconds: int | None = None) -> dict[str, Any]:
        return objects.clone(self._api.delete(
            resource, name, namespace, propagation_policy=propagation_policy,
            resource_version=resource_version, grace_period_seconds=grace_period_seconds))

    async def pod_logs(self, name: str, namespace: str | None = None, *,
                       container: str | None = None, previous: bool = False,
                       tail_lines: int | None = None) -> builtins.list[LogLine]:
        return self._api.pod_logs(name, namespace, container=container, previous=previous,
                                  tail_lines=tail_lines)

    def follow_pod_logs(self, name: str, namespace: str | None = None, *,
                        container: str | None = None, previous: bool = False,
                        tail_lines: int | None = None) -> AsyncIterator[LogLine]:
        return self._api.follow_pod_logs(name, namespace, container=container,
                                         previous=previous, tail_lines=tail_lines)

    async def pod_exec(self, name: str, namespace: str | None = None, *,
                       command: builtins.list[str], container: str | None = None,
                       stdin: bytes | None = None, timeout: float | None = None) -> ExecResult:
        return await self._api.pod_exec(name, namespace, command=command, container=container,
                                        stdin=stdin, timeout=timeout)

    async def bind(self, name: str, namespace: str | None, node_name: str) -> dict[str, Any]:
        self._api.bind(name, namespace, node_name)
        # POST pods/<name>/binding answers with a Status, not the pod.
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "code": 201}
