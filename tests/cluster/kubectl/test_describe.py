"""`describe`: kubectl's layouts, ending with the object's Events table."""

from __future__ import annotations

from typing import Any

from kubectl_helpers import T0, Harness

from cluster.api import objects
from cluster.api.resources import ResourceType
from cluster.kubectl import describe


def event(obj: dict[str, Any], reason: str, message: str, *, ago: float, count: int = 1,
          kind: str = "Normal", component: str = "default-scheduler",
          first_ago: float | None = None) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{reason.lower()}", "namespace": "default"},
        "involvedObject": {"kind": obj["kind"], "name": meta["name"],
                           "namespace": meta.get("namespace", ""), "uid": meta["uid"],
                           "apiVersion": obj["apiVersion"]},
        "reason": reason, "message": message, "type": kind, "count": count,
        "source": {"component": component},
        "firstTimestamp": objects.format_time(T0 - (first_ago if first_ago is not None
                                                    else ago)),
        "lastTimestamp": objects.format_time(T0 - ago),
    }


async def test_describe_pod_ends_with_its_events(harness: Harness) -> None:
    """The pod's own events (not another pod's) are listed oldest first, aligned."""
    await harness.run("run", "redis", "--image=redis")
    await harness.run("run", "other", "--image=redis")
    pod = await harness.client.get("pods", "redis")
    other = await harness.client.get("pods", "other")
    await harness.client.create(event(pod, "Pulled", "Container image \"redis\" already "
                                      "present on machine", ago=3, component="kubelet"))
    await harness.client.create(event(pod, "Scheduled", "Successfully assigned default/redis "
                                      "to node-1", ago=5))
    await harness.client.create(event(other, "Killing", "Stopping container other", ago=1,
                                      component="kubelet"))
    text = (await harness.run("describe", "pod", "redis")).stdout
    assert text.startswith("Name:         redis\nNamespace:    default\n")
    assert "Labels:       run=redis\n" in text
    assert text.endswith(
        "Events:\n"
        "  Type    Reason     Age   From               Message\n"
        "  ----    ------     ----  ----               -------\n"
        "  Normal  Scheduled  5s    default-scheduler  Successfully assigned default/redis to "
        "node-1\n"
        "  Normal  Pulled     3s    kubelet            Container image \"redis\" already present "
        "on machine\n")


async def test_repeated_events_show_count_and_span(harness: Harness) -> None:
    """An event seen many times reads `<last> (xN over <first>)`."""
    await harness.run("run", "redis", "--image=redis")
    pod = await harness.client.get("pods", "redis")
    await harness.client.create(event(pod, "BackOff", "Back-off restarting failed container",
                                      ago=10, count=7, kind="Warning", component="kubelet",
                                      first_ago=300))
    text = (await harness.run("describe", "pod", "redis")).stdout
    assert "  Warning  BackOff  10s (x7 over 5m)  kubelet  Back-off restarting failed " \
           "container\n" in text


async def test_describe_without_events_says_none(harness: Harness) -> None:
    """No events prints `Events:  <none>` aligned with the block above it."""
    await harness.run("create", "-f", "service.yaml")
    text = (await harness.run("describe", "svc", "redis-sfs")).stdout
    assert text.splitlines()[0] == "Name:                     redis-sfs"
    assert "Selector:                 app=redis-sfs\n" in text
    assert "IP:                       None\n" in text
    assert "Port:                     redis-sfs  6379/TCP\n" in text
    assert "Endpoints:                <none>\n" in text
    assert text.endswith("Events:                   <none>\n")


async def test_describe_service_lists_endpoints(harness: Harness) -> None:
    """A service's Endpoints line comes from its Endpoints object, per port name."""
    await harness.run("create", "-f", "service.yaml")
    await harness.client.create({
        "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "redis-sfs"},
        "subsets": [{"addresses": [{"ip": "127.0.10.4"}, {"ip": "127.0.10.5"}],
                     "ports": [{"name": "redis-sfs", "port": 6379, "protocol": "TCP"}]}]})
    text = (await harness.run("describe", "service/redis-sfs")).stdout
    assert "Endpoints:                127.0.10.4:6379,127.0.10.5:6379\n" in text


async def test_describe_statefulset_and_deployment(harness: Harness) -> None:
    """Workload describers show replicas, the pod template and pod counts."""
    await harness.run("create", "-f", "server.yaml")
    await harness.run("create", "deployment", "web", "--image=redis", "--replicas=2")
    sts = (await harness.run("describe", "statefulset", "redis-sfs")).stdout
    assert "Replicas:           2 desired | 0 total\n" in sts
    assert "Pods Status:        0 Running / 0 Waiting / 0 Succeeded / 0 Failed\n" in sts
    assert "Pod Template:\n  Labels:  app=redis-sfs\n  Containers:\n   redis-sfs:\n" in sts
    assert "      slaveof" not in sts  # the script is printed line by line, verbatim
    assert '        echo "slaveof redis-sfs-0.redis-sfs 6379" > /tmp/redis.conf\n' in sts
    deploy = (await harness.run("describe", "deploy", "web")).stdout
    assert "Replicas:               2 desired | 0 updated | 0 total | 0 available | " \
           "0 unavailable\n" in deploy
    assert deploy.endswith("Events:            <none>\n")


async def test_describe_name_prefix_and_several_objects(harness: Harness) -> None:
    """A name that matches nothing exactly describes every object it prefixes."""
    await harness.run("run", "redis-a", "--image=redis")
    await harness.run("run", "redis-b", "--image=redis")
    text = (await harness.run("describe", "pods", "redis")).stdout
    first, second = text.split("\n\n\n")
    assert first.startswith("Name:         redis-a\n")
    assert second.startswith("Name:         redis-b\n")


def test_generic_describer_for_custom_resources() -> None:
    """Other kinds print their fields sorted, nested, with smart labels."""
    rt = ResourceType("redisha.io", "v1", "RedisFailover", "redisfailovers", "redisfailover",
                      custom=True)
    obj = {"apiVersion": "redisha.io/v1", "kind": "RedisFailover",
           "metadata": {"name": "ha", "namespace": "default", "uid": "u-1",
                        "creationTimestamp": "2023-11-14T22:13:20Z", "labels": {"a": "b"}},
           "spec": {"replicas": 3, "sentinel": {"quorum": 2}},
           "status": {"primary": "ha-0", "replicas": ["ha-1", "ha-2"]}}
    text = describe.describe_object(rt, obj, describe.Related(events=[]), T0)
    assert text == (
        "Name:         ha\n"
        "Namespace:    default\n"
        "Labels:       a=b\n"
        "Annotations:  <none>\n"
        "API Version:  redisha.io/v1\n"
        "Kind:         RedisFailover\n"
        "Metadata:\n"
        "  Creation Timestamp:  2023-11-14T22:13:20Z\n"
        "  UID:                 u-1\n"
        "Spec:\n"
        "  Replicas:  3\n"
        "  Sentinel:\n"
        "    Quorum:  2\n"
        "Status:\n"
        "  Primary:  ha-0\n"
        "  Replicas:\n"
        "    ha-1\n"
        "    ha-2\n"
        "Events:  <none>\n")


def test_smart_labels() -> None:
    """Field names become kubectl's labels, acronyms kept upper-case."""
    assert [describe.smart_label(f) for f in
            ("apiVersion", "creationTimestamp", "uid", "podIPs", "minReadySeconds", "x_y")] == \
        ["API Version", "Creation Timestamp", "UID", "Pod I Ps", "Min Ready Seconds", "x_y"]


async def test_describe_node_lists_its_pods(harness: Harness) -> None:
    """A node's description counts the pods bound to it and their requests."""
    await harness.client.create({"apiVersion": "v1", "kind": "Node",
                                 "metadata": {"name": "node-1"}, "spec": {}})
    node = await harness.client.get("nodes", "node-1")
    node["status"] = {"conditions": [{"type": "Ready", "status": "True"}],
                      "allocatable": {"cpu": "4", "memory": "8Gi"},
                      "nodeInfo": {"kubeletVersion": "v1.32.0"}}
    await harness.client.update_status(node)
    await harness.client.create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"nodeName": "node-1", "containers": [{
            "name": "c", "image": "redis",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}})
    text = (await harness.run("describe", "node", "node-1")).stdout
    assert "Non-terminated Pods:" in text and "(1 in total)" in text
    assert any(line.split() == ["default", "p", "100m", "(2%)", "0", "(0%)", "128Mi", "(1%)",
                                "0", "(0%)", "0s"] for line in text.splitlines())
    assert (await harness.run("get", "nodes")).stdout.splitlines()[1].split() == \
        ["node-1", "Ready", "<none>", "0s", "v1.32.0"]
