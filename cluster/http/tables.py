"""Server-side `meta.k8s.io/v1` Tables: what `kubectl get` asks for and prints as is.

kubectl does not know how to lay out a pod or a RedisFailover; it sends
`Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...,application/json` and prints the
columns and cells the server chose, hiding priority>0 columns unless `-o wide`. The
columns come from `cluster.kubectl.columns.columns_for`, the same definitions our own
command layer and dashboard print, so every client sees the same table.

Each row carries an `object` so kubectl can decorate the table itself (`--show-labels`,
`-L`, `-A`'s NAMESPACE column read the row object's metadata; `--sort-by` asks for the
whole object with `includeObject=Object`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from cluster.api.errors import BadRequest
from cluster.api.resources import ResourceType
from cluster.http.media import MediaRange, parse_accept
from cluster.kubectl import columns as cols

GROUP = "meta.k8s.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"


class IncludeObject(str, enum.Enum):
    """The `includeObject` query parameter: what each row's `object` holds."""

    NONE = "None"
    METADATA = "Metadata"
    OBJECT = "Object"


def include_object_option(value: str | None) -> IncludeObject:
    """The query parameter's value, `Metadata` when absent; BadRequest for anything else.

    The apiserver only checks it when a Table is being served, so call this then.
    """
    if not value:
        return IncludeObject.METADATA
    try:
        return IncludeObject(value)
    except ValueError:
        raise BadRequest(f'includeObject: Invalid value: "{value}": must be '
                         "'Metadata', 'Object', 'None', or empty") from None


# -- content negotiation -------------------------------------------------------------------


def _is_table(media: MediaRange) -> bool:
    """A JSON meta.k8s.io/v1 Table: the only Table form served here."""
    return ((media.type, media.subtype) == ("application", "json")
            and media.params.get("as") == "Table"
            and media.params.get("g") == GROUP and media.params.get("v") == VERSION)


def wants_table(accept: str) -> bool:
    """True when the client prefers a JSON Table to plain JSON.

    The first acceptable range decides: a `v=v1` Table says yes, plain JSON (or a
    wildcard) says no. Forms not served here — protobuf, YAML, a v1beta1 Table,
    PartialObjectMetadata — are passed over, as the apiserver passes over what it cannot
    produce.
    """
    for media in parse_accept(accept or ""):
        if _is_table(media):
            return True
        if media.is_json and "as" not in media.params:
            return False
    return False


# -- the Table -------------------------------------------------------------------------------

_COMPLETED = "Completed"
"""metav1.RowCompleted: the row condition kube marks finished pods with."""

_POD_ROW_CONDITIONS = {
    "Succeeded": {"type": _COMPLETED, "status": "True", "reason": "Succeeded",
                  "message": "The pod has completed successfully."},
    "Failed": {"type": _COMPLETED, "status": "True", "reason": "Failed",
               "message": "The pod has failed."},
}


def column_definitions(columns: Iterable[cols.Column]) -> list[dict[str, Any]]:
    """`columnDefinitions`: every column, wide ones included (kubectl hides priority>0)."""
    return [{"name": c.name, "type": _plain(c.type), "format": c.format,
             "description": c.description, "priority": c.priority} for c in columns]


def _plain(value: str) -> str:
    return value.value if isinstance(value, enum.Enum) else value


def _cell(column: cols.Column, obj: dict[str, Any], now: float) -> Any:
    """A cell as kube encodes it: a string, number or boolean, or null when empty."""
    value = column.cell(obj, now)
    if _plain(column.type) == cols.ColumnType.BOOLEAN.value and value in ("true", "false"):
        return value == "true"  # the column layer gives text; the Table carries a boolean
    return value


def _row_object(obj: dict[str, Any], include: IncludeObject) -> dict[str, Any] | None:
    if include is IncludeObject.OBJECT:
        return obj
    if include is IncludeObject.METADATA:
        return {"kind": "PartialObjectMetadata", "apiVersion": API_VERSION,
                "metadata": obj.get("metadata") or {}}
    return None


def table_row(rt: ResourceType, columns: tuple[cols.Column, ...], obj: dict[str, Any], *,
              now: float, include: IncludeObject = IncludeObject.METADATA) -> dict[str, Any]:
    """One `rows[]` entry: its cells in column order, its object, and (finished pods) the
    `Completed` condition kube's pod printer sets."""
    row: dict[str, Any] = {"cells": [_cell(c, obj, now) for c in columns]}
    if rt.key == "pods" and not rt.custom:
        condition = _POD_ROW_CONDITIONS.get((obj.get("status") or {}).get("phase", ""))
        if condition is not None:
            row["conditions"] = [dict(condition)]
    # A row with no object still has the key: kube's RawExtension encodes as null.
    row["object"] = _row_object(obj, include)
    return row


def table(rt: ResourceType, objs: list[dict[str, Any]], *, now: float,
          resource_version: str = "", include_object: str = "Metadata",
          no_headers: bool = False) -> dict[str, Any]:
    """A `meta.k8s.io/v1` Table of these objects of one kind.

    `now` (seconds since the epoch) fixes every AGE cell. `resource_version` is the list's
    (or, for one object, the object's). `no_headers` leaves out the column definitions, as
    the apiserver does for every watch event after the first: kubectl keeps the last ones.
    An unknown `include_object` raises BadRequest.
    """
    include = include_object_option(include_object)
    columns = cols.columns_for(rt)
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    return {
        "kind": "Table",
        "apiVersion": API_VERSION,
        "metadata": metadata,
        "columnDefinitions": None if no_headers else column_definitions(columns),
        "rows": [table_row(rt, columns, obj, now=now, include=include) for obj in objs],
    }
