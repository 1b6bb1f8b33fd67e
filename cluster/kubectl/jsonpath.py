"""The subset of Kubernetes JSONPath that printer columns and `-o jsonpath` use.

CRDs name their `additionalPrinterColumns` with simple paths (`.spec.size`,
`.status.conditions[?(@.type=="Ready")].status`), and users script kubectl with templates
like `{.items[*].metadata.name}` or `{range .items[*]}{.metadata.name}{"\\n"}{end}`. We
support fields, `['quoted.keys']`, indexes, `[*]`, and `==`/`!=` filters — enough for both,
without pulling in a general JSONPath engine whose output rules differ from kubectl's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


class JSONPathError(ValueError):
    """The expression or template cannot be parsed."""


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Index:
    index: int


@dataclass(frozen=True)
class _Wildcard:
    pass


@dataclass(frozen=True)
class _Filter:
    path: tuple[Any, ...]
    op: str
    value: Any


_Step = _Field | _Index | _Wildcard | _Filter

_FILTER_RE = re.compile(r"\?\(@((?:\.[^=!<>\s]+)*)\s*(==|!=)\s*(.+?)\s*\)")


def parse(expr: str) -> tuple[_Step, ...]:
    """Compile a path such as `.status.podIPs[0].ip` into steps."""
    text = expr.strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[_Step] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == ".":
            j = i + 1
            while j < len(text) and text[j] not in ".[":
                if text[j] == "\\" and j + 1 < len(text):
                    j += 2
                    continue
                j += 1
            name = text[i + 1:j].replace("\\.", ".")
            if name:
                steps.append(_Field(name))
            i = j
        elif ch == "[":
            end = _closing_bracket(text, i)
            steps.append(_bracket(text[i + 1:end], expr))
            i = end + 1
        else:
            raise JSONPathError(f"unrecognized character in action: {expr}")
    return tuple(steps)


def _closing_bracket(text: str, start: int) -> int:
    depth = 0
    quote = ""
    for k in range(start, len(text)):
        c = text[k]
        if quote:
            if c == quote:
                quote = ""
            continue
        if c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return k
    raise JSONPathError(f"unterminated array: {text}")


def _bracket(inner: str, expr: str) -> _Step:
    inner = inner.strip()
    if inner == "*":
        return _Wildcard()
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return _Field(inner[1:-1])
    if re.fullmatch(r"-?\d+", inner):
        return _Index(int(inner))
    m = _FILTER_RE.fullmatch(inner)
    if m:
        literal = m.group(3)
        value: Any
        if len(literal) >= 2 and literal[0] == literal[-1] and literal[0] in "'\"":
            value = literal[1:-1]
        else:
            try:
                value = json.loads(literal)
            except ValueError:
                value = literal
        return _Filter(parse(m.group(1)) if m.group(1) else (), m.group(2), value)
    raise JSONPathError(f"invalid array index {inner} in {expr}")


def find(obj: Any, expr: str | tuple[_Step, ...]) -> list[Any]:
    """Every value the path selects (empty when nothing matches)."""
    steps = parse(expr) if isinstance(expr, str) else expr
    current = [obj]
    for step in steps:
        nxt: list[Any] = []
        for value in current:
            nxt.extend(_apply(step, value))
        current = nxt
    return current


def _apply(step: _Step, value: Any) -> list[Any]:
    if isinstance(step, _Field):
        if isinstance(value, dict) and step.name in value:
            return [value[step.name]]
        return []
    if isinstance(step, _Index):
        if isinstance(value, list) and -len(value) <= step.index < len(value):
            return [value[step.index]]
        return []
    if isinstance(step, _Wildcard):
        if isinstance(value, list):
            return list(value)
        if isinstance(value, dict):
            return [value[k] for k in sorted(value)]
        return []
    items = value if isinstance(value, list) else []
    matched = []
    for item in items:
        got = find(item, step.path)
        hit = bool(got) and got[0] == step.value
        if (step.op == "==") == hit:
            matched.append(item)
    return matched


def text_of(value: Any) -> str:
    """A selected value as kubectl prints it: strings raw, everything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


# -- templates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Expr:
    steps: tuple[_Step, ...]


@dataclass(frozen=True)
class _Range:
    steps: tuple[_Step, ...]
    body: tuple[Any, ...]


def _tokens(template: str) -> list[tuple[str, str]]:
    """Split a template into ('text', ...) and ('action', ...) pieces."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(template):
        start = template.find("{", i)
        if start < 0:
            out.append(("text", template[i:]))
            break
        if start > i:
            out.append(("text", template[i:start]))
        end = start + 1
        quote = ""
        while end < len(template):
            c = template[end]
            if quote:
                if c == "\\":
                    end += 2
                    continue
                if c == quote:
                    quote = ""
            elif c in "'\"":
                quote = c
            elif c == "}":
                break
            end += 1
        if end >= len(template):
            raise JSONPathError(f"unclosed action: {template}")
        out.append(("action", template[start + 1:end].strip()))
        i = end + 1
    return out


def compile_template(template: str) -> tuple[Any, ...]:
    """Parse a kubectl `-o jsonpath=` template."""
    nodes, rest = _parse_nodes(_tokens(template), 0, template)
    if rest != len(_tokens(template)):
        raise JSONPathError(f"not in range, nothing to end: {template}")
    return nodes


def _parse_nodes(tokens: list[tuple[str, str]], i: int,
                 template: str) -> tuple[tuple[Any, ...], int]:
    nodes: list[Any] = []
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "text":
            nodes.append(_Text(value))
            i += 1
            continue
        if value == "end":
            return tuple(nodes), i
        if value.startswith("range "):
            body, j = _parse_nodes(tokens, i + 1, template)
            if j >= len(tokens):
                raise JSONPathError(f"unclosed range: {template}")
            nodes.append(_Range(parse(value[len("range "):]), body))
            i = j + 1
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            nodes.append(_Text(json.loads('"' + value[1:-1].replace('"', '\\"') + '"')
                               if value[0] == '"' else value[1:-1]))
        else:
            nodes.append(_Expr(parse(value)))
        i += 1
    return tuple(nodes), i


def render_template(template: str, obj: Any) -> str:
    """Execute a template against `obj`; several results of one action join with spaces."""
    return _render(compile_template(template), obj)


def _render(nodes: tuple[Any, ...], obj: Any) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, _Text):
            parts.append(node.text)
        elif isinstance(node, _Expr):
            parts.append(" ".join(text_of(v) for v in find(obj, node.steps)))
        else:
            for item in find(obj, node.steps):
                parts.append(_render(node.body, item))
    return "".join(parts)
