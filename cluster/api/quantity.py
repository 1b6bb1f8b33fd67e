"""Resource quantities (`500m`, `2Gi`, `1.5`, `1e3`), exactly as `resource.Quantity` reads them.

Values are `fractions.Fraction`s so that arithmetic in the scheduler (summing requests,
comparing against allocatable) is exact: `0.1 + 0.2` CPUs must equal `300m`, which floats
cannot promise. `format_quantity` writes the canonical form kube-apiserver would print.
"""

from __future__ import annotations

import enum
import functools
import math
import re
from fractions import Fraction

QUANTITY_REGEX = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
"""The pattern quoted in kube-apiserver's parse error."""

_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_EXPONENT_RE = re.compile(r"[eE][+-]?\d+")

_BINARY_SUFFIXES: dict[str, int] = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_SUFFIXES: dict[str, int] = {
    "n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18,
}
_DECIMAL_BY_EXPONENT = {exp: suffix for suffix, exp in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_EXPONENT = {exp: suffix for suffix, exp in _BINARY_SUFFIXES.items()}


class QuantityFormat(str, enum.Enum):
    """How a quantity is written back, chosen by the suffix it was written with."""

    DECIMAL_SI = "DecimalSI"
    BINARY_SI = "BinarySI"
    DECIMAL_EXPONENT = "DecimalExponent"


class QuantityError(ValueError):
    """The text is not a quantity; the message is the one kube-apiserver gives."""


def parse_quantity_with_format(text: str) -> tuple[Fraction, QuantityFormat]:
    """The exact value of `text` and the format its suffix implies."""
    if not isinstance(text, str) or not text:
        raise QuantityError(f"quantities must match the regular expression '{QUANTITY_REGEX}'")
    return _parse_text(text)


@functools.lru_cache(maxsize=1024)
def _parse_text(text: str) -> tuple[Fraction, QuantityFormat]:
    # Every pod of a template repeats the same few strings (`10m`, `16Mi`), and each is
    # read by defaulting, validation and the QoS class on every create: remembering the
    # (immutable) result turns microseconds of Fraction arithmetic into a lookup.
    number = _NUMBER_RE.match(text)
    if number is None:
        raise QuantityError(f"quantities must match the regular expression '{QUANTITY_REGEX}'")
    mantissa = Fraction(number.group(0).lstrip("+"))
    suffix = text[number.end():]
    if suffix in _BINARY_SUFFIXES:
        return mantissa * (2 ** _BINARY_SUFFIXES[suffix]), QuantityFormat.BINARY_SI
    if suffix in _DECIMAL_SUFFIXES:
        return mantissa * Fraction(10) ** _DECIMAL_SUFFIXES[suffix], QuantityFormat.DECIMAL_SI
    if _EXPONENT_RE.fullmatch(suffix):
        return mantissa * Fraction(10) ** int(suffix[1:]), QuantityFormat.DECIMAL_EXPONENT
    if re.fullmatch(r"[eEinumkKMGTP]*[-+]?[0-9]*", suffix):
        raise QuantityError("unable to parse quantity's suffix")
    raise QuantityError(f"quantities must match the regular expression '{QUANTITY_REGEX}'")


def parse_quantity(text: str | int | float) -> Fraction:
    """`"2Gi"` -> 2147483648, `"500m"` -> 1/2. JSON numbers are accepted as plain values."""
    if isinstance(text, bool):
        raise QuantityError(f"quantities must match the regular expression '{QUANTITY_REGEX}'")
    if isinstance(text, int):
        return Fraction(text)
    if isinstance(text, float):
        return Fraction(str(text))
    return parse_quantity_with_format(text)[0]


def _round_up_to_nano(value: Fraction) -> Fraction:
    """Quantities keep nine decimal places at most; finer values round away from zero."""
    scaled = value * 10**9
    if scaled.denominator == 1:
        return value
    nanos = math.ceil(scaled) if value > 0 else math.floor(scaled)
    return Fraction(nanos, 10**9)


def _format_decimal(value: Fraction, exponent_style: bool) -> str:
    value = _round_up_to_nano(value)
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    # The largest power of ten (a multiple of three) that leaves an integer mantissa.
    exponent = -9
    while exponent + 3 <= 18 and (magnitude / Fraction(10) ** (exponent + 3)).denominator == 1:
        exponent += 3
    mantissa = magnitude / Fraction(10) ** exponent
    if exponent_style:
        return f"{sign}{mantissa.numerator}" + (f"e{exponent}" if exponent else "")
    return f"{sign}{mantissa.numerator}{_DECIMAL_BY_EXPONENT[exponent]}"


def _format_binary(value: Fraction) -> str:
    if value.denominator != 1 or abs(value) < 1024:
        return _format_decimal(value, exponent_style=False)
    sign = "-" if value < 0 else ""
    magnitude = abs(value.numerator)
    exponent = 0
    while exponent + 10 <= 60 and magnitude % (2 ** (exponent + 10)) == 0:
        exponent += 10
    mantissa = magnitude // 2**exponent
    return f"{sign}{mantissa}{_BINARY_BY_EXPONENT.get(exponent, '')}"


def format_quantity(value: Fraction | int, fmt: QuantityFormat = QuantityFormat.DECIMAL_SI) -> str:
    """Canonical text: `Fraction(1, 2)` -> `"500m"`, `2**31` in BinarySI -> `"2Gi"`."""
    value = Fraction(value)
    if fmt is QuantityFormat.BINARY_SI:
        return _format_binary(value)
    return _format_decimal(value, exponent_style=fmt is QuantityFormat.DECIMAL_EXPONENT)


def canonical_quantity(text: str) -> str:
    """How kube-apiserver would print `text` back: `"1000m"` -> `"1"`, `"1.5Gi"` -> `"1536Mi"`."""
    value, fmt = parse_quantity_with_format(text)
    return format_quantity(value, fmt)


def milli_value(value: Fraction) -> int:
    """Thousandths, rounded up (CPU is accounted in millicores)."""
    return math.ceil(value * 1000)


def int_value(value: Fraction) -> int:
    """Whole units, rounded up (memory and storage are accounted in bytes)."""
    return math.ceil(value)
