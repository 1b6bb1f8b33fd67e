"""Output formats: tables, YAML, JSON, names, JSONPath, and kubectl's one-line messages.

Tables follow kubectl's human-readable printer: upper-cased headers, wide-only columns
hidden unless `-o wide`, a leading NAMESPACE column with `-A`, a trailing LABELS column
with `--show-labels`, `kind/` before names when several kinds are printed, and a
tabwriter with minimum width 6 and 3 spaces of padding. YAML and JSON are written the way
kubectl serialises: keys sorted, JSON indented by four spaces, YAML with ambiguous strings
double-quoted and multi-line strings as literal blocks.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from cluster.api.resources import ResourceType
from cluster.kubectl import columns as cols
from cluster.kubectl import jsonpath
from cluster.kubectl.tabwriter import TabWriter

TABLE_MIN_WIDTH = 6
TABLE_PADDING = 3


class OutputFormat(str, enum.Enum):
    """`-o` values we support ("" is the default table)."""

    TABLE = ""
    WIDE = "wide"
    YAML = "yaml"
    JSON = "json"
    NAME = "name"
    JSONPATH = "jsonpath"


def kind_word(rt: ResourceType) -> str:
    """`pod`, `deployment.apps`: the resource word kubectl prints before `/name`."""
    return f"{rt.kind.lower()}.{rt.group}" if rt.group else rt.kind.lower()


def qualified_name(rt: ResourceType, name: str) -> str:
    """`pod/redis`, `deployment.apps/web` (what `-o name` prints)."""
    return f"{kind_word(rt)}/{name}"


def action_line(rt: ResourceType, name: str, verb: str) -> str:
    """`pod/redis created`, `deployment.apps/web configured`, `pod/redis labeled`."""
    return f"{qualified_name(rt, name)} {verb}"


def deleted_line(rt: ResourceType, name: str) -> str:
    """`pod "redis" deleted`: delete's own form."""
    return f'{kind_word(rt)} "{name}" deleted'


def no_resources_line(namespace: str | None) -> str:
    """What `get` prints to stderr when nothing matched."""
    if namespace:
        return f"No resources found in {namespace} namespace."
    return "No resources found"


def format_cell(value: Any) -> str:
    """A table cell: None is empty, text stops at the first line break (then `...`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    for i, ch in enumerate(text):
        if ch in "\n\r\f":
            return text[:i] + "..."
    return text.replace("\t", " ")


@dataclass(frozen=True)
class TableOptions:
    """How `get` decorates a table."""

    wide: bool = False
    with_namespace: bool = False
    show_labels: bool = False
    with_kind: bool = False
    no_headers: bool = False


def _visible(columns: tuple[cols.Column, ...], wide: bool) -> list[cols.Column]:
    return [c for c in columns if wide or c.priority == 0]


def headers(rt: ResourceType, options: TableOptions) -> list[str]:
    """The header cells of one kind's table."""
    names = [c.name.upper() for c in _visible(cols.columns_for(rt), options.wide)]
    if options.with_namespace:
        names.insert(0, "NAMESPACE")
    if options.show_labels:
        names.append("LABELS")
    return names


def row_cells(rt: ResourceType, obj: dict[str, Any], now: float,
              options: TableOptions) -> list[str]:
    """The cells of one object's row."""
    visible = _visible(cols.columns_for(rt), options.wide)
    cells: list[str] = []
    for column in visible:
        value = format_cell(column.cell(obj, now))
        if options.with_kind and column.format == "name" and column.type == "string":
            value = f"{kind_word(rt)}/{value}"
        cells.append(value)
    if options.with_namespace:
        cells.insert(0, (obj.get("metadata") or {}).get("namespace", ""))
    if options.show_labels:
        cells.append(cols.format_labels((obj.get("metadata") or {}).get("labels")))
    return cells


def render_table(rt: ResourceType, items: list[dict[str, Any]], now: float,
                 options: TableOptions = TableOptions()) -> str:
    """One kind's table; empty text when there are no items (kubectl prints no header)."""
    if not items:
        return ""
    writer = TabWriter(min_width=TABLE_MIN_WIDTH, padding=TABLE_PADDING)
    if not options.no_headers:
        writer.write("\t".join(headers(rt, options)) + "\n")
    for obj in items:
        writer.write("\t".join(row_cells(rt, obj, now, options)) + "\n")
    return writer.flush()


@dataclass
class WatchTable:
    """Incremental table output for `get -w`: widths only grow, the header prints once."""

    rt: ResourceType
    options: TableOptions
    _writer: TabWriter = field(init=False)
    _printed_header: bool = False

    def __post_init__(self) -> None:
        self._writer = TabWriter(min_width=TABLE_MIN_WIDTH, padding=TABLE_PADDING,
                                 remember_widths=True)

    def rows(self, items: list[dict[str, Any]], now: float) -> str:
        """Lines for these objects (with the header before the first ones)."""
        if not items:
            return ""
        if not self._printed_header and not self.options.no_headers:
            self._writer.write("\t".join(headers(self.rt, self.options)) + "\n")
        self._printed_header = True
        for obj in items:
            self._writer.write("\t".join(row_cells(self.rt, obj, now, self.options)) + "\n")
        return self._writer.flush()


# -- serialisation -----------------------------------------------------------------------


class _GoStyleDumper(yaml.SafeDumper):
    """Emit YAML the way sigs.k8s.io/yaml (go-yaml v2) does for JSON-shaped data."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    implicit = dumper.resolve(yaml.ScalarNode, value, (True, False))
    if implicit != "tag:yaml.org,2002:str":
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_GoStyleDumper.add_representer(str, _represent_str)


def to_yaml(obj: Any) -> str:
    """`-o yaml`."""
    return yaml.dump(obj, Dumper=_GoStyleDumper, default_flow_style=False, sort_keys=True,
                     allow_unicode=True, width=1 << 30, indent=2)


def _escape_html(text: str) -> str:
    """Go's encoding/json escapes these even inside strings; JSON has them nowhere else."""
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def to_json(obj: Any) -> str:
    """`-o json`: four-space indent, sorted keys, trailing newline."""
    return _escape_html(json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False)) + "\n"


def compact_json(obj: Any) -> str:
    """Go's `json.Marshal` of an object: compact, keys sorted, HTML-escaped."""
    return _escape_html(json.dumps(obj, separators=(",", ":"), sort_keys=True,
                                   ensure_ascii=False))


def as_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The `kind: List` wrapper kubectl prints around several objects."""
    return {"apiVersion": "v1", "items": items, "kind": "List",
            "metadata": {"resourceVersion": ""}}


def serialize(items: list[dict[str, Any]], fmt: OutputFormat, *, single: bool,
              template: str = "") -> str:
    """YAML, JSON or JSONPath output; `single` when the user named exactly one object."""
    payload: Any = items[0] if single and len(items) == 1 else as_list(items)
    if fmt is OutputFormat.YAML:
        return to_yaml(payload)
    if fmt is OutputFormat.JSON:
        return to_json(payload)
    if fmt is OutputFormat.JSONPATH:
        return jsonpath.render_template(template, payload)
    raise ValueError(f"not a serialising format: {fmt}")
