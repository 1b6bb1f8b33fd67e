"""memcached's command line, parsed as memcached 1.4.36 parses it.

Options go through POSIX getopt with memcached's option string, and numbers through C's
`atoi`, so the operator-sdk sample's `memcached -m=64 -o modern -v` means what it meant to
the real binary: getopt hands `-m` the argument `=64`, `atoi` reads 0, and 1.4.36 treats a
memory limit of 0 as no limit at all (`stats` shows `limit_maxbytes 0`). getopt stops at the
first argument that is not an option, as Alpine's musl getopt does.

Accepted and without effect here: `-d`, `-r`, `-u`, `-k`, `-L`, `-P`, `-a`, `-s`, `-f`,
`-n`, `-t` (reported as `threads`), `-D`, `-R`, `-b`, `-B`, `-S`, `-X`, and UDP (`-U`):
this server speaks the text protocol over TCP only. It also does not refuse to run as root.
"""

from __future__ import annotations

import getopt
from dataclasses import dataclass

VERSION = "1.4.36"
EX_USAGE = 64

OPTSTRING = "a:Ap:s:U:m:Mc:khiVrvdl:u:P:f:n:t:D:LR:Cb:B:I:SFXo:"
"""memcached 1.4.36's getopt string."""

SUBOPTIONS = ("maxconns_fast", "hashpower", "slab_reassign", "slab_automove",
              "tail_repair_time", "hash_algorithm", "lru_crawler", "lru_crawler_sleep",
              "lru_crawler_tocrawl", "lru_maintainer", "hot_lru_pct", "warm_lru_pct",
              "hot_max_age", "warm_max_factor", "temporary_ttl", "idle_timeout",
              "watcher_logbuf_size", "worker_logbuf_size", "slab_sizes", "slab_chunk_max",
              "track_sizes", "no_inline_ascii_resp", "modern")
"""The `-o` names 1.4.36 knows."""


class UsageError(Exception):
    """A command line memcached refuses: `lines` go to stderr, then it exits with `code`."""

    def __init__(self, lines: list[str], code: int = 1) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.code = code


class EarlyExit(Exception):
    """`-h`, `-V`, `-i`: print `lines` to stdout and exit 0."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class MemcachedOptions:
    """What the command line asked for."""

    port: int = 11211
    udp_port: int = 11211
    listen: str | None = None
    """`-l`: the interface (None: all); the fake runtime always listens on the pod's IP."""
    max_bytes: int = 64 * 1024 * 1024
    max_connections: int = 1024
    verbose: int = 0
    evict_to_free: bool = True
    item_size_max: int = 1024 * 1024
    use_cas: bool = True
    flush_enabled: bool = True
    shutdown_command: bool = False
    threads: int = 4
    slab_chunk_size_max: int = 1024 * 1024
    maxconns_fast: bool = False
    slab_reassign: bool = False
    lru_crawler: bool = False
    lru_maintainer: bool = False
    inline_ascii_response: bool = True
    hash_algorithm: str = "jenkins"


def atoi(text: str) -> int:
    """C's atoi: optional blanks and sign, then digits up to the first non-digit; else 0."""
    s = text.lstrip(" \t\n\v\f\r")
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    digits = ""
    for ch in s:
        if not ch.isdigit():
            break
        digits += ch
    return sign * int(digits) if digits else 0


def usage() -> list[str]:
    """The start of `memcached -h` (the options this server honours)."""
    return [
        f"memcached {VERSION}",
        "-p <num>      TCP port number to listen on (default: 11211)",
        "-U <num>      UDP port number to listen on (default: 11211, 0 is off)",
        "-l <addr>     interface to listen on (default: INADDR_ANY, all addresses)",
        "-m <num>      max memory to use for items in megabytes (default: 64 MB)",
        "-M            return error on memory exhausted (rather than removing items)",
        "-c <num>      max simultaneous connections (default: 1024)",
        "-v            verbose (print errors/warnings while in event loop)",
        "-vv           very verbose (also print client commands/reponses)",
        "-h            print this help and exit",
        "-V            print version and exit",
        "-t <num>      number of threads to use (default: 4)",
        "-C            Disable use of CAS",
        "-I            Override the size of each slab page. Adjusts max item size",
        "              (default: 1mb, min: 1k, max: 128m)",
        "-F            Disable flush_all command",
        "-o            Comma separated list of extended or experimental options",
        "              - modern: Enables 'modern' defaults. Options that will be default in future.",
    ]


def _item_size(text: str) -> int:
    unit = text[-1:]
    if unit in ("k", "K", "m", "M"):
        size = atoi(text[:-1])
        return size * (1024 if unit in ("k", "K") else 1024 * 1024)
    return atoi(text)


def parse(argv: list[str]) -> MemcachedOptions:
    """Options from `argv` (without the program name); raises UsageError or EarlyExit."""
    try:
        pairs, _rest = getopt.getopt(argv, OPTSTRING)
    except getopt.GetoptError as exc:
        if "requires argument" in exc.msg:
            first = f"memcached: option requires an argument: {exc.opt}"
        else:
            first = f"memcached: unrecognized option: {exc.opt}"
        raise UsageError([first, 'Illegal argument "?"']) from None
    values = MemcachedOptions().__dict__.copy()
    tcp_given = udp_given = False
    chunk_max_given = False
    for flag, arg in pairs:
        letter = flag[1]
        if letter == "h":
            raise EarlyExit(usage())
        if letter == "V":
            raise EarlyExit([f"memcached {VERSION}"])
        if letter == "i":
            raise EarlyExit([f"memcached {VERSION}", "(license text omitted)"])
        if letter == "p":
            values["port"], tcp_given = atoi(arg), True
        elif letter == "U":
            values["udp_port"], udp_given = atoi(arg), True
        elif letter == "l":
            values["listen"] = arg
        elif letter == "m":
            values["max_bytes"] = max(atoi(arg), 0) * 1024 * 1024
        elif letter == "M":
            values["evict_to_free"] = False
        elif letter == "c":
            values["max_connections"] = atoi(arg)
            if values["max_connections"] <= 0:
                raise UsageError(["Maximum connections must be greater than 0"])
        elif letter == "v":
            values["verbose"] += 1
        elif letter == "t":
            values["threads"] = atoi(arg)
            if values["threads"] <= 0:
                raise UsageError(["Number of threads must be greater than 0"])
        elif letter == "C":
            values["use_cas"] = False
        elif letter == "F":
            values["flush_enabled"] = False
        elif letter == "A":
            values["shutdown_command"] = True
        elif letter == "I":
            values["item_size_max"] = size = _item_size(arg)
            if size < 1024:
                raise UsageError(["Item max size cannot be less than 1024 bytes."])
            if size > values["max_bytes"] // 4:
                raise UsageError(["Cannot set item size limit higher than 1/4 of memory max."])
            if size > 1024 * 1024 * 1024:
                raise UsageError(["Cannot set item size limit higher than a gigabyte."])
            if size > 1024 * 1024 and not chunk_max_given:
                values["slab_chunk_size_max"] = 524288
        elif letter == "o":
            chunk_max_given = _suboptions(arg, values) or chunk_max_given
    if tcp_given and not udp_given:
        values["udp_port"] = values["port"]
    elif udp_given and not tcp_given:
        values["port"] = values["udp_port"]
    if values["slab_chunk_size_max"] > values["item_size_max"]:
        line = (f"slab_chunk_max (bytes: {values['slab_chunk_size_max']}) cannot be larger "
                f"than -I (item_size_max {values['item_size_max']})")
        raise UsageError([line], EX_USAGE)
    return MemcachedOptions(**values)


def _suboptions(arg: str, values: dict[str, object]) -> bool:
    """Apply `-o a,b=c`; True when slab_chunk_max was set explicitly."""
    chunk_max_given = False
    for part in arg.split(","):
        if not part:
            continue
        name, _, value = part.partition("=")
        if name not in SUBOPTIONS:
            raise UsageError([f'Illegal suboption "{part}"'])
        if name == "modern":
            if not chunk_max_given:
                values["slab_chunk_size_max"] = 524288
            values.update(slab_reassign=True, maxconns_fast=True, inline_ascii_response=False,
                          hash_algorithm="murmur3", lru_crawler=True, lru_maintainer=True)
        elif name == "maxconns_fast":
            values["maxconns_fast"] = True
        elif name == "slab_reassign":
            values["slab_reassign"] = True
        elif name == "lru_crawler":
            values["lru_crawler"] = True
        elif name == "lru_maintainer":
            values["lru_maintainer"] = True
        elif name == "no_inline_ascii_resp":
            values["inline_ascii_response"] = False
        elif name == "hash_algorithm":
            if value not in ("jenkins", "murmur3"):
                raise UsageError(["Unknown hash_algorithm option (jenkins, murmur3)"])
            values["hash_algorithm"] = value
        elif name == "slab_chunk_max":
            values["slab_chunk_size_max"] = atoi(value)
            chunk_max_given = True
    return chunk_max_given
