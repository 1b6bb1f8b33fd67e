"""Accept headers: the media ranges a client will take, best first.

Discovery (aggregated or legacy) and tables (Table or plain JSON) both choose their answer
from the same ranking, as apimachinery's content negotiation does: q, then specific types
before wildcards, then the client's order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaRange:
    """One comma-separated entry of an Accept header."""

    type: str
    subtype: str
    params: dict[str, str]
    q: float
    position: int

    @property
    def specificity(self) -> int:
        """How many wildcards it has (0 is most specific), the tie-break after q."""
        return (self.type == "*") + (self.subtype == "*")

    @property
    def is_json(self) -> bool:
        """`application/json` or a wildcard that covers it."""
        return (self.type, self.subtype) in {("application", "json"), ("application", "*"),
                                             ("*", "*")}


def parse_accept(accept: str) -> list[MediaRange]:
    """Accept header → media ranges, best first (q descending, then specific first,
    then header order), as apimachinery's negotiation ranks them. Malformed
    entries are dropped rather than failing the request."""
    ranges: list[MediaRange] = []
    for position, entry in enumerate(_split_outside_quotes(accept, ",")):
        parts = _split_outside_quotes(entry, ";")
        if not parts:
            continue  # only separators: `;;`
        media, raw_params = parts[0].strip().lower(), parts[1:]
        kind, slash, sub = media.partition("/")
        if not slash or not kind or not sub:
            continue
        params: dict[str, str] = {}
        q = 1.0
        for raw in raw_params:
            key, eq, value = raw.partition("=")
            key, value = key.strip().lower(), value.strip().strip('"')
            if not key or not eq:
                continue
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            else:
                params[key] = value
        ranges.append(MediaRange(kind, sub, params, q, position))
    ranges.sort(key=lambda r: (-r.q, r.specificity, r.position))
    return [r for r in ranges if r.q > 0]


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]
