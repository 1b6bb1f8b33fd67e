"""What a container sees: path mapping, namespaces, the degraded fallback."""

from __future__ import annotations

import asyncio
import os

import pytest

from cluster.runtime import base, isolation

VIEW = isolation.ContainerView(
    hostname="web-0", tmp_dir="/state/c1/tmp", hosts_file="/net/web-0.hosts",
    resolv_conf="/net/web-0.resolv.conf",
    mounts=(base.Mount("/vols/data", "/data"), base.Mount("/vols/deep", "/data/deep"),
            base.Mount("/vols/scratch", "/tmp/scratch")))

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root")


@pytest.mark.parametrize("path, cwd, host", [
    pytest.param("/tmp/redis.conf", "/", "/state/c1/tmp/redis.conf", id="private-tmp"),
    pytest.param("/tmp", "/", "/state/c1/tmp", id="tmp-itself"),
    pytest.param("redis.conf", "/tmp", "/state/c1/tmp/redis.conf", id="relative"),
    pytest.param("/data/dump.rdb", "/", "/vols/data/dump.rdb", id="volume"),
    pytest.param("/data/deep/x", "/", "/vols/deep/x", id="nested-volume-wins"),
    pytest.param("/tmp/scratch/a", "/", "/vols/scratch/a", id="volume-under-tmp"),
    pytest.param("/etc/hosts", "/", "/net/web-0.hosts", id="hosts"),
    pytest.param("/etc/resolv.conf", "/", "/net/web-0.resolv.conf", id="resolv-conf"),
    pytest.param("/etc/passwd", "/", "/etc/passwd", id="host-path"),
    pytest.param("/tmpfoo", "/", "/tmpfoo", id="not-tmp-prefix"),
    pytest.param("/tmp/../etc/x", "/", "/etc/x", id="dotdot"),
])
def test_host_path(path: str, cwd: str, host: str) -> None:
    """Container paths map to the container's own host directories."""
    assert VIEW.host_path(path, cwd) == host


def test_degraded_view_shares_the_hosts_tmp() -> None:
    """Without namespaces a real process's /tmp is the host's, so the mapping agrees."""
    view = isolation.ContainerView(hostname="web-0", tmp_dir="/state/c1/tmp", private=False)
    assert view.host_path("/tmp/x") == "/tmp/x"


def test_runtime_files_under_tmp_are_reached_through_proc_root() -> None:
    """A runtime directory hidden by the private /tmp is named via /proc/<pid>/root."""
    assert isolation.visible_path("/tmp/state/shims", VIEW) == \
        f"/proc/{os.getpid()}/root/tmp/state/shims"
    assert isolation.visible_path("/var/lib/shims", VIEW) == "/var/lib/shims"


@needs_root
async def test_probe_finds_namespaces_as_root() -> None:
    """As root with unshare installed, the probe reports full isolation."""
    assert await isolation.probe() == base.Isolation(namespaces=True)


@needs_root
async def test_launch_gives_hostname_private_tmp_and_volumes(tmp_path) -> None:
    """A launched command sees the pod's hostname, /etc/hosts, /etc/resolv.conf, its own
    /tmp and its volumes."""
    volume = tmp_path / "vol"
    volume.mkdir()
    (volume / "f").write_text("from the volume\n")
    hosts = tmp_path / "hosts"
    hosts.write_text("10.0.0.1 web-0.web\n")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.3.0.10\n")
    view = isolation.ContainerView(hostname="web-7", tmp_dir=str(tmp_path / "ctmp"),
                                   hosts_file=str(hosts), resolv_conf=str(resolv),
                                   mounts=(base.Mount(str(volume), "/tmp/vol", read_only=True),))
    isolation.prepare_host(view)
    script = ("hostname; echo mine > /tmp/own; cat /tmp/vol/f; cat /etc/hosts; "
              "cat /etc/resolv.conf; pwd; touch /tmp/vol/g 2>/dev/null || echo read-only")
    argv = isolation.launch_argv(view, ["sh", "-c", script], workdir="/tmp")
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    assert out.decode().splitlines() == ["web-7", "from the volume", "10.0.0.1 web-0.web",
                                         "nameserver 127.3.0.10", "/tmp", "read-only"]
    assert (tmp_path / "ctmp" / "own").read_text() == "mine\n"
    assert not os.path.exists("/tmp/own")
