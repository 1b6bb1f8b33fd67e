"""JSON Patch (RFC 6902): `application/json-patch+json`.

A list of operations (add, remove, replace, move, copy, test) addressed by JSON Pointers
(RFC 6901). The operations apply in order to a private copy, so a failing operation,
including a failed `test`, leaves nothing half-applied and the caller's value untouched.
Every failure names the operation's index, its verb and its path.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from cluster.api import errors
from cluster.api.objects import clone
from cluster.api.patching.values import json_equal, short

_INDEX = re.compile(r"0|[1-9][0-9]*")
_MISSING = object()


class Op(str, enum.Enum):
    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"
    MOVE = "move"
    COPY = "copy"
    TEST = "test"


class _OpFailed(Exception):
    """Why one operation failed; `json_patch` turns it into a BadRequest naming the op."""


@dataclass(frozen=True)
class _Operation:
    op: Op
    path: list[str]
    raw_path: str
    value: Any = None
    source: list[str] | None = None
    raw_source: str = ""


def json_patch(target: Any, operations: list[dict[str, Any]]) -> Any:
    """Apply RFC 6902 `operations` to a copy of `target` and return the result."""
    if not isinstance(operations, list):
        raise errors.BadRequest(
            f"json patch must be a list of operations, not a {type(operations).__name__}")
    parsed = [_parse(i, raw) for i, raw in enumerate(operations)]
    doc = clone(target)
    for i, operation in enumerate(parsed):
        try:
            doc = _apply(doc, operation)
        except _OpFailed as exc:
            raise errors.BadRequest(
                f"json patch operation {i} ({operation.op.value} "
                f"{operation.raw_path!r}): {exc}") from None
    return doc


def parse_pointer(pointer: str) -> list[str]:
    """The reference tokens of an RFC 6901 JSON Pointer (`~1` is `/`, `~0` is `~`)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer {pointer!r} must be empty or start with '/'")
    tokens = pointer[1:].split("/")
    for t in tokens:
        if re.search(r"~(?![01])", t):
            raise ValueError(f"JSON pointer {pointer!r} has a '~' not followed by 0 or 1")
    return [t.replace("~1", "/").replace("~0", "~") for t in tokens]


def _parse(index: int, raw: Any) -> _Operation:
    def fail(why: str) -> errors.BadRequest:
        return errors.BadRequest(f"json patch operation {index}: {why}")

    if not isinstance(raw, dict):
        raise fail(f"must be an object, not {short(raw)}")
    name = raw.get("op")
    try:
        op = Op(name)
    except ValueError:
        supported = ", ".join(o.value for o in Op)
        raise fail(f"unknown op {short(name)} (supported: {supported})") from None
    pointers: dict[str, list[str]] = {}
    for member in ("path", "from") if op in (Op.MOVE, Op.COPY) else ("path",):
        text = raw.get(member)
        if not isinstance(text, str):
            raise fail(f'"{op.value}" needs a string "{member}"')
        try:
            pointers[member] = parse_pointer(text)
        except ValueError as exc:
            raise fail(str(exc)) from None
    if op in (Op.ADD, Op.REPLACE, Op.TEST) and "value" not in raw:
        raise fail(f'"{op.value}" {raw["path"]!r} needs a "value"')
    return _Operation(op, pointers["path"], raw["path"], raw.get("value"),
                      pointers.get("from"), raw.get("from", ""))


def _apply(doc: Any, operation: _Operation) -> Any:
    """Apply one operation to `doc` (owned by us); returns the new document root."""
    op, path = operation.op, operation.path
    if op is Op.ADD:
        return _add(doc, path, clone(operation.value))
    if op is Op.REMOVE:
        if not path:
            raise _OpFailed("cannot remove the whole document")
        _remove(doc, path)
        return doc
    if op is Op.REPLACE:
        _get(doc, path)
        if not path:
            return clone(operation.value)
        parent, last = _parent(doc, path)
        parent[_existing_key(parent, last)] = clone(operation.value)
        return doc
    if op is Op.TEST:
        found = _get(doc, path)
        if not json_equal(found, operation.value):
            raise _OpFailed(f"test failed: the value is {short(found)}, "
                            f"not {short(operation.value)}")
        return doc
    source = operation.source or []
    if op is Op.COPY:
        return _add(doc, path, clone(_get(doc, source, what="from")))
    # Op.MOVE
    if source == path:
        _get(doc, source, what="from")
        return doc
    if path[:len(source)] == source:
        raise _OpFailed(f"cannot move {operation.raw_source!r} into its own child")
    value = _get(doc, source, what="from")
    _remove(doc, source)
    return _add(doc, path, value)


def _get(doc: Any, path: list[str], *, what: str = "path") -> Any:
    current = doc
    for depth, tok in enumerate(path):
        if isinstance(current, dict):
            if tok not in current:
                raise _OpFailed(f"{what} not found: {_pointer(path[:depth + 1])!r} "
                                f"does not exist")
            current = current[tok]
        elif isinstance(current, list):
            current = current[_list_index(current, tok)]
        else:
            raise _OpFailed(f"{what} not found: {_pointer(path[:depth])!r} "
                            f"is a {_type_name(current)}, not an object or array")
    return current


def _parent(doc: Any, path: list[str]) -> tuple[Any, str]:
    parent = _get(doc, path[:-1])
    if not isinstance(parent, (dict, list)):
        raise _OpFailed(f"{_pointer(path[:-1])!r} is a {_type_name(parent)}, "
                        f"not an object or array")
    return parent, path[-1]


def _existing_key(parent: Any, tok: str) -> Any:
    """The dict key or list index named by `tok`, which must exist."""
    if isinstance(parent, dict):
        if tok not in parent:
            raise _OpFailed(f"path not found: member {tok!r} does not exist")
        return tok
    return _list_index(parent, tok)


def _add(doc: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent, last = _parent(doc, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif last == "-":
        parent.append(value)
    else:
        parent.insert(_list_index(parent, last, allow_end=True), value)
    return doc


def _remove(doc: Any, path: list[str]) -> None:
    parent, last = _parent(doc, path)
    del parent[_existing_key(parent, last)]


def _list_index(items: list[Any], tok: str, *, allow_end: bool = False) -> int:
    if not _INDEX.fullmatch(tok):
        raise _OpFailed(f"array index {tok!r} is not a non-negative integer")
    index = int(tok)
    limit = len(items) if allow_end else len(items) - 1
    if index > limit:
        raise _OpFailed(f"array index {index} is out of range (the array has "
                        f"{len(items)} elements)")
    return index


def _pointer(tokens: list[str]) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__
