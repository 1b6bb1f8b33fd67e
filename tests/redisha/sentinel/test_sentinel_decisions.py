"""Sentinel's decisions as pure functions, on records built by hand."""

from __future__ import annotations

import pytest

from redisha.sentinel import decisions
from redisha.sentinel.decisions import Hello, VoteRequest
from redisha.sentinel.instances import (
    Address,
    ConnState,
    DownReport,
    FailoverState,
    Link,
    Master,
    Peer,
    Replica,
    Role,
)

NOW = 1000.0


def link(*, cmd: ConnState = ConnState.UP, sub: ConnState = ConnState.UP,
         act_ping: float = 0.0, avail: float = NOW) -> Link:
    made = Link(id=1, pubsub=True, cmd=cmd, sub=sub)
    made.act_ping_time, made.last_avail_time = act_ping, avail
    return made


def master(**fields: object) -> Master:
    made = Master(address=Address("10.0.0.1", 6379), link=link(), name="mymaster",
                  down_after_ms=1000, quorum=2, failover_timeout_ms=10_000)
    for key, value in fields.items():
        setattr(made, key, value)
    return made


def peer(runid: str, report: DownReport | None = None, leader: str = "",
         epoch: int = 0) -> Peer:
    return Peer(address=Address("10.0.1.1", 26379), link=link(), runid=runid, report=report,
                leader=leader, leader_epoch=epoch)


def test_info_of_a_master_and_of_a_replica() -> None:
    """INFO's run id, role, replicas (new and old slaveN formats) and replica fields."""
    primary = decisions.parse_info(
        "# Server\r\nrun_id:" + "a" * 40 + "\r\n# Replication\r\nrole:master\r\n"
        "slave0:ip=10.0.0.2,port=6379,state=online,offset=10,lag=0\r\n"
        "slave1:10.0.0.3,6380,online\r\n")
    assert primary.run_id == "a" * 40 and primary.role is Role.MASTER
    assert primary.replicas == (Address("10.0.0.2", 6379), Address("10.0.0.3", 6380))
    replica = decisions.parse_info(
        "role:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:down\r\n"
        "master_link_down_since_seconds:3\r\nslave_repl_offset:42\r\nslave_priority:10\r\n"
        "replica_announced:0\r\n")
    assert (replica.role, replica.master_host, replica.master_port) == (
        Role.SLAVE, "10.0.0.1", 6379)
    assert (replica.master_link_up, replica.master_link_down_ms, replica.repl_offset,
            replica.priority, replica.announced) == (False, 3000, 42, 10, False)


def test_hello_messages_round_trip_and_malformed_ones_are_ignored() -> None:
    """The 8-field hello is read back as written; anything else is None."""
    hello = Hello("10.0.1.1", 26379, "b" * 40, 7, "mymaster", "10.0.0.1", 6379, 3)
    assert decisions.parse_hello(hello.encode()) == hello
    assert decisions.parse_hello("1,2,3") is None
    assert decisions.parse_hello("a,b,c,d,e,f,g,h") is None


@pytest.mark.parametrize(("link_state", "down"), [
    pytest.param(link(act_ping=NOW - 1.2), True, id="ping-unanswered-past-down-after"),
    pytest.param(link(act_ping=NOW - 0.8, avail=NOW - 1.5), False,
                 id="ping-unanswered-within-down-after"),
    pytest.param(link(cmd=ConnState.DOWN, avail=NOW - 1.2), True, id="no-connection-for-long"),
    pytest.param(link(cmd=ConnState.CONNECTING, avail=NOW - 0.5), False,
                 id="reconnecting-briefly"),
    pytest.param(link(sub=ConnState.DOWN, avail=NOW - 5), False,
                 id="only-pubsub-down-says-nothing"),
])
def test_subjectively_down_counts_only_the_command_connections_silence(
        link_state: Link, down: bool) -> None:
    """SDOWN: no valid reply to a PING for down-after (or no command connection that
    long); a dropped pub/sub connection alone never makes an instance down."""
    record = master(link=link_state)
    assert decisions.subjectively_down(record, NOW, info_period=10) is down


def test_a_master_reporting_itself_a_replica_is_down_after_two_info_periods() -> None:
    """Down-after plus two INFO periods of `role:slave` from the master is SDOWN."""
    record = master(role_reported=Role.SLAVE, role_reported_time=NOW - 1.1)
    assert not decisions.subjectively_down(record, NOW, info_period=0.1)
    record.role_reported_time = NOW - 1.3
    assert decisions.subjectively_down(record, NOW, info_period=0.1)


def test_odown_counts_only_fresh_reports_about_this_incarnation() -> None:
    """A report about the previous incarnation, or an old one, is not a vote for ODOWN."""
    record = master(s_down=True, incarnation=2)
    record.sentinels = {
        "p1": peer("p1", DownReport(incarnation=1, down=True, at=NOW)),
        "p2": peer("p2", DownReport(incarnation=2, down=True, at=NOW - 10)),
        "p3": peer("p3", DownReport(incarnation=2, down=False, at=NOW)),
    }
    assert decisions.objectively_down(record, NOW, validity=1.0) == (False, 1)
    record.sentinels["p4"] = peer("p4", DownReport(incarnation=2, down=True, at=NOW))
    assert decisions.objectively_down(record, NOW, validity=1.0) == (True, 2)
    record.s_down = False
    assert decisions.objectively_down(record, NOW, validity=1.0) == (False, 0)


ME = "m" * 40
OTHER = "o" * 40


@pytest.mark.parametrize(("state", "request_", "current", "allowed"), [
    pytest.param({"s_down": True}, VoteRequest(5, OTHER), 4, True, id="sdown-new-epoch"),
    pytest.param({}, VoteRequest(5, OTHER), 4, False, id="not-down-not-forced"),
    pytest.param({}, VoteRequest(5, OTHER, forced=True), 4, True, id="forced"),
    pytest.param({"s_down": True, "leader_epoch": 5}, VoteRequest(5, OTHER), 5, False,
                 id="already-voted-this-epoch"),
    pytest.param({"s_down": True}, VoteRequest(3, OTHER), 4, False, id="older-epoch"),
    pytest.param({}, VoteRequest(5, ME), 4, True, id="self-vote"),
    pytest.param({"s_down": True, "failover_state": FailoverState.RECONF_SLAVES},
                 VoteRequest(5, OTHER), 4, False, id="we-are-leading-a-failover"),
    pytest.param({"s_down": True, "leader": "x" * 40, "leader_epoch": 4, "voted_at": NOW - 1},
                 VoteRequest(5, OTHER), 4, False, id="voted-for-another-recently"),
    pytest.param({"s_down": True, "leader": "x" * 40, "leader_epoch": 4, "voted_at": NOW - 11},
                 VoteRequest(5, OTHER), 4, True, id="voted-for-another-long-ago"),
])
def test_who_gets_our_vote(state: dict[str, object], request_: VoteRequest, current: int,
                           allowed: bool) -> None:
    """One vote per epoch, never for an old epoch; for another sentinel only with a
    reason (SDOWN, or forced); not while we lead, nor against a leader we just elected."""
    record = master(**state)
    assert decisions.may_vote(record, request_, my_id=ME, current_epoch=current,
                              now=NOW) is allowed


def test_tally_and_majority() -> None:
    """Votes are counted per epoch; the winner needs a majority of all known sentinels
    and at least the quorum."""
    record = master(quorum=3)
    record.sentinels = {f"p{i}": peer(f"p{i}", leader=OTHER, epoch=7) for i in range(2)}
    record.sentinels["p9"] = peer("p9", leader=OTHER, epoch=6)
    assert decisions.tally(record, 7).leading() == (OTHER, 2)
    assert decisions.needed_votes(record) == 3
    assert decisions.unanswered_voters(record, 7) == 1


def replica(host: str, *, priority: int = 100, offset: int = 0, runid: str = "",
            **fields: object) -> Replica:
    made = Replica(address=Address(host, 6379), link=link(), runid=runid, priority=priority,
                   repl_offset=offset, role_reported=Role.SLAVE, info_refresh=NOW)
    for key, value in fields.items():
        setattr(made, key, value)
    return made


def test_replicas_are_ranked_by_priority_then_offset_then_run_id() -> None:
    """Lower priority first, then the larger offset, then the smaller run id; an unknown
    run id last; priority 0, SDOWN, disconnected and stale replicas are never chosen."""
    record = master()
    candidates = [
        replica("10.0.0.2", priority=10, offset=5, runid="b" * 40),
        replica("10.0.0.3", priority=10, offset=9, runid="c" * 40),
        replica("10.0.0.4", priority=10, offset=9, runid="A" * 40),
        replica("10.0.0.5", priority=10, offset=9, runid=""),
        replica("10.0.0.6", priority=1, offset=0, runid="z" * 40),
        replica("10.0.0.7", priority=0, offset=99),
        replica("10.0.0.8", offset=99, s_down=True),
        replica("10.0.0.9", offset=99, link=link(cmd=ConnState.DOWN)),
        replica("10.0.0.10", offset=99, info_refresh=NOW - 100),
        replica("10.0.0.11", offset=99, link=link(avail=NOW - 100)),
    ]
    record.replicas = {r.address: r for r in candidates}
    ranked = decisions.promotion_candidates(record, NOW, ping_interval=1.0, info_validity=30)
    assert [r.address.host for r in ranked] == [
        "10.0.0.6", "10.0.0.4", "10.0.0.3", "10.0.0.5", "10.0.0.2"]


@pytest.mark.parametrize(("pattern", "text", "hit"), [
    ("*", "anything", True), ("my*", "mymaster", True), ("my?aster", "mymaster", True),
    ("m[xy]master", "mymaster", True), ("m[^y]master", "mymaster", False),
    ("m[a-z]master", "mymaster", True), (r"\*", "*", True), ("+*", "+switch-master", True),
    ("other", "mymaster", False),
])
def test_glob_patterns_match_like_redis(pattern: str, text: str, hit: bool) -> None:
    """RESET and PSUBSCRIBE patterns follow Redis' stringmatch."""
    assert decisions.glob_match(pattern, text) is hit
