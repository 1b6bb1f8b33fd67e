"""The official `kubernetes` Python client against `redisha serve`'s server over HTTPS.

The client is configured only from the kubeconfig `serving()` wrote, into an `ApiClient`
of its own (the library's global default configuration is never set). It blocks, so each
of its calls runs in a thread (`asyncio.to_thread`) while the server keeps answering in
the test's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import kubernetes
import pytest
import pytest_asyncio
from kubernetes.client import ApiClient, AppsV1Api, Configuration, CoreV1Api
from kubernetes.client.exceptions import ApiException

from cluster.embedded import ClusterSettings, EmbeddedCluster, start_cluster
from redisha.serve import serving
from tests.waiting import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")

NAMESPACE = "default"
T = TypeVar("T")


@dataclass(frozen=True)
class Official:
    """The official client's APIs, configured from the served kubeconfig."""

    cluster: EmbeddedCluster
    api_client: ApiClient
    core: CoreV1Api
    apps: AppsV1Api

    async def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One blocking client call, in a thread."""
        return await asyncio.to_thread(method, *args, **kwargs)

    async def json(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A call's typed result turned back into API JSON (camelCase keys, no nulls)."""
        return self.api_client.sanitize_for_serialization(
            await self.call(method, *args, **kwargs))

    async def status_of_read(self, method: Callable[..., Any], *args: Any) -> int:
        """The HTTP status an `ApiException` from a read carries (0: the read succeeded)."""
        try:
            await self.call(method, *args)
        except ApiException as e:
            return int(e.status)
        return 0


def new_api_client(kubeconfig: Path) -> ApiClient:
    """An ApiClient configured from `kubeconfig` alone, leaving the global default as it was."""
    configuration = Configuration()
    kubernetes.config.load_kube_config(config_file=str(kubeconfig),
                                       client_configuration=configuration)
    return ApiClient(configuration)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def official(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Official]:
    """A one-node cluster served over HTTPS, and the official client pointed at it."""
    state = tmp_path_factory.mktemp("serve") / "state"
    async with start_cluster(ClusterSettings.quick(nodes=1)) as cluster, serving(
            cluster.api, state_dir=state) as served:
        api_client = new_api_client(served.kubeconfig)
        assert api_client.configuration.host == served.url
        assert Configuration.get_default_copy().host != served.url
        try:
            yield Official(cluster=cluster, api_client=api_client, core=CoreV1Api(api_client),
                           apps=AppsV1Api(api_client))
        finally:
            await asyncio.to_thread(api_client.close)


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "main", "image": "pause"}],
                     "terminationGracePeriodSeconds": 1}}


def deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"replicas": 1, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [{
                                      "name": "main", "image": "pause",
                                      "env": [{"name": "A", "value": "1"}]}]}}}}


async def test_lists_nodes_and_pods(official: Official) -> None:
    """list_node and list_namespaced_pod/list_pod_for_all_namespaces return the typed objects."""
    nodes = await official.json(official.core.list_node)
    assert [n["metadata"]["name"] for n in nodes["items"]] == sorted(official.cluster.kubelets)
    ready = [[c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"]
             for n in nodes["items"]]
    assert ready == [["True"]] * len(nodes["items"]), nodes
    await official.call(official.core.create_namespaced_pod, NAMESPACE, pod("listed"))
    in_default = await official.json(official.core.list_namespaced_pod, NAMESPACE)
    everywhere = await official.json(official.core.list_pod_for_all_namespaces)
    assert "listed" in [p["metadata"]["name"] for p in in_default["items"]]
    assert (NAMESPACE, "listed") in [(p["metadata"]["namespace"], p["metadata"]["name"])
                                     for p in everywhere["items"]]
    assert in_default["metadata"]["resourceVersion"]


async def test_configmap_create_patch_read_delete(official: Official) -> None:
    """A ConfigMap made, changed by a merge patch and a JSON patch, read back, then 404."""
    core = official.core
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
            "data": {"a": "1", "b": "2"}}
    created = await official.json(core.create_namespaced_config_map, NAMESPACE, body)
    assert created["data"] == {"a": "1", "b": "2"} and created["metadata"]["uid"]

    await official.call(core.patch_namespaced_config_map, "settings", NAMESPACE,
                        {"data": {"a": None, "c": "3"}},
                        _content_type="application/merge-patch+json")
    read = await official.json(core.read_namespaced_config_map, "settings", NAMESPACE)
    assert read["data"] == {"b": "2", "c": "3"}  # null deletes a key in a merge patch

    await official.call(core.patch_namespaced_config_map, "settings", NAMESPACE,
                        [{"op": "replace", "path": "/data/b", "value": "20"}])
    read = await official.json(core.read_namespaced_config_map, "settings", NAMESPACE)
    assert read["data"] == {"b": "20", "c": "3"}

    await official.call(core.delete_namespaced_config_map, "settings", NAMESPACE)
    status = await official.status_of_read(core.read_namespaced_config_map, "settings",
                                           NAMESPACE)
    assert status == 404


async def test_deployment_create_strategic_patch_read_delete(official: Official) -> None:
    """AppsV1Api: a Deployment, a strategic-merge patch merging containers and env by name,
    a merge patch of its labels, read back; deleted, it reads as 404."""
    apps = official.apps
    await official.call(apps.create_namespaced_deployment, NAMESPACE, deployment("web"))
    containers = [{"name": "main", "env": [{"name": "B", "value": "2"}]}]
    await official.call(apps.patch_namespaced_deployment, "web", NAMESPACE,
                        {"spec": {"template": {"spec": {"containers": containers}}}})
    await official.call(apps.patch_namespaced_deployment, "web", NAMESPACE,
                        {"metadata": {"labels": {"tier": "cache"}}},
                        _content_type="application/merge-patch+json")
    read = await official.json(apps.read_namespaced_deployment, "web", NAMESPACE)
    (container,) = read["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "pause"  # a merge patch would have replaced the whole list
    assert sorted(container["env"], key=lambda e: e["name"]) == [
        {"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert read["metadata"]["labels"] == {"app": "web", "tier": "cache"}
    assert read["metadata"]["generation"] == 2

    await official.call(apps.delete_namespaced_deployment, "web", NAMESPACE)
    status = await official.status_of_read(apps.read_namespaced_deployment, "web", NAMESPACE)
    assert status == 404


async def test_watch_stream_sees_added_modified_and_deleted(official: Official) -> None:
    """Watch().stream(list_namespaced_pod) delivers ADDED, a MODIFIED with our label, and
    DELETED for a pod changed through the same client."""
    core = official.core
    events: list[tuple[str, str, dict[str, str]]] = []
    watch = kubernetes.watch.Watch()

    def follow() -> None:
        for event in watch.stream(core.list_namespaced_pod, NAMESPACE, timeout_seconds=20,
                                  field_selector="metadata.name=watched"):
            metadata = official.api_client.sanitize_for_serialization(event["object"])["metadata"]
            events.append((event["type"], metadata["name"], metadata.get("labels", {})))
            if event["type"] == "DELETED":
                watch.stop()

    follower = asyncio.create_task(asyncio.to_thread(follow))
    try:
        await official.call(core.create_namespaced_pod, NAMESPACE, pod("watched"))
        await wait_until(lambda: any(t == "ADDED" for t, _, _ in events), 10,
                         lambda: f"no ADDED event; got {events}")
        await official.call(core.patch_namespaced_pod, "watched", NAMESPACE,
                            {"metadata": {"labels": {"seen": "yes"}}})
        await wait_until(lambda: any(t == "MODIFIED" and labels.get("seen") == "yes"
                                     for t, _, labels in events), 10,
                         lambda: f"no MODIFIED event with the label; got {events}")
        await official.call(core.delete_namespaced_pod, "watched", NAMESPACE,
                            grace_period_seconds=0)
        await asyncio.wait_for(follower, 20)
    finally:
        watch.stop()
        if not follower.done():
            await asyncio.wait_for(follower, 25)
    types = [t for t, _, _ in events]
    assert types[0] == "ADDED" and types[-1] == "DELETED", events
    assert {name for _, name, _ in events} == {"watched"}
