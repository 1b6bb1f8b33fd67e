"""The pure parts of `podstreams`: query decoding, channel framing, Status reading."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from cluster.api import errors
from cluster.http import podstreams, remotecommand
from cluster.http.podstreams import Frame, StreamProtocol
from cluster.http.query import query_bool


@pytest.mark.parametrize("value, expected", [
    pytest.param(None, False, id="absent"),
    pytest.param("true", True, id="true"),
    pytest.param("1", True, id="one"),
    pytest.param("", True, id="empty"),
    pytest.param("0", False, id="zero"),
    pytest.param("FALSE", False, id="false-any-case"),
])
def test_query_bool_follows_apimachinery(value: str | None, expected: bool) -> None:
    """Only absence, `0` and `false` are false, as apimachinery converts query booleans."""
    query = {} if value is None else {"follow": value}
    assert query_bool(query, "follow") is expected


def test_exec_options_keep_argument_order_and_drop_stderr_with_a_terminal() -> None:
    """Repeated `command` values are argv in order; tty means no separate stderr."""
    query = MultiDict([("command", "sh"), ("command", "-c"), ("command", "echo hi"),
                       ("stdout", "true"), ("stderr", "true"), ("tty", "true")])
    opts = podstreams.exec_options(query)
    assert opts.command == ("sh", "-c", "echo hi")
    assert (opts.stdout, opts.stderr, opts.tty, opts.stdin) == (True, False, True, False)


def test_log_options_collect_every_problem() -> None:
    """Several invalid options are one Invalid naming each field."""
    with pytest.raises(errors.Invalid) as caught:
        podstreams.log_options({"tailLines": "-2", "limitBytes": "-1", "sinceSeconds": "0"},
                               "p")
    assert [e.field for e in caught.value.errors] == ["tailLines", "limitBytes", "sinceSeconds"]


@pytest.mark.parametrize("protocol", list(StreamProtocol), ids=lambda p: p.value)
def test_frames_round_trip(protocol: StreamProtocol) -> None:
    """What encode_frame writes, decode_frame reads back, binary or base64."""
    data = bytes(range(256))
    message = podstreams.encode_frame(protocol, podstreams.Channel.STDERR, data)
    assert isinstance(message, str) is protocol.is_base64
    assert podstreams.decode_frame(protocol, message) == Frame(2, data)


def test_close_signal_only_where_the_protocol_has_it() -> None:
    """`255, 0` closes stdin in v5 (and v4); elsewhere it is data on an unknown channel."""
    signal = podstreams.close_signal(0)
    assert podstreams.decode_frame(StreamProtocol.V5, signal) == Frame(0, close=True)
    assert podstreams.decode_frame(StreamProtocol.V4, signal) == Frame(0, close=True)
    assert podstreams.decode_frame(StreamProtocol.V1, signal) == Frame(255, b"\x00")
    assert podstreams.decode_frame(StreamProtocol.V5, b"\xff") is None


def test_malformed_messages_are_dropped() -> None:
    """Empty messages and bad base64 decode to nothing rather than failing the session."""
    assert podstreams.decode_frame(StreamProtocol.V5, b"") is None
    assert podstreams.decode_frame(StreamProtocol.V4_BASE64, "1@@@") is None
    assert podstreams.decode_frame(StreamProtocol.V4_BASE64, "x") is None


def test_negotiate_takes_the_clients_first_served_protocol() -> None:
    """The client's order decides; none offered means the unversioned protocol (None)."""
    assert podstreams.negotiate(["v9.channel.k8s.io", "v4.channel.k8s.io",
                                 "v5.channel.k8s.io"]) is StreamProtocol.V4
    assert podstreams.negotiate([]) is None
    with pytest.raises(errors.BadRequest):
        podstreams.negotiate(["SPDY/3.1"])


def test_exit_code_of_reads_statuses_as_client_go_does() -> None:
    """Success is 0, NonZeroExitCode its cause's code, any other Failure its error."""
    assert remotecommand.exit_code(podstreams.success_status()) == 0
    assert remotecommand.exit_code(podstreams.exit_status(42)) == 42
    with pytest.raises(errors.NotFound):
        remotecommand.exit_code(podstreams.error_status(errors.NotFound("pods", "x")))


def test_status_payload_by_protocol() -> None:
    """v4+ carry the JSON Status; older protocols only a failure's message."""
    failure = podstreams.exit_status(1)
    assert podstreams.status_payload(StreamProtocol.V5, podstreams.success_status()) == \
        b'{"metadata":{},"status":"Success"}'
    assert podstreams.status_payload(StreamProtocol.V1, podstreams.success_status()) == b""
    assert podstreams.status_payload(None, failure) == failure["message"].encode()
