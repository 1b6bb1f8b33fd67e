"""Strategic merge patch: `application/strategic-merge-patch+json`.

A JSON merge patch that knows the schema: lists of objects merge element by element on a
merge key (containers by `name`, service ports by `port`), lists of primitives such as
finalizers merge as ordered sets, and atomic lists are replaced. Directives ask for more:
`$patch: replace|delete` on a map or list element, `$retainKeys`, and the parallel lists
`$deleteFromPrimitiveList/<f>` and `$setElementOrder/<f>`.

We follow apimachinery's `strategicpatch` (ordering included: without `$setElementOrder`
patched elements keep the patch's order, interleaved with the server-only ones by their
current order, so a new element lands *before* the current elements it was not compared
past). Where apimachinery would store a directive as data (a new keyed element's nested
`$patch`, a `$patch: delete` inside an atomic list) or silently ignore a malformed one (a
`$deleteFromPrimitiveList` that is not a list), we strip it or answer BadRequest instead.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from cluster.api import errors
from cluster.api.objects import clone
from cluster.api.patching import directives
from cluster.api.patching.directives import Directive
from cluster.api.patching.merge_keys import ListKind, MergeKeys, PatchStrategy
from cluster.api.patching.values import Path, bad, element_path, is_scalar, render, short, token

_MISSING = object()
_DROP = object()
"""What `literal` returns for a value that should not be stored at all."""


def strategic_merge_patch(target: dict[str, Any], patch: dict[str, Any], *,
                          merge_keys: MergeKeys | None = None) -> dict[str, Any]:
    """Apply a strategic merge patch to a copy of `target`; the inputs are not mutated.

    `merge_keys` defaults to the built-in table for the object's `kind`.
    """
    if not isinstance(target, dict):
        raise errors.BadRequest(
            f"strategic merge patch target must be an object, not {short(target)}")
    if not isinstance(patch, dict):
        raise errors.BadRequest(
            f"a strategic merge patch must be a JSON object, not {short(patch)}")
    keys = merge_keys if merge_keys is not None else MergeKeys.for_kind(kind_of(target, patch))
    return _Merger(keys).merge_map(clone(target), clone(patch), ())


def kind_of(*objects: Any) -> str:
    """The first `kind` found among `objects`, "" if none has one."""
    for obj in objects:
        kind = obj.get("kind") if isinstance(obj, dict) else None
        if isinstance(kind, str):
            return kind
    return ""


def key_token(merge_key: str) -> Callable[[Any], Hashable]:
    """Identity of a keyed list element: its merge key's value (or itself, if it has none)."""
    def tok(element: Any) -> Hashable:
        if isinstance(element, dict) and merge_key in element:
            return token(element[merge_key])
        return ("unkeyed", id(element))
    return tok


def order_elements(merged: list[Any], patch_tokens: list[Hashable],
                   server_tokens: list[Hashable],
                   tok: Callable[[Any], Hashable]) -> list[Any]:
    """Order a merged list the way apimachinery does.

    Elements named by the patch (or by `$setElementOrder`) follow that order; the others
    keep their current order; the two runs interleave, taking a server element first only
    when it stood before the next patch element in the current list.
    """
    patch_pos: dict[Hashable, int] = {}
    for i, t in enumerate(patch_tokens):
        patch_pos.setdefault(t, i)
    server_pos: dict[Hashable, int] = {}
    for i, t in enumerate(server_tokens):
        server_pos.setdefault(t, i)
    ours = sorted((e for e in merged if tok(e) in patch_pos), key=lambda e: patch_pos[tok(e)])
    theirs = sorted((e for e in merged if tok(e) not in patch_pos),
                    key=lambda e: server_pos.get(tok(e), len(server_pos)))
    result: list[Any] = []
    i = j = 0
    while i < len(theirs) and j < len(ours):
        left, right = server_pos.get(tok(theirs[i])), server_pos.get(tok(ours[j]))
        if left is not None and right is not None and left < right:
            result.append(theirs[i])
            i += 1
        else:
            result.append(ours[j])
            j += 1
    return result + theirs[i:] + ours[j:]


class _Merger:
    """Merges a patch into a target; both are private copies, changed in place."""

    def __init__(self, keys: MergeKeys) -> None:
        self.keys = keys

    def merge_map(self, original: dict[str, Any], patch: dict[str, Any],
                  path: Path) -> dict[str, Any]:
        if directives.MARKER in patch:
            directive = patch.pop(directives.MARKER)
            if directive == Directive.REPLACE.value:
                replaced: dict[str, Any] = literal(patch, path)
                return replaced
            if directive == Directive.DELETE.value:
                return {}
            raise bad(path, f"unknown patch type {short(directive)} in map "
                            f'(a map\'s $patch must be "replace" or "delete")')
        self._retain_keys(original, patch, path)
        deletions = self._take_deletion_lists(patch, path)
        for key in [k for k in patch if k.startswith(directives.SET_ELEMENT_ORDER)]:
            field = _parallel_field(key, directives.SET_ELEMENT_ORDER, path)
            self._set_element_order(original, patch, field, patch.pop(key), path + (field,))
        for key, value in patch.items():
            merged = _DROP if value is None else self.merge_value(
                original.get(key, _MISSING), value, path + (key,))
            if merged is _DROP:
                original.pop(key, None)
            else:
                original[key] = merged
        for field, values in deletions.items():
            current = original.get(field)
            if isinstance(current, list):
                drop = {token(v) for v in values}
                original[field] = [e for e in current if token(e) not in drop]
        return original

    def merge_value(self, current: Any, value: Any, path: Path) -> Any:
        """The merged value of one field; `_DROP` when the field should go."""
        if isinstance(value, dict) and isinstance(current, dict):
            strategy = self.keys.lookup(path)
            if strategy is None or strategy.strategy is not PatchStrategy.REPLACE:
                return self.merge_map(current, value, path)
        elif isinstance(value, list) and isinstance(current, list):
            return self.merge_list(current, value, path)
        return literal(value, path)

    def merge_list(self, current: list[Any], patch: list[Any], path: Path) -> list[Any]:
        plan = self.keys.plan_list(path, current, patch)
        if plan.kind is ListKind.KEYED:
            assert plan.merge_key is not None
            return self._merge_keyed(current, patch, plan.merge_key, path)
        if plan.kind is ListKind.SET:
            return self._merge_set(current, patch, path)
        return _replace_list(patch, path)

    def _merge_set(self, current: list[Any], patch: list[Any], path: Path) -> list[Any]:
        if any(_directive_of(e) == Directive.REPLACE.value for e in patch):
            rest = [e for e in patch if _directive_of(e) != Directive.REPLACE.value]
            return self._merge_set([], rest, path)
        for element in (*current, *patch):
            if not is_scalar(element):
                raise bad(path, f"list {render(path)} merges as a set of primitives, "
                                f"but holds {short(element)}")
        merged: list[Any] = []
        seen: set[Hashable] = set()
        for element in (*current, *patch):
            t = token(element)
            if t not in seen:
                seen.add(t)
                merged.append(element)
        return order_elements(merged, [token(e) for e in patch],
                              [token(e) for e in current], token)

    def _merge_keyed(self, current: list[Any], patch: list[Any], merge_key: str,
                     path: Path) -> list[Any]:
        tok = key_token(merge_key)
        for element in current:
            if not isinstance(element, dict):
                raise bad(path, f"list element {short(element)} is not an object "
                                f"(the list merges by {merge_key!r})")
        replace = False
        updates: list[dict[str, Any]] = []
        for element in patch:
            if not isinstance(element, dict):
                raise bad(path, f"list element {short(element)} is not an object "
                                f"(the list merges by {merge_key!r})")
            directive = element.get(directives.MARKER, _MISSING)
            if directive is _MISSING:
                if merge_key not in element:
                    raise bad(path, f"list element {short(element)} does not contain "
                                    f"the merge key {merge_key!r}")
                updates.append(element)
            elif directive == Directive.DELETE.value:
                if merge_key not in element:
                    raise bad(path, f"$patch: delete element {short(element)} does not "
                                    f"contain the merge key {merge_key!r}")
                gone = tok(element)
                current = [e for e in current if tok(e) != gone]
            elif directive == Directive.REPLACE.value:
                replace = True
            elif directive == Directive.MERGE.value:
                raise bad(path, "merging lists cannot yet be specified in the patch "
                                "($patch: merge)")
            else:
                raise bad(path, f"unknown patch type {short(directive)} in list element "
                                f'(must be "replace" or "delete")')
        elements = element_path(path)
        if replace:
            return [literal(e, elements) for e in updates]
        merged = list(current)
        where: dict[Hashable, int] = {}
        for i, e in enumerate(merged):
            where.setdefault(tok(e), i)
        for element in updates:
            t = tok(element)
            if t in where:
                merged[where[t]] = self.merge_map(merged[where[t]], element, elements)
            else:
                where[t] = len(merged)
                merged.append(literal(element, elements))
        return order_elements(merged, [tok(e) for e in updates], [tok(e) for e in current], tok)

    def _retain_keys(self, original: dict[str, Any], patch: dict[str, Any], path: Path) -> None:
        if directives.RETAIN_KEYS not in patch:
            return
        keep = patch.pop(directives.RETAIN_KEYS)
        if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
            raise bad(path, f"$retainKeys must be a list of field names, not {short(keep)}")
        allowed = set(keep)
        for key, value in patch.items():
            if value is None or key.startswith("$"):
                continue
            if key not in allowed:
                raise bad(path, f"field {key!r} is in the patch but not in $retainKeys")
        for key in [k for k in original if k not in allowed]:
            del original[key]

    def _take_deletion_lists(self, patch: dict[str, Any], path: Path) -> dict[str, list[Any]]:
        deletions: dict[str, list[Any]] = {}
        for key in [k for k in patch if k.startswith(directives.DELETE_FROM_PRIMITIVE_LIST)]:
            field = _parallel_field(key, directives.DELETE_FROM_PRIMITIVE_LIST, path)
            values = patch.pop(key)
            if not isinstance(values, list) or not all(is_scalar(v) for v in values):
                raise bad(path + (field,), f"{key} must be a list of primitives, "
                                           f"not {short(values)}")
            deletions[field] = values
        return deletions

    def _set_element_order(self, original: dict[str, Any], patch: dict[str, Any],
                           field: str, order: Any, path: Path) -> None:
        """Merge the list `field` now, then put it in the order `$setElementOrder` gives."""
        directive_key = directives.parallel_key(directives.SET_ELEMENT_ORDER, field)
        if not isinstance(order, list):
            raise bad(path, f"{directive_key} must be a list, not {short(order)}")
        current, patched = original.get(field, _MISSING), patch.get(field, _MISSING)
        if patched is None or (current is not _MISSING and not isinstance(current, list)):
            return  # the field is deleted or retyped; the main pass handles it
        if patched is not _MISSING and not isinstance(patched, list):
            raise bad(path, f"{render(path)} must be a list beside {directive_key}")
        current_list = current if isinstance(current, list) else None
        patch_list = patched if isinstance(patched, list) else None
        if current_list is None and patch_list is None:
            return
        plan = self.keys.plan_list(path, current_list or [], patch_list or [])
        if plan.kind is ListKind.KEYED:
            assert plan.merge_key is not None
            tok = key_token(plan.merge_key)
            for item in order:
                if not isinstance(item, dict) or plan.merge_key not in item:
                    raise bad(path, f"{directive_key} element {short(item)} does not "
                                    f"contain the merge key {plan.merge_key!r}")
        else:
            tok = token
            for item in order:
                if not is_scalar(item):
                    raise bad(path, f"{directive_key} must list primitives, "
                                    f"not {short(item)}")
        order_tokens = [tok(item) for item in order]
        patched_tokens = [tok(e) for e in patch_list or () if _directive_of(e) is None]
        remaining = iter(order_tokens)
        if not all(t in remaining for t in patched_tokens):
            raise bad(path, f"the order of the patch list does not match {directive_key}")
        if patch_list is not None:
            merged = (self.merge_list(current_list, patch_list, path) if current_list is not None
                      else literal(patch_list, path))
            del patch[field]
        else:
            merged = current_list or []
        if plan.kind is not ListKind.REPLACE:
            server_tokens = [tok(e) for e in current_list or ()]
            if plan.kind is ListKind.KEYED and current_list and patch_list:
                server_tokens = _server_order_after_merge(current_list, patch_list, tok)
            merged = order_elements(merged, order_tokens, server_tokens, tok)
        original[field] = merged


def _server_order_after_merge(current: list[Any], patch: list[Any],
                              tok: Callable[[Any], Hashable]) -> list[Hashable]:
    """The "current order" apimachinery consults when applying `$setElementOrder`.

    Go deletes keyed elements in place and then appends new ones into the same backing
    array, so the list it later reads as the current order shows the survivors followed
    by as many newly added elements as were deleted. Where a patch both deletes and adds
    beside server-only elements, that decides where the server-only ones land; we mirror
    it so `kubectl apply` orders lists here exactly as on a real API server.
    """
    deleted = {tok(e) for e in patch if _directive_of(e) == Directive.DELETE.value}
    survivors = [tok(e) for e in current if tok(e) not in deleted]
    removed = len(current) - len(survivors)
    if not removed or any(_directive_of(e) == Directive.REPLACE.value for e in patch):
        return survivors
    appended: list[Hashable] = []
    for element in patch:
        t = tok(element)
        if _directive_of(element) is None and t not in survivors and t not in appended:
            appended.append(t)
    return survivors + appended[:removed]


def _replace_list(patch: list[Any], path: Path) -> list[Any]:
    """An atomic list takes the patch's value, minus any `$patch: replace` marker."""
    result = []
    for element in patch:
        directive = _directive_of(element)
        if directive is None:
            result.append(literal(element, element_path(path)))
        elif directive == Directive.DELETE.value:
            raise bad(path, f"$patch: delete needs a list merged by key, but "
                            f"{render(path)} is replaced as a whole")
        elif directive != Directive.REPLACE.value:
            raise bad(path, f"unknown patch type {short(directive)} in list element "
                            f'(must be "replace" or "delete")')
    return result


def literal(value: Any, path: Path) -> Any:
    """A patch value taken as data, where there is nothing to merge it into.

    Nulls (deletions of nothing) and directives are dropped, so they never reach the
    stored object: a map or list element marked `$patch: delete` disappears, and a
    `$patch: replace` marker on a map is simply removed. Lists are kept as written,
    duplicates included, as apimachinery does for a field the target lacks.
    """
    if isinstance(value, dict):
        directive = value.get(directives.MARKER, _MISSING)
        if directive == Directive.DELETE.value:
            return _DROP
        if directive is not _MISSING and directive != Directive.REPLACE.value:
            raise bad(path, f"unknown patch type {short(directive)} in map "
                            f'(a map\'s $patch must be "replace" or "delete")')
        result = {}
        for key, item in value.items():
            if item is None or _is_directive_key(key):
                continue
            kept = literal(item, path + (key,))
            if kept is not _DROP:
                result[key] = kept
        return result
    if isinstance(value, list):
        items = []
        for element in value:
            directive = _directive_of(element)
            if directive is None:
                items.append(literal(element, element_path(path)))
            elif directive not in (Directive.DELETE.value, Directive.REPLACE.value):
                raise bad(path, f"unknown patch type {short(directive)} in list element "
                                f'(must be "replace" or "delete")')
        return items
    return value


def _is_directive_key(key: str) -> bool:
    return (key in (directives.MARKER, directives.RETAIN_KEYS)
            or key.startswith(directives.SET_ELEMENT_ORDER + "/")
            or key.startswith(directives.DELETE_FROM_PRIMITIVE_LIST + "/"))


def _directive_of(element: Any) -> Any:
    if isinstance(element, dict):
        return element.get(directives.MARKER)
    return None


def _parallel_field(key: str, prefix: str, path: Path) -> str:
    field = key[len(prefix) + 1:] if key.startswith(prefix + "/") else ""
    if not field:
        raise bad(path, f"{key!r} must name its list, as in {prefix}/<field>")
    return field
