"""The process runtime: a container is its command as a real process group.

Images map to real binaries on this machine (`ProcessImage`, registered by the
composition root): image `redis` → entrypoint `redis-server`, programs
`{"redis-server": "/usr/bin/redis-server", "redis-cli": "redis-cli"}`. A pod's `command`
replaces the entrypoint and `args` are appended. Each image's programs are linked into a
directory first on the container's PATH, so scripts find them too; an image's own small
scripts (`ProcessImage.scripts`, wrappers like an entrypoint script) are written there
too. The process runs in the container's namespaces (see `isolation`), its output goes
line by line into the container log, stop is SIGTERM to its group then SIGKILL after the
grace period, freeze/thaw is SIGSTOP/SIGCONT, and exec enters its namespaces with
`nsenter`. A process killed by signal N exits 128+N.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from cluster.runtime import base, containers, images


@dataclass(frozen=True)
class ProcessImage:
    """An image of the process runtime: real binaries under program names."""

    name: str
    entrypoint: tuple[str, ...] = ()
    programs: Mapping[str, str] = field(default_factory=dict)
    """Program name → binary path, or a name looked up on this machine's PATH."""
    scripts: Mapping[str, str] = field(default_factory=dict)
    """Program name → the text of an executable script (with its `#!` line), written into
    the image's bin directory: the small wrappers an image ships, as the official images
    ship their docker-entrypoint.sh. A script wins over a program of the same name."""


PAUSE = ProcessImage(
    name="pause",
    entrypoint=("sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"))
"""Built in: sleeps until stopped, then exits 0, like the real pause container."""


class ProcessRuntime(containers.BaseRuntime):
    """Runs containers as real process groups; see the module docstring."""

    name = "process"

    def __init__(self, images_: images.ImageRegistry[ProcessImage] | None = None, *,
                 settings: containers.RuntimeSettings | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(settings=settings, clock=clock)
        self.images = images_ if images_ is not None else images.ImageRegistry()
        self._builtins = images.ImageRegistry([PAUSE])
        self._bin_dirs: dict[str, str] = {}

    def _image(self, ref: str) -> ProcessImage:
        return images.find_in((self.images, self._builtins), ref)

    async def pull_image(self, image: str) -> None:
        self._image(image)

    async def create_container(self, config: base.ContainerConfig,
                               sandbox: base.PodSandbox) -> str:
        image = self._image(config.image)
        argv = images.command_line(config.command, config.args, image.entrypoint)
        iso = await self.isolation()
        bin_dir = self._bin_dir(image)
        container = self._new_container(config, sandbox, argv=argv, image=image,
                                        private=iso.namespaces, in_process_only=False)
        container.env = self._process_env(container, iso, bin_dirs=[bin_dir])
        if not containers.resolve_command(argv[0], container.env["PATH"], container.view,
                                          container.workdir):
            del self._containers[container.id]
            raise base.ContainerError(containers.not_found(argv[0]))
        container.runner = self._process_runner(container, iso)
        return container.id

    def _bin_dir(self, image: ProcessImage) -> str:
        """A directory of links, one per program of `image` found on this machine."""
        directory = self._bin_dirs.get(image.name)
        if directory is None:
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", image.name)
            directory = os.path.join(self._root_dir(), "images", safe, "bin")
            os.makedirs(directory, exist_ok=True)
            for name, binary in image.programs.items():
                target = shutil.which(binary)
                link = os.path.join(directory, os.path.basename(name))
                if (target is not None and not os.path.lexists(link)
                        and name not in image.scripts):
                    os.symlink(os.path.abspath(target), link)
            for name, text in image.scripts.items():
                path = os.path.join(directory, os.path.basename(name))
                with open(path, "w") as script:
                    script.write(text)
                os.chmod(path, 0o755)
            self._bin_dirs[image.name] = directory
        return directory

    async def _close_extra(self) -> None:
        self._bin_dirs.clear()
