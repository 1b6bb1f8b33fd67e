"""Switching kinds with `:`, namespaces, drilling in with enter and going back with esc."""

from __future__ import annotations

from typing import Any

from cluster.api.resources import ResourceType
from tests.tui.dashboard_helpers import (bare_cluster, connect, dashboard, gone, notifications,
                                         pod, row, until)
from tui.script import screen_text


async def _create(cluster: Any, obj: dict[str, Any], ns: str | None = "default") -> dict[str, Any]:
    return await cluster.client.create(obj, ns)


def _deployment(name: str, replicas: int = 2) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "pause"}]}}}}


async def test_every_kind_and_alias_switches_the_table() -> None:
    """`:po :no :deploy :rs :sts :svc :ep :pvc :ev :crds :ns` each show their kind's columns."""
    expected = {
        "po": ("pods(default)", "ROLE"), "no": ("nodes", "PODS"),
        "deploy": ("deployments(default)", "UP-TO-DATE"), "rs": ("replicasets(default)", "DESIRED"),
        "sts": ("statefulsets(default)", "SERVICE"), "svc": ("services(default)", "CLUSTER-IP"),
        "ep": ("endpoints(default)", "ENDPOINTS"),
        "pvc": ("persistentvolumeclaims(default)", "ACCESS MODES"),
        "ev": ("events(default)", "REASON"), "crds": ("customresourcedefinitions", "GROUP"),
        "ns": ("namespaces", "STATUS"), "pods": ("pods(default)", "RESTARTS"),
    }
    async with bare_cluster() as cluster, dashboard(connect(cluster)) as (app, pilot):
        for word, (title, header) in expected.items():
            assert await app.execute(word), word
            await pilot.pause()
            assert app.table.border_title.startswith(title), (word, app.table.border_title)
            assert header in app.table.headers, word


async def test_unknown_kinds_and_redisfailovers_before_their_crd() -> None:
    """`:rf` without the RedisFailover CRD is one error line; the table stays as it was."""
    async with bare_cluster() as cluster, dashboard(connect(cluster)) as (app, pilot):
        for word in ("rf", "bogus"):
            assert not await app.execute(word)
        await pilot.pause()
        assert notifications(app)[-2:] == [
            'the server doesn\'t have a resource type "rf"',
            'the server doesn\'t have a resource type "bogus"']
        assert app.rt is not None and app.rt.key == "pods"


async def test_namespaces_with_ns_and_zero() -> None:
    """`:ns NAME` narrows (and hides NAMESPACE), `0` shows every namespace, a missing
    namespace is refused."""
    async with bare_cluster() as cluster:
        await _create(cluster, {"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": "demo"}}, None)
        await _create(cluster, pod("a"), "default")
        await _create(cluster, pod("b"), "demo")
        async with dashboard(connect(cluster)) as (app, pilot):
            await row(app, "a")
            assert "NAMESPACE" not in app.table.headers
            assert await app.execute("ns demo")
            await row(app, "b")
            await gone(app, "a")
            await pilot.press("0")
            await row(app, "a")
            await row(app, "b")
            assert app.table.headers[0] == "NAMESPACE"
            assert app.table.border_title.startswith("pods(all)[2]")
            assert not await app.execute("ns nowhere")
            await pilot.pause()
            assert notifications(app)[-1] == 'namespaces "nowhere" not found'
            assert app.namespace is None


async def test_enter_on_a_node_shows_its_pods_and_esc_goes_back() -> None:
    """node -> its pods (`<node/node-1>`), esc -> the nodes again with the node selected."""
    async with bare_cluster(nodes=2) as cluster:
        p1 = pod("on-1")
        p1["spec"]["nodeName"] = "node-1"
        p2 = pod("on-2")
        p2["spec"]["nodeName"] = "node-2"
        await _create(cluster, p1)
        await _create(cluster, p2)
        async with dashboard(connect(cluster)) as (app, pilot):
            await app.execute("no")
            await row(app, "node-2")
            assert app.select_row("node-2")
            await pilot.press("enter")
            await row(app, "on-2", "STATUS", equals="Running")
            await gone(app, "on-1")
            assert "<node/node-2>" in app.table.border_title
            await pilot.press("escape")
            await row(app, "node-1")
            assert app.rt is not None and app.rt.key == "nodes"
            await until(lambda: app.table.selected_key == "node-2")


async def test_enter_on_workloads_and_services_shows_their_pods() -> None:
    """deployment, replicaset, statefulset and service -> the pods their selectors match."""
    async with bare_cluster() as cluster:
        await _create(cluster, _deployment("web"))
        await _create(cluster, _deployment("db", 1))
        await _create(cluster, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
                                "spec": {"selector": {"app": "db"}, "ports": [{"port": 80}]}})
        async with dashboard(connect(cluster)) as (app, pilot):
            for word, name, want in (("deploy", "web", 2), ("svc", "db", 1), ("rs", None, None)):
                await app.execute(word)
                if name is None:
                    await until(lambda: len(app.model.shown) == 2)  # type: ignore[union-attr]
                    key = next(k for k in sorted(app.model.shown) if "web" in k)  # type: ignore[union-attr]
                    name, want = key.split("/")[1], 2
                await row(app, name)
                app.select_row(name)
                await pilot.press("enter")
                await until(lambda want=want: app.rt.key == "pods"  # type: ignore[union-attr,misc]
                            and app.table.row_count == want, 5, screen_text(app))
                assert app.model is not None and app.model.scope.selector
                await pilot.press("escape")


async def test_enter_on_a_namespace_and_on_a_crd() -> None:
    """namespace -> its pods; CRD -> the objects of the kind it defines."""
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {
                                      "type": "object",
                                      "x-kubernetes-preserve-unknown-fields": True}}}]}}
    async with bare_cluster() as cluster:
        await _create(cluster, crd, None)
        await until(lambda: True)
        async with dashboard(connect(cluster, namespace=None)) as (app, pilot):
            rt: ResourceType = await cluster.client.resolve("widgets.example.com")
            await cluster.client.create({"apiVersion": "example.com/v1", "kind": "Widget",
                                         "metadata": {"name": "w1"}}, "default")
            await app.execute("crds")
            await row(app, "widgets.example.com")
            app.select_row("widgets.example.com")
            await pilot.press("enter")
            await row(app, "w1")
            assert app.rt == rt
            await app.execute("ns")
            await row(app, "default")
            app.select_row("default")
            await pilot.press("enter")
            await until(lambda: app.rt.key == "pods" and app.namespace == "default")  # type: ignore[union-attr]
