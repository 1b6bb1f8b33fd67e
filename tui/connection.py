"""What the dashboard is attached to: a client, optional faults, and a name for the header.

The dashboard never builds a cluster; its caller hands it a `Connection`. Today that is the
embedded cluster's in-process client; an HTTP client to a remote cluster fits unchanged,
with `faults=None` because nothing outside the API reaches a remote cluster's processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cluster.client import Client
from tui.faults import Faults


@dataclass(frozen=True)
class Connection:
    """A cluster as the dashboard sees it."""

    client: Client
    """Everything the dashboard reads and writes goes through this."""
    faults: Faults | None = None
    """Faults beyond the API (crash, hang, partition, kill node); None disables them."""
    context: str = "embedded"
    """The cluster's name in the header (k9s's "Context")."""
    namespace: str | None = None
    """The namespace the dashboard opens in; None means all namespaces."""
