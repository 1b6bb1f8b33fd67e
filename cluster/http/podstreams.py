"""`pods/log` and `pods/exec` over HTTP: the two pod calls whose answer is a stream.

A log is `text/plain`, one line per container line (RFC3339Nano stamps with
`timestamps`); with `follow` the body is chunked, one chunk per line, and ends when
the container attempt ends or the client goes away. Exec is a WebSocket speaking the
Kubernetes channel protocol (KEP-3396): every binary message starts with a channel
byte (0 stdin, 1 stdout, 2 stderr, 3 error/status, 4 resize); `v5.channel.k8s.io` adds
`255, <channel>`, a client closing its side of a channel (its stdin at EOF). When the
command ends the server writes a `Status` on channel 3 and closes the socket; the
Status's `NonZeroExitCode` cause is what makes `kubectl exec` exit with the
command's code.

The engine's exec (`APIServer.pod_exec`) is not interactive: it takes the whole stdin
and returns the whole output. So a session collects stdin until the client closes
channel 0 (or, with a terminal, until ^D), then runs the command and sends its output.
A terminal session (`tty=true`) therefore cannot be typed into line by line; what a
pty would do to the output (stderr on the terminal, `\\n` shown as `\\r\\n`) is done.

Everything that can be refused is refused before the response starts, as an
`APIError`, so the server's middleware answers a `Status` (kubectl falls back from a
failed WebSocket upgrade to SPDY, gets the same Status again and prints it).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import WSMsgType, web
from multidict import MultiMapping

from cluster.api import errors, podio
from cluster.apiserver import APIServer
from cluster.http.query import query_bool, query_int, query_time
from cluster.http.remotecommand import (
    EXIT_CODE_CAUSE,
    NON_ZERO_EXIT_CODE,
    STREAM_CLOSE,
    Channel,
    StreamProtocol,
)

FRAME_SIZE = 32 * 1024
"""Output is sent in messages of at most this many bytes (client-go's read buffer)."""

EOT, ETX = 0x04, 0x03
"""^D and ^C as a terminal sends them: the end of input and an interrupt."""

INTERRUPTED_EXIT_CODE = 130
"""What a shell reports for a command ended by SIGINT (^C on a terminal)."""


# -- logs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogOptions:
    """A `pods/log` request's query (core/v1 PodLogOptions)."""

    container: str | None = None
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: float | None = None
    limit_bytes: int | None = None

    def since(self, now: float) -> float | None:
        """The wall-clock time before which lines are left out, if any."""
        if self.since_seconds is not None:
            return now - self.since_seconds
        return self.since_time


def log_options(query: Mapping[str, str], pod_name: str) -> LogOptions:
    """Decode and validate a log request's query (kube-apiserver's PodLogOptions rules)."""
    opts = LogOptions(
        container=query.get("container") or None,
        follow=query_bool(query, "follow"),
        previous=query_bool(query, "previous"),
        timestamps=query_bool(query, "timestamps"),
        tail_lines=query_int(query, "tailLines"),
        since_seconds=query_int(query, "sinceSeconds"),
        since_time=query_time(query, "sinceTime"),
        limit_bytes=query_int(query, "limitBytes"))
    problems: list[errors.FieldError] = []
    if opts.tail_lines is not None and opts.tail_lines < 0:
        problems.append(errors.invalid("tailLines", opts.tail_lines,
                                       "must be greater than or equal to 0"))
    if opts.limit_bytes is not None and opts.limit_bytes < 1:
        problems.append(errors.invalid("limitBytes", opts.limit_bytes, "must be greater than 0"))
    if opts.since_seconds is not None and opts.since_time is not None:
        problems.append(errors.forbidden(
            "", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
    elif opts.since_seconds is not None and opts.since_seconds < 1:
        problems.append(errors.invalid("sinceSeconds", opts.since_seconds,
                                       "must be greater than 0"))
    if problems:
        raise errors.Invalid("PodLogOptions", pod_name, problems)
    return opts


class ByteBudget:
    """What is left of `limitBytes`: the kubelet cuts its output there, mid-line if so."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit

    @property
    def spent(self) -> bool:
        return self.left is not None and self.left <= 0

    def take(self, data: bytes) -> bytes:
        if self.left is None:
            return data
        data = data[:max(self.left, 0)]
        self.left -= len(data)
        return data


def render_line(line: podio.LogLine, *, timestamps: bool) -> bytes:
    """One line of the body, newline included."""
    return (podio.format_log_line(line, timestamps=timestamps) + "\n").encode()


async def serve_log(request: web.Request, api: APIServer, namespace: str, name: str, *,
                    now: Callable[[], float] = time.time,
                    disconnect_poll: float = 0.5) -> web.StreamResponse:
    """`GET /api/v1/namespaces/{namespace}/pods/{name}/log`.

    The retained lines are read first, outside the stream, so that a missing pod, a
    container that must be named or a node that does not answer is an `APIError`
    before anything is written. `disconnect_poll` is how often an idle follow checks
    whether its client is still there (aiohttp tells a handler nothing until it writes).
    """
    opts = log_options(request.query, name)
    lines = api.pod_logs(name, namespace, container=opts.container, previous=opts.previous,
                         tail_lines=opts.tail_lines)
    since = opts.since(now())
    budget = ByteBudget(opts.limit_bytes)
    if not opts.follow:
        body = budget.take(b"".join(render_line(line, timestamps=opts.timestamps)
                                    for line in lines if since is None or line.time >= since))
        return web.Response(body=body, content_type="text/plain")
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    stream = api.follow_pod_logs(name, namespace, container=opts.container,
                                 previous=opts.previous, tail_lines=opts.tail_lines)
    pump = asyncio.ensure_future(_pump_lines(stream, response, opts, since, budget))
    gone = asyncio.ensure_future(_client_gone(request, disconnect_poll))
    try:
        await asyncio.wait({pump, gone}, return_when=asyncio.FIRST_COMPLETED)
        finished = pump.done() and not pump.cancelled() and pump.result() and not gone.done()
    finally:
        await _cancel(pump, gone)
    if finished:
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
    return response


async def _pump_lines(stream: AsyncIterator[podio.LogLine], response: web.StreamResponse,
                      opts: LogOptions, since: float | None, budget: ByteBudget) -> bool:
    """Write each line as its own chunk; False when the client went away mid-write.

    An error of the engine once the stream has started ends the body (the status line
    is long gone), as a kubelet's broken log stream ends kube-apiserver's.
    """
    async with contextlib.aclosing(stream):  # type: ignore[type-var]
        try:
            async for line in stream:
                if since is not None and line.time < since:
                    continue
                await response.write(budget.take(render_line(line, timestamps=opts.timestamps)))
                if budget.spent:
                    break
        except ConnectionError:
            return False
        except errors.APIError:
            return True
    return True


async def _client_gone(request: web.Request, interval: float) -> None:
    """Return once the client's connection is closed."""
    while True:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(interval)


async def _cancel(*tasks: asyncio.Future[Any]) -> None:
    """Cancel the tasks still running and wait until they are gone."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# -- exec: the protocol (no I/O) -------------------------------------------------------------


@dataclass(frozen=True)
class ExecOptions:
    """An exec request's query (core/v1 PodExecOptions)."""

    command: tuple[str, ...]
    container: str | None = None
    stdin: bool = False
    stdout: bool = False
    stderr: bool = False
    tty: bool = False


def exec_options(query: MultiMapping[str]) -> ExecOptions:
    """Decode an exec request's query (a multidict: `command` repeats, one per argument).

    With a terminal there is no separate stderr, as the kubelet decides.
    """
    tty = query_bool(query, "tty")
    return ExecOptions(command=tuple(query.getall("command", [])),
                       container=query.get("container") or None,
                       stdin=query_bool(query, "stdin"), stdout=query_bool(query, "stdout"),
                       stderr=query_bool(query, "stderr") and not tty, tty=tty)


@dataclass(frozen=True)
class Frame:
    """One message of a session: data on a channel, or (`close`) that channel's end."""

    channel: int
    data: bytes = b""
    close: bool = False


def offered_protocols(headers: MultiMapping[str]) -> list[str]:
    """The subprotocols a WebSocket handshake offers, in the client's order."""
    values = headers.getall("Sec-WebSocket-Protocol", [])
    return [p.strip() for value in values for p in value.split(",") if p.strip()]


def negotiate(offered: Iterable[str]) -> StreamProtocol | None:
    """The first offered protocol served (the client's preference, as wsstream picks);
    None when the client offered none, which means the unversioned channel protocol."""
    offered = list(offered)
    if not offered:
        return None
    for name in offered:
        try:
            return StreamProtocol(name)
        except ValueError:
            continue
    supported = " ".join(p.value for p in StreamProtocol)
    raise errors.BadRequest(f"requested protocol(s) are not supported: [{' '.join(offered)}]; "
                            f"supports [{supported}]")


def encode_frame(protocol: StreamProtocol, channel: int, data: bytes) -> bytes | str:
    """A message carrying `data` on `channel` (text for the base64 protocols)."""
    if protocol.is_base64:
        return chr(ord("0") + channel) + base64.b64encode(data).decode("ascii")
    return bytes((channel,)) + data


def close_signal(channel: int) -> bytes:
    """The v5 message closing `channel` (what a client sends at the end of its stdin)."""
    return bytes((STREAM_CLOSE, channel))


def decode_frame(protocol: StreamProtocol, message: bytes | str) -> Frame | None:
    """The frame a client's message holds; None for an empty or malformed message."""
    if protocol.is_base64:
        text = message if isinstance(message, str) else message.decode("ascii", "replace")
        if not text or not text[0].isdigit():
            return None
        try:
            return Frame(int(text[0]), base64.b64decode(text[1:], validate=True))
        except (binascii.Error, ValueError):
            return None
    raw = message.encode() if isinstance(message, str) else message
    if not raw:
        return None
    if raw[0] == STREAM_CLOSE and protocol.has_stream_close:
        return Frame(raw[1], close=True) if len(raw) == 2 else None
    return Frame(raw[0], raw[1:])


def success_status() -> dict[str, Any]:
    """The error channel's Status for a command that exited 0."""
    return {"metadata": {}, "status": "Success"}


def exit_status(exit_code: int) -> dict[str, Any]:
    """The Status for a non-zero exit, as kube-apiserver's stream translator words it
    (the doubled phrase is its: the inner one is client-go's error for the exit)."""
    return {"metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: "
                       f"command terminated with exit code {exit_code}",
            "reason": NON_ZERO_EXIT_CODE,
            "details": {"causes": [{"reason": EXIT_CODE_CAUSE, "message": str(exit_code)}]}}


def error_status(error: errors.APIError) -> dict[str, Any]:
    """The Status for a session that failed after the upgrade (written on channel 3,
    without the kind and apiVersion a marshalled error Status does not carry)."""
    status = error.to_status()
    status.pop("kind", None)
    status.pop("apiVersion", None)
    return status


def result_status(result: podio.ExecResult) -> dict[str, Any]:
    return success_status() if result.exit_code == 0 else exit_status(result.exit_code)


def status_payload(protocol: StreamProtocol | None, status: Mapping[str, Any]) -> bytes:
    """What goes on channel 3: the JSON Status (v4+), else only a failure's message."""
    if protocol is not None and protocol.has_status:
        return orjson.dumps(status)
    return b"" if status.get("status") == "Success" else str(status.get("message", "")).encode()


def terminal_output(result: podio.ExecResult) -> bytes:
    """What a pty shows: both streams on one, each newline as CR LF."""
    return (result.stdout + result.stderr).replace(b"\n", b"\r\n")


class Inbound:
    """What the client has sent so far: its stdin, and whether that ended.

    With a terminal, ^D ends the input and ^C interrupts the command, as a terminal's
    line discipline would; otherwise only closing channel 0 ends it.
    """

    def __init__(self, *, tty: bool) -> None:
        self.tty = tty
        self.stdin = bytearray()
        self.interrupted = False
        self.stdin_closed = asyncio.Event()
        self.gone = asyncio.Event()

    def feed(self, frame: Frame) -> None:
        if frame.channel != Channel.STDIN or self.stdin_closed.is_set():
            return  # resize events and unknown channels have nothing to drive here
        if frame.close:
            self.stdin_closed.set()
            return
        data = frame.data
        if self.tty:
            for i, byte in enumerate(data):
                if byte in (EOT, ETX):
                    self.stdin += data[:i]
                    self.interrupted = byte == ETX
                    self.stdin_closed.set()
                    return
        self.stdin += data


# -- exec: the session -----------------------------------------------------------------------


async def serve_exec(request: web.Request, api: APIServer, namespace: str,
                     name: str) -> web.StreamResponse:
    """`GET|POST /api/v1/namespaces/{namespace}/pods/{name}/exec` over a WebSocket.

    The checks kube-apiserver makes before it dials the kubelet come first (pod,
    container, node, command, streams), then the upgrade. Failures of the command
    itself (a container not running, a node gone) come back on channel 3.
    """
    opts = exec_options(request.query)
    pod = api.get("pods", name, namespace)
    container = podio.validate_container(pod, opts.container)
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.BadRequest(f"pod {name} does not have a host assigned")
    if not opts.command:
        raise errors.BadRequest("you must specify at least one command for the container")
    if not (opts.stdin or opts.stdout or opts.stderr):
        raise errors.BadRequest("you must specify at least 1 of stdin, stdout, stderr")
    upgrade = request.headers.get("Upgrade", "")
    if not upgrade:
        raise errors.BadRequest("Upgrade request required")
    if upgrade.lower() != "websocket":
        raise errors.BadRequest(f"upgrade to {upgrade} is not supported: exec speaks "
                                f"WebSocket ({StreamProtocol.V5.value}) only")
    protocol = negotiate(offered_protocols(request.headers))
    ws = web.WebSocketResponse(protocols=(protocol.value,) if protocol else ())
    if not ws.can_prepare(request).ok:
        raise errors.BadRequest("invalid WebSocket upgrade request")
    await ws.prepare(request)
    session = _ExecSession(ws, protocol or StreamProtocol.V1, protocol, opts)
    await session.run(api, name, namespace, container)
    return ws


class _ExecSession:
    """One upgraded exec: a reader task for what the client sends (it also answers the
    client's pings while the command runs), and the writes of output and status."""

    def __init__(self, ws: web.WebSocketResponse, framing: StreamProtocol,
                 negotiated: StreamProtocol | None, opts: ExecOptions) -> None:
        self.ws = ws
        self.framing = framing
        self.negotiated = negotiated
        self.opts = opts
        self.inbound = Inbound(tty=opts.tty)

    async def run(self, api: APIServer, name: str, namespace: str, container: str) -> None:
        reader = asyncio.ensure_future(self._read())
        try:
            # Tell the client the streams are open (an empty message on the lowest
            # channel it will read, as kube-apiserver does).
            await self._send(Channel.STDOUT if self.opts.stdout else
                             Channel.STDERR if self.opts.stderr else Channel.ERROR, b"",
                             empty_ok=True)
            if self.opts.stdin and not await _first(self.inbound.stdin_closed,
                                                    self.inbound.gone):
                return
            if self.inbound.interrupted:
                status = exit_status(INTERRUPTED_EXIT_CODE)
            else:
                run = asyncio.ensure_future(api.pod_exec(
                    name, namespace, command=list(self.opts.command), container=container,
                    stdin=bytes(self.inbound.stdin) if self.opts.stdin else None))
                gone = asyncio.ensure_future(self.inbound.gone.wait())
                try:
                    await asyncio.wait({run, gone}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    # The client gone before the command ended: nobody to answer.
                    await _cancel(*((gone,) if run.done() else (run, gone)))
                if run.cancelled():
                    return
                try:
                    result = run.result()
                except errors.APIError as e:
                    status = error_status(e)
                else:
                    await self._send_output(result)
                    status = result_status(result)
            payload = status_payload(self.negotiated, status)
            if payload:
                await self._send(Channel.ERROR, payload)
            await self.ws.close()
        except ConnectionError:
            return  # the client went away while we wrote
        finally:
            await _cancel(reader)

    async def _read(self) -> None:
        try:
            while True:
                msg = await self.ws.receive()
                if msg.type in (WSMsgType.BINARY, WSMsgType.TEXT):
                    frame = decode_frame(self.framing, msg.data)
                    if frame is not None:
                        self.inbound.feed(frame)
                elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED,
                                  WSMsgType.ERROR):
                    return
        finally:
            self.inbound.gone.set()

    async def _send_output(self, result: podio.ExecResult) -> None:
        if self.opts.tty:
            await self._send(Channel.STDOUT, terminal_output(result))
            return
        if self.opts.stdout:
            await self._send(Channel.STDOUT, result.stdout)
        if self.opts.stderr:
            await self._send(Channel.STDERR, result.stderr)

    async def _send(self, channel: int, data: bytes, *, empty_ok: bool = False) -> None:
        if not data and not empty_ok:
            return
        for start in range(0, max(len(data), 1), FRAME_SIZE):
            message = encode_frame(self.framing, channel, data[start:start + FRAME_SIZE])
            if isinstance(message, str):
                await self.ws.send_str(message)
            else:
                await self.ws.send_bytes(message)


async def _first(wanted: asyncio.Event, other: asyncio.Event) -> bool:
    """Wait for either event; True when `wanted` is the one set."""
    waits = [asyncio.ensure_future(wanted.wait()), asyncio.ensure_future(other.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await _cancel(*waits)
    return wanted.is_set()
