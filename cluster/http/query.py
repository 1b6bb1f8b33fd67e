"""Query parameters as kube-apiserver converts them (apimachinery's conversions), for every
endpoint alike: a boolean is false only when absent, `0` or `false` (an empty `watch=` is
true), an integer is base 10, a time is RFC 3339."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from cluster.api import errors


def query_bool(query: Mapping[str, str], key: str) -> bool:
    """A boolean query parameter as apimachinery converts one: absent is false, and so
    are `0` and `false` in any case; anything else (even empty) is true."""
    value = query.get(key)
    if value is None:
        return False
    return value != "0" and value.lower() != "false"


def query_int(query: Mapping[str, str], key: str) -> int | None:
    """An integer query parameter; a malformed one is a BadRequest in Go's words."""
    value = query.get(key)
    if value is None:
        return None
    try:
        return int(value, 10)
    except ValueError:
        raise errors.BadRequest(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


def query_time(query: Mapping[str, str], key: str) -> float | None:
    """An RFC 3339 time query parameter as epoch seconds."""
    value = query.get(key)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise errors.BadRequest(f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": '
                                f'cannot parse "{value}" as "2006"')
    return parsed.timestamp()
