"""What the real kubectl POSTs as protobuf decodes to what it prints with --dry-run=client."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cluster.http import protobuf
from tests.real_kubectl import need_kubectl, requires_kubectl  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("requires_kubectl")


@dataclass
class Recorder:
    """A throwaway API server that only answers /version and records each POSTed body."""

    url: str = ""
    posts: list[tuple[str, bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        data = await request.read()
        if request.method == "POST":
            content_type = request.headers.get("Content-Type", "")
            self.posts.append((content_type, data))
            # kubectl decodes the reply as the object it sent; echoing the body satisfies it.
            return web.Response(status=201, body=data, headers={"Content-Type": content_type})
        if request.path == "/version":
            return web.json_response({"major": "1", "minor": "32", "gitVersion": "v1.32.0"})
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                  "reason": "NotFound", "code": 404}, status=404)


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{path:.*}", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    rec.url = f"http://127.0.0.1:{port}"
    yield rec
    await runner.cleanup()


async def kubectl(tmp_path: Path, server: str, *argv: str) -> str:
    """Run the real kubectl against `server` with no user config; return its stdout."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.touch()
    env = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": str(kubeconfig)}
    proc = await asyncio.create_subprocess_exec(
        need_kubectl(), "--server", server, *argv, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def posted_and_dry_run(tmp_path: Path, rec: Recorder,
                             argv: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Decode what `kubectl create …` POSTed; return it with the same command's dry-run JSON."""
    await kubectl(tmp_path, rec.url, "create", *argv)
    assert len(rec.posts) == 1
    content_type, data = rec.posts[0]
    assert content_type == protobuf.MEDIA_TYPE
    dry = await kubectl(tmp_path, rec.url, "create", "--dry-run=client", "-o", "json", *argv)
    return protobuf.decode(data), json.loads(dry)


@pytest.mark.parametrize("argv", [
    pytest.param(["deployment", "web", "--image=redis", "--replicas=2"], id="deployment"),
    pytest.param(["deployment", "cache", "--image=redis:7", "--port=6379", "--replicas=0",
                  "--", "redis-server", "--appendonly", "yes"], id="deployment-command"),
    pytest.param(["service", "nodeport", "np", "--tcp=80:http", "--node-port=30080"],
                 id="service"),
    pytest.param(["secret", "generic", "s", "--from-literal=p=q", "--from-literal=r=s"],
                 id="secret"),
    pytest.param(["namespace", "ns1"], id="namespace"),
])
async def test_kubectl_protobuf_body_equals_its_dry_run_json(
        tmp_path: Path, recorder: Recorder, argv: list[str]) -> None:
    """The live protobuf body of `kubectl create …` decodes to the JSON its dry run prints."""
    posted, dry_run = await posted_and_dry_run(tmp_path, recorder, argv)
    assert posted == dry_run


async def test_kubectl_create_deployment_body_carries_the_deployment(
        tmp_path: Path, recorder: Recorder) -> None:
    """`create deployment web --image=redis --replicas=2` arrives with name, labels and image."""
    await kubectl(tmp_path, recorder.url, "create", "deployment", "web", "--image=redis",
                  "--replicas=2")
    obj = protobuf.decode(recorder.posts[0][1])
    assert (obj["apiVersion"], obj["kind"]) == ("apps/v1", "Deployment")
    assert obj["metadata"]["name"] == "web"
    assert obj["metadata"]["labels"] == {"app": "web"}
    assert obj["spec"]["replicas"] == 2
    assert obj["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert obj["spec"]["template"]["metadata"]["labels"] == {"app": "web"}
    assert [c["image"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["redis"]
