"""The service proxy (kube-proxy's role): ClusterIP:port → a ready endpoint, over TCP.

For every Service with a ClusterIP, one listener per TCP port at `<clusterIP>:<port>`. Each
accepted connection is paired with a new connection to a ready endpoint, chosen round-robin
among the Endpoints' ready addresses for the port's name (the endpoints controller has
already resolved `targetPort`). The two are piped at the protocol level: `data_received` on
one side is a `transport.write` on the other, with each side's write-buffer pressure pausing
the other's reads — no coroutine per chunk, so a pipelined `redis-benchmark` through a
Service keeps most of its direct throughput.

- **Endpoints follow.** When an address leaves the ready set (pod deleted, not ready), the
  connections forwarded to it are closed — the client sees EOF and reconnects, reaching a
  ready endpoint. New connections go to the new set at once.
- **No ready endpoint** resets the connection, as kube-proxy's REJECT rule does.
- **Partitions.** The upstream connection is bound to the client's own pod IP, so the
  endpoint sees the real client (kube-proxy does not SNAT pod traffic either) and the
  kernel's partition rules apply to the forwarded leg. In-process, a pipe whose client and
  endpoint are on opposite sides of a partition stalls both ways; a new one is accepted
  but connects upstream only after healing — the client's connect succeeds (the proxy
  holds the socket), then its traffic hangs: it never fails fast.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cluster.network.faults import Faults

log = logging.getLogger(__name__)

ServiceKey = tuple[str, str]
"""(namespace, name) of a Service."""


@dataclass(frozen=True, slots=True)
class Backend:
    """One ready endpoint address for a service port."""

    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class ProxySettings:
    """Tuning for the forwarding path."""

    write_buffer_high: int = 1 << 20
    """Bytes buffered towards one side before reads from the other pause (asyncio's
    default of 64 KiB stalls pipelined traffic more often than needed)."""

    read_buffer: int = 256 * 1024
    """Bytes read from a socket at once, into a buffer shared by all connections."""

    bind_retry_delay: float = 1.0
    """Seconds before retrying a listener whose address could not be bound."""


def desired_ports(service: dict[str, Any] | None) -> dict[int, str]:
    """The TCP ports a Service needs listeners for: port number → port name."""
    if service is None:
        return {}
    spec = service.get("spec") or {}
    if spec.get("clusterIP") in (None, "", "None"):
        return {}
    if spec.get("type") == "ExternalName":
        return {}
    ports: dict[int, str] = {}
    for port in spec.get("ports") or ():
        if (port.get("protocol") or "TCP") == "TCP" and port.get("port"):
            ports[int(port["port"])] = port.get("name") or ""
    return ports


def ready_backends(endpoints: dict[str, Any] | None, port_name: str) -> list[Backend]:
    """Ready addresses × the endpoint port named like the service port, in order."""
    if not endpoints:
        return []
    found: list[Backend] = []
    for subset in endpoints.get("subsets") or ():
        for port in subset.get("ports") or ():
            if (port.get("name") or "") != port_name or (port.get("protocol") or "TCP") != "TCP":
                continue
            for address in subset.get("addresses") or ():
                if address.get("ip") and port.get("port"):
                    found.append(Backend(address["ip"], int(port["port"])))
    return found


class ReadBuffer:
    """The one buffer every proxied socket of a loop reads into (see `_Side`)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.view = memoryview(bytearray(size))

    def renew(self) -> None:
        """Start a fresh buffer; the old one stays with whoever still refers to it."""
        self.view = memoryview(bytearray(self.size))


class _Side(asyncio.BufferedProtocol):
    """One end of a pipe: the accepted client connection, or the one to the endpoint.

    A buffered protocol: the transport reads straight into the proxy's one read buffer,
    whose bytes go out by `transport.write` before the next read (it copies only what the
    socket did not take), so forwarding allocates nothing per chunk and one buffer serves
    every connection of the loop.
    """

    __slots__ = ("eof", "pauses", "pipe", "transport")

    def __init__(self, pipe: _Pipe) -> None:
        self.pipe = pipe
        self.transport: asyncio.Transport | None = None
        self.pauses: set[str] = set()
        self.eof = False

    def pause(self, why: str) -> None:
        if not self.pauses and self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
        self.pauses.add(why)

    def resume(self, why: str) -> None:
        if why not in self.pauses:
            return
        self.pauses.discard(why)
        if not self.pauses and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=self.pipe.port.settings.write_buffer_high)
        if self.pauses:
            transport.pause_reading()
        self.pipe.side_made(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.pipe.port.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.pipe.forward(self, self.pipe.port.read_buffer[:nbytes])

    def eof_received(self) -> bool:
        self.pipe.forward_eof(self)
        return True

    def pause_writing(self) -> None:
        self.pipe.other(self).pause("flow")

    def resume_writing(self) -> None:
        self.pipe.other(self).resume("flow")

    def connection_lost(self, exc: Exception | None) -> None:
        self.pipe.side_lost(self)


class _Pipe:
    """An accepted client connection forwarded to one backend."""

    def __init__(self, port: ServicePort, backend: Backend) -> None:
        self.port = port
        self.backend = backend
        self.client = _Side(self)
        self.upstream = _Side(self)
        self.client_ip = ""
        self.gated = False
        self.closed = False
        self._held: dict[_Side, list[bytes]] = {}
        self._connect: asyncio.Task[None] | None = None

    def other(self, side: _Side) -> _Side:
        return self.upstream if side is self.client else self.client

    # -- lifecycle ----------------------------------------------------------------------------

    def side_made(self, side: _Side) -> None:
        if side is self.client:
            assert side.transport is not None
            peer = side.transport.get_extra_info("peername")
            self.client_ip = peer[0] if peer else ""
            self.client.pause("connecting")
            self.port.adopt(self)
            if self.closed:
                return
            self._connect = asyncio.get_running_loop().create_task(
                self._open_upstream(), name=f"proxy {self.port} -> {self.backend}")
        elif self.closed:
            assert side.transport is not None
            side.transport.abort()
        else:
            self.refresh()
            self.client.resume("connecting")

    async def _open_upstream(self) -> None:
        faults = self.port.faults
        await faults.wait_for(lambda: not faults.separated(self.client_ip, self.backend.ip))
        loop = asyncio.get_running_loop()
        local = (self.client_ip, 0) if self.port.bind_source(self.client_ip) else None
        try:
            try:
                await loop.create_connection(lambda: self.upstream, self.backend.ip,
                                             self.backend.port, local_addr=local)
            except OSError:
                if local is None:
                    raise
                await loop.create_connection(lambda: self.upstream, self.backend.ip,
                                             self.backend.port)
        except OSError as exc:
            log.debug("proxy %s: connecting to %s failed: %s", self.port, self.backend, exc)
            self.close(reset=True)

    def side_lost(self, side: _Side) -> None:
        side.transport = None
        self.close(abort_upstream=False)

    def close(self, *, reset: bool = False, abort_upstream: bool = True) -> None:
        """Close both sides. The client gets EOF after what was forwarded to it, or a reset
        (`reset`); the upstream connection is dropped at once unless this is the ordinary
        end of the pipe (`abort_upstream=False`), when what the client sent is delivered
        first."""
        if self.closed:
            return
        self.closed = True
        self._held.clear()
        if self._connect is not None and not self._connect.done():
            self._connect.cancel()
        upstream, client = self.upstream.transport, self.client.transport
        if upstream is not None:
            if abort_upstream:
                upstream.abort()
            else:
                upstream.close()
        if client is not None:
            if reset:
                client.abort()
            else:
                client.close()
        self.port.release(self)

    # -- forwarding -----------------------------------------------------------------------------

    def forward(self, side: _Side, data: memoryview) -> None:
        target = self.other(side).transport
        if self.gated or target is None or self._held.get(side):
            self._held.setdefault(side, []).append(bytes(data))
            side.pause("held")
            return
        if target.get_write_buffer_size():
            target.write(bytes(data))  # queued behind earlier bytes: must not alias the buffer
            return
        target.write(data)
        if target.get_write_buffer_size():
            # The socket took only part; some Python versions queue the rest as a view of
            # the shared buffer, so the next read must not overwrite it.
            self.port.renew_read_buffer()

    def forward_eof(self, side: _Side) -> None:
        side.eof = True
        if self.gated or self._held.get(side):
            return  # sent by `refresh` after the held data
        self._send_eof(side)

    def _send_eof(self, side: _Side) -> None:
        other = self.other(side)
        if other.eof:
            self.close(abort_upstream=False)
            return
        target = other.transport
        if target is not None and target.can_write_eof() and not target.is_closing():
            target.write_eof()

    def refresh(self) -> None:
        """Re-check the partition between client and backend; stall or resume."""
        if self.closed:
            return
        gated = self.port.faults.separated(self.client_ip, self.backend.ip)
        if gated:
            if not self.gated:
                self.gated = True
                self.client.pause("gate")
                self.upstream.pause("gate")
            return
        self.gated = False
        for side in (self.client, self.upstream):
            target = self.other(side).transport
            held = self._held.pop(side, None)
            if held and target is not None:
                target.writelines(held)
            elif held:
                self._held[side] = held
                continue
            side.resume("held")
            side.resume("gate")
            if side.eof and target is not None:
                self._send_eof(side)
                if self.closed:
                    return


class ServicePort:
    """One listener `<clusterIP>:<port>` of a Service and the connections it forwards."""

    def __init__(self, *, service: ServiceKey, cluster_ip: str, port: int, name: str,
                 faults: Faults, settings: ProxySettings,
                 bind_source: Callable[[str], bool], buffers: ReadBuffer) -> None:
        self.service = service
        self._buffers = buffers
        self.cluster_ip = cluster_ip
        self.port = port
        self.name = name
        self.faults = faults
        self.settings = settings
        self.bind_source = bind_source
        self.backends: list[Backend] = []
        self.server: asyncio.base_events.Server | None = None
        self.closed = False
        self.pipes: dict[Backend, set[_Pipe]] = {}
        self._next = 0

    def __str__(self) -> str:
        return f"{self.service[0]}/{self.service[1]}:{self.port}"

    @property
    def read_buffer(self) -> memoryview:
        return self._buffers.view

    def renew_read_buffer(self) -> None:
        self._buffers.renew()

    @property
    def listening(self) -> bool:
        return self.server is not None and not self.closed

    def connection_count(self, backend: Backend | None = None) -> int:
        if backend is not None:
            return len(self.pipes.get(backend, ()))
        return sum(len(p) for p in self.pipes.values())

    def set_backends(self, backends: list[Backend]) -> None:
        """Adopt a new ready set; connections to backends that left are closed."""
        self.backends = backends
        keep = set(backends)
        for backend in [b for b in self.pipes if b not in keep]:
            for pipe in list(self.pipes.get(backend, ())):
                pipe.close()
            self.pipes.pop(backend, None)

    def pick(self) -> Backend | None:
        if not self.backends:
            return None
        self._next %= len(self.backends)
        backend = self.backends[self._next]
        self._next += 1
        return backend

    def accept(self) -> asyncio.BaseProtocol:
        """Protocol factory for the listener: a client side paired with a chosen backend."""
        backend = self.pick()
        pipe = _Pipe(self, backend if backend is not None else Backend("", 0))
        if backend is None or self.closed:
            pipe.closed = True  # `side_made` sees it and the connection is reset
        return pipe.client

    def adopt(self, pipe: _Pipe) -> None:
        if pipe.closed or self.closed or pipe.backend not in self.backends:
            pipe.closed = False
            pipe.close(reset=True)
            return
        self.pipes.setdefault(pipe.backend, set()).add(pipe)

    def release(self, pipe: _Pipe) -> None:
        pipes = self.pipes.get(pipe.backend)
        if pipes is not None:
            pipes.discard(pipe)

    def refresh(self) -> None:
        for pipes in list(self.pipes.values()):
            for pipe in list(pipes):
                pipe.refresh()

    def close(self) -> None:
        self.closed = True
        if self.server is not None:
            self.server.close()
        for pipes in list(self.pipes.values()):
            for pipe in list(pipes):
                pipe.close()
        self.pipes.clear()


class ServiceProxy:
    """Listeners for every Service with a ClusterIP; `sync` one Service at a time."""

    def __init__(self, *, faults: Faults, settings: ProxySettings | None = None,
                 bind_source: Callable[[str], bool] = lambda ip: False) -> None:
        self.faults = faults
        self.settings = settings or ProxySettings()
        self._bind_source = bind_source
        self._buffers = ReadBuffer(self.settings.read_buffer)
        self._services: dict[ServiceKey, dict[int, ServicePort]] = {}
        self._pending: asyncio.Queue[ServicePort] | None = None
        self._worker: asyncio.Task[None] | None = None

    def ports(self, service: ServiceKey | None = None) -> list[ServicePort]:
        if service is not None:
            return list(self._services.get(service, {}).values())
        return [p for ports in self._services.values() for p in ports.values()]

    def port(self, namespace: str, name: str, port: int) -> ServicePort | None:
        return self._services.get((namespace, name), {}).get(port)

    async def start(self) -> None:
        if self._worker is None:
            self._pending = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._bind_loop(),
                                                                  name="service proxy")
            for port in self.ports():
                if port.server is None:
                    self._pending.put_nowait(port)

    async def stop(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            try:
                await worker
            except asyncio.CancelledError:
                pass
        tasks = []
        for ports in self._services.values():
            for port in ports.values():
                tasks += [p._connect for pipes in port.pipes.values() for p in pipes
                          if p._connect is not None]
                port.close()
        self._services.clear()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def sync(self, key: ServiceKey, service: dict[str, Any] | None,
             endpoints: dict[str, Any] | None) -> None:
        """Converge one Service's listeners and backends on its current objects."""
        wanted = desired_ports(service)
        cluster_ip = ((service or {}).get("spec") or {}).get("clusterIP", "")
        ports = self._services.get(key, {})
        for number, port in list(ports.items()):
            if number not in wanted or port.cluster_ip != cluster_ip:
                port.close()
                del ports[number]
        for number, name in wanted.items():
            existing = ports.get(number)
            if existing is not None:
                port = existing
            else:
                port = ServicePort(service=key, cluster_ip=cluster_ip, port=number, name=name,
                                   faults=self.faults, settings=self.settings,
                                   bind_source=self._bind_source,
                                   buffers=self._buffers)
                ports[number] = port
                if self._pending is not None:
                    self._pending.put_nowait(port)
            port.name = name
            port.set_backends(ready_backends(endpoints, name))
        if ports:
            self._services[key] = ports
        else:
            self._services.pop(key, None)

    def refresh(self) -> None:
        """Faults changed: stall or resume every forwarded connection accordingly."""
        for port in self.ports():
            port.refresh()

    async def _bind_loop(self) -> None:
        assert self._pending is not None
        loop = asyncio.get_running_loop()
        while True:
            port = await self._pending.get()
            if port.closed or port.server is not None:
                continue
            try:
                server = await loop.create_server(port.accept, port.cluster_ip, port.port,
                                                  reuse_address=True)
            except OSError as exc:
                log.warning("service proxy: cannot listen on %s:%s for %s: %s; retrying",
                            port.cluster_ip, port.port, port, exc)
                loop.call_later(self.settings.bind_retry_delay, self._retry, port)
                continue
            if port.closed:
                server.close()
            else:
                port.server = server

    def _retry(self, port: ServicePort) -> None:
        if self._pending is not None and not port.closed:
            self._pending.put_nowait(port)
