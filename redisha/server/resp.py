"""RESP2/RESP3, sans-IO: bytes in, frames out; frames in, bytes out.

Nothing here reads a socket or knows about asyncio (h11's shape): `feed(data)` appends what
arrived, `next_frame()` returns one frame or `NEED_DATA`, and `encode(frame, protocol)` is
the reply on the wire. The server and every client (redis-cli, the replica's link to its
primary, tests) share this module, so the wire format is written once.

Two parsers, because the two directions differ:

- `RequestParser` (server side) accepts what Redis accepts from clients: arrays of bulk
  strings, and inline commands (`PING\\r\\n`, what telnet and `redis-cli` in a pipe send). Its
  errors carry networking.c's wording (`Protocol error: invalid multibulk length`). It keeps
  the partial state of a half-received command, so a large pipeline split across reads is
  parsed once, not re-parsed from the start on every read.
- `ReplyParser` (client side) accepts every RESP2 and RESP3 type, counts the bytes it has
  consumed (the replication offset of a stream is a byte count), and reads the replication
  snapshot's bulk, which unlike any other bulk has no trailing CRLF.

Frames use Python values where they are unambiguous (bytes for bulk strings, int, None,
list, dict, float, bool) and small frozen dataclasses otherwise.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final


class _NeedData(enum.Enum):
    NEED_DATA = "NEED_DATA"


NEED_DATA: Final = _NeedData.NEED_DATA
"""`next_frame()`'s answer when the buffer holds no complete frame yet."""

INLINE_MAX_SIZE = 64 * 1024
"""Redis' PROTO_INLINE_MAX_SIZE: the longest line (inline command, array or bulk header)."""

MAX_MULTIBULK = 2 ** 31 - 1
"""INT_MAX: the most elements a request array may announce."""

MAX_BULK_LEN = 512 * 1024 * 1024
"""Redis' default proto-max-bulk-len."""


class ProtocolError(Exception):
    """The peer sent bytes that are not RESP; the message is Redis' (`Protocol error: …`).

    The server answers `-ERR <message>` and closes that connection. Any other exception out
    of this module is a bug.
    """


@dataclass(frozen=True, slots=True)
class SimpleString:
    """`+OK`: a status reply, as opposed to a bulk string."""

    value: bytes


@dataclass(frozen=True, slots=True)
class Error:
    """`-ERR message`: `message` includes the error code (`ERR`, `READONLY`, …)."""

    message: str

    @property
    def code(self) -> str:
        return self.message.split(" ", 1)[0]


@dataclass(frozen=True, slots=True)
class Push:
    """RESP3 out-of-band data (`>`): pub/sub messages; an array in RESP2."""

    items: list[Any]


@dataclass(frozen=True, slots=True)
class RespSet:
    """RESP3 set (`~`); an array in RESP2. A list inside, since members may be unhashable."""

    items: list[Any]


@dataclass(frozen=True, slots=True)
class Verbatim:
    """RESP3 verbatim string (`=`), e.g. `txt` for INFO-like text; a bulk string in RESP2."""

    format: str
    text: bytes


@dataclass(frozen=True, slots=True)
class BigNumber:
    """RESP3 big number (`(`); a bulk string in RESP2."""

    value: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The full-resync payload `$<len>\\r\\n<bytes>` (no trailing CRLF)."""

    data: bytes


Frame = (bytes | int | float | bool | None | list[Any] | dict[Any, Any] | SimpleString | Error
         | Push | RespSet | Verbatim | BigNumber)


# -- requests (server side) -----------------------------------------------------------------

class RequestParser:
    """Client → server: commands as `list[bytes]`; inline commands included."""

    __slots__ = ("_args", "_buf", "_pos", "_remaining")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._args: list[bytes] | None = None
        """Arguments of a multibulk request received so far; None between requests."""
        self._remaining = 0

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes received and not yet parsed into a command (CLIENT LIST's `qbuf`)."""
        return len(self._buf) - self._pos

    def next_frame(self) -> list[bytes] | _NeedData:
        """The next complete command (a non-empty list), or NEED_DATA."""
        while True:
            if self._args is not None:
                return self._continue_multibulk()
            buf, pos = self._buf, self._pos
            if pos >= len(buf):
                return NEED_DATA
            if buf[pos] == 42:  # '*'
                frame = self._start_multibulk()
            else:
                frame = self._inline()
            if frame is NEED_DATA or frame:
                return frame
            # An empty inline line or `*0`/`*-1`: nothing to run, keep going.

    def _start_multibulk(self) -> list[bytes] | _NeedData:
        buf, pos = self._buf, self._pos
        end = buf.find(b"\r\n", pos)
        if end < 0:
            if len(buf) - pos > INLINE_MAX_SIZE:
                raise ProtocolError("Protocol error: too big mbulk count string")
            return NEED_DATA
        count = _parse_int(buf, pos + 1, end)
        if count is None or count > MAX_MULTIBULK:
            raise ProtocolError("Protocol error: invalid multibulk length")
        self._pos = end + 2
        if count <= 0:
            return []
        self._args = []
        self._remaining = count
        return self._continue_multibulk()

    def _continue_multibulk(self) -> list[bytes] | _NeedData:
        buf = self._buf
        args = self._args
        assert args is not None
        pos = self._pos
        size = len(buf)
        while self._remaining:
            if pos >= size:
                self._pos = pos
                return NEED_DATA
            if buf[pos] != 36:  # '$'
                got = chr(buf[pos])
                raise ProtocolError(f"Protocol error: expected '$', got '{got}'")
            end = buf.find(b"\r\n", pos)
            if end < 0:
                if size - pos > INLINE_MAX_SIZE:
                    raise ProtocolError("Protocol error: too big bulk count string")
                self._pos = pos
                return NEED_DATA
            length = _parse_int(buf, pos + 1, end)
            if length is None or length < 0 or length > MAX_BULK_LEN:
                raise ProtocolError("Protocol error: invalid bulk length")
            start = end + 2
            stop = start + length
            if stop + 2 > size:
                self._pos = pos
                return NEED_DATA
            args.append(bytes(buf[start:stop]))
            pos = stop + 2
            self._remaining -= 1
        self._pos = pos
        self._args = None
        return args

    def _inline(self) -> list[bytes] | _NeedData:
        buf, pos = self._buf, self._pos
        end = buf.find(b"\n", pos)
        if end < 0:
            if len(buf) - pos > INLINE_MAX_SIZE:
                raise ProtocolError("Protocol error: too big inline request")
            return NEED_DATA
        line = bytes(buf[pos:end])
        self._pos = end + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        args = split_args(line)
        if args is None:
            raise ProtocolError("Protocol error: unbalanced quotes in request")
        return args


def _parse_int(buf: bytearray, start: int, end: int) -> int | None:
    """A decimal integer as Redis' string2ll reads it (no spaces, no `+`, no `_`)."""
    text = bytes(buf[start:end])
    if text.isdigit() and (len(text) == 1 or text[0] != 48):
        return int(text)
    body = text[1:] if text.startswith(b"-") else text
    if not body or not body.isdigit() or (len(body) > 1 and body[0] == 48):
        return None
    return int(text)


_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b",
            ord("a"): b"\a"}


def split_args(line: bytes) -> list[bytes] | None:
    """Split an inline command (or a config file line) the way sdssplitargs does: blanks
    separate words; "double quotes" take backslash escapes (`\\n`, `\\x41`), 'single quotes'
    only `\\'`; a closing quote must be followed by a blank. None for unbalanced quotes."""
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \t\r\n\v\f":
            i += 1
        if i >= n:
            return args
        word = bytearray()
        if line[i] == 34:  # "
            i += 1
            while True:
                if i >= n:
                    return None
                c = line[i]
                if c == 92 and i + 3 < n and line[i + 1] == 120 and _is_hex(line[i + 2:i + 4]):
                    word.append(int(line[i + 2:i + 4], 16))
                    i += 4
                elif c == 92 and i + 1 < n:
                    nxt = line[i + 1]
                    word += _ESCAPES.get(nxt, bytes([nxt]))
                    i += 2
                elif c == 34:
                    i += 1
                    if i < n and line[i] not in b" \t\r\n\v\f":
                        return None
                    break
                else:
                    word.append(c)
                    i += 1
        elif line[i] == 39:  # '
            i += 1
            while True:
                if i >= n:
                    return None
                c = line[i]
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    word.append(39)
                    i += 2
                elif c == 39:
                    i += 1
                    if i < n and line[i] not in b" \t\r\n\v\f":
                        return None
                    break
                else:
                    word.append(c)
                    i += 1
        else:
            while i < n and line[i] not in b" \t\r\n\v\f":
                word.append(line[i])
                i += 1
        args.append(bytes(word))


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair)


# -- replies (client side) ------------------------------------------------------------------

class _Incomplete(Exception):
    """Internal: the buffer ends inside a frame."""


class ReplyParser:
    """Server → client: any RESP2/RESP3 frame; counts consumed bytes for offsets."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self.consumed = 0
        """Bytes consumed by the frames returned so far (the replication offset's unit)."""

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def take_buffered(self) -> bytes:
        """Hand over the unparsed bytes (a link switching to another reader)."""
        data = bytes(self._buf[self._pos:])
        self._buf.clear()
        self._pos = 0
        return data

    def next_frame(self) -> Any:
        """The next frame, or NEED_DATA; an incomplete frame is re-read from its start."""
        if self._pos >= len(self._buf):
            return NEED_DATA
        try:
            frame, end = self._parse(self._pos)
        except _Incomplete:
            return NEED_DATA
        self.consumed += end - self._pos
        self._pos = end
        return frame

    def next_frame_raw(self) -> tuple[Any, bytes] | _NeedData:
        """Like `next_frame`, with the frame's bytes as received (a replica passes them on)."""
        start = self._pos
        frame = self.next_frame()
        if frame is NEED_DATA:
            return NEED_DATA
        return frame, bytes(self._buf[start:self._pos])

    def _skip_keepalives(self) -> None:
        buf = self._buf
        while self._pos < len(buf) and buf[self._pos] == 10:
            self._pos += 1

    def snapshot_size(self) -> int | None:
        """The announced size of the snapshot being received: bytes, -1 for the diskless
        `$EOF:<mark>` form, None while its header is incomplete."""
        self._skip_keepalives()
        buf = self._buf
        end = buf.find(b"\r\n", self._pos)
        if end < 0 or self._pos >= len(buf) or buf[self._pos] != 36:
            return None
        if buf.startswith(b"$EOF:", self._pos):
            return -1
        return _parse_int(buf, self._pos + 1, end)

    def next_snapshot(self) -> Snapshot | _NeedData:
        """The full-resync payload: `$<len>\r\n<bytes>`, or diskless `$EOF:<40-byte
        mark>\r\n<bytes><mark>`. Newlines before it are the primary's keep-alives."""
        self._skip_keepalives()
        buf = self._buf
        if self._pos >= len(buf):
            return NEED_DATA
        if buf[self._pos] != 36:
            received = bytes(buf[self._pos:self._pos + 32]).decode(errors="replace")
            raise ProtocolError(
                f"Bad protocol from MASTER, the first byte is not '$' (we received "
                f"'{received}'), are you sure the host and port are right?")
        end = buf.find(b"\r\n", self._pos)
        if end < 0:
            return NEED_DATA
        if buf.startswith(b"$EOF:", self._pos):
            mark = bytes(buf[self._pos + 5:end])
            found = buf.find(mark, end + 2)
            if found < 0:
                return NEED_DATA
            data = bytes(buf[end + 2:found])
            self._pos = found + len(mark)
            return Snapshot(data)
        length = _parse_int(buf, self._pos + 1, end)
        if length is None or length < 0:
            raise ProtocolError("Protocol error: invalid bulk length")
        if end + 2 + length > len(buf):
            return NEED_DATA
        data = bytes(buf[end + 2:end + 2 + length])
        self._pos = end + 2 + length
        return Snapshot(data)

    def _line(self, pos: int) -> tuple[bytes, int]:
        end = self._buf.find(b"\r\n", pos)
        if end < 0:
            raise _Incomplete
        return bytes(self._buf[pos:end]), end + 2

    def _int(self, text: bytes) -> int:
        try:
            return int(text)
        except ValueError:
            raise ProtocolError(f"Protocol error: bad integer {text!r}") from None

    def _parse(self, pos: int) -> tuple[Any, int]:
        buf = self._buf
        if pos >= len(buf):
            raise _Incomplete
        kind = buf[pos]
        line, nxt = self._line(pos + 1)
        if kind == 43:  # +
            return SimpleString(line), nxt
        if kind == 45:  # -
            return Error(line.decode(errors="replace")), nxt
        if kind == 58:  # :
            return self._int(line), nxt
        if kind in (36, 61, 33):  # $ = !
            length = self._int(line)
            if length < 0:
                return None, nxt
            if nxt + length + 2 > len(buf):
                raise _Incomplete
            data = bytes(buf[nxt:nxt + length])
            end = nxt + length + 2
            if kind == 61:
                return Verbatim(data[:3].decode(), data[4:]), end
            if kind == 33:
                return Error(data.decode(errors="replace")), end
            return data, end
        if kind in (42, 126, 62, 37):  # * ~ > %
            count = self._int(line)
            if count < 0:
                return None, nxt
            n = count * 2 if kind == 37 else count
            items = []
            for _ in range(n):
                item, nxt = self._parse(nxt)
                items.append(item)
            if kind == 126:
                return RespSet(items), nxt
            if kind == 62:
                return Push(items), nxt
            if kind == 37:
                return {_hashable(items[i]): items[i + 1] for i in range(0, n, 2)}, nxt
            return items, nxt
        if kind == 95:  # _
            return None, nxt
        if kind == 44:  # ,
            return float(line.decode()), nxt
        if kind == 35:  # #
            return line == b"t", nxt
        if kind == 40:  # (
            return BigNumber(self._int(line)), nxt
        raise ProtocolError(f"Protocol error: unexpected reply type byte {chr(kind)!r}")


def _hashable(key: Any) -> Any:
    if isinstance(key, list):
        return tuple(_hashable(k) for k in key)
    return key


# -- encoding -------------------------------------------------------------------------------

def encode_command(args: Iterable[bytes | str | int]) -> bytes:
    """A command as clients send it: an array of bulk strings."""
    parts = []
    count = 0
    for arg in args:
        if isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, int):
            data = str(arg).encode()
        else:
            data = bytes(arg)
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        count += 1
    return b"*%d\r\n" % count + b"".join(parts)


def encode(frame: Any, protocol: int = 2) -> bytes:
    """One reply on the wire, in RESP2 (`protocol=2`) or RESP3."""
    out: list[bytes] = []
    _encode_into(out, frame, protocol == 3)
    return b"".join(out)


def _encode_into(out: list[bytes], frame: Any, resp3: bool) -> None:
    kind = type(frame)
    if kind is bytes:
        out.append(b"$%d\r\n%s\r\n" % (len(frame), frame))
    elif kind is int:
        out.append(b":%d\r\n" % frame)
    elif frame is None:
        out.append(b"_\r\n" if resp3 else b"$-1\r\n")
    elif kind is SimpleString:
        out.append(b"+%s\r\n" % frame.value)
    elif kind is Error:
        message = frame.message.replace("\r", " ").replace("\n", " ")
        out.append(b"-%s\r\n" % message.encode())
    elif kind is list or kind is tuple:
        out.append(b"*%d\r\n" % len(frame))
        for item in frame:
            _encode_into(out, item, resp3)
    elif kind is bool:
        out.append((b"#t\r\n" if frame else b"#f\r\n") if resp3 else
                   (b":1\r\n" if frame else b":0\r\n"))
    elif kind is str:
        data = frame.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    elif kind is bytearray or kind is memoryview:
        data = bytes(frame)
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    elif kind is dict:
        out.append(b"%%%d\r\n" % len(frame) if resp3 else b"*%d\r\n" % (2 * len(frame)))
        for key, value in frame.items():
            _encode_into(out, key, resp3)
            _encode_into(out, value, resp3)
    elif kind is float:
        out.append(b",%s\r\n" % format_double(frame).encode() if resp3 else
                   _bulk(format_double(frame).encode()))
    elif kind is Push:
        out.append(b">%d\r\n" % len(frame.items) if resp3 else b"*%d\r\n" % len(frame.items))
        for item in frame.items:
            _encode_into(out, item, resp3)
    elif kind is RespSet or kind is set or kind is frozenset:
        items: Sequence[Any] = frame.items if kind is RespSet else list(frame)
        out.append(b"~%d\r\n" % len(items) if resp3 else b"*%d\r\n" % len(items))
        for item in items:
            _encode_into(out, item, resp3)
    elif kind is Verbatim:
        if resp3:
            body = frame.format.encode() + b":" + frame.text
            out.append(b"=%d\r\n%s\r\n" % (len(body), body))
        else:
            out.append(_bulk(frame.text))
    elif kind is BigNumber:
        out.append(b"(%d\r\n" % frame.value if resp3 else _bulk(str(frame.value).encode()))
    elif kind is Snapshot:
        out.append(b"$%d\r\n%s" % (len(frame.data), frame.data))
    elif isinstance(frame, int):  # int subclasses (IntEnum)
        out.append(b":%d\r\n" % int(frame))
    else:
        raise TypeError(f"cannot encode a reply of type {kind.__name__}")


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def format_double(value: float) -> str:
    """A double as Redis prints it: `inf`, `-inf`, `nan`, else the shortest repr (`%.17g`
    trimmed)."""
    if math.isnan(value):
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e17:
        return str(int(value))
    return repr(value)


OK: Final = SimpleString(b"OK")
PONG: Final = SimpleString(b"PONG")
QUEUED: Final = SimpleString(b"QUEUED")
