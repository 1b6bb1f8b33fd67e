"""Table layout (kubectl's tabwriter), watch widths, and YAML/JSON serialisation."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from cluster.api import objects
from cluster.api.resources import BUILTIN_RESOURCES
from cluster.kubectl import printing
from cluster.kubectl.printing import TableOptions
from cluster.kubectl.tabwriter import TabWriter, align

NOW = 1_700_000_000.0
TYPES = {rt.key: rt for rt in BUILTIN_RESOURCES}


def svc(name: str, ns: str = "default", **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": labels,
                         "creationTimestamp": objects.format_time(NOW)},
            "spec": {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"],
                     "ports": [{"port": 6379, "protocol": "TCP"}]}}


def test_service_table_matches_kubectl() -> None:
    """Columns are padded to the widest cell plus three spaces; the last is not padded."""
    text = printing.render_table(TYPES["services"], [svc("redis-sfs")], NOW)
    assert text == ("NAME        TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)    AGE\n"
                    "redis-sfs   ClusterIP   None         <none>        6379/TCP   0s\n")


def test_table_decorations() -> None:
    """-A adds NAMESPACE first, --show-labels adds LABELS last, several kinds prefix names."""
    text = printing.render_table(TYPES["services"], [svc("a", "prod", app="x", tier="db")],
                                 NOW, TableOptions(with_namespace=True, show_labels=True,
                                                   with_kind=True))
    header, row = text.splitlines()
    assert header.split() == ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP",
                              "PORT(S)", "AGE", "LABELS"]
    assert row.split() == ["prod", "service/a", "ClusterIP", "None", "<none>", "6379/TCP",
                           "0s", "app=x,tier=db"]


def test_empty_table_prints_nothing() -> None:
    """No rows means no header either (the caller says "No resources found")."""
    assert printing.render_table(TYPES["services"], [], NOW) == ""
    assert printing.no_resources_line("default") == "No resources found in default namespace."
    assert printing.no_resources_line(None) == "No resources found"


@pytest.mark.parametrize("text,kwargs,expected", [
    pytest.param("a\tb\nccc\td\n", {"padding": 1}, "a   b\nccc d\n", id="pads-to-widest"),
    pytest.param("a\tb\nccc\td\n", {"padding": 3, "min_width": 6},
                 "a     b\nccc   d\n", id="min-width"),
    pytest.param("a\tb\nbreak\nlonger\tc\n", {"padding": 1},
                 "a b\nbreak\nlonger c\n", id="line-without-cell-ends-block"),
    pytest.param("k:\tv\n\tv2\n", {"padding": 2}, "k:  v\n    v2\n", id="empty-cell-continues"),
    pytest.param("x\ty\tlast-is-not-a-column\n", {"padding": 1},
                 "x y last-is-not-a-column\n", id="trailing-text"),
])
def test_tabwriter_follows_go(text: str, kwargs: dict[str, int], expected: str) -> None:
    """Cells are tab-terminated and aligned per contiguous block, as in Go's tabwriter."""
    assert align(text, **kwargs) == expected


def test_tabwriter_remembers_widths_across_flushes() -> None:
    """With remembered widths a later, narrower flush keeps the earlier column width."""
    w = TabWriter(min_width=0, padding=1, remember_widths=True)
    w.write("long-name\tx\n")
    assert w.flush() == "long-name x\n"
    w.write("a\ty\n")
    assert w.flush() == "a         y\n"


def test_watch_table_prints_header_once_and_keeps_alignment() -> None:
    """`get -w` rows arrive one at a time but stay under the header's columns."""
    table = printing.WatchTable(TYPES["services"], TableOptions())
    first = table.rows([svc("redis-sfs")], NOW)
    later = table.rows([svc("a")], NOW)
    assert first.splitlines()[0].startswith("NAME        TYPE")
    assert later == "a           ClusterIP   None         <none>        6379/TCP   0s\n"
    assert table.rows([], NOW) == ""


def test_yaml_quotes_like_kubectl() -> None:
    """Timestamps and other ambiguous strings are double-quoted; multi-line is a block."""
    obj = {"metadata": {"creationTimestamp": "2023-11-14T22:13:20Z", "resourceVersion": "5",
                        "annotations": {"note": "a\nb\n"}, "name": "redis"},
           "spec": {"containers": [{"name": "c", "args": ["yes", "-c"]}], "empty": {}},
           "status": {}}
    text = printing.to_yaml(obj)
    assert 'creationTimestamp: "2023-11-14T22:13:20Z"' in text
    assert 'resourceVersion: "5"' in text
    assert "note: |\n      a\n      b\n" in text
    assert "  containers:\n  - args:\n    - \"yes\"\n    - -c\n    name: c\n" in text
    assert "status: {}" in text
    assert yaml.safe_load(text) == obj


def test_json_matches_go_encoding() -> None:
    """Four-space indent, sorted keys, HTML characters escaped."""
    text = printing.to_json({"b": "<x>", "a": []})
    assert text == '{\n    "a": [],\n    "b": "\\u003cx\\u003e"\n}\n'


def test_several_objects_become_a_list() -> None:
    """YAML/JSON of several objects is a `kind: List` with an empty resourceVersion."""
    text = printing.serialize([svc("a"), svc("b")], printing.OutputFormat.JSON, single=False)
    assert '"kind": "List"' in text and '"resourceVersion": ""' in text


@pytest.mark.parametrize("key,name,verb,expected", [
    pytest.param("pods", "redis", "created", "pod/redis created", id="core"),
    pytest.param("deployments.apps", "web", "configured", "deployment.apps/web configured",
                 id="grouped"),
])
def test_action_lines(key: str, name: str, verb: str, expected: str) -> None:
    """Messages name the kind the way kubectl does, group included."""
    assert printing.action_line(TYPES[key], name, verb) == expected
    assert printing.deleted_line(TYPES[key], name) == \
        f'{printing.kind_word(TYPES[key])} "{name}" deleted'


def test_cells_stop_at_line_breaks() -> None:
    """A multi-line cell is cut at the first break and marked with `...`."""
    assert printing.format_cell("first\nsecond") == "first..."
    assert printing.format_cell(None) == ""
    assert printing.format_cell(True) == "true"
