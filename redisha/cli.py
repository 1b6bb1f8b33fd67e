"""The `redisha` command: the composition root.

It is the one place that knows every package: it builds the embedded cluster, registers
images, and hands a client to whatever the user asked for. Subcommands appear here only
once they exist; `redisha` with no arguments is `redisha dashboard`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, Sequence, TextIO

from redisha import __version__

if TYPE_CHECKING:
    from redisha.remote import RemoteTarget


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
    redis = targets.add_parser(
        "redis", help="redis-benchmark SET/GET: fakeredis, fake and real pods, direct and "
                      "through their Service")
    redis.add_argument("--json", action="store_true", help="print one JSON object")
    redis.add_argument("--requests", type=_positive, default=100_000,
                       help="redis-benchmark -n: requests per command (default 100000)")
    redis.add_argument("--pipeline", type=_positive, default=16,
                       help="redis-benchmark -P: commands per round trip (default 16)")
    redis.add_argument("--backend", choices=("fake", "real", "both"), default="both",
                       help="which pods to measure (default both)")
    _add_tui_bench(targets)
    _add_failover_bench(targets)

    tutorial = commands.add_parser(
        "tutorial", help="replay the Kubernetes tutorial's steps 2-6 and check every outcome")
    tutorial.add_argument("--backend", choices=("fake", "real"), default="fake",
                          help="fake: in-process Redis pods (default); real: redis-server "
                               "processes")
    _add_dashboard(commands)
    _add_scenario(commands)
    _add_serve(commands)
    _add_operator(commands)
    commands.add_parser("kubectl", help="kubectl's commands against a running `redisha serve`",
                        add_help=False)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
    return value


# -- the dashboard (`redisha`, `redisha dashboard`) and `bench tui` --------------------------


def _add_dashboard(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    # Literal defaults (the same as redisha.demo's) keep textual out of every other command.
    dash = commands.add_parser(
        "dashboard", help="the cluster with a Redis demo, in a k9s-like dashboard (default)")
    dash.add_argument("--backend", choices=("fake", "real"), default="fake",
                      help="fake: in-process Redis pods (default); real: redis-server processes")
    dash.add_argument("--nodes", type=_positive, default=3, help="nodes (default 3)")
    dash.add_argument("--redis", type=_positive, default=3,
                      help="Redis pods of the demo's RedisFailover (default 3)")
    dash.add_argument("--sentinels", type=_positive, default=3,
                      help="sentinels of the demo's RedisFailover (default 3)")
    dash.add_argument("--down-after-ms", type=_positive, default=5000,
                      help="sentinels' down-after-milliseconds: how long a silent primary "
                           "(hung, partitioned) is waited for before a failover (default 5000)")
    dash.add_argument("--state", metavar="PATH", help="keep the cluster's state in SQLite at PATH")
    dash.add_argument("--readonly", action="store_true",
                      help="no kill, delete, faults or writing commands")
    dash.add_argument("--no-demo", action="store_true", help="start an empty cluster")
    dash.add_argument("--headless", action="store_true",
                      help="run without a terminal (needs --script or --demo)")
    dash.add_argument("--script", metavar="FILE", help="YAML steps to run headless")
    dash.add_argument("--demo", choices=("kill-primary",),
                      help="a built-in headless scenario")
    dash.add_argument("--screenshot", metavar="DIR", help="save SVG screenshots to DIR")
    dash.add_argument("--kubeconfig", metavar="PATH",
                      help="attach to the cluster this kubeconfig names (`redisha serve` "
                           "writes ~/.redisha/kubeconfig) instead of starting one")
    dash.add_argument("--server", metavar="URL",
                      help="attach to the API server at URL (credentials from --kubeconfig, "
                           "default ~/.redisha/kubeconfig)")


def _add_tui_bench(targets: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    tui = targets.add_parser("tui", help="dashboard delays: status -> screen, key -> frame")
    tui.add_argument("--pods", type=_positive, default=1000, help="pods (default 1000)")
    tui.add_argument("--samples", type=_positive, default=100,
                     help="status changes and key presses measured (default 100)")
    tui.add_argument("--json", action="store_true", help="print one JSON object")


def _run_dashboard(parser: argparse.ArgumentParser, args: argparse.Namespace | None) -> int:
    from redisha import demo
    from redisha.backends import Backend

    if args is None:
        return asyncio.run(demo.run_dashboard(demo.DashboardRun()))
    if args.headless and not (args.script or args.demo):
        parser.error("--headless needs --script FILE or --demo kill-primary")
    if (args.script or args.demo or args.screenshot) and not args.headless:
        parser.error("--script, --demo and --screenshot run headless: add --headless")
    if args.script and args.demo:
        parser.error("--script and --demo cannot be combined")
    target = _remote_target(parser, args)
    if target is not None:
        embedded_only = [flag for flag, given in (
            ("--backend", args.backend != "fake"), ("--nodes", args.nodes != 3),
            ("--redis", args.redis != 3), ("--sentinels", args.sentinels != 3),
            ("--down-after-ms", args.down_after_ms != 5000), ("--state", args.state),
            ("--no-demo", args.no_demo)) if given]
        if embedded_only:
            parser.error(f"{embedded_only[0]} shapes the embedded cluster; it cannot apply "
                         "to one attached with --kubeconfig/--server")
    options = demo.DemoOptions(
        backend=Backend(args.backend), nodes=args.nodes, redis=args.redis,
        sentinels=args.sentinels, down_after_ms=args.down_after_ms, state=args.state,
        demo=not args.no_demo)
    run = demo.DashboardRun(
        options, readonly=args.readonly, headless=args.headless, script=args.script,
        demo=demo.DemoScenario(args.demo) if args.demo else None,
        screenshot_dir=args.screenshot, remote=target)
    return asyncio.run(demo.run_dashboard(run))


def _remote_target(parser: argparse.ArgumentParser,
                   args: argparse.Namespace) -> "RemoteTarget | None":
    """`--kubeconfig PATH` / `--server URL`: the cluster to attach to (None: embedded)."""
    from pathlib import Path

    from redisha.remote import RemoteTarget, default_kubeconfig

    if not (args.kubeconfig or args.server):
        return None
    if args.server and not args.server.startswith(("https://", "http://")):
        parser.error(f"--server {args.server}: not an http(s) URL")
    path = Path(args.kubeconfig).expanduser() if args.kubeconfig else default_kubeconfig()
    return RemoteTarget(path, args.server)


# -- `redisha operator` and `redisha kubectl` --------------------------------------------------

_OPERATOR_HELP = "the RedisFailover operator alone, against a running API server"


def _add_operator(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    operator = commands.add_parser("operator", help=_OPERATOR_HELP)
    operator.add_argument("--kubeconfig", metavar="PATH",
                          help="the cluster's kubeconfig (default ~/.redisha/kubeconfig)")
    operator.add_argument("--server", metavar="URL",
                          help="the API server's URL (credentials from --kubeconfig)")


def _run_operator(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from redisha import remote

    if not (args.kubeconfig or args.server):
        args.kubeconfig = str(remote.default_kubeconfig())
    target = _remote_target(parser, args)
    assert target is not None

    async def run() -> int:
        async with remote.connect(target) as client:
            return await remote.run_operator(client)
    try:
        return asyncio.run(run())
    except remote.RemoteError as e:
        print(f"redisha operator: {e}", file=sys.stderr)
        return 1


_KUBECTL_FLAGS = ("--kubeconfig", "--server", "-s")


def _kubectl_main(argv: list[str]) -> int:
    """`redisha kubectl [--kubeconfig PATH] [--server URL] ARGS...`: the built-in command
    layer against a running server, for machines without kubectl."""
    from pathlib import Path

    from cluster.kubectl import Kubectl
    from redisha import remote

    rest: list[str] = []
    given: dict[str, str] = {}
    words = iter(argv)
    for word in words:
        flag, eq, value = word.partition("=")
        if flag in _KUBECTL_FLAGS:
            if not eq:
                value = next(words, "")
            if not value:
                print(f"redisha kubectl: error: flag needs an argument: {flag}",
                      file=sys.stderr)
                return 2
            given["server" if flag in ("--server", "-s") else "kubeconfig"] = value
        else:
            rest.append(word)
    path = (Path(given["kubeconfig"]).expanduser() if "kubeconfig" in given
            else remote.default_kubeconfig())
    target = remote.RemoteTarget(path, given.get("server"))

    async def run() -> int:
        async with remote.connect(target) as client:
            result = await Kubectl(client, namespace=remote.namespace_of(target)).run(
                rest, out_text=_writer(sys.stdout), err_text=_writer(sys.stderr))
            return result.exit_code
    try:
        return asyncio.run(run())
    except remote.RemoteError as e:
        print(f"redisha kubectl: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _writer(stream: TextIO) -> Callable[[str], None]:
    """Write kubectl's output as it comes, byte for byte (no newline added)."""
    def write(text: str) -> None:
        stream.write(text)
        stream.flush()
    return write


# -- `redisha serve` ---------------------------------------------------------------------------


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port number (0-65535; 0: any "
                                         f"free port)")
    return value


_SERVE_HELP = "the cluster, headless, serving the Kubernetes API over HTTPS for kubectl"


def _add_serve(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    _serve_arguments(commands.add_parser("serve", help=_SERVE_HELP))


def _serve_arguments(serve: argparse.ArgumentParser) -> None:
    # Literal defaults (redisha.serve's) keep aiohttp and the cluster out of `--help`.
    serve.add_argument("--listen", metavar="HOST", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; a non-loopback one "
                            "needs --allow-remote)")
    serve.add_argument("--port", type=_port, default=6443, help="port (default 6443)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="allow a --listen address reachable from other machines")
    serve.add_argument("--kubeconfig", metavar="PATH",
                       help="write the kubeconfig here (default STATE_DIR/kubeconfig); an "
                            "existing one keeps its other contexts")
    serve.add_argument("--state-dir", metavar="PATH", default="~/.redisha",
                       help="certificate, key and token, made once (default ~/.redisha)")
    serve.add_argument("--backend", choices=("fake", "real"), default="fake",
                       help="fake: in-process Redis pods (default); real: redis-server "
                            "processes")
    serve.add_argument("--nodes", type=_positive, default=3, help="nodes (default 3)")
    serve.add_argument("--no-demo", action="store_true",
                       help="start an empty cluster (no RedisFailover demo, no operator)")
    serve.add_argument("--no-operator", action="store_true",
                       help="the demo without its operator (run `redisha operator` against "
                            "this server instead)")


def _serve_main(words: list[str]) -> int:
    """`redisha serve ...` (its own parser, so that bad input is one line)."""
    parser = _OneLineParser(prog="redisha serve", description=_SERVE_HELP + ".")
    _serve_arguments(parser)
    return _run_serve(parser.parse_args(words[1:]))


def _run_serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from redisha import serve
    from redisha.backends import Backend

    options = serve.ServeOptions(
        listen=args.listen, port=args.port, allow_remote=args.allow_remote,
        kubeconfig=Path(args.kubeconfig).expanduser() if args.kubeconfig else None,
        state_dir=Path(args.state_dir).expanduser(), backend=Backend(args.backend),
        nodes=args.nodes, demo=not args.no_demo, operator=not args.no_operator)
    return serve.run_serve(options)


# -- `redisha scenario NAME` and `redisha bench failover` -----------------------------------

_SCENARIO_NAMES = ("kill-primary", "crash-primary", "hang-primary", "kill-node",
                   "partition-primary", "kill-all", "rolling-restart", "kill-sentinel",
                   "kill-operator")
"""Literal, as redisha.scenario.faults.ScenarioName spells them: `redisha --help` does
not import the scenario machinery."""


class _OneLineParser(argparse.ArgumentParser):
    """Bad input is one line on stderr (`redisha scenario: error: ...`) and exit 2."""

    def error(self, message: str) -> "NoReturn":
        self.exit(2, f"{self.prog}: error: {message}\n")


def _scenario_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", choices=_SCENARIO_NAMES,
                        help="the fault: " + ", ".join(_SCENARIO_NAMES))
    _failover_arguments(parser)
    parser.add_argument("--sentinel", choices=("builtin", "redis"), default="builtin",
                        help="builtin: redisha's sentinel (default); redis: this machine's "
                             "redis-sentinel")
    parser.add_argument("--client", choices=("service", "sentinel"), default="service",
                        help="write through the primary Service (default) or redis-py's "
                             "Sentinel client")
    parser.add_argument("--trials", type=_positive, default=1, help="trials (default 1)")


def _failover_arguments(parser: argparse.ArgumentParser, *, client: bool = False) -> None:
    parser.add_argument("--backend", choices=("fake", "real"), default="fake",
                        help="fake: in-process Redis pods (default); real: redis-server "
                             "processes")
    parser.add_argument("--writer", choices=("async", "wait"), default="async",
                        help="async: a write counts when the primary says OK (default); "
                             "wait: only when WAIT 1 confirms a replica has it")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--down-after-ms", type=_positive, default=1000,
                        help="sentinels' down-after-milliseconds (default 1000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    if client:
        parser.add_argument("--client", choices=("service", "sentinel"), default="sentinel",
                            help="how the writer finds the primary (default sentinel)")
        parser.add_argument("--trials", type=_positive, default=5,
                            help="trials of each scenario with each sentinel (default 5)")


def _add_scenario(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    _scenario_arguments(commands.add_parser(
        "scenario", help="a fault scenario with a writer and a lost-write checker"))


def _add_failover_bench(targets: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    _failover_arguments(targets.add_parser(
        "failover", help="kill-primary and hang-primary: built-in vs Redis Sentinel"),
        client=True)


def _scenario_main(words: list[str]) -> int:
    """`redisha scenario ...` and `redisha bench failover ...` (their own parsers, so that
    bad input is one line)."""
    if words[0] == "scenario":
        parser = _OneLineParser(prog="redisha scenario",
                                description="Run a fault scenario and check its invariants.")
        _scenario_arguments(parser)
        return _run_scenario(parser.parse_args(words[1:]))
    parser = _OneLineParser(prog="redisha bench failover",
                            description="kill-primary and hang-primary with the built-in "
                                        "and Redis' sentinel, alternately.")
    _failover_arguments(parser, client=True)
    return _run_failover_bench(parser.parse_args(words[2:]))


def _run_scenario(args: argparse.Namespace) -> int:
    from redisha.backends import Backend, BackendUnavailable
    from redisha.scenario import report, runner
    from redisha.scenario.faults import ScenarioName
    from redisha.scenario.writer import ClientMode, WriterMode

    options = runner.ScenarioOptions(
        ScenarioName(args.name), backend=Backend(args.backend),
        sentinel=runner.SentinelChoice(args.sentinel), writer=WriterMode(args.writer),
        client=ClientMode(args.client), trials=args.trials, seed=args.seed,
        down_after_ms=args.down_after_ms)
    try:
        runner.check_available(options)
    except (BackendUnavailable, runner.ScenarioUnavailable) as exc:
        print(f"redisha scenario: {exc}", file=sys.stderr)
        return 1
    if not args.json:
        print(report.header(options))
        print(report.table_header(), flush=True)

    def streamed(trial: int, verdict: "runner.TrialVerdict") -> None:
        if not args.json:
            print(report.trial_line(trial, verdict), flush=True)

    result = asyncio.run(runner.run(options, on_trial=streamed))
    for line in report.note_lines(result) + report.failure_lines(result):
        print(line, file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(report.to_json(result)))
    else:
        print(report.summary_line(result))
    return 0 if result.ok else 1


def _run_failover_bench(args: argparse.Namespace) -> int:
    from redisha.backends import Backend, BackendUnavailable
    from redisha.scenario import bench, runner
    from redisha.scenario.writer import ClientMode, WriterMode

    options = bench.BenchOptions(
        backend=Backend(args.backend), trials=args.trials, down_after_ms=args.down_after_ms,
        writer=WriterMode(args.writer), client=ClientMode(args.client), seed=args.seed)
    try:
        bench.require_both(options)
    except (BackendUnavailable, runner.ScenarioUnavailable) as exc:
        print(f"redisha bench failover: {exc}", file=sys.stderr)
        return 1

    def progress(o: "runner.ScenarioOptions", trial: int, verdict: "runner.TrialVerdict") -> None:
        figure = "-" if verdict.unavailable_ms is None else f"{verdict.unavailable_ms:.0f} ms"
        print(f"{o.scenario.value} {o.sentinel.value} trial {trial}: unavailable {figure}"
              + ("" if verdict.ok else f" (FAIL: {verdict.failures[0]})"), file=sys.stderr,
              flush=True)

    result = asyncio.run(bench.run(options, on_trial=progress))
    print(json.dumps(result.to_json()) if args.json else result.to_text())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["scenario"] or words[:2] == ["bench", "failover"]:
        return _scenario_main(words)
    if words[:1] == ["serve"]:
        return _serve_main(words)
    if words[:1] == ["kubectl"]:
        return _kubectl_main(words[1:])
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
    if args.command == "bench" and args.target == "redis":
        from redisha.bench import redis as redis_bench

        try:
            figures = asyncio.run(redis_bench.run(
                backend=redis_bench.BackendChoice(args.backend), requests=args.requests,
                pipeline=args.pipeline))
        except redis_bench.BenchUnavailable as exc:
            print(f"redisha bench redis: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(figures.to_json()) if args.json else figures.to_text())
        return 0
    if args.command == "tutorial":
        from redisha.backends import Backend
        from redisha.tutorial import runner as tutorial_runner

        return tutorial_runner.main(Backend(args.backend))
    if args.command == "bench" and args.target == "tui":
        from redisha import demo

        tui_result = asyncio.run(demo.bench_tui(pods=args.pods, samples=args.samples))
        print(json.dumps(tui_result.to_json()) if args.json else tui_result.to_text())
        return 0
    if args.command in (None, "dashboard"):
        return _run_dashboard(parser, args if args.command else None)
    if args.command == "operator":
        return _run_operator(parser, args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
