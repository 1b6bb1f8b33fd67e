"""`Kubectl`: run a kubectl command line against a `cluster.client.Client`.

The CLI, the dashboard's command bar and the tutorial runner all call
`await Kubectl(client).run(["get", "pods"])` and get a `CommandResult` back. Whatever the
user types, `run` returns: every failure is one line on stderr (in kubectl's wording) and
exit code 1. Only cancellation passes through, which is how a `get --watch` that streams
lines to `out` is stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

from cluster.api import errors
from cluster.client import Client
from cluster.kubectl import reading, streaming, writing
from cluster.kubectl.flags import Flag, FlagError, FlagKind, ParsedFlags, parse_flags
from cluster.kubectl.manifests import ManifestError
from cluster.kubectl.session import CommandError, Session, api_error_line, error_line

CLIENT_VERSION = "v1.32.0"
SERVER_VERSION = "v1.32.0-redisha"


@dataclass(frozen=True)
class CommandResult:
    """What a command printed and how it ended."""

    exit_code: int
    stdout: str
    stderr: str


BOOL, STR, INT, STRS = FlagKind.BOOL, FlagKind.STRING, FlagKind.INT, FlagKind.STRINGS

GLOBAL_FLAGS = (
    Flag("namespace", STR, "n"),
    Flag("help", BOOL, "h", False),
)

_SELECTOR = Flag("selector", STR, "l")
_FIELD_SELECTOR = Flag("field-selector", STR)
_ALL_NAMESPACES = Flag("all-namespaces", BOOL, "A", False)
_FILENAME = Flag("filename", STRS, "f")
_OUTPUT = Flag("output", STR, "o")
_ALL = Flag("all", BOOL, default=False)
_POD_RUNNING_TIMEOUT = Flag("pod-running-timeout", FlagKind.DURATION, default=20.0)

COMMAND_FLAGS: dict[str, tuple[Flag, ...]] = {
    "get": (
        _OUTPUT, _SELECTOR, _FIELD_SELECTOR, _ALL_NAMESPACES,
        Flag("watch", BOOL, "w", False),
        Flag("watch-only", BOOL, default=False),
        Flag("show-labels", BOOL, default=False),
        Flag("no-headers", BOOL, default=False),
        Flag("ignore-not-found", BOOL, default=False),
    ),
    "describe": (_SELECTOR, _ALL_NAMESPACES, Flag("show-events", BOOL, default=True)),
    "create": (
        _FILENAME,
        Flag("image", STRS),
        Flag("replicas", INT, "r", 1),
        Flag("port", INT, default=-1),
    ),
    "run": (
        Flag("image", STR),
        Flag("labels", STR, "l"),
        Flag("restart", STR),
        Flag("port", INT, default=-1),
        Flag("env", STRS),
        Flag("command", BOOL, default=False),
    ),
    "apply": (_FILENAME,),
    "delete": (
        _FILENAME, _SELECTOR, _FIELD_SELECTOR, _ALL, _ALL_NAMESPACES,
        Flag("grace-period", INT, default=-1),
        Flag("now", BOOL, default=False),
        Flag("force", BOOL, default=False),
        Flag("wait", BOOL, default=True),
        Flag("ignore-not-found", BOOL, default=False),
    ),
    "scale": (
        Flag("replicas", INT, default=0),
        Flag("current-replicas", INT, default=-1),
        _SELECTOR, _ALL,
    ),
    "label": (Flag("overwrite", BOOL, default=False), _SELECTOR, _ALL),
    "version": (Flag("client", BOOL, default=False),),
    "api-resources": (Flag("namespaced", STR), _OUTPUT),
    "logs": (
        Flag("container", STR, "c"),
        Flag("follow", BOOL, "f", False),
        Flag("previous", BOOL, "p", False),
        Flag("tail", INT, default=-1),
        Flag("timestamps", BOOL, default=False),
        _SELECTOR, _POD_RUNNING_TIMEOUT,
        Flag("max-log-requests", INT, default=5),
    ),
    "exec": (
        _POD_RUNNING_TIMEOUT,
        Flag("container", STR, "c"),
        Flag("stdin", BOOL, "i", False),
        Flag("tty", BOOL, "t", False),
        Flag("quiet", BOOL, "q", False),
    ),
}
"""Each command's flags; `GLOBAL_FLAGS` are accepted everywhere."""

USAGE = {
    "get": "kubectl get [(-o|--output=)json|yaml|name|wide|jsonpath=...] (TYPE[.VERSION][.GROUP] "
           "[NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags]",
    "describe": "kubectl describe (-f FILENAME | TYPE [NAME_PREFIX | -l label] | TYPE/NAME)",
    "create": "kubectl create -f FILENAME | kubectl create deployment NAME --image=image "
              "[--replicas=N] | kubectl create namespace NAME",
    "run": "kubectl run NAME --image=image [--env=\"key=value\"] [--port=port] "
           "[--labels=k=v,...] [--restart=Always|OnFailure|Never] [--command] -- [COMMAND] "
           "[args...]",
    "apply": "kubectl apply -f FILENAME",
    "delete": "kubectl delete ([-f FILENAME] | TYPE [(NAME | -l label | --all)])",
    "scale": "kubectl scale [--current-replicas=count] --replicas=COUNT (TYPE NAME | TYPE/NAME)",
    "label": "kubectl label [--overwrite] (TYPE NAME | TYPE/NAME) KEY_1=VAL_1 ... KEY_N=VAL_N",
    "version": "kubectl version [--client]",
    "api-resources": "kubectl api-resources [--namespaced=true|false] [-o name]",
    "logs": "kubectl logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER] [-l SELECTOR] [--tail=N] "
            "[--timestamps]",
    "exec": "kubectl exec (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t] [-q] -- COMMAND [args...]",
}



class Kubectl:
    """A kubectl that talks to the cluster only through `client`."""

    def __init__(self, client: Client, *, clock: Callable[[], float] = time.time,
                 namespace: str = "default", cwd: Path | None = None,
                 client_version: str = CLIENT_VERSION,
                 server_version: str = SERVER_VERSION) -> None:
        self._client = client
        self._clock = clock
        self._namespace = namespace
        self._cwd = cwd
        self._client_version = client_version
        self._server_version = server_version

    async def run(self, argv: list[str], *, out: Callable[[str], None] | None = None,
                  err: Callable[[str], None] | None = None,
                  out_text: Callable[[str], None] | None = None,
                  err_text: Callable[[str], None] | None = None,
                  stdin: bytes | None = None) -> CommandResult:
        """Run one command line (without or with a leading `kubectl`).

        `out` receives each stdout line as it is printed and `err` each stderr line;
        `out_text`/`err_text` receive the text exactly as kubectl writes it (for a
        terminal: jsonpath and exec output end without a newline); all are also
        collected into the result. `stdin` is kubectl's standard input (what
        `exec -i` forwards). Cancelling the task stops a watch or `logs -f`; the
        cancellation propagates to the caller. The exit code is 0 or 1, except for `exec`,
        which passes on the command's.
        """
        session = Session(self._client, self._clock, self._namespace, False,
                          self._cwd or Path.cwd(), out=out, err=err, out_text=out_text,
                          err_text=err_text, stdin=stdin)
        try:
            await self._dispatch(session, list(argv))
        except CommandError as e:
            session.fail(e.line)
        except FlagError as e:
            session.fail(error_line(str(e)))
        except ManifestError as e:
            session.fail(error_line(e.message))
        except errors.APIError as e:
            session.fail(api_error_line(e))
        except Exception as e:  # noqa: BLE001 - nothing a user types may escape as a traceback
            session.fail(error_line(f"{type(e).__name__}: {e}"))
        code = 1 if session.failed else (session.exit_code or 0)
        return CommandResult(code, "".join(session.stdout), "".join(session.stderr))

    async def _dispatch(self, s: Session, argv: list[str]) -> None:
        if argv and argv[0] == "kubectl":
            argv = argv[1:]
        leading: list[str] = []
        while argv and argv[0].startswith("-"):
            leading.append(argv.pop(0))
            if leading[-1] in ("-n", "--namespace") and argv:
                leading.append(argv.pop(0))
        if not argv:
            s.print(_overview())
            return
        command, rest = argv[0], argv[1:]
        if command not in COMMAND_FLAGS:
            raise CommandError(error_line(f'unknown command "{command}" for "kubectl"'))
        parsed = parse_flags(leading + rest, COMMAND_FLAGS[command] + GLOBAL_FLAGS)
        if parsed["help"]:
            s.print(f"Usage:\n  {USAGE[command]}")
            return
        if parsed["namespace"] is not None:
            if not parsed["namespace"]:
                raise CommandError(error_line("a namespace must be specified"))
            s.namespace = parsed["namespace"]
            s.explicit_namespace = True
        await self._handler(command)(s, parsed)

    def _handler(self, command: str) -> Callable[[Session, ParsedFlags], Awaitable[None]]:
        if command == "version":
            async def version(s: Session, p: ParsedFlags) -> None:
                await reading.version(s, p, client_version=self._client_version,
                                      server_version=self._server_version)
            return version
        handlers: dict[str, Callable[[Session, ParsedFlags], Awaitable[None]]] = {
            "get": reading.get, "describe": reading.describe,
            "api-resources": reading.api_resources, "create": writing.create,
            "run": writing.run, "apply": writing.apply, "delete": writing.delete,
            "scale": writing.scale, "label": writing.label,
            "logs": streaming.logs, "exec": streaming.exec_command,
        }
        return handlers[command]


def _overview() -> str:
    lines = ["kubectl controls the redisha cluster.", "", "Commands:"]
    lines += [f"  {name}" for name in COMMAND_FLAGS]
    lines += ["", 'Use "kubectl <command> --help" for more information about a given command.']
    return "\n".join(lines)
