"""The table model: scope, filter, and diffs that touch only what changed."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.api import objects
from tui.kinds import BUILTIN_VIEWS, RowContext, without_namespace
from tui.model import FilterError, RowFilter, Scope, TableModel, sort_key
from tui.roles import Tone

PODS = BUILTIN_VIEWS[0]
NOW = 1_800_000_000.0


def pod(name: str, ns: str = "default", *, phase: str = "Running", ready: bool = True,
        labels: dict[str, str] | None = None, node: str = "node-1",
        owner: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels or {},
                            "creationTimestamp": objects.format_time(NOW - 30)}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "kind": "ReplicaSet", "name": "rs"}]
    state = {"running": {}} if ready else {"waiting": {"reason": "CrashLoopBackOff"}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "pause"}]},
            "status": {"phase": phase, "podIP": "127.1.0.2",
                       "conditions": [{"type": "Ready", "status": str(ready)}],
                       "containerStatuses": [{"name": "c", "ready": ready, "restartCount": 0,
                                              "state": state}]}}


def store(*pods: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {objects.object_key(p): p for p in pods}


def flush(model: TableModel, objs: dict[str, dict[str, Any]]):  # type: ignore[no-untyped-def]
    return model.flush(objs.get, RowContext(now=NOW))


def test_first_flush_adds_rows_in_namespace_then_name_order() -> None:
    """Rows come out sorted by (namespace, name), not by the `ns/name` string."""
    objs = store(pod("x", "a-b"), pod("x", "a"), pod("b", "a"))
    model = TableModel(PODS)
    model.mark_all(objs)
    diff = flush(model, objs)
    assert [k for k, _ in diff.added] == ["a/b", "a/x", "a-b/x"]
    assert diff.changed == [] and diff.removed == []
    assert sort_key("a-b/x") > sort_key("a/x")


def test_a_status_change_updates_only_the_cells_that_changed() -> None:
    """Same tone, one changed cell: the diff names that cell only."""
    objs = store(pod("web"))
    model = TableModel(PODS)
    model.mark_all(objs)
    flush(model, objs)
    objs["default/web"]["spec"]["nodeName"] = "node-2"
    model.mark("default/web")
    diff = flush(model, objs)
    assert diff.added == [] and diff.removed == []
    [(key, row, indices)] = diff.changed
    assert key == "default/web" and indices == (PODS.headers.index("NODE"),)


def test_a_tone_change_repaints_the_whole_row() -> None:
    """A pod that starts crashing turns red: every cell of its row is updated."""
    objs = store(pod("web"))
    model = TableModel(PODS)
    model.mark_all(objs)
    flush(model, objs)
    objs["default/web"] = pod("web", ready=False)
    model.mark("default/web")
    [(_, row, indices)] = flush(model, objs).changed
    assert row.tone is Tone.FAILING
    assert indices == tuple(range(len(PODS.headers)))


def test_unchanged_and_deleted_objects() -> None:
    """A dirty key whose row is unchanged costs nothing; a deleted object is removed once."""
    objs = store(pod("web"), pod("db"))
    model = TableModel(PODS)
    model.mark_all(objs)
    flush(model, objs)
    model.mark("default/web")
    assert flush(model, objs).empty
    del objs["default/db"]
    model.mark("default/db")
    assert flush(model, objs).removed == ["default/db"]
    model.mark("default/db")
    assert flush(model, objs).empty


@pytest.mark.parametrize("scope,shown", [
    pytest.param(Scope(namespace="a"), {"a/web"}, id="namespace"),
    pytest.param(Scope(selector="app=db"), {"b/db"}, id="selector"),
    pytest.param(Scope(node="node-2"), {"b/db"}, id="node"),
    pytest.param(Scope(owners=frozenset({"u1"})), {"a/web"}, id="owners"),
    pytest.param(Scope(), {"a/web", "b/db"}, id="everything"),
])
def test_scopes(scope: Scope, shown: set[str]) -> None:
    """A drill-in's scope narrows the rows before any filter."""
    objs = store(pod("web", "a", labels={"app": "web"}, owner="u1"),
                 pod("db", "b", labels={"app": "db"}, node="node-2"))
    model = TableModel(PODS, scope)
    model.mark_all(objs)
    assert {k for k, _ in flush(model, objs).added} == shown


def test_filters_by_regex_and_labels() -> None:
    """`/web|DB` matches row text case-insensitively; `/-l app=db` matches labels."""
    objs = store(pod("web-1", labels={"app": "web"}), pod("db-1", labels={"app": "db"}),
                 pod("cache", labels={"app": "cache"}))
    for text, shown in (("web|DB", {"default/web-1", "default/db-1"}),
                        ("-l app=db", {"default/db-1"}), ("", set(objs))):
        model = TableModel(PODS, row_filter=RowFilter.parse(text))
        model.mark_all(objs)
        assert {k for k, _ in flush(model, objs).added} == shown, text


@pytest.mark.parametrize("text,why", [
    pytest.param("web(", "bad regular expression", id="regex"),
    pytest.param("-l", "-l needs a label selector", id="empty-selector"),
    pytest.param("-l app in x", "bad label selector", id="selector"),
])
def test_bad_filters_say_why(text: str, why: str) -> None:
    """A filter that cannot be compiled is refused with one line saying why."""
    with pytest.raises(FilterError, match=why):
        RowFilter.parse(text)


def test_single_namespace_views_drop_the_namespace_column() -> None:
    """k9s hides NAMESPACE while one namespace is shown."""
    view = without_namespace(PODS)
    assert view.headers == PODS.headers[1:]
    assert view.row(pod("web"), RowContext(now=NOW)).cells[0] == "web"
