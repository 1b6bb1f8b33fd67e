"""The DNS wire format (RFC 1035 §4, RFC 6891 for the OPT record): parse and emit messages.

Only what a cluster DNS server and its tests need: the header, questions, and the record
types the server answers with or a client might send (A, AAAA, NS, CNAME, PTR, SOA, TXT,
OPT); any other type's RDATA is kept as raw bytes. Pure functions, no I/O.

Names are written in presentation form with a trailing dot (`web.default.svc.cluster.local.`,
the root is `.`), escaping a literal dot or backslash inside a label and non-printable bytes
as `\\DDD` (RFC 1035 §5.1), so that any name read off the wire is emitted back unchanged.
Emitted names are compressed (§4.1.4) against earlier names spelled the same way — case
included, so every name reads back exactly as given; parsing follows compression pointers
but only backwards, so a malicious message cannot make the parser loop.
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from dataclasses import dataclass, field

HEADER_SIZE = 12
MAX_LABEL = 63
MAX_NAME = 255
UDP_LIMIT = 512
"""The largest UDP answer a client that sent no OPT record accepts (RFC 1035 §4.2.1)."""

CLASS_IN = 1


class WireError(ValueError):
    """The bytes are not a well-formed DNS message."""


class RRType(enum.IntEnum):
    A = 1
    NS = 2
    CNAME = 5
    SOA = 6
    PTR = 12
    MX = 15
    TXT = 16
    AAAA = 28
    SRV = 33
    OPT = 41
    IXFR = 251
    AXFR = 252
    ANY = 255


class RCode(enum.IntEnum):
    NOERROR = 0
    FORMERR = 1
    SERVFAIL = 2
    NXDOMAIN = 3
    NOTIMP = 4
    REFUSED = 5
    BADVERS = 16
    """Extended (EDNS) code: the upper 8 bits travel in the OPT record."""


class Opcode(enum.IntEnum):
    QUERY = 0
    IQUERY = 1
    STATUS = 2
    NOTIFY = 4
    UPDATE = 5


def type_name(rrtype: int) -> str:
    """`A`, `AAAA`, … or `TYPE65` for a type this module does not know (RFC 3597)."""
    try:
        return RRType(rrtype).name
    except ValueError:
        return f"TYPE{rrtype}"


@dataclass(frozen=True)
class Header:
    """The fixed 12 bytes; the four counts are taken from the sections when emitting."""

    id: int = 0
    qr: bool = False
    opcode: int = Opcode.QUERY
    aa: bool = False
    tc: bool = False
    rd: bool = False
    ra: bool = False
    z: bool = False
    ad: bool = False
    cd: bool = False
    rcode: int = RCode.NOERROR
    """The low 4 bits of the response code."""
    qdcount: int = 0
    ancount: int = 0
    nscount: int = 0
    arcount: int = 0

    def flags(self) -> int:
        return ((self.qr << 15) | ((self.opcode & 0xF) << 11) | (self.aa << 10)
                | (self.tc << 9) | (self.rd << 8) | (self.ra << 7) | (self.z << 6)
                | (self.ad << 5) | (self.cd << 4) | (self.rcode & 0xF))


@dataclass(frozen=True)
class Question:
    name: str
    type: int = RRType.A
    klass: int = CLASS_IN


@dataclass(frozen=True)
class SOA:
    mname: str
    rname: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int


RData = str | SOA | tuple[str, ...] | bytes
"""A and AAAA: the address text; NS, CNAME, PTR: a name; SOA: `SOA`; TXT: its strings
(latin-1); anything else (OPT included): the raw bytes."""


@dataclass(frozen=True)
class Record:
    """A resource record. For OPT, `klass` is the requester's UDP payload size and `ttl`
    packs the extended rcode, version and flags (RFC 6891 §6.1.3)."""

    name: str
    type: int
    klass: int
    ttl: int
    data: RData


@dataclass(frozen=True)
class Message:
    header: Header = field(default_factory=Header)
    questions: tuple[Question, ...] = ()
    answers: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()

    @property
    def opt(self) -> Record | None:
        """The EDNS OPT pseudo-record, when the message carries one."""
        return next((r for r in self.additional if r.type == RRType.OPT), None)

    @property
    def rcode(self) -> int:
        """The full response code: the header's 4 bits and the OPT record's upper 8."""
        opt = self.opt
        upper = (opt.ttl >> 24) & 0xFF if opt is not None else 0
        return (upper << 4) | self.header.rcode


def opt_record(udp_size: int, *, extended_rcode: int = 0, version: int = 0,
               do: bool = False) -> Record:
    """An OPT pseudo-record advertising `udp_size` (no options)."""
    ttl = ((extended_rcode & 0xFF) << 24) | ((version & 0xFF) << 16) | (do << 15)
    return Record(".", RRType.OPT, udp_size, ttl, b"")


# -- names ---------------------------------------------------------------------------------

_PRINTABLE = frozenset(range(0x21, 0x7F)) - {ord("."), ord("\\")}


def _label_text(label: bytes) -> str:
    out = []
    for byte in label:
        if byte in _PRINTABLE:
            out.append(chr(byte))
        elif byte in (ord("."), ord("\\")):
            out.append("\\" + chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def name_labels(name: str) -> list[bytes]:
    """The labels of a presentation-form name (trailing dot optional); [] for the root."""
    if name in ("", "."):
        return []
    labels: list[bytes] = []
    current = bytearray()
    i = 0
    while i < len(name):
        char = name[i]
        if char == "\\":
            digits = name[i + 1:i + 4]
            if len(digits) == 3 and digits.isdigit():
                if int(digits) > 255:
                    raise WireError(f"escape \\{digits} out of range in {name!r}")
                current.append(int(digits))
                i += 4
                continue
            if i + 1 >= len(name):
                raise WireError(f"dangling escape in name {name!r}")
            current.extend(name[i + 1].encode("latin-1"))
            i += 2
            continue
        if char == ".":
            if not current:
                raise WireError(f"empty label in name {name!r}")
            labels.append(bytes(current))
            current = bytearray()
        else:
            current.extend(char.encode("latin-1"))
        i += 1
    if current:
        labels.append(bytes(current))
    for label in labels:
        if len(label) > MAX_LABEL:
            raise WireError(f"label longer than {MAX_LABEL} bytes in {name!r}")
    if sum(len(label) + 1 for label in labels) + 1 > MAX_NAME:
        raise WireError(f"name longer than {MAX_NAME} bytes: {name!r}")
    return labels


def _read_name(data: bytes, offset: int) -> tuple[str, int]:
    """The name at `offset` and the offset just past it (past the first pointer, if any)."""
    labels: list[str] = []
    end: int | None = None
    length = 1
    position = offset
    while True:
        if position >= len(data):
            raise WireError("name runs past the end of the message")
        size = data[position]
        kind = size & 0xC0
        if kind == 0xC0:
            if position + 1 >= len(data):
                raise WireError("truncated compression pointer")
            target = ((size & 0x3F) << 8) | data[position + 1]
            if target >= position:
                raise WireError("compression pointer does not point backwards")
            if end is None:
                end = position + 2
            position = target
            continue
        if kind:
            raise WireError(f"unsupported label type 0x{kind:02x}")
        position += 1
        if size == 0:
            break
        label = data[position:position + size]
        if len(label) < size:
            raise WireError("label runs past the end of the message")
        length += size + 1
        if length > MAX_NAME:
            raise WireError(f"name longer than {MAX_NAME} bytes")
        labels.append(_label_text(label))
        position += size
    return ("." if not labels else ".".join(labels) + "."), (end if end is not None else position)


class _Writer:
    """Accumulates a message, compressing names against those already written."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self._offsets: dict[tuple[bytes, ...], int] = {}

    def name(self, name: str) -> None:
        labels = name_labels(name)
        for index in range(len(labels)):
            key = tuple(labels[index:])
            pointer = self._offsets.get(key)
            if pointer is not None:
                self.buffer += struct.pack("!H", 0xC000 | pointer)
                return
            if len(self.buffer) < 0x4000:
                self._offsets[key] = len(self.buffer)
            self.buffer.append(len(labels[index]))
            self.buffer += labels[index]
        self.buffer.append(0)

    def record(self, record: Record) -> None:
        self.name(record.name)
        self.buffer += struct.pack("!HHI", record.type, record.klass, record.ttl & 0xFFFFFFFF)
        length_at = len(self.buffer)
        self.buffer += b"\0\0"
        self._rdata(record)
        struct.pack_into("!H", self.buffer, length_at, len(self.buffer) - length_at - 2)

    def _rdata(self, record: Record) -> None:
        data = record.data
        if isinstance(data, bytes):
            self.buffer += data
        elif isinstance(data, SOA):
            self.name(data.mname)
            self.name(data.rname)
            self.buffer += struct.pack("!IIIII", data.serial, data.refresh, data.retry,
                                       data.expire, data.minimum)
        elif isinstance(data, tuple):
            for text in data:
                raw = text.encode("latin-1")
                if len(raw) > 255:
                    raise WireError("TXT string longer than 255 bytes")
                self.buffer.append(len(raw))
                self.buffer += raw
        elif record.type == RRType.A:
            self.buffer += ipaddress.IPv4Address(data).packed
        elif record.type == RRType.AAAA:
            self.buffer += ipaddress.IPv6Address(data).packed
        elif record.type in (RRType.NS, RRType.CNAME, RRType.PTR):
            self.name(data)
        else:
            raise WireError(f"no text form for the RDATA of {type_name(record.type)}")


def _read_rdata(data: bytes, rrtype: int, start: int, end: int) -> RData:
    raw = data[start:end]
    if rrtype == RRType.A:
        if len(raw) != 4:
            raise WireError("A record RDATA is not 4 bytes")
        return str(ipaddress.IPv4Address(raw))
    if rrtype == RRType.AAAA:
        if len(raw) != 16:
            raise WireError("AAAA record RDATA is not 16 bytes")
        return str(ipaddress.IPv6Address(raw))
    if rrtype in (RRType.NS, RRType.CNAME, RRType.PTR):
        name, after = _read_name(data, start)
        if after != end:
            raise WireError(f"{type_name(rrtype)} RDATA length mismatch")
        return name
    if rrtype == RRType.SOA:
        mname, position = _read_name(data, start)
        rname, position = _read_name(data, position)
        if end - position != 20:
            raise WireError("SOA RDATA length mismatch")
        return SOA(mname, rname, *struct.unpack_from("!IIIII", data, position))
    if rrtype == RRType.TXT:
        strings: list[str] = []
        position = 0
        while position < len(raw):
            size = raw[position]
            text = raw[position + 1:position + 1 + size]
            if len(text) < size:
                raise WireError("TXT string runs past its RDATA")
            strings.append(text.decode("latin-1"))
            position += 1 + size
        return tuple(strings)
    return raw


# -- messages ------------------------------------------------------------------------------

def parse_header(data: bytes) -> Header:
    """The header alone: enough to decide whether to answer before parsing the rest."""
    if len(data) < HEADER_SIZE:
        raise WireError(f"message shorter than the {HEADER_SIZE}-byte header")
    ident, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", data)
    return Header(id=ident, qr=bool(flags & 0x8000), opcode=(flags >> 11) & 0xF,
                  aa=bool(flags & 0x0400), tc=bool(flags & 0x0200), rd=bool(flags & 0x0100),
                  ra=bool(flags & 0x0080), z=bool(flags & 0x0040), ad=bool(flags & 0x0020),
                  cd=bool(flags & 0x0010), rcode=flags & 0xF,
                  qdcount=qd, ancount=an, nscount=ns, arcount=ar)


def parse_message(data: bytes) -> Message:
    """A whole message; `WireError` when anything is malformed or bytes are left over."""
    header = parse_header(data)
    position = HEADER_SIZE
    questions = []
    for _ in range(header.qdcount):
        name, position = _read_name(data, position)
        if position + 4 > len(data):
            raise WireError("question runs past the end of the message")
        qtype, qclass = struct.unpack_from("!HH", data, position)
        position += 4
        questions.append(Question(name, qtype, qclass))
    sections: list[tuple[Record, ...]] = []
    for count in (header.ancount, header.nscount, header.arcount):
        records = []
        for _ in range(count):
            name, position = _read_name(data, position)
            if position + 10 > len(data):
                raise WireError("record runs past the end of the message")
            rrtype, klass, ttl, length = struct.unpack_from("!HHIH", data, position)
            position += 10
            end = position + length
            if end > len(data):
                raise WireError("RDATA runs past the end of the message")
            records.append(Record(name, rrtype, klass, ttl, _read_rdata(data, rrtype,
                                                                       position, end)))
            position = end
        sections.append(tuple(records))
    if position != len(data):
        raise WireError(f"{len(data) - position} bytes after the last record")
    return Message(header, tuple(questions), *sections)


def encode_message(message: Message) -> bytes:
    """The wire form; the header's counts come from the sections."""
    writer = _Writer()
    header = message.header
    writer.buffer += struct.pack("!HHHHHH", header.id, header.flags(), len(message.questions),
                                 len(message.answers), len(message.authority),
                                 len(message.additional))
    for question in message.questions:
        writer.name(question.name)
        writer.buffer += struct.pack("!HH", question.type, question.klass)
    for section in (message.answers, message.authority, message.additional):
        for record in section:
            writer.record(record)
    return bytes(writer.buffer)


def query(name: str, rrtype: int = RRType.A, *, ident: int = 0, rd: bool = True,
          udp_size: int | None = None) -> bytes:
    """A one-question query as a stub resolver sends it (with OPT when `udp_size`)."""
    additional = (opt_record(udp_size),) if udp_size is not None else ()
    return encode_message(Message(Header(id=ident, rd=rd), (Question(name, rrtype),),
                                  additional=additional))
