"""Fixtures for the runtime tests: runtimes that are closed after each test."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, Callable

import pytest

from cluster.runtime import containers, fake, images, process


@pytest.fixture
def settings(tmp_path: Path) -> containers.RuntimeSettings:
    return containers.RuntimeSettings(state_dir=str(tmp_path / "state"))


@pytest.fixture
async def make_fake(settings: containers.RuntimeSettings
                    ) -> AsyncIterator[Callable[..., fake.FakeRuntime]]:
    """Build FakeRuntimes that are closed (and checked for leftovers) after the test."""
    made: list[fake.FakeRuntime] = []

    def build(*image_list: images.Image, **kwargs: Any) -> fake.FakeRuntime:
        runtime = fake.FakeRuntime(images.ImageRegistry(image_list),
                                   settings=kwargs.pop("settings", settings), **kwargs)
        made.append(runtime)
        return runtime

    yield build
    for runtime in made:
        await runtime.close()


@pytest.fixture
async def make_process(settings: containers.RuntimeSettings
                       ) -> AsyncIterator[Callable[..., process.ProcessRuntime]]:
    """Build ProcessRuntimes that are closed after the test."""
    made: list[process.ProcessRuntime] = []

    def build(*image_list: process.ProcessImage, **kwargs: Any) -> process.ProcessRuntime:
        runtime = process.ProcessRuntime(images.ImageRegistry(image_list),
                                         settings=kwargs.pop("settings", settings), **kwargs)
        made.append(runtime)
        return runtime

    yield build
    for runtime in made:
        await runtime.close()
