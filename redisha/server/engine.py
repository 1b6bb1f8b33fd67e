"""The fakeredis seam: run one parsed command against a `FakeServer`, get RESP frames back.

fakeredis is the data plane. Its `FakeSocket` holds a connection's state (selected db,
MULTI queue, WATCHes, subscriptions, RESP version) and its `_process_command(fields)` runs
one command through fakeredis' own command table, argument parsing, arity checks and
transaction logic, then hands the reply to `put_response`. `Session` subclasses the asyncio
flavour of that socket (whose blocking commands park a task instead of blocking the loop)
and changes only the edges:

- replies are collected per command, un-decoded: fakeredis' `SimpleString` and
  `SimpleError` become our `resp` frames, so `+OK` stays a status and errors keep their code;
- replies that arrive later (a blocked BLPOP served, a message on a subscribed channel) go to
  the connection's `deliver` callback;
- every write that changed the dataset is recorded as the command(s) to stream to replicas
  (`propagation.effects`), per database, from inside `_run_command` — the one method every
  command goes through, top level, inside EXEC, and inside a script.

Command flags (`write`, …) come from fakeredis' copy of Redis' command table
(`commands.json`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fakeredis import FakeServer
from fakeredis._commands import COMMANDS_WITH_SUB, SUPPORTED_COMMANDS, Key
from fakeredis._helpers import SimpleError, SimpleString
from fakeredis._socket import AsyncFakeSocket
from fakeredis.model._command_info import is_write_command

from redisha.server import propagation, resp


def _has_key_args(name: str) -> bool:
    sig = SUPPORTED_COMMANDS[name]
    return any(isinstance(t, Key) for t in (*sig.fixed, *sig.repeat))


WRITE_COMMANDS: frozenset[str] = frozenset(
    name for name in SUPPORTED_COMMANDS if is_write_command(name.encode()))
"""fakeredis command names (`set`, `xgroup create`) flagged `write` in Redis' table."""

KEYED_COMMANDS: frozenset[str] = frozenset(n for n in WRITE_COMMANDS if _has_key_args(n))

SUBSCRIBE_COMMANDS = frozenset({"subscribe", "psubscribe", "ssubscribe", "unsubscribe",
                                "punsubscribe", "sunsubscribe"})
CONTAINER_COMMANDS: frozenset[str] = frozenset(COMMANDS_WITH_SUB)
"""Commands with subcommands (`config`, `client`, …)."""
_MESSAGE_KINDS = frozenset({b"message", b"pmessage", b"smessage"})
_PUBSUB_CONTEXT = SUBSCRIBE_COMMANDS | {"ping", "reset"}
"""Commands fakeredis lets a subscribed connection run, and which may change its count."""


def command_name(args: Sequence[bytes]) -> str:
    """fakeredis' name for a request: `set`, or `config set` for container commands."""
    name = args[0].decode(errors="replace").lower()
    if name in CONTAINER_COMMANDS and len(args) >= 2:
        return name + " " + args[1].decode(errors="replace").lower()
    return name


def is_known(name: str) -> bool:
    return name in SUPPORTED_COMMANDS


def is_write(name: str) -> bool:
    return name in WRITE_COMMANDS


@dataclass(frozen=True, slots=True)
class Effect:
    """One command to stream to replicas, in database `db`."""

    db: int
    args: tuple[bytes, ...]


_PLAIN = (bytes, int, type(None))
_OK = resp.OK


def to_frame(value: Any) -> Any:
    """fakeredis' reply value → a `resp` frame."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is SimpleString:
        return _OK if value.value == b"OK" else resp.SimpleString(value.value)
    if isinstance(value, SimpleError):
        return resp.Error(value.value)
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else to_frame(v) for v in value]
    if kind is dict:
        return {to_frame(k): to_frame(v) for k, v in value.items()}
    if kind is set or kind is frozenset:
        return resp.RespSet([to_frame(v) for v in value])
    if isinstance(value, Exception):  # a redis-py error object, should one slip through
        return resp.Error(str(value))
    return value


Deliver = Callable[[Any], None]


@dataclass(frozen=True, slots=True)
class OwnSignature:
    """Stands for fakeredis' signature in a queued command the server answers itself
    (REPLICAOF, CONFIG, CLIENT … inside MULTI): EXEC's checks read only its `name`."""

    name: str


def _run_own(run: Callable[[], Any]) -> Any:
    """The function of a queued own command's entry: it marks the entry, which
    `Session._run_command` runs itself (`from_frame(run())`), bypassing fakeredis."""
    return run()


def from_frame(frame: Any) -> Any:
    """A `resp` frame → fakeredis' reply value (the inverse of `to_frame`), for a queued own
    command's reply inside EXEC's array, which fakeredis checks."""
    kind = type(frame)
    if kind in _PLAIN:
        return frame
    if kind is resp.SimpleString:
        return SimpleString(frame.value)
    if kind is resp.Error:
        return SimpleError(frame.message)
    if kind is resp.Verbatim:
        return frame.text
    if kind is list or kind is tuple:
        return [from_frame(item) for item in frame]
    if kind is str:
        return frame.encode()
    return frame


class Session(AsyncFakeSocket):
    """One client connection's fakeredis state, driven one command at a time.

    `streaming()` tells whether anyone consumes effects (a replica or a backlog); when not,
    writes are only counted, which keeps the path of a lone primary as short as fakeredis'.
    """

    def __init__(self, server: FakeServer, *, deliver: Deliver,
                 on_resume: Callable[[], None] = lambda: None,
                 client_info: dict[str, Any] | None = None, record: bool = True,
                 streaming: Callable[[], bool] = lambda: True) -> None:
        self._collect: list[Any] | None = None
        self._deliver = deliver
        self._on_resume = on_resume
        self._record = record
        self._streaming = streaming
        self._effects: list[Effect] = []
        self.changes = 0
        """Writes that changed the dataset (rdb_changes_since_last_save), streamed or not."""
        self._touched: Sequence[Any] = ()
        self.current: str = ""
        """fakeredis name of the command being (or last) executed."""
        super().__init__(server, 0, client_class=object, client_info=client_info or {})

    # -- driving --------------------------------------------------------------------------

    @property
    def protocol(self) -> int:
        return self._client_info.protocol_version

    @property
    def db(self) -> int:
        return self._db_num

    @property
    def queueing(self) -> bool:
        """Inside MULTI: commands are queued, not run."""
        return self._transaction is not None and not self._transaction_paused

    @property
    def queued(self) -> list[tuple[Any, Any, list[bytes]]]:
        return list(self._transaction or ())

    @property
    def blocked(self) -> bool:
        """A blocking command is parked: later commands wait for its reply."""
        return self._paused

    @property
    def subscriptions(self) -> int:
        return self._pubsub

    @property
    def info(self) -> dict[str, Any]:
        return self._client_info

    def execute(self, args: list[bytes], name: str) -> list[Any]:
        """Run one command; its replies (none for CLIENT REPLY OFF, several for SUBSCRIBE a
        b), as frames."""
        self.current = name
        collected: list[Any] = []
        self._collect = collected
        # fakeredis refuses most commands on any connection with subscriptions; Redis only
        # on a RESP2 one (the server checks that itself, with Redis' wording). A RESP3
        # connection's subscriptions are hidden from fakeredis while its command runs.
        hidden = (self._pubsub if self.protocol == 3 and name not in _PUBSUB_CONTEXT
                  else 0)
        self._pubsub -= hidden
        try:
            self._process_command(args)
        finally:
            self._collect = None
            self._pubsub += hidden
        if not collected:
            return collected
        if name in SUBSCRIBE_COMMANDS and self.protocol == 3:
            return [resp.Push(to_frame(r)) if type(r) is list else to_frame(r)
                    for r in collected]
        if len(collected) == 1:
            only = collected[0]
            return [only if type(only) in _PLAIN else to_frame(only)]
        return [to_frame(r) for r in collected]

    def fail_transaction(self) -> None:
        """A command refused while queueing makes EXEC answer EXECABORT, as in Redis."""
        if self.queueing:
            self._transaction_failed = True

    def discard_transaction(self) -> None:
        self._forget_transaction()
        self._clear_watches()

    def queue_own(self, name: str, run: Callable[[], Any]) -> None:
        """Queue, inside MULTI, a command the server answers itself: EXEC calls `run()` in
        its turn, between fakeredis' own queued commands, and puts the frame it returns in
        its reply array (Sentinel's failover sends MULTI, REPLICAOF, CONFIG REWRITE,
        CLIENT KILL …, EXEC)."""
        assert self._transaction is not None
        self._transaction.append((_run_own, OwnSignature(name), [run]))

    def take_effects(self) -> list[Effect]:
        effects, self._effects = self._effects, []
        return effects

    # -- fakeredis hooks ------------------------------------------------------------------

    def put_response(self, msg: Any) -> None:
        if self._collect is not None:
            self._collect.append(msg)
            return
        if self.protocol == 3 and type(msg) is list and msg and msg[0] in _MESSAGE_KINDS:
            self._deliver(resp.Push(to_frame(msg)))
        else:
            self._deliver(to_frame(msg))

    def _decode_result(self, result: Any) -> Any:
        return result

    def resume(self) -> None:
        self._paused = False
        self._on_resume()

    def _keyspace_notifications(self, command_items: list[Any], event: bytes) -> None:
        self._touched = command_items
        super()._keyspace_notifications(command_items, event)

    def _run_command(self, func: Any, sig: Any, args: list[Any], from_script: bool) -> Any:
        if func is _run_own:
            return from_frame(args[0]())
        self._touched = ()
        result = super()._run_command(func, sig, args, from_script)
        name = sig.name
        if (name in WRITE_COMMANDS and not isinstance(result, SimpleError)
                and propagation.changed(self._touched, name in KEYED_COMMANDS)):
            self.changes += 1
            if not self._record or not self._streaming():
                return result
            for command in propagation.effects(name, args, result, self._touched):
                self._effects.append(Effect(self._db_num, command))
                deadline = propagation.absolute_expiry(command)
                if deadline is not None:
                    self._hold_expiry(*deadline)
        return result

    def _hold_expiry(self, key: bytes, millis: int) -> None:
        """Keep the deadline a replica will hold: Redis stores expiries in whole
        milliseconds, and the primary's own key must expire at the very same moment as the
        replicas' (both hold `millis / 1000`)."""
        item = self._db._dict.get(key)
        if item is not None and item.expireat is not None:
            item.expireat = millis / 1000.0
            self._db.schedule_expiry(key, item.expireat)
