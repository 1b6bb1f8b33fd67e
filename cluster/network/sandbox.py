"""A pod's sandbox: its address, name resolution and connections (`runtime.base.PodSandbox`).

The cluster network creates one per pod. Fake images use it directly (`open_connection`,
`start_server`, `resolve`); the process runtime hands real processes its IP, its hosts
file and its resolv.conf (which names the cluster DNS server). Every connection made or accepted here is a real loopback TCP connection bound to the
pod's IP — so the peer sees who is calling, and partitions can tell the sides apart — with
gated streams on top that stall under partitions and freezes (`cluster.network.streams`).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import weakref
from typing import Any

from cluster.network import hosts
from cluster.network.dns import DNSTable, is_ip
from cluster.network.faults import Faults
from cluster.network.resolv import DNSConfig
from cluster.network.streams import (
    STREAM_LIMIT,
    Gate,
    GatedServerProtocol,
    GatedStreamReader,
    GatedStreamWriter,
    StreamHandler,
)

log = logging.getLogger(__name__)


class Sandbox:
    """One pod's network identity; implements `cluster.runtime.base.PodSandbox`."""

    def __init__(self, *, uid: str, name: str, namespace: str, hostname: str, subdomain: str,
                 ip: str, dns: DNSTable, faults: Faults, hosts_path: str,
                 resolv_path: str | None = None, dns_config: DNSConfig | None = None,
                 names_in_hosts: bool = True) -> None:
        """`dns_config` (written to `resolv_path`) is what the pod's real processes resolve
        with; None leaves them the machine's resolv.conf. `names_in_hosts` lists the
        namespace's cluster names in the hosts file too — for clusters without a DNS
        server, where the hosts file is all a real process has."""
        self.uid = uid
        self.name = name
        self._namespace = namespace
        self._hostname = hostname
        self.subdomain = subdomain
        self._ip = ip
        self._dns = dns
        self._faults = faults
        self._hosts_path = hosts_path
        self._hosts_written: str | None = None
        """Last content written; None until someone asked for the hosts file."""
        self._resolv_path = resolv_path
        self._dns_config = dns_config if resolv_path is not None else None
        self._resolv_written = False
        self._names_in_hosts = names_in_hosts
        self._servers: list[asyncio.base_events.Server] = []
        self._transports: weakref.WeakSet[asyncio.Transport] = weakref.WeakSet()
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: set[GatedStreamWriter] = set()
        self._destroyed = False

    def __repr__(self) -> str:
        return f"<Sandbox {self._namespace}/{self.name} {self._ip}>"

    # -- identity --------------------------------------------------------------------------

    @property
    def ip(self) -> str:
        return self._ip

    @property
    def hostname(self) -> str:
        return self._hostname

    @property
    def namespace(self) -> str:
        return self._namespace

    @property
    def fqdn(self) -> str | None:
        """`<hostname>.<subdomain>.<ns>.svc.<domain>` when the pod has a subdomain."""
        if not self.subdomain:
            return None
        return self._dns.pod_fqdn(self._hostname, self.subdomain, self._namespace)

    @property
    def frozen(self) -> bool:
        return self._faults.is_frozen(self._ip)

    @property
    def destroyed(self) -> bool:
        return self._destroyed

    # -- names -----------------------------------------------------------------------------

    def resolve(self, host: str) -> str | None:
        """Cluster DNS from this pod; `localhost` and the pod's own names are its own IP."""
        name = host.strip().lower().rstrip(".")
        if is_ip(name):
            return name
        if name in ("localhost", self._hostname) or name == self.fqdn:
            return self._ip
        return self._dns.resolve(host.strip(), self._namespace)

    @property
    def hosts_file(self) -> str | None:
        """This pod's /etc/hosts, written on first use and kept current from then on."""
        if self._destroyed:
            return None
        if self._hosts_written is None:
            self.refresh_hosts(force=True)
        return self._hosts_path

    def hosts_content(self) -> str:
        own = (self.fqdn, self._hostname) if self.subdomain else (self._hostname,)
        entries = self._dns.namespace_entries(self._namespace) if self._names_in_hosts else ()
        return hosts.render_hosts(self._ip, tuple(n for n in own if n), entries)

    def refresh_hosts(self, *, force: bool = False) -> bool:
        """Rewrite the hosts file if it is in use and its content changed; True if written.
        (Without cluster names in it, the content never changes after the first write.)"""
        if self._destroyed or (self._hosts_written is None and not force):
            return False
        if self._hosts_written is not None and not self._names_in_hosts:
            return False
        content = self.hosts_content()
        if content == self._hosts_written:
            return False
        hosts.write_in_place(self._hosts_path, content)
        self._hosts_written = content
        return True

    @property
    def dns_config(self) -> DNSConfig | None:
        """The pod's resolver configuration; None when it uses the machine's."""
        return self._dns_config

    @property
    def resolv_conf(self) -> str | None:
        """This pod's /etc/resolv.conf (written on first use); None when the pod uses the
        machine's own (dnsPolicy Default, or no cluster DNS server)."""
        if self._destroyed or self._dns_config is None or self._resolv_path is None:
            return None
        if not self._resolv_written:
            hosts.write_in_place(self._resolv_path, self._dns_config.render())
            self._resolv_written = True
        return self._resolv_path

    # -- connections -----------------------------------------------------------------------

    async def open_connection(self, host: str, port: int
                              ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect from this pod's IP; hangs (does not fail) across a partition or while
        frozen; `socket.gaierror` for a name that does not resolve."""
        ip = self.resolve(host)
        if ip is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        self._check_alive()
        gate = Gate(self._faults, self._ip, ip)
        await gate.wait_open()
        self._check_alive()
        loop = asyncio.get_running_loop()
        reader = GatedStreamReader(limit=STREAM_LIMIT, loop=loop)
        reader.gate = gate
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        transport, _ = await loop.create_connection(lambda: protocol, ip, port,
                                                    local_addr=(self._ip, 0))
        if self._destroyed:
            transport.abort()
            raise ConnectionAbortedError(errno.ECONNABORTED, "pod sandbox destroyed")
        self._transports.add(transport)
        writer = GatedStreamWriter(transport, protocol, reader, loop, gate=gate,
                                   on_hold=self._held.add)
        return reader, writer

    async def start_server(self, handler: StreamHandler, port: int) -> Any:
        """Listen on this pod's IP and `port`; returns the `asyncio.Server`."""
        self._check_alive()
        loop = asyncio.get_running_loop()

        def factory() -> GatedServerProtocol:
            return GatedServerProtocol(faults=self._faults, local_ip=self._ip, handler=handler,
                                       on_connection=self._accepted, on_hold=self._held.add,
                                       loop=loop)

        server = await loop.create_server(factory, self._ip, port, reuse_address=True)
        if self._destroyed:
            server.close()
            raise ConnectionAbortedError(errno.ECONNABORTED, "pod sandbox destroyed")
        self._servers.append(server)
        return server

    def _accepted(self, transport: asyncio.Transport, writer: GatedStreamWriter,
                  task: asyncio.Task[None]) -> None:
        if self._destroyed:
            task.cancel()
            transport.abort()
            return
        self._transports.add(transport)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _check_alive(self) -> None:
        if self._destroyed:
            raise OSError(errno.ENETDOWN, f"pod sandbox {self.name} was destroyed")

    # -- faults ----------------------------------------------------------------------------

    def set_frozen(self, frozen: bool) -> None:
        """Stall (or resume) every in-process connection of this pod."""
        if not self._destroyed:
            self._faults.set_frozen(self._ip, frozen)

    def flush_held(self) -> None:
        """Send writes held back by a fault that has just been lifted."""
        for writer in list(self._held):
            writer.flush()
            if not writer.holding:
                self._held.discard(writer)

    # -- teardown --------------------------------------------------------------------------

    def destroy(self) -> None:
        """Close the pod's listeners and connections; forget its faults and remove its
        hosts file and resolv.conf."""
        if self._destroyed:
            return
        self._destroyed = True
        for server in self._servers:
            server.close()
        self._servers.clear()
        for transport in list(self._transports):
            transport.abort()
        for task in list(self._tasks):
            task.cancel()
        self._held.clear()
        self._faults.set_frozen(self._ip, False)
        written = [self._hosts_path] if self._hosts_written is not None else []
        if self._resolv_written and self._resolv_path is not None:
            written.append(self._resolv_path)
        for path in written:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
