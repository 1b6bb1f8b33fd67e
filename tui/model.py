"""The resource table's model: which rows are shown, which changed, and by how much.

Watch events only mark an object's key dirty; they never touch the screen. A short timer
asks `TableModel.flush` for the difference between what the table shows and what the
dirty objects now look like, and the widget applies exactly that: rows added, rows
removed, and for changed rows only the cells whose text differs. A thousand pods changing
status in a burst cost one flush and a few hundred cell updates, not a thousand redraws.

The model is plain Python, so the rules (scope, filter, diff) are tested without a
terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from cluster.api import errors, objects
from cluster.api import selectors
from tui.kinds import KindView, Row, RowContext


class FilterError(ValueError):
    """The text typed after `/` is not a valid filter; `str()` says why in one line."""


@dataclass(frozen=True)
class Scope:
    """Which objects of the kind the table shows before the filter: a namespace, and the
    narrowing of a drill-in (a node's pods, a deployment's pods)."""

    namespace: str | None = None
    """None shows every namespace."""
    selector: str = ""
    """A label selector, from the object drilled into (`app=web`)."""
    node: str = ""
    """Only pods bound to this node."""
    owners: frozenset[str] = frozenset()
    """Only objects with an ownerReference to one of these uids."""
    note: str = ""
    """What the table's title says about the narrowing (`node-1`, `deploy/web`)."""

    def compiled(self) -> "CompiledScope":
        return CompiledScope(self, selectors.parse_label_selector(self.selector)
                             if self.selector else None)


@dataclass(frozen=True)
class CompiledScope:
    scope: Scope
    selector: selectors.Selector | None

    def matches(self, obj: dict[str, Any], namespaced: bool) -> bool:
        s = self.scope
        if namespaced and s.namespace and objects.namespace_of(obj) != s.namespace:
            return False
        if self.selector is not None and not self.selector.matches(objects.labels_of(obj)):
            return False
        if s.node and (obj.get("spec") or {}).get("nodeName") != s.node:
            return False
        if s.owners and not any(ref.get("uid") in s.owners
                                for ref in objects.meta(obj).get("ownerReferences") or ()):
            return False
        return True


@dataclass(frozen=True)
class RowFilter:
    """What `/` typed: a case-insensitive regular expression over the row's cells, or a
    label selector after `-l` (k9s's `/-l app=web`)."""

    text: str = ""
    pattern: re.Pattern[str] | None = None
    labels: selectors.Selector | None = None

    @classmethod
    def parse(cls, text: str) -> "RowFilter":
        """Raises FilterError for a bad selector or regular expression."""
        text = text.strip()
        if not text:
            return cls()
        if text.startswith("-l"):
            expression = text[2:].strip()
            if not expression:
                raise FilterError("-l needs a label selector, e.g. /-l app=redis")
            try:
                return cls(text, labels=selectors.parse_label_selector(expression))
            except errors.APIError as e:
                raise FilterError(f"bad label selector: {e.message}") from None
        try:
            return cls(text, pattern=re.compile(text, re.IGNORECASE))
        except re.error as e:
            raise FilterError(f"bad regular expression {text!r}: {e}") from None

    @property
    def active(self) -> bool:
        return bool(self.text)

    def matches(self, obj: dict[str, Any], row: Row) -> bool:
        if self.labels is not None and not self.labels.matches(objects.labels_of(obj)):
            return False
        if self.pattern is not None and not self.pattern.search(" ".join(row.cells)):
            return False
        return True


@dataclass
class TableDiff:
    """What one flush changes on screen."""

    added: list[tuple[str, Row]] = field(default_factory=list)
    changed: list[tuple[str, Row, tuple[int, ...]]] = field(default_factory=list)
    """(key, new row, indices of the cells whose text or paint changed)."""
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    @property
    def keys(self) -> set[str]:
        return {k for k, _ in self.added} | {k for k, _, _ in self.changed} | set(self.removed)


def sort_key(key: str) -> tuple[str, str]:
    """Rows sort by namespace, then name (`ns/name` keys do not sort that way as strings:
    `a-b/x` must come after `a/x`)."""
    namespace, name = objects.split_key(key)
    return namespace, name


class TableModel:
    """The rows of one view; call `mark` from watch handlers and `flush` from a timer."""

    def __init__(self, view: KindView, scope: Scope | None = None,
                 row_filter: RowFilter | None = None) -> None:
        self.view = view
        self.scope = scope or Scope()
        self.row_filter = row_filter or RowFilter()
        self._compiled = self.scope.compiled()
        self.shown: dict[str, Row] = {}
        """What the table displays now, by key."""
        self.dirty: set[str] = set()

    def mark(self, key: str) -> None:
        self.dirty.add(key)

    def mark_all(self, keys: Iterable[str]) -> None:
        self.dirty.update(keys)
        self.dirty.update(self.shown)

    def reset(self) -> None:
        """Forget what is shown (the widget cleared its rows)."""
        self.shown.clear()

    def set_scope(self, scope: Scope) -> None:
        self._compiled = scope.compiled()
        self.scope = scope

    def wants(self, obj: dict[str, Any] | None, row: Row | None) -> bool:
        return (obj is not None and row is not None
                and self._compiled.matches(obj, self.view.namespaced)
                and self.row_filter.matches(obj, row))

    def flush(self, lookup: Callable[[str], dict[str, Any] | None],
              ctx: RowContext) -> TableDiff:
        """Compare every dirty key's object with its shown row; clear the dirty set."""
        diff = TableDiff()
        dirty, self.dirty = self.dirty, set()
        for key in dirty:
            obj = lookup(key)
            row = self.view.row(obj, ctx) if obj is not None else None
            old = self.shown.get(key)
            if not self.wants(obj, row):
                if old is not None:
                    del self.shown[key]
                    diff.removed.append(key)
                continue
            assert row is not None
            if old is None:
                self.shown[key] = row
                diff.added.append((key, row))
            elif old != row:
                self.shown[key] = row
                if old.tone != row.tone:
                    indices = tuple(range(len(row.cells)))
                else:
                    indices = tuple(i for i, (a, b) in enumerate(zip(old.cells, row.cells))
                                    if a != b)
                diff.changed.append((key, row, indices))
        diff.added.sort(key=lambda item: sort_key(item[0]))
        return diff
