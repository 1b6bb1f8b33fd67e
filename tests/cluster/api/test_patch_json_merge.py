"""JSON merge patch (RFC 7386): applying and computing patches."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.api import errors
from cluster.api.objects import clone
from cluster.api.patch import create_merge_patch, json_merge_patch

# RFC 7386 Appendix A, plus the Kubernetes-shaped cases the API server meets.
APPLY_CASES = [
    pytest.param({"a": "b"}, {"a": "c"}, {"a": "c"}, id="replace-member"),
    pytest.param({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}, id="add-member"),
    pytest.param({"a": "b"}, {"a": None}, {}, id="null-deletes"),
    pytest.param({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}, id="null-deletes-one"),
    pytest.param({"a": ["b"]}, {"a": "c"}, {"a": "c"}, id="list-replaced-by-scalar"),
    pytest.param({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}, id="scalar-replaced-by-list"),
    pytest.param({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}},
                 id="nested-merge"),
    pytest.param({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}, id="lists-replaced-whole"),
    pytest.param(["a", "b"], ["c", "d"], ["c", "d"], id="array-document"),
    pytest.param({"a": "b"}, ["c"], ["c"], id="array-patch-replaces-object"),
    pytest.param({"a": "foo"}, None, None, id="null-patch-replaces"),
    pytest.param({"a": "foo"}, "bar", "bar", id="string-patch-replaces"),
    pytest.param({"e": None}, {"a": 1}, {"e": None, "a": 1}, id="existing-null-kept"),
    pytest.param([1, 2], {"a": "b", "c": None}, {"a": "b"}, id="object-patch-on-array"),
    pytest.param({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}, id="deep-null-into-new"),
    pytest.param({"metadata": {"labels": {"app": "web", "tier": "db"}}},
                 {"metadata": {"labels": {"tier": None}}},
                 {"metadata": {"labels": {"app": "web"}}}, id="label-removed"),
    pytest.param({"spec": {"containers": [{"name": "a", "image": "redis:6"},
                                          {"name": "b", "image": "busybox"}]}},
                 {"spec": {"containers": [{"name": "a", "image": "redis:7"}]}},
                 {"spec": {"containers": [{"name": "a", "image": "redis:7"}]}},
                 id="containers-replaced-not-merged"),
]


@pytest.mark.parametrize(("target", "patch", "expected"), APPLY_CASES)
def test_json_merge_patch_applies_rfc7386(target: Any, patch: Any, expected: Any) -> None:
    """Each RFC 7386 example and Kubernetes-shaped case gives the documented result."""
    assert json_merge_patch(target, patch) == expected


@pytest.mark.parametrize(("target", "patch", "expected"), APPLY_CASES)
def test_json_merge_patch_never_mutates_inputs(target: Any, patch: Any, expected: Any) -> None:
    """Applying a merge patch leaves both the target and the patch as they were."""
    target_before, patch_before = clone(target), clone(patch)
    json_merge_patch(target, patch)
    assert (target, patch) == (target_before, patch_before)


def test_json_merge_patch_result_shares_nothing_with_target() -> None:
    """Changing the result afterwards does not reach back into the target."""
    target = {"spec": {"template": {"labels": {"a": "1"}}}, "list": [{"x": 1}]}
    result = json_merge_patch(target, {"other": 1})
    result["spec"]["template"]["labels"]["a"] = "changed"
    result["list"][0]["x"] = 2
    assert target == {"spec": {"template": {"labels": {"a": "1"}}}, "list": [{"x": 1}]}


CREATE_CASES = [
    pytest.param({"a": 1}, {"a": 1}, {}, id="unchanged"),
    pytest.param({"a": 1}, {"a": 2}, {"a": 2}, id="changed-scalar"),
    pytest.param({"a": 1, "b": 2}, {"a": 1}, {"b": None}, id="removed-key"),
    pytest.param({"a": {"x": 1, "y": 2}}, {"a": {"x": 1, "y": 3}}, {"a": {"y": 3}},
                 id="nested-minimal"),
    pytest.param({"a": [1, 2]}, {"a": [1, 2, 3]}, {"a": [1, 2, 3]}, id="list-sent-whole"),
    pytest.param({"a": 1}, {"a": True}, {"a": True}, id="bool-is-not-number"),
    pytest.param({"a": "x"}, {"a": {"b": 1}}, {"a": {"b": 1}}, id="scalar-to-object"),
    pytest.param(None, {"a": 1}, {"a": 1}, id="from-nothing"),
    pytest.param({"metadata": {"labels": {"app": "web", "tier": "db"}}},
                 {"metadata": {"labels": {"app": "web"}}},
                 {"metadata": {"labels": {"tier": None}}}, id="label-removed"),
]


@pytest.mark.parametrize(("original", "modified", "expected"), CREATE_CASES)
def test_create_merge_patch_is_minimal(original: Any, modified: Any, expected: Any) -> None:
    """The computed patch holds only what changed, and applying it yields `modified`."""
    patch = create_merge_patch(original, modified)
    assert patch == expected
    assert json_merge_patch(original, patch) == modified


def test_create_merge_patch_rejects_non_object_modified() -> None:
    """A non-object target document cannot be expressed as a patch dict."""
    with pytest.raises(errors.BadRequest, match="not an object"):
        create_merge_patch({"a": 1}, [1, 2])
