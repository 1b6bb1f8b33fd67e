"""Timestamps as metav1.Time writes them: RFC 3339, whole seconds, fraction dropped."""

from __future__ import annotations

import pytest

from cluster.api import objects


@pytest.mark.parametrize("ts, text", [
    pytest.param(0, "1970-01-01T00:00:00Z", id="epoch"),
    pytest.param(59.25, "1970-01-01T00:00:59Z", id="fraction-dropped"),
    pytest.param(59.9999996, "1970-01-01T00:00:59Z", id="never-rounded-up"),
    pytest.param(1_700_000_000.5, "2023-11-14T22:13:20Z", id="recent"),
])
def test_format_time_truncates_to_the_second(ts: float, text: str) -> None:
    """Go's Time.Format drops the fraction; so do we, however close to the next second."""
    assert objects.format_time(ts) == text
    assert objects.parse_time(text) == int(ts)
