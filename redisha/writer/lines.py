"""The writer's log lines: what it prints for every write and every connection it makes.

The dashboard learns how writes fare by following the writer pod's log (`kubectl logs -f`
would show the same), so the lines are a small contract, logfmt-shaped so that `grep`
and a person read them as easily as a parser:

```
started prefix=writer-7d4f:1 target=rfrm-demo:6379 rate=50 acked=0 failed=0 lost=0
waiting error="gaierror: [Errno -2] Name or service not known" acked=0 failed=0 lost=0
connected server=127.10.0.3:6379 run=5c1e0f5d2a71 role=master acked=0 failed=0 lost=0
ack n=1 key=writer-7d4f:1 server=127.10.0.3:6379 ms=0.42 acked=1 failed=0 lost=0
fail n=2 key=writer-7d4f:2 error="timed out after 0.5s" acked=1 failed=1 lost=0
verified keys=1 server=127.10.0.4:6379 ms=0.8 acked=1 failed=1 lost=0
lost count=1 first=writer-7d4f:1 last=writer-7d4f:1 server=127.10.0.4:6379 acked=1 failed=1 lost=1
stopped acked=1 failed=1 lost=1
```

The first word says what happened; every line ends with the running totals, so a reader
that starts late (or misses lines) still has the counts. `lost` counts acknowledged writes
that a later primary did not have. The dashboard's parser is `tui.writes`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class LineKind(str, enum.Enum):
    """The first word of a line."""

    STARTED = "started"
    WAITING = "waiting"
    """No primary to connect to before the first write (not counted as failed)."""
    CONNECTED = "connected"
    ACK = "ack"
    """The primary answered the SET with +OK."""
    FAIL = "fail"
    """The write was not acknowledged: no connection, an error reply or a timeout."""
    VERIFIED = "verified"
    """A new primary holds every acknowledged key."""
    LOST = "lost"
    """A new primary lacks acknowledged keys; they are counted once and then forgotten."""
    STOPPED = "stopped"


@dataclass(frozen=True)
class Totals:
    """The running counts every line ends with."""

    acked: int = 0
    failed: int = 0
    lost: int = 0


def _value(value: object) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "='):
        return text
    return '"' + text.replace('"', "'").replace("\n", " ") + '"'


def format_line(kind: LineKind, totals: Totals, **fields: object) -> str:
    """One line: the kind, `fields` in order, then the totals."""
    parts = [kind.value]
    parts += [f"{name}={_value(value)}" for name, value in fields.items()]
    parts += [f"acked={totals.acked}", f"failed={totals.failed}", f"lost={totals.lost}"]
    return " ".join(parts)
