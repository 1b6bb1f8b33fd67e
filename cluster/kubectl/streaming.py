"""The commands that reach into a container: `logs` (with `--follow`) and `exec`.

Both talk to the API only (`Client.pod_logs`, `follow_pod_logs`, `pod_exec`); the API
server finds the pod's node and its kubelet, as kube-apiserver does. What is kubectl's
own stays here: reading the pod first (so a missing pod is the familiar NotFound),
choosing a default container for a pod with several (the API refuses to guess; kubectl
picks the first and says so on stderr), and exec's exit-code convention.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from cluster.api import errors, podio
from cluster.api.errors import StatusReason
from cluster.kubectl.flags import ParsedFlags
from cluster.kubectl.session import CommandError, Session, error_line

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
"""Names the container kubectl picks when none is given (KEP 2227)."""

LOGS_USAGE = "logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]"
EXEC_DEPRECATED = ("kubectl exec [POD] [COMMAND] is DEPRECATED and will be removed in a future "
                   "version. Use kubectl exec [POD] -- [COMMAND] instead.")
NO_TTY = "Unable to use a TTY - input is not a terminal or the right kind of file"


def all_container_names(pod: dict[str, Any]) -> str:
    """`a, b, debug (ephem), setup (init)`: how kubectl lists a pod's containers."""
    spec = pod.get("spec") or {}
    names = [str(c.get("name", "")) for c in spec.get("containers") or ()]
    names += [f"{c.get('name', '')} (ephem)" for c in spec.get("ephemeralContainers") or ()]
    names += [f"{c.get('name', '')} (init)" for c in spec.get("initContainers") or ()]
    return ", ".join(names)


def default_container(pod: dict[str, Any]) -> tuple[str, str | None]:
    """The container kubectl uses when none is named, and the stderr line it prints then.

    The default-container annotation wins when it names one of the pod's containers;
    otherwise the first container, announced when the pod has any other container.
    """
    spec = pod.get("spec") or {}
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    wanted = annotations.get(DEFAULT_CONTAINER_ANNOTATION)
    if wanted and wanted in podio.container_names(pod):
        return str(wanted), None
    containers = spec.get("containers") or []
    if not containers:
        meta = pod.get("metadata") or {}
        raise CommandError(error_line(f"pod {meta.get('namespace', '')}/{meta.get('name', '')} "
                                      "does not have any containers"))
    first = str(containers[0].get("name", ""))
    if len(containers) > 1 or spec.get("initContainers") or spec.get("ephemeralContainers"):
        return first, f'Defaulted container "{first}" out of: {all_container_names(pod)}'
    return first, None


async def _pod(s: Session, word: str, verb: str) -> dict[str, Any]:
    """The pod `POD` or `TYPE/NAME` names. Other kinds (a Deployment's first pod, as kubectl
    picks it) are not implemented: kubectl's own wording for such a kind says so."""
    kind, slash, name = word.partition("/")
    if slash:
        if not kind or not name:
            raise CommandError(error_line(
                "arguments in resource/name form must have a single resource and name"))
        rt = await s.resolve(kind)
        if rt.key != "pods":
            go_type = f"*{rt.version}.{rt.kind}"
            raise CommandError(error_line(
                f"cannot {verb} {go_type}: selector for {go_type} not implemented"))
    else:
        name = word
    return await s.client.get("pods", name, s.namespace)


async def logs(s: Session, p: ParsedFlags) -> None:
    """`kubectl logs [-f] [-p] (POD | TYPE/NAME) [CONTAINER] [-c CONTAINER] [--tail N]
    [--timestamps]`: a container's lines, or a stream of them with `-f` until the
    container attempt ends or the caller cancels."""
    if len(p.args) not in (1, 2):
        raise CommandError(error_line(f"expected '{LOGS_USAGE}'. POD or TYPE/NAME is a "
                                      "required argument for the logs command"))
    pod = await _pod(s, p.args[0], "get the logs from")
    if len(p.args) == 2 and p.given("container"):
        raise CommandError(error_line("only one of -c or an inline [CONTAINER] arg is allowed"))
    if p["tail"] < -1:
        raise CommandError(error_line("--tail must be greater than or equal to -1"))
    container = p.args[1] if len(p.args) == 2 else p["container"]
    if not container:
        container, notice = default_container(pod)
        if notice:
            s.warn(notice)
    meta = pod["metadata"]
    name, namespace = meta["name"], meta.get("namespace") or s.namespace
    tail_lines = None if p["tail"] == -1 else p["tail"]
    stamped = p["timestamps"]
    if not p["follow"]:
        lines = await s.client.pod_logs(name, namespace, container=container,
                                        previous=p["previous"], tail_lines=tail_lines)
        s.print("".join(podio.format_log_line(line, timestamps=stamped) + "\n"
                        for line in lines))
        return
    stream = s.client.follow_pod_logs(name, namespace, container=container,
                                      previous=p["previous"], tail_lines=tail_lines)
    try:
        async for line in stream:
            s.print(podio.format_log_line(line, timestamps=stamped) + "\n")
    finally:
        await _close(stream)


async def _close(stream: AsyncIterator[Any]) -> None:
    """Close an async generator now rather than whenever it is collected."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


async def exec_command(s: Session, p: ParsedFlags) -> None:
    """`kubectl exec (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t] [-q] -- COMMAND [args...]`.

    The command's stdout and stderr pass through unchanged. A non-zero exit code ends
    kubectl with that code, after `command terminated with exit code N` on stderr. With
    `-i`, the bytes given to `Kubectl.run(stdin=...)` are the command's standard input;
    `-t` cannot have a terminal here, which kubectl reports and carries on without.
    """
    args, quiet = p.args, p["quiet"]
    if not args or p.dash_at == 0:
        raise CommandError(error_line("pod, type/name or --filename must be specified"))
    if p.dash_at > 0:
        command = args[p.dash_at:]
    else:
        command = args[1:]
        if command and not quiet:
            s.warn(EXEC_DEPRECATED)
    if not command:
        raise CommandError(error_line("you must specify at least one command for the container"))
    pod = await _pod(s, args[0], "attach to")
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise CommandError(error_line(
            f"cannot exec into a container in a completed pod; current phase is {phase}"))
    container = p["container"]
    if not container:
        container, notice = default_container(pod)
        if notice and not quiet:
            s.warn(notice)
    if p["stdin"] and p["tty"] and not quiet:
        s.warn(NO_TTY)
    meta = pod["metadata"]
    try:
        result = await s.client.pod_exec(
            meta["name"], meta.get("namespace") or s.namespace, command=list(command),
            container=container, stdin=(s.stdin or b"") if p["stdin"] else None)
    except podio.BackendUnreachable:
        raise
    except errors.APIError as e:
        # Failures on the kubelet's side of the stream reach kubectl as plain errors, not
        # as a Status from the API server.
        if e.reason is StatusReason.INTERNAL_ERROR or \
                e.message.startswith("unable to upgrade connection"):
            raise CommandError(error_line(e.message)) from None
        raise
    s.write(result.stdout.decode("utf-8", "replace"))
    s.write_err(result.stderr.decode("utf-8", "replace"))
    if result.exit_code != 0:
        s.warn(f"command terminated with exit code {result.exit_code}")
        s.exit_code = result.exit_code
