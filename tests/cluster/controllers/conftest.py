"""Fixtures for the workload controller tests: a live API, shared informers, a kubelet stand-in."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.informer import InformerFactory, InformerSettings
from tests.cluster.controllers.workload_sim import AutoReady


@pytest.fixture
def api() -> APIServer:
    return APIServer()


@pytest.fixture
def client(api: APIServer) -> InProcessClient:
    return InProcessClient(api)


@pytest.fixture
async def factory(client: InProcessClient) -> AsyncIterator[InformerFactory]:
    """Shared informers, stopped after the test (controllers start the ones they use)."""
    informers = InformerFactory(client, settings=InformerSettings(retry_initial_delay=0.01))
    yield informers
    await informers.stop()


@pytest.fixture
async def kubelet(client: InProcessClient) -> AsyncIterator[AutoReady]:
    """Marks every new pod Running and Ready, as kubelets would once its containers run."""
    auto = AutoReady(client)
    await auto.start()
    yield auto
    await auto.stop()
