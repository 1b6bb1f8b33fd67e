"""Name and label formats: the verdicts and the exact sentences apimachinery gives."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cluster.api import names

LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
               "with an alphabetic character, and end with an alphanumeric character (e.g. "
               "'my-name',  or 'abc-123', regex used for validation is "
               "'[a-z]([-a-z0-9]*[a-z0-9])?')")
QUALIFIED_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                 "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                 "'123-abc', regex used for validation is "
                 "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, "
                   "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
                   "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                   "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("redis-0", [], id="ok"),
    pytest.param("0abc", [], id="digit-first-ok"),
    pytest.param("a" * 63, [], id="63-ok"),
    pytest.param("a" * 64, ["must be no more than 63 characters"], id="64-too-long"),
    pytest.param("Redis", [LABEL_MSG], id="uppercase"),
    pytest.param("-redis", [LABEL_MSG], id="leading-dash"),
    pytest.param("", [LABEL_MSG], id="empty"),
    pytest.param("my.ns", ["must not contain dots"], id="dots"),
])
def test_dns1123_label(value: str, expected: list[str]) -> None:
    """DNS labels: length limit, charset, and the special 'must not contain dots'."""
    assert names.is_dns1123_label(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("redis.example.com", [], id="dotted-ok"),
    pytest.param("web", [], id="single-label-ok"),
    pytest.param("a" * 254, ["must be no more than 253 characters"], id="too-long"),
    pytest.param("web_1", [SUBDOMAIN_MSG], id="underscore"),
    pytest.param("web..x", [SUBDOMAIN_MSG], id="empty-label"),
    pytest.param("web.", [SUBDOMAIN_MSG], id="trailing-dot"),
])
def test_dns1123_subdomain(value: str, expected: list[str]) -> None:
    """DNS subdomains: the name format of most kinds."""
    assert names.is_dns1123_subdomain(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("redis", [], id="ok"),
    pytest.param("1redis", [DNS1035_MSG], id="digit-first"),
])
def test_dns1035_label(value: str, expected: list[str]) -> None:
    """DNS-1035 labels (Service names) must start with a letter."""
    assert names.is_dns1035_label(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("app", [], id="plain"),
    pytest.param("redisha.io/role", [], id="prefixed"),
    pytest.param("App.Kubernetes_io", [], id="mixed-case-name"),
    pytest.param("/role", ["prefix part must be non-empty"], id="empty-prefix"),
    pytest.param("redisha.io/", ["name part must be non-empty", QUALIFIED_MSG], id="empty-name"),
    pytest.param("Redisha.io/role", ["prefix part " + SUBDOMAIN_MSG], id="uppercase-prefix"),
    pytest.param("a/b/c", ["a qualified name must consist of alphanumeric characters, '-', '_' "
                           "or '.', and must start and end with an alphanumeric character (e.g. "
                           "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                           "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
                           "subdomain prefix and '/' (e.g. 'example.com/MyName')"],
                 id="two-slashes"),
    pytest.param("x" * 64, ["name part must be no more than 63 characters"], id="long-name"),
])
def test_qualified_name(value: str, expected: list[str]) -> None:
    """Label keys: optional subdomain prefix and a 63-character name."""
    assert names.is_qualified_name(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("", [], id="empty-ok"),
    pytest.param("primary", [], id="ok"),
    pytest.param("v1.2_3-x", [], id="punctuation-inside"),
    pytest.param("-x", [LABEL_VALUE_MSG], id="leading-dash"),
    pytest.param("a b", [LABEL_VALUE_MSG], id="space"),
    pytest.param("x" * 64, ["must be no more than 63 characters"], id="too-long"),
])
def test_label_value(value: str, expected: list[str]) -> None:
    """Label values may be empty; otherwise alphanumeric ends, at most 63 characters."""
    assert names.is_valid_label_value(value) == expected


@pytest.mark.parametrize(("value", "ok"), [
    pytest.param("redis", True, id="ok"),
    pytest.param("sentinel-port-16", False, id="too-long"),
    pytest.param("6379", False, id="no-letter"),
    pytest.param("re--dis", False, id="double-dash"),
    pytest.param("-redis", False, id="leading-dash"),
    pytest.param("Redis", False, id="uppercase"),
])
def test_port_name(value: str, ok: bool) -> None:
    """Port names are IANA service names: short, lowercase, at least one letter."""
    assert (names.is_valid_port_name(value) == []) is ok


@pytest.mark.parametrize(("value", "ok"), [
    pytest.param("redis.conf", True, id="dotted"),
    pytest.param("KEY_NAME", True, id="upper"),
    pytest.param("..data", False, id="dotdot-prefix"),
    pytest.param(".", False, id="dot"),
    pytest.param("a/b", False, id="slash"),
])
def test_config_map_key(value: str, ok: bool) -> None:
    """ConfigMap keys become file names, so no slashes and no '..' prefix."""
    assert (names.is_config_map_key(value) == []) is ok


LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS_ALPHABET = st.text(alphabet="abz09-.A_", max_size=70)


@given(DNS_ALPHABET)
def test_dns1123_label_agrees_with_its_regex(value: str) -> None:
    """A value passes exactly when it matches the regex and fits in 63 characters."""
    valid = LABEL_RE.fullmatch(value) is not None and len(value) <= 63
    assert (names.is_dns1123_label(value) == []) is valid


@given(st.text(alphabet="ab09-.", max_size=300))
def test_dns1123_subdomain_agrees_with_its_regex(value: str) -> None:
    """A value passes exactly when it matches the regex and fits in 253 characters."""
    valid = SUBDOMAIN_RE.fullmatch(value) is not None and len(value) <= 253
    assert (names.is_dns1123_subdomain(value) == []) is valid


@given(st.from_regex(LABEL_RE, fullmatch=True).filter(lambda v: len(v) <= 63))
def test_every_regex_label_is_accepted(value: str) -> None:
    """Whatever the label regex generates is a valid label (and a valid subdomain)."""
    assert names.is_dns1123_label(value) == []
    assert names.is_dns1123_subdomain(value) == []


def test_name_suffix_uses_kubernetes_alphabet_and_is_seedable() -> None:
    """Suffixes are five characters from the vowel-free alphabet, reproducible by seed."""
    first = [names.generate_name_suffix(random.Random(7)) for _ in range(3)]
    assert len(set(first)) == 1
    suffixes = {names.generate_name_suffix(random.Random(seed)) for seed in range(200)}
    assert len(suffixes) > 150
    for suffix in suffixes:
        assert len(suffix) == 5
        assert set(suffix) <= set("bcdfghjklmnpqrstvwxz2456789")
        assert names.is_dns1123_label("redis-deployment-866c4c6cf9-" + suffix) == []
