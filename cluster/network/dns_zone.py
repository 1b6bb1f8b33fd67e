"""What the cluster DNS server answers for one question, as CoreDNS would (pure).

The reference is CoreDNS with kubeadm's Corefile (`kubernetes cluster.local in-addr.arpa
ip6.arpa { pods insecure; fallthrough in-addr.arpa ip6.arpa }`, default `ttl 5`) minus its
`forward . /etc/resolv.conf`: an embedded cluster has no upstream. So:

- **In the cluster domain** the answer is authoritative (AA set, RA clear — "recursion
  requested but not available", as dig says of kube-dns):
  - A: the name's addresses, TTL 5 — a Service's ClusterIP, every ready endpoint of a
    headless Service, a pod's `<hostname>.<subdomain>` record, an endpoint's dashed-IP
    name (`127-2-0-5.<svc>.<ns>.svc…`), `<a-b-c-d>.<ns>.pod.<domain>` (`pods insecure`)
    and `ns.dns.<domain>` (the server itself);
  - a name that exists but has no record of the asked type — AAAA of a Service (the
    cluster is IPv4-only), MX, SRV (ports are not tracked) … — is NOERROR with no answer
    (NODATA); so are the zone's empty non-terminals: `<domain>`, `svc.<domain>`,
    `pod.<domain>`, `<ns>.svc.<domain>` for a namespace with Services;
  - any other name is NXDOMAIN. Both negative answers carry the zone's SOA in the
    authority section (`ns.dns.<domain>. hostmaster.<domain>. <serial> 7200 1800 86400
    5`, TTL 5), which is what resolvers cache negatively (RFC 2308);
  - SOA and NS at the apex, and TXT `dns-version.<domain>` (`1.1.0`, the schema version
    CoreDNS reports), are answered too.
- **Reverse names** (`in-addr.arpa`): PTR for a Service's ClusterIP or a pod record's IP;
  anything else falls through to the next plugin.
- **Outside the cluster domain**, and reverse names that fall through: the kubernetes
  plugin passes the query on, finds no next plugin, and the server answers SERVFAIL.

A stub resolver never sends us a relative name: it applies the pod's search list itself
(see `resolv`), so `redis-sfs-0.redis-sfs` arrives as
`redis-sfs-0.redis-sfs.default.svc.cluster.local.` first, and as itself last.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cluster.network.dns import DNSTable
from cluster.network.dns_wire import CLASS_IN, SOA, Question, RCode, Record, RRType

TTL = 5
"""CoreDNS's kubernetes plugin default (`ttl 5`)."""

SOA_REFRESH, SOA_RETRY, SOA_EXPIRE = 7200, 1800, 86400
SCHEMA_TTL = 28800
SCHEMA_VERSION = "1.1.0"
"""The DNS schema version of Kubernetes' DNS specification, which CoreDNS serves as TXT."""

REVERSE_V4 = "in-addr.arpa"


@dataclass(frozen=True)
class Reply:
    """The parts of a response the zone decides; the server adds the header and EDNS."""

    rcode: int = RCode.NOERROR
    authoritative: bool = True
    answers: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()


SERVFAIL = Reply(rcode=RCode.SERVFAIL, authoritative=False)


def _dashed_ipv4(label: str) -> str | None:
    """`127-2-0-5` → `127.2.0.5`; None for anything else."""
    parts = label.split("-")
    if len(parts) != 4:
        return None
    try:
        return str(ipaddress.IPv4Address(".".join(parts)))
    except ValueError:
        return None


def _reverse_ipv4(name: str) -> str | None:
    """`5.0.2.127.in-addr.arpa` → `127.2.0.5`; None when not a full IPv4 reverse name."""
    labels = name.removesuffix("." + REVERSE_V4).split(".")
    if len(labels) != 4 or not name.endswith("." + REVERSE_V4):
        return None
    try:
        return str(ipaddress.IPv4Address(".".join(reversed(labels))))
    except ValueError:
        return None


class ClusterZone:
    """Answers questions from a `DNSTable`, read at the moment each question arrives."""

    def __init__(self, table: DNSTable, dns_ip: str, *, ttl: int = TTL) -> None:
        self.table = table
        self.dns_ip = dns_ip
        self.ttl = ttl

    @property
    def domain(self) -> str:
        return self.table.domain.lower().strip(".")

    # -- the zone's own records ------------------------------------------------------------

    def soa(self) -> Record:
        zone = self.domain + "."
        return Record(zone, RRType.SOA, CLASS_IN, min(self.ttl, 300), SOA(
            f"ns.dns.{zone}", f"hostmaster.{zone}", self.table.serial & 0xFFFFFFFF,
            SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, self.ttl))

    def _negative(self, rcode: int) -> Reply:
        return Reply(rcode=rcode, authority=(self.soa(),))

    # -- lookups ---------------------------------------------------------------------------

    def _in_zone(self, name: str) -> bool:
        return name == self.domain or name.endswith("." + self.domain)

    def addresses(self, name: str) -> tuple[str, ...]:
        """The A records of a lower-case name without the trailing dot."""
        found = self.table.addresses(name)
        if found:
            return found
        domain = self.domain
        if name == f"ns.dns.{domain}":
            return (self.dns_ip,)
        head, _, rest = name.partition(".")
        ip = _dashed_ipv4(head)
        if ip is None:
            return ()
        labels = rest.removesuffix("." + domain).split(".")
        if len(labels) == 2 and labels[1] == "pod" and rest.endswith("." + domain):
            return (ip,)  # pods insecure: any dashed address in any namespace
        if len(labels) == 3 and labels[2] == "svc" and rest.endswith("." + domain):
            group = self.table.group(labels[1], labels[0])
            if ip in group.endpoint_ips:
                return (ip,)
        return ()

    def exists(self, name: str) -> bool:
        """Whether the name exists in the zone (with records of some type, or as an empty
        non-terminal) — what separates NODATA from NXDOMAIN."""
        domain = self.domain
        if name in (domain, f"svc.{domain}", f"pod.{domain}", f"dns-version.{domain}"):
            return True
        if self.addresses(name):
            return True
        labels = name.removesuffix("." + domain).split(".")
        return len(labels) == 2 and labels[1] == "svc" and self.table.has_namespace(labels[0])

    # -- answering -------------------------------------------------------------------------

    def answer(self, question: Question) -> Reply:
        """The reply to one question (any class other than IN is out of every zone)."""
        name = question.name.lower().rstrip(".")
        if question.klass != CLASS_IN:
            return SERVFAIL
        if self._in_zone(name):
            return self._answer_in_zone(question, name)
        if name.endswith("." + REVERSE_V4) and question.type == RRType.PTR:
            ip = _reverse_ipv4(name)
            targets = self.table.reverse(ip) if ip is not None else []
            if targets:
                return Reply(answers=tuple(
                    Record(question.name, RRType.PTR, CLASS_IN, self.ttl, target + ".")
                    for target in targets))
        return SERVFAIL

    def _answer_in_zone(self, question: Question, name: str) -> Reply:
        qtype = question.type
        domain = self.domain
        if qtype == RRType.A:
            found = self.addresses(name)
            if found:
                return Reply(answers=tuple(
                    Record(question.name, RRType.A, CLASS_IN, self.ttl, ip) for ip in found))
        elif qtype == RRType.SOA and name == domain:
            return Reply(answers=(self.soa(),))
        elif qtype == RRType.NS and name == domain:
            server = f"ns.dns.{domain}."
            return Reply(answers=(Record(domain + ".", RRType.NS, CLASS_IN, self.ttl, server),),
                         additional=(Record(server, RRType.A, CLASS_IN, self.ttl,
                                            self.dns_ip),))
        elif qtype == RRType.TXT and name == f"dns-version.{domain}":
            return Reply(answers=(Record(question.name, RRType.TXT, CLASS_IN, SCHEMA_TTL,
                                         (SCHEMA_VERSION,)),))
        return self._negative(RCode.NOERROR if self.exists(name) else RCode.NXDOMAIN)
