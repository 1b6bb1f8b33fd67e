"""`redisha serve`: the embedded cluster, headless, behind the Kubernetes API over HTTPS.

The cluster (with the Redis HA demo unless `--no-demo`, exactly as the dashboard starts
it: `redisha.demo.cluster_with_demo`) runs in this process; `cluster.http` serves its API
server on 127.0.0.1:6443 so that the real `kubectl` and the official Python client work
against it through a kubeconfig this command writes. `serving` is the reusable part (tests
put it over any API server); `serve` is the command: it checks what it can before
starting anything, prints where to connect, and runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import os
import signal
import ssl
import sys
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from cluster.apiserver import APIServer
from cluster.http import security
from cluster.http.server import APIHTTPServer
from redisha.backends import Backend

DEFAULT_PORT = 6443
"""kube-apiserver's secure port."""
DEFAULT_HOST = "127.0.0.1"
DEFAULT_NODES = 3
PROG = "redisha serve"


def default_state_dir() -> Path:
    """`~/.redisha`: the credentials and the kubeconfig, kept across runs."""
    return Path.home() / ".redisha"


class ServeError(Exception):
    """The server could not start or publish its kubeconfig; `str()` is one line."""


@dataclass(frozen=True)
class Served:
    """Where a running server is and what a client needs to reach it."""

    url: str
    token: str = field(repr=False)
    ca_pem: bytes = field(repr=False)
    """The certificate clients trust (the server's own; it is self-signed)."""
    kubeconfig: Path


@contextlib.asynccontextmanager
async def serving(api: APIServer, *, state_dir: Path, host: str = DEFAULT_HOST,
                  port: int = 0, kubeconfig: Path | None = None,
                  allow_remote: bool = False) -> AsyncIterator[Served]:
    """Serve `api` over HTTPS on `host:port` (0: any free port) until the block ends.

    The credentials are `state_dir`'s (made on first use); the kubeconfig (default
    `state_dir/kubeconfig`) is written only once the server listens, so a failed start
    leaves no kubeconfig pointing at nothing. Raises `ValueError` for a non-loopback
    `host` without `allow_remote`, `security.CredentialsError` for unusable secret files,
    `OSError` when `state_dir` cannot be written, and `ServeError` when the port cannot be
    bound or the kubeconfig written.
    """
    security.check_listen(host, allow_remote)
    try:
        creds = security.load_or_create(state_dir, hosts=_certified_hosts(host))
        context = security.server_ssl_context(creds, state_dir)
    except (OSError, ssl.SSLError) as e:
        raise ServeError(f"cannot use the credentials in {state_dir}: {_reason(e)}") from None
    server = APIHTTPServer(api, token=creds.token, ssl_context=context)
    try:
        await server.start(host, port)
    except OSError as e:
        raise ServeError(f"cannot listen on {_address(host, port)}: {_reason(e)}") from None
    try:
        url = _client_url(server.url, host)
        path = kubeconfig if kubeconfig is not None else state_dir / security.KUBECONFIG_FILE
        try:
            security.write_kubeconfig(path, server=url, creds=creds)
        except OSError as e:
            raise ServeError(f"cannot write the kubeconfig {path}: {_reason(e)}") from None
        yield Served(url=url, token=creds.token, ca_pem=creds.cert_pem, kubeconfig=path)
    finally:
        await server.stop()


def _certified_hosts(host: str) -> tuple[str, ...]:
    """Names the certificate needs beyond loopback: the listen address, unless loopback."""
    return () if security.is_loopback(host) else (host,)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _client_url(url: str, host: str) -> str:
    """The URL a client on this machine uses: a wildcard listen (0.0.0.0, ::) is reached,
    and named by the certificate, as the matching loopback address."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return url
    if not address.is_unspecified:
        return url
    port = urllib.parse.urlsplit(url).port
    loopback = "127.0.0.1" if address.version == 4 else "[::1]"
    return f"https://{loopback}:{port}"


def _reason(e: OSError) -> str:
    """An OSError as the few words a person needs (asyncio's bind errors are long)."""
    if e.errno == errno.EADDRINUSE:
        return "address already in use (is another server on that port? pick --port)"
    if e.errno:
        return os.strerror(e.errno).lower()
    return str(e)


# -- the command -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ServeOptions:
    """`redisha serve`'s options."""

    listen: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    allow_remote: bool = False
    kubeconfig: Path | None = None
    """None: `state_dir/kubeconfig`."""
    state_dir: Path = field(default_factory=default_state_dir)
    backend: Backend = Backend.FAKE
    nodes: int = DEFAULT_NODES
    demo: bool = True
    """False (`--no-demo`): an empty cluster, no CRD, no operator."""
    operator: bool = True
    """False (`--no-operator`): the demo without its operator, for `redisha operator`."""


async def serve(options: ServeOptions, *, stop: asyncio.Event | None = None,
                out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run `redisha serve` until `stop` is set (None: until SIGINT or SIGTERM).

    Returns 0 after a clean stop, 2 for a listen address refused without
    `--allow-remote`, 1 for anything else that prevents serving (one line on `err`).
    What can be checked before the cluster starts (the address, the credentials) is.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    loop = asyncio.get_running_loop()
    replaced: dict[signal.Signals, object] = {}
    if stop is None:
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            replaced[signum] = signal.getsignal(signum)
            loop.add_signal_handler(signum, stop.set)
    try:
        try:
            security.check_listen(options.listen, options.allow_remote)
        except ValueError as e:
            print(f"{PROG}: {e}", file=err)
            return 2
        try:
            security.load_or_create(options.state_dir, hosts=_certified_hosts(options.listen))
        except security.CredentialsError as e:
            print(f"{PROG}: {e}", file=err)
            return 1
        except OSError as e:
            print(f"{PROG}: cannot keep credentials in {options.state_dir}: {_reason(e)}",
                  file=err)
            return 1
        from redisha import backends, demo  # the dashboard's composition root: on use

        try:
            demo_options = demo.DemoOptions(backend=options.backend, nodes=options.nodes,
                                            demo=options.demo, operator=options.operator)
            async with demo.cluster_with_demo(demo_options) as cluster, serving(
                    cluster.api, state_dir=options.state_dir, host=options.listen,
                    port=options.port, kubeconfig=options.kubeconfig,
                    allow_remote=options.allow_remote) as served:
                print(f"redisha: serving the Kubernetes API at {served.url} "
                      f"(kubeconfig: {served.kubeconfig})", file=out)
                print(f"  kubectl --kubeconfig {served.kubeconfig} get pods", file=out,
                      flush=True)
                await stop.wait()
        except (security.CredentialsError, ServeError, backends.BackendUnavailable) as e:
            print(f"{PROG}: {e}", file=err)
            return 1
        return 0
    finally:
        for signum, previous in replaced.items():
            loop.remove_signal_handler(signum)  # leaves SIG_DFL: put back what was there
            signal.signal(signum, previous)  # type: ignore[arg-type]


def run_serve(options: ServeOptions) -> int:
    """`redisha serve`'s entry from the CLI."""
    return asyncio.run(serve(options))


__all__ = [
    "DEFAULT_PORT",
    "ServeError",
    "ServeOptions",
    "Served",
    "default_state_dir",
    "run_serve",
    "serve",
    "serving",
]
