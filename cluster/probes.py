"""Container probes: what a probe spec asks, how one check runs, and when results flip.

Three parts, kept apart:
- `parse_probe` reads a container's `livenessProbe`/`readinessProbe`/`startupProbe` into a
  `ProbeSpec` (named ports resolved, seconds scaled for tests);
- the runners perform one check: `exec` runs a command in the container through the
  runtime (exit 0 = success), `tcpSocket` opens a connection to the pod's address through
  its sandbox (so freezes and partitions apply), `httpGet` sends one request and accepts
  2xx/3xx;
- `Thresholds` is the pure success/failure counting of kubelet's prober worker, and
  `probe_loop` drives it on the probe's period, reporting every outcome so the kubelet can
  record `Unhealthy` events and act on flips.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cluster.runtime import base


class ProbeKind(str, enum.Enum):
    """Which probe; the value is how kubelet's events name it."""

    LIVENESS = "Liveness"
    READINESS = "Readiness"
    STARTUP = "Startup"

    @property
    def field(self) -> str:
        return {"Liveness": "livenessProbe", "Readiness": "readinessProbe",
                "Startup": "startupProbe"}[self.value]


class Action(str, enum.Enum):
    EXEC = "exec"
    TCP = "tcpSocket"
    HTTP = "httpGet"


@dataclass(frozen=True)
class ProbeSpec:
    """One probe of one container, with its times already in (scaled) seconds."""

    kind: ProbeKind
    action: Action
    command: tuple[str, ...] = ()
    host: str = ""
    """For tcpSocket/httpGet: an explicit host, else the pod's IP."""
    port: int = 0
    path: str = "/"
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3
    termination_grace: float | None = None
    """The probe's own terminationGracePeriodSeconds (liveness/startup), scaled."""


@dataclass(frozen=True)
class ProbeDefaults:
    """What a probe spec leaves out (the API server normally fills these in)."""

    period_seconds: float = 10.0
    """Seconds between checks (`periodSeconds`)."""
    timeout_seconds: float = 1.0
    """Seconds one check may take (`timeoutSeconds`)."""
    success_threshold: int = 1
    """Consecutive passes that make a failed probe pass again (`successThreshold`)."""
    failure_threshold: int = 3
    """Consecutive failures that make a passing probe fail (`failureThreshold`)."""


class ProbeError(ValueError):
    """A probe the kubelet cannot run (no handler, an unknown named port)."""


def _port(value: Any, container: Mapping[str, Any]) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    for port in container.get("ports") or ():
        if port.get("name") == value:
            return int(port.get("containerPort") or 0)
    raise ProbeError(f"couldn't find port: {value} in {container.get('name', '')}")


def parse_probe(kind: ProbeKind, container: Mapping[str, Any], *, scale: float = 1.0,
                defaults: ProbeDefaults = ProbeDefaults()) -> ProbeSpec | None:
    """The container's probe of this kind, or None when it has none.

    `scale` multiplies every time in the spec: the API takes whole seconds, and tests
    want probes that fire in milliseconds.
    """
    probe = container.get(kind.field)
    if not isinstance(probe, Mapping):
        return None

    def seconds(key: str, default: float) -> float:
        value = probe.get(key)
        return (float(value) if isinstance(value, (int, float)) else default) * scale

    timing = ProbeSpec(
        kind=kind, action=Action.EXEC,
        initial_delay=seconds("initialDelaySeconds", 0.0),
        period=max(seconds("periodSeconds", defaults.period_seconds), 1e-3),
        timeout=max(seconds("timeoutSeconds", defaults.timeout_seconds), 1e-3),
        success_threshold=int(probe.get("successThreshold") or defaults.success_threshold),
        failure_threshold=int(probe.get("failureThreshold") or defaults.failure_threshold),
        termination_grace=(seconds("terminationGracePeriodSeconds", 0.0)
                           if probe.get("terminationGracePeriodSeconds") is not None else None),
    )
    if isinstance(probe.get("exec"), Mapping):
        return dataclasses.replace(
            timing, command=tuple(str(a) for a in probe["exec"].get("command") or ()))
    if isinstance(probe.get("tcpSocket"), Mapping):
        tcp = probe["tcpSocket"]
        return dataclasses.replace(timing, action=Action.TCP, host=str(tcp.get("host") or ""),
                                   port=_port(tcp.get("port"), container))
    if isinstance(probe.get("httpGet"), Mapping):
        http = probe["httpGet"]
        return dataclasses.replace(timing, action=Action.HTTP, host=str(http.get("host") or ""),
                                   port=_port(http.get("port"), container),
                                   path=str(http.get("path") or "/"))
    raise ProbeError(f"{kind.field} of container {container.get('name', '')} has no handler")


@dataclass(frozen=True)
class Outcome:
    """One check: did it pass, and the text kubelet would put in its `Unhealthy` event."""

    ok: bool
    output: str = ""


Connect = Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


async def run_exec(runtime: base.Runtime, container_id: str, command: tuple[str, ...],
                   timeout: float) -> Outcome:
    """Run the command in the container; exit 0 passes. A timeout fails the check."""
    try:
        async with asyncio.timeout(timeout):
            result = await runtime.exec(container_id, list(command), timeout=timeout)
    except TimeoutError:
        return Outcome(False, f'command "{" ".join(command)}" timed out')
    except Exception as exc:  # a dead container, a missing binary: the probe fails
        return Outcome(False, str(exc))
    output = (result.stdout + result.stderr).decode(errors="replace")
    return Outcome(result.exit_code == 0, output)


async def run_tcp(connect: Connect, host: str, port: int, timeout: float) -> Outcome:
    """Open a connection and close it; connecting is success."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await connect(host, port)
    except TimeoutError:
        return Outcome(False, f"dial tcp {host}:{port}: i/o timeout")
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        return Outcome(False, f"dial tcp {host}:{port}: connect: {reason.lower()}")
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(timeout):
            await writer.wait_closed()
    return Outcome(True)


async def run_http(connect: Connect, host: str, port: int, path: str,
                   timeout: float) -> Outcome:
    """One `GET`; a 2xx or 3xx status passes, as kubelet's HTTP prober decides."""
    url = f"http://{host}:{port}{path}"
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await connect(host, port)
            try:
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                             f"User-Agent: kube-probe/1.32\r\nConnection: close\r\n\r\n".encode())
                await writer.drain()
                status_line = (await reader.readline()).decode(errors="replace").split()
            finally:
                writer.close()
    except TimeoutError:
        return Outcome(False, f'Get "{url}": context deadline exceeded')
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        return Outcome(False, f'Get "{url}": dial tcp {host}:{port}: connect: {reason.lower()}')
    if len(status_line) >= 2 and status_line[1].isdigit() and 200 <= int(status_line[1]) < 400:
        return Outcome(True)
    code = status_line[1] if len(status_line) >= 2 else "?"
    return Outcome(False, f"HTTP probe failed with statuscode: {code}")


class Thresholds:
    """Consecutive-result counting: the result flips to success after
    `success_threshold` passes in a row and to failure after `failure_threshold` fails.

    `result` starts as `initial` (readiness starts failed, liveness starts passing,
    startup starts unknown = None), as kubelet's prober does.
    """

    def __init__(self, success_threshold: int, failure_threshold: int,
                 initial: bool | None) -> None:
        self.success_threshold = max(1, success_threshold)
        self.failure_threshold = max(1, failure_threshold)
        self.result = initial
        self._streak_ok: bool | None = None
        self._streak = 0

    def observe(self, ok: bool) -> bool:
        """Count one check; True when `result` changed."""
        if self._streak_ok is ok:
            self._streak += 1
        else:
            self._streak_ok, self._streak = ok, 1
        needed = self.success_threshold if ok else self.failure_threshold
        if self._streak >= needed and self.result is not ok:
            self.result = ok
            return True
        return False


INITIAL_RESULT: dict[ProbeKind, bool | None] = {
    ProbeKind.LIVENESS: True, ProbeKind.READINESS: False, ProbeKind.STARTUP: None,
}
"""What each kind reports before its first verdict."""


Check = Callable[[], Awaitable[Outcome]]
Report = Callable[[ProbeSpec, Outcome, bool | None, bool], Awaitable[None]]
"""`report(spec, outcome, result, changed)`: after every check."""


async def probe_loop(spec: ProbeSpec, check: Check, report: Report) -> None:
    """Check after the initial delay, then every period, until cancelled.

    A startup probe stops once it has succeeded (its job is done); the others run for the
    container's life.
    """
    thresholds = Thresholds(spec.success_threshold, spec.failure_threshold,
                            INITIAL_RESULT[spec.kind])
    if spec.initial_delay > 0:
        await asyncio.sleep(spec.initial_delay)
    loop = asyncio.get_running_loop()
    while True:
        began = loop.time()
        outcome = await check()
        changed = thresholds.observe(outcome.ok)
        await report(spec, outcome, thresholds.result, changed)
        if spec.kind is ProbeKind.STARTUP and thresholds.result:
            return
        await asyncio.sleep(max(0.0, spec.period - (loop.time() - began)))
