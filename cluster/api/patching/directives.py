"""The `$`-keys a strategic merge patch uses to say more than "set this value".

Kubernetes names them in the API conventions (and apimachinery's strategicpatch):
`$patch` on a map or list element, `$retainKeys` on a map, and the parallel-list keys
`$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` beside a list.
"""

from __future__ import annotations

import enum

MARKER = "$patch"
"""On a map or list element: what to do with it instead of merging."""
RETAIN_KEYS = "$retainKeys"
"""On a map: the only keys the result keeps (others are cleared first)."""
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
"""`$deleteFromPrimitiveList/<field>`: primitives to remove from a merged list."""
SET_ELEMENT_ORDER = "$setElementOrder"
"""`$setElementOrder/<field>`: the order the list's patched elements should end in."""


class Directive(str, enum.Enum):
    """Values of `$patch`."""

    REPLACE = "replace"
    DELETE = "delete"
    MERGE = "merge"


def parallel_key(prefix: str, field: str) -> str:
    """The key of a parallel list beside `field`, e.g. `$setElementOrder/containers`."""
    return f"{prefix}/{field}"
