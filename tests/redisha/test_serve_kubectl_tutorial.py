"""The tutorial, typed into the real `/usr/bin/kubectl`, against `redisha serve`'s server.

One demo cluster (fake backend, the dashboard tests' fast tuning: the RedisFailover `demo`,
its operator and writer) is served over HTTPS for the whole module; each test walks one
part of the tutorial through the kubeconfig `serving()` wrote, asserting kubectl's exit
code and what a reader would see. kubectl runs as a subprocess so that the server, which
lives in the test's event loop, keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from cluster.embedded import EmbeddedCluster
from redisha.backends import Backend
from redisha.demo import DemoOptions, cluster_with_demo
from redisha.serve import serving
from redisha.tutorial.checks import (
    EXPECTED,
    missing_in_order,
    row_starts_with,
    table_row,
    table_rows,
)
from redisha.tutorial.manifests import TUTORIAL
from tests.real_kubectl import need_kubectl
from tests.redisha.test_serve import kubectl
from tests.tui.dashboard_helpers import DOWN_AFTER_MS, FAST_DEMO

pytestmark = pytest.mark.asyncio(loop_scope="module")

REQUEST_TIMEOUT = "--request-timeout=20s"
"""Every kubectl call gives up on a silent server (its default is to wait forever)."""


@dataclass(frozen=True)
class Tutorial:
    """The served demo cluster, and where the reader's kubectl keeps its files."""

    cluster: EmbeddedCluster
    kubeconfig: Path
    workdir: Path
    """The manifests (pod.yaml, server.yaml, ...) and kubectl's discovery cache."""

    async def run(self, *argv: str) -> tuple[int, str, str]:
        """One kubectl command to completion: exit code, stdout, stderr."""
        return await kubectl(self.kubeconfig, self.workdir / "cache", REQUEST_TIMEOUT, *argv)

    async def ok(self, *argv: str) -> str:
        """A command that must succeed; its stdout."""
        code, out, err = await self.run(*argv)
        assert code == 0, f"kubectl {' '.join(argv)} exited {code}: {err}"
        return out

    async def eventually(self, argv: tuple[str, ...], condition: Callable[[str], bool],
                         timeout: float = 10.0) -> str:
        """Repeat a command until its stdout satisfies `condition`; fail after `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            out = await self.ok(*argv)
            if condition(out):
                return out
            if loop.time() > deadline:
                pytest.fail(f"kubectl {' '.join(argv)} not as expected within {timeout}s; "
                            f"last output:\n{out}")
            await asyncio.sleep(0.1)

    @contextlib.asynccontextmanager
    async def streaming(self, *argv: str) -> AsyncIterator[Lines]:
        """A long-running kubectl (`get -w`, `logs -f`), killed when the block ends."""
        process = await asyncio.create_subprocess_exec(
            need_kubectl(), "--kubeconfig", str(self.kubeconfig),
            "--cache-dir", str(self.workdir / "cache"), REQUEST_TIMEOUT, *argv,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            yield Lines(process)
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()


@dataclass
class Lines:
    """The stdout of a streaming kubectl, read line by line with deadlines."""

    process: asyncio.subprocess.Process

    async def until(self, wanted: Callable[[str], bool], what: str,
                    timeout: float = 15.0) -> list[str]:
        """Read lines until one is `wanted`; every line read so far, that one last."""
        assert self.process.stdout is not None
        seen: list[str] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                raw = await asyncio.wait_for(self.process.stdout.readline(),
                                             max(deadline - loop.time(), 0.01))
            except TimeoutError:
                pytest.fail(f"no {what} within {timeout}s; read:\n" + "\n".join(seen))
            if not raw:
                assert self.process.stderr is not None
                err = (await self.process.stderr.read()).decode()
                pytest.fail(f"kubectl ended before {what}; read:\n" + "\n".join(seen)
                            + f"\nstderr: {err}")
            seen.append(raw.decode().rstrip("\n"))
            if wanted(seen[-1]):
                return seen


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tutorial(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Tutorial]:
    """The demo cluster (3 nodes, fast timers) behind `serving()`, and the tutorial's files."""
    need_kubectl()
    workdir = tmp_path_factory.mktemp("tutorial")
    for name, text in TUTORIAL.items():
        (workdir / name).write_text(text)
    options = DemoOptions(backend=Backend.FAKE, down_after_ms=DOWN_AFTER_MS)
    async with cluster_with_demo(options, FAST_DEMO) as cluster, serving(
            cluster.api, state_dir=workdir / "state") as served:
        yield Tutorial(cluster=cluster, kubeconfig=served.kubeconfig, workdir=workdir)


def running(name: str) -> Callable[[str], bool]:
    """`kubectl get pods` lists `name` as 1/1 Running with no restarts."""
    return lambda out: row_starts_with(table_row(out, name), (name, *EXPECTED.running_row))


async def test_version_reports_server_minor_32(tutorial: Tutorial) -> None:
    """`kubectl version` prints the client's and the server's versions; the server is 1.32."""
    out = await tutorial.ok("version")
    assert "Client Version: v1." in out
    assert re.search(r"^Server Version: v1\.32\.\d+", out, re.MULTILINE), out


async def test_run_watch_exec_and_a_deployment_that_heals(tutorial: Tutorial) -> None:
    """Section 3: run a pod, watch it, ping it, then a Deployment replaces a deleted pod."""
    assert (await tutorial.ok("run", "redis", "--image=redis")).strip() == EXPECTED.run_created
    out = await tutorial.eventually(("get", "pods"), running("redis"))
    assert out.split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]

    async with tutorial.streaming("get", "pods", "-w") as watch:
        seen = await watch.until(lambda line: line.split()[:1] == ["redis"], "row for redis")
        assert seen[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        assert (await tutorial.ok("run", "watched", "--image=redis")).strip() == \
            "pod/watched created"
        await watch.until(lambda line: line.split()[:1] == ["watched"], "row for watched")
    assert (await tutorial.ok("delete", "pod", "watched")).strip() == 'pod "watched" deleted'

    assert (await tutorial.ok("exec", "redis", "--", "redis-cli", "ping")).strip() == \
        EXPECTED.ping_reply

    # kubectl 1.32 posts this Deployment as protobuf.
    out = await tutorial.ok("create", "deployment", "redis-deployment", "--image=redis")
    assert out.strip() == EXPECTED.deployment_created
    selector = ("get", "pods", "-l", "app=redis-deployment")
    out = await tutorial.eventually(
        selector, lambda o: any(r[1:3] == ["1/1", "Running"] for r in table_rows(o)))
    (first,) = [row[0] for row in table_rows(out)]
    assert re.fullmatch(r"redis-deployment-[a-z0-9]+-[a-z0-9]{5}", first), first

    out = await tutorial.ok("delete", "pod", "redis", first)
    assert out.splitlines() == ['pod "redis" deleted', f'pod "{first}" deleted']
    out = await tutorial.eventually(selector, lambda o: any(
        r[0] != first and r[1:3] == ["1/1", "Running"] for r in table_rows(o)))
    assert first not in [row[0] for row in table_rows(out)]

    out = await tutorial.ok("create", "-f", str(tutorial.workdir / "pod.yaml"))
    assert out.strip() == EXPECTED.pod_file_created
    await tutorial.eventually(("get", "pods"), running("redis"))


async def test_statefulset_apply_service_and_replication(tutorial: Tutorial) -> None:
    """Section 5: apply the StatefulSet (created, unchanged, configured by a PATCH), add the
    headless Service, follow the replica's sync, describe the master."""
    server = tutorial.workdir / "server.yaml"
    out = await tutorial.ok("apply", "-f", str(server))
    assert out.strip() == EXPECTED.statefulset_created
    assert (await tutorial.ok("apply", "-f", str(server))).strip() == \
        "statefulset.apps/redis-sfs unchanged"
    changed = tutorial.workdir / "server-labelled.yaml"
    changed.write_text(TUTORIAL["server.yaml"].replace(
        "  name: redis-sfs\n", "  name: redis-sfs\n  labels:\n    tier: cache\n", 1))
    code, out, err = await tutorial.run("apply", "-f", str(changed), "-v=6")
    assert code == 0, err
    assert out.strip() == "statefulset.apps/redis-sfs configured"
    assert re.search(r"PATCH https://127\.0\.0\.1:\d+/apis/apps/v1/namespaces/default/"
                     r"statefulsets/redis-sfs\?\S* 200 OK", err), err
    labels = await tutorial.ok("get", "statefulset", "redis-sfs",
                               "-o", "jsonpath={.metadata.labels.tier}")
    assert labels == "cache"

    out = await tutorial.ok("create", "-f", str(tutorial.workdir / "service.yaml"))
    assert out.strip() == EXPECTED.service_created
    out = await tutorial.ok("get", "service")
    assert out.split()[:6] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert row_starts_with(table_row(out, "redis-sfs"), EXPECTED.service_row), out

    await tutorial.eventually(("get", "pods", "-l", "app=redis-sfs"), running("redis-sfs-1"),
                              timeout=15)
    finished = EXPECTED.sync_sequence[-1]
    async with tutorial.streaming("logs", "-f", "redis-sfs-1") as log:
        lines = await log.until(lambda line: finished in line, "finished sync")
    assert missing_in_order(lines, EXPECTED.sync_sequence) is None, "\n".join(lines)

    out = await tutorial.ok("describe", "pod", "redis-sfs-0")
    assert re.search(r"^Name:\s+redis-sfs-0$", out, re.MULTILINE), out
    assert re.search(r"^Status:\s+Running$", out, re.MULTILINE), out
    events = out[out.index("\nEvents:"):]
    assert re.search(r"Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned "
                     r"default/redis-sfs-0 to ", events), events


async def test_nodes_and_the_redisfailover(tutorial: Tutorial) -> None:
    """`get nodes` lists three Ready nodes; `get rf` shows the demo with its CRD's columns."""
    out = await tutorial.ok("get", "nodes")
    assert out.split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    rows = table_rows(out)
    assert len(rows) == 3 and all(row[1] == "Ready" for row in rows), out

    out = await tutorial.eventually(
        ("get", "rf"), lambda o: bool(re.search(r"^demo\s+rfr-demo-\d\s", o, re.MULTILINE)),
        timeout=15)
    assert out.split()[:7] == ["NAME", "PRIMARY", "PHASE", "EPOCH", "REPLICAS", "SENTINELS",
                               "AGE"]
    row = table_row(out, "demo")
    assert row is not None and row[4:6] == ["3", "3"], out


async def test_deleting_the_primary_fails_over(tutorial: Tutorial) -> None:
    """`delete pod` of the demo's primary: the operator records a completed failover to
    another pod, read back through `get rf -o jsonpath`."""
    status = ("get", "rf", "demo", "-o",
              "jsonpath={.status.primary} {.status.phase} {.status.lastFailover.completedAt}")
    out = await tutorial.eventually(status, lambda o: o.split()[1:2] == ["Ready"], timeout=20)
    primary = out.split()[0]
    assert primary == "rfr-demo-0", out  # the StatefulSet's first pod starts as the primary
    previous = out.split()[2:]  # no failover before this one

    assert (await tutorial.ok("delete", "pod", primary)).strip() == f'pod "{primary}" deleted'

    def failed_over(o: str) -> bool:
        words = o.split()
        return (len(words) == 3 and words[0].startswith("rfr-demo-") and words[0] != primary
                and words[2:] != previous)
    out = await tutorial.eventually(status, failed_over, timeout=20)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", out.split()[2]), out
