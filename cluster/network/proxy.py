"""The service proxy (kube-proxy's role): ClusterIP:port → a ready endpoint, over TCP.

For every Service with a ClusterIP, one listener per TCP port at `<clusterIP>:<port>`. Each
accepted connection is paired with a new connection to a ready endpoint, chosen round-robin
among the Endpoints' ready addresses for the port's name (the endpoints controller has
already resolved `targetPort`). The two sockets are piped byte for byte.

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

**Why the forwarded sockets bypass asyncio's transports.** kube-proxy forwards in the
kernel; we forward in Python, on the loop every other component shares, so each chunk's
cost is what a pipelined `redis-benchmark` through a Service pays. Through transports a
chunk costs a selector key, a `Handle`, a context switch and the transport's bookkeeping
before a line of ours runs — on pipelined Redis traffic that was more than half of the
proxy's CPU. So the proxy keeps its own epoll set of forwarded sockets (`_Poller`) and the
loop watches only that set's file descriptor: one loop callback walks every ready socket,
`recv_into` one shared buffer and `send` straight from it. Bytes a socket does not take
are copied into that side's pending buffer (the only copy), which pauses reading from the
other side past `write_buffer_high`. The loop remains the only thread: the proxy's epoll
is just one more file descriptor it waits on. Linux only, as the rest of the cluster
network is.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import select
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cluster.network.faults import Faults

log = logging.getLogger(__name__)

ServiceKey = tuple[str, str]
"""(namespace, name) of a Service."""

_IN = select.EPOLLIN
_OUT = select.EPOLLOUT
_FAILED = select.EPOLLERR | select.EPOLLHUP
_RESET = struct.pack("ii", 1, 0)
"""SO_LINGER on, zero seconds: `close()` sends RST, as kube-proxy's REJECT does."""
_ACCEPT_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
"""accept() errors that say "not now" (asyncio pauses accepting on the same ones)."""


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
    """Bytes pending towards one side before reads from the other pause; they resume once
    a quarter of it is left (asyncio's default of 64 KiB stalls pipelined traffic more
    often than needed)."""

    read_buffer: int = 256 * 1024
    """Bytes read from a socket at once, into the one buffer every connection shares."""

    events_per_wakeup: int = 512
    """Ready sockets handled per loop callback before other tasks get the loop back."""

    listen_backlog: int = 511
    """Pending connections a listener queues (redis' `tcp-backlog` default)."""

    bind_retry_delay: float = 1.0
    """Seconds before retrying a listener whose address could not be bound, or resuming
    accepts after the process ran out of file descriptors."""


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


def _family(ip: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    except OSError:
        pass
    sock.close()


class _Poller:
    """The proxy's own epoll set of forwarded sockets; the loop watches only its fd.

    A side is in the set only while it wants something — to read (not paused, no EOF
    yet) or to write (bytes pending) — so a paused or finished socket can never report
    HUP/ERR over and over; its state is looked at again when it resumes."""

    def __init__(self, settings: ProxySettings) -> None:
        self.settings = settings
        self.buffer = memoryview(bytearray(settings.read_buffer))
        """Every side reads into this; its bytes are sent on before the next read."""
        self._sides: dict[int, _Side] = {}
        self._epoll: select.epoll | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._epoll is None:
            self._epoll = select.epoll()
            self._loop = loop
            loop.add_reader(self._epoll.fileno(), self._ready)

    def stop(self) -> None:
        """Close every socket still open (sides still flushing after their pipe closed)."""
        for side in list(self._sides.values()):
            side.discard()
        if self._epoll is not None:
            assert self._loop is not None
            self._loop.remove_reader(self._epoll.fileno())
            self._epoll.close()
            self._epoll = None

    def add(self, side: _Side) -> None:
        self._sides[side.fd] = side

    def set_mask(self, side: _Side, mask: int) -> None:
        """Watch `side` for `mask` (0: not at all); one epoll_ctl, only on a change."""
        if mask == side.mask or self._epoll is None:
            return
        if side.mask == 0:
            self._epoll.register(side.fd, mask)
        elif mask == 0:
            self._epoll.unregister(side.fd)
        else:
            self._epoll.modify(side.fd, mask)
        side.mask = mask

    def remove(self, side: _Side) -> None:
        if self._sides.get(side.fd) is side:
            del self._sides[side.fd]
            self.set_mask(side, 0)

    def _ready(self) -> None:
        """Every ready socket, once. The common case — bytes read, the other side's socket
        idle and taking them all — is written out here, without a call per layer."""
        assert self._epoll is not None
        sides = self._sides
        buffer = self.buffer
        for fd, events in self._epoll.poll(0, self.settings.events_per_wakeup):
            side = sides.get(fd)
            if side is None:
                continue  # closed by an earlier event of this batch
            if side.pending and events & (_OUT | _FAILED):
                side.writable()
            if not (side.mask & _IN and events & (_IN | _FAILED)):
                continue  # `mask` has _IN exactly while the side is reading
            assert side.sock is not None
            try:
                nbytes = side.sock.recv_into(buffer)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:
                side.pipe.side_failed(side, exc)
                continue
            if not nbytes:
                side.received_eof()
                continue
            peer = side.peer
            if peer.pending is None and peer.sock is not None and side.pipe.flowing:
                try:
                    sent = peer.sock.send(buffer[:nbytes])
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError as exc:
                    peer.pipe.side_failed(peer, exc)
                    continue
                if sent != nbytes:
                    peer.keep(buffer[sent:nbytes])
            else:
                side.pipe.forward(side, buffer[:nbytes])


class _Side:
    """One end of a pipe: the accepted client socket, or the one to the endpoint.

    `pending` holds what this side's socket has not yet taken; `pauses` are the reasons
    not to read from it (`connecting`, `held`, `gate`, `flow`)."""

    __slots__ = ("closing", "eof", "fd", "mask", "pauses", "peer", "pending", "pipe",
                 "poller", "shut_pending", "sock")

    def __init__(self, pipe: _Pipe, poller: _Poller) -> None:
        self.pipe = pipe
        self.poller = poller
        self.peer: _Side = self
        """The pipe's other side (set by the pipe)."""
        self.sock: socket.socket | None = None
        self.fd = -1
        self.mask = 0
        self.pauses: set[str] = set()
        self.pending: bytearray | None = None
        self.eof = False
        """The peer sent FIN: nothing more to read."""
        self.shut_pending = False
        """Forward our EOF (shutdown for writing) once `pending` is sent."""
        self.closing = False
        """Close once `pending` is sent."""

    @property
    def reading(self) -> bool:
        return (self.sock is not None and not self.pauses and not self.eof
                and not self.closing)

    def attach(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.fd = sock.fileno()
        self.poller.add(self)
        self._watch()

    def _watch(self) -> None:
        if self.sock is not None:
            self.poller.set_mask(self, (_IN if self.reading else 0)
                                 | (_OUT if self.pending else 0))

    def pause(self, why: str) -> None:
        if why not in self.pauses:
            self.pauses.add(why)
            self._watch()

    def resume(self, why: str) -> None:
        if why in self.pauses:
            self.pauses.discard(why)
            self._watch()

    # -- events from the poller --------------------------------------------------------------

    def received_eof(self) -> None:
        self.eof = True
        self._watch()
        self.pipe.forward_eof(self)

    def writable(self) -> None:
        assert self.sock is not None and self.pending is not None
        try:
            sent = self.sock.send(self.pending)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.pipe.side_failed(self, exc)
            return
        del self.pending[:sent]
        if len(self.pending) <= self.poller.settings.write_buffer_high // 4:
            self.peer.resume("flow")
        if not self.pending:
            self.pending = None
            self._watch()
            if self.shut_pending:
                self.write_eof()
            if self.closing:
                self.discard()

    # -- actions -----------------------------------------------------------------------------

    def send(self, data: memoryview | bytes) -> None:
        """Write out of this side's socket; what the socket does not take is kept."""
        if self.sock is None:
            return
        if not self.pending:
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self.pipe.side_failed(self, exc)
                return
            if sent == len(data):
                return
            data = data[sent:]
        self.keep(data)

    def keep(self, data: memoryview | bytes) -> None:
        """Queue bytes the socket did not take (a copy: `data` may be the shared read
        buffer); past the high-water mark, stop reading from the other side."""
        if self.pending:
            self.pending += data
        else:
            self.pending = bytearray(data)
            self._watch()
        if len(self.pending) > self.poller.settings.write_buffer_high:
            self.peer.pause("flow")

    def write_eof(self) -> None:
        """Half-close towards the peer, after what is pending."""
        if self.sock is None:
            return
        if self.pending:
            self.shut_pending = True
            return
        self.shut_pending = False
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        """Stop reading; close once what is pending has been sent."""
        if self.sock is None:
            return
        if self.pending:
            self.closing = True
            self._watch()
        else:
            self.discard()

    def abort(self) -> None:
        """Close at once with a reset, dropping what is pending."""
        sock, self.sock = self.sock, None
        self.pending = None
        if sock is not None:
            self.poller.remove(self)
            _reset(sock)

    def discard(self) -> None:
        """Close at once, dropping what is pending."""
        sock, self.sock = self.sock, None
        self.pending = None
        if sock is not None:
            self.poller.remove(self)
            sock.close()


class _Pipe:
    """An accepted client connection forwarded to one backend."""

    def __init__(self, port: ServicePort, backend: Backend, poller: _Poller,
                 client_ip: str) -> None:
        self.port = port
        self.backend = backend
        self.client = _Side(self, poller)
        self.upstream = _Side(self, poller)
        self.client.peer, self.upstream.peer = self.upstream, self.client
        self.client_ip = client_ip
        self.gated = False
        self.closed = False
        self._held: dict[_Side, list[bytes]] = {}
        self.connect_task: asyncio.Task[None] | None = None

    def other(self, side: _Side) -> _Side:
        return side.peer

    @property
    def flowing(self) -> bool:
        """Bytes go straight through: no partition in the way, nothing held back."""
        return not self.gated and not self._held

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, conn: socket.socket) -> None:
        """Take the accepted socket; reading from it waits for the upstream connection."""
        self.client.pause("connecting")
        self.client.attach(conn)
        self.connect_task = asyncio.get_running_loop().create_task(
            self._open_upstream(), name=f"proxy {self.port} -> {self.backend}")

    async def _open_upstream(self) -> None:
        faults = self.port.faults
        await faults.wait_for(lambda: not faults.separated(self.client_ip, self.backend.ip))
        try:
            try:
                sock = await self._connect(bind=self.port.bind_source(self.client_ip))
            except OSError:
                if not self.port.bind_source(self.client_ip):
                    raise
                sock = await self._connect(bind=False)
        except OSError as exc:
            log.debug("proxy %s: connecting to %s failed: %s", self.port, self.backend, exc)
            self.close(reset=True)
            return
        if self.closed:
            _reset(sock)
            return
        self.upstream.attach(sock)
        self.refresh()
        self.client.resume("connecting")

    async def _connect(self, *, bind: bool) -> socket.socket:
        """A connected non-blocking socket to the backend, from the client's IP if `bind`."""
        sock = socket.socket(_family(self.backend.ip), socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            if bind:
                sock.bind((self.client_ip, 0))
            await asyncio.get_running_loop().sock_connect(sock, (self.backend.ip,
                                                                 self.backend.port))
        except BaseException:
            sock.close()
            raise
        return sock

    def side_failed(self, side: _Side, exc: OSError) -> None:
        """A socket error (reset, broken pipe): that socket is gone, the pipe ends."""
        log.debug("proxy %s: %s side of a pipe to %s failed: %s", self.port,
                  "client" if side is self.client else "upstream", self.backend, exc)
        side.discard()
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
        if self.connect_task is not None and not self.connect_task.done():
            self.connect_task.cancel()
        if abort_upstream:
            self.upstream.abort()
        else:
            self.upstream.close()
        if reset:
            self.client.abort()
        else:
            self.client.close()
        self.port.release(self)

    # -- forwarding -----------------------------------------------------------------------------

    def forward(self, side: _Side, data: memoryview) -> None:
        target = self.upstream if side is self.client else self.client
        if self.gated or target.sock is None or side in self._held:
            self._held.setdefault(side, []).append(bytes(data))
            side.pause("held")
            return
        target.send(data)

    def forward_eof(self, side: _Side) -> None:
        if self.gated or side in self._held:
            return  # sent by `refresh` after the held data
        self._send_eof(side)

    def _send_eof(self, side: _Side) -> None:
        other = self.other(side)
        if other.eof:
            self.close(abort_upstream=False)
            return
        other.write_eof()

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
            target = self.other(side)
            held = self._held.pop(side, None)
            if held and target.sock is not None:
                for chunk in held:
                    target.send(chunk)
            elif held:
                self._held[side] = held
                continue
            side.resume("held")
            side.resume("gate")
            if side.eof and target.sock is not None:
                self._send_eof(side)
                if self.closed:
                    return


class ServicePort:
    """One listener `<clusterIP>:<port>` of a Service and the connections it forwards."""

    def __init__(self, *, service: ServiceKey, cluster_ip: str, port: int, name: str,
                 faults: Faults, settings: ProxySettings,
                 bind_source: Callable[[str], bool], poller: _Poller) -> None:
        self.service = service
        self.cluster_ip = cluster_ip
        self.port = port
        self.name = name
        self.faults = faults
        self.settings = settings
        self.bind_source = bind_source
        self.backends: list[Backend] = []
        self.listener: socket.socket | None = None
        self.closed = False
        self.pipes: dict[Backend, set[_Pipe]] = {}
        self._poller = poller
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next = 0

    def __str__(self) -> str:
        return f"{self.service[0]}/{self.service[1]}:{self.port}"

    @property
    def listening(self) -> bool:
        return self.listener is not None and not self.closed

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

    def listen(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind and listen at `<clusterIP>:<port>`; raises OSError if the address is taken."""
        sock = socket.socket(_family(self.cluster_ip), socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setblocking(False)
            sock.bind((self.cluster_ip, self.port))
            sock.listen(self.settings.listen_backlog)
        except OSError:
            sock.close()
            raise
        self.listener = sock
        self._loop = loop
        loop.add_reader(sock.fileno(), self._accept_ready)

    def _accept_ready(self) -> None:
        assert self.listener is not None and self._loop is not None
        for _ in range(self.settings.listen_backlog):
            try:
                conn, address = self.listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno not in _ACCEPT_ERRORS:
                    raise
                log.warning("service proxy: accepting on %s: %s; pausing", self, exc)
                self._loop.remove_reader(self.listener.fileno())
                self._loop.call_later(self.settings.bind_retry_delay, self._resume_accepting)
                return
            self._accepted(conn, address[0])

    def _resume_accepting(self) -> None:
        if self.listening:
            assert self.listener is not None and self._loop is not None
            self._loop.add_reader(self.listener.fileno(), self._accept_ready)

    def _accepted(self, conn: socket.socket, client_ip: str) -> None:
        backend = self.pick()
        if backend is None or self.closed:
            # Reset on the next turn of the loop, as a transport's protocol would: a client
            # on this loop first sees its connect succeed, then the reset.
            assert self._loop is not None
            self._loop.call_soon(_reset, conn)
            return
        pipe = _Pipe(self, backend, self._poller, client_ip)
        self.pipes.setdefault(backend, set()).add(pipe)
        pipe.start(conn)

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
        listener, self.listener = self.listener, None
        if listener is not None:
            assert self._loop is not None
            self._loop.remove_reader(listener.fileno())
            listener.close()
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
        self._poller = _Poller(self.settings)
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
            loop = asyncio.get_running_loop()
            self._poller.start(loop)
            self._pending = asyncio.Queue()
            self._worker = loop.create_task(self._bind_loop(), name="service proxy")
            for port in self.ports():
                if port.listener is None:
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
                tasks += [p.connect_task for pipes in port.pipes.values() for p in pipes
                          if p.connect_task is not None]
                port.close()
        self._services.clear()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._poller.stop()

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
                                   bind_source=self._bind_source, poller=self._poller)
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
            if port.closed or port.listener is not None:
                continue
            try:
                port.listen(loop)
            except OSError as exc:
                log.warning("service proxy: cannot listen on %s:%s for %s: %s; retrying",
                            port.cluster_ip, port.port, port, exc)
                loop.call_later(self.settings.bind_retry_delay, self._retry, port)

    def _retry(self, port: ServicePort) -> None:
        if self._pending is not None and not port.closed:
            self._pending.put_nowait(port)
