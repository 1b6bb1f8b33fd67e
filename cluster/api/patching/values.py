"""JSON value helpers shared by the patch formats.

Python's `==` says `True == 1` and `{"a": 1} == {"a": True}`; JSON does not, and a patch
that silently turned `replicas: 1` into `replicas: true` would be a bug. These helpers
compare and hash JSON values the way a JSON document sees them.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from cluster.api import errors

Path = tuple[str, ...]
"""Where a value sits in an object: field names, a list's elements marked `field[]`."""


def json_equal(a: Any, b: Any) -> bool:
    """Deep equality that keeps booleans apart from numbers, as JSON does."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys():
            return False
        return all(json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def token(value: Any) -> Hashable:
    """A hashable stand-in for a JSON value, equal exactly when `json_equal` says so."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", value)
    if isinstance(value, str):
        return ("str", value)
    if value is None:
        return ("null",)
    return ("json", json.dumps(value, sort_keys=True, separators=(",", ":")))


def is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def render(path: Path) -> str:
    """A path as a person reads it: `spec.template.spec.containers[].ports`."""
    return ".".join(path) if path else "the top level"


def element_path(path: Path) -> Path:
    """The path of the elements of the list at `path`."""
    return path[:-1] + (path[-1] + "[]",) if path else ("[]",)


def bad(path: Path, message: str) -> errors.BadRequest:
    """A malformed-patch error naming where in the object the patch went wrong."""
    return errors.BadRequest(f"{message} (at {render(path)})")


def short(value: Any, limit: int = 80) -> str:
    """A one-line JSON rendering of a value for error messages, cut at `limit`."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
