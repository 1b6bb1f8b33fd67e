"""The full-resync payload (our "RDB"): a fakeredis dataset, serialized and loaded back.

A primary sends it after `+FULLRESYNC`; the replica flushes and loads it. The bytes are
opaque to everyone else (no real Redis reads them): a `REDIS0010`-style magic, then a pickle of
`{db: [(key, value, expireat)]}` with fakeredis' own value objects — the same encoding
fakeredis uses for DUMP/RESTORE, so every data type fakeredis has survives the trip.

Loading goes through a restricted unpickler that only builds fakeredis model classes and
plain containers, so a peer that is not one of our servers cannot make a replica run code.
"""

from __future__ import annotations

import io
import pickle
import time
from dataclasses import dataclass
from typing import Any

from fakeredis import FakeServer
from fakeredis._core._database import Item

MAGIC = b"REDISHA01"

_ALLOWED_BUILTINS = frozenset({"set", "frozenset", "dict", "list", "tuple", "bytes", "bytearray",
                               "int", "float", "str", "bool", "complex", "slice", "object"})
_ALLOWED_MODULES = ("fakeredis.", "collections", "sortedcontainers", "decimal", "datetime",
                    "copyreg", "_collections_abc", "array", "_codecs")


@dataclass(frozen=True)
class LoadStats:
    keys_loaded: int
    keys_expired: int
    created_at: float
    memory_mb: float
    meta: dict[str, Any]
    """What the saver stored besides the data (its replication id and offset)."""


class SnapshotError(Exception):
    """Bytes that are not a snapshot this server can load."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in _ALLOWED_BUILTINS:
            return super().find_class(module, name)
        if module.startswith(_ALLOWED_MODULES):
            return super().find_class(module, name)
        raise SnapshotError(f"snapshot refers to {module}.{name}")


def dump(server: FakeServer, *, now: float | None = None,
         meta: dict[str, Any] | None = None) -> bytes:
    """Every live key of every database, with its absolute expiry, and `meta` (RDB's aux
    fields: the replication id and offset a restarted replica resumes from)."""
    now = time.time() if now is None else now
    dbs: dict[int, list[tuple[bytes, Any, float | None]]] = {}
    with server.lock:
        for number, db in server.dbs.items():
            db.time = now
            keys = []
            for key in list(db._dict):
                item = db._dict[key]
                if item.expireat is not None and item.expireat <= now:
                    continue
                keys.append((key, item.value, item.expireat))
            if keys:
                dbs[number] = keys
    body = pickle.dumps({"created": now, "dbs": dbs, "meta": dict(meta or {})},
                        protocol=pickle.HIGHEST_PROTOCOL)
    return MAGIC + body


def load(server: FakeServer, payload: bytes, *, now: float | None = None) -> LoadStats:
    """Flush `server` and load `payload` into it."""
    now = time.time() if now is None else now
    if not payload.startswith(MAGIC):
        raise SnapshotError("Wrong signature trying to load DB from file")
    try:
        data = _Unpickler(io.BytesIO(payload[len(MAGIC):])).load()
    except SnapshotError:
        raise
    except Exception as exc:
        raise SnapshotError(f"Short read or OOM loading DB. Unrecoverable error ({exc})") from exc
    loaded = expired = 0
    with server.lock:
        for db in server.dbs.values():
            db.clear()
        for number, keys in data["dbs"].items():
            db = server.dbs[number]
            for key, value, expireat in keys:
                if expireat is not None and expireat <= now:
                    expired += 1
                    continue
                item = Item(value)
                item.expireat = expireat
                db[key] = item
                loaded += 1
    return LoadStats(keys_loaded=loaded, keys_expired=expired, created_at=data["created"],
                     memory_mb=round(0.85 + len(payload) / (1024 * 1024), 2),
                     meta=dict(data.get("meta") or {}))


def flush(server: FakeServer) -> None:
    with server.lock:
        for db in server.dbs.values():
            db.clear()
