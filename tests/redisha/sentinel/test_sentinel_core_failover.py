"""The sentinel's state machine on a fake clock, without sockets (`fake_world.World`)."""

from __future__ import annotations

from fake_world import World

from redisha.sentinel.actions import FORCED, Purpose
from redisha.sentinel.instances import Address, Conn, ConnState, FailoverState
from redisha.sentinel.settings import SentinelSettings

A = Address("10.0.0.1", 6379)
B = Address("10.0.0.2", 6379)
C = Address("10.0.0.3", 6379)


def kill(world: World, address: Address, *, peers_see_it: bool = True) -> None:
    world.redis[address].hung = True
    if peers_see_it:
        for peer in world.peers.values():
            peer.sees_down.add(address)


def test_a_dead_master_is_failed_over_in_sentinels_order_of_events() -> None:
    """SDOWN, ODOWN with the peers, the election, the promotion of the replica with the
    largest offset, the other replica reconfigured, then +switch-master — in that order."""
    world = World()
    world.settle()
    kill(world, A)
    world.run_until(lambda: world.count("+switch-master") == 1)
    kinds = [e.type for e in world.events]
    expected = ["+sdown", "+odown", "+try-failover", "+elected-leader", "+selected-slave",
                "+promoted-slave", "+slave-reconf-sent", "+slave-reconf-done",
                "+failover-end", "+switch-master"]
    positions = [kinds.index(kind) for kind in expected]
    assert positions == sorted(positions), kinds
    assert "+switch-master mymaster 10.0.0.1 6379 10.0.0.2 6379" in world.event_lines()
    assert world.master.address == B and world.master.config_epoch == 1
    assert world.redis[B].master is None and world.redis[C].master == B
    assert set(world.master.replicas) == {A, C}


def test_the_promoted_master_keeps_a_live_link_after_the_switch() -> None:
    """Real Sentinel's first repeat-failover cause, reproduced: the promotion's CLIENT KILL
    TYPE pubsub drops the sentinel's pub/sub connection to the new master, and Sentinel
    stops PINGing a half-connected instance and reconnects only on its 1 s schedule — past a
    200 ms down-after. Here the new master inherits the promoted replica's link with fresh
    timers, PINGs go on over the command connection and the pub/sub one is reopened at
    once: no +sdown of the new master."""
    world = World(down_after_ms=200, settings=SentinelSettings.quick(
        ping_period=1.0, reconnect_period=1.0))
    world.settle()
    replica_link = world.master.replicas[B].link.id
    kill(world, A)
    world.run_until(lambda: world.count("+switch-master") == 1)
    master = world.master
    assert master.address == B and master.link.id == replica_link
    assert master.link.act_ping_time == 0 and master.link.last_avail_time == world.now
    # The CLIENT KILL TYPE pubsub sent with REPLICAOF NO ONE: our pub/sub connection drops.
    world.core.disconnected(master.link.id, Conn.PUBSUB, world.now)
    world.run(0.02)
    assert master.link.sub is ConnState.UP
    world.run(2.0)
    assert not [e for e in world.event_lines("+sdown") if "master mymaster 10.0.0.2" in e]
    assert world.count("+try-failover") == 1


def test_a_switch_via_hello_also_gives_the_new_master_a_live_link() -> None:
    """A sentinel that learns of the failover from a peer's hello switches too, and the
    new master's link is the one it already had to that replica, PING clock restarted."""
    world = World(down_after_ms=200)
    world.settle()
    link = world.master.replicas[B].link.id
    world.redis[B].master = None  # another sentinel promoted B
    peer = next(iter(world.peers.values()))
    world.core.hello_received(
        f"{peer.address.host},{peer.address.port},{peer.runid},5,mymaster,"
        f"{B.host},{B.port},5", world.now)
    world.pump()
    assert "+switch-master mymaster 10.0.0.1 6379 10.0.0.2 6379" in world.event_lines()
    assert world.master.link.id == link and world.master.link.cmd is ConnState.UP
    assert world.master.link.act_ping_time == 0
    world.run(1.0)
    assert not [e for e in world.event_lines("+sdown") if "master mymaster 10.0.0.2" in e]


def test_answers_about_the_old_master_never_count_toward_odown_of_the_new_one() -> None:
    """Real Sentinel's second repeat-failover cause, reproduced: answers to
    IS-MASTER-DOWN-BY-ADDR asked about the dead master arrive after the switch. Sentinel
    would record them as "master down" and count them for the new master as soon as it
    blinks; here they are tied to the old incarnation, so a blink of the new master past
    down-after is only an SDOWN, with no ODOWN and no second failover."""
    world = World(down_after_ms=200)
    world.settle()
    world.redis[C].sync_delay = 0.1  # the reconfiguration takes a while: asks go on
    holding = {"on": False}

    def hold_late_answers(address: Address, send: object) -> bool:
        return not (holding["on"] and getattr(send, "purpose", None) is Purpose.ASK)

    world.interceptor = hold_late_answers
    kill(world, A)
    world.run_until(lambda: world.count("+promoted-slave") == 1)
    holding["on"] = True
    world.run_until(lambda: world.count("+switch-master") == 1)
    assert any(send.purpose is Purpose.ASK and send.args[2] == A.host
               for send in world.held), "no late answer to deliver"
    # The new master blinks for longer than down-after; the peers no longer answer.
    for peer in world.peers.values():
        peer.answers = False
    world.redis[B].hung = True
    world.run_until(lambda: any("master mymaster 10.0.0.2" in e
                                for e in world.event_lines("+sdown")), limit=2)
    world.release(lambda send: send.purpose is Purpose.ASK and send.args[2] == A.host)
    world.run(0.1)
    assert not any("10.0.0.2" in e for e in world.event_lines("+odown"))
    assert world.count("+try-failover") == 1
    assert all(p.report is None or p.report.incarnation == world.master.incarnation
               for p in world.master.sentinels.values())


def test_sentinel_failover_asks_for_forced_votes_and_promotes_at_once() -> None:
    """SENTINEL FAILOVER with the master still answering (down-after 30 s): the election
    starts at once with the FORCED flag, and a replica is promoted within a tick or two."""
    world = World(down_after_ms=30_000)
    world.settle()
    world.core.failover("mymaster", world.now)
    world.pump()
    asks = [args for _, args in world.sent if args[:2] == ("SENTINEL", "is-master-down-by-addr")]
    assert asks and all(args[-1] == FORCED for args in asks)
    assert "+try-failover master mymaster 10.0.0.1 6379" in world.event_lines()
    took = world.run_until(lambda: world.count("+promoted-slave") == 1, limit=1)
    assert took < 0.5
    assert world.count("+sdown") == 0


def test_the_replica_is_chosen_on_offsets_read_after_the_failover_began() -> None:
    """C received the dead master's last writes after the sentinel's last INFO of it:
    the sentinel asks every replica for INFO when the failover begins and promotes C, the
    replica holding the most data, not B, which the older INFO favoured."""
    world = World(down_after_ms=200, settings=SentinelSettings.quick(info_period=60.0))
    world.settle()
    assert world.master.replicas[B].repl_offset > world.master.replicas[C].repl_offset
    world.redis[C].offset = 5000
    kill(world, A)
    world.run_until(lambda: world.count("+promoted-slave") == 1)
    assert world.event_lines("+promoted-slave")[0].startswith("+promoted-slave slave 10.0.0.3")


def test_no_replica_fit_to_promote_aborts_the_failover() -> None:
    """With every replica at priority 0 the failover ends with -failover-abort-no-good-slave."""
    world = World()
    for server in world.redis.values():
        server.priority = 0
    world.settle()
    kill(world, A)
    world.run_until(lambda: world.count("-failover-abort-no-good-slave") == 1)
    assert world.count("+selected-slave") == 0 and not world.master.in_failover


def test_a_lost_election_aborts_and_waits_before_trying_again() -> None:
    """Peers that voted for another sentinel in our epoch: -failover-abort-not-elected, and
    no new attempt before twice the failover-timeout."""
    world = World(failover_timeout_ms=5000)
    world.settle()
    for peer in world.peers.values():
        peer.votes = {epoch: "f" * 40 for epoch in range(1, 10)}
    kill(world, A)
    world.run_until(lambda: world.count("-failover-abort-not-elected") == 1)
    world.run(2.0)
    assert world.count("+try-failover") == 1
    assert world.count("+elected-leader") == 0


def test_a_promoted_replica_that_does_not_answer_aborts_after_failover_timeout() -> None:
    """The chosen replica hangs just as REPLICAOF NO ONE is sent: the promotion is never
    seen, and -failover-abort-slave-timeout ends the failover once failover-timeout passed."""
    world = World(failover_timeout_ms=500)
    world.settle()

    def hang_at_promotion(address: Address, send: object) -> bool:
        server = world.redis.get(address)
        if server is not None and getattr(send, "args", ("",))[0] == "MULTI":
            server.hung = True
        return server is None or not server.hung

    world.interceptor = hang_at_promotion
    kill(world, A)
    world.run_until(lambda: world.count("+failover-state-wait-promotion") == 1)
    took = world.run_until(lambda: world.count("-failover-abort-slave-timeout") == 1, limit=3)
    assert took >= 0.45
    assert world.master.failover_state is FailoverState.NONE
    assert world.count("+promoted-slave") == 0


def test_replicas_are_reconfigured_parallel_syncs_at_a_time() -> None:
    """With parallel-syncs 1 and three replicas to move, at most one is being reconfigured
    at any moment."""
    world = World(replicas=4)
    world.settle()
    for server in world.redis.values():
        server.sync_delay = 0.05
    kill(world, A)
    world.run_until(lambda: world.count("+promoted-slave") == 1)
    most = 0
    while world.count("+switch-master") == 0:
        busy = sum(1 for r in world.master.replicas.values()
                   if r.reconf.value in ("reconf_sent", "reconf_inprog"))
        most = max(most, busy)
        world.run(0.005)
    assert most == 1
    assert world.count("+slave-reconf-done") == 3


def test_a_returning_old_master_is_converted_to_a_replica() -> None:
    """After the switch the old master comes back still claiming to be a master; once it
    has done so for four hello periods it is told to replicate the new master."""
    world = World()
    world.settle()
    kill(world, A)
    world.run_until(lambda: world.count("+switch-master") == 1)
    world.redis[A].hung = False
    took = world.run_until(lambda: world.count("+convert-to-slave") == 1, limit=3)
    assert took >= 4 * world.core.settings.publish_period
    assert world.redis[A].master == B
    assert world.count("+try-failover") == 1


def test_votes_need_our_own_sdown_unless_forced_and_are_one_per_epoch() -> None:
    """IS-MASTER-DOWN-BY-ADDR with a run id: no vote while we see the master up, unless the
    request is FORCED; one vote per epoch; the vote held back is given at our +sdown."""
    world = World()
    world.settle()
    core = world.core
    down, leader, epoch = core.is_master_down_by_addr(A.host, A.port, 1, "a" * 40,
                                                      forced=False, now=world.now)
    assert (down, leader) == (0, "*") and core.current_epoch == 1
    down, leader, epoch = core.is_master_down_by_addr(A.host, A.port, 2, "b" * 40,
                                                      forced=True, now=world.now)
    assert (leader, epoch) == ("b" * 40, 2)
    down, leader, epoch = core.is_master_down_by_addr(A.host, A.port, 2, "c" * 40,
                                                      forced=True, now=world.now)
    assert (leader, epoch) == ("b" * 40, 2)
    down, leader, epoch = core.is_master_down_by_addr(A.host, A.port, 1, "c" * 40,
                                                      forced=True, now=world.now)
    assert (leader, epoch) == ("b" * 40, 2)


def test_a_vote_held_back_is_given_when_we_see_the_master_down() -> None:
    """A request refused because we still saw the master up is granted at our +sdown, so
    the first sentinel to ask wins instead of everyone starting an election of their own."""
    world = World(down_after_ms=200)
    world.settle()
    core = world.core
    assert core.is_master_down_by_addr(A.host, A.port, 1, "a" * 40, forced=False,
                                       now=world.now)[1] == "*"
    world.redis[A].hung = True
    world.run_until(lambda: world.count("+sdown") == 1)
    assert (world.master.leader, world.master.leader_epoch) == ("a" * 40, 1)
    assert "+vote-for-leader " + "a" * 40 + " 1" in world.event_lines()
