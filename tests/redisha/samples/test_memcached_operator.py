"""The Memcached operator on the embedded cluster with the fake memcached image."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from memcached_cluster import OperatorCluster, WaitUntil

from cluster.api import errors
from redisha.samples.memcached import crd

NAME = "memcached-sample"
POD_NAME = re.compile(rf"^{NAME}-[a-z0-9]{{6,10}}-[a-z0-9]{{5}}$")
CREATING = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d{4})\tINFO\tcontrollers\.Memcached\t"
    r"Creating a new Deployment\t"
    r'\{"memcached": "default/memcached-sample", "Deployment.Namespace": "default", '
    r'"Deployment.Name": "memcached-sample"\}$')


async def memcached(oc: OperatorCluster) -> dict[str, Any]:
    return await oc.client.get(crd.RESOURCE, NAME, "default")


async def pods(oc: OperatorCluster, *, running: bool = False) -> list[dict[str, Any]]:
    items = (await oc.client.list("pods", "default",
                                  label_selector=f"app=memcached,memcached_cr={NAME}")).items
    if running:
        items = [p for p in items if (p.get("status") or {}).get("phase") == "Running"
                 and not p["metadata"].get("deletionTimestamp")]
    return items


async def settled(oc: OperatorCluster, size: int) -> bool:
    """`size` pods Running, no others, and status.nodes naming exactly them."""
    every, running = await pods(oc), await pods(oc, running=True)
    nodes = ((await memcached(oc)).get("status") or {}).get("nodes")
    names = sorted(p["metadata"]["name"] for p in running)
    return len(every) == len(running) == size and nodes == names


async def test_the_sample_gets_a_deployment_a_running_pod_and_the_log_line(
        operator_cluster: OperatorCluster, wait_until: WaitUntil) -> None:
    """Size 1: Deployment `memcached-sample` owned by the CR, one pod running, status lists
    it, and the operator logged `Creating a new Deployment` once, in zap's console style."""
    oc = operator_cluster
    cr = await oc.client.create(crd.sample(), "default")
    await wait_until(lambda: settled(oc, 1), message="one running pod listed in status")
    deployment = await oc.client.get("deployments", NAME, "default")
    assert deployment["metadata"]["ownerReferences"] == [{
        "apiVersion": "cache.example.com/v1alpha1", "kind": "Memcached", "name": NAME,
        "uid": cr["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    labels = {"app": "memcached", "memcached_cr": NAME}
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["selector"] == {"matchLabels": labels}
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == labels
    [container] = template["spec"]["containers"]
    assert (container["name"], container["image"], container["command"]) == (
        "memcached", "memcached:1.4.36-alpine", ["memcached", "-m=64", "-o", "modern", "-v"])
    assert container["ports"][0]["containerPort"] == 11211
    assert container["ports"][0]["name"] == "memcached"
    [pod] = await pods(oc, running=True)
    assert POD_NAME.match(pod["metadata"]["name"]), pod["metadata"]["name"]
    assert (await memcached(oc))["status"]["nodes"] == [pod["metadata"]["name"]]
    created = [line for line in oc.log.lines if "Creating a new Deployment" in line]
    assert len(created) == 1 and CREATING.match(created[0]), oc.log.lines


async def test_scaling_1_to_3_to_0_and_status_follows(
        operator_cluster: OperatorCluster, wait_until: WaitUntil) -> None:
    """Patching spec.size scales the Deployment; status.nodes lists 3 names, then none."""
    oc = operator_cluster
    await oc.client.create(crd.sample(size=1), "default")
    await wait_until(lambda: settled(oc, 1))
    first = (await memcached(oc))["status"]["nodes"]
    await oc.client.patch(crd.RESOURCE, NAME, {"spec": {"size": 3}}, "default")
    await wait_until(lambda: settled(oc, 3), message="three pods listed")
    nodes = (await memcached(oc))["status"]["nodes"]
    assert len(nodes) == 3 and set(first) < set(nodes) and nodes == sorted(nodes)
    assert all(POD_NAME.match(n) for n in nodes)
    assert (await oc.client.get("deployments", NAME, "default"))["spec"]["replicas"] == 3
    await oc.client.patch(crd.RESOURCE, NAME, {"spec": {"size": 0}}, "default")
    await wait_until(lambda: settled(oc, 0), message="no pods, empty status")
    assert (await memcached(oc))["status"]["nodes"] == []
    assert (await oc.client.get("deployments", NAME, "default"))["spec"]["replicas"] == 0


async def test_a_hand_scaled_deployment_is_put_back_to_size(
        operator_cluster: OperatorCluster, wait_until: WaitUntil) -> None:
    """Someone scales the Deployment by hand: the operator restores `spec.size`."""
    oc = operator_cluster
    await oc.client.create(crd.sample(size=2), "default")
    await wait_until(lambda: settled(oc, 2))
    await oc.client.patch("deployments", NAME, {"spec": {"replicas": 4}}, "default")

    async def restored() -> bool:
        deployment = await oc.client.get("deployments", NAME, "default")
        return deployment["spec"]["replicas"] == 2 and await settled(oc, 2)

    await wait_until(restored, message="replicas back to 2")


async def test_deleting_the_memcached_garbage_collects_its_deployment(
        operator_cluster: OperatorCluster, wait_until: WaitUntil) -> None:
    """The Deployment carries a controller ownerReference, so it goes with its Memcached."""
    oc = operator_cluster
    await oc.client.create(crd.sample(size=1), "default")
    await wait_until(lambda: settled(oc, 1))
    await oc.client.delete(crd.RESOURCE, NAME, "default")

    async def collected() -> bool:
        try:
            await oc.client.get("deployments", NAME, "default")
        except errors.NotFound:
            return not await pods(oc)
        return False

    await wait_until(collected, message="deployment and pods gone")
    await wait_until(lambda: any("Memcached resource not found" in line
                                 for line in oc.log.lines))
    assert sum("Creating a new Deployment" in line for line in oc.log.lines) == 1


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   payload: bytes, until: bytes = b"\r\n") -> bytes:
    writer.write(payload)
    await writer.drain()
    return await asyncio.wait_for(reader.readuntil(until), 5)


async def test_the_memcached_pod_speaks_the_text_protocol_over_tcp(
        operator_cluster: OperatorCluster, wait_until: WaitUntil) -> None:
    """set/get/delete/incr/stats, noreply, a bad command line and a too-large value, sent
    to the pod's IP on 11211."""
    oc = operator_cluster
    await oc.client.create(crd.sample(size=1), "default")
    await wait_until(lambda: settled(oc, 1))
    [pod] = await pods(oc, running=True)
    # Running means the container started, not that memcached listens yet (no probe).
    streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def connected() -> bool:
        try:
            streams.append(await asyncio.open_connection(pod["status"]["podIP"], 11211))
        except ConnectionRefusedError:
            return False
        return True

    await wait_until(connected, message="memcached listening on the pod's IP")
    [(reader, writer)] = streams
    try:
        assert await exchange(reader, writer, b"set greeting 5 0 5\r\nhello\r\n") == b"STORED\r\n"
        assert await exchange(reader, writer, b"get greeting missing\r\n", b"END\r\n") == (
            b"VALUE greeting 5 5\r\nhello\r\nEND\r\n")
        assert await exchange(reader, writer, b"set n 0 0 2\r\n41\r\nincr n 1\r\n") == b"STORED\r\n"
        assert await reader.readuntil(b"\r\n") == b"42\r\n"
        # noreply: the set answers nothing, the get right after it shows the value.
        assert await exchange(reader, writer, b"set quiet 0 0 1 noreply\r\nq\r\nget quiet\r\n",
                              b"END\r\n") == b"VALUE quiet 0 1\r\nq\r\nEND\r\n"
        assert await exchange(reader, writer, b"set bad 0 0 five\r\n") == (
            b"CLIENT_ERROR bad command line format\r\n")
        big = b"x" * (2 * 1024 * 1024)
        assert await exchange(reader, writer, b"set big 0 0 %d\r\n%s\r\n" % (len(big), big)) == (
            b"SERVER_ERROR object too large for cache\r\n")
        assert await exchange(reader, writer, b"bogus\r\n") == b"ERROR\r\n"
        assert await exchange(reader, writer, b"delete greeting\r\n") == b"DELETED\r\n"
        assert await exchange(reader, writer, b"delete greeting\r\n") == b"NOT_FOUND\r\n"
        raw = await exchange(reader, writer, b"stats\r\n", b"END\r\n")
        stats = dict(line.split(" ", 2)[1:] for line in raw.decode().splitlines()
                     if line.startswith("STAT "))
        assert stats["pid"] == "1" and stats["version"] == "1.4.36"
        assert (stats["curr_items"], stats["total_items"], stats["cmd_set"]) == ("2", "3", "3")
        assert (stats["get_hits"], stats["get_misses"]) == ("2", "1")
        assert (stats["incr_hits"], stats["delete_hits"], stats["delete_misses"]) == ("1", "1", "1")
        assert stats["curr_connections"] == "1"
        assert stats["limit_maxbytes"] == "0"  # what 1.4.36 makes of the sample's `-m=64`
        assert await exchange(reader, writer, b"version\r\n") == b"VERSION 1.4.36\r\n"
        writer.write(b"quit\r\n")
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()


async def test_stop_leaves_no_tasks(operator_cluster: OperatorCluster) -> None:
    """After `stop`, none of the operator's workers or informer watches is still running."""
    oc = operator_cluster
    informers = oc.operator.informers.informers()
    assert len(informers) == 3 and all(i.running for i in informers)
    await oc.operator.stop()
    assert not any(i.running for i in informers)
    assert not [t for t in asyncio.all_tasks()
                if t.get_name().startswith("memcached") and not t.done()]
    await oc.operator.stop()  # a second stop is harmless
