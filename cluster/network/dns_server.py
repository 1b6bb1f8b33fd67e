"""The cluster DNS server: what kube-dns/CoreDNS is to a pod's real processes.

Real programs (a real `redis-server`, `getent`, `redis-cli`) resolve through glibc, which
reads the pod's resolv.conf (`nameserver <dns ip>`, see `resolv`) and asks this server over
UDP port 53 — over TCP when an answer is truncated. Answers come from the cluster's
`DNSTable` at the moment the query arrives, so a name that does not exist yet fails exactly
as in a cluster: the tutorial's replica logs `Unable to connect to MASTER: Resource
temporarily unavailable` (glibc's EAI_AGAIN after NXDOMAIN/SERVFAIL answers) until the
headless Service appears.

The server listens on the service range's 10th address (kubeadm's choice for kube-dns,
10.96.0.10 in 10.96.0.0/16; see `cluster.apiserver.dns_service_ip`), which the ClusterIP
allocator never hands out.

Message handling follows the server library CoreDNS is built on: a datagram shorter than a
header or that is itself a response gets no reply (replying to junk only helps reflection
attacks); an opcode other than QUERY/NOTIFY gets NOTIMP; a header with a question count
other than one, records where a query has none, or the Z bit set, and any message that does
not parse, get FORMERR; EDNS version > 0 gets BADVERS. What the zone answers is
`dns_zone.ClusterZone`'s business.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import struct
import typing
from typing import Any

from cluster.network.dns_wire import (
    UDP_LIMIT,
    Header,
    Message,
    Opcode,
    RCode,
    Record,
    WireError,
    encode_message,
    opt_record,
    parse_header,
    parse_message,
)
from cluster.network.dns_zone import ClusterZone

log = logging.getLogger(__name__)

DNS_PORT = 53
MAX_UDP_PAYLOAD = 4096
"""The largest EDNS payload size honoured (a client may advertise up to 65535)."""
TCP_IDLE_SECONDS = 10.0
"""A TCP client silent this long is disconnected, as CoreDNS's idle timeout does."""


def _reject(header: Header, rcode: int) -> bytes:
    """A header-only error reply (FORMERR, NOTIMP) echoing the query's id and flags."""
    opcode = header.opcode if rcode == RCode.NOTIMP else Opcode.QUERY
    return encode_message(Message(Header(id=header.id, qr=True, opcode=opcode, rd=header.rd,
                                         cd=header.cd, rcode=rcode)))


def _acceptable(header: Header) -> int | None:
    """None when the query may be answered, else the rcode to reject it with."""
    if header.opcode not in (Opcode.QUERY, Opcode.NOTIFY):
        return RCode.NOTIMP
    if header.z or header.qdcount != 1 or header.ancount > 1 or header.nscount > 1 \
            or header.arcount > 2:
        return RCode.FORMERR
    return None


def respond(zone: ClusterZone, data: bytes, *, tcp: bool = False) -> bytes | None:
    """The reply to one message as received (None: send nothing back)."""
    try:
        header = parse_header(data)
    except WireError:
        return None
    if header.qr:
        return None
    rejected = _acceptable(header)
    if rejected is not None:
        return _reject(header, rejected)
    try:
        request = parse_message(data)
    except WireError:
        return _reject(header, RCode.FORMERR)
    question = request.questions[0]
    opt = request.opt
    limit = 65535 if tcp else UDP_LIMIT
    reply_opt: tuple[Record, ...] = ()
    if opt is not None:
        size = min(max(opt.klass, UDP_LIMIT), MAX_UDP_PAYLOAD)
        limit = 65535 if tcp else size
        if (opt.ttl >> 16) & 0xFF:
            bad = Message(Header(id=header.id, qr=True, rd=header.rd, cd=header.cd),
                          (question,), additional=(opt_record(size, extended_rcode=1),))
            return encode_message(bad)
        reply_opt = (opt_record(size, do=bool(opt.ttl & 0x8000)),)
    reply = zone.answer(question)
    response_header = Header(id=header.id, qr=True, opcode=header.opcode,
                             aa=reply.authoritative, rd=header.rd, cd=header.cd,
                             rcode=reply.rcode)
    message = Message(response_header, (question,), reply.answers, reply.authority,
                      reply.additional + reply_opt)
    wire = encode_message(message)
    if len(wire) > limit:
        truncated = dataclasses.replace(response_header, tc=True)
        wire = encode_message(Message(truncated, (question,), additional=reply_opt))
    return wire


class _UDPProtocol(asyncio.DatagramProtocol):
    def __init__(self, zone: ClusterZone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            reply = respond(self.zone, data)
        except Exception:  # one bad query must not take the server down
            log.exception("cluster DNS: failed to answer a query from %s", addr)
            return
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("cluster DNS: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class DNSServer:
    """UDP and TCP listeners on `host:port`, answering from `zone`."""

    def __init__(self, zone: ClusterZone, host: str, port: int = DNS_PORT) -> None:
        self.zone = zone
        self.host = host
        self.port = port
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_protocol: _UDPProtocol | None = None
        self._tcp: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    @property
    def running(self) -> bool:
        return self._udp is not None

    @property
    def address(self) -> tuple[str, int]:
        """Where the UDP listener is bound (the actual port when `port` was 0)."""
        if self._udp is None:
            return self.host, self.port
        return self._udp.get_extra_info("sockname")[:2]

    async def start(self) -> None:
        """Bind both listeners; OSError (e.g. EACCES for port 53 without root) when either
        cannot be bound, with nothing left open."""
        if self._udp is not None:
            return
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _UDPProtocol(self.zone), local_addr=(self.host, self.port))
        try:
            port = transport.get_extra_info("sockname")[1]
            self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port,
                                                   reuse_address=True)
        except BaseException:
            transport.close()
            raise
        self._udp = transport
        self._udp_protocol = protocol

    async def stop(self) -> None:
        """Close the listeners and every open TCP connection; the port is free on return."""
        udp, self._udp = self._udp, None
        protocol, self._udp_protocol = self._udp_protocol, None
        tcp, self._tcp = self._tcp, None
        if udp is not None:
            udp.close()
        if protocol is not None:
            await protocol.closed
        if tcp is not None:
            tcp.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if tcp is not None:
            await tcp.wait_closed()

    async def _serve_tcp(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        """Length-prefixed messages (RFC 1035 §4.2.2), answered in order until EOF."""
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE_SECONDS):
                    prefix = await reader.readexactly(2)
                    (length,) = struct.unpack("!H", prefix)
                    data = await reader.readexactly(length)
                reply = respond(self.zone, data, tcp=True)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
