"""Per-pod hosts files, as the kubelet manages a pod's /etc/hosts.

The runtime bind-mounts a pod's hosts file over `/etc/hosts` in the container's mount
namespace (the machine's own /etc/hosts is never edited). The content is the kubelet's:
the localhost and IPv6 lines, then the pod's own IP with its FQDN (when it has a subdomain)
and hostname. Every other cluster name comes from the cluster DNS server through the pod's
resolv.conf, so a name that does not exist yet fails as it does in Kubernetes.

`localhost` maps to the pod's own IP: a pod's servers listen on its address, so `redis-cli
-h localhost` inside the pod must reach them there, as it would in a pod's own network
namespace.

Only when the cluster runs no DNS server (not root, or turned off) does the file also list
the cluster names of the pod's namespace, with the short forms its search list would reach
(a hosts file has no search list); the network then keeps it current. Because a bind mount
pins the inode, the file is rewritten in place — same inode, new content, truncated after —
never replaced by a rename.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from cluster.network.dns import HostsEntry

HEADER = "# Kubernetes-managed hosts file (redisha cluster DNS; rewritten in place).\n"


def render_hosts(pod_ip: str, own_names: tuple[str, ...],
                 entries: Iterable[HostsEntry] = ()) -> str:
    lines = [HEADER.rstrip("\n"),
             f"{pod_ip}\tlocalhost",
             "::1\tip6-localhost ip6-loopback",
             "fe00::0\tip6-localnet",
             "fe00::0\tip6-mcastprefix",
             "fe00::1\tip6-allnodes",
             "fe00::2\tip6-allrouters",
             f"{pod_ip}\t{' '.join(own_names)}"]
    lines += [entry.render() for entry in entries]
    return "\n".join(lines) + "\n"


def write_in_place(path: str, content: str) -> None:
    """Overwrite `path`'s content keeping its inode (bind mounts of it see the change)."""
    data = content.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
