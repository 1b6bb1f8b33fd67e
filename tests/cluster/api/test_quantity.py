"""Resource quantities: exact values and the canonical text kube-apiserver prints."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cluster.api import quantity
from cluster.api.quantity import QuantityFormat

REGEX_ERROR = ("quantities must match the regular expression "
               "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


@pytest.mark.parametrize(("text", "value"), [
    pytest.param("500m", Fraction(1, 2), id="millicores"),
    pytest.param("2Gi", 2 * 1024**3, id="gibibytes"),
    pytest.param("1.5Gi", 3 * 1024**3 // 2, id="fractional-binary"),
    pytest.param("100M", 100 * 10**6, id="megabytes"),
    pytest.param("1k", 1000, id="kilo"),
    pytest.param("1e3", 1000, id="exponent"),
    pytest.param("1E", 10**18, id="exa-not-exponent"),
    pytest.param(".5", Fraction(1, 2), id="leading-dot"),
    pytest.param("5.", 5, id="trailing-dot"),
    pytest.param("-1", -1, id="negative"),
    pytest.param("+2", 2, id="explicit-plus"),
    pytest.param("250u", Fraction(1, 4000), id="micro"),
])
def test_parse(text: str, value: Fraction | int) -> None:
    """Suffixes are binary (Ki..Ei), decimal (n..E) or an exponent; values are exact."""
    assert quantity.parse_quantity(text) == value


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(2, 2, id="int"),
    pytest.param(0.5, Fraction(1, 2), id="float"),
])
def test_parse_json_numbers(value: int | float, expected: Fraction | int) -> None:
    """A bare JSON number (`cpu: 2`) is a quantity too."""
    assert quantity.parse_quantity(value) == expected


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("abc", REGEX_ERROR, id="letters"),
    pytest.param("", REGEX_ERROR, id="empty"),
    pytest.param("1.5.3", REGEX_ERROR, id="two-dots"),
    pytest.param("1 Gi", REGEX_ERROR, id="space"),
    pytest.param("1e", "unable to parse quantity's suffix", id="bare-e"),
    pytest.param("1Gb", REGEX_ERROR, id="unknown-suffix"),
])
def test_parse_errors(text: str, message: str) -> None:
    """Malformed quantities raise with kube-apiserver's explanation."""
    with pytest.raises(quantity.QuantityError) as info:
        quantity.parse_quantity(text)
    assert str(info.value) == message


@pytest.mark.parametrize(("text", "canonical"), [
    pytest.param("1000m", "1", id="whole-cores"),
    pytest.param("0.5", "500m", id="half-core"),
    pytest.param("1.5Gi", "1536Mi", id="binary-down-a-unit"),
    pytest.param("2048Ki", "2Mi", id="binary-up"),
    pytest.param("2000", "2k", id="decimal-up"),
    pytest.param("1500", "1500", id="no-fractional-kilo"),
    pytest.param("1e3", "1e3", id="exponent-kept"),
    pytest.param("512", "512", id="plain"),
    pytest.param("0.1", "100m", id="tenth"),
    pytest.param("0.0000000001", "1n", id="rounds-up-to-nano"),
    pytest.param("0", "0", id="zero"),
])
def test_canonical_form(text: str, canonical: str) -> None:
    """Round trip through the canonical form kube-apiserver stores and prints."""
    assert quantity.canonical_quantity(text) == canonical


def test_scheduler_helpers_round_up() -> None:
    """Millicores and bytes round up, so a request is never under-counted."""
    assert quantity.milli_value(quantity.parse_quantity("100m")) == 100
    assert quantity.milli_value(Fraction(1, 3000)) == 1
    assert quantity.int_value(quantity.parse_quantity("1.5")) == 2
    assert quantity.parse_quantity("100m") + quantity.parse_quantity("200m") == Fraction(3, 10)


@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(min_value=0, max_value=9))
def test_decimal_format_round_trips(numerator: int, decimals: int) -> None:
    """Any value with at most nine decimals formats to text that parses back to itself."""
    value = Fraction(numerator, 10**decimals)
    text = quantity.format_quantity(value)
    assert quantity.parse_quantity(text) == value


@given(st.integers(min_value=0, max_value=2**62))
def test_binary_format_round_trips(value: int) -> None:
    """Byte counts format in BinarySI (or plain decimal) and parse back exactly."""
    text = quantity.format_quantity(value, QuantityFormat.BINARY_SI)
    assert quantity.parse_quantity(text) == value
