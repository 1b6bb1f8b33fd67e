"""The DNS wire format: parsing and emitting messages (pure)."""

from __future__ import annotations

import struct

import pytest

from cluster.network import dns_wire as w

# A query for `web.default.svc.cluster.local. A` with RD set, as `dig` sends it minus EDNS.
WEB_QUERY = (bytes.fromhex("abcd 0100 0001 0000 0000 0000")
             + b"\x03web\x07default\x03svc\x07cluster\x05local\x00" + b"\x00\x01\x00\x01")


def test_parses_a_query_as_a_resolver_sends_it() -> None:
    """Header flags, counts and the question come out of hand-built bytes."""
    message = w.parse_message(WEB_QUERY)
    assert message.header == w.Header(id=0xABCD, rd=True, qdcount=1)
    assert message.questions == (w.Question("web.default.svc.cluster.local.", w.RRType.A),)
    assert w.query("web.default.svc.cluster.local.", ident=0xABCD) == WEB_QUERY


def test_response_round_trips_with_every_record_type() -> None:
    """A, AAAA, NS, PTR, SOA, TXT, OPT and unknown RDATA survive emit → parse unchanged."""
    soa = w.SOA("ns.dns.cluster.local.", "hostmaster.cluster.local.", 1700000000, 7200, 1800,
                86400, 5)
    message = w.Message(
        w.Header(id=7, qr=True, aa=True, rd=True, rcode=w.RCode.NXDOMAIN),
        (w.Question("nosuch.default.svc.cluster.local.", w.RRType.A),),
        answers=(w.Record("web.default.svc.cluster.local.", w.RRType.A, 1, 5, "127.3.0.1"),
                 w.Record("web.default.svc.cluster.local.", w.RRType.AAAA, 1, 5, "::1"),
                 w.Record("cluster.local.", w.RRType.NS, 1, 5, "ns.dns.cluster.local."),
                 w.Record("1.0.3.127.in-addr.arpa.", w.RRType.PTR, 1, 5,
                          "web.default.svc.cluster.local."),
                 w.Record("dns-version.cluster.local.", w.RRType.TXT, 1, 28800, ("1.1.0",)),
                 w.Record("x.cluster.local.", 65, 1, 5, b"\x00\x01opaque")),
        authority=(w.Record("cluster.local.", w.RRType.SOA, 1, 5, soa),),
        additional=(w.opt_record(1232),))
    wire = w.encode_message(message)
    parsed = w.parse_message(wire)
    assert parsed.header == w.Header(id=7, qr=True, aa=True, rd=True, rcode=3, qdcount=1,
                                     ancount=6, nscount=1, arcount=1)
    assert (parsed.questions, parsed.answers, parsed.authority, parsed.additional) == (
        message.questions, message.answers, message.authority, message.additional)
    assert parsed.opt is not None and parsed.opt.klass == 1232


def test_names_are_compressed_against_earlier_ones() -> None:
    """A repeated suffix is written once and pointed at (RFC 1035 §4.1.4)."""
    name = "redis-sfs-0.redis-sfs.default.svc.cluster.local."
    message = w.Message(w.Header(qr=True), (w.Question(name),), answers=(
        w.Record(name, w.RRType.A, 1, 5, "127.2.0.5"),))
    wire = w.encode_message(message)
    assert wire.count(b"redis-sfs") == 2  # the owner name is a pointer to the question's
    assert struct.unpack_from("!H", wire, 12 + len(name) + 1 + 4)[0] == 0xC000 | 12
    assert w.parse_message(wire).answers[0].name == name


def test_compression_keeps_each_names_spelling() -> None:
    """Only identically spelled suffixes are shared, so 0x20-mixed case reads back as sent."""
    message = w.Message(w.Header(), (w.Question("WEB.Default.svc.cluster.local."),),
                        answers=(w.Record("db.default.svc.cluster.local.", 1, 1, 5, "1.2.3.4"),))
    wire = w.encode_message(message)
    parsed = w.parse_message(wire)
    assert parsed.questions[0].name == "WEB.Default.svc.cluster.local."
    assert parsed.answers[0].name == "db.default.svc.cluster.local."
    assert wire.count(b"svc") == 1  # `svc.cluster.local.` is still shared


@pytest.mark.parametrize("text,labels", [
    pytest.param(".", [], id="root"),
    pytest.param("a.b", [b"a", b"b"], id="no-trailing-dot"),
    pytest.param(r"a\.b.c.", [b"a.b", b"c"], id="escaped-dot"),
    pytest.param(r"\000x.", [b"\x00x"], id="decimal-escape"),
])
def test_presentation_names(text: str, labels: list[bytes]) -> None:
    """Escapes in names map to label bytes and back."""
    assert w.name_labels(text) == labels
    wire = w.encode_message(w.Message(w.Header(), (w.Question(text),)))
    assert w.name_labels(w.parse_message(wire).questions[0].name) == labels


@pytest.mark.parametrize("name", [
    pytest.param("a" * 64 + ".", id="label-too-long"),
    pytest.param(".".join(["a" * 60] * 5) + ".", id="name-too-long"),
    pytest.param("a..b.", id="empty-label"),
    pytest.param(r"\999.", id="escape-out-of-range"),
])
def test_unencodable_names_are_refused(name: str) -> None:
    """Names the format cannot carry raise WireError instead of emitting garbage."""
    with pytest.raises(w.WireError):
        w.name_labels(name)


@pytest.mark.parametrize("data", [
    pytest.param(b"\x00\x01", id="shorter-than-header"),
    pytest.param(WEB_QUERY[:-3], id="question-cut-short"),
    pytest.param(WEB_QUERY + b"\x00", id="trailing-byte"),
    pytest.param(bytes.fromhex("0001 0100 0001 0000 0000 0000") + b"\xc0\x0c\x00\x01\x00\x01",
                 id="pointer-to-itself"),
    pytest.param(bytes.fromhex("0001 0100 0001 0000 0000 0000") + b"\x80abc\x00\x00\x01\x00\x01",
                 id="reserved-label-type"),
    pytest.param(bytes.fromhex("0001 8100 0000 0001 0000 0000") + b"\x00\x00\x01\x00\x01"
                 + b"\x00\x00\x00\x05\x00\x03\x01\x02\x03", id="a-rdata-wrong-size"),
    pytest.param(bytes.fromhex("0001 8100 0000 0001 0000 0000") + b"\x00\x00\x01\x00\x01"
                 + b"\x00\x00\x00\x05\x00\x09\x01\x02\x03\x04", id="rdata-past-end"),
])
def test_malformed_messages_raise(data: bytes) -> None:
    """Truncation, loops, bad label types and length mismatches are WireErrors."""
    with pytest.raises(w.WireError):
        w.parse_message(data)


def test_extended_rcode_combines_header_and_opt() -> None:
    """BADVERS (16) is 0 in the header and 1 in the OPT record's upper byte."""
    message = w.Message(w.Header(qr=True), additional=(w.opt_record(512, extended_rcode=1),))
    parsed = w.parse_message(w.encode_message(message))
    assert parsed.header.rcode == 0 and parsed.rcode == w.RCode.BADVERS
