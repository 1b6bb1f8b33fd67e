"""The JSONPath subset used by printer columns and `-o jsonpath`."""

from __future__ import annotations

import pytest

from cluster.kubectl import jsonpath

OBJ = {"kind": "List", "items": [
    {"metadata": {"name": "a", "labels": {"redisha.io/role": "primary"}},
     "status": {"conditions": [{"type": "Ready", "status": "True"}], "podIPs": [{"ip": "1"}]}},
    {"metadata": {"name": "b", "labels": {}},
     "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
]}


@pytest.mark.parametrize("expr,expected", [
    pytest.param(".kind", ["List"], id="field"),
    pytest.param(".items[*].metadata.name", ["a", "b"], id="wildcard"),
    pytest.param(".items[1].metadata.name", ["b"], id="index"),
    pytest.param(".items[-1].metadata.name", ["b"], id="negative-index"),
    pytest.param(".items[0].metadata.labels['redisha.io/role']", ["primary"], id="quoted-key"),
    pytest.param(".items[0].metadata.labels.redisha\\.io/role", ["primary"], id="escaped-dot"),
    pytest.param('.items[?(@.metadata.name=="b")].status.conditions[0].status', ["False"],
                 id="filter"),
    pytest.param(".items[5].metadata.name", [], id="out-of-range"),
    pytest.param(".missing.deeper", [], id="missing"),
])
def test_find(expr: str, expected: list[object]) -> None:
    """Paths select values; nothing matching selects nothing."""
    assert jsonpath.find(OBJ, expr) == expected


@pytest.mark.parametrize("template,expected", [
    pytest.param("{.items[*].metadata.name}", "a b", id="several-results-join-with-space"),
    pytest.param('{range .items[*]}{.metadata.name}{"\\n"}{end}', "a\nb\n", id="range"),
    pytest.param("name={.items[0].metadata.name}", "name=a", id="literal-text"),
    pytest.param("{.items[0].status.podIPs}", '[{"ip":"1"}]', id="non-scalars-as-json"),
])
def test_templates(template: str, expected: str) -> None:
    """Templates render like kubectl's -o jsonpath."""
    assert jsonpath.render_template(template, OBJ) == expected


def test_bad_expression_raises() -> None:
    """An unterminated bracket is a JSONPathError, not a crash."""
    with pytest.raises(jsonpath.JSONPathError):
        jsonpath.find(OBJ, ".items[0")
