"""The checker's invariants on recorded trials: no cluster, only records."""

from __future__ import annotations

import dataclasses

import pytest
from scenario_records import (
    SERVER,
    A,
    B,
    C,
    event,
    failed,
    records,
    refused,
    steady_failover,
    switch,
    whole,
    write,
)

from redisha.scenario.checker import (
    Expectation,
    RedisView,
    SentinelView,
    Topology,
    count_failovers,
    judge,
    outage,
    split_brain,
    summarize,
    topology_problems,
    writable_terms,
)

ONE_FAILOVER = (switch(10.05, A, B, "s1"), switch(10.06, A, B, "s2"),
                switch(10.2, A, B, "s3"))


def test_a_clean_failover_passes_with_its_figures() -> None:
    """One switch, nothing lost, one writable primary at a time: ok, with the outage."""
    verdict = judge(records(steady_failover(), events=ONE_FAILOVER), Expectation())
    assert verdict.failures == ()
    assert (verdict.unavailable_ms, verdict.lost, verdict.failovers,
            verdict.max_writable_primaries, verdict.acked) == (400.0, 0, 1, 1, 20)
    assert verdict.timeline["switch"] == 50.0
    assert verdict.timeline["first_ack"] == 300.0
    assert verdict.timeline["recovered"] == 1000.0


def test_an_acknowledged_write_missing_from_the_new_primary_is_lost() -> None:
    """A key acknowledged before the fault and absent afterwards is counted and fails."""
    writes = steady_failover()
    present = {w.key: w.value for w in writes if w.acked}
    present[writes[9].key] = None
    verdict = judge(records(writes, events=ONE_FAILOVER, present=present), Expectation())
    assert verdict.lost == 1
    assert verdict.lost_keys == (writes[9].key,)
    assert any("1 acknowledged writes lost" in f for f in verdict.failures)


def test_a_key_holding_another_value_is_lost_too() -> None:
    """The value is compared, not only the key's presence."""
    writes = steady_failover()
    present = {w.key: w.value for w in writes if w.acked}
    present[writes[0].key] = "something else"
    assert judge(records(writes, present=present, events=ONE_FAILOVER),
                 Expectation()).lost == 1


def test_unacknowledged_writes_may_be_missing() -> None:
    """With --writer wait, a write WAIT did not confirm is not owed to anyone."""
    writes = steady_failover() + [write(10.05, A, seq=999, acked=False)]
    present = {w.key: w.value for w in writes if w.acked}
    verdict = judge(records(writes, present=present, events=ONE_FAILOVER), Expectation())
    assert (verdict.lost, verdict.failures) == (0, ())


def test_two_primaries_accepting_writes_at_once_fail() -> None:
    """A, then B, then A again: both were writable over the same stretch."""
    writes = steady_failover() + [write(10.55, A, seq=500)]
    verdict = judge(records(writes, events=ONE_FAILOVER), Expectation())
    assert verdict.max_writable_primaries == 2
    assert verdict.split_brain_ms == pytest.approx(250.0)
    assert any("2 primaries accepted writes at once" in f for f in verdict.failures)


def test_a_refused_write_ends_a_primarys_term() -> None:
    """A refuses a write (READONLY) before B takes over: no overlap, even if A is promoted
    again once B has stopped."""
    writes = [write(9.0, A, seq=1), write(9.5, A, seq=2), refused(10.1, A),
              write(10.3, B, seq=3), write(10.4, B, seq=4), refused(10.5, B),
              write(10.6, A, seq=5)]
    terms = writable_terms(writes)
    assert [(t.server, t.start, t.end) for t in terms] == [
        (SERVER[A], 9.0, 9.5), (SERVER[B], 10.3, 10.4), (SERVER[A], 10.6, 10.6)]
    assert split_brain(terms).max_writable == 1


def test_a_restarted_server_at_the_same_address_is_a_new_term() -> None:
    """Terms are per server run id: a pod restarted in place is not its old self."""
    writes = [write(9.0, A, seq=1), write(10.5, B, seq=2)]
    writes.append(dataclasses.replace(write(10.6, A, seq=3), server=f"{A}:6379#new1"))
    writes.append(write(10.7, B, seq=4))
    assert split_brain(writable_terms(writes)).max_writable == 2
    assert len(writable_terms(writes)) == 3


@pytest.mark.parametrize(("events", "expected"), [
    pytest.param(ONE_FAILOVER, 1, id="three-sentinels-one-switch"),
    pytest.param((switch(10.1, A, B), switch(11.0, B, C), switch(11.1, B, C, "s2")), 2,
                 id="repeat-to-a-third"),
    pytest.param((switch(10.1, A, B), switch(11.0, B, A)), 2, id="flip-back"),
    pytest.param((switch(10.1, A, B), switch(11.0, B, C, "s1"), switch(11.2, A, B, "s3")), 2,
                 id="late-sentinel-repeats-an-old-switch"),
    pytest.param((), 0, id="none"),
    pytest.param((switch(10.1, A, B), event(11.0, "+monitor", f"master mymaster {C} 6379 quorum 2"),
                  event(11.1, "+monitor", f"master mymaster {C} 6379 quorum 2")), 2,
                 id="operator-repair-after-a-failover"),
    pytest.param((event(11.0, "+monitor", f"master mymaster {A} 6379 quorum 2"),), 0,
                 id="monitor-of-the-current-primary"),
])
def test_failovers_are_counted_once_however_many_sentinels_announce_them(
        events: tuple, expected: int) -> None:
    """+switch-master from every sentinel is one failover; a new master is another, and so
    is the operator's repair (+monitor of another address)."""
    assert count_failovers(events, A) == expected


def test_changes_before_the_fault_are_not_counted() -> None:
    """Only what happened after the fault is the fault's doing."""
    assert count_failovers((switch(9.0, C, A), switch(10.1, A, B)), C, since=10.0) == 1


def test_a_repeated_failover_fails_the_trial() -> None:
    """Two switches for one fault fail (the fault allows one)."""
    events = (*ONE_FAILOVER, switch(10.8, B, C), switch(10.81, B, C, "s2"))
    verdict = judge(records(steady_failover(), events=events, topology=whole(C, (A, B))),
                    Expectation())
    assert verdict.failovers == 2
    assert any("2 failovers for one fault" in f for f in verdict.failures)


def test_a_failover_where_none_is_due_fails() -> None:
    """kill-sentinel allows no failover at all."""
    verdict = judge(records(steady_failover(), events=ONE_FAILOVER),
                    Expectation(max_failovers=0))
    assert any("1 failovers for one fault (at most 0" in f for f in verdict.failures)


def test_no_acknowledged_write_after_the_fault_fails() -> None:
    """A writer that never got through again means no recovery, whatever else holds."""
    writes = [write(9.0 + i * 0.1, A, seq=i) for i in range(10)] + [failed(10.5)]
    verdict = judge(records(writes, recovered_at=None), Expectation())
    assert verdict.unavailable_ms is None
    assert "no acknowledged write after the fault" in verdict.failures
    assert "did not recover before the deadline" in verdict.failures


def test_the_outage_is_the_longest_gap_up_to_recovery() -> None:
    """Several restarts (rolling-restart): the longest stretch without acks counts."""
    writes = [write(t, A if t < 11 else B, seq=i)
              for i, t in enumerate([9.9, 10.05, 10.1, 10.6, 10.65, 11.5, 11.51])]
    gap = outage(writes, fault_at=10.0, until=12.0)
    assert gap is not None
    assert (gap.last_before, gap.first_after) == (10.65, 11.5)


def test_the_side_writers_acks_do_not_measure_availability() -> None:
    """Only the main writer's acknowledged writes end the outage."""
    writes = steady_failover() + [write(10.15, A, seq=700, writer="side", acked=False)]
    assert outage(writes, 10.0).first_after == 10.3


def test_the_cut_off_primary_may_write_for_its_allowance_only() -> None:
    """partition-primary: two writable primaries for a while pass; past the window fail."""
    side = [write(10.0 + i * 0.2, A, seq=300 + i, writer="side", acked=False)
            for i in range(1, 8)]
    writes = steady_failover() + side + [refused(11.7, A, "NOREPLICAS Not enough good "
                                                      "replicas to write.")]
    present = {w.key: w.value for w in writes if w.acked}
    allowed = judge(records(writes, events=ONE_FAILOVER, present=present),
                    Expectation(writable_window_ms=3000))
    assert allowed.failures == ()
    assert allowed.max_writable_primaries == 2
    assert allowed.timeline["old_primary_last_write"] == pytest.approx(1400.0)
    too_long = judge(records(writes, events=ONE_FAILOVER, present=present),
                     Expectation(writable_window_ms=1000))
    assert any("accepted writes for 1400 ms" in f for f in too_long.failures)


def test_timeline_takes_the_first_master_events_after_the_fault() -> None:
    """A replica's or a sentinel's +sdown is not the master's; events before are ignored."""
    events = (event(9.0, "+sdown"), event(10.2, "+sdown", f"slave {C}:6379 {C} 6379 @ "
                                                        f"mymaster {A} 6379"),
              event(10.5, "+sdown"), event(10.6, "+odown"), event(10.7, "+elected-leader"),
              event(10.75, "+promoted-slave", f"slave {B}:6379 {B} 6379 @ mymaster {A} 6379"),
              switch(10.8, A, B))
    line = judge(records(steady_failover(), events=events), Expectation()).timeline
    assert {k: line[k] for k in ("fault", "sdown", "odown", "elected", "promoted", "switch")} \
        == {"fault": 0.0, "sdown": 500.0, "odown": 600.0, "elected": 700.0, "promoted": 750.0,
            "switch": 800.0}


@pytest.mark.parametrize(("topology", "problem"), [
    pytest.param(Topology(redis=(RedisView("p", A, "master"), RedisView("q", B, "master"),
                                 RedisView("r", C, "slave", A, True)), endpoints=(A,)),
                 "2 primaries", id="two-primaries"),
    pytest.param(Topology(redis=(RedisView("p", A, "slave", B, False),
                                 RedisView("q", B, "slave", C, True),
                                 RedisView("r", C, "slave", A, True)), endpoints=()),
                 "no primary", id="no-primary"),
    pytest.param(Topology(redis=(RedisView("p", A, "master"), RedisView("q", B, "slave", C, True),
                                 RedisView("r", C, "slave", A, True)), endpoints=(A,),
                          sentinels=whole(A, (B, C)).sentinels),
                 "replica q (10.0.0.2) follows 10.0.0.3", id="replica-follows-another"),
    pytest.param(Topology(redis=(RedisView("p", A, "master"), RedisView("q", B, "slave", A, False),
                                 RedisView("r", C, "slave", A, True)), endpoints=(A,),
                          sentinels=whole(A, (B, C)).sentinels),
                 "has its link to the primary down", id="link-down"),
    pytest.param(Topology(redis=whole(A, (B, C)).redis, endpoints=(B,),
                          sentinels=whole(A, (B, C)).sentinels),
                 "the primary Service points at [10.0.0.2]", id="service-elsewhere"),
    pytest.param(Topology(redis=whole(A, (B, C)).redis, endpoints=(A,),
                          sentinels=(*whole(A, (B, C)).sentinels[:2],
                                     SentinelView("rfs-2", "10.0.1.2", B))),
                 "sentinel rfs-2 (10.0.1.2) names 10.0.0.2", id="sentinel-disagrees"),
    pytest.param(Topology(redis=whole(A, (B,)).redis, endpoints=(A,),
                          sentinels=whole(A, (B, C)).sentinels),
                 "2 redis pods running, 3 expected", id="pod-missing"),
    pytest.param(Topology(redis=(*whole(A, (B,)).redis, RedisView("r", C, error="timeout")),
                          endpoints=(A,), sentinels=whole(A, (B, C)).sentinels),
                 "redis pod r (10.0.0.3) did not answer ROLE: timeout", id="silent-pod"),
])
def test_topology_problems_name_what_is_wrong(topology: Topology, problem: str) -> None:
    """Each broken invariant of the topology is reported in words."""
    problems = topology_problems(topology)
    assert any(problem in p for p in problems), problems


def test_a_whole_topology_has_no_problem() -> None:
    """One primary, its replicas, the Service and the sentinels on it: nothing to say."""
    assert topology_problems(whole()) == []


def test_summary_spreads_unavailability_and_takes_the_worst_of_the_rest() -> None:
    """min/median/max over the trials; lost summed; worst failovers and split brain."""
    ok = judge(records(steady_failover(), events=ONE_FAILOVER), Expectation())
    worse = judge(records(steady_failover() + [write(10.55, A, seq=500)],
                          events=(*ONE_FAILOVER, switch(10.9, B, C))), Expectation())
    summary = summarize([ok, worse, ok])
    assert summary.unavailable_ms == {"min": 400.0, "median": 400.0, "max": 400.0}
    assert (summary.max_failovers, summary.max_writable_primaries, summary.ok) == (2, 2, False)
    assert summarize([ok, ok]).ok
