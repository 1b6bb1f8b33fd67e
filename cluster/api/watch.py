"""The records a watch delivers; shared by the store, the API server and every client."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class EventType(str, enum.Enum):
    """The `type` of a watch event."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change delivered by a watch; `revision` is the store revision that made it."""

    type: EventType
    object: dict[str, Any]
    revision: int
