"""Label and field selectors: parsed once, matched many times.

The grammar is the REST API's (`app=web,tier!=db,env in (a,b),!canary`); `LabelSelector`
objects from specs (`matchLabels`, `matchExpressions`) compile to the same `Selector`. The
store uses `equality` to index watchers, so a selector keeps its requirements inspectable.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cluster.api import errors


class Operator(str, enum.Enum):
    EQUALS = "="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GT = "gt"
    LT = "lt"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One clause of a selector: `key op values`."""

    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op is Operator.EQUALS or op is Operator.IN:
            return labels.get(self.key) in self.values
        if op is Operator.NOT_EQUALS or op is Operator.NOT_IN:
            return labels.get(self.key) not in self.values
        if op is Operator.EXISTS:
            return self.key in labels
        if op is Operator.DOES_NOT_EXIST:
            return self.key not in labels
        value = labels.get(self.key)
        if value is None:
            return False
        try:
            number, bound = int(value), int(next(iter(self.values)))
        except ValueError:
            return False
        return number > bound if op is Operator.GT else number < bound

    def __str__(self) -> str:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key
        if op is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        if op in (Operator.EQUALS, Operator.NOT_EQUALS):
            return f"{self.key}{op.value}{next(iter(self.values))}"
        if op in (Operator.GT, Operator.LT):
            return f"{self.key}{'>' if op is Operator.GT else '<'}{next(iter(self.values))}"
        return f"{self.key} {op.value} ({','.join(sorted(self.values))})"


@dataclass(frozen=True, slots=True)
class Selector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        for req in self.requirements:
            if not req.matches(labels):
                return False
        return True

    def equality(self, key: str) -> str | None:
        """The single value `key` must equal, if the selector pins it (used for indexing)."""
        for req in self.requirements:
            if req.key == key and req.operator in (Operator.EQUALS, Operator.IN) \
                    and len(req.values) == 1:
                return next(iter(req.values))
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = Selector()


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _bad(text: str, why: str) -> errors.BadRequest:
    return errors.BadRequest(f'unable to parse requirement: found \'{text}\', {why}')


def parse_label_selector(text: str | None) -> Selector:
    """Parse the string form; raises BadRequest naming the clause at fault."""
    if not text or not text.strip():
        return EVERYTHING
    reqs: list[Requirement] = []
    for clause in _split_top_level(text):
        reqs.append(_parse_label_clause(clause))
    return Selector(tuple(reqs))


def _parse_label_clause(clause: str) -> Requirement:
    words = clause.split()
    if len(words) >= 2 and words[1] in ("in", "notin"):
        rest = clause.split(None, 2)[2] if len(words) > 2 else ""
        rest = rest.strip()
        if not (rest.startswith("(") and rest.endswith(")")):
            raise _bad(clause, "expected a parenthesised set of values")
        values = frozenset(v.strip() for v in rest[1:-1].split(",") if v.strip())
        op = Operator.IN if words[1] == "in" else Operator.NOT_IN
        return Requirement(_check_key(words[0], clause), op, values)
    for token, op in (("!=", Operator.NOT_EQUALS), ("==", Operator.EQUALS),
                      ("=", Operator.EQUALS), (">", Operator.GT), ("<", Operator.LT)):
        if token in clause:
            key, _, value = clause.partition(token)
            key, value = key.strip(), value.strip()
            if op in (Operator.GT, Operator.LT) and not value.lstrip("-").isdigit():
                raise _bad(clause, "expected an integer")
            if any(c in value for c in " ,()!=<>"):
                raise _bad(clause, "expected a single value")
            return Requirement(_check_key(key, clause), op, frozenset([value]))
    if clause.startswith("!"):
        return Requirement(_check_key(clause[1:].strip(), clause), Operator.DOES_NOT_EXIST)
    return Requirement(_check_key(clause, clause), Operator.EXISTS)


def _check_key(key: str, clause: str) -> str:
    if not key or any(c in key for c in " ,()!=<>"):
        raise _bad(clause, "expected a label key")
    return key


_EXPRESSION_OPERATORS = {
    "In": Operator.IN, "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS, "DoesNotExist": Operator.DOES_NOT_EXIST,
}


def from_label_selector(spec: Mapping[str, Any] | None) -> Selector:
    """Compile a `LabelSelector` object (`matchLabels`, `matchExpressions`).

    A nil selector matches nothing in workload controllers, but that decision belongs to
    the caller; here None and {} both give the everything-selector.
    """
    if not spec:
        return EVERYTHING
    reqs = [Requirement(k, Operator.EQUALS, frozenset([str(v)]))
            for k, v in sorted((spec.get("matchLabels") or {}).items())]
    for expr in spec.get("matchExpressions") or ():
        op = _EXPRESSION_OPERATORS.get(expr.get("operator", ""))
        if op is None:
            raise errors.BadRequest(f'"{expr.get("operator")}" is not a valid label selector operator')
        reqs.append(Requirement(expr["key"], op, frozenset(expr.get("values") or ())))
    return Selector(tuple(reqs))


def selector_string(spec: Mapping[str, Any] | None) -> str:
    """The string form of a `LabelSelector` object, for `list(label_selector=...)`."""
    return str(from_label_selector(spec))


def labels_match(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """A Service-style map selector: every pair present in `labels`."""
    for k, v in selector.items():
        if labels.get(k) != v:
            return False
    return True


# --- field selectors -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    path: str
    value: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """`spec.nodeName=node-1,status.phase!=Failed`: equality on dotted paths."""

    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: Mapping[str, Any]) -> bool:
        for req in self.requirements:
            if (field_value(obj, req.path) == req.value) == req.negated:
                return False
        return True

    def equality(self, path: str) -> str | None:
        for req in self.requirements:
            if req.path == path and not req.negated:
                return req.value
        return None

    def __str__(self) -> str:
        return ",".join(f"{r.path}{'!=' if r.negated else '='}{r.value}"
                        for r in self.requirements)


NO_FIELDS = FieldSelector()


def parse_field_selector(text: str | None) -> FieldSelector:
    if not text or not text.strip():
        return NO_FIELDS
    reqs: list[FieldRequirement] = []
    for clause in (c.strip() for c in text.split(",")):
        if not clause:
            continue
        for token, negated in (("!=", True), ("==", False), ("=", False)):
            if token in clause:
                path, _, value = clause.partition(token)
                path = path.strip()
                if not path or " " in path:
                    raise errors.BadRequest(f'invalid field selector: "{clause}"')
                reqs.append(FieldRequirement(path, value.strip(), negated))
                break
        else:
            raise errors.BadRequest(
                f'invalid selector: \'{clause}\'; can\'t understand \'{clause}\'')
    return FieldSelector(tuple(reqs))


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """A field's value as field selectors compare it: missing is the empty string."""
    cur: Any = obj
    for part in _path_parts(path):
        # The store asks this for every write and every indexed path: plain dicts, the
        # only thing it holds, skip the (slow) abstract-class check.
        if type(cur) is not dict and not isinstance(cur, Mapping):
            return ""
        cur = cur.get(part)
        if cur is None:
            return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return cur if isinstance(cur, str) else str(cur)


@functools.lru_cache(maxsize=256)
def _path_parts(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def as_selector(value: "str | Selector | None") -> Selector:
    if value is None or isinstance(value, Selector):
        return value or EVERYTHING
    return parse_label_selector(value)


def as_field_selector(value: "str | FieldSelector | None") -> FieldSelector:
    if value is None or isinstance(value, FieldSelector):
        return value or NO_FIELDS
    return parse_field_selector(value)


def requirements_from_pairs(pairs: Iterable[tuple[str, str]]) -> Selector:
    return Selector(tuple(Requirement(k, Operator.EQUALS, frozenset([v])) for k, v in pairs))
