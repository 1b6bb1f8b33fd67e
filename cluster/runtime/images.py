"""Images for the runtimes: references, registries, and the fake runtime's programs.

The cluster knows no Redis: the composition root registers images into an
`ImageRegistry` it hands to a runtime. For the fake runtime an `Image` is a set of named
Python programs (image `redis`: `redis-server`, `redis-cli`, `redis-sentinel`) plus the
entrypoint argv; for the process runtime a `process.ProcessImage` names real binaries.
References match the way Docker's do: `redis`, `redis:7`, `docker.io/library/redis:latest`
and `redis@sha256:…` are all image `redis`; `quay.io/acme/redis` is `acme/redis`, or
`redis` when no `acme/redis` is registered (the tag is not checked).

A program is a factory (typically a class) whose instances have `async def run(ctx) ->
int`; `ctx` is a `ProgramContext`, the program's whole view of its container.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import time
import traceback
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Generic, Iterable, Mapping, Protocol, Sequence, TypeVar

from cluster.runtime import base, isolation

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_PREFIX = "library/"


@dataclass(frozen=True)
class ImageReference:
    """A parsed image reference (`[domain/]path[:tag][@digest]`)."""

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @classmethod
    def parse(cls, ref: str) -> ImageReference:
        rest, _, digest = ref.strip().partition("@")
        domain, slash, remainder = rest.partition("/")
        if not slash or not ("." in domain or ":" in domain or domain == "localhost"):
            domain, remainder = DEFAULT_DOMAIN, rest
        path, tag = remainder, ""
        last = remainder.rsplit("/", 1)[-1]
        if ":" in last:
            path, _, tag = remainder.rpartition(":")
        if domain == DEFAULT_DOMAIN and "/" not in path:
            path = OFFICIAL_PREFIX + path
        if not tag and not digest:
            tag = "latest"
        return cls(domain, path, tag, digest)

    @property
    def canonical(self) -> str:
        """The fully qualified form containerd prints: `docker.io/library/redis:latest`."""
        text = f"{self.domain}/{self.path}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def name(self) -> str:
        """The repository as registries are keyed here: `redis`, `acme/redis`."""
        if self.domain == DEFAULT_DOMAIN and self.path.startswith(OFFICIAL_PREFIX):
            return self.path[len(OFFICIAL_PREFIX):]
        return self.path


def pull_error(ref: str) -> base.ImagePullError:
    """containerd's wording for an image no registry has."""
    canonical = ImageReference.parse(ref).canonical
    return base.ImagePullError(
        f'failed to pull and unpack image "{canonical}": failed to resolve reference '
        f'"{canonical}": {canonical}: not found')


class _Named(Protocol):
    @property
    def name(self) -> str: ...


ImageT = TypeVar("ImageT", bound=_Named)


class ImageRegistry(Generic[ImageT]):
    """Images by name, looked up by any reference to them; one per runtime, no globals."""

    def __init__(self, images: Iterable[ImageT] = ()) -> None:
        self._images: dict[str, ImageT] = {}
        self._resolved: dict[str, ImageT] = {}
        for image in images:
            self.register(image)

    def register(self, image: ImageT) -> None:
        """Add (or replace) an image; its name is normalised like a reference."""
        self._images[ImageReference.parse(image.name).name] = image
        self._resolved.clear()

    def names(self) -> list[str]:
        return sorted(self._images)

    def find(self, ref: str) -> ImageT | None:
        """The image `ref` names, or None."""
        hit = self._resolved.get(ref)
        if hit is None:
            name = ImageReference.parse(ref).name
            hit = self._images.get(name) or self._images.get(name.rsplit("/", 1)[-1])
            if hit is not None:
                self._resolved[ref] = hit
        return hit

    def resolve(self, ref: str) -> ImageT:
        """The image `ref` names; raises ImagePullError in containerd's words."""
        hit = self.find(ref)
        if hit is None:
            raise pull_error(ref)
        return hit


class Program(Protocol):
    """One run of a program: returns its exit code (None counts as 0)."""

    async def run(self, ctx: ProgramContext) -> int | None: ...


ProgramFactory = Callable[[], Program]


@dataclass(frozen=True)
class Image:
    """A fake image: named in-process programs and the argv a container runs by default."""

    name: str
    programs: Mapping[str, ProgramFactory]
    """By command name (`redis-server`); a command is matched by its basename."""
    entrypoint: tuple[str, ...] = ()

    def program(self, command: str) -> ProgramFactory | None:
        return self.programs.get(posixpath.basename(command))


Output = Callable[[str, str], None]
"""Where a program's lines go: `output(stream, line)` with stream `stdout`/`stderr`."""


@dataclass(eq=False)
class ProgramContext:
    """Everything a fake program sees of its container."""

    argv: list[str]
    env: dict[str, str]
    hostname: str
    sandbox: base.PodSandbox
    """The pod's network: `open_connection`, `start_server`, `resolve`."""
    view: isolation.ContainerView
    output: Output
    cwd: str = "/"
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    """Set on the SIGTERM-equivalent: finish up and return."""
    clock: Callable[[], float] = time.time
    """Wall-clock seconds."""
    stdin: bytes = b""
    """Input given to `exec`; real processes' stdin is not passed to in-process programs."""
    container_id: str = ""
    prepare: Callable[[], object] = field(default=lambda: None, repr=False)
    """Makes the runtime's directory, where the container's private paths live, before
    the program first reaches for a host path (the runtime makes it only when needed)."""

    def stdout(self, line: str) -> None:
        self.output("stdout", line)

    def stderr(self, line: str) -> None:
        self.output("stderr", line)

    def host_path(self, path: str) -> str:
        """The host path behind a container path (`/tmp/redis.conf`, a volume's file)."""
        self.prepare()
        return self.view.host_path(path, self.cwd)

    def open(self, path: str, mode: str = "r", **kwargs: Any) -> IO[Any]:
        """`open()` a container path; writing creates missing directories of private paths."""
        real = self.host_path(path)
        if any(flag in mode for flag in "wax+") and self.view.is_private(real):
            os.makedirs(posixpath.dirname(real), exist_ok=True)
        return open(real, mode, **kwargs)


async def run_program(factory: ProgramFactory, ctx: ProgramContext) -> int:
    """One program run's exit code; never raises but CancelledError.

    A program that raises exits 1 with the exception's last traceback line on stderr;
    `SystemExit(n)` exits n.
    """
    try:
        code = await factory().run(ctx)
    except asyncio.CancelledError:
        raise
    except SystemExit as exc:
        return _exit_status(exc.code, ctx)
    except BaseException as exc:  # noqa: BLE001 - a program's bug is its container's, not ours
        ctx.stderr(traceback.format_exception_only(type(exc), exc)[-1].rstrip("\n"))
        return 1
    return _exit_status(code, ctx)


def _exit_status(code: object, ctx: ProgramContext) -> int:
    if code is None:
        return 0
    if isinstance(code, bool) or not isinstance(code, int):
        ctx.stderr(str(code))
        return 1
    return code & 0xFF


class Pause:
    """The `pause` image's program: sleeps until asked to stop, then exits 0."""

    async def run(self, ctx: ProgramContext) -> int:
        await ctx.stop_requested.wait()
        return 0


PAUSE = Image(name="pause", programs={"pause": Pause}, entrypoint=("/pause",))
"""Built into the fake runtime (`registry.k8s.io/pause:3.9` resolves to it too)."""


def find_in(registries: Iterable["ImageRegistry[ImageT]"], ref: str) -> ImageT:
    """The first registry's image matching `ref`; a containerd-worded pull error if none."""
    for registry in registries:
        image = registry.find(ref)
        if image is not None:
            return image
    raise pull_error(ref)


def command_line(command: Sequence[str], args: Sequence[str],
                 entrypoint: Sequence[str]) -> list[str]:
    """What a container runs: the pod's `command` (or the image's entrypoint), then `args`."""
    argv = [*(command or entrypoint), *args]
    if not argv:
        raise base.ContainerError("no command specified")
    return argv
