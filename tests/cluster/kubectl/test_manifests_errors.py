"""Manifest reading: documents, Lists, and kubectl's error lines with line numbers."""

from __future__ import annotations

import pytest

from cluster.kubectl.manifests import ManifestError, load_manifests, read_manifests

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n"


def test_multi_document_skips_empty_documents() -> None:
    """`---` splits documents; empty ones and comments-only ones are ignored."""
    text = POD.format(name="a") + "---\n---\n# nothing\n---\n" + POD.format(name="b")
    assert [o["metadata"]["name"] for o in load_manifests(text, "pods.yaml")] == ["a", "b"]


def test_list_expands_items() -> None:
    """`kind: List` stands for its items."""
    text = ("apiVersion: v1\nkind: List\nitems:\n"
            "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
            "- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n")
    assert [o["metadata"]["name"] for o in load_manifests(text, "l.yaml")] == ["a", "b"]


def test_values_stay_json() -> None:
    """Timestamps stay strings and keys become strings, as sigs.k8s.io/yaml converts them."""
    text = POD.format(name="a") + "  annotations:\n    when: 2024-01-01\n    1: one\n"
    meta = load_manifests(text, "p.yaml")[0]["metadata"]
    assert meta["annotations"] == {"when": "2024-01-01", "1": "one"}


@pytest.mark.parametrize("text,message", [
    pytest.param("apiVersion: v1\nkind: Pod\nmetadata: name: x\n",
                 "error parsing pod.yaml: error converting YAML to JSON: yaml: line 3: mapping "
                 "values are not allowed in this context", id="mapping-in-scalar"),
    pytest.param("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n bad: : y\n",
                 "error parsing pod.yaml: error converting YAML to JSON: yaml: line 4: did not "
                 "find expected key", id="bad-indentation-parser-line"),
    pytest.param("kind: Pod\n\tname: x\n",
                 "error parsing pod.yaml: error converting YAML to JSON: yaml: line 2: found "
                 "character that cannot start any token", id="tab"),
    pytest.param("metadata:\n  name: x\n",
                 'error validating "pod.yaml": error validating data: [apiVersion not set, kind '
                 "not set]; if you choose to ignore these errors, turn validation off with "
                 "--validate=false", id="no-apiversion-or-kind"),
    pytest.param("apiVersion: v1\nmetadata:\n  name: x\n",
                 'error validating "pod.yaml": error validating data: [kind not set]; if you '
                 "choose to ignore these errors, turn validation off with --validate=false",
                 id="no-kind"),
    pytest.param("- a\n- b\n",
                 "error parsing pod.yaml: json: cannot unmarshal array into Go value of type "
                 "map[string]interface {}", id="not-an-object"),
])
def test_errors_name_source_and_line(text: str, message: str) -> None:
    """Each problem is one line naming the file (and the line, for syntax errors)."""
    with pytest.raises(ManifestError) as raised:
        load_manifests(text, "pod.yaml")
    assert str(raised.value) == message
    assert "\n" not in str(raised.value)


def test_line_numbers_count_from_the_start_of_the_file() -> None:
    """A syntax error in a later document reports its line in the whole file."""
    text = POD.format(name="a") + "---\n" + "apiVersion: v1\nkind: Pod\nmetadata: name: x\n"
    entries = read_manifests(text, "two.yaml")
    assert entries[0]["metadata"]["name"] == "a"  # type: ignore[index]
    assert isinstance(entries[1], ManifestError)
    assert "yaml: line 8: mapping values" in entries[1].message


def test_syntax_error_stops_the_stream_but_validation_errors_do_not() -> None:
    """Like kubectl's stream visitor: after a YAML error nothing more is read."""
    valid_then_unusable = POD.format(name="a") + "---\nfoo: bar\n---\n" + POD.format(name="c")
    names = [e["metadata"]["name"] if isinstance(e, dict) else "ERR"
             for e in read_manifests(valid_then_unusable, "x.yaml")]
    assert names == ["a", "ERR", "c"]
    broken = POD.format(name="a") + "---\na: [1\n---\n" + POD.format(name="c")
    names = [e["metadata"]["name"] if isinstance(e, dict) else "ERR"
             for e in read_manifests(broken, "x.yaml")]
    assert names == ["a", "ERR"]
