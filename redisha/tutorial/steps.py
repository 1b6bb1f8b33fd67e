"""The tutorial's steps 2 to 6, each a list of declared checks and a function that plays it.

Every step does what the tutorial's reader does — runs kubectl, reads its output — and
compares what it sees with `Expected`. Waits are conditions with deadlines, and what the
reader would look at once the condition holds (`kubectl get pods`, `kubectl logs`) is
printed then. Faults that no kubectl command can cause (a node losing power) are
printed as `#` comments and done through the embedded cluster.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cluster.api import errors
from cluster.client import EventType
from cluster.kubectl import CommandResult
from redisha.samples.memcached import controller as memcached_controller
from redisha.samples.memcached import crd as memcached_crd
from redisha.samples.memcached import logs as memcached_logs
from redisha.tutorial import checks, manifests
from redisha.tutorial.replay import Replay, StepFailed

Play = Callable[[Replay], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    """One step of the walkthrough: its number, its title, the checks it reports."""

    number: str
    title: str
    checks: Mapping[str, str]
    """Check key → the title printed on its PASS/FAIL line, in the order reported."""
    play: Play


def _said(result: CommandResult) -> str:
    """A command's output for a failure's detail: one line, stderr if stdout is empty."""
    text = (result.stdout.strip() or result.stderr.strip()).replace("\n", " | ")
    return f"got {text!r}" if text else f"no output (exit {result.exit_code})"


def _lines(result: CommandResult) -> list[str]:
    return result.stdout.splitlines()


def _prints(text: str) -> Callable[[CommandResult], bool]:
    """A condition on a command: its output is `text` (one line)."""
    return lambda result: result.stdout.strip() == text


# -- 2. A cluster in one command -----------------------------------------------------------


async def cluster_in_one_command(r: Replay) -> None:
    r.note("`redisha tutorial` started a fresh embedded cluster: that is the one command.")
    result = await r.kubectl("version")
    r.check("version", result.exit_code == 0 and "Client Version: " in result.stdout
            and "Server Version: " in result.stdout, _said(result))

    async def all_ready() -> bool:
        nodes = (await r.client.list("nodes")).items
        return bool(nodes) and all(checks.node_ready(n) == "True" for n in nodes)
    try:
        await r.wait("every node to be Ready", all_ready)
    finally:
        result = await r.kubectl("get nodes")
    rows = checks.table_rows(result.stdout)
    r.check("nodes", bool(rows) and all(row[1:2] == ["Ready"] for row in rows), _said(result))


# -- 3. Run Redis, make it highly available -----------------------------------------------


async def run_redis(r: Replay) -> None:
    e = r.expected
    result = await r.kubectl("run redis --image=redis")
    r.check("created", result.stdout.strip() == e.run_created, _said(result))
    await r.wait_ready("redis")
    result = await r.kubectl("get pods")
    row = checks.table_row(result.stdout, "redis")
    r.check("running", checks.row_starts_with(row, ("redis", *e.running_row)),
            f"row {' '.join(row) if row else 'missing'}")


async def exec_redis_cli(r: Replay) -> None:
    r.note("The tutorial types `ping` into `kubectl exec -it redis -- redis-cli`;"
           " here it is piped in:")
    result = await r.kubectl("exec -i redis -- redis-cli", stdin="ping")
    r.check("pong", result.stdout.strip() == r.expected.ping_reply, _said(result))


async def schedule_a_pod(r: Replay) -> None:
    e = r.expected
    template = ('jsonpath={range .items[*]}{.metadata.name}{"\\t"}'
                '{.status.allocatable.memory}{"\\n"}{end}')
    await r.kubectl(f"get nodes -o '{template}'")
    nodes = (await r.client.list("nodes")).items
    memory = {n["metadata"]["name"]: n["status"].get("allocatable", {}).get("memory")
              for n in nodes}
    small = [name for name, m in memory.items() if m == e.small_node_memory]
    large = [name for name, m in memory.items() if m == e.large_node_memory]
    if not small or not large:
        raise StepFailed(f"no nodes with {e.small_node_memory} and {e.large_node_memory} "
                         f"allocatable memory: {memory}")
    r.note(f"Containers A (Redis) and B (a log collector) ask for {e.container_request} each:"
           " one pod, scheduled as a unit.")
    first, second = manifests.SCHEDULING_POD, f"{manifests.SCHEDULING_POD}-2"
    r.show_file(f"{first}.yaml", manifests.scheduling_pod(first, e.container_request))
    await r.kubectl(f"create -f {first}.yaml")

    async def bound() -> str | None:
        pod = await r.pod(first)
        return (pod or {}).get("spec", {}).get("nodeName") or None
    node = await r.wait(f"pod {first} to be scheduled", bound)
    await r.kubectl(f"get pod {first} -o wide")
    r.check("fits", node in large, f"bound to {node} ({memory.get(node)})")

    r.note(f"A second such pod: {large[0]} is now full, and {small[0]}'s"
           f" {e.small_node_memory} would hold container A but never the pod.")
    r.show_file(f"{second}.yaml", manifests.scheduling_pod(second, e.container_request))
    await r.kubectl(f"create -f {second}.yaml")

    async def refused() -> str | None:
        """The scheduler's verdict: its Unschedulable message, or where it bound the pod."""
        pod = await r.pod(second) or {}
        for condition in pod.get("status", {}).get("conditions") or []:
            if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
                return str(condition.get("message", ""))
        bound_to = pod.get("spec", {}).get("nodeName")
        return f"bound to {bound_to}" if bound_to else None
    message = await r.wait(f"the scheduler to decide on {second}", refused)
    await r.kubectl(f"get events --field-selector involvedObject.name={second}")
    r.check("unschedulable", all(part in message for part in e.unschedulable), message)
    await r.delete_pods(first, second)


async def deployment_heals(r: Replay) -> None:
    e = r.expected
    result = await r.kubectl("create deployment redis-deployment --image=redis")
    r.check("created", result.stdout.strip() == e.deployment_created, _said(result))

    async def ready_pod(exclude: str = "") -> dict[str, Any] | None:
        pods = (await r.client.list("pods", "default", label_selector="app=redis-deployment")).items
        ready = [p for p in pods if checks.pod_ready(p) and p["metadata"]["name"] != exclude]
        return ready[0] if ready else None
    first = await r.wait("the Deployment's pod to be Running", ready_pod)
    await r.kubectl("get pods")
    name = first["metadata"]["name"]
    parts = checks.deployment_pod_name(name, "redis-deployment")
    template_hash = first["metadata"].get("labels", {}).get("pod-template-hash", "")
    r.check("name", parts is not None and parts.template_hash == template_hash,
            f"{name} (pod-template-hash {template_hash or 'missing'})")
    r.memo["deployment_pod"] = name
    r.memo["replicaset"] = f"redis-deployment-{template_hash}"

    await r.delete_pods("redis", name)
    r.note("The bare pod is gone for good; the Deployment's ReplicaSet makes a new pod:")
    try:
        replacement = await r.wait("a new pod of the Deployment",
                                   lambda: ready_pod(exclude=name), e.replacement_seconds)
    finally:
        await r.kubectl("get pods")
    r.check("bare-gone", await r.pod("redis") is None, "pod redis exists again")
    new = checks.deployment_pod_name(replacement["metadata"]["name"], "redis-deployment")
    r.check("replaced", new is not None and parts is not None
            and new.template_hash == parts.template_hash and new.suffix != parts.suffix,
            f"{name} → {replacement['metadata']['name']}")


async def create_from_yaml(r: Replay) -> None:
    r.show_file("pod.yaml", manifests.TUTORIAL["pod.yaml"])
    result = await r.kubectl("create -f pod.yaml")
    r.check("created", result.stdout.strip() == r.expected.pod_file_created, _said(result))
    await r.wait_ready("redis")
    await r.kubectl("get pods")


# -- 4. What happens on `kubectl create deployment` ----------------------------------------


async def list_watch_chain(r: Replay) -> None:
    pod, replicaset = r.memo.get("deployment_pod"), r.memo.get("replicaset")
    if not pod:
        raise StepFailed("step 3.4 made no Deployment pod to follow")
    r.note("Deployment controller → ReplicaSet controller → scheduler → kubelet, each acting"
           " on what it watched, as their events show:")
    involved = ("redis-deployment", replicaset, pod)
    for name in involved:
        await r.kubectl(f"get events --field-selector involvedObject.name={name}")
    events = [ev for ev in (await r.client.list("events", "default")).items
              if ev.get("involvedObject", {}).get("name") in involved]
    seen, problem = checks.chain_order(events, r.expected.event_chain)
    r.check("chain", problem is None, f"{problem}; recorded: {' → '.join(seen)}")


# -- 5. Master and replica ------------------------------------------------------------------


async def statefulset_in_order(r: Replay) -> None:
    e = r.expected
    r.show_file("server.yaml", manifests.TUTORIAL["server.yaml"])
    seen: list[tuple[str, bool]] = []
    selector = "app=redis-sfs"
    since = (await r.client.list("pods", "default", label_selector=selector)).resource_version
    recorder = asyncio.create_task(_record_pods(r, selector, since, seen))
    try:
        result = await r.kubectl("create -f server.yaml")
        r.check("created", result.stdout.strip() == e.statefulset_created, _said(result))
        try:
            for name in e.statefulset_pods:
                await r.wait_ready(name)
        finally:
            await r.kubectl(f"get pods -l {selector}")
    finally:
        recorder.cancel()
        await asyncio.gather(recorder, return_exceptions=True)
    problem = _out_of_order(seen, e.statefulset_pods)
    r.check("ordered", problem is None, problem or "")


async def _record_pods(r: Replay, selector: str, since: int,
                       seen: list[tuple[str, bool]]) -> None:
    """Append (pod name, ready) for every change to the pods after revision `since`."""
    async with r.client.watch("pods", "default", label_selector=selector,
                              resource_version=since) as watch:
        async for event in watch:
            if event.type is not EventType.DELETED:
                seen.append((event.object["metadata"]["name"], checks.pod_ready(event.object)))


def _out_of_order(seen: list[tuple[str, bool]], order: tuple[str, ...]) -> str | None:
    """Why pods did not start one after another (each created once the previous is Ready)."""
    for before, after in itertools.pairwise(order):
        created = next((i for i, (name, _) in enumerate(seen) if name == after), None)
        ready = next((i for i, (name, ok) in enumerate(seen) if name == before and ok), None)
        if created is None or ready is None:
            return f"did not see {after} created and {before} Ready"
        if created < ready:
            return f"{after} was created before {before} was Ready"
    return None


async def replica_cannot_resolve(r: Replay) -> None:
    e = r.expected
    unable = e.before_service[-1]
    result = await r.eventually("logs redis-sfs-1", lambda res: unable in res.stdout)
    r.check("connecting", e.before_service[0] in result.stdout, "no such line")
    r.check("unable", checks.missing_in_order(_lines(result), e.before_service) is None,
            "the replica did not report the unresolvable master")
    r.note("The name redis-sfs-0.redis-sfs does not resolve yet: no Service governs the pods.")


async def headless_service(r: Replay) -> None:
    e = r.expected
    r.show_file("service.yaml", manifests.TUTORIAL["service.yaml"])
    result = await r.kubectl("create -f service.yaml")
    r.check("created", result.stdout.strip() == e.service_created, _said(result))
    result = await r.kubectl("get service")
    row = checks.table_row(result.stdout, e.service_row[0])
    r.check("listed", checks.row_starts_with(row, e.service_row),
            f"row {' '.join(row) if row else 'missing'}")
    finished = e.sync_sequence[-1]
    result = await r.eventually("logs redis-sfs-1", lambda res: finished in res.stdout)
    lines = _lines(result)
    last_unable = max((i for i, line in enumerate(lines) if e.before_service[-1] in line),
                      default=-1)
    missing = checks.missing_in_order(lines[last_unable + 1:], e.sync_sequence)
    r.check("synced", missing is None, f"missing {missing!r}")
    result = await r.kubectl(f"exec redis-sfs-1 -- redis-cli -h {e.master_address} ping")
    r.check("ping", result.stdout.strip() == e.ping_reply, _said(result))
    await r.kubectl("exec redis-sfs-0 -- redis-cli set tutorial step-5")
    result = await r.eventually("exec redis-sfs-1 -- redis-cli get tutorial",
                                _prints("step-5"), timeout=5)
    r.check("replicated", result.stdout.strip() == "step-5", _said(result))


async def same_names_after_delete(r: Replay) -> None:
    master, replica = r.expected.statefulset_pods
    for key, name, value in (("replica-back", replica, "step-5"),
                             ("master-back", master, "after-restart")):
        old = await r.pod(name)
        await r.kubectl(f"delete pod {name}")
        try:
            await r.wait_ready(name, not_uid=(old or {}).get("metadata", {}).get("uid", ""))
        finally:
            await r.kubectl("get pods -l app=redis-sfs")
        if name == master:
            r.note("The master came back empty (no persistence); the replica syncs from it again.")
            await r.eventually(f"exec {master} -- redis-cli set tutorial {value}",
                               _prints("OK"), timeout=5)
        result = await r.eventually(f"exec {replica} -- redis-cli get tutorial",
                                    _prints(value))
        r.check(key, result.stdout.strip() == value, _said(result))


async def master_dies(r: Replay) -> None:
    e = r.expected
    master, replica = e.statefulset_pods
    await r.kubectl("get pods -l app=redis-sfs -o wide")
    master_pod, replica_pod = await r.pod(master), await r.pod(replica)
    node = (master_pod or {}).get("spec", {}).get("nodeName")
    if not node or not replica_pod or replica_pod["spec"].get("nodeName") == node:
        raise StepFailed(f"{master} and {replica} are not on two different nodes")
    r.note(f"Fault: {node}, the master's node, loses power: its kubelet stops, its containers die.")
    await r.cluster.kill_node(node)

    async def not_ready() -> bool:
        return checks.node_ready(await r.client.get("nodes", node)) != "True"
    await r.wait(f"the cluster to notice that {node} is gone", not_ready)
    await r.kubectl("get nodes")
    r.note("Kubernetes knows the node is gone. The replica:")
    result = await r.eventually(f"exec {replica} -- redis-cli info replication",
                                lambda res: "master_link_status:down" in res.stdout, timeout=5)
    fields = {line.strip() for line in result.stdout.splitlines()}
    r.check("orphaned", all(want in fields for want in e.replica_role), _said(result))
    result = await r.kubectl(f"exec {replica} -- redis-cli set tutorial lost")
    r.check("readonly", e.readonly_error in result.stdout + result.stderr, _said(result))
    r.note("Nothing promotes the replica: no component performs the switch. The tutorial points"
           "\nto Redis Sentinel (k8s-redis-ha); redisha's RedisFailover operator closes the gap.")


# -- 6. Operators ---------------------------------------------------------------------------


async def memcached_operator(r: Replay) -> None:
    e = r.expected
    crd_file = "cache.example.com_memcacheds.yaml"
    manifests.write(r.workdir, crd_file, manifests.as_yaml(memcached_crd.crd()))
    r.note(f"{crd_file}: the CRD operator-sdk generates for its Memcached sample.")
    result = await r.kubectl(f"apply -f {crd_file}")
    r.check("crd", result.stdout.strip() == e.crd_applied, _said(result))

    records = await _start_operator(r)
    sample_file = "cache_v1alpha1_memcached.yaml"
    r.show_file(sample_file, manifests.TUTORIAL[sample_file])
    result = await r.kubectl(f"apply -f {sample_file}")
    r.check("sample", result.stdout.strip() == e.memcached_applied, _said(result))

    name = e.memcached_deployment

    async def deployment() -> dict[str, Any] | None:
        try:
            return await r.client.get("deployments", name, "default")
        except errors.NotFound:
            return None
    found = await r.wait(f"the operator to create Deployment {name}", deployment)
    owners = [(o.get("kind"), o.get("name")) for o in found["metadata"].get("ownerReferences") or []]
    r.check("deployment", (memcached_crd.KIND, "memcached-sample") in owners, f"owners {owners}")

    fields = [getattr(record, memcached_logs.FIELDS_ATTRIBUTE, {}) for record in records
              if record.getMessage().startswith(e.operator_log)]
    r.check("log", any(f.get("Deployment.Namespace") == "default"
                       and f.get("Deployment.Name") == name for f in fields),
            f"{e.operator_log!r} logged with {fields}")

    selector = memcached_controller.selector_for("memcached-sample")

    async def running_pod() -> dict[str, Any] | None:
        """A Running pod, once the Deployment counts it available too (as `get` shows)."""
        pods = (await r.client.list("pods", "default", label_selector=selector)).items
        pod = next((p for p in pods if checks.pod_ready(p)), None)
        status = (await r.client.get("deployments", name, "default")).get("status") or {}
        return pod if pod is not None and status.get("availableReplicas") else None
    try:
        pod = await r.wait("the memcached pod to be Running", running_pod)
    finally:
        await r.kubectl(f"get deployment {name}")
        await r.kubectl(f"get pods -l {selector}")
    pod_name = pod["metadata"]["name"]
    r.check("pod", checks.deployment_pod_name(pod_name, name) is not None, pod_name)
    command = "get memcached memcached-sample -o jsonpath={.status.nodes}"
    result = await r.eventually(command, lambda res: pod_name in res.stdout)
    r.check("status", pod_name in result.stdout, _said(result))


async def _start_operator(r: Replay) -> list[logging.LogRecord]:
    """Run the sample's controller against the cluster, as `make run` does; its log lines
    are printed as they come and returned as records."""
    records: list[logging.LogRecord] = []
    # A logger of our own, outside logging's registry: nothing global is configured.
    logger = logging.Logger(memcached_controller.LOGGER_NAME, logging.INFO)  # noqa: LOG001
    formatter = memcached_logs.ZapConsoleFormatter()

    class Transcript(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)
            r.say(f"[make run] {formatter.format(record)}")

    logger.addHandler(Transcript())
    r.note("make run: the Memcached controller starts and watches the cluster.")
    operator = memcached_controller.MemcachedReconciler(r.client, logger=logger)
    await operator.start()
    r.defer(operator.stop)
    return records


# -- the walkthrough ------------------------------------------------------------------------

STEPS: tuple[Step, ...] = (
    Step("2", "A cluster in one command", {
        "version": "kubectl version prints client and server versions",
        "nodes": "every node is Ready",
    }, cluster_in_one_command),
    Step("3.1", "kubectl run redis --image=redis", {
        "created": "kubectl run prints pod/redis created",
        "running": "kubectl get pods shows redis 1/1 Running 0",
    }, run_redis),
    Step("3.2", "redis-cli in the pod", {
        "pong": "redis-cli ping in the pod answers PONG",
    }, exec_redis_cli),
    Step("3.3", "The pod is scheduled as a unit", {
        "fits": "a pod of two 2Gi containers lands on the 4Gi node, never the 3.5Gi one",
        "unschedulable": "a second such pod fits on no node (FailedScheduling)",
    }, schedule_a_pod),
    Step("3.4", "A Deployment brings its pod back", {
        "created": "kubectl create deployment prints deployment.apps/redis-deployment created",
        "name": "the pod is named redis-deployment-<template hash>-<5-character suffix>",
        "bare-gone": "the deleted bare pod redis is gone for good",
        "replaced": "a new pod with the same hash and a new suffix runs within seconds",
    }, deployment_heals),
    Step("3.5", "kubectl create -f pod.yaml", {
        "created": "kubectl create -f pod.yaml prints pod/redis created",
    }, create_from_yaml),
    Step("4", "What happens on kubectl create deployment", {
        "chain": "events show ScalingReplicaSet → SuccessfulCreate → Scheduled → Pulled → "
                 "Created → Started, in that order",
    }, list_watch_chain),
    Step("5.1", "A StatefulSet: redis-sfs-0, then redis-sfs-1", {
        "created": "kubectl create -f server.yaml prints statefulset.apps/redis-sfs created",
        "ordered": "redis-sfs-1 is created only once redis-sfs-0 is Ready",
    }, statefulset_in_order),
    Step("5.2", "The replica cannot find its master", {
        "connecting": "the replica logs Connecting to MASTER redis-sfs-0.redis-sfs:6379",
        "unable": "then Unable to connect to MASTER: Resource temporarily unavailable",
    }, replica_cannot_resolve),
    Step("5.3", "A headless Service gives the pods names", {
        "created": "kubectl create -f service.yaml prints service/redis-sfs created",
        "listed": "kubectl get service lists redis-sfs ClusterIP None <none> 6379/TCP",
        "synced": "the replica's log continues through MASTER <-> REPLICA sync: Finished "
                  "with success",
        "ping": "redis-cli -h redis-sfs-0.redis-sfs.default.svc.cluster.local ping answers "
                "PONG from the replica",
        "replicated": "a key set on the master is read on the replica",
    }, headless_service),
    Step("5.4", "Deleted pods come back under the same names", {
        "replica-back": "redis-sfs-1 comes back and syncs the master's data again",
        "master-back": "redis-sfs-0 comes back and replication resumes",
    }, same_names_after_delete),
    Step("5.5", "The open problem: the master dies", {
        "orphaned": "the replica stays role:slave with master_link_status:down",
        "readonly": "the replica rejects writes with READONLY; nothing promotes it",
    }, master_dies),
    Step("6", "An operator: the Memcached sample", {
        "crd": "kubectl apply creates the memcacheds.cache.example.com CRD",
        "sample": "kubectl apply creates memcached.cache.example.com/memcached-sample",
        "deployment": "the controller creates Deployment memcached-sample, owned by it",
        "log": "the controller logs Creating a new Deployment with its namespace and name",
        "pod": "its pod memcached-sample-<hash>-<suffix> runs",
        "status": "status.nodes lists the pod's name",
    }, memcached_operator),
)
"""The walkthrough's steps 2 to 6, in order; each leaves the cluster as the next expects."""
