"""JSON patch (RFC 6902): operations, pointers, and the errors a bad patch gets."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.api import errors
from cluster.api.objects import clone
from cluster.api.patch import json_patch, parse_pointer

# RFC 6902 Appendix A, plus Kubernetes-shaped cases.
OK_CASES = [
    pytest.param({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}],
                 {"baz": "qux", "foo": "bar"}, id="A1-add-member"),
    pytest.param({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}],
                 {"foo": ["bar", "qux", "baz"]}, id="A2-add-array-element"),
    pytest.param({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}],
                 {"foo": "bar"}, id="A3-remove-member"),
    pytest.param({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}],
                 {"foo": ["bar", "baz"]}, id="A4-remove-array-element"),
    pytest.param({"baz": "qux", "foo": "bar"},
                 [{"op": "replace", "path": "/baz", "value": "boo"}],
                 {"baz": "boo", "foo": "bar"}, id="A5-replace"),
    pytest.param({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
                 [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
                 {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
                 id="A6-move-value"),
    pytest.param({"foo": ["all", "grass", "cows", "eat"]},
                 [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
                 {"foo": ["all", "cows", "eat", "grass"]}, id="A7-move-array-element"),
    pytest.param({"baz": "qux", "foo": ["a", 2, "c"]},
                 [{"op": "test", "path": "/baz", "value": "qux"},
                  {"op": "test", "path": "/foo/1", "value": 2}],
                 {"baz": "qux", "foo": ["a", 2, "c"]}, id="A8-test-success"),
    pytest.param({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
                 {"foo": "bar", "child": {"grandchild": {}}}, id="A10-add-nested-object"),
    pytest.param({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
                 {"foo": ["bar", ["abc", "def"]]}, id="A16-append-with-dash"),
    pytest.param({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}],
                 {"/": 9, "~1": 10}, id="A14-escaped-pointer"),
    pytest.param({"a/b": 1, "m~n": 2}, [{"op": "replace", "path": "/a~1b", "value": 3},
                                        {"op": "remove", "path": "/m~0n"}],
                 {"a/b": 3}, id="tilde-one-and-zero"),
    pytest.param({"a": 1}, [{"op": "replace", "path": "", "value": [1]}], [1],
                 id="replace-whole-document"),
    pytest.param({"a": {"b": [1]}}, [{"op": "copy", "from": "/a", "path": "/c"}],
                 {"a": {"b": [1]}, "c": {"b": [1]}}, id="copy"),
    pytest.param({"a": None}, [{"op": "test", "path": "/a", "value": None}], {"a": None},
                 id="test-null"),
    pytest.param({"a": 1}, [{"op": "move", "from": "/a", "path": "/a"}], {"a": 1},
                 id="move-onto-itself"),
    pytest.param({"metadata": {"annotations": {"example.com/owner": "x"}}},
                 [{"op": "remove", "path": "/metadata/annotations/example.com~1owner"}],
                 {"metadata": {"annotations": {}}}, id="annotation-with-slash"),
    pytest.param({"spec": {"replicas": 3}},
                 [{"op": "test", "path": "/spec/replicas", "value": 3},
                  {"op": "replace", "path": "/spec/replicas", "value": 5}],
                 {"spec": {"replicas": 5}}, id="test-then-replace"),
    pytest.param({"spec": {"containers": [{"name": "a"}]}},
                 [{"op": "add", "path": "/spec/containers/-", "value": {"name": "b"}}],
                 {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}},
                 id="append-container"),
]


@pytest.mark.parametrize(("doc", "ops", "expected"), OK_CASES)
def test_json_patch_applies(doc: Any, ops: list[dict[str, Any]], expected: Any) -> None:
    """Each RFC 6902 example and Kubernetes-shaped case gives the documented result."""
    assert json_patch(doc, ops) == expected


@pytest.mark.parametrize(("doc", "ops", "expected"), OK_CASES)
def test_json_patch_never_mutates_inputs(doc: Any, ops: list[dict[str, Any]],
                                         expected: Any) -> None:
    """The document and the operations are unchanged after patching."""
    doc_before, ops_before = clone(doc), clone(ops)
    json_patch(doc, ops)
    assert (doc, ops) == (doc_before, ops_before)


ERROR_CASES = [
    pytest.param({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}],
                 r'operation 0 \(test \'/baz\'\): test failed: the value is "qux", not "bar"',
                 id="A9-test-fails"),
    pytest.param({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}],
                 r"operation 0 \(add '/baz/bat'\): path not found: '/baz' does not exist",
                 id="A12-add-to-missing-parent"),
    pytest.param({"foo": "bar"}, [{"op": "remove", "path": "/nope"}],
                 r"operation 0 \(remove '/nope'\): .*'nope' does not exist",
                 id="remove-missing"),
    pytest.param({"foo": "bar"}, [{"op": "replace", "path": "/nope", "value": 1}],
                 r"operation 0 \(replace '/nope'\): path not found",
                 id="replace-missing"),
    pytest.param({"a": [1]}, [{"op": "add", "path": "/a/5", "value": 1}],
                 r"operation 0 \(add '/a/5'\): array index 5 is out of range",
                 id="index-out-of-range"),
    pytest.param({"a": [1]}, [{"op": "add", "path": "/a/01", "value": 1}],
                 r"array index '01' is not a non-negative integer", id="leading-zero-index"),
    pytest.param({"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}],
                 r"cannot move '/a' into its own child", id="move-into-child"),
    pytest.param({"foo": "bar"}, [{"op": "test", "path": "/foo", "value": "bar"},
                                  {"op": "frobnicate", "path": "/foo"}],
                 r"operation 1: unknown op \"frobnicate\"", id="unknown-op"),
    pytest.param({"foo": "bar"}, [{"op": "add", "path": "/x"}],
                 r'operation 0: "add" \'/x\' needs a "value"', id="missing-value"),
    pytest.param({"foo": "bar"}, [{"op": "copy", "path": "/x"}],
                 r'operation 0: "copy" needs a string "from"', id="missing-from"),
    pytest.param({"foo": "bar"}, [{"op": "add", "path": "x", "value": 1}],
                 r"must be empty or start with '/'", id="pointer-without-slash"),
    pytest.param({"foo": "bar"}, [{"op": "remove", "path": ""}],
                 r"cannot remove the whole document", id="remove-root"),
    pytest.param({"a": 1}, [{"op": "test", "path": "/a", "value": True}],
                 r"test failed", id="true-is-not-one"),
    pytest.param({"foo": "bar"}, {"op": "add"}, r"must be a list of operations",
                 id="not-a-list"),
    pytest.param({"foo": 1}, [{"op": "add", "path": "/foo/bar", "value": 1}],
                 r"'/foo' is a number, not an object or array", id="through-a-scalar"),
]


@pytest.mark.parametrize(("doc", "ops", "message"), ERROR_CASES)
def test_json_patch_errors_name_the_operation(doc: Any, ops: Any, message: str) -> None:
    """A failing patch raises BadRequest with a one-line message naming op and path."""
    doc_before = clone(doc)
    with pytest.raises(errors.BadRequest, match=message) as caught:
        json_patch(doc, ops)
    assert "\n" not in caught.value.message
    assert caught.value.code == 400
    assert doc == doc_before


def test_json_patch_failure_applies_nothing() -> None:
    """When a later operation fails, earlier ones leave no trace on the target."""
    doc = {"spec": {"replicas": 1}}
    with pytest.raises(errors.BadRequest):
        json_patch(doc, [{"op": "replace", "path": "/spec/replicas", "value": 9},
                         {"op": "test", "path": "/spec/replicas", "value": 1}])
    assert doc == {"spec": {"replicas": 1}}


@pytest.mark.parametrize(("pointer", "tokens"), [
    pytest.param("", [], id="root"),
    pytest.param("/", [""], id="empty-key"),
    pytest.param("/a~1b/c~0d", ["a/b", "c~d"], id="escapes"),
    pytest.param("/~01", ["~1"], id="tilde-zero-first"),
])
def test_parse_pointer_unescapes(pointer: str, tokens: list[str]) -> None:
    """RFC 6901 pointers decode `~1` to `/` and `~0` to `~`, in that order."""
    assert parse_pointer(pointer) == tokens
