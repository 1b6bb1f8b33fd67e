"""The tutorial's comparisons: kubectl tables, generated names, ordered log lines, events."""

from __future__ import annotations

import pytest

from redisha.tutorial import checks

PODS = """\
NAME                                READY   STATUS    RESTARTS   AGE
redis                               1/1     Running   0          5s
redis-deployment-866c4c6cf9-8z8k5   0/1     Pending   0          1s
"""


def test_table_row_finds_a_row_by_name() -> None:
    """A pod's row is found by its first cell, and the header is never a row."""
    assert checks.table_row(PODS, "redis") == ["redis", "1/1", "Running", "0", "5s"]
    assert checks.table_row(PODS, "NAME") is None
    assert checks.table_row(PODS, "redis-sfs-0") is None


@pytest.mark.parametrize(("row", "cells", "ok"), [
    pytest.param(["redis", "1/1", "Running", "0", "5s"], ("redis", "1/1", "Running", "0"), True,
                 id="prefix"),
    pytest.param(["redis", "0/1", "Pending", "0", "5s"], ("redis", "1/1", "Running", "0"), False,
                 id="pending"),
    pytest.param(["redis"], ("redis", "1/1"), False, id="short"),
    pytest.param(None, ("redis",), False, id="missing"),
])
def test_row_starts_with(row: list[str] | None, cells: tuple[str, ...], ok: bool) -> None:
    """Only the leading cells are compared; AGE and later columns vary."""
    assert checks.row_starts_with(row, cells) is ok


@pytest.mark.parametrize(("name", "parts"), [
    pytest.param("redis-deployment-866c4c6cf9-8z8k5", ("866c4c6cf9", "8z8k5"), id="tutorial"),
    pytest.param("redis-deployment-5b97ddd9b5-zskkb", ("5b97ddd9b5", "zskkb"), id="other"),
    pytest.param("redis-deployment-866c4c6cf9-8z8k", None, id="short-suffix"),
    pytest.param("redis-deployment-866c4c6cf9-8a8k5", None, id="vowel-in-suffix"),
    pytest.param("redis-deployment-866c4c6cf91-8z8k5", None, id="hash-too-long"),
    pytest.param("redis-866c4c6cf9-8z8k5", None, id="other-owner"),
])
def test_deployment_pod_name(name: str, parts: tuple[str, str] | None) -> None:
    """`<deployment>-<template hash>-<5 random characters>`, Kubernetes' alphabet only."""
    found = checks.deployment_pod_name(name, "redis-deployment")
    assert (None if found is None else (found.template_hash, found.suffix)) == parts


def test_missing_in_order_wants_each_piece_after_the_last() -> None:
    """Pieces must appear on successive lines in order; the first one absent is named."""
    log = ["* Connecting to MASTER m:6379", "# Unable to connect to MASTER: x",
           "* MASTER <-> REPLICA sync started"]
    assert checks.missing_in_order(log, ("Connecting", "Unable", "sync started")) is None
    assert checks.missing_in_order(log, ("Unable", "Connecting")) == "Connecting"
    assert checks.missing_in_order(log, ("Connecting", "Finished")) == "Finished"


def test_info_fields() -> None:
    """INFO's `key:value` lines become a dict; section headers are skipped."""
    text = "# Replication\r\nrole:slave\r\nmaster_host:redis-sfs-0.redis-sfs\r\n"
    assert checks.info_fields(text) == {"role": "slave", "master_host": "redis-sfs-0.redis-sfs"}


def _event(reason: str, nanos: int) -> dict[str, object]:
    return {"metadata": {"name": f"obj.{nanos:x}"}, "reason": reason}


CHAIN = ("ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Started")


def test_chain_in_order_passes_whatever_order_the_list_has() -> None:
    """Order is read from when each event was recorded, not from the list's order."""
    events = [_event("Started", 40), _event("Scheduled", 30), _event("ScalingReplicaSet", 10),
              _event("SuccessfulCreate", 20), _event("SuccessfulCreate", 50)]
    assert checks.chain_order(events, CHAIN) == (list(CHAIN), None)


@pytest.mark.parametrize(("events", "problem"), [
    pytest.param([_event("ScalingReplicaSet", 10), _event("Scheduled", 20),
                  _event("SuccessfulCreate", 30), _event("Started", 40)],
                 "Scheduled was recorded before SuccessfulCreate", id="swapped"),
    pytest.param([_event("ScalingReplicaSet", 10), _event("SuccessfulCreate", 20),
                  _event("Started", 40)], "no Scheduled event", id="missing"),
])
def test_chain_out_of_order_or_incomplete_is_named(events: list[dict[str, object]],
                                                   problem: str) -> None:
    """A link recorded too early, or not at all, is what the check reports."""
    assert checks.chain_order(events, CHAIN)[1] == problem
