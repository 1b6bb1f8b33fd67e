"""`redisha serve` and `redisha.serve.serving`: the cluster's API over HTTPS, end to end."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import kubernetes
import pytest

from cluster.embedded import ClusterSettings, EmbeddedCluster, start_cluster
from redisha import cli
from redisha.backends import Backend
from redisha.serve import Served, ServeError, ServeOptions, serve, serving
from tests.real_kubectl import need_kubectl
from tests.waiting import wait_until

SERVING_LINE = re.compile(
    r"^redisha: serving the Kubernetes API at (https://127\.0\.0\.1:\d+) "
    r"\(kubeconfig: (.+)\)$")


async def kubectl(kubeconfig: Path, cache: Path, *argv: str) -> tuple[int, str, str]:
    """Run the real kubectl against a kubeconfig; its discovery cache kept per test."""
    process = await asyncio.create_subprocess_exec(
        need_kubectl(), "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def trusting(ca_pem: bytes) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=ca_pem.decode())


async def get(served: Served, path: str, token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with aiohttp.ClientSession() as session, session.get(
            served.url + path, headers=headers, ssl=trusting(served.ca_pem)) as response:
        return response.status, json.loads(await response.text())


@pytest.fixture
async def cluster() -> AsyncIterator[EmbeddedCluster]:
    async with start_cluster(ClusterSettings.quick(nodes=1)) as running:
        yield running


@pytest.fixture
async def served(cluster: EmbeddedCluster, tmp_path: Path) -> AsyncIterator[Served]:
    async with serving(cluster.api, state_dir=tmp_path / "state") as running:
        yield running


async def test_serving_publishes_a_private_kubeconfig(served: Served, tmp_path: Path) -> None:
    """serving() listens on a loopback port and writes a 0600 kubeconfig for that URL."""
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", served.url)
    assert served.kubeconfig == tmp_path / "state" / "kubeconfig"
    assert stat.S_IMODE(served.kubeconfig.stat().st_mode) == 0o600
    assert served.url in served.kubeconfig.read_text()
    assert served.token == (tmp_path / "state" / "token").read_text().strip()
    status, body = await get(served, "/version", served.token)
    assert status == 200 and body["major"]


@pytest.mark.parametrize("token", [None, "wrong"], ids=["no-token", "wrong-token"])
async def test_requests_without_the_token_get_401(served: Served, token: str | None) -> None:
    """A missing or wrong bearer token is a 401 Unauthorized Status, on every path."""
    for path in ("/version", "/api/v1/namespaces/default/pods"):
        status, body = await get(served, path, token)
        assert status == 401, path
        assert body["kind"] == "Status" and body["code"] == 401
        assert body["reason"] == "Unauthorized"


async def test_real_kubectl_reaches_the_cluster(served: Served, cluster: EmbeddedCluster,
                                                tmp_path: Path) -> None:
    """The real kubectl, with only the kubeconfig, gets the version and lists the nodes."""
    code, out, err = await kubectl(served.kubeconfig, tmp_path / "cache", "version",
                                   "-o", "json")
    assert code == 0, err
    assert json.loads(out)["serverVersion"]["minor"] == cluster.api.version()["minor"]
    code, out, err = await kubectl(served.kubeconfig, tmp_path / "cache", "get", "nodes")
    assert code == 0, err
    assert out.split()[:2] == ["NAME", "STATUS"]
    assert sorted(line.split()[0] for line in out.splitlines()[1:]) == sorted(cluster.kubelets)


async def test_official_client_reaches_the_cluster(served: Served,
                                                   cluster: EmbeddedCluster) -> None:
    """The official Python client, configured from the kubeconfig, lists the nodes over TLS."""
    api_client = kubernetes.config.new_client_from_config(config_file=str(served.kubeconfig))

    def list_nodes() -> list[str]:  # the official client blocks: it gets a thread
        with api_client:
            nodes = kubernetes.client.CoreV1Api(api_client).list_node()
            return sorted(node.metadata.name for node in nodes.items)

    assert await asyncio.to_thread(list_nodes) == sorted(cluster.kubelets)


async def test_restart_reuses_credentials(cluster: EmbeddedCluster, tmp_path: Path) -> None:
    """A second serving() on the same state directory presents the same certificate and token."""
    async with serving(cluster.api, state_dir=tmp_path) as first:
        pass
    async with serving(cluster.api, state_dir=tmp_path) as second:
        assert (second.token, second.ca_pem) == (first.token, first.ca_pem)
        status, _ = await get(second, "/version", first.token)
        assert status == 200


async def test_a_port_in_use_is_one_line_and_writes_no_kubeconfig(
        cluster: EmbeddedCluster, tmp_path: Path) -> None:
    """Binding a taken port raises ServeError naming the address; no kubeconfig appears."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServeError) as caught:
            async with serving(cluster.api, state_dir=tmp_path, port=port):
                pytest.fail("served on a taken port")
    assert str(caught.value).startswith(f"cannot listen on 127.0.0.1:{port}: address already "
                                        f"in use")
    assert not (tmp_path / "kubeconfig").exists()


async def test_serving_refuses_a_remote_address(cluster: EmbeddedCluster,
                                                tmp_path: Path) -> None:
    """A non-loopback host without allow_remote raises before anything is written."""
    with pytest.raises(ValueError, match="refusing to listen on 0.0.0.0"):
        async with serving(cluster.api, state_dir=tmp_path / "state", host="0.0.0.0"):
            pytest.fail("served on 0.0.0.0")
    assert not (tmp_path / "state").exists()


# -- the command -----------------------------------------------------------------------------


def test_cli_refuses_a_remote_listen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`redisha serve --listen 0.0.0.0` exits 2 with the one documented line, writing nothing."""
    code = cli.main(["serve", "--listen", "0.0.0.0", "--state-dir", str(tmp_path / "state")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == ("redisha serve: refusing to listen on 0.0.0.0: not a loopback "
                            "address (pass --allow-remote to serve the API beyond this "
                            "machine)\n")
    assert captured.out == ""
    assert not (tmp_path / "state").exists()


def test_cli_unwritable_state_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A state directory that cannot be made is one line on stderr and exit 1."""
    (tmp_path / "file").write_text("x")
    code = cli.main(["serve", "--no-demo", "--state-dir", str(tmp_path / "file" / "state")])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"redisha serve: cannot keep credentials in "
                                   f"{tmp_path / 'file' / 'state'}: ")


def test_cli_bad_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """An out-of-range --port is one usage line and exit 2."""
    with pytest.raises(SystemExit) as caught:
        cli.main(["serve", "--port", "70000"])
    assert caught.value.code == 2
    assert capsys.readouterr().err == ("redisha serve: error: argument --port: 70000 is not a "
                                       "port number (0-65535; 0: any free port)\n")


async def test_serve_runs_the_demo_until_stopped(tmp_path: Path) -> None:
    """serve() prints the URL and a kubectl hint, serves the demo's RedisFailover, exits 0."""
    out, err, stop = io.StringIO(), io.StringIO(), asyncio.Event()
    options = ServeOptions(port=0, state_dir=tmp_path / "state", backend=Backend.FAKE, nodes=1)
    task = asyncio.create_task(serve(options, stop=stop, out=out, err=err))
    await wait_until(lambda: "serving" in out.getvalue() or task.done(), timeout=20,
                     message=lambda: err.getvalue())
    first, hint = out.getvalue().splitlines()
    matched = SERVING_LINE.match(first)
    assert matched, first
    kubeconfig = Path(matched.group(2))
    assert kubeconfig == tmp_path / "state" / "kubeconfig"
    assert hint == f"  kubectl --kubeconfig {kubeconfig} get pods"
    token = (tmp_path / "state" / "token").read_text().strip()
    ca = (tmp_path / "state" / "apiserver.crt").read_bytes()
    probe = Served(url=matched.group(1), token=token, ca_pem=ca, kubeconfig=kubeconfig)
    status, body = await get(
        probe, "/apis/redisha.io/v1/namespaces/default/redisfailovers/demo", token)
    assert status == 200 and body["kind"] == "RedisFailover", body
    stop.set()
    assert await asyncio.wait_for(task, timeout=20) == 0
    assert err.getvalue() == ""


async def test_serve_stops_on_sigterm(tmp_path: Path) -> None:
    """Without a stop event, serve() runs until SIGTERM, exits 0 and restores the old handler."""
    out, err = io.StringIO(), io.StringIO()
    options = ServeOptions(port=0, state_dir=tmp_path / "state", nodes=1, demo=False)
    caught: list[int] = []  # serve() not handling SIGTERM lands here (and the test times out)
    before = signal.signal(signal.SIGTERM, lambda signum, frame: caught.append(signum))
    try:
        mine = signal.getsignal(signal.SIGTERM)
        task = asyncio.create_task(serve(options, out=out, err=err))
        await wait_until(lambda: "serving" in out.getvalue() or task.done(), timeout=20,
                         message=lambda: err.getvalue())
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(task, timeout=20) == 0
        assert err.getvalue() == "" and caught == []
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before)


async def test_serve_command_stops_on_ctrl_c(tmp_path: Path) -> None:
    """The `redisha serve` process serves kubectl, then exits 0 on SIGINT (Ctrl-C)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; from redisha.cli import main; sys.exit(main())",
        "serve", "--port", "0", "--no-demo", "--nodes", "1",
        "--state-dir", str(tmp_path / "state"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        matched = SERVING_LINE.match(line.rstrip("\n"))
        assert matched, line + (await process.stderr.read()).decode()
        kubeconfig = Path(matched.group(2))
        if shutil.which("kubectl"):
            code, out, stderr = await kubectl(kubeconfig, tmp_path / "cache", "get", "nodes")
            assert code == 0 and "node-" in out, stderr
        else:
            config = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
            assert config.configuration.host == matched.group(1)
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
        assert (await process.stderr.read()).decode() == ""
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_served_keeps_the_token_out_of_repr(tmp_path: Path) -> None:
    """What `serving` yields may end up in a traceback: its repr shows no token."""
    served = Served(url="https://127.0.0.1:6443", token="s3cret-token", ca_pem=b"PEM",
                    kubeconfig=tmp_path / "kubeconfig")
    assert "s3cret-token" not in repr(served) and "127.0.0.1:6443" in repr(served)
