"""The RedisFailover operator: the `redisfailovers.redisha.io` custom resource and the
reconciler that runs Redis with Sentinel-style failover on the cluster.

```python
from redisha import operator

await operator.install(cluster.client)                 # the CRD, if missing
rf_operator = operator.RedisFailoverOperator(cluster.client, cluster.informers)
await rf_operator.start()
await cluster.client.create(operator.sample("cache"), "default")
```

See docs/operator.md for what it owns and how it decides.
"""

from __future__ import annotations

from typing import Any

from cluster.client import Client
from redisha.operator import definition
from redisha.operator.decisions import Tuning
from redisha.operator.operator import OperatorSettings, RedisFailoverOperator
from redisha.operator.reasons import EventReason, FailoverReason, Phase


def crd() -> dict[str, Any]:
    """The `redisfailovers.redisha.io` CustomResourceDefinition manifest."""
    return definition.crd()


async def install(client: Client) -> dict[str, Any]:
    """Create the CRD unless it exists; returns the stored CRD."""
    return await definition.install(client)


def sample(name: str = "redisfailover", namespace: str | None = None,
           spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """A RedisFailover object (an empty spec takes every default)."""
    return definition.sample(name, namespace, spec)


__all__ = ["EventReason", "FailoverReason", "OperatorSettings", "Phase", "RedisFailoverOperator",
           "Tuning", "crd", "install", "sample"]
