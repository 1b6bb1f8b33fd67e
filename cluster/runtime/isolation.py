"""What a container sees of the machine, and the Linux namespaces that make it so.

With namespaces (root, `unshare` works; probed once per runtime by `probe`):

- **hostname**: the pod's (`sandbox.hostname`), in a UTS namespace of its own, so
  `hostname` prints `web-0`; `$HOSTNAME` says the same.
- **/tmp**: a private, writable directory — on the host, `<state>/containers/<id>/tmp`,
  so the runtime and the fake programs read the same files — bind-mounted over /tmp in a
  mount namespace of its own. Each container attempt starts with an empty /tmp.
- **/etc/hosts** and **/etc/resolv.conf**: the sandbox's `hosts_file` (the pod's own
  names) and `resolv_conf` (the cluster DNS server and the pod's search list), bind-
  mounted, so real programs resolve cluster names as in a pod. The network must rewrite
  those files in place: a bind mount pins the inode, so a file renamed over it would not
  be seen.
- **volumes** (`base.Mount`): bind-mounted at their container paths (read-only when asked).
  A mount point missing on the host is created there (an empty directory or file) and
  removed again when the runtime closes.
- everything else is the host's own filesystem, processes and network: no pid, network
  or user namespace, no root filesystem of the image.

Fake programs running in-process see the same paths through `ContainerView.host_path`;
a container that runs only in-process programs also gets a private "writable layer" for
every other path, since nothing real has to agree with it.

Without namespaces (degraded, and reported by `base.Isolation`): real processes share the
host's `/tmp`, `/etc/hosts`, `/etc/resolv.conf` and hostname; they get `TMPDIR=<private dir>` and
`HOSTNAME=<pod>`, and a `hostname` command that prints `$HOSTNAME`; volumes are seen by
in-process programs only.

Processes exec'd into a running container enter its namespaces with `nsenter`.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import shlex
import shutil
from dataclasses import dataclass

from cluster.runtime import base

TMP = "/tmp"
HOSTS = "/etc/hosts"
RESOLV_CONF = "/etc/resolv.conf"

UNSHARE = ("unshare", "--mount", "--uts", "--propagation", "private", "--")
SHELL = "/bin/sh"

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


async def probe() -> base.Isolation:
    """Whether this process can give containers mount and UTS namespaces."""
    if os.geteuid() != 0:
        return _degraded("the runtime is not running as root")
    for tool in ("unshare", "nsenter", "mount"):
        if shutil.which(tool) is None:
            return _degraded(f"{tool!r} is not installed")
    script = f"printf probe > /proc/sys/kernel/hostname && mount -t tmpfs tmpfs {TMP}"
    try:
        proc = await asyncio.create_subprocess_exec(
            *UNSHARE, SHELL, "-c", script, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
    except OSError as exc:
        return _degraded(f"unshare failed: {exc}")
    if proc.returncode != 0:
        reason = err.decode(errors="replace").strip().splitlines()
        return _degraded(f"unshare failed: {reason[-1] if reason else proc.returncode}")
    return base.Isolation(namespaces=True)


def _degraded(reason: str) -> base.Isolation:
    return base.Isolation(
        namespaces=False,
        detail=(f"Container isolation is degraded: Linux mount/UTS namespaces are unavailable "
                f"({reason}); containers share the host's /tmp and hostname and get TMPDIR "
                f"and HOSTNAME of their own instead"))


@dataclass(frozen=True)
class ContainerView:
    """How one container's paths map onto the host (see the module docstring)."""

    hostname: str
    tmp_dir: str
    """The host directory this container sees as /tmp."""
    mounts: tuple[base.Mount, ...] = ()
    hosts_file: str | None = None
    private: bool = True
    """False for real processes without namespaces: they see the host's /tmp and /etc/hosts."""
    resolv_conf: str | None = None
    """The pod's resolv.conf; None = the host's."""
    rootfs: str | None = None
    """Host directory holding every other path (in-process-only containers); None = the
    host's own paths."""

    def host_path(self, path: str, cwd: str = "/") -> str:
        """The host path behind `path` as this container sees it (relative to `cwd`)."""
        full = posixpath.normpath(posixpath.join(cwd or "/", path))
        if full.startswith("//"):
            full = "/" + full.lstrip("/")
        for mount in sorted(self.mounts, key=lambda m: len(m.container_path), reverse=True):
            rest = _under(full, mount.container_path)
            if rest is not None:
                return posixpath.join(mount.host_path, rest) if rest else mount.host_path
        if self.private:
            if full == HOSTS and self.hosts_file:
                return self.hosts_file
            if full == RESOLV_CONF and self.resolv_conf:
                return self.resolv_conf
            rest = _under(full, TMP)
            if rest is not None:
                return posixpath.join(self.tmp_dir, rest) if rest else self.tmp_dir
        if self.rootfs is not None:
            return posixpath.join(self.rootfs, full.lstrip("/"))
        return full

    def is_private(self, host_path: str) -> bool:
        """Whether `host_path` is this container's own (so it may create directories there)."""
        return any(_under(host_path, root) is not None
                   for root in (self.tmp_dir, self.rootfs) if root)


def _under(path: str, root: str) -> str | None:
    """`path` relative to `root` ('' for root itself), or None when outside it."""
    root = root.rstrip("/") or "/"
    if path == root:
        return ""
    prefix = root if root == "/" else root + "/"
    return path[len(prefix):] if path.startswith(prefix) else None


def visible_path(host_path: str, view: ContainerView) -> str:
    """A path naming `host_path` from inside the container's mount namespace.

    The runtime's own files (the shim programs, an image's binaries) may live under a /tmp
    that the container's private /tmp hides; `/proc/<runtime pid>/root` reaches them
    through the runtime's mount namespace instead.
    """
    shadows = [TMP, *(m.container_path for m in view.mounts)]
    if any(_under(host_path, root) is not None for root in shadows):
        return f"/proc/{os.getpid()}/root{host_path}"
    return host_path


def prepare_host(view: ContainerView) -> list[str]:
    """Create the container's /tmp and the mount points its volumes need on the host.

    Returns the mount points created outside the container's own directories, for the
    runtime to remove when it closes.
    """
    os.makedirs(view.tmp_dir, mode=0o1777, exist_ok=True)
    os.chmod(view.tmp_dir, 0o1777)
    created: list[str] = []
    for mount in view.mounts:
        if _under(mount.container_path, TMP) is not None:
            continue  # made inside the private /tmp by the launch script
        target = mount.container_path
        if os.path.lexists(target):
            continue
        parent = posixpath.dirname(target)
        missing = []
        while parent != "/" and not os.path.lexists(parent):
            missing.append(parent)
            parent = posixpath.dirname(parent)
        for directory in reversed(missing):
            os.mkdir(directory)
            created.append(directory)
        if os.path.isdir(mount.host_path):
            os.mkdir(target)
        else:
            open(target, "a").close()
        created.append(target)
    return created


def launch_argv(view: ContainerView, argv: list[str] | tuple[str, ...], *,
                workdir: str) -> list[str]:
    """`argv` in new mount and UTS namespaces set up as `view` says, from `workdir`.

    A POSIX sh sets the namespaces up and then execs the command, so the command keeps
    the pid the runtime started (and signals reach it directly).
    """
    q = shlex.quote
    steps = ["set -e", f"printf %s {q(view.hostname)} > /proc/sys/kernel/hostname"]
    if view.hosts_file and os.path.exists(view.hosts_file):
        steps.append(f"mount --bind {q(view.hosts_file)} {HOSTS}")
    if view.resolv_conf and os.path.exists(view.resolv_conf):
        # A host without the file (or with a dangling symlink there) keeps its resolver.
        steps.append(f"if [ -e {RESOLV_CONF} ]; then "
                     f"mount --bind {q(view.resolv_conf)} {RESOLV_CONF}; fi")
    for mount in view.mounts:
        rest = _under(mount.container_path, TMP)
        target = mount.container_path if rest is None else posixpath.join(view.tmp_dir, rest)
        if rest is not None:
            make = "mkdir -p" if os.path.isdir(mount.host_path) else "touch"
            steps.append(f"mkdir -p {q(posixpath.dirname(target))}; {make} {q(target)}")
        steps.append(f"mount --bind {q(mount.host_path)} {q(target)}")
        if mount.read_only:
            steps.append(f"mount -o remount,bind,ro {q(target)}")
    steps.append(f"mount --rbind {q(view.tmp_dir)} {TMP}")
    steps.append(f"cd {q(workdir)} || {{ echo {q(_chdir_error(workdir))} >&2; exit 128; }}")
    steps.append('exec "$@"')
    return [*UNSHARE, SHELL, "-c", "\n".join(steps), "sh", *argv]


def enter_argv(pid: int, argv: list[str] | tuple[str, ...], *, workdir: str) -> list[str]:
    """`argv` inside the mount and UTS namespaces of process `pid`, from `workdir`."""
    return ["nsenter", "--target", str(pid), "--mount", "--uts", f"--wdns={workdir}",
            "--", *argv]


def _chdir_error(workdir: str) -> str:
    return f'chdir to cwd ("{workdir}") set in config.json failed: no such file or directory'


def degraded_workdir(view: ContainerView, workdir: str) -> str:
    """Where a real process starts without namespaces: the directory itself if it exists
    on the host, else the container's private /tmp."""
    return workdir if os.path.isdir(workdir) else view.tmp_dir


HOSTNAME_SHIM = '#!/bin/sh\nprintf "%s\\n" "$HOSTNAME"\n'
"""Without a UTS namespace, `hostname` on a container's PATH prints the pod's name."""


def install_hostname_shim(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "hostname")
    with open(path, "w") as f:
        f.write(HOSTNAME_SHIM)
    os.chmod(path, 0o755)
