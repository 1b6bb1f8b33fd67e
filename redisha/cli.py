"""The `redisha` command: the composition root.

It is the one place that knows every package: it builds the embedded cluster, registers
images, and hands a client to whatever the user asked for. Subcommands appear here only
once they exist; the dashboard (`redisha` with no arguments) arrives with its issue.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Sequence

from redisha import __version__


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="redisha",
        description="A Redis high-availability sandbox on an embedded Kubernetes-shaped cluster.",
    )
    parser.add_argument("--version", action="version", version=f"redisha {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    bench = commands.add_parser("bench", help="measure the engine and print figures")
    targets = bench.add_subparsers(dest="target", metavar="TARGET", required=True)
    store = targets.add_parser("store", help="store writes/s and watch delivery latency")
    store.add_argument("--json", action="store_true", help="print one JSON object")
    store.add_argument("--writes", type=int, default=20_000,
                       help="writes per measured phase (default 20000)")
    store.add_argument("--state", metavar="PATH",
                       help="also measure with SQLite persistence at PATH")
    engine = targets.add_parser("engine", help="Deployments to Running pods at scale")
    engine.add_argument("--nodes", type=_positive, default=1000, help="nodes (default 1000)")
    engine.add_argument("--pods", type=_positive, default=10_000,
                        help="pause pods, as Deployments of 100 (default 10000)")
    engine.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "bench" and args.target == "store":
        from redisha.bench import store as store_bench

        figures = asyncio.run(store_bench.run(writes=args.writes, state_path=args.state))
        if args.json:
            print(json.dumps(figures.to_json()))
        else:
            print(figures.to_text())
        return 0
    if args.command == "bench" and args.target == "engine":
        from redisha.bench import engine as engine_bench

        if args.pods % engine_bench.REPLICAS_PER_DEPLOYMENT:
            parser.error(f"--pods must be a multiple of {engine_bench.REPLICAS_PER_DEPLOYMENT}")
        result = asyncio.run(engine_bench.run(nodes=args.nodes, pods=args.pods))
        print(json.dumps(result.to_json()) if args.json else result.to_text())
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
