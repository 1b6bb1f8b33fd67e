"""`KnownValid`: content seen valid is not checked again; anything else always is."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cluster.api import validation
from cluster.api.resources import BUILTIN_RESOURCES

from tests.cluster.api.validation_helpers import container, defaulted, pod

PODS = next(rt for rt in BUILTIN_RESOURCES if rt.key == "pods")


def valid_pod(name: str = "web-1") -> dict[str, Any]:
    return defaulted("Pod", pod(name, containers=[container()]))


def counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each full pod-spec check (the work `KnownValid` saves)."""
    calls: list[str] = []
    real = validation.validate_pod_spec

    def spy(spec: dict[str, Any], path: str, **kwargs: Any) -> Any:
        calls.append(path)
        return real(spec, path, **kwargs)

    monkeypatch.setattr(validation, "validate_pod_spec", spy)
    return calls


def test_a_repeated_valid_spec_is_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replicas of one template share a spec: the second create skips the spec check."""
    calls = counting(monkeypatch)
    known = validation.KnownValid()
    assert validation.validate_object(PODS, valid_pod("web-1"), known=known) == []
    assert validation.validate_object(PODS, valid_pod("web-2"), known=known) == []
    assert calls == ["spec"]


def test_an_invalid_spec_is_reported_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad spec is never remembered: each create gets the full, exact errors."""
    calls = counting(monkeypatch)
    known = validation.KnownValid()
    bad = valid_pod()
    bad["spec"]["containers"][0]["name"] = "Not_A_Name"
    first = validation.validate_object(PODS, copy.deepcopy(bad), known=known)
    second = validation.validate_object(PODS, copy.deepcopy(bad), known=known)
    assert first and [str(e) for e in first] == [str(e) for e in second]
    assert [str(e) for e in first] == [str(e) for e in validation.validate_object(PODS, bad)]
    assert calls == ["spec", "spec", "spec"]


@pytest.mark.parametrize("change", [
    pytest.param(lambda spec: spec["containers"][0].update(name="BAD"), id="field-changed"),
    pytest.param(lambda spec: spec.update(restartPolicy="Sometimes"), id="field-added"),
    pytest.param(lambda spec: spec.update(terminationGracePeriodSeconds=None), id="null"),
])
def test_a_spec_that_differs_at_all_is_checked_again(change: Any) -> None:
    """Only a byte-for-byte repeat of a valid spec is trusted."""
    known = validation.KnownValid()
    assert validation.validate_object(PODS, valid_pod(), known=known) == []
    changed = valid_pod()
    change(changed["spec"])
    expected = [str(e) for e in validation.validate_object(PODS, copy.deepcopy(changed))]
    assert [str(e) for e in validation.validate_object(PODS, changed, known=known)] == expected


def test_labels_and_namespaces_are_remembered_only_when_valid() -> None:
    """A bad label value or namespace is reported on every object that carries it."""
    known = validation.KnownValid()
    good = valid_pod()
    good["metadata"]["labels"] = {"app": "web"}
    assert validation.validate_object(PODS, good, known=known) == []
    for _ in range(2):
        bad = valid_pod()
        bad["metadata"]["labels"] = {"app": "not valid!"}
        bad["metadata"]["namespace"] = "Bad_NS"
        fields = sorted(e.field for e in validation.validate_object(PODS, bad, known=known))
        assert fields == ["metadata.labels", "metadata.namespace"]
