"""Helpers for the runtime tests: a tiny in-test PodSandbox, configs, process inspection."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from cluster.runtime import base


class StubSandbox:
    """A PodSandbox on 127.0.0.1 that records freezes; enough for runtime unit tests."""

    def __init__(self, hostname: str, *, hosts_file: str | None = None,
                 resolv_conf: str | None = None) -> None:
        self._hostname = hostname
        self._hosts_file = hosts_file
        self._resolv_conf = resolv_conf
        self.frozen = False
        self.freezes: list[bool] = []

    @property
    def ip(self) -> str:
        return "127.0.0.1"

    @property
    def hostname(self) -> str:
        return self._hostname

    @property
    def namespace(self) -> str:
        return "default"

    @property
    def hosts_file(self) -> str | None:
        return self._hosts_file

    @property
    def resolv_conf(self) -> str | None:
        return self._resolv_conf

    def resolve(self, host: str) -> str | None:
        return "127.0.0.1" if host in ("localhost", self._hostname) else None

    async def open_connection(self, host: str, port: int
                              ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.resolve(host) or host, port)

    async def start_server(self, handler: base.StreamHandler, port: int) -> Any:
        return await asyncio.start_server(handler, "127.0.0.1", port)

    def set_frozen(self, frozen: bool) -> None:
        self.frozen = frozen
        self.freezes.append(frozen)


def config(pod: str, image: str = "redis", *, command: tuple[str, ...] = (),
           args: tuple[str, ...] = (), env: dict[str, str] | None = None,
           mounts: tuple[base.Mount, ...] = (), name: str = "main") -> base.ContainerConfig:
    """A ContainerConfig for container `name` of pod `pod`."""
    return base.ContainerConfig(pod_uid=f"uid-{pod}", pod_name=pod, namespace="default",
                                name=name, image=image, command=command, args=args,
                                env=env or {}, mounts=mounts)


def session_members(sid: int) -> list[int]:
    """Pids of live (non-zombie) processes in session `sid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(entry))
    return found


def children_of(pid: int) -> list[int]:
    """Pids (zombies included) whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def process_state(pid: int) -> str:
    """The one-letter state of `pid` (`S`, `T` for stopped, …; `X` once gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "X"
    return stat[stat.rindex(")") + 2:].split()[0]
