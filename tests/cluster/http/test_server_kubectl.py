"""The real kubectl against the server over TLS: discovery, OpenAPI, create (JSON and
protobuf), apply twice, get, watch and delete, as a user would run them. (kubectl sends
no bearer token over plain HTTP, so these need the certificate `security` makes.)"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from http_server_helpers import Served, serving

from cluster.http import security
from tests.real_kubectl import need_kubectl, requires_kubectl  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("requires_kubectl")

MANIFEST = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: "1"
"""


@contextlib.asynccontextmanager
async def tls_serving(tmp: Path) -> AsyncIterator[tuple[Served, Kubectl]]:
    """A fresh engine served over TLS, and a kubectl configured for it."""
    creds = security.load_or_create(tmp / "state")
    async with serving(token=creds.token,
                       ssl_context=security.server_ssl_context(creds, tmp / "state")) as s:
        kubeconfig = tmp / "kubeconfig"
        security.write_kubeconfig(kubeconfig, server=s.url, creds=creds)
        yield s, Kubectl(kubeconfig, tmp)


class Kubectl:
    """Runs kubectl with its own HOME (a fresh discovery cache) and kubeconfig."""

    def __init__(self, kubeconfig: Path, home: Path) -> None:
        self.env = dict(os.environ, HOME=str(home), KUBECONFIG=str(kubeconfig))

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            need_kubectl(), *args, env=self.env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)

    async def __call__(self, *args: str) -> str:
        proc = await self.start(*args)
        async with asyncio.timeout(30):
            out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return out.decode()


async def test_kubectl_create_apply_get_delete(tmp_path: Path) -> None:
    """kubectl's everyday verbs work, with kubectl's own wording for each outcome."""
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(MANIFEST)
    async with tls_serving(tmp_path) as (s, kubectl):
        assert await kubectl("create", "-f", str(manifest)) == "configmap/cfg created\n"
        assert await kubectl("apply", "-f", str(manifest)) == "configmap/cfg configured\n"
        assert await kubectl("apply", "-f", str(manifest)) == "configmap/cfg unchanged\n"
        # `create deployment` sends its body as protobuf.
        assert await kubectl("create", "deployment", "web", "--image=redis") == \
            "deployment.apps/web created\n"
        assert s.api.get("deployments.apps", "web", "default")["spec"]["template"][
            "spec"]["containers"][0]["image"] == "redis"
        listed = await kubectl("get", "configmaps,deployments", "-o", "name")
        assert listed.split() == ["configmap/cfg", "deployment.apps/web"]
        table = await kubectl("get", "configmaps")
        assert table.splitlines()[0].split() == ["NAME", "DATA", "AGE"]
        assert await kubectl("delete", "-f", str(manifest)) == 'configmap "cfg" deleted\n'
        assert s.api.list("configmaps", "default")[0] == []


async def test_kubectl_get_watch_sees_new_objects(tmp_path: Path) -> None:
    """`kubectl get -w` prints the existing rows, then each new object as it is made."""
    async with tls_serving(tmp_path) as (s, kubectl):
        s.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one"}},
                     "default")
        proc = await kubectl.start("get", "configmaps", "-w")
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(30):
                header = await proc.stdout.readline()
            assert header.split() == [b"NAME", b"DATA", b"AGE"]
            async with asyncio.timeout(10):
                first = await proc.stdout.readline()
            assert first.split()[0] == b"one"
            s.api.create({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "two"}}, "default")
            async with asyncio.timeout(10):
                second = await proc.stdout.readline()
            assert second.split()[0] == b"two"
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()


async def test_kubectl_auth_can_i_and_whoami(tmp_path: Path) -> None:
    """`auth can-i` (its review POSTed as protobuf), `--list` and `whoami` answer as for
    a cluster administrator."""
    async with tls_serving(tmp_path) as (_, kubectl):
        assert await kubectl("auth", "can-i", "get", "pods") == "yes\n"
        assert await kubectl("auth", "can-i", "get", "/logs") == "yes\n"
        listed = await kubectl("auth", "can-i", "--list")
        assert listed.splitlines()[1].split() == ["*.*", "[]", "[]", "[*]"]
        whoami = await kubectl("auth", "whoami")
        assert whoami.splitlines()[1].split() == ["Username", "redisha"]


async def test_kubectl_server_dry_run_delete_keeps_the_object(tmp_path: Path) -> None:
    """`delete --dry-run=server` prints kubectl's dry-run line and deletes nothing."""
    async with tls_serving(tmp_path) as (s, kubectl):
        s.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"}},
                     "default")
        out = await kubectl("delete", "configmap", "keep", "--dry-run=server")
        assert out == 'configmap "keep" deleted (server dry run)\n'
        assert s.api.get("configmaps", "keep", "default")["metadata"]["name"] == "keep"


async def test_kubectl_server_dry_run_and_diff_store_nothing(tmp_path: Path) -> None:
    """`create`/`apply --dry-run=server` answer as the write would and store nothing;
    `kubectl diff` shows exactly the changed field (exit 1), and nothing moves."""
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(MANIFEST)
    async with tls_serving(tmp_path) as (s, kubectl):
        assert await kubectl("create", "-f", str(manifest), "--dry-run=server") == \
            "configmap/cfg created (server dry run)\n"
        assert s.api.list("configmaps", "default")[0] == []
        await kubectl("apply", "-f", str(manifest))
        manifest.write_text(MANIFEST.replace('"1"', '"2"'))
        revision = s.api.revision
        assert await kubectl("apply", "-f", str(manifest), "--dry-run=server") == \
            "configmap/cfg configured (server dry run)\n"
        diff = await kubectl.start("diff", "-f", str(manifest))
        async with asyncio.timeout(30):
            out, err = await diff.communicate()
        assert diff.returncode == 1, err.decode()
        changed = [line for line in out.decode().splitlines()
                   if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        assert changed == ['-  a: "1"', '+  a: "2"']
        assert s.api.revision == revision
        assert s.api.get("configmaps", "cfg", "default")["data"] == {"a": "1"}


async def test_kubectl_describe_service_shows_its_endpoints(tmp_path: Path) -> None:
    """kubectl 1.32 reads a Service's endpoints from EndpointSlices: they are listed."""
    async with tls_serving(tmp_path) as (s, kubectl):
        s.api.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
                      "spec": {"selector": {"app": "db"}, "ports": [{"port": 6379}]}},
                     "default")
        s.api.create({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "db"},
                      "subsets": [{"addresses": [{"ip": "10.0.0.1"}],
                                   "ports": [{"port": 6379, "protocol": "TCP"}]}]}, "default")
        described = await kubectl("describe", "service", "db")
        assert "Endpoints:                10.0.0.1:6379\n" in described
