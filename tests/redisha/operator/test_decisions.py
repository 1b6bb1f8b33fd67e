"""The operator's rules as pure functions over hand-built observations."""

from __future__ import annotations

import pytest

from redisha.operator import decisions
from redisha.operator import spec as spec_mod
from redisha.operator.decisions import FixKind, Timing, Tuning
from redisha.operator.manifests import NOWHERE
from redisha.operator.nodes import NodeInfo, Role
from redisha.operator.observing import Observation, RedisPod, SentinelPod
from redisha.operator.reasons import EventReason, Phase
from redisha.operator.sentinels import Address, MasterState

SPEC = spec_mod.parse({"spec": {"sentinel": {"downAfterMilliseconds": 1000,
                                             "failoverTimeoutMilliseconds": 2000}}})
TUNING = Tuning(sentinel_fix_grace=3, reset_grace=5, reset_interval=5, repair_grace=1)
CONFIG = {"min-replicas-to-write": "0", "min-replicas-max-lag": "10"}


def ip(n: int) -> str:
    return f"127.1.0.{n}"


def addr(n: int) -> Address:
    return Address(ip(n), 6379)


def master(n: int, offset: int = 100, keys: int = 10) -> NodeInfo:
    return NodeInfo(role=Role.MASTER, offset=offset, keys=keys, config=dict(CONFIG))


def replica(of: Address | None, offset: int = 100, keys: int = 10, up: bool = True) -> NodeInfo:
    return NodeInfo(role=Role.REPLICA, offset=offset, keys=keys, primary=of, link_up=up,
                    replica_offset=offset, config=dict(CONFIG))


def pod(ordinal: int, info: NodeInfo | None, label: str | None = None,
        terminating: bool = False) -> RedisPod:
    return RedisPod(name=f"rfr-x-{ordinal}", ordinal=ordinal, ip=ip(ordinal + 1),
                    node=f"node-{ordinal + 1}", role_label=label, terminating=terminating,
                    running=info is not None or not terminating, info=info)


def sentinel(n: int, monitors: Address | None, *, answered: bool = True,
             busy: bool = False, replicas: tuple[Address, ...] = (),
             others: tuple[int, ...] = (), options: dict[str, int] | None = None) -> SentinelPod:
    o = {"down_after_ms": 1000, "failover_timeout_ms": 2000, "parallel_syncs": 1,
         "quorum": 2, **(options or {})}
    state = None
    if monitors is not None:
        state = MasterState(address=monitors, flags=frozenset({"master"}),
                            num_other_sentinels=len(others), num_slaves=len(replicas),
                            failover_state="select_slave" if busy else "none", **o)
    return SentinelPod(name=f"rfs-{n}", ip=f"127.1.1.{n}", running=True, answered=answered,
                       named=monitors if answered else None,
                       master=state if answered else None, replicas=replicas,
                       sentinels=tuple(Address(f"127.1.1.{o}", 26379) for o in others))


def healthy_world(**changes: object) -> Observation:
    """rfr-x-0 primary with two replicas; three sentinels that agree and know everyone."""
    primary = addr(1)
    pods = (pod(0, master(1), "primary"), pod(1, replica(primary), "replica"),
            pod(2, replica(primary), "replica"))
    sentinels = tuple(sentinel(n, primary, replicas=(addr(2), addr(3)),
                               others=tuple(o for o in (1, 2, 3) if o != n)) for n in (1, 2, 3))
    world = Observation(redis=pods, sentinels=sentinels, bootstrapped=True)
    return Observation(**{**world.__dict__, **changes})  # type: ignore[arg-type]


def decide(obs: Observation, **timing: object) -> decisions.Plan:
    return decisions.decide(obs, SPEC, Timing(now=100.0, **timing), TUNING)  # type: ignore[arg-type]


# -- the sentinels' view ---------------------------------------------------------------------

@pytest.mark.parametrize("views,expected", [
    pytest.param([addr(1), addr(1), addr(2)], addr(1), id="two-of-three"),
    pytest.param([addr(1), addr(2), None], None, id="split"),
    pytest.param([addr(1), "silent", "silent"], None, id="one-answer-of-three"),
    pytest.param([addr(1), addr(1), "silent"], addr(1), id="two-answers-of-three"),
])
def test_the_agreed_primary_needs_more_than_half_of_the_running_sentinels(
        views: list, expected: Address | None) -> None:
    """A majority of running sentinels, silent ones counted, names the primary."""
    sentinels = tuple(sentinel(n, None if v == "silent" else v, answered=v != "silent")
                      for n, v in enumerate(views, 1))
    assert decisions.agreed_primary(sentinels) == expected


@pytest.mark.parametrize("infos,winner", [
    pytest.param([replica(None, 0, 0), replica(None, 500, 3), replica(None, 400, 9)], 1, id="offset"),
    pytest.param([replica(None, 500, 3), replica(None, 500, 9), replica(None, 0, 0)], 1, id="keys"),
    pytest.param([replica(None, 500, 9), master(2, 500, 9), replica(None, 500, 9)], 1, id="current-primary"),
    pytest.param([replica(None, 0, 0), replica(None, 0, 0), replica(None, 0, 0)], 0, id="lowest-ordinal"),
    pytest.param([NodeInfo(role=Role.REPLICA, primary=Address(*NOWHERE)),
                  replica(None, 0, 1), replica(None, 0, 0)], 1, id="never-empty-over-data"),
])
def test_the_pod_with_the_most_data_is_chosen(infos: list[NodeInfo], winner: int) -> None:
    """Offset, then keys, then being a primary already, then the lowest ordinal."""
    pods = [pod(i, info) for i, info in enumerate(infos)]
    chosen = decisions.choose_primary(pods)
    assert chosen is not None and chosen.ordinal == winner


# -- bootstrap -------------------------------------------------------------------------------

def test_bootstrap_waits_for_every_pod_then_promotes_ordinal_0() -> None:
    """Not before every pod of the set answered; then rfr-x-0 of three empty pods."""
    waiting = NodeInfo(role=Role.REPLICA, primary=Address(*NOWHERE))
    two = Observation(redis=(pod(0, waiting), pod(1, waiting)), sentinels=(), bootstrapped=False)
    plan = decide(two)
    assert (plan.phase, plan.promotion) == (Phase.BOOTSTRAPPING, None)
    three = Observation(redis=(pod(0, waiting), pod(1, waiting), pod(2, waiting)), sentinels=(),
                        bootstrapped=False)
    plan = decide(three)
    assert plan.promotion is not None
    assert (plan.promotion.primary.name, plan.promotion.reason) == ("rfr-x-0",
                                                                    EventReason.BOOTSTRAPPED)
    assert [p.name for p in plan.promotion.replicas] == ["rfr-x-1", "rfr-x-2"]


# -- labels ----------------------------------------------------------------------------------

def test_a_healthy_agreed_world_is_ready_with_nothing_to_do() -> None:
    """Agreed, labelled, replicating, monitored: Ready and an empty plan."""
    plan = decide(healthy_world())
    assert plan.phase is Phase.READY, plan.message
    assert (dict(plan.labels), plan.rejoin, plan.fixes, plan.promotion) == ({}, (), (), None)


def test_not_ready_while_a_sentinel_does_not_know_an_in_sync_replica() -> None:
    """A replica recreated with a new address and in sync, but a sentinel still knows only
    the old address (two known, as many as expected): not Ready, since that sentinel could
    not promote it."""
    world = healthy_world()
    stale = (addr(2), addr(9))  # rfr-x-2's old address instead of its new one, addr(3)
    sentinels = (world.sentinels[0], world.sentinels[1],
                 sentinel(3, addr(1), replicas=stale, others=(1, 2)))
    plan = decide(Observation(redis=world.redis, sentinels=sentinels, bootstrapped=True))
    assert plan.phase is Phase.DEGRADED
    assert "discovering" in plan.message


def test_labels_follow_the_sentinels_not_the_pods_claims() -> None:
    """A pod saying `role:master` that the sentinels do not name gets no primary label;
    with no majority nothing is relabelled."""
    world = healthy_world()
    stray = pod(2, master(3), "primary")
    plan = decide(Observation(redis=(world.redis[0], world.redis[1], stray),
                              sentinels=world.sentinels, bootstrapped=True))
    assert plan.labels == {"rfr-x-2": None}
    split = tuple(sentinel(n, v) for n, v in ((1, addr(1)), (2, addr(3)), (3, None)))
    plan = decide(Observation(redis=(world.redis[0], pod(1, master(2), "replica"),
                                     pod(2, replica(addr(1)))),
                              sentinels=split, bootstrapped=True))
    assert plan.labels == {}


def test_a_replica_still_following_the_gone_primary_keeps_its_label_during_a_switch() -> None:
    """The sentinels switched to rfr-x-1; rfr-x-0's pod is gone and rfr-x-2 still follows
    its address (not yet reconfigured): rfr-x-1 becomes primary, rfr-x-2 stays `replica`
    instead of losing the label and getting it back a moment later. A replica of a live
    stray primary still loses it."""
    sentinels = tuple(sentinel(n, addr(2), replicas=(addr(3),), others=(1, 2, 3))
                      for n in (1, 2, 3))
    promoted = pod(1, master(2), "replica")
    behind = pod(2, replica(addr(1)), "replica")
    plan = decide(Observation(redis=(promoted, behind), sentinels=sentinels, bootstrapped=True))
    assert plan.labels == {"rfr-x-1": "primary"}
    stray = pod(0, master(1), None)
    plan = decide(Observation(redis=(stray, promoted, behind), sentinels=sentinels,
                              bootstrapped=True))
    assert plan.labels == {"rfr-x-1": "primary", "rfr-x-2": None}


def test_an_unanswering_agreed_primary_keeps_its_label_until_the_sentinels_move() -> None:
    """A hung primary is the sentinels' call (down-after): its label stays, phase Failover."""
    world = healthy_world()
    hung = pod(0, None, "primary")
    plan = decide(Observation(redis=(hung, *world.redis[1:]), sentinels=world.sentinels,
                              bootstrapped=True))
    assert (plan.phase, dict(plan.labels), plan.promotion) == (Phase.FAILOVER, {}, None)


# -- rejoins ---------------------------------------------------------------------------------

def test_a_waiting_pod_is_rejoined_at_once_a_stray_primary_after_the_grace() -> None:
    """A replica of nowhere rejoins now; a second primary only once it has lasted."""
    world = healthy_world()
    waiting = pod(1, NodeInfo(role=Role.REPLICA, primary=Address(*NOWHERE)))
    stray = pod(2, master(3))
    obs = Observation(redis=(world.redis[0], waiting, stray), sentinels=world.sentinels,
                      bootstrapped=True)
    plan = decide(obs)
    assert [p.name for p in plan.rejoin] == ["rfr-x-1"]
    assert "stray:rfr-x-2" in plan.conditions
    later = decide(obs, first_seen={"stray:rfr-x-2": 90.0})
    assert [p.name for p in later.rejoin] == ["rfr-x-1", "rfr-x-2"]


def test_nothing_is_rejoined_or_fixed_while_a_failover_is_under_way() -> None:
    """A sentinel in failover (or the operator's pending request) freezes rejoins and fixes."""
    world = healthy_world()
    busy = (sentinel(1, addr(1), busy=True), *world.sentinels[1:])
    stray = pod(2, NodeInfo(role=Role.REPLICA, primary=Address(*NOWHERE)))
    plan = decide(Observation(redis=(*world.redis[:2], stray), sentinels=busy,
                              bootstrapped=True))
    assert (plan.phase, plan.rejoin, plan.fixes) == (Phase.FAILOVER, (), ())
    plan = decide(Observation(redis=(*world.redis[:2], stray), sentinels=world.sentinels,
                              bootstrapped=True), failover_pending=True)
    assert (plan.rejoin, plan.fixes) == ((), ())


# -- sentinels -------------------------------------------------------------------------------

def test_sentinel_fixes_monitor_at_once_repoint_after_grace_and_set_differences() -> None:
    """Not monitoring → MONITOR now; another address → MONITOR after the grace; other
    settings → SET of just those."""
    world = healthy_world()
    sentinels = (sentinel(1, None), sentinel(2, addr(3)),
                 sentinel(3, addr(1), options={"down_after_ms": 5000}))
    # two of three do not agree with rfr-x-0 any more, so give it a third to keep majority
    extra = sentinel(4, addr(1))
    extra2 = sentinel(5, addr(1))
    obs = Observation(redis=world.redis, sentinels=(*sentinels, extra, extra2),
                      bootstrapped=True)
    plan = decide(obs)
    kinds = {(f.sentinel, f.kind) for f in plan.fixes}
    assert ("rfs-1", FixKind.MONITOR) in kinds and ("rfs-2", FixKind.MONITOR) not in kinds
    assert ("rfs-3", FixKind.SET) in kinds
    assert dict(next(f for f in plan.fixes if f.sentinel == "rfs-3").options) == \
        {"down-after-milliseconds": "1000"}
    later = decide(obs, first_seen={"wrong:127.1.1.2": 96.0})
    fix = next(f for f in later.fixes if f.sentinel == "rfs-2")
    assert (fix.kind, fix.primary) == (FixKind.MONITOR, addr(1))


def test_stale_sentinels_are_reset_one_at_a_time() -> None:
    """Remembered replicas or sentinels that are gone → RESET of one sentinel, only once
    the staleness lasted and the last RESET is an interval old."""
    world = healthy_world()
    gone = Address("127.9.9.9", 6379)
    stale = tuple(sentinel(n, addr(1), replicas=(addr(2), gone), others=(1, 2, 3, 9))
                  for n in (1, 2, 3))
    obs = Observation(redis=world.redis, sentinels=stale, bootstrapped=True)
    assert [f for f in decide(obs).fixes if f.kind is FixKind.RESET] == []
    held = {f"stale:127.1.1.{n}": 90.0 for n in (1, 2, 3)}
    resets = [f for f in decide(obs, first_seen=held).fixes if f.kind is FixKind.RESET]
    assert [f.sentinel for f in resets] == ["rfs-1"]
    recent = decide(obs, first_seen=held, last_reset=98.0)
    assert [f for f in recent.fixes if f.kind is FixKind.RESET] == []


# -- repair ----------------------------------------------------------------------------------

def _after_every_pod_restarted() -> Observation:
    """The sentinels agree on an address no pod has; every pod waits, one holds data."""
    nowhere = Address(*NOWHERE)
    pods = (pod(0, NodeInfo(role=Role.REPLICA, primary=nowhere)),
            pod(1, NodeInfo(role=Role.REPLICA, primary=nowhere, offset=900, keys=50)),
            pod(2, NodeInfo(role=Role.REPLICA, primary=nowhere)))
    gone = Address("127.9.9.9", 6379)
    sentinels = tuple(sentinel(n, gone, replicas=(Address("127.9.9.8", 6379),))
                      for n in (1, 2, 3))
    return Observation(redis=pods, sentinels=sentinels, bootstrapped=True)


def test_repair_promotes_the_pod_with_data_when_the_sentinels_know_no_live_replica() -> None:
    """No primary anywhere and sentinels that know no live replica: promote the pod with
    the data (never the empty rfr-x-0)."""
    plan = decide(_after_every_pod_restarted())
    assert plan.promotion is not None
    assert (plan.promotion.primary.name, plan.promotion.reason) == ("rfr-x-1",
                                                                    EventReason.REPAIRED)


def test_no_repair_while_the_sentinels_can_still_act() -> None:
    """Sentinels that know live replicas get down-after + failover-timeout first; a pod
    still answering as a primary, or an unanswering agreed primary, blocks repair."""
    world = healthy_world()
    restarted = pod(0, NodeInfo(role=Role.REPLICA, primary=Address(*NOWHERE)))
    obs = Observation(redis=(restarted, *world.redis[1:]), sentinels=world.sentinels,
                      bootstrapped=True)
    assert decide(obs).promotion is None
    patient = {"lost": 96.0}  # 4 s >= down-after 1 + failover-timeout 2 + grace 1
    assert decide(obs, first_seen=patient).promotion is not None
    hung = Observation(redis=(pod(0, None), *world.redis[1:]), sentinels=world.sentinels,
                       bootstrapped=True)
    assert decide(hung, first_seen=patient).promotion is None
    other_master = Observation(redis=(restarted, pod(1, master(2)), world.redis[2]),
                               sentinels=world.sentinels, bootstrapped=True)
    assert decide(other_master, first_seen=patient).promotion is None


def test_repair_waits_for_every_pod_of_the_set() -> None:
    """A pod not answering yet may hold the data: no repair without it."""
    obs = _after_every_pod_restarted()
    missing = Observation(redis=obs.redis[:2], sentinels=obs.sentinels, bootstrapped=True)
    assert decide(missing).promotion is None


def test_a_failover_reported_by_a_sentinel_always_holds_repair_back() -> None:
    """However long the set has been lost, a sentinel reporting a failover is left to end
    it (it does, by failover-timeout): no repair, one decider; once it ended, repair."""
    obs = _after_every_pod_restarted()
    busy = (sentinel(1, obs.sentinels[0].master.address, busy=True),  # type: ignore[union-attr]
            *obs.sentinels[1:])
    # Every condition held for 100 s, far past any failover-timeout ("busy" was the key
    # under which an older operator gave up on a failover after 2 x failover-timeout).
    long_lost = {"lost": 0.0, "busy": 0.0}
    plan = decide(Observation(redis=obs.redis, sentinels=busy, bootstrapped=True),
                  first_seen=long_lost)
    assert (plan.phase, plan.promotion) == (Phase.FAILOVER, None)
    plan = decide(obs, first_seen=long_lost)
    assert plan.promotion is not None and plan.promotion.primary.name == "rfr-x-1"
