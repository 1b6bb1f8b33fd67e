"""JSON merge patch (RFC 7386): `application/merge-patch+json`.

The simplest patch: an object merges key by key, `null` deletes a key, and anything that
is not an object (lists included) replaces the target wholesale. It is what the API server
applies for custom resources and what `kubectl patch --type=merge` sends.
"""

from __future__ import annotations

from typing import Any

from cluster.api import errors
from cluster.api.objects import clone
from cluster.api.patching.values import json_equal


def json_merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch; returns a new value and never mutates the inputs."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    _merge_into(result, patch)
    return result


def _merge_into(result: dict[str, Any], patch: dict[str, Any]) -> None:
    """Merge `patch` into `result`, which the caller owns (a fresh clone)."""
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            if not isinstance(current, dict):
                current = result[key] = {}
            _merge_into(current, value)
        else:
            result[key] = clone(value)


def create_merge_patch(original: Any, modified: Any) -> dict[str, Any]:
    """The smallest RFC 7386 patch that turns `original` into `modified`.

    `modified` must be an object: a patch that is not an object replaces the whole
    document, which no patch *dict* can say. A non-object `original` counts as `{}`.
    Values of `null` inside `modified` cannot be expressed (a merge patch reads them as
    deletions) and are treated as absent.
    """
    if not isinstance(modified, dict):
        raise errors.BadRequest(
            f"cannot create a merge patch: the modified document is a "
            f"{type(modified).__name__}, not an object")
    return _diff(original if isinstance(original, dict) else {}, modified)


def _diff(original: dict[str, Any], modified: dict[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key, new in modified.items():
        if new is None:
            if key in original:
                patch[key] = None
            continue
        if key not in original:
            patch[key] = _without_nulls(new)
            continue
        old = original[key]
        if isinstance(new, dict) and isinstance(old, dict):
            sub = _diff(old, new)
            if sub:
                patch[key] = sub
        elif isinstance(new, dict):
            # Merging an object into a non-object starts from {}: send it whole.
            patch[key] = _without_nulls(new)
        elif not json_equal(old, new):
            patch[key] = clone(new)
    for key in original:
        if key not in modified:
            patch[key] = None
    return patch


def _without_nulls(value: Any) -> Any:
    """A copy of an object with its null members dropped (they would mean "delete")."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return clone(value)
