"""The tutorial's kubectl steps, end to end against a live embedded API server."""

from __future__ import annotations

import pytest
from kubectl_helpers import SHARED_MANIFESTS, TUTORIAL_MANIFESTS, Harness

from cluster.api import objects


async def mark_running(h: Harness, name: str, *, started_ago: float = 0) -> None:
    """Write the status a kubelet would report for a started, ready pod."""
    pod = await h.client.get("pods", name)
    started = objects.format_time(h.clock() - started_ago)
    pod["status"] = {
        "phase": "Running", "podIP": "127.0.10.4", "podIPs": [{"ip": "127.0.10.4"}],
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": c["name"], "ready": True, "restartCount": 0,
                               "state": {"running": {"startedAt": started}}}
                              for c in pod["spec"]["containers"]]}
    await h.client.update_status(pod)


async def test_run_then_get_pods(harness: Harness) -> None:
    """`kubectl run redis --image=redis` makes a bare pod that `get pods` lists (step 3.1)."""
    result = await harness.run("run", "redis", "--image=redis")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "pod/redis created\n", "")
    pod = await harness.client.get("pods", "redis")
    assert pod["metadata"]["labels"] == {"run": "redis"}
    assert pod["spec"]["containers"][0]["name"] == "redis"
    assert pod["spec"]["restartPolicy"] == "Always"
    assert (await harness.run("get", "pods")).stdout == (
        "NAME    READY   STATUS    RESTARTS   AGE\n"
        "redis   0/1     Pending   0          0s\n")
    await mark_running(harness, "redis")
    harness.clock.advance(5)
    assert (await harness.run("get", "pods")).stdout == (
        "NAME    READY   STATUS    RESTARTS   AGE\n"
        "redis   1/1     Running   0          5s\n")


async def test_run_passes_arguments_and_labels(harness: Harness) -> None:
    """Arguments after `--` become args (or command with --command); --labels replaces run=."""
    await harness.run("run", "cli", "--image=redis", "--labels=app=cli,tier=tools",
                      "--restart=Never", "--", "redis-cli", "ping")
    await harness.run("run", "sh", "--image=busybox", "--command", "--", "sh", "-c", "true")
    cli = await harness.client.get("pods", "cli")
    assert cli["metadata"]["labels"] == {"app": "cli", "tier": "tools"}
    assert cli["spec"]["containers"][0]["args"] == ["redis-cli", "ping"]
    assert cli["spec"]["restartPolicy"] == "Never"
    sh = await harness.client.get("pods", "sh")
    assert sh["spec"]["containers"][0]["command"] == ["sh", "-c", "true"]


async def test_create_tutorial_manifests_and_get_service(harness: Harness) -> None:
    """pod.yaml, server.yaml and service.yaml create; the headless service prints `None`."""
    for file, line in (("pod.yaml", "pod/redis created"),
                       ("server.yaml", "statefulset.apps/redis-sfs created"),
                       ("service.yaml", "service/redis-sfs created")):
        result = await harness.run("create", "-f", file)
        assert (result.exit_code, result.stdout, result.stderr) == (0, line + "\n", "")
    result = await harness.run("get", "service")
    assert result.stdout.splitlines()[1] == \
        "redis-sfs   ClusterIP   None         <none>        6379/TCP   0s"


async def test_create_deployment_and_namespace(harness: Harness) -> None:
    """The generators build what `kubectl create deployment/namespace` would send."""
    result = await harness.run("create", "deployment", "redis-deployment", "--image=redis")
    assert result.stdout == "deployment.apps/redis-deployment created\n"
    deploy = await harness.client.get("deployments.apps", "redis-deployment")
    assert deploy["spec"]["replicas"] == 1
    assert deploy["spec"]["selector"] == {"matchLabels": {"app": "redis-deployment"}}
    assert deploy["spec"]["template"]["spec"]["containers"][0]["name"] == "redis"
    result = await harness.run("create", "namespace", "team-a")
    assert result.stdout == "namespace/team-a created\n"
    assert (await harness.client.get("namespaces", "team-a"))["metadata"]["name"] == "team-a"


async def test_get_all_and_comma_lists_prefix_kinds(harness: Harness) -> None:
    """Several kinds print one table each, names prefixed with the kind, blank line between."""
    await harness.run("create", "-f", "pod.yaml")
    await harness.run("create", "-f", "service.yaml")
    result = await harness.run("get", "pods,svc")
    assert result.stdout == (
        "NAME        READY   STATUS    RESTARTS   AGE\n"
        "pod/redis   0/1     Pending   0          0s\n"
        "\n"
        "NAME                TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)    AGE\n"
        "service/redis-sfs   ClusterIP   None         <none>        6379/TCP   0s\n")
    assert (await harness.run("get", "all")).stdout == result.stdout
    only_pods = await harness.run("get", "po,deploy")
    assert only_pods.stdout.splitlines()[1].startswith("redis ")


async def test_get_outputs(harness: Harness) -> None:
    """-o name, -o yaml of one object, -o json of a list, -A, -l and jsonpath."""
    await harness.run("create", "-f", "pod.yaml")
    await harness.run("run", "other", "--image=redis", "--labels=app=other")
    assert (await harness.run("get", "pods", "-o", "name")).stdout == \
        "pod/other\npod/redis\n"
    single = await harness.run("get", "pod", "redis", "-o", "yaml")
    assert single.stdout.startswith("apiVersion: v1\nkind: Pod\nmetadata:\n")
    listed = await harness.run("get", "pods", "-o", "json")
    assert '"kind": "List"' in listed.stdout
    wide_all = await harness.run("get", "pods", "-A", "-l", "app=other")
    assert wide_all.stdout.splitlines() == [
        "NAMESPACE   NAME    READY   STATUS    RESTARTS   AGE",
        "default     other   0/1     Pending   0          0s"]
    names = await harness.run("get", "pods", "-o", "jsonpath={.items[*].metadata.name}")
    assert names.stdout == "other redis"  # a template's output only: no newline added


async def test_get_empty_says_no_resources_on_stderr(harness: Harness) -> None:
    """An empty list prints nothing on stdout and kubectl's notice on stderr, exit 0."""
    result = await harness.run("get", "pods")
    assert (result.exit_code, result.stdout, result.stderr) == \
        (0, "", "No resources found in default namespace.\n")
    result = await harness.run("get", "pods", "-n", "kube-system")
    assert result.stderr == "No resources found in kube-system namespace.\n"
    assert (await harness.run("get", "nodes")).stderr == "No resources found\n"


async def test_apply_created_unchanged_configured(harness: Harness) -> None:
    """apply creates, then reports unchanged without writing, then configured on change."""
    text = (harness.files / "server.yaml").read_text()
    first = await harness.run("apply", "-f", "server.yaml")
    assert first.stdout == "statefulset.apps/redis-sfs created\n"
    sts = await harness.client.get("statefulsets.apps", "redis-sfs")
    assert "kubectl.kubernetes.io/last-applied-configuration" in sts["metadata"]["annotations"]
    before = harness.revision
    second = await harness.run("apply", "-f", "server.yaml")
    assert (second.exit_code, second.stdout) == (0, "statefulset.apps/redis-sfs unchanged\n")
    assert harness.revision == before
    harness.write("server.yaml", text.replace("replicas: 2", "replicas: 3"))
    third = await harness.run("apply", "-f", "server.yaml")
    assert third.stdout == "statefulset.apps/redis-sfs configured\n"
    assert (await harness.client.get("statefulsets.apps", "redis-sfs"))["spec"]["replicas"] == 3


async def test_apply_removes_fields_dropped_from_the_manifest(harness: Harness) -> None:
    """A label removed from the manifest is removed from the object (three-way merge)."""
    base = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  labels:\n    a: '1'\n"
    harness.write("cm.yaml", base + "    b: '2'\ndata:\n  k: v\n")
    await harness.run("apply", "-f", "cm.yaml")
    harness.write("cm.yaml", base + "data:\n  k: v\n")
    assert (await harness.run("apply", "-f", "cm.yaml")).stdout == "configmap/cfg configured\n"
    assert (await harness.client.get("configmaps", "cfg"))["metadata"]["labels"] == {"a": "1"}


async def test_apply_on_created_object_warns_then_configures(harness: Harness) -> None:
    """apply over an object made by create warns about the missing annotation."""
    await harness.run("create", "-f", "service.yaml")
    result = await harness.run("apply", "-f", "service.yaml")
    assert result.exit_code == 0
    assert result.stdout == "service/redis-sfs configured\n"
    assert result.stderr.startswith("Warning: resource services/redis-sfs is missing the "
                                    "kubectl.kubernetes.io/last-applied-configuration")


async def test_delete_forms(harness: Harness) -> None:
    """delete by TYPE NAME..., TYPE/NAME, -f and -l, one line per object."""
    for name in ("a", "b", "c"):
        await harness.run("run", name, "--image=redis", f"--labels=app={name}")
    await harness.run("create", "-f", "pod.yaml")
    assert (await harness.run("delete", "pod", "a", "b")).stdout == \
        'pod "a" deleted\npod "b" deleted\n'
    assert (await harness.run("delete", "pod/c")).stdout == 'pod "c" deleted\n'
    assert (await harness.run("delete", "-f", "pod.yaml")).stdout == 'pod "redis" deleted\n'
    assert (await harness.client.list("pods")).items == []
    await harness.run("run", "d", "--image=redis", "--labels=app=d")
    assert (await harness.run("delete", "pods", "-l", "app=d")).stdout == 'pod "d" deleted\n'
    assert (await harness.run("delete", "pods", "--all")).stdout == "No resources found\n"


async def test_scale(harness: Harness) -> None:
    """scale sets spec.replicas on deployments, statefulsets and replica-bearing custom kinds."""
    await harness.run("create", "deployment", "web", "--image=redis")
    await harness.run("create", "-f", "server.yaml")
    assert (await harness.run("scale", "deployment/web", "--replicas=3")).stdout == \
        "deployment.apps/web scaled\n"
    assert (await harness.run("scale", "sts", "redis-sfs", "--replicas", "1")).stdout == \
        "statefulset.apps/redis-sfs scaled\n"
    assert (await harness.client.get("deployments.apps", "web"))["spec"]["replicas"] == 3
    assert (await harness.client.get("statefulsets.apps", "redis-sfs"))["spec"]["replicas"] == 1
    assert (await harness.run("get", "deploy")).stdout.splitlines()[1].split()[:2] == \
        ["web", "0/3"]


async def test_label_add_overwrite_remove(harness: Harness) -> None:
    """label adds, refuses to change without --overwrite, changes with it, removes with -."""
    await harness.run("create", "-f", "pod.yaml")
    assert (await harness.run("label", "pods", "redis", "env=prod")).stdout == \
        "pod/redis labeled\n"
    refused = await harness.run("label", "pods", "redis", "env=dev")
    assert (refused.exit_code, refused.stderr) == \
        (1, "error: 'env' already has a value (prod), and --overwrite is false\n")
    assert (await harness.run("label", "--overwrite", "pod/redis", "env=dev")).stdout == \
        "pod/redis labeled\n"
    assert (await harness.run("label", "pods", "redis", "env=dev")).stdout == \
        "pod/redis not labeled\n"
    assert (await harness.client.get("pods", "redis"))["metadata"]["labels"] == {"env": "dev"}
    assert (await harness.run("label", "pods", "redis", "env-")).stdout == \
        "pod/redis unlabeled\n"
    assert (await harness.client.get("pods", "redis"))["metadata"].get("labels", {}) == {}


async def test_version_reports_client_and_server(harness: Harness) -> None:
    """`kubectl version` prints a Client Version and the server's gitVersion."""
    lines = (await harness.run("version")).stdout.splitlines()
    assert lines[0].startswith("Client Version: v1.32")
    assert lines[1] == f"Server Version: {harness.api.version()['gitVersion']}"
    assert (await harness.run("version", "--client")).stdout.count("\n") == 1


async def test_custom_kind_by_plural_and_short_name(harness: Harness) -> None:
    """A CRD's kind is usable by plural, singular and short name once the CRD exists."""
    harness.write("crd.yaml", MEMCACHED_CRD)
    assert (await harness.run("apply", "-f", "crd.yaml")).exit_code == 0
    created = await harness.run("create", "-f", "cache_v1alpha1_memcached.yaml")
    assert created.stdout == "memcached.cache.example.com/memcached-sample created\n"
    for word in ("memcacheds", "memcached", "mc"):
        result = await harness.run("get", word)
        assert result.stdout.splitlines() == ["NAME               SIZE   AGE",
                                              "memcached-sample   1      0s"], word
    scaled = await harness.run("scale", "mc/memcached-sample", "--replicas=2")
    assert scaled.exit_code == 1  # Memcached has spec.size, not spec.replicas
    crds = await harness.run("get", "crd")
    assert crds.stdout.splitlines()[1].split() == ["memcacheds.cache.example.com",
                                                   "2023-11-14T22:13:20Z"]


MEMCACHED_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: memcacheds.cache.example.com
spec:
  group: cache.example.com
  scope: Namespaced
  names: {plural: memcacheds, singular: memcached, kind: Memcached, shortNames: [mc]}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 0}
          status:
            type: object
            properties:
              nodes: {type: array, items: {type: string}}
"""



def test_tutorial_manifests_match() -> None:
    """The embedded copies are the tutorial's files, byte for byte."""
    if not SHARED_MANIFESTS.is_dir():
        pytest.skip(f"the tutorial's manifests are not at {SHARED_MANIFESTS} on this machine")
    on_disk = {p.name: p.read_text() for p in SHARED_MANIFESTS.glob("*.yaml")}
    assert on_disk == TUTORIAL_MANIFESTS


async def test_ignore_not_found(harness: Harness) -> None:
    """--ignore-not-found turns a missing named object into silence and exit 0."""
    for argv in (("get", "pod", "ghost", "--ignore-not-found"),
                 ("delete", "pod", "ghost", "--ignore-not-found")):
        result = await harness.run(*argv)
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", ""), argv


async def test_api_resources_lists_served_kinds(harness: Harness) -> None:
    """api-resources prints one aligned row per served kind."""
    lines = (await harness.run("api-resources")).stdout.splitlines()
    assert lines[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["pods", "po", "v1", "true", "Pod"] in [line.split() for line in lines]
    assert "statefulsets.apps" in (await harness.run("api-resources", "-o", "name")).stdout
