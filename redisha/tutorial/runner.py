"""Running the replay: a fresh cluster shaped like the tutorial's, every step, the count.

`replay()` starts a cluster on the chosen backend with the tutorial's two nodes (3.5Gi
and 4Gi of memory, the scheduling example's numbers; the Redis pods ask for nothing, so
they fit on either), plays the steps in order and returns a `Report`. `main()` is what
`redisha tutorial` runs: the transcript on stdout, exit 0 only if every check passed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from cluster.embedded import ClusterSettings, EmbeddedCluster
from redisha import backends
from redisha.backends import Backend, BackendUnavailable
from redisha.server.server import ServerSettings
from redisha.tutorial.checks import EXPECTED, Expected
from redisha.tutorial.replay import CheckResult, Replay, StepFailed
from redisha.tutorial.steps import STEPS, Step


@dataclass(frozen=True)
class TutorialSettings:
    """The cluster the replay starts, and how long it waits."""

    nodes: tuple[tuple[str, str], ...] = (("node-1", "3584Mi"), ("node-2", "4Gi"))
    """(name, allocatable memory) of each node: the tutorial's node1 (3.5Gi), node2 (4Gi)."""
    cluster: ClusterSettings = field(default_factory=lambda: ClusterSettings.quick(nodes=0))
    """Everything else about the cluster; its `nodes` count is replaced by `nodes` above."""
    server: ServerSettings | None = None
    """The fake redis image's own intervals (None: Redis' one-second reconnects)."""
    wait_timeout: float = 20.0
    """Seconds a step waits for a condition before it gives up."""


@dataclass(frozen=True)
class Report:
    """Every check of one replay, in the order they were made."""

    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> int:
        return sum(1 for result in self.results if result.passed)

    @property
    def ok(self) -> bool:
        return bool(self.results) and self.passed == len(self.results)

    def failed(self) -> list[CheckResult]:
        return [result for result in self.results if not result.passed]

    def summary(self) -> str:
        """`tutorial: 30 checks, 30 passed` (and what failed, when something did)."""
        line = f"tutorial: {len(self.results)} checks, {self.passed} passed"
        failed = self.failed()
        if failed:
            line += "; failed: " + ", ".join(f"{r.step} {r.title}" for r in failed)
        return line


def select(numbers: Sequence[str] | None) -> tuple[Step, ...]:
    """The steps to play: all, or those numbered (`"3.1"`, or `"3"` for all of step 3)."""
    if numbers is None:
        return STEPS
    wanted = set(numbers)
    unknown = wanted - {s.number for s in STEPS} - {s.number.split(".")[0] for s in STEPS}
    if unknown:
        raise ValueError(f"no tutorial step {min(unknown)}")
    return tuple(s for s in STEPS if s.number in wanted or s.number.split(".")[0] in wanted)


async def add_node(cluster: EmbeddedCluster, name: str, memory: str) -> None:
    """Start node `name` with `memory` allocatable."""
    kubelet = cluster.settings.kubelet
    capacity = {**kubelet.capacity, "memory": memory}
    await cluster.add_node(name, kubelet=dataclasses.replace(kubelet, capacity=capacity,
                                                               allocatable=None))


async def play(cluster: EmbeddedCluster, steps: Sequence[Step], *, workdir: Path,
               expected: Expected, out: Callable[[str], None], wait_timeout: float) -> Report:
    """Play `steps` on a running cluster; a step that cannot go on fails what it did not
    reach, and the next step still runs."""
    replay = Replay(cluster, workdir=workdir, expected=expected, out=out,
                    wait_timeout=wait_timeout)
    try:
        for step in steps:
            replay.begin(step.number, step.title, step.checks)
            reason = ""
            try:
                await step.play(replay)
            except StepFailed as e:
                reason = str(e)
            except Exception as e:  # noqa: BLE001 - a broken step must still be counted
                reason = f"{type(e).__name__}: {e}"
            if reason:
                replay.note(f"step {step.number} stopped: {reason}")
            replay.finish(reason)
    finally:
        await replay.close()
    return Report(tuple(replay.results))


async def replay(backend: Backend = Backend.FAKE, *, expected: Expected = EXPECTED,
                 settings: TutorialSettings | None = None, steps: Sequence[str] | None = None,
                 out: Callable[[str], None] = print) -> Report:
    """Start a fresh cluster on `backend`, play the tutorial on it, stop it.

    Raises `BackendUnavailable` (before anything starts) when this machine cannot run
    `backend`, and ValueError for an unknown step number.
    """
    chosen = select(steps)
    s = settings or TutorialSettings()
    cluster_settings = dataclasses.replace(s.cluster, nodes=0)
    with tempfile.TemporaryDirectory(prefix="redisha-tutorial-") as workdir:
        async with backends.start(backend, cluster_settings,
                                  server_settings=s.server) as cluster:
            for name, memory in s.nodes:
                await add_node(cluster, name, memory)
            return await play(cluster, chosen, workdir=Path(workdir), expected=expected,
                              out=out, wait_timeout=s.wait_timeout)


def main(backend: Backend = Backend.FAKE, *, expected: Expected = EXPECTED,
         settings: TutorialSettings | None = None, steps: Sequence[str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """`redisha tutorial`: print the transcript and the count; 0 only if all passed.

    `expected`, `settings` and `steps` are for tests (a wrong expectation, shorter
    intervals, a few steps); the command uses the defaults.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr

    def write(line: str) -> None:
        print(line, file=out, flush=True)

    try:
        report = asyncio.run(replay(backend, expected=expected, settings=settings,
                                    steps=steps, out=write))
    except BackendUnavailable as e:
        print(f"redisha tutorial: {e}", file=err)
        return 1
    write("")
    write(report.summary())
    return 0 if report.ok else 1
