"""The remote-command protocol of `pods/exec` over WebSocket, shared by the server side
(`podstreams`) and the client (`client`): channel bytes, the subprotocols, and how the
error channel's `Status` gives the command's exit code."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from cluster.api import errors

STREAM_CLOSE = 255
"""First byte of a v5 message that closes one channel (the channel is the second byte)."""

NON_ZERO_EXIT_CODE = "NonZeroExitCode"
EXIT_CODE_CAUSE = "ExitCode"


class Channel(enum.IntEnum):
    """The channels of an exec session."""

    STDIN = 0
    STDOUT = 1
    STDERR = 2
    ERROR = 3
    RESIZE = 4


class StreamProtocol(str, enum.Enum):
    """The WebSocket subprotocols served, newest first.

    `v4`/`v5` carry a JSON `Status` on the error channel (exit codes); the unversioned
    ones carry only an error's text. `base64` variants send text messages whose first
    character is the channel digit and whose rest is base64.
    """

    V5 = "v5.channel.k8s.io"
    V4 = "v4.channel.k8s.io"
    V4_BASE64 = "v4.base64.channel.k8s.io"
    V1 = "channel.k8s.io"
    V1_BASE64 = "base64.channel.k8s.io"

    @property
    def is_base64(self) -> bool:
        return self in (StreamProtocol.V4_BASE64, StreamProtocol.V1_BASE64)

    @property
    def has_status(self) -> bool:
        """Whether the error channel carries a JSON Status (v4 and later)."""
        return self in (StreamProtocol.V5, StreamProtocol.V4, StreamProtocol.V4_BASE64)

    @property
    def has_stream_close(self) -> bool:
        """Whether `255, <channel>` closes a channel. v5's, honoured for plain v4 too:
        client-go sends it whatever the protocol, and stdin could not end otherwise."""
        return self in (StreamProtocol.V5, StreamProtocol.V4)


EXEC_PROTOCOLS = (StreamProtocol.V5.value, StreamProtocol.V4.value)
"""What a client offers, preferred first: v5 adds the close signal that ends stdin."""


def exit_code(status: Mapping[str, Any]) -> int:
    """The error channel's `Status` as a client reads it: 0, the command's exit code, or
    the `APIError` the Status describes (client-go's v4 error decoder)."""
    if status.get("status") == "Success":
        return 0
    if status.get("reason") == NON_ZERO_EXIT_CODE:
        for cause in (status.get("details") or {}).get("causes") or ():
            if cause.get("reason") == EXIT_CODE_CAUSE:
                try:
                    return int(cause.get("message", ""))
                except ValueError:
                    break
        raise errors.APIError(f"error stream protocol error: no numeric {EXIT_CODE_CAUSE} "
                              "cause given")
    raise errors.from_status(dict(status))
