"""The RedisFailover CRD: defaults, validation, printer columns, install."""

from __future__ import annotations

import random

import pytest

import redisha.operator as rf_operator
from cluster.api import errors
from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.kubectl import Kubectl


def _client() -> InProcessClient:
    return InProcessClient(APIServer(clock=lambda: 1_700_000_000.0, rng=random.Random(7)))


async def test_an_empty_spec_gets_every_default() -> None:
    """The API server fills in the issue's defaults through nested object defaults."""
    client = _client()
    await rf_operator.install(client)
    rf = await client.create(rf_operator.sample("cache"), "default")
    assert rf["spec"] == {
        "redis": {"replicas": 3, "image": "redis", "antiAffinity": "preferred",
                  "minReplicasToWrite": 0, "minReplicasMaxLagSeconds": 10,
                  "persistence": {"enabled": False, "size": "1Gi"}},
        "sentinel": {"replicas": 3, "quorum": 2, "downAfterMilliseconds": 5000,
                     "failoverTimeoutMilliseconds": 10000, "parallelSyncs": 1,
                     "image": "redisha/sentinel"},
    }


@pytest.mark.parametrize("spec,message", [
    pytest.param({"redis": {"antiAffinity": "always"}}, 'spec.redis.antiAffinity: Unsupported value: "always"', id="affinity-enum"),
    pytest.param({"redis": {"replicas": 0}}, "spec.redis.replicas in body should be greater than or equal to 1", id="no-redis"),
    pytest.param({"sentinel": {"quorum": "two"}}, "spec.sentinel.quorum: Invalid value", id="quorum-type"),
    pytest.param({"redis": {"persistence": {"size": "lots"}}}, "spec.redis.persistence.size", id="quantity"),
])
async def test_invalid_specs_are_refused_with_the_field_named(spec: dict, message: str) -> None:
    """A bad field is refused with its path, and nothing is stored."""
    client = _client()
    await rf_operator.install(client)
    with pytest.raises(errors.Invalid, match=message.replace("(", r"\(")):
        await client.create(rf_operator.sample("bad", spec=spec), "default")
    assert (await client.list("rf", "default")).items == []


async def test_kubectl_shows_the_printer_columns_and_knows_the_short_name() -> None:
    """`kubectl get rf` prints PRIMARY, PHASE, EPOCH, REPLICAS, SENTINELS, AGE from status."""
    client = _client()
    await rf_operator.install(client)
    rf = await client.create(rf_operator.sample("cache"), "default")
    rf["status"] = {"phase": "Ready", "primary": "rfr-cache-1", "epoch": 3}
    await client.update_status(rf)
    result = await Kubectl(client).run(["get", "rf"])
    header, row = result.stdout.splitlines()
    assert header.split() == ["NAME", "PRIMARY", "PHASE", "EPOCH", "REPLICAS", "SENTINELS", "AGE"]
    assert row.split()[:6] == ["cache", "rfr-cache-1", "Ready", "3", "3", "3"]


async def test_install_leaves_an_existing_crd_alone() -> None:
    """A second install returns the stored CRD instead of failing."""
    client = _client()
    first = await rf_operator.install(client)
    second = await rf_operator.install(client)
    assert first["metadata"]["uid"] == second["metadata"]["uid"]
    assert rf_operator.crd()["spec"]["names"]["shortNames"] == ["rf"]
