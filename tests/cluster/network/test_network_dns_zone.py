"""What the cluster DNS server answers, question by question, as CoreDNS would (pure)."""

from __future__ import annotations

import pytest

from cluster.network import dns_wire as w
from cluster.network.dns import DNSTable, GroupRecords
from cluster.network.dns_server import respond
from cluster.network.dns_zone import ClusterZone

DNS_IP = "127.3.0.10"
SERIAL = 1_700_000_000
SOA = w.Record("cluster.local.", w.RRType.SOA, 1, 5, w.SOA(
    "ns.dns.cluster.local.", "hostmaster.cluster.local.", SERIAL, 7200, 1800, 86400, 5))


@pytest.fixture
def zone() -> ClusterZone:
    """A ClusterIP Service `web`, a headless `redis-sfs` with two ready pods, in default."""
    table = DNSTable()
    table.set_group("default", "web", GroupRecords(service_ip="127.3.0.1"))
    table.set_group("default", "redis-sfs", GroupRecords(
        service_ip="127.2.0.5", endpoint_ips=("127.2.0.5", "127.2.0.6"),
        pods=(("redis-sfs-0", "127.2.0.5"), ("redis-sfs-1", "127.2.0.6"))))
    table.serial = SERIAL
    return ClusterZone(table, DNS_IP)


def ask(zone: ClusterZone, name: str, rrtype: int = w.RRType.A, **kwargs) -> w.Message:
    reply = respond(zone, w.query(name, rrtype, ident=4242, **kwargs))
    assert reply is not None
    return w.parse_message(reply)


def a_records(message: w.Message) -> list[str]:
    return [r.data for r in message.answers if r.type == w.RRType.A]  # type: ignore[misc]


@pytest.mark.parametrize("name,addresses", [
    pytest.param("web.default.svc.cluster.local.", ["127.3.0.1"], id="service"),
    pytest.param("redis-sfs.default.svc.cluster.local.", ["127.2.0.5", "127.2.0.6"],
                 id="headless-every-ready-endpoint"),
    pytest.param("redis-sfs-0.redis-sfs.default.svc.cluster.local.", ["127.2.0.5"],
                 id="pod-record"),
    pytest.param("127-2-0-6.redis-sfs.default.svc.cluster.local.", ["127.2.0.6"],
                 id="endpoint-dashed-ip"),
    pytest.param("127-2-0-9.default.pod.cluster.local.", ["127.2.0.9"], id="pods-insecure"),
    pytest.param("ns.dns.cluster.local.", [DNS_IP], id="the-server-itself"),
    pytest.param("WEB.Default.SVC.cluster.local.", ["127.3.0.1"], id="any-case"),
])
def test_a_records_are_authoritative_with_ttl_5(zone: ClusterZone, name: str,
                                                addresses: list[str]) -> None:
    """Existing names get their A records, TTL 5, owner spelled as asked, AA set, RA clear."""
    reply = ask(zone, name)
    assert reply.header.rcode == w.RCode.NOERROR
    assert reply.header.aa and not reply.header.ra and reply.header.rd
    assert reply.header.id == 4242 and reply.questions == (w.Question(name),)
    assert a_records(reply) == addresses
    assert all(r.ttl == 5 and r.name == name for r in reply.answers)


@pytest.mark.parametrize("name", [
    pytest.param("nosuch.default.svc.cluster.local.", id="unknown-service"),
    pytest.param("web.other.svc.cluster.local.", id="other-namespace"),
    pytest.param("redis-sfs-2.redis-sfs.default.svc.cluster.local.", id="unknown-pod"),
    pytest.param("redis-sfs-0.web.default.svc.cluster.local.", id="pod-under-clusterip"),
    pytest.param("127-2-0-7.redis-sfs.default.svc.cluster.local.", id="not-an-endpoint"),
    pytest.param("foo.cluster.local.", id="under-apex"),
    pytest.param("redis-sfs-0.redis-sfs.svc.cluster.local.", id="search-list-miss"),
])
def test_unknown_names_are_nxdomain_with_the_soa(zone: ClusterZone, name: str) -> None:
    """A name the cluster does not have is NXDOMAIN, with the zone's SOA for negative caching."""
    reply = ask(zone, name)
    assert reply.header.rcode == w.RCode.NXDOMAIN and reply.header.aa
    assert reply.answers == () and reply.authority == (SOA,)


@pytest.mark.parametrize("name,rrtype", [
    pytest.param("web.default.svc.cluster.local.", w.RRType.AAAA, id="aaaa-of-service"),
    pytest.param("redis-sfs-0.redis-sfs.default.svc.cluster.local.", w.RRType.AAAA,
                 id="aaaa-of-pod"),
    pytest.param("web.default.svc.cluster.local.", w.RRType.MX, id="mx"),
    pytest.param("web.default.svc.cluster.local.", w.RRType.SRV, id="srv-ports-untracked"),
    pytest.param("svc.cluster.local.", w.RRType.A, id="svc-non-terminal"),
    pytest.param("pod.cluster.local.", w.RRType.A, id="pod-non-terminal"),
    pytest.param("default.svc.cluster.local.", w.RRType.A, id="namespace"),
    pytest.param("cluster.local.", w.RRType.A, id="apex"),
])
def test_existing_names_without_that_type_are_nodata(zone: ClusterZone, name: str,
                                                     rrtype: int) -> None:
    """NOERROR, no answer, SOA in authority: the name exists, the type does not."""
    reply = ask(zone, name, rrtype)
    assert reply.header.rcode == w.RCode.NOERROR and reply.header.aa
    assert reply.answers == () and reply.authority == (SOA,)


def test_apex_soa_ns_and_schema_version(zone: ClusterZone) -> None:
    """The apex answers SOA and NS (glue: the server's own address); TXT dns-version is 1.1.0."""
    assert ask(zone, "cluster.local.", w.RRType.SOA).answers == (SOA,)
    ns = ask(zone, "cluster.local.", w.RRType.NS)
    assert ns.answers == (w.Record("cluster.local.", w.RRType.NS, 1, 5, "ns.dns.cluster.local."),)
    assert ns.additional == (w.Record("ns.dns.cluster.local.", w.RRType.A, 1, 5, DNS_IP),)
    txt = ask(zone, "dns-version.cluster.local.", w.RRType.TXT)
    assert [(r.data, r.ttl) for r in txt.answers] == [(("1.1.0",), 28800)]


@pytest.mark.parametrize("name,rrtype,targets,rcode", [
    pytest.param("1.0.3.127.in-addr.arpa.", w.RRType.PTR,
                 ["web.default.svc.cluster.local."], w.RCode.NOERROR, id="service-ip"),
    pytest.param("6.0.2.127.in-addr.arpa.", w.RRType.PTR,
                 ["redis-sfs-1.redis-sfs.default.svc.cluster.local."], w.RCode.NOERROR,
                 id="pod-ip"),
    pytest.param("9.9.9.127.in-addr.arpa.", w.RRType.PTR, [], w.RCode.SERVFAIL,
                 id="unknown-ip-falls-through"),
    pytest.param("example.com.", w.RRType.A, [], w.RCode.SERVFAIL, id="outside-the-domain"),
    pytest.param("redis-sfs-0.redis-sfs.", w.RRType.A, [], w.RCode.SERVFAIL,
                 id="as-is-after-the-search-list"),
])
def test_reverse_and_outside_names(zone: ClusterZone, name: str, rrtype: int,
                                   targets: list[str], rcode: int) -> None:
    """PTR for cluster IPs; everything else outside the zone is SERVFAIL (no upstream)."""
    reply = ask(zone, name, rrtype)
    assert reply.header.rcode == rcode
    assert [r.data for r in reply.answers] == targets
    if rcode == w.RCode.SERVFAIL:
        assert not reply.header.aa and reply.authority == ()


def test_answers_follow_the_table(zone: ClusterZone) -> None:
    """A record removed from the table turns into NXDOMAIN at the next query, SOA serial bumped."""
    assert a_records(ask(zone, "web.default.svc.cluster.local.")) == ["127.3.0.1"]
    zone.table.set_group("default", "web", GroupRecords())
    reply = ask(zone, "web.default.svc.cluster.local.")
    assert reply.header.rcode == w.RCode.NXDOMAIN
    soa = reply.authority[0].data
    assert isinstance(soa, w.SOA) and soa.serial > SERIAL


HEADER_ONLY = bytes.fromhex("1234 0100 0001 0000 0000 0000")


@pytest.mark.parametrize("data,rcode", [
    pytest.param(b"\x12\x34\x01\x00\x00\x01garbage", w.RCode.FORMERR, id="garbage-question"),
    pytest.param(HEADER_ONLY, w.RCode.FORMERR, id="question-missing"),
    pytest.param(HEADER_ONLY + b"\x3fgarbage", w.RCode.FORMERR, id="label-past-the-end"),
    pytest.param(bytes.fromhex("1234 0100 0002 0000 0000 0000"), w.RCode.FORMERR,
                 id="two-questions"),
    pytest.param(bytes.fromhex("1234 0140 0001 0000 0000 0000") + b"\x00\x00\x01\x00\x01",
                 w.RCode.FORMERR, id="z-bit"),
    pytest.param(bytes.fromhex("1234 2900 0001 0000 0000 0000") + b"\x00\x00\x06\x00\x01",
                 w.RCode.NOTIMP, id="update-opcode"),
])
def test_bad_queries_are_rejected_header_only(zone: ClusterZone, data: bytes,
                                              rcode: int) -> None:
    """Malformed or unsupported queries get FORMERR/NOTIMP with the query's id and RD."""
    reply = respond(zone, data)
    assert reply is not None
    message = w.parse_message(reply)
    assert message.header.id == 0x1234 and message.header.qr and message.header.rd
    assert message.header.rcode == rcode
    assert message.questions == message.answers == ()


@pytest.mark.parametrize("data", [
    pytest.param(b"\x12\x34\x01", id="shorter-than-header"),
    pytest.param(bytes.fromhex("1234 8100 0001 0000 0000 0000") + b"\x00\x00\x01\x00\x01",
                 id="a-response"),
])
def test_junk_and_responses_get_no_reply(zone: ClusterZone, data: bytes) -> None:
    """Nothing is sent back to what cannot be a query (no reflection, no ping-pong)."""
    assert respond(zone, data) is None


def test_edns_is_echoed_and_bad_versions_refused(zone: ClusterZone) -> None:
    """An OPT record gets one back with our payload size; EDNS version 1 gets BADVERS."""
    reply = ask(zone, "web.default.svc.cluster.local.", udp_size=1232)
    assert reply.opt is not None and reply.opt.klass == 1232
    query = w.encode_message(w.Message(
        w.Header(id=9, rd=True), (w.Question("web.default.svc.cluster.local."),),
        additional=(w.Record(".", w.RRType.OPT, 1232, 1 << 16, b""),)))
    reply_bytes = respond(zone, query)
    assert reply_bytes is not None
    bad = w.parse_message(reply_bytes)
    assert bad.rcode == w.RCode.BADVERS and bad.answers == ()


def test_oversized_udp_answers_are_truncated(zone: ClusterZone) -> None:
    """Past 512 bytes (no EDNS) the answer is dropped and TC set; TCP gets it whole."""
    ips = tuple(f"127.2.1.{i}" for i in range(1, 60))
    zone.table.set_group("default", "big", GroupRecords(service_ip=ips[0], endpoint_ips=ips))
    name = "big.default.svc.cluster.local."
    udp = ask(zone, name)
    assert udp.header.tc and udp.answers == ()
    tcp = respond(zone, w.query(name), tcp=True)
    assert tcp is not None
    assert a_records(w.parse_message(tcp)) == list(ips)
    assert not w.parse_message(tcp).header.tc
