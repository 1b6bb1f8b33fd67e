"""Command-line flags parsed the way kubectl's pflag library parses them.

argparse differs from pflag in ways users notice: pflag accepts `-n=ns`, `-nns`, grouped
booleans (`-Aw`), `--flag=false`, flags after positional arguments, and a `--` that ends
flags; its error texts (`unknown flag: --foo`, `flag needs an argument: 'n' in -n`) are the
ones kubectl users search for. This module does exactly that much and raises `FlagError`
with pflag's wording; it never prints and never exits.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any, Sequence


class FlagKind(str, enum.Enum):
    """The value types our commands use."""

    BOOL = "bool"
    STRING = "string"
    INT = "int"
    STRINGS = "stringArray"
    """Repeatable; every occurrence is kept (`-f a.yaml -f b.yaml`, `--env A=1 --env B=2`)."""
    DURATION = "duration"
    """A Go duration (`20s`, `1m30s`, `500ms`), held as seconds (float)."""


@dataclass(frozen=True)
class Flag:
    """One flag a command accepts."""

    name: str
    kind: FlagKind = FlagKind.STRING
    shorthand: str = ""
    default: Any = None

    @property
    def display(self) -> str:
        """How pflag names the flag in errors: `-n, --namespace` or `--replicas`."""
        return f"-{self.shorthand}, --{self.name}" if self.shorthand else f"--{self.name}"


class FlagError(ValueError):
    """The command line is malformed; `str()` is pflag's message."""


@dataclass
class ParsedFlags:
    """Flag values (by long name), positional arguments, and where `--` was."""

    values: dict[str, Any]
    args: list[str]
    dash_at: int = -1
    """Index into `args` of the first argument after `--`, or -1 when there was none."""
    changed: set[str] = field(default_factory=set)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def given(self, name: str) -> bool:
        """True when the user set the flag (even to its default)."""
        return name in self.changed


_BOOL_WORDS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
               "0": False, "f": False, "F": False, "FALSE": False, "false": False,
               "False": False}


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3,
                   "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string (`time.ParseDuration`), or ValueError with Go's text."""
    body = text[1:] if text[:1] in "+-" else text
    sign = -1.0 if text.startswith("-") else 1.0
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    total, at = 0.0, 0
    while at < len(body):
        found = _DURATION_PART.match(body, at)
        if found is None:
            if re.fullmatch(r"\d+(?:\.\d*)?", body[at:]):
                raise ValueError(f'time: missing unit in duration "{text}"')
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(found.group(1)) * _DURATION_UNITS[found.group(2)]
        at = found.end()
    return sign * total


def _convert(flag: Flag, text: str) -> Any:
    if flag.kind is FlagKind.DURATION:
        try:
            return parse_go_duration(text)
        except ValueError as e:
            raise FlagError(f'invalid argument "{text}" for "{flag.display}" flag: {e}') \
                from None
    if flag.kind is FlagKind.BOOL:
        if text not in _BOOL_WORDS:
            raise FlagError(f'invalid argument "{text}" for "{flag.display}" flag: '
                            f'strconv.ParseBool: parsing "{text}": invalid syntax')
        return _BOOL_WORDS[text]
    if flag.kind is FlagKind.INT:
        try:
            if not text.strip() or text != text.strip() or "_" in text:
                raise ValueError
            return int(text, 0) if text.lower().startswith(("0x", "0o", "0b")) else int(text)
        except ValueError:
            raise FlagError(f'invalid argument "{text}" for "{flag.display}" flag: '
                            f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
    return text


def parse_flags(argv: Sequence[str], flags: Sequence[Flag]) -> ParsedFlags:
    """Split `argv` into flag values and positional arguments, or raise `FlagError`."""
    by_name = {f.name: f for f in flags}
    by_short = {f.shorthand: f for f in flags if f.shorthand}
    values: dict[str, Any] = {f.name: ([] if f.kind is FlagKind.STRINGS else f.default)
                              for f in flags}
    changed: set[str] = set()
    args: list[str] = []
    dash_at = -1

    def store(flag: Flag, text: str) -> None:
        value = _convert(flag, text)
        if flag.kind is FlagKind.STRINGS:
            values[flag.name].append(value)
        else:
            values[flag.name] = value
        changed.add(flag.name)

    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if token == "--":
            dash_at = len(args)
            args.extend(argv[i:])
            break
        if token.startswith("--"):
            name, eq, inline = token[2:].partition("=")
            flag = by_name.get(name)
            if flag is None:
                raise FlagError(f"unknown flag: --{name}")
            if eq:
                store(flag, inline)
            elif flag.kind is FlagKind.BOOL:
                store(flag, "true")
            elif i < len(argv):
                store(flag, argv[i])
                i += 1
            else:
                raise FlagError(f"flag needs an argument: --{name}")
            continue
        if token.startswith("-") and token != "-":
            shorts = token[1:]
            j = 0
            while j < len(shorts):
                c = shorts[j]
                flag = by_short.get(c)
                if flag is None:
                    raise FlagError(f"unknown shorthand flag: '{c}' in -{shorts}")
                rest = shorts[j + 1:]
                if rest.startswith("="):
                    store(flag, rest[1:])
                    break
                if flag.kind is FlagKind.BOOL:
                    store(flag, "true")
                    j += 1
                    continue
                if rest:
                    store(flag, rest)
                elif i < len(argv):
                    store(flag, argv[i])
                    i += 1
                else:
                    raise FlagError(f"flag needs an argument: '{c}' in -{shorts}")
                break
            continue
        args.append(token)
    return ParsedFlags(values, args, dash_at, changed)
