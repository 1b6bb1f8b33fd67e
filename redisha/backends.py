"""Backends: which runtime runs the cluster's containers, and the images it knows.

This module is the composition root for images. The cluster engine knows no images; it
asks a `RuntimeFactory` for each node's runtime. Two backends answer:

- **fake** (the default): every node gets a `FakeRuntime` whose images are in-process
  Python programs (`fake_images`): the fake `redis` image and the samples. Nothing is
  needed beyond Python, and a thousand pods fit in one process. Beside it, in a
  `HybridRuntime`, a `ProcessRuntime` runs the few real binaries the fake backend offers
  (`fake_process_images`): the machine's Redis Sentinel (`bitnami/redis-sentinel`), to
  watch and fail over fake redis pods when redis-server is installed. A container runs on
  the first of the two that has its image, so the fake images always win.
- **real**: every node gets a `ProcessRuntime` whose `redis` image runs this machine's
  `redis-server` and `redis-cli` (Debian's redis-server and redis-tools packages), each
  pod's server bound to the pod's own address (`redisha.server.real`), and whose
  `bitnami/redis-sentinel` image runs its Redis Sentinel. It needs root (mount and UTS
  namespaces give each pod its hostname and cluster /etc/hosts).

Both backends give the kubelets a volumes directory, so a PersistentVolumeClaim's data
outlives its pod the same way on either (`cluster_settings`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator

import redisha
from cluster.embedded import (
    ClusterSettings,
    EmbeddedCluster,
    RuntimeFactory,
    start_cluster,
)
from cluster.runtime import containers, isolation
from cluster.runtime.base import Runtime
from cluster.runtime.fake import FakeRuntime
from cluster.runtime.hybrid import HybridRuntime
from cluster.runtime.images import Image, ImageRegistry
from cluster.runtime.isolation import TMP
from cluster.runtime.process import ProcessImage, ProcessRuntime
from redisha.samples.memcached import image as memcached
from redisha.sentinel import real as sentinel_process
from redisha.sentinel.image import sentinel_image
from redisha.sentinel.settings import SentinelSettings
from redisha.server import real
from redisha.server.image import redis_image
from redisha.server.server import ServerSettings
from redisha.writer import image as writer


class Backend(str, enum.Enum):
    """What runs a pod's containers."""

    FAKE = "fake"
    """In-process Python programs (the fake runtime)."""
    REAL = "real"
    """This machine's binaries as real processes (the process runtime)."""


class BackendUnavailable(Exception):
    """This machine cannot run the backend; `str()` is one line saying what to install
    or change, fit for a CLI's error output."""


def fake_images(server_settings: ServerSettings | None = None,
                sentinel_settings: SentinelSettings | None = None) -> list[Image]:
    """The fake backend's images.

    EXTEND HERE: every fake image the project ships is listed in this one place.
    """
    return [
        redis_image(server_settings),
        sentinel_image(sentinel_settings),
        memcached.memcached_image(),
        writer.writer_image(),
    ]


def fake_process_images() -> list[ProcessImage]:
    """The real binaries the fake backend runs beside its in-process images.

    EXTEND HERE: a process image listed here runs on fake-backend nodes unless a fake image
    of the same name exists. The machine's Redis Sentinel joins when redis-server is
    installed (without it, its pods fail with ErrImagePull, naming the image).
    """
    if real.missing_binaries(("redis-server",)):
        return []
    return [real.sentinel_image()]


def real_images() -> list[ProcessImage]:
    """The real backend's images.

    EXTEND HERE: every process image the project ships is listed in this one place.
    """
    return [
        real.redis_image(),
        real.sentinel_image(),
        sentinel_process.process_image(),
        memcached.process_image(),
        writer.process_image(),
    ]


def require(backend: Backend) -> None:
    """Raise `BackendUnavailable` unless this machine can run `backend`.

    Checked before a cluster starts, so that a missing binary is one clear line up front
    rather than every pod failing with `executable file not found` later.
    """
    if backend is Backend.FAKE:
        return
    missing = real.missing_binaries()
    if missing:
        raise BackendUnavailable(real.install_hint(missing))
    reason = _isolation_problem()
    if reason:
        raise BackendUnavailable(
            f"the real backend needs Linux mount and UTS namespaces for its pods: {reason}")
    hidden = _hidden_from_pods()
    if hidden:
        raise BackendUnavailable(
            f"the real backend runs redisha's own programs (sentinel, writer, memcached) in "
            f"pods, whose /tmp is private: {hidden} is under /tmp; install redisha and its "
            f"Python elsewhere")


def _hidden_from_pods() -> str:
    """Which of this Python and this checkout a pod could not see ('' when both can).

    Real pods get a private /tmp (isolation), so an interpreter or a checkout below /tmp
    (a CI scratch venv, say) would make every Python-process pod fail to start."""
    for path in (sys.executable, redisha.__file__):
        real_path = os.path.abspath(path)
        if real_path == TMP or real_path.startswith(TMP + "/"):
            return real_path
    return ""


NAMESPACE_TOOLS = {"unshare": "util-linux", "nsenter": "util-linux", "mount": "mount"}
"""The tools the process runtime makes namespaces with, and their Debian packages."""


def _isolation_problem() -> str:
    """Why the process runtime could not isolate pods here ('' when it can).

    `isolation.probe`'s checks that need no process (`start` then makes a real attempt):
    pods of the real backend need their own /etc/hosts (cluster DNS) and hostname, or the
    tutorial's replica could not find its primary by name.
    """
    if os.geteuid() != 0:
        return "this process is not running as root (run it as root, e.g. with sudo)"
    for tool, package in NAMESPACE_TOOLS.items():
        if shutil.which(tool) is None:
            return (f"{tool} not found on PATH: install Debian's {package} package "
                    f"(apt-get install -y {package})")
    return ""


def runtime_factory(backend: Backend, *,
                    server_settings: ServerSettings | None = None,
                    sentinel_settings: SentinelSettings | None = None) -> RuntimeFactory:
    """A factory building each node's runtime with the backend's images.

    `server_settings` and `sentinel_settings` tune the fake redis and sentinel images
    (tests shorten their intervals); real processes take their settings from their
    configuration, so the real backend ignores them.
    """
    if backend is Backend.FAKE:
        # Built once: every node's runtimes share the image lists (registries are per node).
        in_process = fake_images(server_settings, sentinel_settings)
        processes = fake_process_images()

        def fake(node_name: str, settings: containers.RuntimeSettings) -> Runtime:
            runtime = FakeRuntime(ImageRegistry(in_process), settings=settings)
            if not processes:
                return runtime
            return HybridRuntime([runtime, ProcessRuntime(ImageRegistry(processes),
                                                          settings=settings)])

        return fake

    def process(node_name: str, settings: containers.RuntimeSettings) -> Runtime:
        return ProcessRuntime(ImageRegistry(real_images()), settings=settings)

    return process


def cluster_settings(backend: Backend, base: ClusterSettings | None = None) -> ClusterSettings:
    """`base` (default `ClusterSettings.quick()`) made ready for `backend`.

    Pods' volumes need a directory on disk (a PVC's data under `pvc/<namespace>/<claim>`).
    When the kubelet settings name none, a fresh temporary directory is made for them;
    `start` removes a directory it made this way, a caller of this function removes it
    itself (`settings.kubelet.volumes_dir`).
    """
    settings = base if base is not None else ClusterSettings.quick()
    if settings.kubelet.volumes_dir is None:
        volumes = tempfile.mkdtemp(prefix=f"redisha-volumes-{backend.value}-")
        settings = dataclasses.replace(
            settings, kubelet=dataclasses.replace(settings.kubelet, volumes_dir=volumes))
    return settings


@contextlib.asynccontextmanager
async def start(backend: Backend, settings: ClusterSettings | None = None, *,
                server_settings: ServerSettings | None = None,
                sentinel_settings: SentinelSettings | None = None,
                ) -> AsyncIterator[EmbeddedCluster]:
    """`async with backends.start(Backend.REAL) as cluster:` — a cluster on `backend`.

    Raises `BackendUnavailable` before anything starts when the machine lacks what the
    backend needs: `require`'s checks, then a real attempt at making namespaces (a
    container without CAP_SYS_ADMIN is root yet cannot).
    """
    require(backend)
    if settings is not None and settings.runtime.isolation is not None:
        probed = settings.runtime.isolation
    else:
        probed = await isolation.probe()
    if backend is Backend.REAL and probed.degraded:
        raise BackendUnavailable(f"the real backend cannot isolate its pods: {probed.detail}")
    ready = cluster_settings(backend, settings)
    # The probe just made serves every node's runtime (the cluster would probe again).
    ready = dataclasses.replace(ready, runtime=dataclasses.replace(ready.runtime,
                                                                   isolation=probed))
    made = settings is None or settings.kubelet.volumes_dir is None
    try:
        async with start_cluster(ready, runtime_factory=runtime_factory(
                backend, server_settings=server_settings,
                sentinel_settings=sentinel_settings)) as cluster:
            yield cluster
    finally:
        if made and ready.kubelet.volumes_dir:
            shutil.rmtree(ready.kubelet.volumes_dir, ignore_errors=True)


__all__ = ["Backend", "BackendUnavailable", "cluster_settings", "fake_images",
           "fake_process_images", "real_images", "require", "runtime_factory", "start"]
