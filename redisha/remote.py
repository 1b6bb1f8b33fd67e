"""Attaching to a cluster over HTTP: `redisha dashboard --kubeconfig`, `redisha operator`
and `redisha kubectl`.

Each of them holds a `cluster.client.Client` and nothing of the engine, so over an
`HTTPClient` they work against `redisha serve` (and, as far as the API goes, any
Kubernetes API server) exactly as they do embedded. What this module adds is the part a
user sees: which kubeconfig, one line when it cannot be used or the server does not
answer, and running the operator alone until it is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from cluster.api import errors
from cluster.http import kubeconfig as kubeconfig_mod
from cluster.http.client import HTTPClient, ServerUnreachable
from cluster.informer import InformerFactory


def default_kubeconfig() -> Path:
    """Where `redisha serve` writes its kubeconfig by default."""
    return Path.home() / ".redisha" / "kubeconfig"


class RemoteError(Exception):
    """The cluster cannot be reached or its kubeconfig used; `str()` is one line."""


@dataclass(frozen=True)
class RemoteTarget:
    """A cluster to attach to: a kubeconfig, and optionally another server URL."""

    kubeconfig: Path
    server: str | None = None
    """Overrides the kubeconfig's server (its credentials still apply)."""


@contextlib.asynccontextmanager
async def connect(target: RemoteTarget) -> AsyncIterator[HTTPClient]:
    """An `HTTPClient` for `target`, checked by asking the server's `/version` first, so a
    wrong file, URL or token is one line here rather than a failure deep in a caller."""
    if not target.kubeconfig.exists():
        raise RemoteError(f"no kubeconfig at {target.kubeconfig} (start `redisha serve`, or "
                          "pass --kubeconfig PATH)")
    try:
        client = HTTPClient.from_kubeconfig(target.kubeconfig, server=target.server)
    except (kubeconfig_mod.KubeConfigError, OSError) as e:
        raise RemoteError(str(e)) from None
    except ValueError as e:
        raise RemoteError(f"{target.kubeconfig}: {e}") from None
    try:
        try:
            await client.version()
        except ServerUnreachable as e:
            raise RemoteError(str(e)) from None  # it names the server already
        except errors.APIError as e:
            raise RemoteError(f"{client.server}: {e}") from None
        yield client
    finally:
        await client.close()


def namespace_of(target: RemoteTarget) -> str:
    """The namespace the kubeconfig's current context names (`default` if none), as
    kubectl takes it."""
    try:
        return kubeconfig_mod.load(target.kubeconfig).namespace or "default"
    except (kubeconfig_mod.KubeConfigError, OSError):
        return "default"


async def run_operator(client: HTTPClient, *, stop: asyncio.Event | None = None) -> int:
    """The RedisFailover operator alone against `client`'s server until `stop` is set
    (None: until SIGINT or SIGTERM); installs the CRD when it is missing."""
    import redisha.operator as rf_operator

    loop = asyncio.get_running_loop()
    own_signals = stop is None
    stop = stop or asyncio.Event()
    if own_signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    informers = InformerFactory(client)
    operator = rf_operator.RedisFailoverOperator(client, informers)
    try:
        try:
            await rf_operator.install(client)
            await operator.start()
            await informers.start()
        except errors.APIError as e:
            raise RemoteError(f"{client.server}: cannot start the operator: {e}") from None
        print(f"redisha operator: reconciling RedisFailovers at {client.server}", flush=True)
        await stop.wait()
        return 0
    finally:
        await operator.stop()
        await informers.stop()
        if own_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)


__all__ = ["RemoteError", "RemoteTarget", "connect", "default_kubeconfig", "namespace_of",
           "run_operator"]
