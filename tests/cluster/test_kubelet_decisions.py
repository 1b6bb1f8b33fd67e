"""The kubelet's small pure decisions: back-off, durations, probe thresholds, env expansion."""

from __future__ import annotations

import pytest

from cluster import probes
from cluster.kubelet import (Backoff, expand_vars, go_duration, rfc3339_nano,
                             should_restart)


def test_backoff_doubles_to_the_ceiling() -> None:
    """Each failure doubles the delay, capped at the maximum (10s → 20s → … → 300s)."""
    backoff = Backoff(10, 300, 600)
    delays = [backoff.next(at, at) for at in range(0, 80, 10)]
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]


def test_backoff_resets_after_a_quiet_spell() -> None:
    """A failure more than `reset` seconds after the last one starts over at the initial delay."""
    backoff = Backoff(10, 300, 600)
    backoff.next(0, 0)
    backoff.next(5, 5)
    assert backoff.next(700, 700) == 10


def test_in_backoff_since() -> None:
    """An event is in back-off until the current delay has passed since it."""
    backoff = Backoff(10, 300, 600)
    assert not backoff.in_backoff_since(0, 1)
    backoff.next(0, 0)
    assert backoff.in_backoff_since(0, 9.9)
    assert not backoff.in_backoff_since(0, 10.0)


@pytest.mark.parametrize("seconds, text", [
    pytest.param(10, "10s", id="10s"), pytest.param(300, "5m0s", id="5m"),
    pytest.param(80, "1m20s", id="1m20s"), pytest.param(0.012, "12ms", id="ms"),
    pytest.param(1.5, "1.5s", id="fraction"), pytest.param(3725, "1h2m5s", id="hours"),
    pytest.param(0, "0s", id="zero"), pytest.param(0.000003, "3µs", id="micro"),
])
def test_go_duration(seconds: float, text: str) -> None:
    """Durations print as Go's time.Duration does, as kubelet's messages show them."""
    assert go_duration(seconds) == text


@pytest.mark.parametrize("policy, code, again", [
    pytest.param("Always", 0, True, id="always-0"), pytest.param("Always", 1, True, id="always-1"),
    pytest.param("OnFailure", 0, False, id="onfailure-0"),
    pytest.param("OnFailure", 1, True, id="onfailure-1"),
    pytest.param("Never", 1, False, id="never-1"),
])
def test_should_restart(policy: str, code: int, again: bool) -> None:
    """restartPolicy decides whether an exited container runs again."""
    assert should_restart(policy, code) is again


def test_rfc3339_nano_trims_trailing_zeros() -> None:
    """Timestamps carry up to nine fraction digits, trailing zeros dropped, in UTC."""
    assert rfc3339_nano(0.5) == "1970-01-01T00:00:00.5Z"
    assert rfc3339_nano(1.0) == "1970-01-01T00:00:01Z"
    assert rfc3339_nano(1.123456) == "1970-01-01T00:00:01.123456Z"


def test_expand_vars() -> None:
    """`$(VAR)` expands defined variables, leaves unknown ones, and `$$` escapes."""
    env = {"A": "1"}
    assert expand_vars("$(A)-$(B)-$$(A)", env) == "1-$(B)-$(A)"


@pytest.mark.parametrize("results, success, failure, initial, flips", [
    pytest.param([True], 1, 3, False, [True], id="readiness-first-success"),
    pytest.param([False, False, False], 1, 3, True, [None, None, False], id="liveness-third-fail"),
    pytest.param([True, False, True, True], 2, 1, False, [None, None, None, True],
                 id="success-threshold"),
])
def test_thresholds(results: list[bool], success: int, failure: int, initial: bool | None,
                    flips: list[bool | None]) -> None:
    """Results flip only after successThreshold/failureThreshold consecutive checks."""
    counter = probes.Thresholds(success, failure, initial)
    seen = []
    for ok in results:
        changed = counter.observe(ok)
        seen.append(counter.result if changed else None)
    assert seen == flips


def test_parse_probe_scales_and_resolves_named_ports() -> None:
    """A tcpSocket probe's named port is looked up; every time is multiplied by the scale."""
    spec = {"name": "c", "ports": [{"name": "redis", "containerPort": 6379}],
            "livenessProbe": {"tcpSocket": {"port": "redis"}, "initialDelaySeconds": 2,
                              "periodSeconds": 4, "timeoutSeconds": 1, "failureThreshold": 5}}
    probe = probes.parse_probe(probes.ProbeKind.LIVENESS, spec, scale=0.5)
    assert probe is not None and probe.action is probes.Action.TCP and probe.port == 6379
    assert (probe.initial_delay, probe.period, probe.timeout, probe.failure_threshold) == (
        1.0, 2.0, 0.5, 5)
    assert probes.parse_probe(probes.ProbeKind.READINESS, spec) is None
