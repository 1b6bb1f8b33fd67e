"""What a primary streams to its replicas for one executed write (pure functions).

Most writes are replicated verbatim. A write whose re-execution on a replica could differ is
replicated by its effect, as Redis 7 does:

- relative expiries become absolute: EXPIRE/PEXPIRE/EXPIREAT → `PEXPIREAT key ms` (or `DEL`
  when the time was already past), SET … EX/PX/EXAT and SETEX/PSETEX → `SET key value PXAT
  ms`, GETEX EX/PX/EXAT/PXAT → `PEXPIREAT`, GETEX PERSIST → `PERSIST`;
- random picks become what was picked: SPOP → `SREM key member…`;
- float arithmetic becomes the stored result: INCRBYFLOAT → `SET key value KEEPTTL`,
  HINCRBYFLOAT → `HSET key field value`.

A write that changed nothing (SET NX on an existing key, DEL of a missing key) streams
nothing, as Redis propagates only when the dataset became dirty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class TouchedKey(Protocol):
    """What fakeredis' CommandItem tells after a command: the key and its new state."""

    key: bytes

    @property
    def value(self) -> Any: ...

    @property
    def expireat(self) -> float | None: ...

    @property
    def is_modified(self) -> bool: ...


Command = tuple[bytes, ...]

_EXPIRES = frozenset({"expire", "pexpire", "expireat", "pexpireat"})
_SET_EXPIRY_FLAGS = frozenset({b"ex", b"px", b"exat"})
_GETEX_EXPIRY_FLAGS = frozenset({b"ex", b"px", b"exat", b"pxat"})


def millis(expireat: float) -> bytes:
    """An absolute expiry in Unix milliseconds, as PEXPIREAT/PXAT take it."""
    return str(round(expireat * 1000)).encode()


def absolute_expiry(command: Command) -> tuple[bytes, int] | None:
    """(key, Unix ms) when `command` sets an absolute expiry (PEXPIREAT, SET … PXAT)."""
    if command[0] == b"PEXPIREAT":
        return command[1], int(command[2])
    if command[0] == b"SET" and len(command) == 5 and command[3] == b"PXAT":
        return command[1], int(command[4])
    return None


def changed(keys: Sequence[TouchedKey], has_key_args: bool) -> bool:
    """Did the command change the dataset? Commands without key arguments (FLUSHALL,
    SWAPDB) are assumed to have when they succeeded."""
    if not has_key_args:
        return True
    return any(item.is_modified for item in keys)


def effects(name: str, args: Sequence[bytes], result: Any,
            keys: Sequence[TouchedKey]) -> list[Command]:
    """The commands to stream for one successful write `name args` (fakeredis' lower-case
    name, `sub` commands as `"xgroup create"`; `args` after the name)."""
    if name in _EXPIRES:
        return _expire(keys)
    if name in ("setex", "psetex"):
        return _set_pxat(args[0], args[2], keys)
    if name == "set" and any(a.lower() in _SET_EXPIRY_FLAGS for a in args[2:]):
        return _set_pxat(args[0], args[1], keys)
    if name == "getex":
        flags = [a.lower() for a in args[1:]]
        if b"persist" in flags:
            return [(b"PERSIST", args[0])]
        if any(f in _GETEX_EXPIRY_FLAGS for f in flags):
            return _expire(keys)
        return []
    if name == "spop":
        members = result if isinstance(result, list) else [result]
        members = [m for m in members if isinstance(m, bytes)]
        return [(b"SREM", args[0], *members)] if members else []
    if name == "incrbyfloat":
        return [(b"SET", args[0], _number(result), b"KEEPTTL")]
    if name == "hincrbyfloat":
        return [(b"HSET", args[0], args[1], _number(result))]
    return [verbatim(name, args)]


def verbatim(name: str, args: Sequence[bytes]) -> Command:
    return (*(word.upper().encode() for word in name.split(" ")), *args)


def _expire(keys: Sequence[TouchedKey]) -> list[Command]:
    if not keys:
        return []
    item = keys[0]
    if item.value is None:
        return [(b"DEL", item.key)]
    if item.expireat is None:
        return [(b"PERSIST", item.key)]
    return [(b"PEXPIREAT", item.key, millis(item.expireat))]


def _set_pxat(key: bytes, value: bytes, keys: Sequence[TouchedKey]) -> list[Command]:
    item = next((k for k in keys if k.key == key), None)
    if item is None or item.expireat is None:
        return [(b"SET", key, value)]
    return [(b"SET", key, value, b"PXAT", millis(item.expireat))]


def _number(result: Any) -> bytes:
    if isinstance(result, bytes):
        return result
    if isinstance(result, float):
        text = repr(result)
        return (text.removesuffix(".0")).encode()
    return str(result).encode()
