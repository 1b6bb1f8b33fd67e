"""Accept headers ranked as apimachinery ranks them."""

from __future__ import annotations

from cluster.http import media


def test_parse_accept_orders_by_q_then_specificity() -> None:
    """Ranges sort by q, then concrete types before wildcards, then header order."""
    ranges = media.parse_accept('*/*;q=0.8, text/plain;q=0.8, application/json, '
                                    'bad-entry, application/yaml;q=0')
    assert [(r.type, r.subtype) for r in ranges] == [
        ("application", "json"), ("text", "plain"), ("*", "*")]


def test_parse_accept_orders_by_q_and_keeps_ties_in_client_order() -> None:
    """Media ranges sort by q, equal q keeping the client's order; q=0 ranges are dropped."""
    ranges = media.parse_accept("text/plain;q=0.2, application/yaml, application/json;"
                                 "q=0.9, application/xml;q=0, application/cbor")
    assert [f"{r.type}/{r.subtype}" for r in ranges] == [
        "application/yaml", "application/cbor", "application/json", "text/plain"]
    assert ranges[2].q == 0.9
