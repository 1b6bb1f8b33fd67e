"""A pod's logs and exec as the API serves them: the records, the rules, the node's side.

In Kubernetes, `kubectl logs` and `kubectl exec` are requests to the API server
(`pods/log`, `pods/exec`), which looks the pod up, settles which container is meant, finds
the pod's node and forwards the request to that node's kubelet. Every client therefore
gets container output through the API alone, never by knowing where a pod runs. This
module holds what that path shares across layers: the records that travel back
(`LogLine`, `ExecResult`; runtimes produce them, so they live below the runtime), the
`NodeConnection` a kubelet offers the API server, and the API server's pure decisions
(which container, how many lines), worded as kube-apiserver words them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cluster.api import errors, objects

KUBELET_PORT = 10250
"""Where a real kubelet serves logs and exec; named in the errors of an unreachable node."""


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line a container wrote; `time` is wall-clock seconds (for `--timestamps`)."""

    time: float
    stream: str  # "stdout" | "stderr"
    text: str


@dataclass(frozen=True)
class ExecResult:
    """How a command run in a container ended, with everything it wrote."""

    exit_code: int
    stdout: bytes
    stderr: bytes


class NodeConnection(Protocol):
    """What the API server may ask of a node's kubelet (its streaming endpoints).

    `container` is always given by the API server, which resolved it from the pod's spec.
    Errors are `errors.APIError`s in the kubelet's words (a container still waiting, no
    previous attempt); `exec` raises TimeoutError after killing a command that outlived
    `timeout`.
    """

    def logs(self, namespace: str, pod: str, container: str | None = None,
             previous: bool = False) -> list[LogLine]: ...

    def follow(self, namespace: str, pod: str, container: str | None = None,
               previous: bool = False) -> AsyncGenerator[LogLine, None]:
        """Retained lines, then new ones until the attempt ends (an async generator,
        so that a reader that stops early can close it)."""
        ...

    async def exec(self, namespace: str, pod: str, container: str | None, argv: list[str],
                   stdin: bytes | None = None, *,
                   timeout: float | None = None) -> ExecResult: ...


class BackendUnreachable(errors.APIError):
    """The pod's node has no kubelet answering (killed, not yet started).

    kube-apiserver reports a failed dial to the kubelet as a 500 whose Status carries no
    `reason` (it was never turned into a typed API error), which is why kubectl prints it
    as a bare `Error from server: ...`.
    """

    code = 500

    def to_status(self) -> dict[str, Any]:
        status = super().to_status()
        status["reason"] = ""
        return status


def container_names(pod: Mapping[str, Any]) -> list[str]:
    """Every container of a pod in the API server's visiting order: init, regular, ephemeral."""
    spec = pod.get("spec") or {}
    return [str(c.get("name", "")) for key in ("initContainers", "containers",
                                              "ephemeralContainers")
            for c in spec.get(key) or ()]


def validate_container(pod: Mapping[str, Any], container: str | None) -> str:
    """The container a logs/exec request means, or kube-apiserver's BadRequest.

    Without a name, a pod with one container means that one; with several, the caller
    must choose (kubectl chooses for its users, the API does not).
    """
    name = str((pod.get("metadata") or {}).get("name", ""))
    if not container:
        regular = (pod.get("spec") or {}).get("containers") or []
        if len(regular) == 1:
            return str(regular[0].get("name", ""))
        if not regular:
            raise errors.BadRequest(f"a container name must be specified for pod {name}")
        raise errors.BadRequest(f"a container name must be specified for pod {name}, "
                                f"choose one of: [{' '.join(container_names(pod))}]")
    if container not in container_names(pod):
        raise errors.BadRequest(f"container {container} is not valid for pod {name}")
    return container


def validate_tail_lines(pod_name: str, tail_lines: int | None) -> None:
    """PodLogOptions validation: a negative `tailLines` is Invalid."""
    if tail_lines is not None and tail_lines < 0:
        raise errors.Invalid("PodLogOptions", pod_name, [errors.invalid(
            "tailLines", tail_lines, "must be greater than or equal to 0")])


def tail(lines: list[LogLine], tail_lines: int | None) -> list[LogLine]:
    """The last `tail_lines` lines (all of them for None)."""
    if tail_lines is None or tail_lines >= len(lines):
        return lines
    return lines[len(lines) - tail_lines:] if tail_lines > 0 else []


def node_address(node: Mapping[str, Any] | None, node_name: str) -> str:
    """The address the API server would dial for a node: its InternalIP, else its name."""
    for address in ((node or {}).get("status") or {}).get("addresses") or ():
        if address.get("type") == "InternalIP" and address.get("address"):
            return str(address["address"])
    return node_name


def logs_unreachable(address: str, namespace: str, pod: str, container: str) -> BackendUnreachable:
    """What a logs request to a silent kubelet fails with (the proxied GET's error)."""
    return BackendUnreachable(
        f'Get "https://{address}:{KUBELET_PORT}/containerLogs/{namespace}/{pod}/{container}": '
        f"dial tcp {address}:{KUBELET_PORT}: connect: connection refused")


def exec_unreachable(address: str) -> BackendUnreachable:
    """What an exec request to a silent kubelet fails with (the upgrade's dial error)."""
    return BackendUnreachable(
        f"error dialing backend: dial tcp {address}:{KUBELET_PORT}: connect: connection refused")


def rfc3339_nano(ts: float) -> str:
    """Go's RFC3339Nano in UTC (trailing zeros of the fraction dropped), as
    `kubectl logs --timestamps` prints it."""
    whole = int(ts // 1)
    nanos = round((ts - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    base_text = objects.format_time(whole)[:-1]
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{base_text}.{fraction}Z" if fraction else base_text + "Z"


def format_log_line(line: LogLine, *, timestamps: bool = False) -> str:
    """One line as `kubectl logs` prints it, with `--timestamps` when asked."""
    return f"{rfc3339_nano(line.time)} {line.text}" if timestamps else line.text
