"""AGE cells: apimachinery's duration.HumanDuration, digit for digit."""

from __future__ import annotations

import pytest

from cluster.kubectl.columns import age_since, format_age

MINUTE = 60
HOUR = 3600
DAY = 86400


@pytest.mark.parametrize("seconds,expected", [
    pytest.param(-5, "<invalid>", id="clock-skew-beyond-tolerance"),
    pytest.param(-1.5, "0s", id="small-skew-is-now"),
    pytest.param(0, "0s", id="zero"),
    pytest.param(5.9, "5s", id="truncates-fraction"),
    pytest.param(119, "119s", id="seconds-until-two-minutes"),
    pytest.param(120, "2m", id="two-minutes"),
    pytest.param(125, "2m5s", id="minutes-and-seconds"),
    pytest.param(9 * MINUTE + 59, "9m59s", id="last-minute-seconds"),
    pytest.param(10 * MINUTE + 30, "10m", id="minutes-only-from-ten"),
    pytest.param(32 * MINUTE, "32m", id="thirty-two-minutes"),
    pytest.param(179 * MINUTE + 59, "179m", id="minutes-until-three-hours"),
    pytest.param(3 * HOUR, "3h", id="three-hours"),
    pytest.param(3 * HOUR + 4 * MINUTE, "3h4m", id="hours-and-minutes"),
    pytest.param(8 * HOUR + 30 * MINUTE, "8h", id="hours-only-from-eight"),
    pytest.param(47 * HOUR, "47h", id="hours-until-two-days"),
    pytest.param(2 * DAY, "2d", id="two-days"),
    pytest.param(2 * DAY + 5 * HOUR, "2d5h", id="days-and-hours"),
    pytest.param(7 * DAY + 23 * HOUR, "7d23h", id="last-day-hours"),
    pytest.param(24 * DAY + 3 * HOUR, "24d", id="days-only-from-eight"),
    pytest.param(729 * DAY, "729d", id="days-until-two-years"),
    pytest.param(730 * DAY, "2y", id="two-years"),
    pytest.param(740 * DAY, "2y10d", id="years-and-days"),
    pytest.param(8 * 365 * DAY + 40 * DAY, "8y", id="years-only-from-eight"),
])
def test_format_age_matches_human_duration(seconds: float, expected: str) -> None:
    """Each band of HumanDuration produces kubectl's exact text."""
    assert format_age(seconds) == expected


@pytest.mark.parametrize("timestamp,expected", [
    pytest.param(None, "<unknown>", id="missing"),
    pytest.param("", "<unknown>", id="empty"),
    pytest.param("not a time", "<unknown>", id="unreadable"),
    pytest.param("2023-11-14T22:12:20Z", "60s", id="a-minute-ago"),
])
def test_age_since_reads_rfc3339(timestamp: str | None, expected: str) -> None:
    """Ages are measured from RFC 3339 timestamps; missing ones read `<unknown>`."""
    assert age_since(timestamp, 1_700_000_000.0) == expected
