"""`Replay`: what one step of the tutorial works with, and what it leaves behind.

A step runs commands through the kubectl command layer (printed as `$ kubectl …` with
their output, as a reader's terminal would show them), waits on conditions with a
deadline, and records checks. A wait that runs out ends the step with `StepFailed`; the
runner then fails the step's remaining checks as not reached, so every run counts the
same checks whatever happens.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cluster.api import errors
from cluster.client import Client
from cluster.embedded import EmbeddedCluster
from cluster.kubectl import CommandResult, Kubectl
from redisha.tutorial import checks, manifests
from redisha.tutorial.checks import Expected

T = TypeVar("T")

POLL_INTERVAL = 0.05
"""Seconds between two looks at a condition being waited on."""


class StepFailed(Exception):
    """A step cannot go on (a wait ran out, a command that everything after needs failed)."""


@dataclass(frozen=True)
class CheckResult:
    """One outcome compared with the tutorial's."""

    step: str
    title: str
    passed: bool
    detail: str = ""

    def line(self) -> str:
        """`PASS 3.1 …` or `FAIL 3.1 …: what was seen instead`."""
        mark = "PASS" if self.passed else "FAIL"
        text = f"{mark} {self.step} {self.title}"
        return f"{text}: {self.detail}" if self.detail and not self.passed else text


class Replay:
    """The context handed to each step: the cluster, kubectl, output, checks so far."""

    def __init__(self, cluster: EmbeddedCluster, *, workdir: Path, expected: Expected,
                 out: Callable[[str], None], wait_timeout: float) -> None:
        self.cluster = cluster
        self.client: Client = cluster.client
        self.expected = expected
        self.workdir = workdir
        self.wait_timeout = wait_timeout
        """Default deadline of a wait, in seconds."""
        self.results: list[CheckResult] = []
        self._out = out
        self._kubectl = Kubectl(cluster.client, cwd=workdir)
        self._step = ""
        self._declared: dict[str, str] = {}
        self._reported: set[str] = set()
        self._cleanups: list[Callable[[], Awaitable[None]]] = []
        self.memo: dict[str, Any] = {}
        """What one step learns that a later one needs (the Deployment's first pod)."""

    # -- steps and checks -------------------------------------------------------------------

    def begin(self, number: str, title: str, declared: Mapping[str, str]) -> None:
        """Start step `number`; `declared` maps each check's key to its title."""
        self._step = number
        self._declared = dict(declared)
        self._reported = set()
        self._out("")
        self._out(f"== {number} {title}")

    def check(self, key: str, passed: bool, detail: str = "") -> bool:
        """Record the declared check `key` once; returns `passed`."""
        if key not in self._declared:
            raise KeyError(f"step {self._step} declares no check {key!r}")
        if key in self._reported:
            raise KeyError(f"step {self._step} reported check {key!r} twice")
        self._reported.add(key)
        result = CheckResult(self._step, self._declared[key], bool(passed), detail)
        self.results.append(result)
        self._out(result.line())
        return result.passed

    def finish(self, reason: str = "") -> None:
        """Fail every declared check of the step that was not reported."""
        for key, title in self._declared.items():
            if key not in self._reported:
                self._reported.add(key)
                result = CheckResult(self._step, title, False,
                                     f"not reached ({reason})" if reason else "not reached")
                self.results.append(result)
                self._out(result.line())

    # -- output -----------------------------------------------------------------------------

    def say(self, line: str) -> None:
        """One line of the transcript as is (another program's output)."""
        self._out(line)

    def note(self, text: str) -> None:
        """A comment in the transcript: what the reader should notice, or a fault."""
        for line in text.splitlines():
            self._out(f"# {line}")

    def show_file(self, name: str, text: str) -> None:
        """Write a manifest into the working directory and print it as `cat` would."""
        manifests.write(self.workdir, name, text)
        self._out(f"$ cat {name}")
        for line in text.rstrip("\n").splitlines():
            self._out(line)

    async def kubectl(self, command: str, *, show: bool = True,
                      stdin: str | None = None) -> CommandResult:
        """Run `kubectl <command>`; printed with its output unless `show` is False.

        `stdin` is piped in (`exec -i`), and shown as `echo <stdin> | kubectl …`.
        """
        result = await self._kubectl.run(
            shlex.split(command), stdin=None if stdin is None else f"{stdin}\n".encode())
        if show:
            self.show(command, result, stdin=stdin)
        return result

    # -- waiting ----------------------------------------------------------------------------

    async def wait(self, what: str, probe: Callable[[], Awaitable[T | None]],
                   timeout: float | None = None) -> T:
        """Poll `probe` until it returns something other than None/False; its value.

        Raises `StepFailed` naming `what` when the deadline passes first.
        """
        limit = self.wait_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            value = await probe()
            if value is not None and value is not False:
                return value
            if loop.time() >= deadline:
                raise StepFailed(f"timed out after {limit:g}s waiting for {what}")
            await asyncio.sleep(POLL_INTERVAL)

    async def pod(self, name: str) -> dict[str, Any] | None:
        """The pod `name` in the default namespace, or None."""
        try:
            return await self.client.get("pods", name, "default")
        except errors.NotFound:
            return None

    async def wait_ready(self, name: str, *, timeout: float | None = None,
                         not_uid: str = "") -> dict[str, Any]:
        """Wait until pod `name` (another one than `not_uid`) is Running and Ready."""
        async def ready() -> dict[str, Any] | None:
            pod = await self.pod(name)
            if pod is None or not checks.pod_ready(pod):
                return None
            return None if pod["metadata"]["uid"] == not_uid else pod
        return await self.wait(f"pod {name} to be Running and Ready", ready, timeout)

    async def delete_pods(self, *names: str) -> CommandResult:
        """`kubectl delete pod <names>`: returns once they are gone (kubectl's default
        `--wait=true`; a StatefulSet's namesake successor does not count as the same pod)."""
        return await self.kubectl(f"delete pod {' '.join(names)}")

    async def eventually(self, command: str, predicate: Callable[[CommandResult], bool],
                         timeout: float | None = None) -> CommandResult:
        """Run `kubectl <command>` quietly until `predicate` holds on its result or the
        deadline passes, then print the last run once: the output the check judges.

        This is how a reader waits: run the command again until it shows what they expect.
        """
        limit = self.wait_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            result = await self.kubectl(command, show=False)
            if predicate(result) or loop.time() >= deadline:
                break
            await asyncio.sleep(POLL_INTERVAL)
        self.show(command, result)
        return result

    def show(self, command: str, result: CommandResult, *, stdin: str | None = None) -> None:
        """Print a command that already ran, with its output."""
        pipe = "" if stdin is None else f"echo {shlex.quote(stdin)} | "
        self._out(f"$ {pipe}kubectl {command}")
        for text in (result.stdout, result.stderr):
            for line in text.rstrip("\n").splitlines():
                self._out(line)

    # -- clean-up ---------------------------------------------------------------------------

    def defer(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Run `cleanup` when the replay ends, before the cluster stops (newest first)."""
        self._cleanups.append(cleanup)

    async def close(self) -> None:
        """Run the deferred clean-ups."""
        while self._cleanups:
            await self._cleanups.pop()()
