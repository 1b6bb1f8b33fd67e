"""The memcached text protocol, sans I/O: replies to byte strings, however they are split."""

from __future__ import annotations

import pytest

from redisha.samples.memcached import options
from redisha.samples.memcached.engine import MemcachedEngine, slab_classes
from redisha.samples.memcached.protocol import Connection


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def make(argv: tuple[str, ...] = (), clock: Clock | None = None,
         trace: list[str] | None = None) -> Connection:
    engine = MemcachedEngine(options.parse(list(argv)), clock=clock or Clock(), pid=7,
                             trace=(trace.append if trace is not None else lambda line: None))
    return Connection(engine, engine.connection_opened())


def talk(conn: Connection, data: bytes) -> bytes:
    return conn.receive_data(data)


@pytest.mark.parametrize("request_bytes,reply", [
    pytest.param(b"set k 0 0 1\r\nv\r\nget k\r\n", b"STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n",
                 id="set-get"),
    pytest.param(b"get\r\n", b"ERROR\r\n", id="get-without-key"),
    pytest.param(b"\r\n", b"ERROR\r\n", id="empty-line"),
    pytest.param(b"set k 0 0\r\n", b"ERROR\r\n", id="set-missing-length"),
    pytest.param(b"set k x 0 1\r\n", b"CLIENT_ERROR bad command line format\r\n",
                 id="set-bad-flags"),
    pytest.param(b"set k 0 0 -1\r\n", b"CLIENT_ERROR bad command line format\r\n",
                 id="set-negative-length"),
    pytest.param(b"set " + b"k" * 251 + b" 0 0 1\r\n", b"CLIENT_ERROR bad command line format\r\n",
                 id="key-too-long"),
    pytest.param(b"set k 0 0 1\r\nvv\r\n", b"CLIENT_ERROR bad data chunk\r\nERROR\r\n",
                 id="bad-data-chunk"),
    pytest.param(b"add k 0 0 1\r\na\r\nadd k 0 0 1\r\nb\r\nget k\r\n",
                 b"STORED\r\nNOT_STORED\r\nVALUE k 0 1\r\na\r\nEND\r\n", id="add"),
    pytest.param(b"replace k 0 0 1\r\nb\r\n", b"NOT_STORED\r\n", id="replace-missing"),
    pytest.param(b"set k 3 0 2\r\nbc\r\nappend k 0 0 1\r\nd\r\nprepend k 0 0 1\r\na\r\nget k\r\n",
                 b"STORED\r\nSTORED\r\nSTORED\r\nVALUE k 3 4\r\nabcd\r\nEND\r\n",
                 id="append-prepend-keep-flags"),
    pytest.param(b"incr k 1\r\n", b"NOT_FOUND\r\n", id="incr-missing"),
    pytest.param(b"set k 0 0 1\r\nx\r\nincr k 1\r\n",
                 b"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
                 id="incr-non-numeric"),
    pytest.param(b"set k 0 0 1\r\n1\r\nincr k -1\r\n",
                 b"STORED\r\nCLIENT_ERROR invalid numeric delta argument\r\n", id="bad-delta"),
    pytest.param(b"set k 0 0 20\r\n18446744073709551615\r\nincr k 2\r\n",
                 b"STORED\r\n1\r\n", id="incr-wraps"),
    pytest.param(b"set k 0 0 2\r\n10\r\ndecr k 1\r\nget k\r\ndecr k 100\r\n",
                 b"STORED\r\n9\r\nVALUE k 0 2\r\n9 \r\nEND\r\n0\r\n", id="decr-pads-and-floors"),
    pytest.param(b"delete k 5\r\n",
                 b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n",
                 id="delete-usage"),
    pytest.param(b"delete k 0\r\n", b"NOT_FOUND\r\n", id="delete-hold-zero"),
    pytest.param(b"set k 0 0 1 noreply\r\na\r\nincr k 1 noreply\r\ndelete j noreply\r\nget k\r\n",
                 b"VALUE k 0 1\r\na\r\nEND\r\n", id="noreply-silences"),
    pytest.param(b"touch k 10\r\nset k 0 0 1\r\na\r\ntouch k 10\r\n",
                 b"NOT_FOUND\r\nSTORED\r\nTOUCHED\r\n", id="touch"),
    pytest.param(b"version\r\nverbosity 1\r\nbogus\r\n", b"VERSION 1.4.36\r\nOK\r\nERROR\r\n",
                 id="version-verbosity-unknown"),
    pytest.param(b"shutdown\r\n", b"ERROR: shutdown not enabled\r\n", id="shutdown-disabled"),
    pytest.param(b"stats nonsense\r\n", b"ERROR\r\n", id="stats-unknown"),
    pytest.param(b"set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nget a b c\r\n",
                 b"STORED\r\nSTORED\r\nVALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nEND\r\n",
                 id="multi-get"),
    pytest.param(b"set a 0 0 1\r\n1\r\nget a " + b"k" * 251 + b"\r\n",
                 b"STORED\r\nCLIENT_ERROR bad command line format\r\n",
                 id="multi-get-long-key-drops-partial"),
    pytest.param(b"set k 0 0 1\nv\r\nget k\n", b"STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n",
                 id="bare-newlines"),
])
def test_replies(request_bytes: bytes, reply: bytes) -> None:
    """Each request gets memcached 1.4.36's reply, whole or split at every byte."""
    assert talk(make(), request_bytes) == reply
    conn = make()
    out = b"".join(talk(conn, request_bytes[i:i + 1]) for i in range(len(request_bytes)))
    assert out == reply


def test_too_large_value_is_refused_and_its_data_swallowed() -> None:
    """Over 1 MB: SERVER_ERROR, the data block is skipped, and a failed set drops the old value."""
    conn = make()
    assert talk(conn, b"set k 0 0 1\r\na\r\n") == b"STORED\r\n"
    big = b"x" * (1024 * 1024)
    reply = talk(conn, b"set k 0 0 %d\r\n" % len(big) + big[:1000])
    assert reply == b"SERVER_ERROR object too large for cache\r\n"
    assert talk(conn, big[1000:] + b"\r\nget k\r\n") == b"END\r\n"
    # Just under the limit (header, CAS, key and CRLF included) is fine.
    fits = b"y" * (1024 * 1024 - 48 - 8 - 2 - 2 - len(" 0 1048516\r\n"))
    assert talk(conn, b"set k 0 0 %d\r\n%s\r\n" % (len(fits), fits)) == b"STORED\r\n"


def test_gets_and_cas() -> None:
    """gets shows the CAS unique; cas with it stores, with a stale one says EXISTS."""
    conn = make()
    talk(conn, b"set k 0 0 1\r\na\r\n")
    line = talk(conn, b"gets k\r\n").split(b"\r\n")[0]
    unique = int(line.split()[-1])
    assert talk(conn, b"cas k 0 0 1 %d\r\nb\r\n" % unique) == b"STORED\r\n"
    assert talk(conn, b"cas k 0 0 1 %d\r\nc\r\n" % unique) == b"EXISTS\r\n"
    assert talk(conn, b"cas missing 0 0 1 1\r\nc\r\n") == b"NOT_FOUND\r\n"
    stats = dict(l.split(" ")[1:] for l in talk(conn, b"stats\r\n").decode().splitlines()
                 if l.startswith("STAT "))
    assert (stats["cas_hits"], stats["cas_badval"], stats["cas_misses"]) == ("1", "1", "1")


def test_expiry_and_flush_all_follow_the_clock() -> None:
    """Relative and absolute expiry, negative exptime, and flush_all with a delay."""
    clock = Clock()
    conn = make(clock=clock)
    absolute = int(clock.now) + 100
    talk(conn, b"set rel 0 10 1\r\na\r\nset abs 0 %d 1\r\nb\r\nset gone 0 -1 1\r\nc\r\n" % absolute)
    assert talk(conn, b"get gone\r\n") == b"END\r\n"
    clock.now += 11
    assert talk(conn, b"get rel abs\r\n") == b"VALUE abs 0 1\r\nb\r\nEND\r\n"
    clock.now += 90
    assert talk(conn, b"get abs\r\n") == b"END\r\n"
    talk(conn, b"set k 0 0 1\r\nk\r\n")
    assert talk(conn, b"flush_all 5\r\n") == b"OK\r\n"
    assert talk(conn, b"get k\r\n") == b"VALUE k 0 1\r\nk\r\nEND\r\n"
    clock.now += 6
    assert talk(conn, b"get k\r\n") == b"END\r\n"
    talk(conn, b"set k 0 0 1\r\nn\r\n")
    assert talk(conn, b"get k\r\n") == b"VALUE k 0 1\r\nn\r\nEND\r\n"
    # Taking effect now: what was stored before is gone, a store in the same tick is not.
    assert talk(conn, b"flush_all\r\nget k\r\nset j 0 0 1\r\nj\r\nget j\r\n") == (
        b"OK\r\nEND\r\nSTORED\r\nVALUE j 0 1\r\nj\r\nEND\r\n")
    stats = talk(conn, b"stats\r\n").decode()
    assert "STAT get_expired 3\r\n" in stats and "STAT get_flushed 2\r\n" in stats
    assert "STAT cmd_flush 2\r\n" in stats and "STAT curr_items 1\r\n" in stats


def test_flush_all_can_be_disabled() -> None:
    """With -F, flush_all is refused and nothing is flushed."""
    conn = make(("-F",))
    talk(conn, b"set k 0 0 1\r\nk\r\n")
    assert talk(conn, b"flush_all\r\n") == b"CLIENT_ERROR flush_all not allowed\r\n"
    assert talk(conn, b"get k\r\n").startswith(b"VALUE k")


def test_memory_limit_evicts_least_recently_used() -> None:
    """With -m 2, old unread items are evicted to make room; -M refuses instead."""
    conn = make(("-m", "2"))
    value = b"v" * 400_000
    for key in (b"a", b"b", b"c", b"d", b"e", b"f", b"g"):
        assert talk(conn, b"set %s 0 0 %d\r\n%s\r\n" % (key, len(value), value)) == b"STORED\r\n"
    assert talk(conn, b"get a\r\n") == b"END\r\n"
    assert talk(conn, b"get c\r\n").startswith(b"VALUE c")
    stats = talk(conn, b"stats\r\n").decode()
    assert "STAT evictions 2\r\n" in stats and "STAT limit_maxbytes 2097152\r\n" in stats
    assert "STAT curr_items 5\r\n" in stats
    strict = make(("-m", "2", "-M"))
    replies = [talk(strict, b"set %d 0 0 %d\r\n%s\r\n" % (i, len(value), value)) for i in range(6)]
    assert replies[-2:] == [b"STORED\r\n", b"SERVER_ERROR out of memory storing object\r\n"]


def test_a_long_line_that_is_not_a_get_closes_the_connection() -> None:
    """Over 1 KB without a newline is only allowed for a multi-get."""
    conn = make()
    talk(conn, b"set " + b"x" * 2000)
    assert conn.closed
    get = make()
    talk(get, b"get " + b"k " * 1000)
    assert not get.closed
    assert talk(get, b"\r\n") == b"END\r\n"


def test_quit_closes_and_stats_count_the_session() -> None:
    """`quit` closes; the general stats carry memcached's names in its order."""
    conn = make(("-o", "modern"))
    talk(conn, b"set k 0 0 1\r\nk\r\nget k\r\nget nope\r\n")
    names = [line.split(" ")[1] for line in talk(conn, b"stats\r\n").decode().splitlines()
             if line.startswith("STAT ")]
    assert names[:6] == ["pid", "uptime", "time", "version", "libevent", "pointer_size"]
    assert names.index("cmd_get") < names.index("get_hits") < names.index("curr_items")
    assert "rejected_connections" in names and "slabs_moved" in names
    assert talk(conn, b"stats reset\r\n") == b"RESET\r\n"
    assert "STAT cmd_get 0\r\n" in talk(conn, b"stats\r\n").decode()
    assert talk(conn, b"quit\r\nversion\r\n") == b""
    assert conn.closed


def test_very_verbose_traces_commands_and_replies() -> None:
    """-vv writes memcached's `<fd command` / `>fd reply` lines; -v writes none."""
    trace: list[str] = []
    conn = make(("-vv",), trace=trace)
    talk(conn, b"set k 0 0 1 noreply\r\nk\r\nget k\r\n")
    assert trace == ["<27 new auto-negotiating client connection", "<27 set k 0 0 1 noreply",
                     ">27 NOREPLY STORED", "<27 get k", ">27 sending key k", ">27 END"]
    quiet: list[str] = []
    talk(make(("-v",), trace=quiet), b"get k\r\n")
    assert quiet == []


@pytest.mark.parametrize("argv,field,value", [
    pytest.param(["-m=64", "-o", "modern", "-v"], "max_bytes", 0, id="sample-m-equals-is-zero"),
    pytest.param(["-m", "64"], "max_bytes", 64 * 1024 * 1024, id="m-64"),
    pytest.param(["-p", "11311"], "udp_port", 11311, id="udp-follows-tcp"),
    pytest.param(["-vv"], "verbose", 2, id="vv"),
    pytest.param(["-c", "10", "-l", "127.0.0.1"], "listen", "127.0.0.1", id="listen"),
    pytest.param(["-o", "modern"], "slab_chunk_size_max", 524288, id="modern-chunk-max"),
    pytest.param(["-v", "stray", "-vv"], "verbose", 1, id="stops-at-first-non-option"),
])
def test_options(argv: list[str], field: str, value: object) -> None:
    """The command line is read as memcached 1.4.36 (getopt + atoi) reads it."""
    assert getattr(options.parse(argv), field) == value


@pytest.mark.parametrize("argv,lines", [
    pytest.param(["-z"], ["memcached: unrecognized option: z", 'Illegal argument "?"'],
                 id="unknown-flag"),
    pytest.param(["-p"], ["memcached: option requires an argument: p", 'Illegal argument "?"'],
                 id="missing-argument"),
    pytest.param(["-o", "turbo"], ['Illegal suboption "turbo"'], id="unknown-suboption"),
    pytest.param(["-c", "0"], ["Maximum connections must be greater than 0"], id="zero-conns"),
])
def test_bad_command_lines(argv: list[str], lines: list[str]) -> None:
    """Bad flags are refused with memcached's lines and exit status 1."""
    with pytest.raises(options.UsageError) as info:
        options.parse(argv)
    assert (info.value.lines, info.value.code) == (lines, 1)


def test_slab_classes_at_very_verbose() -> None:
    """-vv's startup lines are memcached's slab table (96-byte first class, 1.25 growth)."""
    classes = slab_classes(524288)
    assert classes[:3] == [(1, 96, 10922), (2, 120, 8738), (3, 152, 6898)]
    assert classes[-1] == (39, 524288, 2)
    engine = MemcachedEngine(options.parse(["-o", "modern", "-vv"]), clock=Clock(), pid=1)
    lines = engine.startup_lines()
    assert lines[0] == "slab class   1: chunk size        96 perslab   10922"
    assert lines[-1] == "<26 server listening (auto-negotiate)"
    assert MemcachedEngine(options.parse(["-v"]), clock=Clock(), pid=1).startup_lines() == []
