"""The sentinel itself, sans I/O: state, timer, failure detection, elections, events.

`SentinelCore` is `sentinel.c` without a socket. It is driven by three kinds of input, each
with the time it happened:

- `tick(now)` — the timer (`sentinelTimer`): for every instance, (re)connect, send the
  periodic PING / INFO / hello, check SDOWN; for masters check ODOWN, start a failover,
  run the failover state machine, ask the other sentinels. The election (`wait_start`)
  is here; the states after it — choose, promote, reconfigure, switch — are
  `failover.FailoverSteps`.
- what the network brought: `connected` / `connect_failed` / `disconnected`, `reply` (to a
  `Send` it asked for, in order per connection), `message` (a hello on a pub/sub
  connection), `pubsub_activity`;
- what clients asked: `is_master_down_by_addr`, `hello_received` (a peer's PUBLISH),
  `failover`, `monitor`, `remove`, `reset`, `set_options`, `set_global`.

Its outputs are drained by the I/O shell (`service.SentinelService`): `take_actions()` —
`Connect`, `Close`, `Send` — and `take_events()` — `Event`s to log and publish on their
channels — and `take_config()` when the state to persist changed. Tests drive it with a
fake clock and hand-made replies.

Where this differs from Redis Sentinel, on purpose (see the issue's figures):

- **A promoted master starts with fresh timers.** On `+switch-master` the new master record
  takes over the link the sentinel already has to the promoted replica (connected, PINGed)
  and restarts its PING clock; a dropped connection is reopened at once, not on the next
  second; and only the command connection's silence counts toward SDOWN. Real Sentinel
  keeps a PING pending since the reset and reconnects on the old schedule, so with a short
  down-after the brand-new master is SDOWN before the sentinel even reconnects.
- **Down reports are about one incarnation of the master.** `IS-MASTER-DOWN-BY-ADDR`
  answers are stored with the incarnation they were asked about and cleared on switch,
  so old answers about the dead master never count toward ODOWN of the new one.
- **`SENTINEL FAILOVER` runs the election** (the forced flag on `IS-MASTER-DOWN-BY-ADDR`,
  `decisions.may_vote`), instead of promoting with no agreement.
- **Before choosing a replica, fresh INFO**: offsets read after the failover began.
- **Reconfiguration always ends by failover-timeout**, even when the promoted replica
  died meanwhile: the master is switched to it and failed over again (see `failover`).
- **PING and ASK periods shrink with down-after** (`SentinelSettings.ping_interval`).
- No TILT mode and no scripts.
"""

from __future__ import annotations

import itertools
import random
import time
from typing import Any

from redisha.sentinel import config as config_module
from redisha.sentinel import decisions
from redisha.sentinel.actions import (
    FORCED,
    Action,
    Close,
    CommandError,
    Connect,
    Event,
    LogLine,
    Purpose,
    Send,
)
from redisha.sentinel.config import MasterConfig, SentinelConfig
from redisha.sentinel.decisions import HELLO_CHANNEL, Hello, VoteRequest
from redisha.sentinel.failover import Effects, FailoverSteps, abort, enter
from redisha.sentinel.instances import (
    Address,
    Conn,
    ConnState,
    DownReport,
    FailoverState,
    Instance,
    Link,
    Master,
    Peer,
    Redis,
    Replica,
    Role,
    describe,
)
from redisha.sentinel.settings import SentinelSettings
from redisha.server import resp
from redisha.server.logs import Level


def new_run_id(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(config_module.RUN_ID_SIZE))


class SentinelCore:
    """One sentinel's state and decisions; see the module docstring."""

    def __init__(self, config: SentinelConfig, *, settings: SentinelSettings | None = None,
                 rng: random.Random | None = None, now: float = 0.0) -> None:
        self.settings = settings or SentinelSettings()
        self.rng = rng or random.Random()
        self.port = config.port
        self.myid = config.myid or new_run_id(self.rng)
        self.current_epoch = config.current_epoch
        self.announce_ip = config.announce_ip
        self.announce_port = config.announce_port
        self.resolve_hostnames = config.resolve_hostnames
        self.announce_hostnames = config.announce_hostnames
        self.masters: dict[str, Master] = {}
        self._ids = itertools.count(1)
        self._owners: dict[int, tuple[Master, Instance]] = {}
        self._actions: list[Action] = []
        self._events: list[Event | LogLine] = []
        self._dirty = not config.myid
        self._steps = FailoverSteps(self.settings, Effects(
            event=self._event, send_slaveof=self._send_slaveof, changed=self._changed,
            force_hello=self._force_hello, switch=self._reset_and_change_address))
        for master_config in config.masters.values():
            self._add_master(master_config, now)

    # -- outputs ------------------------------------------------------------------------------

    def take_actions(self) -> list[Action]:
        actions, self._actions = self._actions, []
        return actions

    def take_events(self) -> list[Event | LogLine]:
        events, self._events = self._events, []
        return events

    def take_config(self) -> SentinelConfig | None:
        """The state to persist, once per change (None when nothing changed)."""
        if not self._dirty:
            return None
        self._dirty = False
        return self.snapshot()

    def snapshot(self) -> SentinelConfig:
        """The state as a `SentinelConfig` (what `sentinelFlushConfig` writes)."""
        out = SentinelConfig(port=self.port, myid=self.myid, current_epoch=self.current_epoch,
                             announce_ip=self.announce_ip, announce_port=self.announce_port,
                             resolve_hostnames=self.resolve_hostnames,
                             announce_hostnames=self.announce_hostnames)
        for master in self.masters.values():
            address = master.current_address()
            replicas = []
            for replica in master.replicas.values():
                # The promoted replica is listed under the old master's address (Sentinel).
                shown = master.address if replica.address == address else replica.address
                replicas.append((shown.host, shown.port))
            out.masters[master.name] = MasterConfig(
                name=master.name, host=address.host, port=address.port, quorum=master.quorum,
                down_after_ms=master.down_after_ms, failover_timeout_ms=master.failover_timeout_ms,
                parallel_syncs=master.parallel_syncs, config_epoch=master.config_epoch,
                leader_epoch=master.leader_epoch, known_replicas=replicas,
                known_sentinels=[(p.address.host, p.address.port, p.runid)
                                 for p in master.sentinels.values() if p.runid])
        return out

    def startup_events(self) -> None:
        """`Sentinel ID is …` and `+monitor` for every configured master."""
        self._log(Level.WARNING, f"Sentinel ID is {self.myid}")
        for master in self.masters.values():
            self._event(Level.WARNING, "+monitor", master, f"quorum {master.quorum}")

    def _event(self, level: Level, kind: str, record: Instance | None, text: str = "",
               *, master: Master | None = None) -> None:
        """`sentinelEvent`: `record` given means the text starts with `%@`."""
        if record is not None:
            described = describe(record, None if isinstance(record, Master) else master)
            text = f"{described} {text}" if text else described
        self._events.append(Event(kind, level, text))

    def _log(self, level: Level, text: str) -> None:
        self._events.append(LogLine(level, text))

    def _changed(self) -> None:
        self._dirty = True

    def request_flush(self) -> None:
        """Have the state written out even though nothing changed (FLUSHCONFIG)."""
        self._dirty = True

    # -- records and links --------------------------------------------------------------------

    def _new_link(self, *, pubsub: bool, now: float) -> Link:
        return Link.fresh(next(self._ids), pubsub=pubsub, now=now)

    def _own(self, master: Master, record: Instance) -> None:
        self._owners[record.link.id] = (master, record)

    def _drop_link(self, link: Link) -> None:
        if self._owners.pop(link.id, None) is not None:
            self._actions.append(Close(link.id))

    def _add_master(self, conf: MasterConfig, now: float) -> Master:
        master = Master(address=Address(conf.host, conf.port),
                        link=self._new_link(pubsub=True, now=now), name=conf.name,
                        quorum=conf.quorum, down_after_ms=conf.down_after_ms,
                        failover_timeout_ms=conf.failover_timeout_ms,
                        parallel_syncs=conf.parallel_syncs, config_epoch=conf.config_epoch,
                        leader_epoch=conf.leader_epoch, role_reported_time=now)
        self.current_epoch = max(self.current_epoch, conf.config_epoch)
        self.masters[conf.name] = master
        self._own(master, master)
        for host, port in conf.known_replicas:
            self._add_replica(master, Address(host, port), now)
        for host, port, runid in conf.known_sentinels:
            self._add_peer(master, Address(host, port), runid, now)
        return master

    def _add_replica(self, master: Master, address: Address, now: float) -> Replica | None:
        if address in master.replicas or address == master.address:
            return None
        replica = Replica(address=address, link=self._new_link(pubsub=True, now=now),
                          down_after_ms=master.down_after_ms, role_reported=Role.SLAVE,
                          role_reported_time=now, conf_change_time=now)
        master.replicas[address] = replica
        self._own(master, replica)
        return replica

    def _add_peer(self, master: Master, address: Address, runid: str, now: float) -> Peer:
        peer = Peer(address=address, link=self._new_link(pubsub=False, now=now), runid=runid,
                    down_after_ms=master.down_after_ms, last_hello_time=now)
        master.sentinels[runid] = peer
        self._own(master, peer)
        return peer

    def _remove_peer(self, master: Master, runid: str) -> bool:
        peer = master.sentinels.pop(runid, None)
        if peer is None:
            return False
        self._drop_link(peer.link)
        return True

    def owner(self, link_id: int) -> tuple[Master, Instance] | None:
        return self._owners.get(link_id)

    # -- timer --------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """One pass of the timer over every master, its replicas and its sentinels."""
        for master in list(self.masters.values()):
            if self.masters.get(master.name) is not master:
                continue
            self._handle_instance(master, master, now)
            for replica in list(master.replicas.values()):
                self._handle_instance(master, replica, now)
            for peer in list(master.sentinels.values()):
                self._handle_instance(master, peer, now)
            if master.failover_state is FailoverState.UPDATE_CONFIG:
                self._steps.switch_to_promoted(master, now)

    def _handle_instance(self, master: Master, record: Instance, now: float) -> None:
        if record.link.id not in self._owners:
            return
        self._reconnect(record, now)
        self._send_periodic(master, record, now)
        self._check_sdown(master, record, now)
        if record is master:
            self._check_odown(master, now)
            if self._start_failover_if_needed(master, now):
                self._ask_peers(master, now, force=True)
            self._run_failover(master, now)
            self._ask_peers(master, now)

    def _reconnect(self, record: Instance, now: float) -> None:
        link = record.link
        if record.address.port == 0:
            return
        wait = 0.0
        if link.failed_attempts:
            wait = min(self.settings.reconnect_period,
                       self.settings.ping_interval(record.down_after_ms))
        if now - link.last_attempt < wait:
            return
        if link.cmd is ConnState.DOWN:
            link.cmd = ConnState.CONNECTING
            link.last_attempt = now
            self._actions.append(Connect(link.id, record.address, Conn.CMD))
        if link.pubsub and link.sub is ConnState.DOWN:
            link.sub = ConnState.CONNECTING
            link.last_attempt = now
            self._actions.append(Connect(link.id, record.address, Conn.PUBSUB))

    def _send(self, record: Instance, *args: str, purpose: Purpose, about: Any = None,
              conn: Conn = Conn.CMD) -> None:
        if conn is Conn.CMD:
            record.link.pending += 1
        self._actions.append(Send(record.link.id, tuple(args), purpose, conn, about))

    def _send_periodic(self, master: Master, record: Instance, now: float) -> None:
        link = record.link
        if link.cmd is not ConnState.UP or link.pending >= self.settings.max_pending_commands:
            return
        settings = self.settings
        ping_every = settings.ping_interval(record.down_after_ms)
        if isinstance(record, Redis):
            info_every = self._info_interval(master, record)
            stale = record.info_refresh == 0 or now - record.info_refresh > info_every
            if stale and now - record.info_sent > info_every:
                self._send_info(record, now)
        if now - link.last_pong_time > ping_every and now - link.last_ping_time > ping_every / 2:
            self._send_ping(record, now)
        if now - record.last_pub_time > settings.publish_period:
            self._send_hello(master, record, now)

    def _info_interval(self, master: Master, record: Redis) -> float:
        """INFO every info period; fast for replicas of a master that is down or failing
        over, or whose link to it is down (or not up yet), and for a master that says it is a replica (so
        that the two INFO reports Sentinel wants before calling it down come quickly)."""
        fast = (master.o_down or master.s_down or master.in_failover
                or record.master_link_down_time_ms or not record.master_link_up
                if isinstance(record, Replica) else record.role_reported is Role.SLAVE)
        if fast:
            return self.settings.fast_info_interval(master.down_after_ms)
        return self.settings.info_period

    def _send_info(self, record: Redis, now: float) -> None:
        record.info_sent = now
        self._send(record, "INFO", purpose=Purpose.INFO)

    def _send_ping(self, record: Instance, now: float) -> None:
        link = record.link
        self._send(record, "PING", purpose=Purpose.PING)
        link.last_ping_time = now
        if not link.act_ping_time:
            link.act_ping_time = now

    def _send_hello(self, master: Master, record: Instance, now: float) -> None:
        ip = self.announce_ip or record.link.local_ip
        if not ip or record.link.cmd is not ConnState.UP:
            return
        address = master.current_address()
        hello = Hello(ip, self.announce_port or self.port, self.myid, self.current_epoch,
                      master.name, address.host, address.port, master.config_epoch)
        record.last_pub_time = now
        self._send(record, "PUBLISH", HELLO_CHANNEL, hello.encode(), purpose=Purpose.PUBLISH)

    def _force_hello(self, master: Master) -> None:
        """Send hellos about `master` at the next tick (`sentinelForceHelloUpdateForMaster`)."""
        master.last_pub_time = 0.0
        for record in (*master.replicas.values(), *master.sentinels.values()):
            record.last_pub_time = 0.0

    def _check_sdown(self, master: Master, record: Instance, now: float) -> None:
        link = record.link
        half = record.down_after_ms / 2000
        settings = self.settings
        if (link.cmd is ConnState.UP
                and now - link.cmd_since > settings.min_link_reconnect_period
                and link.act_ping_time and now - link.act_ping_time > half
                and now - link.last_pong_time > half):
            # A connection that looks stuck: reopen it (at once).
            self._actions.append(Close(link.id, Conn.CMD))
            link.cmd = ConnState.DOWN
            link.pending = 0
        if (link.pubsub and link.sub is ConnState.UP
                and now - link.sub_since > settings.min_link_reconnect_period
                and now - link.sub_last_activity > settings.publish_period * 3):
            self._actions.append(Close(link.id, Conn.PUBSUB))
            link.sub = ConnState.DOWN
        assert isinstance(record, (Redis, Peer))
        info_every = (self._info_interval(master, record) if isinstance(record, Redis)
                      else settings.info_period)
        down = decisions.subjectively_down(record, now, info_period=info_every)
        if down and not record.s_down:
            record.s_down = True
            record.s_down_since = now
            self._event(Level.WARNING, "+sdown", record, master=master)
            if record is master:
                self._grant_deferred_vote(master, now)
                self._ask_peers(master, now, force=True)
        elif not down and record.s_down:
            record.s_down = False
            self._event(Level.WARNING, "-sdown", record, master=master)

    def _check_odown(self, master: Master, now: float) -> None:
        validity = 5 * self.settings.ask_interval(master.down_after_ms)
        odown, count = decisions.objectively_down(master, now, validity=validity)
        if odown and not master.o_down:
            master.o_down = True
            master.o_down_since = now
            self._event(Level.WARNING, "+odown", master, f"#quorum {count}/{master.quorum}")
        elif not odown and master.o_down:
            master.o_down = False
            self._event(Level.WARNING, "-odown", master)

    # -- asking the other sentinels -----------------------------------------------------------

    def _ask_peers(self, master: Master, now: float, *, force: bool = False) -> None:
        """`sentinelAskMasterStateToOtherSentinels`, asking also during a forced election."""
        every = self.settings.ask_interval(master.down_after_ms)
        validity = 5 * every
        electing = master.failover_state is FailoverState.WAIT_START
        for peer in master.sentinels.values():
            if peer.report is not None and now - peer.report.at > validity:
                peer.report = None
            if not (master.s_down or electing):
                continue
            if peer.link.cmd is not ConnState.UP:
                continue
            if not force and now - peer.last_ask_time < every:
                continue
            peer.last_ask_time = now
            args = ["SENTINEL", "is-master-down-by-addr", master.address.host,
                    str(master.address.port), str(self.current_epoch),
                    self.myid if master.in_failover else "*"]
            if master.in_failover and master.forced:
                args.append(FORCED)
            self._send(peer, *args, purpose=Purpose.ASK, about=master.incarnation)

    def is_master_down_by_addr(self, host: str, port: int, epoch: int, runid: str, *,
                               forced: bool, now: float) -> tuple[int, str, int]:
        """A peer asks: is the master at host:port down for us, and (runid not `*`) our
        vote for `epoch`. Reply: (down 0/1, leader run id or `*`, leader epoch)."""
        master = next((m for m in self.masters.values() if m.address == Address(host, port)),
                      None)
        down = int(master is not None and master.s_down)
        leader, leader_epoch = "", 0
        if master is not None and runid != "*":
            leader, leader_epoch = self._vote(master, VoteRequest(epoch, runid, forced), now)
        return down, leader or "*", leader_epoch

    def _vote(self, master: Master, request: VoteRequest, now: float) -> tuple[str, int]:
        """`sentinelVoteLeader` with `decisions.may_vote`'s rule."""
        if request.epoch > self.current_epoch:
            self.current_epoch = request.epoch
            self._changed()
            self._event(Level.WARNING, "+new-epoch", None, str(self.current_epoch))
        allowed = decisions.may_vote(master, request, my_id=self.myid,
                                     current_epoch=self.current_epoch, now=now)
        if (not allowed and not master.s_down and request.runid != self.myid
                and request.epoch == self.current_epoch
                and master.deferred_vote[0] != request.epoch):
            master.deferred_vote = (request.epoch, request.runid)
        if allowed:
            master.leader = request.runid
            master.leader_epoch = self.current_epoch
            master.voted_at = now
            self._changed()
            self._event(Level.WARNING, "+vote-for-leader", None,
                        f"{master.leader} {master.leader_epoch}")
            if request.runid != self.myid:
                # Leave the elected sentinel time to act before trying ourselves.
                delay = self.rng.uniform(0, self.settings.max_desync)
                master.next_attempt_after = max(
                    master.next_attempt_after,
                    now + delay + 2 * master.failover_timeout_ms / 1000)
        return master.leader, master.leader_epoch

    def _grant_deferred_vote(self, master: Master, now: float) -> None:
        """Now that we see the master down, give the vote we held back to the first
        sentinel that asked in the current epoch — before we could start an election of
        our own and split the vote."""
        epoch, runid = master.deferred_vote
        master.deferred_vote = (0, "")
        if runid and epoch == self.current_epoch and not master.in_failover:
            self._vote(master, VoteRequest(epoch, runid), now)

    # -- the failover -------------------------------------------------------------------------

    def _start_failover_if_needed(self, master: Master, now: float) -> bool:
        """Start an election once ODOWN, unless one of ours began too recently — after a
        random delay, so that sentinels that saw ODOWN at the same moment do not all ask
        for votes in the same epoch (the first to ask gets the others' votes)."""
        if not master.o_down or master.in_failover:
            master.planned_start = 0.0
            return False
        if now < master.next_attempt_after:
            if master.delay_logged != master.next_attempt_after:
                master.delay_logged = master.next_attempt_after
                wall = time.time() + (master.next_attempt_after - now)
                self._log(Level.WARNING, "Next failover delay: I will not start a failover "
                          f"before {time.ctime(wall)}")
            return False
        if not master.planned_start:
            master.planned_start = now + self.rng.uniform(0, self.settings.start_desync)
        if now < master.planned_start:
            return False
        master.planned_start = 0.0
        self._start_failover(master, now, forced=False)
        return True

    def _start_failover(self, master: Master, now: float, *, forced: bool) -> None:
        master.failover_state = FailoverState.WAIT_START
        master.forced = forced
        self.current_epoch += 1
        master.failover_epoch = self.current_epoch
        master.failover_started = now
        master.failover_state_change_time = now
        master.next_attempt_after = now + 2 * master.failover_timeout_ms / 1000
        self._changed()
        self._event(Level.WARNING, "+new-epoch", None, str(self.current_epoch))
        self._event(Level.WARNING, "+try-failover", master)
        # The replica is chosen on offsets read after this moment.
        for replica in master.replicas.values():
            if replica.link.cmd is ConnState.UP:
                self._send_info(replica, now)

    def _run_failover(self, master: Master, now: float) -> None:
        """`sentinelFailoverStateMachine`, advancing as far as it can in one call: the
        election here, the states after it in `failover.FailoverSteps`."""
        for _ in range(len(FailoverState)):
            state = master.failover_state
            if state is FailoverState.WAIT_START:
                self._wait_start(master, now)
            else:
                self._steps.step(master, now)
            if master.failover_state is state:
                return

    def leader_of(self, master: Master, epoch: int, now: float) -> str | None:
        """`sentinelGetLeader`: cast our vote (for the peers' favourite, else ourselves)
        and return the sentinel with enough votes in `epoch`, if any."""
        counted = decisions.tally(master, self.current_epoch)
        favourite, _ = counted.leading()
        voted, voted_epoch = self._vote(
            master, VoteRequest(epoch, favourite or self.myid, master.forced), now)
        votes = dict(counted.votes)
        if voted and voted_epoch == epoch:
            votes[voted] = votes.get(voted, 0) + 1
        if not votes:
            return None
        winner = max(votes, key=lambda runid: votes[runid])
        return winner if votes[winner] >= decisions.needed_votes(master) else None

    def _wait_start(self, master: Master, now: float) -> None:
        epoch = master.failover_epoch
        moved_on = self.current_epoch != epoch
        winner = None if moved_on else self.leader_of(master, epoch, now)
        if winner == self.myid:
            self._event(Level.WARNING, "+elected-leader", master)
            enter(master, FailoverState.SELECT_SLAVE, now)
            self._event(Level.WARNING, "+failover-state-select-slave", master)
            return
        mine = (decisions.tally(master, epoch).votes.get(self.myid, 0)
                + (1 if master.leader == self.myid and master.leader_epoch == epoch else 0))
        unanswered = decisions.unanswered_voters(master, epoch)
        needed = decisions.needed_votes(master)
        hopeless = moved_on or winner is not None or mine + unanswered < needed
        timeout = min(self.settings.election_timeout, master.failover_timeout_ms / 1000)
        if not hopeless and now - master.failover_started <= timeout:
            return
        self._event(Level.WARNING, "-failover-abort-not-elected", master)
        abort(master, now)
        if not moved_on and winner is None and unanswered == 0:
            # A split vote: every sentinel voted and none won, so nobody acts. Try again
            # in a new epoch after a random delay rather than 2 x failover-timeout.
            master.next_attempt_after = now + self.rng.uniform(0, self.settings.max_desync)

    def _send_slaveof(self, record: Redis, target: Address | None, now: float) -> None:
        """`sentinelSendSlaveOf`: REPLICAOF in a MULTI with CONFIG REWRITE and CLIENT KILL
        of normal and pub/sub clients (so they reconnect and ask again), then an INFO, whose
        reply shows the new role without waiting for the next INFO period."""
        words = ("NO", "ONE") if target is None else (target.host, str(target.port))
        self._send(record, "MULTI", purpose=Purpose.DISCARD)
        self._send(record, "SLAVEOF", *words, purpose=Purpose.DISCARD)
        self._send(record, "CONFIG", "REWRITE", purpose=Purpose.DISCARD)
        self._send(record, "CLIENT", "KILL", "TYPE", "normal", purpose=Purpose.DISCARD)
        self._send(record, "CLIENT", "KILL", "TYPE", "pubsub", purpose=Purpose.DISCARD)
        self._send(record, "EXEC", purpose=Purpose.EXEC, about=words)
        self._send_info(record, now)

    def _resend_slaveof(self, record: Redis, words: tuple[str, ...], now: float) -> None:
        """The transaction was refused: the same commands, one by one."""
        self._send(record, "REPLICAOF", *words, purpose=Purpose.DISCARD)
        self._send(record, "CONFIG", "REWRITE", purpose=Purpose.DISCARD)
        self._send(record, "CLIENT", "KILL", "TYPE", "normal", purpose=Purpose.DISCARD)
        self._send(record, "CLIENT", "KILL", "TYPE", "pubsub", purpose=Purpose.DISCARD)
        self._send_info(record, now)

    def _reset_and_change_address(self, master: Master, new: Address, now: float) -> None:
        """`sentinelResetMasterAndChangeAddress`, giving the new master a live link.

        The new master takes over the link to the replica at its address (if any): already
        connected, with its PING clock restarted, so the master is neither reconnected on
        an old schedule nor judged on PINGs sent to the previous master.
        """
        old = master.address
        keep = [address for address in master.replicas if address != new]
        if new != old:
            keep.append(old)
        successor = master.replicas.get(new)
        self._drop_link(master.link)
        for replica in master.replicas.values():
            if replica is not successor:
                self._drop_link(replica.link)
        master.replicas = {}
        master.address = new
        if successor is not None:
            master.link = successor.link
            master.runid = successor.runid
            master.info = successor.info
        else:
            master.link = self._new_link(pubsub=True, now=now)
            master.runid = ""
            master.info = ""
        master.link.restart_timers(now)
        self._own(master, master)
        master.info_refresh = 0.0
        master.info_sent = 0.0
        master.role_reported = Role.MASTER
        master.role_reported_time = now
        master.master_link_down_time_ms = 0
        master.s_down = master.o_down = False
        master.s_down_since = master.o_down_since = 0.0
        master.failover_state = FailoverState.NONE
        master.failover_state_change_time = 0.0
        master.forced = False
        master.promoted = None
        master.next_attempt_after = 0.0
        master.leader = ""
        master.incarnation += 1
        for peer in master.sentinels.values():
            peer.report = None
        for address in keep:
            added = self._add_replica(master, address, now)
            if added is not None:
                self._event(Level.NOTICE, "+slave", added, master=master)
        self._force_hello(master)
        self._changed()

    # -- replies ------------------------------------------------------------------------------

    def connected(self, link_id: int, conn: Conn, now: float, *, local_ip: str = "") -> None:
        """A connection of the link is up (the shell then writes what we send)."""
        owned = self._owners.get(link_id)
        if owned is None:
            return
        record = owned[1]
        link = record.link
        link.failed_attempts = 0
        name = f"sentinel-{self.myid[:8]}-{conn.value}"
        if conn is Conn.CMD:
            link.cmd = ConnState.UP
            link.cmd_since = now
            link.pending = 0
            link.local_ip = local_ip or link.local_ip
            self._send(record, "CLIENT", "SETNAME", name, purpose=Purpose.DISCARD)
            self._send_ping(record, now)
            if isinstance(record, Redis):
                # A reconnected instance may have restarted: learn its role at once.
                self._send_info(record, now)
        else:
            link.sub = ConnState.UP
            link.sub_since = link.sub_last_activity = now
            self._send(record, "CLIENT", "SETNAME", name, purpose=Purpose.DISCARD,
                       conn=Conn.PUBSUB)
            self._send(record, "SUBSCRIBE", HELLO_CHANNEL, purpose=Purpose.DISCARD,
                       conn=Conn.PUBSUB)

    def connect_failed(self, link_id: int, conn: Conn, now: float) -> None:
        owned = self._owners.get(link_id)
        if owned is None:
            return
        link = owned[1].link
        link.failed_attempts += 1
        if conn is Conn.CMD:
            link.cmd = ConnState.DOWN
        else:
            link.sub = ConnState.DOWN

    def disconnected(self, link_id: int, conn: Conn, now: float) -> None:
        """A connection dropped (EOF, reset, killed): it is reopened at the next tick."""
        owned = self._owners.get(link_id)
        if owned is None:
            return
        link = owned[1].link
        if conn is Conn.CMD:
            link.cmd = ConnState.DOWN
            link.pending = 0
        else:
            link.sub = ConnState.DOWN

    def pubsub_activity(self, link_id: int, now: float) -> None:
        owned = self._owners.get(link_id)
        if owned is not None:
            owned[1].link.sub_last_activity = now

    def message(self, link_id: int, channel: str, payload: str, now: float) -> None:
        """A pub/sub message on a Redis instance's hello channel."""
        self.pubsub_activity(link_id, now)
        if channel == HELLO_CHANNEL and self.myid not in payload:
            self.hello_received(payload, now)

    def reply(self, send: Send, frame: Any, now: float) -> None:
        """The reply to `send` (None when the connection closed before it came)."""
        owned = self._owners.get(send.link)
        if owned is None:
            return
        master, record = owned
        link = record.link
        if send.conn is Conn.CMD:
            link.pending = max(0, link.pending - 1)
        if frame is None:
            return
        if send.purpose is Purpose.PING:
            self._on_pong(record, frame, now)
        elif (send.purpose is Purpose.INFO and isinstance(record, Redis)
                and isinstance(frame, (bytes, resp.Verbatim))):
            text = frame.text if isinstance(frame, resp.Verbatim) else frame
            self._refresh_info(master, record, text.decode(errors="replace"), now)
        elif send.purpose is Purpose.ASK and isinstance(record, Peer):
            self._on_ask_reply(master, record, send, frame, now)
        elif (send.purpose is Purpose.EXEC and isinstance(frame, resp.Error)
              and isinstance(record, Redis) and link.cmd is ConnState.UP):
            self._resend_slaveof(record, tuple(send.about), now)

    def _on_pong(self, record: Instance, frame: Any, now: float) -> None:
        link = record.link
        text = ""
        if isinstance(frame, resp.SimpleString):
            text = frame.value.decode(errors="replace")
        elif isinstance(frame, resp.Error):
            text = frame.message
        elif isinstance(frame, bytes):
            text = frame.decode(errors="replace")
        if text.startswith(("PONG", "LOADING", "MASTERDOWN")):
            link.last_avail_time = now
            link.act_ping_time = 0.0
        link.last_pong_time = now

    def _on_ask_reply(self, master: Master, peer: Peer, send: Send, frame: Any,
                      now: float) -> None:
        if send.about != master.incarnation:
            return  # An answer about a master we no longer monitor at that address.
        if not (isinstance(frame, list) and len(frame) == 3 and isinstance(frame[0], int)
                and isinstance(frame[1], bytes) and isinstance(frame[2], int)):
            return
        peer.report = DownReport(master.incarnation, frame[0] == 1, now)
        leader = frame[1].decode(errors="replace")
        if leader != "*":
            if peer.leader_epoch != frame[2]:
                self._log(Level.WARNING, f"{peer.runid} voted for {leader} {frame[2]}")
            peer.leader = leader
            peer.leader_epoch = frame[2]

    def _refresh_info(self, master: Master, record: Redis, text: str, now: float) -> None:
        """`sentinelRefreshInstanceInfo`: what INFO tells, then what to do about it."""
        report = decisions.parse_info(text)
        record.info = text
        record.master_link_down_time_ms = report.master_link_down_ms
        if report.run_id:
            if record.runid and record.runid != report.run_id:
                self._event(Level.NOTICE, "+reboot", record, master=master)
            record.runid = report.run_id
        if record is master and report.role is Role.MASTER:
            for address in report.replicas:
                if address not in master.replicas and address != master.address:
                    replica = self._add_replica(master, address, now)
                    if replica is not None:
                        self._event(Level.NOTICE, "+slave", replica, master=master)
                        self._changed()
        if isinstance(record, Replica) and report.role is Role.SLAVE:
            if (record.master_host.lower() != report.master_host.lower()
                    or record.master_port != report.master_port):
                record.conf_change_time = now
            record.master_host = report.master_host
            record.master_port = report.master_port
            record.master_link_up = report.master_link_up
            record.priority = report.priority
            record.repl_offset = report.repl_offset
            record.announced = report.announced
        record.info_refresh = now
        role = report.role
        if role is not None and role is not record.role_reported:
            record.role_reported = role
            record.role_reported_time = now
            if role is Role.SLAVE and isinstance(record, Replica):
                record.conf_change_time = now
            coherent = (record.kind.value == role.value)
            self._event(Level.VERBOSE, "+role-change" if coherent else "-role-change", record,
                        f"new reported role is {role.value}", master=master)
        if isinstance(record, Replica):
            self._replica_acts(master, record, role, now)

    def _replica_acts(self, master: Master, replica: Replica, role: Role | None,
                      now: float) -> None:
        if role is Role.MASTER:
            if self._steps.promotion_seen(master, replica, now):
                self._run_failover(master, now)
                return
            wait = self.settings.convert_wait_periods * self.settings.publish_period
            if (not replica.promoted and self.master_looks_sane(master, now)
                    and _no_down_for(replica, wait, now)
                    and now - replica.role_reported_time > wait):
                self._send_slaveof(replica, master.address, now)
                self._event(Level.NOTICE, "+convert-to-slave", replica, master=master)
            return
        if role is not Role.SLAVE:
            return
        if (replica.master_port != master.address.port
                or replica.master_host.lower() != master.address.host.lower()):
            wait = master.failover_timeout_ms / 1000
            if (self.master_looks_sane(master, now) and _no_down_for(replica, wait, now)
                    and now - replica.conf_change_time > wait):
                self._send_slaveof(replica, master.address, now)
                replica.conf_change_time = now
                self._event(Level.NOTICE, "+fix-slave-config", replica, master=master)
        if (self._steps.reconf_progress(master, replica)
                and master.failover_state is FailoverState.RECONF_SLAVES):
            self._run_failover(master, now)

    def master_looks_sane(self, master: Master, now: float) -> bool:
        return (master.role_reported is Role.MASTER and not master.s_down and not master.o_down
                and now - master.info_refresh < 2 * self.settings.info_period)

    # -- hello messages -----------------------------------------------------------------------

    def hello_received(self, payload: str, now: float) -> None:
        """`sentinelProcessHelloMessage`: meet the sender; adopt a newer epoch and a newer
        configuration of the master (which may switch it)."""
        hello = decisions.parse_hello(payload)
        if hello is None or hello.runid == self.myid:
            return
        master = self.masters.get(hello.master_name)
        if master is None:
            return
        address = Address(hello.ip, hello.port)
        peer = master.sentinels.get(hello.runid)
        if peer is not None and peer.address != address:
            self._remove_peer(master, hello.runid)
            peer = self._add_peer(master, address, hello.runid, now)
            self._event(Level.NOTICE, "+sentinel-address-switch", master,
                        f"ip {hello.ip} port {hello.port} for {hello.runid}")
            self._changed()
        elif peer is None:
            for other_master in self.masters.values():
                for other in list(other_master.sentinels.values()):
                    if other.address == address:
                        self._event(Level.NOTICE, "+sentinel-invalid-addr", other,
                                    master=other_master)
                        self._remove_peer(other_master, other.runid)
            peer = self._add_peer(master, address, hello.runid, now)
            self._event(Level.NOTICE, "+sentinel", peer, master=master)
            self._changed()
        if hello.current_epoch > self.current_epoch:
            self.current_epoch = hello.current_epoch
            self._changed()
            self._event(Level.WARNING, "+new-epoch", None, str(self.current_epoch))
        if master.config_epoch < hello.master_config_epoch:
            master.config_epoch = hello.master_config_epoch
            self._changed()
            new = Address(hello.master_ip, hello.master_port)
            if new != master.address:
                old = master.address
                self._event(Level.WARNING, "+config-update-from", peer, master=master)
                self._event(Level.WARNING, "+switch-master", None,
                            f"{master.name} {old.host} {old.port} {new.host} {new.port}")
                if master.promoted is not None:
                    master.promoted.promoted = False
                self._reset_and_change_address(master, new, now)
        peer.last_hello_time = now

    # -- client commands ----------------------------------------------------------------------

    def master_named(self, name: str) -> Master:
        master = self.masters.get(name)
        if master is None:
            raise CommandError("ERR No such master with that name")
        return master

    def failover(self, name: str, now: float) -> None:
        """`SENTINEL FAILOVER name`: an election now, the master taken as down for it."""
        master = self.master_named(name)
        if master.in_failover or (
                master.leader and master.leader != self.myid
                and master.leader_epoch == self.current_epoch
                and now - master.voted_at < master.failover_timeout_ms / 1000):
            raise CommandError("INPROG Failover already in progress")
        settings = self.settings
        candidates = decisions.promotion_candidates(
            master, now, ping_interval=settings.ping_interval(master.down_after_ms),
            info_validity=3 * settings.info_period)
        if not candidates:
            raise CommandError("NOGOODSLAVE No suitable replica to promote")
        self._log(Level.WARNING, f"Executing user requested FAILOVER of '{master.name}'")
        self._start_failover(master, now, forced=True)
        self._ask_peers(master, now, force=True)
        self._run_failover(master, now)

    def monitor(self, name: str, host: str, port: int, quorum: int, now: float) -> None:
        if name in self.masters:
            raise CommandError("ERR Duplicate master name.")
        master = self._add_master(MasterConfig(name, host, port, quorum), now)
        self._changed()
        self._event(Level.WARNING, "+monitor", master, f"quorum {quorum}")

    def remove(self, name: str) -> None:
        master = self.master_named(name)
        self._event(Level.WARNING, "-monitor", master)
        self._drop_master_links(master)
        del self.masters[name]
        self._changed()

    def _drop_master_links(self, master: Master) -> None:
        for record in (master, *master.replicas.values(), *master.sentinels.values()):
            self._drop_link(record.link)

    def reset(self, pattern: str, now: float) -> int:
        """`SENTINEL RESET pattern`: forget replicas, sentinels and failover state."""
        count = 0
        for master in list(self.masters.values()):
            if not decisions.glob_match(pattern, master.name):
                continue
            self._drop_master_links(master)
            master.replicas = {}
            master.sentinels = {}
            master.link = self._new_link(pubsub=True, now=now)
            self._own(master, master)
            master.s_down = master.o_down = False
            master.failover_state = FailoverState.NONE
            master.failover_state_change_time = 0.0
            master.next_attempt_after = 0.0
            master.promoted = None
            master.forced = False
            master.runid = ""
            master.leader = ""
            master.info_refresh = 0.0
            master.info_sent = 0.0
            master.role_reported = Role.MASTER
            master.role_reported_time = now
            master.incarnation += 1
            self._event(Level.WARNING, "+reset-master", master)
            self._changed()
            count += 1
        return count

    def set_options(self, name: str, words: list[str]) -> None:
        """`SENTINEL SET name option value …`: one `+set` per option.

        Read as Sentinel reads it — the master first, then option after option, the first
        bad one named in the error — but applied only once all are valid: Sentinel keeps
        the options before a bad one (and saves them), a refused command here changes
        nothing."""
        master = self.master_named(name)
        changes: list[tuple[str, str, int]] = []
        for index in range(0, len(words), 2):
            option = words[index]
            key = option.lower()
            if key not in SETTABLE or index + 1 >= len(words):
                raise CommandError(f"ERR Unknown option or number of arguments for "
                                   f"SENTINEL SET '{option}'")
            value = words[index + 1]
            number = _int_or_none(value)
            if number is None or number <= 0:
                raise CommandError(f"ERR Invalid argument '{value}' for SENTINEL SET "
                                   f"'{option}'")
            changes.append((option, value, number))
        for option, value, number in changes:
            key = option.lower()
            if key == "down-after-milliseconds":
                master.down_after_ms = number
                for record in (*master.replicas.values(), *master.sentinels.values()):
                    record.down_after_ms = number
            elif key == "failover-timeout":
                master.failover_timeout_ms = number
            elif key == "parallel-syncs":
                master.parallel_syncs = number
            else:
                master.quorum = number
            self._changed()
            self._event(Level.WARNING, "+set", master, f"{option} {value}")

    def set_global(self, option: str, value: str) -> None:
        """`SENTINEL CONFIG SET option value`."""
        key = option.lower()
        if key in ("resolve-hostnames", "announce-hostnames"):
            flag = {"yes": True, "no": False}.get(value.lower())
            if flag is None:
                raise CommandError(f"ERR Invalid value '{value}' to SENTINEL CONFIG SET "
                                   f"'{option}'")
            setattr(self, key.replace("-", "_"), flag)
        elif key == "announce-ip":
            self.announce_ip = value
        elif key == "announce-port":
            number = _int_or_none(value)
            if number is None or not 0 <= number <= 65535:
                raise CommandError(f"ERR Invalid value '{value}' to SENTINEL CONFIG SET "
                                   f"'{option}'")
            self.announce_port = number
        else:
            raise CommandError(f"ERR Invalid argument '{option}' to SENTINEL CONFIG SET")
        self._changed()

    def global_options(self) -> dict[str, str]:
        return {"resolve-hostnames": "yes" if self.resolve_hostnames else "no",
                "announce-hostnames": "yes" if self.announce_hostnames else "no",
                "announce-ip": self.announce_ip, "announce-port": str(self.announce_port),
                "sentinel-user": "", "sentinel-pass": ""}

    def quorum_check(self, name: str) -> tuple[bool, int, list[str]]:
        """`SENTINEL CKQUORUM`: (ok, usable sentinels, the problems)."""
        master = self.master_named(name)
        usable = 1 + sum(1 for p in master.sentinels.values() if not p.s_down)
        voters = len(master.sentinels) + 1
        problems = []
        if usable < master.quorum:
            problems.append("Not enough available Sentinels to reach the specified quorum "
                            "for this master")
        if usable < voters // 2 + 1:
            problems.append("Not enough available Sentinels to reach the majority and "
                            "authorize a failover")
        return not problems, usable, problems


SETTABLE = frozenset({"down-after-milliseconds", "failover-timeout", "parallel-syncs",
                      "quorum"})
"""The `SENTINEL SET` options this sentinel applies (all take a positive integer). Redis'
others — auth-pass, auth-user, rename-command, notification-script,
client-reconfig-script, master-reboot-down-after-period — are refused as unknown rather
than accepted and ignored: a sentinel that said OK to auth-pass and then did not
authenticate would fail later, far from the cause."""


def _no_down_for(record: Instance, seconds: float, now: float) -> bool:
    latest = max(record.s_down_since, getattr(record, "o_down_since", 0.0))
    return latest == 0 or now - latest > seconds


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
