"""Attached over HTTPS to `redisha serve`: the operator alone (`redisha operator`), the
dashboard (`--kubeconfig`) and `redisha kubectl`, as they run embedded."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from redisha import cli, demo, remote
from redisha.demo import DashboardRun, DemoOptions, DemoScenario
from redisha.serve import Served, serving
from tests.tui.dashboard_helpers import FAST, FAST_DEMO


@contextlib.asynccontextmanager
async def served_demo(tmp_path: Path, *, operator: bool) -> AsyncIterator[Served]:
    """The demo (fast timers) behind HTTPS; with `operator=False` nothing reconciles it
    until an operator attaches."""
    options = DemoOptions(down_after_ms=500, operator=operator)
    async with demo.cluster_with_demo(options, FAST_DEMO) as cluster, serving(
            cluster.api, state_dir=tmp_path / "state") as served:
        yield served


async def run_cli(*argv: str) -> tuple[int, str, str]:
    """`redisha ARGV` in a child process (the server runs in this test's loop)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; from redisha.cli import main; sys.exit(main())",
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


async def test_the_attached_operator_and_dashboard_pass_the_kill_primary_demo(
        tmp_path: Path) -> None:
    """`redisha serve --no-operator` + `redisha operator` over HTTPS bootstraps the demo;
    the dashboard attached with --kubeconfig kills the primary from its pods table, and
    the failover completes with no acknowledged write lost."""
    async with served_demo(tmp_path, operator=False) as served:
        stop = asyncio.Event()
        async with remote.connect(remote.RemoteTarget(served.kubeconfig)) as client:
            operator = asyncio.create_task(remote.run_operator(client, stop=stop))
            try:
                out, err = io.StringIO(), io.StringIO()
                run = DashboardRun(DemoOptions(), headless=True, demo=DemoScenario.KILL_PRIMARY,
                                   settings=FAST, remote=remote.RemoteTarget(served.kubeconfig))
                code = await demo.run_dashboard(run, out=out, err=err)
            finally:
                stop.set()
                assert await asyncio.wait_for(operator, 10) == 0
        assert code == 0, (out.getvalue(), err.getvalue())
        failover = [line for line in out.getvalue().splitlines() if line.startswith("failover:")]
        assert len(failover) == 1, out.getvalue()
        assert failover[0].startswith("failover: rfr-demo-0 -> rfr-demo-"), failover
        assert failover[0].endswith("lost 0 writes"), failover


async def test_redisha_kubectl_runs_the_command_layer_against_the_server(
        tmp_path: Path) -> None:
    """`redisha kubectl --kubeconfig K get nodes` prints kubectl's table from the server;
    `run` and `get -o name` round-trip; an unknown kind is kubectl's one-line error."""
    async with served_demo(tmp_path, operator=True) as served:
        kubeconfig = str(served.kubeconfig)
        code, out, _ = await run_cli("kubectl", "--kubeconfig", kubeconfig, "get", "nodes")
        assert code == 0
        assert out.splitlines()[0].split()[:2] == ["NAME", "STATUS"]
        assert sum(" Ready " in line for line in out.splitlines()) == 3
        code, out, err = await run_cli("kubectl", "run", "hello", "--image=redis",
                                       f"--kubeconfig={kubeconfig}")
        assert (code, out.strip()) == (0, "pod/hello created"), err
        code, out, _ = await run_cli("kubectl", "-s", served.url, "--kubeconfig", kubeconfig,
                                     "get", "po", "hello", "-o", "name")
        assert (code, out.strip()) == (0, "pod/hello")
        code, out, _ = await run_cli("kubectl", "--kubeconfig", kubeconfig, "get", "po",
                                     "hello", "-o", "jsonpath={.metadata.name}")
        assert (code, out) == (0, "hello")  # as kubectl writes it: no newline added
        code, _, err = await run_cli("kubectl", "--kubeconfig", kubeconfig, "get", "nope")
        assert code == 1
        assert err.strip() == 'error: the server doesn\'t have a resource type "nope"'


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["kubectl", "--kubeconfig", "/nonexistent/kubeconfig", "get", "pods"], 1,
     "redisha kubectl: no kubeconfig at /nonexistent/kubeconfig (start `redisha serve`, "
     "or pass --kubeconfig PATH)"),
    (["kubectl", "get", "pods", "--kubeconfig"], 2,
     "redisha kubectl: error: flag needs an argument: --kubeconfig"),
    (["operator", "--kubeconfig", "/nonexistent/kubeconfig"], 1,
     "redisha operator: no kubeconfig at /nonexistent/kubeconfig (start `redisha serve`, "
     "or pass --kubeconfig PATH)"),
])
def test_bad_attachments_are_one_line(argv: list[str], code: int, message: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A missing kubeconfig or a flag without its value: one line and a non-zero exit."""
    assert cli.main(argv) == code
    assert capsys.readouterr().err.strip() == message


def test_embedded_only_options_do_not_mix_with_an_attachment(
        capsys: pytest.CaptureFixture[str]) -> None:
    """--nodes shapes the embedded cluster; with --kubeconfig it is refused in one line."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["dashboard", "--kubeconfig", "/k", "--nodes", "5"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().endswith(
        "error: --nodes shapes the embedded cluster; it cannot apply to one attached with "
        "--kubeconfig/--server")


async def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    """A kubeconfig whose server does not answer: `connect` fails in one line naming it."""
    async with served_demo(tmp_path, operator=True) as served:
        kubeconfig = served.kubeconfig
    with pytest.raises(remote.RemoteError) as raised:
        async with remote.connect(remote.RemoteTarget(kubeconfig)):
            pass
    message = str(raised.value)
    assert message.count(served.url) == 1 and "\n" not in message, message
