"""Decode the Kubernetes protobuf request bodies that kubectl sends.

kubectl 1.32's `create deployment|service|configmap|secret|namespace …` POST their object as
`application/vnd.kubernetes.protobuf`: the four bytes `k8s\\x00`, then a `runtime.Unknown`
message whose `typeMeta` names the kind and whose `raw` holds the object encoded with the
field numbers of k8s.io/api's generated.proto files. The engine speaks JSON-shaped dicts, so
this module turns such a body into the dict kubectl would have sent as JSON.

We read the wire format ourselves rather than depend on a protobuf library and the generated
Go schemas: kubectl's generators fill in a handful of kinds, and a table of field numbers per
message (`protobuf_schema`, written from the generated.proto files) is all a reader
needs. Protobuf rules apply: unknown fields are skipped, a repeated occurrence of a message
field merges into the first, the last scalar wins.

JSON shape. Go's generated marshallers write every non-pointer field, zero or not, so the
wire carries `generateName: ""`, `paused: false`, an empty `status`… Go's JSON encoder would
drop those zeros (`omitempty`) but keep empty structs (`"status": {}`, `"resources": {}`) and
zero `Time`s (`"creationTimestamp": null`). The tables therefore say, per scalar, whether a
zero read from the wire stays (`keep`: a Go pointer, or a field without `omitempty`); every
message field present on the wire stays, as it does in Go's JSON.
"""

from __future__ import annotations

import base64
import datetime
import enum
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cluster.api.errors import BadRequest
from cluster.http.protobuf_schema import (
    SCALARS,
    SUPPORTED_KINDS,
    VARINTS,
    Field,
    Kind,
    Message,
)

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

_PREFIX = "cannot decode protobuf body: "


class _Malformed(ValueError):
    """Bytes that do not follow the wire format or the schema; `decode` makes it a 400."""


# --- the wire format ------------------------------------------------------------------------

class WireType(enum.IntEnum):
    """The low three bits of a field's tag: how its value is laid out."""

    VARINT = 0
    I64 = 1
    LEN = 2
    START_GROUP = 3
    END_GROUP = 4
    I32 = 5


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read an unsigned base-128 varint at `pos`; return it and the position after it."""
    result = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            raise _Malformed(f"truncated varint at byte {pos}")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFF_FFFF_FFFF_FFFF, pos
    raise _Malformed(f"varint longer than 10 bytes ending at byte {pos}")


def _fields(data: bytes) -> Iterator[tuple[int, WireType, int | bytes]]:
    """Yield (field number, wire type, value) for each field of one message, in wire order.

    A VARINT value is the raw unsigned integer, I32/I64 values are their little-endian bytes,
    LEN values are the payload. Groups (deprecated, never written by Kubernetes) are skipped.
    """
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise _Malformed(f"field number 0 at byte {pos}")
        if wire == WireType.VARINT:
            value, pos = _varint(data, pos)
            yield number, WireType.VARINT, value
        elif wire in (WireType.I64, WireType.I32):
            size = 8 if wire == WireType.I64 else 4
            if pos + size > len(data):
                raise _Malformed(f"truncated fixed-size field {number} at byte {pos}")
            yield number, WireType(wire), data[pos:pos + size]
            pos += size
        elif wire == WireType.LEN:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise _Malformed(f"field {number} claims {size} bytes but {len(data) - pos} remain")
            yield number, WireType.LEN, data[pos:pos + size]
            pos += size
        elif wire == WireType.START_GROUP:
            pos = _skip_group(data, pos, number)
        else:
            raise _Malformed(f"field {number} has invalid wire type {wire}")


def _skip_group(data: bytes, pos: int, number: int) -> int:
    """Return the position just after the END_GROUP that closes group `number`."""
    depth = 1
    while depth:
        if pos >= len(data):
            raise _Malformed(f"unterminated group {number}")
        tag, pos = _varint(data, pos)
        wire = tag & 7
        if wire == WireType.VARINT:
            _, pos = _varint(data, pos)
        elif wire == WireType.I64:
            pos += 8
        elif wire == WireType.I32:
            pos += 4
        elif wire == WireType.LEN:
            size, pos = _varint(data, pos)
            pos += size
        elif wire == WireType.START_GROUP:
            depth += 1
        elif wire == WireType.END_GROUP:
            depth -= 1
        else:
            raise _Malformed(f"invalid wire type {wire} inside group {number}")
    if pos > len(data):
        raise _Malformed(f"truncated group {number}")
    return pos


def _signed(value: int, bits: int) -> int:
    """Two's-complement reading of a varint (negative int32s travel as 64-bit values)."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _text(raw: bytes) -> str:
    # Go keeps invalid UTF-8 in strings and its JSON encoder writes U+FFFD for it; do the same.
    return raw.decode("utf-8", errors="replace")


# --- decoding -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Envelope:
    """A `runtime.Unknown`: the kind's identity and the still-encoded object."""

    api_version: str
    kind: str
    raw: bytes
    content_encoding: str = ""
    content_type: str = ""


def decode(body: bytes) -> dict[str, Any]:
    """Turn a `application/vnd.kubernetes.protobuf` request body into the object's JSON dict.

    The result starts with `apiVersion` and `kind` (from the envelope), followed by the
    object's fields as Go's JSON encoder would write them. Raises `BadRequest` with one line
    for bytes that are not a Kubernetes protobuf body or for a kind we have no table for.
    """
    envelope = unwrap(body)
    schema = SUPPORTED_KINDS.get((envelope.api_version, envelope.kind))
    if schema is None:
        raise BadRequest(f'{_PREFIX}kind "{envelope.kind}" of '
                         f'{envelope.api_version or "no apiVersion"} is not supported')
    try:
        obj = _decode_message(envelope.raw, schema)
    except _Malformed as e:
        raise BadRequest(f"{_PREFIX}{envelope.kind}: {e}") from None
    return {"apiVersion": envelope.api_version, "kind": envelope.kind, **obj}


def unwrap(body: bytes) -> Envelope:
    """Check the `k8s\\x00` prefix and read the `runtime.Unknown` envelope after it."""
    if not body.startswith(MAGIC):
        raise BadRequest(f"{_PREFIX}it does not start with the k8s\\x00 prefix")
    try:
        envelope = _envelope(body[len(MAGIC):])
    except _Malformed as e:
        raise BadRequest(f"{_PREFIX}{e}") from None
    if envelope.content_encoding:
        raise BadRequest(f'{_PREFIX}content encoding "{envelope.content_encoding}" '
                         f"is not supported")
    if envelope.content_type not in ("", MEDIA_TYPE):
        raise BadRequest(f'{_PREFIX}inner content type "{envelope.content_type}" '
                         f"is not supported")
    if not envelope.kind:
        raise BadRequest(f"{_PREFIX}the envelope names no kind")
    return envelope


def _envelope(data: bytes) -> Envelope:
    api_version = kind = encoding = content_type = ""
    raw = b""
    for number, wire, value in _fields(data):
        if number in (1, 2, 3, 4) and wire != WireType.LEN:
            raise _Malformed(f"field {number} of Unknown has wire type {wire.value}, want 2")
        if number == 1:
            assert isinstance(value, bytes)
            for sub, sub_wire, sub_value in _fields(value):
                if sub in (1, 2) and sub_wire != WireType.LEN:
                    raise _Malformed(f"field {sub} of TypeMeta has wire type {sub_wire.value}, "
                                     f"want 2")
                if sub == 1:
                    api_version = _text(_as_bytes(sub_value))
                elif sub == 2:
                    kind = _text(_as_bytes(sub_value))
        elif number == 2:
            raw = _as_bytes(value)
        elif number == 3:
            encoding = _text(_as_bytes(value))
        elif number == 4:
            content_type = _text(_as_bytes(value))
    return Envelope(api_version, kind, raw, encoding, content_type)


def _as_bytes(value: int | bytes) -> bytes:
    assert isinstance(value, bytes)  # _fields gives bytes for every LEN field
    return value


def _decode_message(data: bytes, message: Message,
                    into: dict[str, Any] | None = None) -> dict[str, Any]:
    """Decode one message into a dict (merging into `into`, as protobuf merges repeats)."""
    out: dict[str, Any] = into if into is not None else {}
    for number, wire, value in _fields(data):
        spec = message.by_number.get(number)
        if spec is not None:
            _apply(spec, wire, value, out, message)
    return {name: out[name] for name in message.order if name in out}


def _apply(spec: Field, wire: WireType, value: int | bytes, out: dict[str, Any],
           parent: Message) -> None:
    """Put one wire field into `out` according to its schema entry."""
    if spec.repeated and spec.kind in VARINTS and wire == WireType.LEN:
        out.setdefault(spec.name, []).extend(_packed(_as_bytes(value), spec))
        return
    want = WireType.VARINT if spec.kind in VARINTS else WireType.LEN
    if wire != want:
        raise _Malformed(f"field {spec.number} ({parent.name}.{_label(spec)}) has wire type "
                         f"{wire.value}, want {want.value}")
    if spec.kind in SCALARS:
        scalar = _scalar(spec, value)
        if spec.repeated:
            out.setdefault(spec.name, []).append(scalar)
        elif scalar or spec.keep:
            out[spec.name] = scalar
        else:
            out.pop(spec.name, None)  # a later zero overrides an earlier value
        return
    data = _as_bytes(value)
    if spec.kind == Kind.MESSAGE:
        assert spec.message is not None
        if spec.inline:
            _decode_message(data, spec.message, out)  # its fields belong to `out` itself
        elif spec.repeated:
            out.setdefault(spec.name, []).append(_decode_message(data, spec.message))
        else:
            previous = out.get(spec.name)
            out[spec.name] = _decode_message(
                data, spec.message, previous if isinstance(previous, dict) else None)
    elif spec.kind in (Kind.STRING_MAP, Kind.BYTES_MAP, Kind.QUANTITY_MAP):
        key, item = _map_entry(data, spec)
        out.setdefault(spec.name, {})[key] = item
    else:
        out[spec.name] = _special(spec.kind, data)


def _label(spec: Field) -> str:
    if spec.inline and spec.message is not None:
        return spec.message.name
    return spec.name


def _scalar(spec: Field, value: int | bytes) -> Any:
    if spec.kind == Kind.STRING:
        return _text(_as_bytes(value))
    if spec.kind == Kind.BYTES:
        return base64.b64encode(_as_bytes(value)).decode("ascii")
    assert isinstance(value, int)
    if spec.kind == Kind.BOOL:
        return value != 0
    return _signed(value, 32 if spec.kind == Kind.INT32 else 64)


def _packed(data: bytes, spec: Field) -> list[Any]:
    items = []
    pos = 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        items.append(_scalar(spec, value))
    return items


def _map_entry(data: bytes, spec: Field) -> tuple[str, Any]:
    """A map entry is a message {key = 1; value = 2}; a missing part is its zero value."""
    key = ""
    item: Any = {Kind.STRING_MAP: "", Kind.BYTES_MAP: "", Kind.QUANTITY_MAP: "0"}[spec.kind]
    for number, wire, value in _fields(data):
        if number not in (1, 2):
            continue
        if wire != WireType.LEN:
            raise _Malformed(f"entry {number} of map {spec.name} has wire type {wire.value}, "
                             f"want 2")
        raw = _as_bytes(value)
        if number == 1:
            key = _text(raw)
        elif spec.kind == Kind.STRING_MAP:
            item = _text(raw)
        elif spec.kind == Kind.BYTES_MAP:
            item = base64.b64encode(raw).decode("ascii")
        else:
            item = _special(Kind.QUANTITY, raw)
    return key, item


def _special(kind: Kind, data: bytes) -> Any:
    """Messages that Go's JSON writes as one value rather than an object."""
    fields: dict[int, int | bytes] = {}
    for number, _wire, value in _fields(data):
        fields[number] = value  # the last occurrence wins
    if kind == Kind.TIME:
        return _rfc3339(fields.get(1, 0)) if data else None
    if kind == Kind.QUANTITY:
        return _text(_len_field(fields, 1, "Quantity")) or "0"
    if kind == Kind.INT_OR_STRING:
        if _int_field(fields, 1, "IntOrString") == 1:
            return _text(_len_field(fields, 3, "IntOrString"))
        return _signed(_int_field(fields, 2, "IntOrString"), 32)
    if kind == Kind.FIELDS_V1:
        try:
            return json.loads(_len_field(fields, 1, "FieldsV1") or b"{}")
        except ValueError as e:
            raise _Malformed(f"FieldsV1 does not hold JSON: {e}") from None
    raise AssertionError(f"no special decoding for {kind}")


def _int_field(fields: dict[int, int | bytes], number: int, message: str) -> int:
    value = fields.get(number, 0)
    if not isinstance(value, int):
        raise _Malformed(f"field {number} of {message} is not a varint")
    return value


def _len_field(fields: dict[int, int | bytes], number: int, message: str) -> bytes:
    value = fields.get(number, b"")
    if not isinstance(value, bytes):
        raise _Malformed(f"field {number} of {message} is not length-delimited")
    return value


def _rfc3339(seconds: int | bytes) -> str | None:
    """metav1.Time as JSON: whole seconds in UTC; the zero time (0001-01-01) is null.

    Nanos are ignored, as Kubernetes ignores them (its JSON form never carried them).
    """
    if not isinstance(seconds, int):
        raise _Malformed("the seconds of a Time are not a varint")
    try:
        moment = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + \
            datetime.timedelta(seconds=_signed(seconds, 64))
    except OverflowError:
        raise _Malformed(f"time {_signed(seconds, 64)}s is out of range") from None
    if moment == datetime.datetime(1, 1, 1, tzinfo=datetime.UTC):
        return None
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z")
