"""The three-way strategic merge patch `kubectl apply` sends.

Inputs: `original`, the configuration last applied (from the
`kubectl.kubernetes.io/last-applied-configuration` annotation, or None); `modified`, the
configuration being applied now; `current`, the live object. The patch sets every field of
`modified` that differs from `current`, deletes what the user removed since `original`
(null for a map key, `$patch: delete` for a keyed list element, `$deleteFromPrimitiveList`
for a set member), and leaves alone what only `current` has: status, defaults, fields
other actors own.

This is apimachinery's `CreateThreeWayMergePatch` with overwrite on, computed in one pass
instead of merging two diffs. Where apimachinery sends no-op directives (a null for a key
that is already gone, `$setElementOrder` when the order did not change, `$retainKeys` on a
map that did not change) we leave them out, so an unchanged apply yields `{}`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from cluster.api import errors
from cluster.api.objects import clone
from cluster.api.patching import directives
from cluster.api.patching.directives import Directive
from cluster.api.patching.merge_keys import ListKind, ListPlan, MergeKeys, PatchStrategy
from cluster.api.patching.strategic import key_token, kind_of
from cluster.api.patching.values import (
    Path,
    bad,
    element_path,
    is_scalar,
    json_equal,
    render,
    short,
    token,
)


def create_three_way_merge_patch(original: dict[str, Any] | None, modified: dict[str, Any],
                                 current: dict[str, Any], *,
                                 merge_keys: MergeKeys | None = None) -> dict[str, Any]:
    """The strategic merge patch that moves `current` to `modified`, given `original`.

    `strategic_merge_patch(current, patch)` then holds every field of `modified`, lacks
    what `original` had and `modified` dropped, and keeps what only `current` has.
    Returns `{}` when there is nothing to change.
    """
    for name, value in (("modified", modified), ("current", current)):
        if not isinstance(value, dict):
            raise errors.BadRequest(f"three-way merge: the {name} object must be an object, "
                                    f"not {short(value)}")
    if original is not None and not isinstance(original, dict):
        raise errors.BadRequest(f"three-way merge: the original object must be an object "
                                f"or None, not {short(original)}")
    keys = merge_keys if merge_keys is not None else MergeKeys.for_kind(
        kind_of(modified, current, original))
    return _Differ(keys).diff_map(original, modified, current, ())


class _Differ:
    def __init__(self, keys: MergeKeys) -> None:
        self.keys = keys

    def diff_map(self, original: dict[str, Any] | None, modified: dict[str, Any],
                 current: dict[str, Any], path: Path, *,
                 retain_keys: bool = False) -> dict[str, Any]:
        patch: dict[str, Any] = {}
        for key, new in modified.items():
            fpath = path + (key,)
            if key not in current:
                if new is not None:
                    patch[key] = clone(new)
                continue
            live = current[key]
            old = original.get(key) if original is not None else None
            if new is None:
                if live is not None:
                    patch[key] = None
            elif isinstance(new, dict) and isinstance(live, dict):
                self._diff_maps_at(key, old, new, live, fpath, patch)
            elif isinstance(new, list) and isinstance(live, list):
                self._diff_list(key, old if isinstance(old, list) else None, new, live,
                                fpath, patch)
            elif not json_equal(new, live):
                patch[key] = clone(new)
        if original is not None:
            for key in original:
                if key not in modified and key in current:
                    patch[key] = None
        if retain_keys and patch:
            patch[directives.RETAIN_KEYS] = sorted(k for k, v in modified.items()
                                                   if v is not None)
        return patch

    def _diff_maps_at(self, key: str, old: Any, new: dict[str, Any], live: dict[str, Any],
                      path: Path, patch: dict[str, Any]) -> None:
        strategy = self.keys.lookup(path)
        if strategy is not None and strategy.strategy is PatchStrategy.REPLACE:
            if not json_equal(new, live):
                patch[key] = clone(new)
            return
        sub = self.diff_map(old if isinstance(old, dict) else None, new, live, path,
                            retain_keys=strategy is not None and strategy.retain_keys)
        if sub:
            patch[key] = sub

    def _diff_list(self, key: str, old: list[Any] | None, new: list[Any], live: list[Any],
                   path: Path, patch: dict[str, Any]) -> None:
        plan = self.keys.plan_list(path, live, new)
        if plan.kind is ListKind.KEYED:
            self._diff_keyed(key, old, new, live, plan, path, patch)
        elif plan.kind is ListKind.SET:
            self._diff_set(key, old, new, live, path, patch)
        elif not json_equal(new, live):
            patch[key] = clone(new)

    def _diff_set(self, key: str, old: list[Any] | None, new: list[Any], live: list[Any],
                  path: Path, patch: dict[str, Any]) -> None:
        for element in (*new, *live):
            if not is_scalar(element):
                raise bad(path, f"list {render(path)} merges as a set of primitives, "
                                f"but holds {short(element)}")
        live_tokens = {token(e) for e in live}
        new_tokens = {token(e) for e in new}
        additions = _unique([e for e in new if token(e) not in live_tokens], token)
        deletions = _unique([e for e in old or () if is_scalar(e)
                             and token(e) not in new_tokens and token(e) in live_tokens], token)
        if additions:
            patch[key] = additions
        if deletions:
            patch[directives.parallel_key(directives.DELETE_FROM_PRIMITIVE_LIST, key)] = deletions
        if additions or deletions or _order_changed(new, live, token):
            patch[directives.parallel_key(directives.SET_ELEMENT_ORDER, key)] = list(new)

    def _diff_keyed(self, key: str, old: list[Any] | None, new: list[Any], live: list[Any],
                    plan: ListPlan, path: Path, patch: dict[str, Any]) -> None:
        merge_key = plan.merge_key
        assert merge_key is not None
        tok = key_token(merge_key)
        for element in new:
            if not isinstance(element, dict) or merge_key not in element:
                raise bad(path, f"list element {short(element)} does not contain the "
                                f"merge key {merge_key!r}")
        live_by: dict[Hashable, dict[str, Any]] = {}
        for element in live:
            if isinstance(element, dict):
                live_by.setdefault(tok(element), element)
        old_by: dict[Hashable, dict[str, Any]] = {}
        for element in old or ():
            if isinstance(element, dict) and merge_key in element:
                old_by.setdefault(tok(element), element)
        items: list[dict[str, Any]] = []
        elements = element_path(path)
        for element in new:
            t = tok(element)
            if t not in live_by:
                items.append(clone(element))
                continue
            sub = self.diff_map(old_by.get(t), element, live_by[t], elements,
                                retain_keys=plan.retain_keys)
            if sub:
                items.append({merge_key: clone(element[merge_key]), **sub})
        kept = {tok(e) for e in new}
        for t, element in old_by.items():
            if t not in kept and t in live_by:
                items.append({merge_key: clone(element[merge_key]),
                              directives.MARKER: Directive.DELETE.value})
        if items:
            patch[key] = items
        if items or _order_changed(new, live, tok):
            patch[directives.parallel_key(directives.SET_ELEMENT_ORDER, key)] = [
                {merge_key: clone(e[merge_key])} for e in new]


def _unique(items: list[Any], tok: Callable[[Any], Hashable]) -> list[Any]:
    seen: set[Hashable] = set()
    result = []
    for item in items:
        t = tok(item)
        if t not in seen:
            seen.add(t)
            result.append(clone(item))
    return result


def _order_changed(new: list[Any], live: list[Any], tok: Callable[[Any], Hashable]) -> bool:
    """Whether the elements both lists hold stand in a different order in `live`."""
    new_tokens = [tok(e) for e in new]
    live_tokens = [tok(e) for e in live]
    shared = set(new_tokens) & set(live_tokens)
    return (_first_each([t for t in new_tokens if t in shared])
            != _first_each([t for t in live_tokens if t in shared]))


def _first_each(tokens: list[Hashable]) -> list[Hashable]:
    seen: set[Hashable] = set()
    result = []
    for t in tokens:
        if t not in seen:
            seen.add(t)
            result.append(t)
    return result
