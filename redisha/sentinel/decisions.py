"""Sentinel's decisions as pure functions: no I/O, no clock but the `now` they are given.

Each function answers one question `sentinel.c` answers inline — is this instance down, may
I vote, who won the election, which replica to promote — so that each can be tested on
records built by hand. `core.SentinelCore` applies the answers and emits the events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from redisha.sentinel.instances import (
    Address,
    ConnState,
    FailoverState,
    Master,
    Peer,
    Redis,
    Replica,
    Role,
)

HELLO_CHANNEL = "__sentinel__:hello"


# -- INFO -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InfoReport:
    """The fields of an instance's INFO that Sentinel acts on."""

    run_id: str = ""
    role: Role | None = None
    replicas: tuple[Address, ...] = ()
    """`slaveN:ip=…,port=…` lines (masters only)."""
    master_host: str = ""
    master_port: int = 0
    master_link_up: bool = False
    master_link_down_ms: int = 0
    priority: int = 100
    repl_offset: int = 0
    announced: bool = True


_SLAVE_LINE = re.compile(r"^slave\d+:")


def parse_info(text: str) -> InfoReport:
    """Read INFO's text (`field:value` lines) as `sentinelRefreshInstanceInfo` does."""
    values: dict[str, str] = {}
    replicas: list[Address] = []
    for raw in text.split("\r\n") if "\r\n" in text else text.split("\n"):
        line = raw.strip()
        if _SLAVE_LINE.match(line):
            address = _replica_address(line.split(":", 1)[1])
            if address is not None:
                replicas.append(address)
            continue
        key, sep, value = line.partition(":")
        if sep:
            values[key] = value
    role = {"master": Role.MASTER, "slave": Role.SLAVE}.get(values.get("role", ""))
    run_id = values.get("run_id", "")
    report = InfoReport(
        run_id=run_id if len(run_id) == 40 else "",
        role=role,
        replicas=tuple(replicas) if role is Role.MASTER else (),
        master_link_down_ms=_int(values.get("master_link_down_since_seconds", "0")) * 1000)
    if role is Role.SLAVE:
        report = InfoReport(
            run_id=report.run_id, role=role, replicas=(),
            master_host=values.get("master_host", ""),
            master_port=_int(values.get("master_port", "0")),
            master_link_up=values.get("master_link_status", "") == "up",
            master_link_down_ms=report.master_link_down_ms,
            priority=_int(values.get("slave_priority", "100"), 100),
            repl_offset=_int(values.get("slave_repl_offset", "0")),
            announced=_int(values.get("replica_announced", "1"), 1) != 0)
    return report


def _replica_address(fields: str) -> Address | None:
    """`ip=10.0.0.2,port=6379,state=online,…` (or the old `10.0.0.2,6379,online`)."""
    if "ip=" not in fields:
        parts = fields.split(",")
        if len(parts) < 3:
            return None
        return Address(parts[0], _int(parts[1]))
    pairs = dict(item.partition("=")[::2] for item in fields.split(","))
    if "ip" not in pairs or "port" not in pairs:
        return None
    return Address(pairs["ip"], _int(pairs["port"]))


def _int(text: str, default: int = 0) -> int:
    try:
        return int(text)
    except ValueError:
        return default


# -- hello messages -------------------------------------------------------------------------

@dataclass(frozen=True)
class Hello:
    """`ip,port,runid,current_epoch,master_name,master_ip,master_port,master_config_epoch`."""

    ip: str
    port: int
    runid: str
    current_epoch: int
    master_name: str
    master_ip: str
    master_port: int
    master_config_epoch: int

    def encode(self) -> str:
        return (f"{self.ip},{self.port},{self.runid},{self.current_epoch},"
                f"{self.master_name},{self.master_ip},{self.master_port},"
                f"{self.master_config_epoch}")


def parse_hello(payload: str) -> Hello | None:
    """A hello message, or None when it does not have Sentinel's 8 fields."""
    tokens = payload.split(",")
    if len(tokens) != 8:
        return None
    try:
        return Hello(tokens[0], int(tokens[1]), tokens[2], int(tokens[3]), tokens[4],
                     tokens[5], int(tokens[6]), int(tokens[7]))
    except ValueError:
        return None


# -- failure detection ----------------------------------------------------------------------

def unanswered_for(record: Redis | Peer, now: float) -> float:
    """How long the instance has failed to answer: since the oldest outstanding PING, or
    (with no command connection) since its last valid reply."""
    link = record.link
    if link.act_ping_time:
        return now - link.act_ping_time
    if link.cmd is not ConnState.UP:
        return now - link.last_avail_time
    return 0.0


def subjectively_down(record: Redis | Peer, now: float, *, info_period: float) -> bool:
    """SDOWN: no valid PING reply for down-after; or a master reporting itself a replica
    for down-after plus two INFO periods.

    Only the command connection counts: a pub/sub connection that dropped (say, killed by
    the CLIENT KILL of a promotion) says nothing about whether the instance answers.
    """
    down_after = record.down_after_ms / 1000
    if unanswered_for(record, now) > down_after:
        return True
    return (isinstance(record, Master) and record.role_reported is Role.SLAVE
            and now - record.role_reported_time > down_after + 2 * info_period)


def down_reports(master: Master, now: float, *, validity: float) -> int:
    """Peers whose latest answer says *this incarnation* of the master is down."""
    count = 0
    for peer in master.sentinels.values():
        report = peer.report
        if (report is not None and report.down and report.incarnation == master.incarnation
                and now - report.at <= validity):
            count += 1
    return count


def objectively_down(master: Master, now: float, *, validity: float) -> tuple[bool, int]:
    """ODOWN: SDOWN here and for enough peers to reach the quorum; (odown, count)."""
    if not master.s_down:
        return False, 0
    count = 1 + down_reports(master, now, validity=validity)
    return count >= master.quorum, count


# -- the election ---------------------------------------------------------------------------

@dataclass(frozen=True)
class VoteRequest:
    """`SENTINEL IS-MASTER-DOWN-BY-ADDR ip port epoch runid [FORCED]` with a run id."""

    epoch: int
    runid: str
    forced: bool = False


def may_vote(master: Master, request: VoteRequest, *, my_id: str, current_epoch: int,
             now: float) -> bool:
    """Whether to give our vote for `request.epoch` to `request.runid`.

    Sentinel's rule — one vote per epoch, never for an epoch older than ours — plus three
    of our own, so that there is only ever one decider:

    - a vote for another sentinel needs a reason: we see the master down ourselves, or the
      request is forced (`SENTINEL FAILOVER`, the API saw the master gone);
    - no vote while we lead a failover of this master past the election;
    - no vote for a newer epoch while the sentinel we voted for may still be failing the
      same master over (within failover-timeout of that vote).
    """
    if master.leader_epoch >= request.epoch or current_epoch > request.epoch:
        return False
    if request.runid == my_id:
        return True
    if not (master.s_down or request.forced):
        return False
    if master.failover_state.rank > FailoverState.WAIT_START.rank:
        return False
    recently_elected_another = (
        master.leader and master.leader not in (my_id, request.runid)
        and now - master.voted_at < master.failover_timeout_ms / 1000)
    return not recently_elected_another


@dataclass(frozen=True)
class Tally:
    """Peers' votes in one epoch."""

    votes: dict[str, int] = field(default_factory=dict)

    def leading(self) -> tuple[str, int]:
        """The most voted sentinel and its votes ('' and 0 with no votes)."""
        best, most = "", 0
        for runid, count in self.votes.items():
            if count > most:
                best, most = runid, count
        return best, most


def tally(master: Master, epoch: int) -> Tally:
    """Count the votes peers told us they gave in `epoch`."""
    votes: dict[str, int] = {}
    for peer in master.sentinels.values():
        if peer.leader and peer.leader_epoch == epoch:
            votes[peer.leader] = votes.get(peer.leader, 0) + 1
    return Tally(votes)


def needed_votes(master: Master) -> int:
    """A leader needs a majority of every sentinel known (us included), and the quorum."""
    voters = len(master.sentinels) + 1
    return max(voters // 2 + 1, master.quorum)


def unanswered_voters(master: Master, epoch: int) -> int:
    """Peers that have not told us their vote in `epoch`."""
    return sum(1 for p in master.sentinels.values() if p.leader_epoch != epoch)


# -- choosing the replica -------------------------------------------------------------------

def promotion_key(replica: Replica) -> tuple[int, int, int, str]:
    """Better first: lower priority, larger offset, smaller run id (case-insensitive);
    an unknown run id sorts last."""
    return (replica.priority, -replica.repl_offset, 0 if replica.runid else 1,
            replica.runid.lower())


def promotion_candidates(master: Master, now: float, *, ping_interval: float,
                         info_validity: float) -> list[Replica]:
    """Replicas fit to be promoted, best first (`sentinelSelectSlave`).

    Skipped: SDOWN, no command connection, no valid PING reply for 5 PING intervals,
    priority 0, INFO older than `info_validity`, or a link to the master down for longer
    than ten down-after periods (plus the master's own SDOWN time).
    """
    max_link_down = master.down_after_ms * 10
    if master.s_down:
        max_link_down += int((now - master.s_down_since) * 1000)
    fit = [replica for replica in master.replicas.values()
           if not replica.s_down
           and replica.link.cmd is ConnState.UP
           and now - replica.link.last_avail_time <= ping_interval * 5
           and replica.priority != 0
           and replica.role_reported is Role.SLAVE
           and now - replica.info_refresh <= info_validity
           and replica.master_link_down_time_ms <= max_link_down]
    return sorted(fit, key=promotion_key)


# -- pattern matching -----------------------------------------------------------------------

def glob_match(pattern: str, text: str, *, nocase: bool = False) -> bool:
    """Redis' `stringmatch`: `*`, `?`, `[a-z]`, `[^…]`, and `\\` escapes."""
    if nocase:
        pattern, text = pattern.lower(), text.lower()
    return _match(pattern, 0, text, 0)


def _match(p: str, i: int, s: str, j: int) -> bool:
    while i < len(p):
        c = p[i]
        if c == "*":
            while i + 1 < len(p) and p[i + 1] == "*":
                i += 1
            if i + 1 == len(p):
                return True
            return any(_match(p, i + 1, s, k) for k in range(j, len(s) + 1))
        if j >= len(s):
            return False
        if c == "?":
            i, j = i + 1, j + 1
            continue
        if c == "[":
            end = i + 1
            negate = end < len(p) and p[end] == "^"
            if negate:
                end += 1
            hit = False
            while end < len(p) and p[end] != "]":
                if p[end] == "\\" and end + 1 < len(p):
                    end += 1
                    hit = hit or p[end] == s[j]
                elif end + 2 < len(p) and p[end + 1] == "-" and p[end + 2] != "]":
                    low, high = sorted((p[end], p[end + 2]))
                    hit = hit or low <= s[j] <= high
                    end += 2
                else:
                    hit = hit or p[end] == s[j]
                end += 1
            if hit == negate:
                return False
            i, j = end + 1, j + 1
            continue
        if c == "\\" and i + 1 < len(p):
            i += 1
            c = p[i]
        if c != s[j]:
            return False
        i, j = i + 1, j + 1
    return j == len(s)
