"""How a failover ends when the promoted replica dies during reconfiguration (fake clock)."""

from __future__ import annotations

from fake_world import World

from redisha.sentinel.instances import Address, FailoverState

A = Address("10.0.0.1", 6379)
B = Address("10.0.0.2", 6379)
C = Address("10.0.0.3", 6379)


def delete(world: World, address: Address) -> None:
    """The pod is gone: connections refused, nothing answered, peers see it down."""
    world.redis[address].alive = False
    world.redis[address].hung = True
    for peer in world.peers.values():
        peer.sees_down.add(address)


def _promote_b_then_delete_it(world: World) -> None:
    """A forced failover of the deleted A promotes B; B is deleted before C syncs from it."""
    world.settle()
    world.redis[C].sync_delay = 30.0
    delete(world, A)
    world.core.failover("mymaster", world.now)
    world.pump()
    world.run_until(lambda: world.count("+promoted-slave") == 1, limit=2)
    assert world.event_lines("+promoted-slave")[0].startswith("+promoted-slave slave 10.0.0.2")
    delete(world, B)


def test_a_failover_whose_promoted_replica_died_ends_at_failover_timeout() -> None:
    """Reconfiguration cannot finish with the promoted replica gone: the failover still ends
    for timeout (+failover-end-for-timeout, +failover-end) and the master is switched to
    the promoted replica, as the peers already learned from our hellos."""
    world = World(down_after_ms=200, failover_timeout_ms=1000)
    _promote_b_then_delete_it(world)
    promoted_at = world.now
    took = world.run_until(lambda: world.count("+switch-master") >= 1, limit=3)
    assert 1.0 <= took <= 1.5, took
    assert world.count("+failover-end-for-timeout") == 1 and world.count("+failover-end") == 1
    assert "+switch-master mymaster 10.0.0.1 6379 10.0.0.2 6379" in world.event_lines()
    assert world.master.address == B and world.master.config_epoch == 1
    assert world.now - promoted_at < 2 * 1.0


def test_the_dead_promoted_master_is_failed_over_again_once_found_down() -> None:
    """After the switch the new master B is found SDOWN, then ODOWN with the peers, and a
    second failover (a new epoch) promotes C. B's link, inherited by the master record, is
    full of unanswered commands: its outstanding PING must still count, or B is never
    PINGed again and never found down."""
    world = World(down_after_ms=200, failover_timeout_ms=1000)
    _promote_b_then_delete_it(world)
    world.run_until(lambda: world.count("+switch-master") == 2, limit=6)
    lines = world.event_lines()
    assert "+switch-master mymaster 10.0.0.2 6379 10.0.0.3 6379" in lines
    kinds = [(e.type, e.text) for e in world.events]
    second_sdown = kinds.index(("+sdown", "master mymaster 10.0.0.2 6379"))
    first_switch = next(i for i, (kind, _) in enumerate(kinds) if kind == "+switch-master")
    assert first_switch < second_sdown
    assert world.event_lines("+odown") == [
        "+odown master mymaster 10.0.0.1 6379 #quorum 3/2",
        "+odown master mymaster 10.0.0.2 6379 #quorum 3/2"]
    assert world.count("+try-failover") == 2
    assert world.master.address == C and world.master.config_epoch == 2
    assert world.master.failover_state is FailoverState.NONE
    assert world.redis[C].master is None
