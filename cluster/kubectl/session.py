"""What every kubectl command shares while it runs: the client, the clock, the output.

A `Session` lives for one `Kubectl.run` call. Commands write complete lines to it (each
stdout line is also handed to the caller's `out` callback as it is produced, which is how
`get -w` streams), report failures as single stderr lines, and resolve the resource words
users type (`pods,svc`, `deploy/web`, `all`) into `Target`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cluster.api import errors, objects
from cluster.api.resources import ResourceType, UnknownResource
from cluster.client import Client

ALL_CATEGORY_ORDER = ("pods", "services", "daemonsets.apps", "deployments.apps",
                      "replicasets.apps", "statefulsets.apps", "jobs.batch", "cronjobs.batch")
"""The order `kubectl get all` prints the kinds of the `all` category in."""


class CommandError(Exception):
    """A failure that ends the command; `line` is printed to stderr as is."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


def error_line(message: str) -> str:
    """A client-side failure, kubectl style."""
    return f"error: {message}"


def api_error_line(error: errors.APIError, context: str = "") -> str:
    """`Error from server (NotFound): pods "x" not found`, optionally with a context; a
    Status without a reason (a failed dial to a kubelet) prints as `Error from server: ...`,
    as kubectl does."""
    reason = error.to_status().get("reason")
    if not reason:
        return f"Error from server: {context}{error.message}"
    return f"Error from server ({reason}): {context}{error.message}"


@dataclass(frozen=True)
class Target:
    """One kind and the names asked for (no names: every object that matches)."""

    rt: ResourceType
    names: tuple[str, ...] = ()


@dataclass
class Session:
    """Per-run state handed to every command."""

    client: Client
    clock: Callable[[], float]
    namespace: str
    """The namespace in effect: `-n`, else the Kubectl default."""
    explicit_namespace: bool
    cwd: Path
    out: Callable[[str], None] | None = None
    err: Callable[[str], None] | None = None
    out_text: Callable[[str], None] | None = None
    """Receives stdout exactly as written, final newline or not (a terminal's view)."""
    err_text: Callable[[str], None] | None = None
    stdin: bytes | None = None
    """What the caller gives as kubectl's standard input (`exec -i` forwards it)."""
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    failed: bool = False
    exit_code: int | None = None
    """Set by a command whose exit code is not simply 0/1 (`exec` passes the command's on)."""

    def now(self) -> float:
        return self.clock()

    # -- output --------------------------------------------------------------------------

    def print(self, text: str) -> None:
        """Write text made of whole lines (a missing final newline is added)."""
        if not text:
            return
        self._out(text if text.endswith("\n") else text + "\n")

    def write(self, text: str) -> None:
        """Pass output through as it is (exec's stdout, jsonpath): no newline is added;
        `out` gets each line, the last one even when unfinished."""
        if text:
            self._out(text)

    def write_err(self, text: str) -> None:
        """`write` for stderr (exec's stderr); not a failure."""
        if text:
            self._err(text)

    def warn(self, line: str) -> None:
        """A stderr line that is not a failure (`No resources found in ...`)."""
        self._err(line + "\n")

    def _out(self, text: str) -> None:
        self.stdout.append(text)
        if self.out_text is not None:
            self.out_text(text)
        if self.out is not None:
            for line in text.removesuffix("\n").split("\n"):
                self.out(line)

    def _err(self, text: str) -> None:
        self.stderr.append(text)
        if self.err_text is not None:
            self.err_text(text)
        if self.err is not None:
            for line in text.removesuffix("\n").split("\n"):
                self.err(line)

    def fail(self, line: str) -> None:
        """Report one failure and carry on; the command will exit 1."""
        self.failed = True
        self.warn(line)

    # -- resources -----------------------------------------------------------------------

    async def resolve(self, word: str) -> ResourceType:
        """A kind by any name kubectl accepts, or the server's "doesn't have" error."""
        try:
            return await self.client.resolve(word)
        except (errors.NotFound, UnknownResource, LookupError):
            raise CommandError(error_line(
                f'the server doesn\'t have a resource type "{word}"')) from None

    async def expand(self, word: str) -> list[ResourceType]:
        """`pods` → [pods]; `all` (or another category) → its kinds, in kubectl's order."""
        if word == "all":
            types = [rt for rt in await self.client.resources() if "all" in rt.categories]
            order = {key: i for i, key in enumerate(ALL_CATEGORY_ORDER)}
            types.sort(key=lambda rt: (order.get(rt.key, len(order)), rt.custom, rt.key))
            return types
        return [await self.resolve(word)]

    async def type_for_object(self, obj: dict[str, Any]) -> ResourceType:
        """The served kind named by a manifest's apiVersion and kind."""
        api_version = str(obj.get("apiVersion", ""))
        kind = str(obj.get("kind", ""))
        for rt in await self.client.resources():
            if rt.api_version == api_version and rt.kind == kind:
                return rt
        raise LookupError(f'no matches for kind "{kind}" in version "{api_version}"')

    async def targets(self, args: list[str], *, allow_categories: bool = True) -> list[Target]:
        """Parse `TYPE[,TYPE...] [NAME...]` or `TYPE/NAME...` into targets, in order."""
        if not args:
            return []
        if any("/" in a for a in args):
            out: list[Target] = []
            for arg in args:
                word, slash, name = arg.partition("/")
                if not slash:
                    raise CommandError(error_line(
                        "there is no need to specify a resource type as a separate argument "
                        "when passing arguments in resource/name form (e.g. 'kubectl get "
                        "resource/<resource_name>' instead of 'kubectl get resource "
                        "resource/<resource_name>'"))
                if not word or not name:
                    raise CommandError(error_line(
                        "arguments in resource/name form must have a single resource and "
                        "name"))
                rt = await self.resolve(word)
                if out and out[-1].rt == rt:
                    out[-1] = Target(rt, out[-1].names + (name,))
                else:
                    out.append(Target(rt, (name,)))
            return out
        words = [w for w in args[0].split(",") if w]
        if not words:
            raise CommandError(error_line('the server doesn\'t have a resource type ""'))
        names = tuple(args[1:])
        types: list[ResourceType] = []
        for word in words:
            expanded = await self.expand(word) if allow_categories else \
                [await self.resolve(word)]
            for rt in expanded:
                if rt not in types:
                    types.append(rt)
        return [Target(rt, names) for rt in types]

    def namespace_for(self, rt: ResourceType, all_namespaces: bool = False) -> str | None:
        """The namespace to list in: None for all namespaces or cluster-scoped kinds."""
        if not rt.namespaced or all_namespaces:
            return None
        return self.namespace

    def object_namespace(self, rt: ResourceType, obj: dict[str, Any], source: str) -> str | None:
        """The namespace a manifest's object goes to, refusing a mismatch with `-n`."""
        if not rt.namespaced:
            return None
        own = objects.namespace_of(obj)
        if own and self.explicit_namespace and own != self.namespace:
            raise CommandError(error_line(
                f'the namespace from the provided object "{own}" does not match the namespace '
                f'"{self.namespace}". You must pass \'--namespace={own}\' to perform this '
                f"operation."))
        return own or self.namespace

    def read_file(self, path: str) -> list[tuple[str, str]]:
        """(source, text) for `-f PATH`: a file, or the manifests in a directory."""
        full = Path(path) if Path(path).is_absolute() else self.cwd / path
        if not full.exists():
            raise CommandError(error_line(f'the path "{path}" does not exist'))
        if full.is_dir():
            files = sorted(p for p in full.iterdir()
                           if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))
            return [(str(Path(path) / p.name), p.read_text(encoding="utf-8")) for p in files]
        try:
            return [(path, full.read_text(encoding="utf-8"))]
        except (OSError, UnicodeDecodeError) as e:
            raise CommandError(error_line(f"error reading {path}: {e}")) from None
