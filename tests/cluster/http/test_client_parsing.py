"""The HTTP client's pure parts: URLs, line splitting, watch/log/exec decoding, discovery."""

from __future__ import annotations

import pytest

from cluster.api import errors, podio
from cluster.api.resources import BUILTIN_RESOURCES, ResourceRegistry, ResourceType
from cluster.http import discovery
from cluster.http.client import (
    HTTPClient,
    LineBuffer,
    error_from_reply,
    parse_discovery,
    parse_log_line,
    parse_resource_list,
    parse_watch_line,
    resource_path,
    with_crd_details,
)
from cluster.http.remotecommand import exit_code

REGISTRY = ResourceRegistry()
FAILOVER = ResourceType("databases.spotahome.com", "v1", "RedisFailover", "redisfailovers",
                        "redisfailover", True, ("rf",), custom=True)


@pytest.mark.parametrize("resource,namespace,name,sub,expected", [
    pytest.param("pods", "default", None, None, "/api/v1/namespaces/default/pods", id="ns-list"),
    pytest.param("pods", None, None, None, "/api/v1/pods", id="all-namespaces"),
    pytest.param("pods", "ns1", "web-0", "status", "/api/v1/namespaces/ns1/pods/web-0/status",
                 id="subresource"),
    pytest.param("nodes", "ignored", "n1", None, "/api/v1/nodes/n1", id="cluster-scoped"),
    pytest.param("deployments.apps", "a", "d", None,
                 "/apis/apps/v1/namespaces/a/deployments/d", id="group"),
    pytest.param("crd", None, "x.y.z", None,
                 "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.y.z",
                 id="dotted-name"),
    pytest.param("pods", "default", "a b/c", None, "/api/v1/namespaces/default/pods/a%20b%2Fc",
                 id="quoted"),
])
def test_resource_path(resource: str, namespace: str | None, name: str | None,
                       sub: str | None, expected: str) -> None:
    """Collections, objects and subresources get kube-apiserver's REST paths."""
    assert resource_path(REGISTRY.resolve(resource), namespace, name, sub) == expected


def test_line_buffer_every_split() -> None:
    """Lines come out whole whatever way the stream is chunked."""
    data = b'{"a":1}\n\n{"b":2}\npartial'
    for cut in range(len(data) + 1):
        for cut2 in range(cut, len(data) + 1):
            buffer = LineBuffer()
            lines = buffer.feed(data[:cut]) + buffer.feed(data[cut:cut2]) + buffer.feed(
                data[cut2:])
            assert lines == [b'{"a":1}', b"", b'{"b":2}']
            assert buffer.flush() == b"partial"


def test_parse_watch_line() -> None:
    """A watch line decodes to type and object; blanks are keep-alives; junk is an error."""
    decoded = parse_watch_line(b'{"type":"ADDED","object":{"kind":"Pod"}}')
    assert decoded is not None and decoded.type == "ADDED" and decoded.object == {"kind": "Pod"}
    assert parse_watch_line(b"  ") is None
    for junk in (b"{not json", b'{"type":"ADDED"}', b"[1]"):
        with pytest.raises(ValueError, match="malformed watch event"):
            parse_watch_line(junk)


def test_parse_log_line_recovers_time() -> None:
    """A `timestamps=true` line gives back the time the API server stamped, to the ns."""
    stamp = podio.rfc3339_nano(1_700_000_000.123456)
    line = parse_log_line(f"{stamp} hello world", fallback_time=0.0)
    assert line.text == "hello world" and line.stream == "stdout"
    assert line.time == pytest.approx(1_700_000_000.123456, abs=1e-6)
    whole = parse_log_line("2023-11-14T22:13:20Z ", fallback_time=0.0)
    assert whole.time == 1_700_000_000.0 and whole.text == ""


def test_parse_log_line_without_timestamp() -> None:
    """A line with no leading timestamp keeps its text and takes the fallback time."""
    line = parse_log_line("not-a-time text", fallback_time=5.0)
    assert (line.time, line.text) == (5.0, "not-a-time text")


def test_exit_code() -> None:
    """Success is 0, NonZeroExitCode gives its cause's code, other failures raise."""
    assert exit_code({"metadata": {}, "status": "Success"}) == 0
    assert exit_code({"status": "Failure", "reason": "NonZeroExitCode",
                           "message": "command terminated with non-zero exit code",
                           "details": {"causes": [{"reason": "ExitCode",
                                                   "message": "42"}]}}) == 42
    with pytest.raises(errors.BadRequest, match="no such container"):
        exit_code({"status": "Failure", "reason": "BadRequest", "code": 400,
                        "message": "no such container"})


def test_error_from_status_reply() -> None:
    """A Status reply becomes its error class with the server's message and details."""
    error = error_from_reply(404, b'{"kind":"Status","status":"Failure","reason":"NotFound",'
                                  b'"message":"pods \\"x\\" not found","code":404,'
                                  b'"details":{"name":"x","kind":"pods"}}')
    assert isinstance(error, errors.NotFound)
    assert error.message == 'pods "x" not found' and error.details["name"] == "x"
    assert isinstance(error_from_reply(410, b'{"kind":"Status","reason":"Expired",'
                                            b'"message":"too old","code":410}'), errors.Expired)
    gone = error_from_reply(410, b'{"kind":"Status","reason":"Gone","message":"too old",'
                                 b'"code":410}')
    assert isinstance(gone, errors.Expired) and gone.message == "too old"


@pytest.mark.parametrize("server,words", [
    pytest.param("ftp://127.0.0.1", "is not an http(s) URL", id="scheme"),
    pytest.param("https://:6443", "names no host", id="no-host"),
    pytest.param("http://[::1", "is not a valid URL", id="bad-ipv6"),
    pytest.param("https://127.0.0.1:99999", "is not a valid URL", id="bad-port"),
])
def test_a_bad_server_url_is_one_line(server: str, words: str) -> None:
    """A server URL the client cannot use fails at once, naming it, in one line."""
    with pytest.raises(ValueError) as raised:
        HTTPClient(server)
    assert words in str(raised.value) and repr(server) in str(raised.value)


@pytest.mark.parametrize("code,body,cls,words", [
    pytest.param(401, b"", errors.Unauthorized, "provide credentials", id="401"),
    pytest.param(404, b"404: Not Found", errors.NotFound, "could not find", id="404-text"),
    pytest.param(502, b"bad gateway", errors.APIError, "bad gateway", id="502"),
])
def test_error_from_plain_reply(code: int, body: bytes, cls: type, words: str) -> None:
    """A reply without a Status gets client-go's generic error for its code."""
    error = error_from_reply(code, body)
    assert type(error) is cls and error.code == code and words in error.message
    assert "\n" not in error.message


def test_parse_discovery_matches_registry() -> None:
    """Aggregated discovery of the built-ins parses back to the same kinds."""
    doc_types = (parse_discovery(discovery.aggregated(BUILTIN_RESOURCES, core=True))
                 + parse_discovery(discovery.aggregated(BUILTIN_RESOURCES, core=False)))
    assert {rt.key: rt for rt in doc_types} == {rt.key: rt for rt in BUILTIN_RESOURCES}
    assert not any(rt.custom for rt in doc_types)


def test_parse_discovery_marks_custom_kinds() -> None:
    """A CRD's kind parses as custom, so built-ins win name clashes when resolving."""
    types = parse_discovery(discovery.aggregated([*BUILTIN_RESOURCES, FAILOVER], core=False))
    found = next(rt for rt in types if rt.kind == "RedisFailover")
    assert found.custom and found.short_names == ("rf",) and found.namespaced


def test_parse_legacy_resource_list() -> None:
    """A legacy APIResourceList parses to kinds, `pods/status` marking has_status."""
    core = [rt for rt in BUILTIN_RESOURCES if not rt.group]
    doc = discovery.api_resource_list(core, "", "v1")
    assert doc is not None
    assert {rt.key: rt for rt in parse_resource_list(doc)} == {rt.key: rt for rt in core}


def test_crd_details_fill_schema_and_columns() -> None:
    """Custom kinds get their CRD version's schema and printer columns."""
    columns = [{"name": "Master", "type": "string", "jsonPath": ".status.master"}]
    crd = {"spec": {"group": FAILOVER.group, "names": {"plural": "redisfailovers"},
                    "versions": [{"name": "v1", "additionalPrinterColumns": columns,
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    pods = REGISTRY.resolve("pods")
    completed = with_crd_details([pods, FAILOVER], [crd])
    assert completed[0] is pods
    assert completed[1].printer_columns == tuple(columns)
    assert completed[1].schema == {"type": "object"}
