"""Properties of the patch functions over generated JSON documents (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.api.objects import clone
from cluster.api.patch import (
    MergeKeys,
    create_merge_patch,
    create_three_way_merge_patch,
    json_merge_patch,
    strategic_merge_patch,
)
from cluster.api.patching.values import json_equal, token

KEYS = st.sampled_from(["a", "b", "c", "d"])
"""No `name`: only `_documents` makes named elements, and keeps their names unique."""
SCALARS = (st.booleans() | st.integers(-3, 3) | st.text("xy", max_size=2)
           | st.floats(allow_nan=False, allow_infinity=False, width=32))


def _values(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """JSON values whose lists are plain, or lists of objects with unique `name`s."""
    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        named = st.lists(
            st.builds(lambda name, rest: {**rest, "name": name},
                      st.sampled_from(["p", "q", "r"]), st.dictionaries(KEYS, children,
                                                                        max_size=2)),
            max_size=3, unique_by=lambda e: e["name"])
        return (st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3)
                | named)
    return st.recursive(leaves, extend, max_leaves=10)


VALUES = _values(SCALARS)
DOCS = st.dictionaries(KEYS, VALUES, max_size=4)
"""Documents without nulls: a null in a merge patch means "delete", so none can say it."""
PATCHES = st.recursive(
    st.dictionaries(KEYS, st.none() | VALUES, max_size=4),
    lambda inner: st.dictionaries(KEYS, st.none() | VALUES | inner, max_size=4),
    max_leaves=4)
"""Merge patches: nested objects whose members may be null (delete), lists null-free."""


def _all_named(items: list[Any]) -> bool:
    return all(isinstance(e, dict) and "name" in e for e in items)


def _holds(result: Any, wanted: Any) -> bool:
    """Whether `result` has every field of `wanted` with `wanted`'s value.

    Lists merged by name may hold extra elements, but each wanted element must be there
    (by name, holding its fields) and in the wanted order.
    """
    if isinstance(wanted, dict):
        return isinstance(result, dict) and all(
            key in result and _holds(result[key], value) for key, value in wanted.items())
    if isinstance(wanted, list) and wanted and _all_named(wanted):
        if not isinstance(result, list) or not _all_named(result):
            return json_equal(result, wanted)
        wanted_names = [token(w["name"]) for w in wanted]
        by_name = {token(e["name"]): e for e in result}
        names = [token(e["name"]) for e in result if token(e["name"]) in wanted_names]
        return (names == wanted_names
                and all(_holds(by_name[token(w["name"])], w) for w in wanted))
    return json_equal(result, wanted) or (
        isinstance(wanted, list) and not wanted and isinstance(result, list)
        and _all_named(result))


@given(DOCS, DOCS)
def test_merge_patch_round_trip(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Applying `create_merge_patch(a, b)` to `a` yields exactly `b`."""
    assert json_equal(json_merge_patch(a, create_merge_patch(a, b)), b)


@given(DOCS, PATCHES)
def test_merge_patch_never_mutates(a: dict[str, Any], patch: dict[str, Any]) -> None:
    """Neither input of `json_merge_patch` or `create_merge_patch` changes."""
    before = clone([a, patch])
    json_merge_patch(a, patch)
    create_merge_patch(a, patch)
    assert json_equal([a, patch], before)


@given(DOCS, PATCHES)
def test_strategic_without_schema_is_json_merge(a: dict[str, Any],
                                                patch: dict[str, Any]) -> None:
    """With no table and no name fallback, a strategic patch is an RFC 7386 merge patch."""
    keys = MergeKeys(name_fallback=False)
    assert json_equal(strategic_merge_patch(a, patch, merge_keys=keys),
                      json_merge_patch(a, patch))


@settings(max_examples=200, deadline=None)
@given(DOCS, DOCS)
def test_apply_of_config_holds_config(modified: dict[str, Any], current: dict[str, Any]) -> None:
    """Applying `modified` (last-applied = modified) leaves every field at modified's value."""
    before = clone([modified, current])
    patch = create_three_way_merge_patch(modified, modified, current)
    patched = clone(patch)
    result = strategic_merge_patch(current, patch)
    assert _holds(result, modified)
    assert json_equal([modified, current], before)
    assert json_equal(patch, patched)


@settings(max_examples=200, deadline=None)
@given(DOCS, DOCS, DOCS)
def test_three_way_apply_then_reapply(original: dict[str, Any], modified: dict[str, Any],
                                      current: dict[str, Any]) -> None:
    """After applying, the result holds `modified`, lacks dropped keys, and re-apply is `{}`."""
    before = clone([original, modified, current])
    result = strategic_merge_patch(current,
                                   create_three_way_merge_patch(original, modified, current))
    assert json_equal([original, modified, current], before)
    assert _holds(result, modified)
    _assert_dropped_keys_gone(original, modified, result)
    assert create_three_way_merge_patch(modified, modified, result) == {}


def _assert_dropped_keys_gone(original: Any, modified: Any, result: Any) -> None:
    """Map keys in `original` but not `modified` are gone from `result` (outside lists)."""
    if not (isinstance(original, dict) and isinstance(modified, dict)):
        return
    for key, value in original.items():
        if key not in modified:
            assert key not in result, key
        elif isinstance(result, dict):
            _assert_dropped_keys_gone(value, modified[key], result.get(key))
