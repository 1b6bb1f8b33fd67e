"""The failover after the election: choose a replica, promote it, move the others, end.

`sentinel.c`'s `sentinelFailoverSelectSlave` … `sentinelFailoverSwitchToPromotedSlave`, sans
I/O. `core.SentinelCore` runs the election (the `wait_start` state) and, once it has won,
hands each tick's step to `FailoverSteps.step`; what the steps do to the world — events,
REPLICAOF, the switch of the master's address — goes through the `Effects` the core gives,
so that this module holds the state machine alone.

One difference from Redis Sentinel, on purpose: **reconfiguration always ends by
failover-timeout.** `sentinelFailoverDetectEnd` does nothing while the promoted replica is
SDOWN, so a leader whose promoted replica dies during reconfiguration stays in
`reconf_slaves` until a peer's newer configuration happens to reach it — meanwhile it
neither watches the new master nor votes for its failover. Here, once failover-timeout has
passed, the failover ends for timeout even then: the replica accepted the role and its
configuration epoch has been announced (the peers follow it already), so the master is
switched to it, where the usual SDOWN/ODOWN finds it down and a new failover replaces it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redisha.sentinel import decisions
from redisha.sentinel.instances import (
    Address,
    ConnState,
    FailoverState,
    Instance,
    Master,
    Reconf,
    Redis,
    Replica,
)
from redisha.sentinel.settings import SentinelSettings
from redisha.server.logs import Level


class EventSink(Protocol):
    """`SentinelCore._event`: an event about `record` (`%@`), or plain text."""

    def __call__(self, level: Level, kind: str, record: Instance | None, text: str = "",
                 *, master: Master | None = None) -> None: ...


@dataclass(frozen=True)
class Effects:
    """What the failover steps do through the sentinel that runs them."""

    event: EventSink
    send_slaveof: Callable[[Redis, Address | None, float], None]
    """REPLICAOF `target` (None: NO ONE) in Sentinel's transaction, then an INFO."""
    changed: Callable[[], None]
    """The state to persist changed (config epoch)."""
    force_hello: Callable[[Master], None]
    """Announce the master's configuration at the next tick."""
    switch: Callable[[Master, Address, float], None]
    """Reset the master's record onto a new address (`sentinelResetMasterAndChangeAddress`)."""


def enter(master: Master, state: FailoverState, now: float) -> None:
    master.failover_state = state
    master.failover_state_change_time = now


def abort(master: Master, now: float) -> None:
    """`sentinelAbortFailover`: back to no failover; the chosen replica is not promoted."""
    master.failover_state = FailoverState.NONE
    master.failover_state_change_time = now
    master.forced = False
    if master.promoted is not None:
        master.promoted.promoted = False
        master.promoted = None


def timed_out(master: Master, now: float) -> bool:
    """The current state has lasted longer than failover-timeout."""
    return now - master.failover_state_change_time > master.failover_timeout_ms / 1000


class FailoverSteps:
    """The states from `select_slave` to `update_config` of one sentinel's failovers."""

    def __init__(self, settings: SentinelSettings, effects: Effects) -> None:
        self.settings = settings
        self.effects = effects

    def step(self, master: Master, now: float) -> None:
        """One step of the state the master is in (nothing in `none` and `wait_start`)."""
        state = master.failover_state
        if state is FailoverState.SELECT_SLAVE:
            self._select_replica(master, now)
        elif state is FailoverState.SEND_SLAVEOF_NOONE:
            self._send_slaveof_noone(master, now)
        elif state is FailoverState.WAIT_PROMOTION:
            if timed_out(master, now):
                self.effects.event(Level.WARNING, "-failover-abort-slave-timeout", master)
                abort(master, now)
        elif state is FailoverState.RECONF_SLAVES:
            self._reconf_next_replicas(master, now)

    # -- select_slave, send_slaveof_noone ---------------------------------------------------

    def _select_replica(self, master: Master, now: float) -> None:
        settings = self.settings
        event = self.effects.event
        ping_every = settings.ping_interval(master.down_after_ms)
        validity = (5 * max(ping_every, settings.fast_info_interval(master.down_after_ms))
                    if master.s_down else 3 * settings.info_period)
        waiting = [r for r in master.replicas.values()
                   if r.link.cmd is ConnState.UP and not r.s_down and r.priority != 0
                   and r.info_refresh < master.failover_started]
        if waiting and now - master.failover_state_change_time < settings.select_wait:
            return
        candidates = decisions.promotion_candidates(master, now, ping_interval=ping_every,
                                                    info_validity=validity)
        fresh = [r for r in candidates if r.info_refresh >= master.failover_started]
        ranked = fresh or candidates
        if not ranked:
            event(Level.WARNING, "-failover-abort-no-good-slave", master)
            abort(master, now)
            return
        chosen = ranked[0]
        event(Level.WARNING, "+selected-slave", chosen, master=master)
        chosen.promoted = True
        master.promoted = chosen
        enter(master, FailoverState.SEND_SLAVEOF_NOONE, now)
        event(Level.NOTICE, "+failover-state-send-slaveof-noone", chosen, master=master)

    def _send_slaveof_noone(self, master: Master, now: float) -> None:
        promoted = master.promoted
        assert promoted is not None
        if promoted.link.cmd is not ConnState.UP:
            if timed_out(master, now):
                self.effects.event(Level.WARNING, "-failover-abort-slave-timeout", master)
                abort(master, now)
            return
        self.effects.send_slaveof(promoted, None, now)
        self.effects.event(Level.NOTICE, "+failover-state-wait-promotion", promoted,
                           master=master)
        enter(master, FailoverState.WAIT_PROMOTION, now)

    # -- wait_promotion → reconf_slaves (driven by the replicas' INFO) ------------------------

    def promotion_seen(self, master: Master, replica: Replica, now: float) -> bool:
        """The promoted replica's INFO says `role:master`: the new configuration takes the
        failover's epoch and the other replicas are moved. False when this INFO is not that
        (not the promoted replica, or not waiting for its promotion)."""
        if not replica.promoted or master.failover_state is not FailoverState.WAIT_PROMOTION:
            return False
        master.config_epoch = master.failover_epoch
        enter(master, FailoverState.RECONF_SLAVES, now)
        self.effects.changed()
        self.effects.event(Level.WARNING, "+promoted-slave", replica, master=master)
        self.effects.event(Level.WARNING, "+failover-state-reconf-slaves", master)
        self.effects.force_hello(master)
        return True

    def reconf_progress(self, master: Master, replica: Replica) -> bool:
        """A replica's INFO during reconfiguration: it follows the promoted replica
        (`inprog`), then its link to it is up (`done`). True when it just became done."""
        promoted = master.promoted
        event = self.effects.event
        if replica.reconf is Reconf.SENT and promoted is not None and (
                replica.master_host.lower() == promoted.address.host.lower()
                and replica.master_port == promoted.address.port):
            replica.reconf = Reconf.INPROG
            event(Level.NOTICE, "+slave-reconf-inprog", replica, master=master)
        if replica.reconf is Reconf.INPROG and replica.master_link_up:
            replica.reconf = Reconf.DONE
            event(Level.NOTICE, "+slave-reconf-done", replica, master=master)
            return True
        return False

    # -- reconf_slaves ------------------------------------------------------------------------

    def _reconf_next_replicas(self, master: Master, now: float) -> None:
        """`sentinelFailoverReconfNextSlave`: REPLICAOF the promoted replica to at most
        parallel-syncs replicas at a time; one told so that has not started within the
        reconf timeout counts as done (the fix-slave-config rule catches it later)."""
        promoted = master.promoted
        assert promoted is not None
        event = self.effects.event
        for replica in master.replicas.values():
            if (replica.reconf is Reconf.SENT
                    and now - replica.reconf_sent_time > self.settings.slave_reconf_timeout):
                event(Level.NOTICE, "-slave-reconf-sent-timeout", replica, master=master)
                replica.reconf = Reconf.DONE
        in_progress = sum(1 for r in master.replicas.values()
                          if r.reconf in (Reconf.SENT, Reconf.INPROG))
        for replica in master.replicas.values():
            if in_progress >= master.parallel_syncs:
                break
            if replica.promoted or replica.reconf is not Reconf.NONE:
                continue
            if replica.link.cmd is not ConnState.UP:
                continue
            self.effects.send_slaveof(replica, promoted.address, now)
            replica.reconf = Reconf.SENT
            replica.reconf_sent_time = now
            event(Level.NOTICE, "+slave-reconf-sent", replica, master=master)
            in_progress += 1
        self._detect_end(master, now)

    def _detect_end(self, master: Master, now: float) -> None:
        """`sentinelFailoverDetectEnd`: done once every reachable replica follows the
        promoted one — or, past failover-timeout, done anyway (even with the promoted
        replica down: see the module docstring), with a last REPLICAOF to the replicas
        not told yet."""
        promoted = master.promoted
        if promoted is None:
            return
        timeout = timed_out(master, now)
        if promoted.s_down and not timeout:
            return  # Not finished while the new master does not answer, until then.
        not_done = sum(1 for r in master.replicas.values()
                       if not r.promoted and r.reconf is not Reconf.DONE and not r.s_down)
        event = self.effects.event
        if timeout:
            not_done = 0
            event(Level.WARNING, "+failover-end-for-timeout", master)
        if not_done == 0:
            event(Level.WARNING, "+failover-end", master)
            enter(master, FailoverState.UPDATE_CONFIG, now)
        if timeout:
            for replica in master.replicas.values():
                if replica.promoted or replica.reconf in (Reconf.DONE, Reconf.SENT):
                    continue
                if replica.link.cmd is not ConnState.UP:
                    continue
                self.effects.send_slaveof(replica, promoted.address, now)
                replica.reconf = Reconf.SENT
                event(Level.NOTICE, "+slave-reconf-sent-be", replica, master=master)

    # -- update_config ------------------------------------------------------------------------

    def switch_to_promoted(self, master: Master, now: float) -> None:
        """`sentinelFailoverSwitchToPromotedSlave`: +switch-master, and the master record
        moves to the promoted replica's address."""
        new = master.promoted.address if master.promoted is not None else master.address
        old = master.address
        self.effects.event(Level.WARNING, "+switch-master", None,
                           f"{master.name} {old.host} {old.port} {new.host} {new.port}")
        self.effects.switch(master, new, now)
