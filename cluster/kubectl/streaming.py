"""The commands that reach into a container: `logs` (with `--follow`) and `exec`.

Both talk to the API only (`Client.pod_logs`, `follow_pod_logs`, `pod_exec`); the API
server finds the pod's node and its kubelet, as kube-apiserver does. What is kubectl's
own stays here: reading the pod first (so a missing pod is the familiar NotFound),
choosing a default container for a pod with several (the API refuses to guess; kubectl
picks the first and says so on stderr), and exec's exit-code convention.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from cluster.api import errors, objects, podio
from cluster.api.errors import StatusReason
from cluster.kubectl import podpick
from cluster.kubectl.flags import ParsedFlags
from cluster.kubectl.session import CommandError, Session, error_line

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
"""Names the container kubectl picks when none is given (KEP 2227)."""

LOGS_USAGE = "logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]"
EXEC_WITHOUT_DASH = ("exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- "
                     "[COMMAND] instead")
SELECTOR_TAIL = 10
"""`logs -l` prints this many lines per pod unless `--tail` is given."""
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


async def _pod(s: Session, word: str, purpose: podpick.Purpose,
               timeout: float) -> dict[str, Any]:
    """The pod `POD` or `TYPE/NAME` names. For a workload or a Service, the pod kubectl
    would pick among those it selects (`Found 3 pods, using pod/x` for logs)."""
    kind, slash, name = word.partition("/")
    if not slash:
        return await _get_named(s, "pods", word, purpose)
    if not kind or not name:
        raise CommandError(error_line(
            "arguments in resource/name form must have a single resource and name"))
    rt = await s.resolve(kind)
    if rt.key == "pods":
        return await _get_named(s, "pods", name, purpose)
    podpick.check_selects_pods(rt, purpose)
    obj = await _get_named(s, rt.key, name, purpose)
    pod, count = await podpick.first_pod(s, rt, obj, purpose, timeout)
    if purpose is podpick.Purpose.LOGS and count > 1:
        s.warn(f"Found {count} pods, using pod/{objects.name_of(pod)}")
    return pod


async def _get_named(s: Session, key: str, name: str, purpose: podpick.Purpose) -> dict[str, Any]:
    """Read the object; `logs` words a missing one as kubectl's logs does (lower-case, with
    the namespace), `exec` as the plain API error."""
    try:
        return await s.client.get(key, name, s.namespace)
    except errors.NotFound as e:
        if purpose is not podpick.Purpose.LOGS:
            raise
        raise CommandError(error_line(
            f"error from server (NotFound): {e.message} in namespace \"{s.namespace}\"")) \
            from None


def _check_container(pod: dict[str, Any], container: str) -> None:
    """kubectl checks a named container itself before asking for its logs."""
    if container not in podio.container_names(pod):
        raise CommandError(error_line(
            f"container {container} is not valid for pod {objects.name_of(pod)}"))


async def logs(s: Session, p: ParsedFlags) -> None:
    """`kubectl logs [-f] [-p] (POD | TYPE/NAME | -l SELECTOR) [CONTAINER] [-c CONTAINER]
    [--tail N] [--timestamps]`: a container's lines, or a stream of them with `-f` until
    the container attempt ends or the caller cancels."""
    if p["selector"]:
        if p.args:
            raise CommandError(error_line("only a selector (-l) or a POD name is allowed"))
    elif len(p.args) not in (1, 2):
        raise CommandError(error_line(f"expected '{LOGS_USAGE}'. POD or TYPE/NAME is a "
                                      "required argument for the logs command"))
    if len(p.args) == 2 and p.given("container"):
        raise CommandError(error_line("only one of -c or an inline [CONTAINER] arg is allowed"))
    if p["tail"] < -1:
        raise CommandError(error_line("--tail must be greater than or equal to -1"))
    if p["selector"]:
        await _logs_selected(s, p)
        return
    pod = await _pod(s, p.args[0], podpick.Purpose.LOGS, p["pod-running-timeout"])
    container = p.args[1] if len(p.args) == 2 else p["container"]
    await _pod_logs(s, p, pod, container, None if p["tail"] == -1 else p["tail"])


async def _logs_selected(s: Session, p: ParsedFlags) -> None:
    """`logs -l SELECTOR`: every matching pod's lines in turn (the last 10 of each unless
    `--tail` says otherwise); with `-f`, all streams at once, at most --max-log-requests."""
    listed = await s.client.list("pods", s.namespace, label_selector=p["selector"])
    pods = sorted(listed.items, key=objects.name_of)
    if not pods:
        s.warn(f"No resources found in {s.namespace} namespace.")
        return
    tail = p["tail"] if p.given("tail") else SELECTOR_TAIL
    tail_lines = None if tail == -1 else tail
    if not p["follow"]:
        for pod in pods:
            await _pod_logs(s, p, pod, p["container"], tail_lines)
        return
    if len(pods) > p["max-log-requests"]:
        raise CommandError(error_line(
            f"you are attempting to follow {len(pods)} log streams, but maximum allowed "
            f"concurrency is {p['max-log-requests']}, use --max-log-requests to increase "
            "the limit"))
    async with asyncio.TaskGroup() as group:
        for pod in pods:
            group.create_task(_pod_logs(s, p, pod, p["container"], tail_lines))


async def _pod_logs(s: Session, p: ParsedFlags, pod: dict[str, Any], container: str | None,
                    tail_lines: int | None) -> None:
    """One container's logs (the default container when none is named)."""
    if container:
        _check_container(pod, container)
    else:
        container, notice = default_container(pod)
        if notice:
            s.warn(notice)
    meta = pod["metadata"]
    name, namespace = meta["name"], meta.get("namespace") or s.namespace
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
    if p.dash_at > 1 or (p.dash_at < 0 and len(args) > 1):
        # kubectl 1.32 no longer runs `exec POD COMMAND`; only `exec POD -- COMMAND`.
        raise CommandError(error_line(EXEC_WITHOUT_DASH))
    command = args[p.dash_at:] if p.dash_at > 0 else []
    if not command:
        raise CommandError(error_line("you must specify at least one command for the container"))
    pod = await _pod(s, args[0], podpick.Purpose.ATTACH, p["pod-running-timeout"])
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
