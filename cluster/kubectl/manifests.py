"""Reading manifest files: multi-document YAML (or JSON) into Kubernetes objects.

kubectl splits a file into documents at `---` lines and decodes each on its own, so one
document's mistakes are reported with the file name and line, and the documents before it
are still applied. Errors here carry kubectl's wording, e.g.
`error parsing pod.yaml: error converting YAML to JSON: yaml: line 3: mapping values are
not allowed in this context`, so the command layer prints them unchanged after `error: `.

YAML is read the way sigs.k8s.io/yaml reads it: timestamps stay strings and keys become
strings, so what reaches the API is exactly the JSON kubectl would send.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import yaml


class ManifestError(Exception):
    """A manifest cannot be used; `str()` is the line kubectl prints after `error: `."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Document:
    """One `---`-separated piece of a file and the (1-based) line it starts on."""

    text: str
    first_line: int


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: `2024-01-01` stays a string, as in Go."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_SEPARATOR_RE = re.compile(r"^---(\s.*)?$")

# PyYAML and libyaml (which go-yaml ports) describe the same faults in different words.
_PROBLEMS = {
    "mapping values are not allowed here": "mapping values are not allowed in this context",
    "expected <block end>, but found '<block mapping start>'": "did not find expected key",
    "expected <block end>, but found '<block sequence start>'": "did not find expected key",
    "expected <block end>, but found '<scalar>'": "did not find expected key",
    "expected <block end>, but found '-'": "did not find expected key",
    "expected <block end>, but found '?'": "did not find expected key",
    "found character '\\t' that cannot start any token": "found character that cannot start any "
                                                         "token",
    "found undefined alias": "unknown anchor",
    "expected ',' or ']'": "did not find expected ',' or ']'",
    "expected ',' or '}'": "did not find expected ',' or '}'",
}


def split_documents(text: str) -> list[Document]:
    """Split at `---` separator lines, as kubectl's YAMLReader does."""
    documents: list[Document] = []
    lines = text.splitlines(keepends=True)
    start = 0
    current: list[str] = []
    for number, line in enumerate(lines):
        if _SEPARATOR_RE.match(line.rstrip("\r\n")):
            documents.append(Document("".join(current), start + 1))
            current = []
            start = number + 1
            continue
        current.append(line)
    documents.append(Document("".join(current), start + 1))
    return documents


def _go_problem(error: yaml.MarkedYAMLError) -> str:
    problem = error.problem or error.context or "unknown problem parsing YAML content"
    for pyyaml, libyaml in _PROBLEMS.items():
        if problem.startswith(pyyaml):
            return libyaml
    if problem.startswith("found character") and "cannot start any token" in problem:
        return "found character that cannot start any token"
    return problem


def _go_line(error: yaml.MarkedYAMLError, document: Document) -> int:
    """The line go-yaml would report.

    go-yaml reports a scanner error at the problem's own line, but a parser error at the
    0-based index of that line (one earlier), falling back to the context's line; we keep
    that quirk so our messages read like kubectl's, offset to the whole file.
    """
    mark = error.problem_mark or error.context_mark
    if mark is None:
        return 0
    if isinstance(error, yaml.scanner.ScannerError):
        line = mark.line + 1
    elif error.problem_mark is not None and error.problem_mark.line != 0:
        line = error.problem_mark.line
    elif error.context_mark is not None:
        line = error.context_mark.line
    else:
        line = 0
    if line == 0:
        return 0
    return line + document.first_line - 1


def _to_json(value: Any) -> Any:
    """Make a YAML value JSON: string keys, no non-JSON scalars."""
    if isinstance(value, dict):
        return {_json_key(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, set):
        return {_json_key(k): None for k in value}
    return value


def _json_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def _parse_document(document: Document, source: str) -> Any:
    try:
        return _to_json(yaml.load(document.text, Loader=_Loader))  # noqa: S506 - safe loader
    except yaml.MarkedYAMLError as e:
        line = _go_line(e, document)
        where = f"line {line}: " if line else ""
        raise ManifestError(f"error parsing {source}: error converting YAML to JSON: "
                            f"yaml: {where}{_go_problem(e)}") from None
    except yaml.YAMLError as e:
        raise ManifestError(f"error parsing {source}: error converting YAML to JSON: yaml: {e}") \
            from None


def _validate(obj: Any, source: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ManifestError(f"error parsing {source}: json: cannot unmarshal {_json_type(obj)} "
                            "into Go value of type map[string]interface {}")
    missing = [f"{field} not set" for field in ("apiVersion", "kind")
               if not isinstance(obj.get(field), str) or not obj.get(field)]
    if missing:
        raise ManifestError(
            f'error validating "{source}": error validating data: [{", ".join(missing)}]; '
            f"if you choose to ignore these errors, turn validation off with --validate=false")
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ManifestError(
            f'error validating "{source}": error validating data: ValidationError(' +
            f'{obj["kind"]}.metadata): invalid type for io.k8s.apimachinery.pkg.apis.meta.v1.'
            f'ObjectMeta: got "{_json_type(metadata)}", expected "map"; if you choose to ignore '
            f"these errors, turn validation off with --validate=false")
    return obj


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"


def read_manifests(text: str, source: str) -> list[dict[str, Any] | ManifestError]:
    """Each object in file order, or the error standing in its place.

    Mirrors kubectl's stream visitor: a document that is not valid YAML ends the stream
    (its error is the last entry, nothing after it is read), while a document that parses
    but is not a usable object only replaces itself. `kind: List` expands to its items.
    """
    results: list[dict[str, Any] | ManifestError] = []
    for document in split_documents(text):
        if not document.text.strip():
            continue
        try:
            parsed = _parse_document(document, source)
        except ManifestError as e:
            results.append(e)
            return results
        if parsed is None:
            continue
        try:
            obj = _validate(parsed, source)
        except ManifestError as e:
            results.append(e)
            continue
        if obj["kind"] == "List" or (obj["kind"].endswith("List") and
                                     isinstance(obj.get("items"), list)):
            for item in obj.get("items") or ():
                try:
                    results.append(_validate(_to_json(item), source))
                except ManifestError as e:
                    results.append(e)
            continue
        results.append(obj)
    return results


def load_manifests(text: str, source: str) -> list[dict[str, Any]]:
    """All objects in `text`; the first problem raises `ManifestError`."""
    objects: list[dict[str, Any]] = []
    for entry in read_manifests(text, source):
        if isinstance(entry, ManifestError):
            raise entry
        objects.append(entry)
    return objects

