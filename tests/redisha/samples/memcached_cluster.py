"""Helpers for the Memcached sample's tests: a cluster whose nodes run the memcached image.

A module with its own name (not `conftest`), so tests import it unambiguously."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from cluster.client import Client
from cluster.embedded import ClusterSettings, EmbeddedCluster, start_cluster
from cluster.runtime import base, containers
from cluster.runtime.fake import FakeRuntime
from cluster.runtime.images import ImageRegistry
from redisha.samples.memcached import crd
from redisha.samples.memcached.controller import LOGGER_NAME, MemcachedReconciler
from redisha.samples.memcached.image import memcached_image
from redisha.samples.memcached.logs import ZapConsoleFormatter
from tests.waiting import wait_until  # noqa: F401  (tests import it from here)

WaitUntil = Callable[..., Awaitable[None]]




def memcached_runtime(node_name: str, settings: containers.RuntimeSettings) -> base.Runtime:
    return FakeRuntime(ImageRegistry([memcached_image()]), settings=settings)


class ListHandler(logging.Handler):
    """Keeps the operator's lines, formatted the way operator-sdk prints them."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(ZapConsoleFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class OperatorCluster:
    """A running cluster with the Memcached CRD installed and the operator running."""

    cluster: EmbeddedCluster
    operator: MemcachedReconciler
    log: ListHandler

    @property
    def client(self) -> Client:
        return self.cluster.client


@contextlib.asynccontextmanager
async def operator_cluster(nodes: int = 2) -> AsyncIterator[OperatorCluster]:
    """A quick cluster with the CRD installed and the operator running, its log captured."""
    handler = ListHandler()
    # A logger outside logging's registry: nothing global to set up or restore.
    logger = logging.Logger(LOGGER_NAME, logging.INFO)  # noqa: LOG001
    logger.addHandler(handler)
    async with start_cluster(ClusterSettings.quick(nodes=nodes),
                             runtime_factory=memcached_runtime) as cluster:
        await crd.install(cluster.client)
        operator = MemcachedReconciler(cluster.client, logger=logger)
        await operator.start()
        try:
            yield OperatorCluster(cluster, operator, handler)
        finally:
            await operator.stop()
