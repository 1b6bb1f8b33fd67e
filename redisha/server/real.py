"""The real backend's `redis` and `bitnami/redis-sentinel` images: this machine's Redis.

Pods of the process runtime share the host's network: there is no network namespace,
so no per-pod 127.0.0.1. Each pod has an address of its own instead (a loopback address
127.X.Y.Z), and its hosts file, bind-mounted over /etc/hosts, maps the pod's hostname
(and `localhost`) to it. The image's programs are therefore small shell wrappers around
the machine's binaries that first read the pod's address from that file:

- `redis-server [conf-file] [options]` binds to the pod's address only (two pods on one
  node both listen on 6379) and makes its outgoing connections from it
  (`bind-source-addr`, Redis 7), so the cluster network's partitions, which match source
  addresses, cut replication links. As in the official image, protected mode is off
  (a user's option may turn it back on) and the working directory, Redis' default `dir`,
  is /data when a volume is mounted there, else the container's private /tmp: an
  operator mounting its PVC at /data gets its RDB and AOF files there.
- `redis-cli` and `redis-benchmark` connect to the pod's address unless told otherwise
  (`-h`, `-u` or `-s` given by the user come later on the command line, so they win).
- `redis-sentinel CONF [options]` (image `bitnami/redis-sentinel`) is the same
  redis-server wrapper in Sentinel mode, so Sentinel listens on, connects from and
  announces the pod's address (`sentinel_image`).

A binary missing on this machine leaves its program out of the image, so a container
asking for it fails the way runc says it (`executable file not found in $PATH`);
`missing_binaries` and `install_hint` let the composition root refuse up front instead.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Sequence

import redisha
from cluster.runtime.process import ProcessImage

REQUIRED = ("redis-server", "redis-cli")
"""The binaries without which the real backend cannot run the tutorial."""

DEBIAN_PACKAGES = {"redis-server": "redis-server", "redis-cli": "redis-tools",
                   "redis-benchmark": "redis-tools"}
"""Which Debian package ships each binary."""

DATA_DIR = "/data"
"""Where the official image's redis-server works (its WORKDIR), and where operators mount
the PVC."""

_POD_ADDRESS = r"""pod_ip=$(awk -v h="$(uname -n)" '
    $1 !~ /:/ { for (i = 2; i <= NF; i++) if ($i == h) { print $1; exit } }' /etc/hosts)
if [ -z "$pod_ip" ]; then
    echo "{program}: this pod's address is not in /etc/hosts (no line for $(uname -n))" >&2
    exit 1
fi
"""
"""Sets `$pod_ip` from the pod's hosts file, which lists the pod's hostname at its IP."""


def pod_address(program: str) -> str:
    """Shell lines setting `$pod_ip` for a wrapper named `program` (which names itself in
    the error when the pod's address is missing). Other images' wrappers use it too."""
    return _POD_ADDRESS.replace("{program}", program)


def checkout_root() -> str:
    """The directory holding this `redisha` package: Python processes in pods put it first
    on PYTHONPATH, so they run the very code this process runs, installed or not."""
    return os.path.dirname(os.path.dirname(os.path.abspath(redisha.__file__)))


def exec_module(module: str, extra_args: str = "", python: str = sys.executable) -> str:
    """Shell lines ending a wrapper: `python -m module "$@" extra_args` with this checkout
    leading PYTHONPATH (the images of redisha's own programs on the real backend)."""
    return f"""PYTHONPATH={shlex.quote(checkout_root())}${{PYTHONPATH:+:$PYTHONPATH}}
export PYTHONPATH
exec {shlex.quote(python)} -m {module} "$@" {extra_args}
"""


def server_script(binary: str, *, sentinel: bool = False) -> str:
    """The `redis-server` wrapper around `binary` (`sentinel`: the `redis-sentinel` one,
    which is `redis-server CONF --sentinel`, as Debian's redis-sentinel link is)."""
    b = shlex.quote(binary)
    program = "redis-sentinel" if sentinel else "redis-server"
    mode = " --sentinel" if sentinel else ""
    return f"""#!/bin/sh
# {program} of the real backend: {binary}{mode} bound to this pod's address.
case "${{1-}}" in
    -v|--version|-h|--help|--test-memory) exec {b} "$@" ;;
esac
{pod_address(program)}
# A config file's relative path means the directory the user started in (Sentinel
# rewrites its config file in place, so it must name the file the user gave).
case "${{1-}}" in
    ''|-|/*|--*) ;;
    *) first=$1; shift; set -- "$PWD/$first" "$@" ;;
esac
# Redis' default dir is the working directory: /data when a volume is mounted there
# (the official image's WORKDIR), else the container's private /tmp, never the host's /.
if [ "$PWD" = / ]; then
    if mountpoint -q {DATA_DIR}; then cd {DATA_DIR}; else cd /tmp; fi
fi
case "${{1-}}" in
    ''|--*) set -- --protected-mode no "$@" ;;
    *) first=$1; shift; set -- "$first" --protected-mode no "$@" ;;
esac
exec {b} "$@"{mode} --bind "$pod_ip" --bind-source-addr "$pod_ip"
"""


def client_script(program: str, binary: str) -> str:
    """A wrapper making `binary` (redis-cli, redis-benchmark) default to this pod's address."""
    b = shlex.quote(binary)
    return f"""#!/bin/sh
# {program} of the real backend: {binary}, connecting to this pod's address by default.
{pod_address(program)}
exec {b} -h "$pod_ip" "$@"
"""


def missing_binaries(names: Sequence[str] = REQUIRED) -> list[str]:
    """Which of `names` are not on this machine's PATH."""
    return [name for name in names if shutil.which(name) is None]


def install_hint(missing: Sequence[str]) -> str:
    """One line naming what is missing and the Debian packages that ship it."""
    packages = sorted({DEBIAN_PACKAGES.get(name, name) for name in missing})
    what = " and ".join(missing)
    named = " and ".join(packages)
    noun = "package" if len(packages) == 1 else "packages"
    # Debian's redis-server depends on redis-tools; name both, as the apt line will.
    apt = sorted({*packages, "redis-tools"} if "redis-server" in packages else packages)
    return (f"{what} not found on PATH: install Debian's {named} {noun} "
            f"(apt-get install -y {' '.join(apt)})")


def redis_image() -> ProcessImage:
    """The `redis` image: entrypoint `redis-server`, wrappers for the binaries found."""
    scripts: dict[str, str] = {}
    server = shutil.which("redis-server")
    if server is not None:
        scripts["redis-server"] = server_script(server)
    for program in ("redis-cli", "redis-benchmark"):
        binary = shutil.which(program)
        if binary is not None:
            scripts[program] = client_script(program, binary)
    return ProcessImage(name="redis", entrypoint=("redis-server",), scripts=scripts)


SENTINEL_IMAGE = "bitnami/redis-sentinel"
"""The machine's real Redis Sentinel as an image; the built-in Sentinel is `redisha/sentinel`."""


def sentinel_image() -> ProcessImage:
    """The `bitnami/redis-sentinel` image: this machine's Redis Sentinel in pods.

    Entrypoint `redis-sentinel CONF`, which runs `redis-server CONF --sentinel` (Debian's
    redis-sentinel is a link to redis-server, often not installed) bound to the pod's
    address and connecting from it. Sentinel announces, in its hello messages, the local
    address of its link to the primary, which `bind-source-addr` makes the pod's: peers,
    primaries and replicas all see the sentinel at its pod IP, so no `sentinel
    announce-ip` is needed. Sentinel rewrites CONF in place (its state: epochs, the
    replicas and peers it found) and refuses to start when it cannot write it: write it
    into the container's /tmp, not onto a read-only ConfigMap volume. The image also has
    `redis-server` (with `--sentinel`, the same Sentinel) and `redis-cli`.
    """
    scripts: dict[str, str] = {}
    server = shutil.which("redis-server")
    if server is not None:
        scripts["redis-sentinel"] = server_script(server, sentinel=True)
        scripts["redis-server"] = server_script(server)
    cli = shutil.which("redis-cli")
    if cli is not None:
        scripts["redis-cli"] = client_script("redis-cli", cli)
    return ProcessImage(name=SENTINEL_IMAGE, entrypoint=("redis-sentinel",), scripts=scripts)
