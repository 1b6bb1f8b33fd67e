"""Patches the API server applies and `kubectl apply` computes.

Three formats, by the Content-Type the REST API uses for them:

- JSON merge patch (RFC 7386, `application/merge-patch+json`): `json_merge_patch`,
  and `create_merge_patch` to compute one.
- Strategic merge patch (`application/strategic-merge-patch+json`):
  `strategic_merge_patch`, with per-field list strategies from `MergeKeys`, and
  `create_three_way_merge_patch`, the patch `kubectl apply` sends.
- JSON patch (RFC 6902, `application/json-patch+json`): `json_patch`.

Every function returns a new value and leaves its inputs untouched; a malformed patch
raises `errors.BadRequest` with a one-line message naming where it went wrong. The
implementations live in `cluster.api.patching`, one module per format.
"""

from __future__ import annotations

from cluster.api.patching.json_merge import create_merge_patch, json_merge_patch
from cluster.api.patching.json_patch import json_patch, parse_pointer
from cluster.api.patching.merge_keys import (
                                             ATOMIC,
                                             RETAIN_KEYS,
                                             SET,
                                             FieldStrategy,
                                             ListKind,
                                             ListPlan,
                                             MergeKeys,
                                             PatchStrategy,
                                             keyed,
)
from cluster.api.patching.strategic import strategic_merge_patch
from cluster.api.patching.three_way import create_three_way_merge_patch

__all__ = [
    "ATOMIC",
    "RETAIN_KEYS",
    "SET",
    "FieldStrategy",
    "ListKind",
    "ListPlan",
    "MergeKeys",
    "PatchStrategy",
    "create_merge_patch",
    "create_three_way_merge_patch",
    "json_merge_patch",
    "json_patch",
    "keyed",
    "parse_pointer",
    "strategic_merge_patch",
]
