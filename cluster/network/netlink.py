"""Two netlink conversations the kernel service proxy needs: conntrack and sock_diag.

When an endpoint leaves a Service, connections already DNATed to it must end at once, as
the user-space proxy ends them (DESIGN.md: the proxy "drops connections to endpoints that
leave"; the Redis failover relies on it). The kernel knows exactly which ones those are:

- **conntrack** (ctnetlink, `NETLINK_NETFILTER`) lists every tracked flow with its
  original tuple (client → ClusterIP:port) and its reply tuple (endpoint → client), so
  the flows to one leaving endpoint are found without touching the others;
- **sock_diag** (`NETLINK_SOCK_DIAG`) lists TCP sockets with a cookie that names each one,
  and `SOCK_DESTROY` aborts a socket by that name (what `ss -K` does): its owner's next
  read or write fails with ECONNABORTED and the peer gets a reset. The cookie matters: a
  destroy request by address alone may match a *listening* socket when the connection is
  already gone, and would abort the server.

Both are plain request/response exchanges on a blocking netlink socket; the kernel
answers from memory, so a call costs well under a millisecond for a small table. Only
IPv4 TCP is handled (our addresses are 127.x). Linux only, as the rest of the network.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Self

NETLINK_SOCK_DIAG = 4
NETLINK_NETFILTER = 12

_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_NLM_F_REQUEST = 0x1
_NLM_F_ACK = 0x4
_NLM_F_DUMP = 0x300
_NLA_TYPE_MASK = 0x3FFF
_NLA_F_NESTED = 0x8000

_HEADER = struct.Struct("=IHHII")
"""nlmsghdr: length, type, flags, sequence, port id."""
_ATTR = struct.Struct("=HH")
"""nlattr: length, type."""

# ctnetlink (linux/netfilter/nfnetlink_conntrack.h)
_NFNL_SUBSYS_CTNETLINK = 1
_IPCTNL_MSG_CT_GET = 1
_IPCTNL_MSG_CT_DELETE = 2
_NFGENMSG = struct.Struct("=BBH")
"""nfgenmsg: family, version, resource id."""
_CTA_TUPLE_ORIG = 1
_CTA_TUPLE_REPLY = 2
_CTA_TUPLE_IP = 1
_CTA_TUPLE_PROTO = 2
_CTA_IP_V4_SRC = 1
_CTA_IP_V4_DST = 2
_CTA_PROTO_NUM = 1
_CTA_PROTO_SRC_PORT = 2
_CTA_PROTO_DST_PORT = 3

# sock_diag (linux/sock_diag.h, linux/inet_diag.h)
_SOCK_DIAG_BY_FAMILY = 20
_SOCK_DESTROY = 21
_INET_DIAG_NOCOOKIE = 0xFFFFFFFF
NO_COOKIE = (_INET_DIAG_NOCOOKIE, _INET_DIAG_NOCOOKIE)
"""A cookie that names no socket: the destroy request matches by addresses alone (and
may then hit a listener — only for a connection known to exist)."""
_DIAG_REQUEST = struct.Struct("=BBBBI")
"""inet_diag_req_v2 head: family, protocol, extensions, pad, states."""
_DIAG_SOCKID = struct.Struct("!HH16s16s")
"""inet_diag_sockid head (network order): sport, dport, src, dst; then if and cookie."""
_DIAG_SOCKID_TAIL = struct.Struct("=III")
_DIAG_MSG = struct.Struct("=BBBB")
"""inet_diag_msg head: family, state, timer, retrans; the sockid follows."""

_TCP_LISTEN = 10
_TCP_TIME_WAIT = 6
_TCP_CLOSE = 7
_LIVE_STATES = 0xFFFF & ~((1 << _TCP_LISTEN) | (1 << _TCP_TIME_WAIT) | (1 << _TCP_CLOSE))
"""Socket states worth aborting: connected, connecting or closing — never a listener."""

_RECV_BUFFER = 1 << 20

Address = tuple[str, int]
"""(IPv4 address, port)."""


class NetlinkError(OSError):
    """The kernel refused a netlink request (errno set), or answered with garbage."""


@dataclass(frozen=True, slots=True)
class Flow:
    """One tracked TCP flow: `client` → `destination` as sent, answered by `replier`.

    For a connection DNATed by the service proxy, `destination` is the ClusterIP:port and
    `replier` the endpoint; `reply_to` is where the endpoint's replies go (the client,
    unless it was also SNATed)."""

    client: Address
    destination: Address
    replier: Address
    reply_to: Address


@dataclass(frozen=True, slots=True)
class TCPSocket:
    """One TCP socket as sock_diag sees it; `cookie` names it for `destroy_socket`."""

    local: Address
    remote: Address
    state: int
    cookie: tuple[int, int]


def _attrs(data: bytes | memoryview, offset: int = 0, end: int | None = None
           ) -> Iterator[tuple[int, memoryview]]:
    view = memoryview(data)
    end = len(view) if end is None else end
    while offset + _ATTR.size <= end:
        length, kind = _ATTR.unpack_from(view, offset)
        if length < _ATTR.size:
            return
        yield kind & _NLA_TYPE_MASK, view[offset + _ATTR.size:offset + length]
        offset += (length + 3) & ~3


def _attr(kind: int, payload: bytes, *, nested: bool = False) -> bytes:
    length = _ATTR.size + len(payload)
    padding = b"\0" * (((length + 3) & ~3) - length)
    return _ATTR.pack(length, kind | (_NLA_F_NESTED if nested else 0)) + payload + padding


class _Netlink:
    """A netlink socket for one protocol; requests are answered synchronously."""

    def __init__(self, protocol: int) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol)
        self._sock.settimeout(5)
        self._sock.bind((0, 0))
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, kind: int, flags: int, payload: bytes) -> Iterator[memoryview]:
        """Send one request; yield the payload of every answer until done. An error
        answer raises NetlinkError; an acknowledgement (error 0) ends the exchange."""
        self._seq += 1
        seq = self._seq
        self._sock.send(_HEADER.pack(_HEADER.size + len(payload), kind,
                                     flags | _NLM_F_REQUEST, seq, 0) + payload)
        while True:
            data = memoryview(self._sock.recv(_RECV_BUFFER))
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, msg_type, _, msg_seq, _ = _HEADER.unpack_from(data, offset)
                if length < _HEADER.size:
                    raise NetlinkError(errno.EPROTO, "malformed netlink message")
                body = data[offset + _HEADER.size:offset + length]
                offset += (length + 3) & ~3
                if msg_seq != seq:
                    continue
                if msg_type == _NLMSG_DONE:
                    return
                if msg_type == _NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", body)
                    if code == 0:
                        return
                    raise NetlinkError(-code, os.strerror(-code))
                yield body
            if not flags & _NLM_F_DUMP:
                return


# -- conntrack ------------------------------------------------------------------------------

def _tuple(data: memoryview) -> tuple[Address, Address, int] | None:
    src = dst = ""
    sport = dport = proto = 0
    for kind, value in _attrs(data):
        if kind == _CTA_TUPLE_IP:
            for ip_kind, ip in _attrs(value):
                if ip_kind == _CTA_IP_V4_SRC:
                    src = socket.inet_ntoa(bytes(ip[:4]))
                elif ip_kind == _CTA_IP_V4_DST:
                    dst = socket.inet_ntoa(bytes(ip[:4]))
        elif kind == _CTA_TUPLE_PROTO:
            for p_kind, p in _attrs(value):
                if p_kind == _CTA_PROTO_NUM:
                    proto = p[0]
                elif p_kind == _CTA_PROTO_SRC_PORT:
                    (sport,) = struct.unpack("!H", p[:2])
                elif p_kind == _CTA_PROTO_DST_PORT:
                    (dport,) = struct.unpack("!H", p[:2])
    if not src or not dst:
        return None
    return (src, sport), (dst, dport), proto


def _ct_tuple(source: Address, destination: Address) -> bytes:
    ip = (_attr(_CTA_IP_V4_SRC, socket.inet_aton(source[0]))
          + _attr(_CTA_IP_V4_DST, socket.inet_aton(destination[0])))
    proto = (_attr(_CTA_PROTO_NUM, bytes([socket.IPPROTO_TCP]))
             + _attr(_CTA_PROTO_SRC_PORT, struct.pack("!H", source[1]))
             + _attr(_CTA_PROTO_DST_PORT, struct.pack("!H", destination[1])))
    return _attr(_CTA_TUPLE_IP, ip, nested=True) + _attr(_CTA_TUPLE_PROTO, proto, nested=True)


def _flow(body: memoryview, destination: Address) -> Flow | None:
    """The TCP flow in a conntrack message, if it was originally sent to `destination`."""
    original = reply = None
    for attr_kind, value in _attrs(body, _NFGENMSG.size):
        if attr_kind == _CTA_TUPLE_ORIG:
            original = _tuple(value)
            if (original is None or original[2] != socket.IPPROTO_TCP
                    or original[1] != destination):
                return None
        elif attr_kind == _CTA_TUPLE_REPLY:
            reply = _tuple(value)
    if original is None or reply is None:
        return None
    return Flow(client=original[0], destination=original[1], replier=reply[0],
                reply_to=reply[1])


class Conntrack:
    """An open ctnetlink socket, for a caller that asks often.

    Closing a ctnetlink socket costs the kernel about 10 ms (measured here), paid on the
    caller's thread: a service proxy that opened one per endpoint change stalled the
    event loop in the middle of every failover. Open one, ask many times, close once."""

    def __init__(self) -> None:
        self._nl: _Netlink | None = None

    def _socket(self) -> _Netlink:
        if self._nl is None:
            self._nl = _Netlink(NETLINK_NETFILTER)
        return self._nl

    def close(self) -> None:
        nl, self._nl = self._nl, None
        if nl is not None:
            nl.close()

    def flows_of(self, connections: list[tuple[Address, Address]]) -> list[Flow]:
        """The tracked flows of these (client, destination) connections, looked up one
        by one by their original tuple (a hash lookup each); connections conntrack does
        not know are left out."""
        found: list[Flow] = []
        kind = (_NFNL_SUBSYS_CTNETLINK << 8) | _IPCTNL_MSG_CT_GET
        for client, destination in connections:
            payload = (_NFGENMSG.pack(socket.AF_INET, 0, 0)
                       + _attr(_CTA_TUPLE_ORIG, _ct_tuple(client, destination), nested=True))
            try:
                for body in self._call(kind, 0, payload):  # answered by the entry alone
                    flow = _flow(body, destination)
                    if flow is not None:
                        found.append(flow)
            except NetlinkError as exc:
                if exc.errno != errno.ENOENT:
                    raise
        return found

    def forget(self, flow: Flow) -> bool:
        """Delete the flow's conntrack entry (so a reused client port starts afresh);
        False if it was already gone."""
        kind = (_NFNL_SUBSYS_CTNETLINK << 8) | _IPCTNL_MSG_CT_DELETE
        payload = (_NFGENMSG.pack(socket.AF_INET, 0, 0)
                   + _attr(_CTA_TUPLE_ORIG, _ct_tuple(flow.client, flow.destination),
                           nested=True))
        try:
            for _ in self._call(kind, _NLM_F_ACK, payload):
                pass
        except NetlinkError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise
        return True

    def _call(self, kind: int, flags: int, payload: bytes) -> list[memoryview]:
        """One exchange; a socket that failed is closed so the next call starts clean."""
        try:
            return list(self._socket().request(kind, flags, payload))
        except NetlinkError:
            raise
        except OSError:
            self.close()
            raise


def conntrack_reachable() -> bool:
    """Does ctnetlink answer here? (A lookup of a flow that does not exist: ENOENT.)"""
    kind = (_NFNL_SUBSYS_CTNETLINK << 8) | _IPCTNL_MSG_CT_GET
    payload = (_NFGENMSG.pack(socket.AF_INET, 0, 0)
               + _attr(_CTA_TUPLE_ORIG, _ct_tuple(("127.255.255.254", 1),
                                                  ("127.255.255.254", 1)), nested=True))
    try:
        with _Netlink(NETLINK_NETFILTER) as nl:
            for _ in nl.request(kind, _NLM_F_ACK, payload):
                pass
    except NetlinkError as exc:
        return exc.errno == errno.ENOENT
    except OSError:
        return False
    return True


# -- sock_diag ------------------------------------------------------------------------------

def _sockid(local: Address, remote: Address, cookie: tuple[int, int]) -> bytes:
    return (_DIAG_SOCKID.pack(local[1], remote[1], socket.inet_aton(local[0]).ljust(16, b"\0"),
                              socket.inet_aton(remote[0]).ljust(16, b"\0"))
            + _DIAG_SOCKID_TAIL.pack(0, *cookie))


def tcp_sockets() -> list[TCPSocket]:
    """This network namespace's IPv4 TCP sockets that are connected, connecting or closing
    (listeners and TIME_WAIT left out)."""
    request = (_DIAG_REQUEST.pack(socket.AF_INET, socket.IPPROTO_TCP, 0, 0, _LIVE_STATES)
               + _sockid(("0.0.0.0", 0), ("0.0.0.0", 0),
                         (_INET_DIAG_NOCOOKIE, _INET_DIAG_NOCOOKIE)))
    found: list[TCPSocket] = []
    with _Netlink(NETLINK_SOCK_DIAG) as nl:
        for body in nl.request(_SOCK_DIAG_BY_FAMILY, _NLM_F_DUMP, request):
            family, state, _, _ = _DIAG_MSG.unpack_from(body)
            if family != socket.AF_INET:
                continue
            sport, dport, src, dst = _DIAG_SOCKID.unpack_from(body, _DIAG_MSG.size)
            _, cookie_lo, cookie_hi = _DIAG_SOCKID_TAIL.unpack_from(
                body, _DIAG_MSG.size + _DIAG_SOCKID.size)
            found.append(TCPSocket(local=(socket.inet_ntoa(src[:4]), sport),
                                   remote=(socket.inet_ntoa(dst[:4]), dport),
                                   state=state, cookie=(cookie_lo, cookie_hi)))
    return found


def destroy_sockets(sockets: list[TCPSocket]) -> int:
    """Abort each of `sockets` (SOCK_DESTROY): its owner's next read or write fails with
    ECONNABORTED, its peer gets a reset. Returns how many still existed."""
    destroyed = 0
    with _Netlink(NETLINK_SOCK_DIAG) as nl:
        for sock in sockets:
            request = (_DIAG_REQUEST.pack(socket.AF_INET, socket.IPPROTO_TCP, 0, 0,
                                          _LIVE_STATES)
                       + _sockid(sock.local, sock.remote, sock.cookie))
            try:
                for _ in nl.request(_SOCK_DESTROY, _NLM_F_ACK, request):
                    pass
            except NetlinkError as exc:
                if exc.errno in (errno.ENOENT, errno.ESTALE):
                    continue
                raise
            destroyed += 1
    return destroyed
