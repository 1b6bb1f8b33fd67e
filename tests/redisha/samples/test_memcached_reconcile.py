"""One reconcile at a time, against an API server alone (no kubelets, no controllers)."""

from __future__ import annotations

import logging
from typing import Any

from cluster import reconciling
from cluster.api import errors
from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from redisha.samples.memcached import crd
from redisha.samples.memcached.controller import MemcachedReconciler, deployment_for

KEY = "default/memcached-sample"


class ConflictingClient(InProcessClient):
    """Fails the next `conflicts` writes of `method` with Conflict, as a racing writer would."""

    def __init__(self, api: APIServer, method: str, conflicts: int = 1) -> None:
        super().__init__(api)
        self.method, self.conflicts = method, conflicts

    def _maybe_conflict(self, name: str) -> None:
        if name == self.method and self.conflicts > 0:
            self.conflicts -= 1
            raise errors.Conflict("memcacheds.cache.example.com", "memcached-sample",
                                  "the object has been modified")

    async def update(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._maybe_conflict("update")
        return await super().update(obj)

    async def update_status(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._maybe_conflict("update_status")
        return await super().update_status(obj)


async def setup(method: str = "", size: int = 1) -> tuple[ConflictingClient, MemcachedReconciler,
                                                          list[str]]:
    client = ConflictingClient(APIServer(), method)
    await crd.install(client)
    await client.create(crd.sample(size=size), "default")
    lines: list[str] = []
    logger = logging.Logger("controllers.Memcached", logging.INFO)  # noqa: LOG001
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    return client, MemcachedReconciler(client, logger=logger), lines


async def test_create_then_status_then_nothing_to_do() -> None:
    """Pass 1 creates the Deployment (and asks to come back), pass 2 writes status, pass 3
    changes nothing."""
    client, reconciler, lines = await setup()
    assert await reconciler.reconcile(KEY) == reconciling.Result(requeue_after=0)
    assert lines == [('Creating a new Deployment\t{"memcached": "default/memcached-sample", '
                      '"Deployment.Namespace": "default", "Deployment.Name": "memcached-sample"}')]
    stored = await client.get("deployments", "memcached-sample", "default")
    cr = await client.get(crd.RESOURCE, "memcached-sample", "default")
    wanted = deployment_for(cr)
    assert stored["metadata"]["ownerReferences"] == wanted["metadata"]["ownerReferences"]
    [container] = stored["spec"]["template"]["spec"]["containers"]
    assert (container["image"], container["command"]) == (
        "memcached:1.4.36-alpine", ["memcached", "-m=64", "-o", "modern", "-v"])
    assert await reconciler.reconcile(KEY) is None
    assert (await client.get(crd.RESOURCE, "memcached-sample", "default"))["status"] == {
        "nodes": []}
    revision = client.apiserver.revision
    assert await reconciler.reconcile(KEY) is None
    assert client.apiserver.revision == revision and len(lines) == 1


async def test_conflicts_requeue_at_once_and_then_succeed() -> None:
    """A Conflict on the Deployment update or the status write re-reads at once."""
    client, reconciler, _ = await setup("update")
    await reconciler.reconcile(KEY)
    await client.patch(crd.RESOURCE, "memcached-sample", {"spec": {"size": 2}}, "default")
    assert await reconciler.reconcile(KEY) == reconciling.Result(requeue_after=0)
    assert (await client.get("deployments", "memcached-sample", "default"))["spec"]["replicas"] == 1
    assert await reconciler.reconcile(KEY) == reconciling.Result(requeue_after=0)
    assert (await client.get("deployments", "memcached-sample", "default"))["spec"]["replicas"] == 2
    client.method, client.conflicts = "update_status", 1
    assert await reconciler.reconcile(KEY) == reconciling.Result(requeue_after=0)
    assert "status" not in await client.get(crd.RESOURCE, "memcached-sample", "default")
    assert await reconciler.reconcile(KEY) is None
    assert (await client.get(crd.RESOURCE, "memcached-sample", "default"))["status"] == {
        "nodes": []}


async def test_a_missing_memcached_is_ignored() -> None:
    """A key whose object is gone logs the sample's line and does nothing."""
    client, reconciler, lines = await setup()
    revision = client.apiserver.revision
    assert await reconciler.reconcile("default/nope") is None
    assert client.apiserver.revision == revision
    assert lines == [("Memcached resource not found. Ignoring since object must be deleted\t"
                      '{"memcached": "default/nope"}')]


async def test_start_without_the_crd_names_the_missing_kind() -> None:
    """Starting before the CRD is installed fails with the server's NotFound, and leaves
    nothing running."""
    reconciler = MemcachedReconciler(InProcessClient(APIServer()))
    try:
        await reconciler.start()
    except errors.NotFound as exc:
        assert "memcacheds" in str(exc)
    else:
        raise AssertionError("start() without the CRD should fail")
    assert reconciler.informers.informers() == []
    await reconciler.stop()
