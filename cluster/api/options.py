"""Options a write request carries, as the REST API spells them."""

from __future__ import annotations

import enum


class PatchType(str, enum.Enum):
    """Patch formats, by the Content-Type the REST API uses for them."""

    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    JSON = "application/json-patch+json"


class PropagationPolicy(str, enum.Enum):
    """How deleting an owner treats its dependents."""

    BACKGROUND = "Background"
    FOREGROUND = "Foreground"
    ORPHAN = "Orphan"
