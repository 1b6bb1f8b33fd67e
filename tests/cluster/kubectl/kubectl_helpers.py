"""Builders for the kubectl tests: a live embedded API server with a `Kubectl` on top."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.kubectl.commands import CommandResult, Kubectl

from tests.tutorial_manifests import SHARED_MANIFESTS, TUTORIAL_MANIFESTS  # noqa: F401

T0 = 1_700_000_000.0
"""2023-11-14T22:13:20Z: every object in these tests is created at or after this moment."""

"""The tutorial's manifests, verbatim (test_tutorial_manifests_match checks the copy)."""


class Clock:
    """Seconds since the epoch; `advance` is the only way time passes."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    """One cluster: the API server, a client, kubectl, the clock and a manifests folder."""

    api: APIServer
    client: InProcessClient
    kubectl: Kubectl
    clock: Clock
    files: Path

    async def run(self, *argv: str) -> CommandResult:
        return await self.kubectl.run(list(argv))

    def write(self, name: str, text: str) -> str:
        (self.files / name).write_text(text)
        return name

    @property
    def revision(self) -> int:
        return self.api.revision


def make_harness(files: Path) -> Harness:
    """A fresh cluster whose kubectl reads files from `files` (tutorial manifests copied in)."""
    clock = Clock()
    api = APIServer(clock=clock, rng=random.Random(7))
    client = InProcessClient(api)
    for name, text in TUTORIAL_MANIFESTS.items():
        (files / name).write_text(text)
    return Harness(api, client, Kubectl(client, clock=clock, cwd=files), clock, files)
