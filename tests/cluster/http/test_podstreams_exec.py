"""`pods/exec` over a WebSocket: channel framing, stdin, exit codes and refusals."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from cluster.api import errors
from cluster.http import remotecommand
from cluster.http.podstreams import Channel, StreamProtocol, close_signal
from tests.cluster.http.podstreams_helpers import (
    Served,
    Session,
    exec_params,
    redis_pod,
    run_exec,
    serving,
)
from tests.cluster.pod_io_helpers import eventually, pod, started

SUCCESS = {"metadata": {}, "status": "Success"}


def stdin(data: bytes) -> bytes:
    """A client's stdin message (channel 0)."""
    return bytes((Channel.STDIN,)) + data


async def test_exec_redis_cli_ping_answers_pong() -> None:
    """`redis-cli ping` in the redis pod: PONG on stdout, then a Success Status, then close."""
    async with serving() as s:
        await s.cluster.client.create(redis_pod())
        await started(s.cluster, "redis")

        async def pong() -> Session | None:  # until redis-server listens
            session = await run_exec(s, "redis", ["redis-cli", "ping"])
            return session if session.status == SUCCESS else None

        session = await eventually(pong, timeout=10, what="redis-cli ping to succeed")
        assert session.protocol == StreamProtocol.V5.value
        assert session.messages == [(Channel.STDOUT, b""), (Channel.STDOUT, b"PONG\n"),
                                    (Channel.ERROR, b'{"metadata":{},"status":"Success"}')]


async def test_exec_non_zero_exit_is_a_status_with_the_code() -> None:
    """A failing command's stderr arrives on channel 2 and its code in a NonZeroExitCode Status."""
    async with serving() as s:
        await s.cluster.client.create(pod("box"))
        await started(s.cluster, "box")
        session = await run_exec(s, "box", ["fail", "7"])
        assert (session.stdout, session.stderr) == (b"", b"boom\n")
        assert session.status == {
            "metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: "
                       "command terminated with exit code 7",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": "7"}]}}
        assert remotecommand.exit_code(session.status) == 7
        quiet = await run_exec(s, "box", ["fail", "3"], stderr=False)
        assert Channel.STDERR not in quiet.output
        assert remotecommand.exit_code(quiet.status or {}) == 3


async def test_exec_stdin_is_collected_until_the_client_closes_it() -> None:
    """Every stdin message up to the v5 close of channel 0 is the command's input."""
    async with serving() as s:
        await s.cluster.client.create(pod("box"))
        await started(s.cluster, "box")
        session = await run_exec(s, "box", ["cat"], stdin=True,
                                 send=[stdin(b"x\n"), stdin(b"y\n"), close_signal(0),
                                       stdin(b"after close\n")])
        assert session.stdout == b"x\ny\n"
        assert session.status == SUCCESS


async def test_exec_client_leaving_before_stdin_ends_ends_the_session() -> None:
    """A client that closes the socket while stdin is open ends the handler; nothing runs."""
    async with serving() as s:
        await s.cluster.client.create(pod("box"))
        await started(s.cluster, "box")
        async with s.session.ws_connect(s.url("box", "exec"), protocols=("v5.channel.k8s.io",),
                                        params=exec_params(["cat"], stdin=True,
                                                           stdout=True)) as ws:
            await ws.send_bytes(stdin(b"never run\n"))
            first = await ws.receive()
            assert first.data == bytes((Channel.STDOUT,))
        await s.wait_finished("exec")


async def test_exec_terminal_merges_streams_and_reads_until_ctrl_d() -> None:
    """With tty, ^D ends stdin, ^C interrupts (130), and stderr shows on stdout as CR LF."""
    async with serving() as s:
        await s.cluster.client.create(pod("box"))
        await started(s.cluster, "box")
        typed = await run_exec(s, "box", ["cat"], stdin=True, tty=True,
                               send=[stdin(b"a\n"), stdin(b"b\x04ignored")])
        assert (typed.stdout, typed.status) == (b"a\r\nb\r\n", SUCCESS)
        failed = await run_exec(s, "box", ["fail", "2"], tty=True)
        assert failed.stdout == b"boom\r\n" and Channel.STDERR not in failed.output
        assert remotecommand.exit_code(failed.status or {}) == 2
        interrupted = await run_exec(s, "box", ["cat"], stdin=True, tty=True,
                                     send=[stdin(b"x\x03")])
        assert (interrupted.stdout, remotecommand.exit_code(interrupted.status or {})) == \
            (b"", 130)


async def test_exec_protocols_frame_as_negotiated() -> None:
    """v5, v4, base64 and unversioned channel protocols each frame output and status their way."""
    async with serving() as s:
        await s.cluster.client.create(pod("box"))
        await started(s.cluster, "box")
        for offered, chosen in [
                ((StreamProtocol.V4.value,), StreamProtocol.V4.value),
                (("v9.channel.k8s.io", StreamProtocol.V4_BASE64.value),
                 StreamProtocol.V4_BASE64.value),
                ((StreamProtocol.V4.value, StreamProtocol.V5.value), StreamProtocol.V4.value),
                ((StreamProtocol.V1_BASE64.value,), StreamProtocol.V1_BASE64.value)]:
            ok = await run_exec(s, "box", ["echo", "hi"], protocols=offered)
            assert (ok.protocol, ok.stdout) == (chosen, b"hi\n"), offered
            bad = await run_exec(s, "box", ["fail", "4"], protocols=offered)
            assert bad.stderr == b"boom\n", offered
            if StreamProtocol(chosen).has_status:
                assert (ok.status, remotecommand.exit_code(bad.status or {})) == (SUCCESS, 4)
            else:  # the error channel carries only a failure's text
                assert Channel.ERROR not in ok.output
                assert bad.output[Channel.ERROR].endswith(b"exit code 4")


async def test_exec_failure_after_the_upgrade_arrives_on_the_error_channel() -> None:
    """A container no longer running is reported as a Status on channel 3, not an HTTP error."""
    async with serving() as s:
        await s.cluster.client.create(pod("done", restart="Never"))
        await started(s.cluster, "done")
        s.feed.say("done", "exit 0")

        async def stopped() -> bool:
            p = await s.cluster.client.get("pods", "done")
            return (p.get("status") or {}).get("phase") == "Succeeded"

        await eventually(stopped, what="pod done to succeed")
        session = await run_exec(s, "done", ["echo", "hi"])
        assert session.status == {"metadata": {}, "status": "Failure", "code": 400,
                                  "reason": "BadRequest", "message":
                                  'unable to upgrade connection: container not found ("main")'}
        with pytest.raises(errors.BadRequest):
            remotecommand.exit_code(session.status)


async def _refusal(s: Served, pod_name: str, command: list[str], *,
                   headers: dict[str, str] | None = None, method: str = "GET",
                   **flags: Any) -> tuple[int, dict[str, Any]]:
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
               "Sec-WebSocket-Protocol": "v5.channel.k8s.io"}
    sent = {k: v for k, v in {**upgrade, **(headers or {})}.items() if v}
    wanted = {"stdout": True, "stderr": True, **flags}
    async with s.session.request(method, s.url(pod_name, "exec"), headers=sent,
                                 params=exec_params(command, **wanted)) as r:
        return r.status, await r.json()


REFUSALS = [
    pytest.param("nope", ["echo"], {}, 404, 'pods "nope" not found', id="no-pod"),
    pytest.param("duo", ["echo"], {}, 400,
                 "a container name must be specified for pod duo, choose one of: [a b]",
                 id="container-needed"),
    pytest.param("duo", ["echo"], {"container": "zz"}, 400,
                 "container zz is not valid for pod duo", id="bad-container"),
    pytest.param("nowhere", ["echo"], {}, 400, "pod nowhere does not have a host assigned",
                 id="unscheduled"),
    pytest.param("box", [], {}, 400, "you must specify at least one command for the container",
                 id="no-command"),
    pytest.param("box", ["echo"], {"stdout": False, "stderr": False}, 400,
                 "you must specify at least 1 of stdin, stdout, stderr", id="no-streams"),
    pytest.param("box", ["echo"], {"headers": {"Upgrade": "", "Connection": ""}}, 400,
                 "Upgrade request required", id="not-an-upgrade"),
    pytest.param("box", ["echo"], {"headers": {"Upgrade": "SPDY/3.1"}, "method": "POST"}, 400,
                 "upgrade to SPDY/3.1 is not supported: exec speaks WebSocket "
                 "(v5.channel.k8s.io) only", id="spdy"),
    pytest.param("box", ["echo"], {"headers": {"Sec-WebSocket-Protocol": "v9.channel.k8s.io"}},
                 400, "requested protocol(s) are not supported: [v9.channel.k8s.io]; supports "
                 "[v5.channel.k8s.io v4.channel.k8s.io v4.base64.channel.k8s.io channel.k8s.io "
                 "base64.channel.k8s.io]", id="unknown-protocol"),
]


async def test_exec_refusals_are_statuses_before_the_upgrade() -> None:
    """Each bad request is an HTTP Status in kube-apiserver's words, and no socket opens."""
    async with serving() as s:
        c = s.cluster.client
        await c.create(pod("box"))
        await c.create(pod("duo", "a", "b"))
        await c.create(pod("nowhere", node_selector={"no": "such-node"}))
        await started(s.cluster, "box")
        for case in REFUSALS:
            pod_name, command, flags, code, message = case.values
            status, body = await _refusal(s, pod_name, command, **flags)
            assert (status, body["code"], body["message"]) == (code, code, message), case.id
            assert body["kind"] == "Status" and body["status"] == "Failure", case.id


async def test_ws_connect_to_a_missing_pod_fails_the_handshake() -> None:
    """A WebSocket client sees the refusal as a failed handshake (kubectl then tries SPDY)."""
    async with serving() as s:
        with pytest.raises(aiohttp.WSServerHandshakeError) as failed:
            await run_exec(s, "ghost", ["echo", "hi"])
        assert failed.value.status == 404
