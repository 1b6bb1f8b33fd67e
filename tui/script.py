"""Headless scripts: drive the real dashboard from YAML, for CI and for demos.

A script is a list of steps (or a mapping with `size: [W, H]` and `steps:`):

```yaml
- wait: {row: rfr-demo-0, column: ROLE, equals: primary, timeout: 30}
- select: rfr-demo-0
- press: [ctrl+k]
- command: get pods           # typed into the command bar, then enter
- filter: redis               # typed after /
- type: abc                   # keys typed one by one into whatever has focus
- wait: {text: "Primary rfr-demo-1", timeout: 20}
- wait: {gone: rfr-demo-0}
- wait: {output: "deployment.apps/web created"}
- screenshot: after-kill      # DIR/after-kill.svg with --screenshot DIR
```

Every wait has a deadline (`timeout`, default 10 s) and polls the screen; a wait that
runs out fails the script, which exits non-zero. Parsing is separate from running, so a
bad script is one clear line before the app starts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

import yaml
from textual.pilot import Pilot
from textual.widgets import Input

from cluster.api import objects
from tui.app import DashboardApp
from tui.roles import WRITES_TO_LABEL
from tui.timeline import Step as TimelineStep
from tui.timeline import Timeline

DEFAULT_TIMEOUT = 10.0
DEFAULT_SIZE = (120, 40)


class ScriptError(ValueError):
    """The script cannot be read; `str()` names the step at fault."""


class StepFailed(Exception):
    """A step did not succeed (a wait ran out); `str()` says which and why."""


@dataclass(frozen=True)
class Press:
    keys: tuple[str, ...]


@dataclass(frozen=True)
class TypeText:
    text: str


@dataclass(frozen=True)
class Command:
    text: str


@dataclass(frozen=True)
class Filter:
    text: str


@dataclass(frozen=True)
class Select:
    name: str
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Wait:
    """Until a text is on screen, a cell holds a value, a row is gone, or a command's
    output holds a text."""

    text: str | None = None
    row: str | None = None
    column: str | None = None
    equals: str | None = None
    contains: str | None = None
    gone: str | None = None
    output: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def describe(self) -> str:
        if self.text is not None:
            return f"text {self.text!r} on screen"
        if self.gone is not None:
            return f"row {self.gone!r} gone"
        if self.output is not None:
            return f"command output containing {self.output!r}"
        what = f"row {self.row!r}"
        if self.column:
            want = (f"== {self.equals!r}" if self.equals is not None
                    else f"containing {self.contains!r}" if self.contains is not None else "")
            what += f" {self.column} {want}".rstrip()
        return what


@dataclass(frozen=True)
class Screenshot:
    name: str


Step = Press | TypeText | Command | Filter | Select | Wait | Screenshot


@dataclass(frozen=True)
class Script:
    steps: tuple[Step, ...]
    size: tuple[int, int] = DEFAULT_SIZE
    source: str = "<script>"


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ScriptError(f"{where}: timeout must be a positive number of seconds")
    return float(value)


def _parse_step(index: int, raw: Any) -> Step:
    where = f"step {index}"
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ScriptError(f"{where}: a step is a mapping with one key (press, type, command, "
                          f"filter, select, wait, screenshot), got {raw!r}")
    (kind, value), = raw.items()
    if kind == "press":
        keys = value if isinstance(value, list) else [value]
        if not keys or not all(isinstance(k, str) and k for k in keys):
            raise ScriptError(f"{where}: press takes a key or a list of keys")
        return Press(tuple(keys))
    if kind in ("type", "command", "filter"):
        if not isinstance(value, str):
            raise ScriptError(f"{where}: {kind} takes a string")
        if kind == "type":
            return TypeText(value)
        return Command(value) if kind == "command" else Filter(value)
    if kind == "select":
        if isinstance(value, dict):
            name, timeout = value.get("name"), value.get("timeout", DEFAULT_TIMEOUT)
        else:
            name, timeout = value, DEFAULT_TIMEOUT
        if not isinstance(name, str) or not name:
            raise ScriptError(f"{where}: select takes a row name")
        return Select(name, _number(timeout, where))
    if kind == "wait":
        if isinstance(value, str):
            value = {"text": value}
        if not isinstance(value, dict):
            raise ScriptError(f"{where}: wait takes a mapping (text, row, gone, output)")
        known = {"text", "row", "column", "equals", "contains", "gone", "output", "timeout"}
        unknown = set(value) - known
        if unknown:
            raise ScriptError(f"{where}: wait does not know {', '.join(sorted(unknown))}")
        targets = [k for k in ("text", "row", "gone", "output") if k in value]
        if len(targets) != 1:
            raise ScriptError(f"{where}: wait needs exactly one of text, row, gone, output")
        if ("equals" in value or "contains" in value) and "column" not in value:
            raise ScriptError(f"{where}: equals/contains need a column")
        fields = {k: str(v) for k, v in value.items() if k != "timeout"}
        return Wait(**fields, timeout=_number(value.get("timeout", DEFAULT_TIMEOUT), where))
    if kind == "screenshot":
        if not isinstance(value, str) or not value or "/" in value:
            raise ScriptError(f"{where}: screenshot takes a file name (no directories)")
        return Screenshot(value)
    raise ScriptError(f"{where}: unknown step {kind!r}")


def parse_script(text: str, source: str = "<script>") -> Script:
    """Raises ScriptError naming the step at fault."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ScriptError(f"{source}: not valid YAML: {e}".splitlines()[0]) from None
    size = DEFAULT_SIZE
    if isinstance(data, dict):
        raw_size = data.get("size", list(DEFAULT_SIZE))
        if (not isinstance(raw_size, list) or len(raw_size) != 2
                or not all(isinstance(n, int) and n >= 20 for n in raw_size)):
            raise ScriptError(f"{source}: size is [WIDTH, HEIGHT], each at least 20")
        size = (raw_size[0], raw_size[1])
        data = data.get("steps")
    if not isinstance(data, list) or not data:
        raise ScriptError(f"{source}: a script is a non-empty list of steps")
    try:
        steps = tuple(_parse_step(i + 1, raw) for i, raw in enumerate(data))
    except ScriptError as e:
        raise ScriptError(f"{source}: {e}") from None
    return Script(steps, size, source)


def load_script(path: str) -> Script:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ScriptError(f"cannot read script {path}: {e.strerror}") from None
    return parse_script(text, path)


def screen_text(app: DashboardApp) -> str:
    """The characters on screen now, row by row (what a screenshot would show, unstyled).

    Textual renders the screen through its compositor; the same strips that become the
    SVG of `export_screenshot` are read here as text.
    """
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


@dataclass
class ScriptRunner:
    """Runs a script's steps on a running app through its pilot."""

    app: DashboardApp
    pilot: Pilot[Any]
    screenshot_dir: Path | None = None
    log: Callable[[str], None] = print
    saved: list[Path] = field(default_factory=list)

    async def run(self, script: Script) -> None:
        """Raises StepFailed at the first step that fails."""
        async with asyncio.timeout(30):
            await self.app.attached.wait()
        for i, step in enumerate(script.steps, 1):
            try:
                await self.step(step)
            except StepFailed as e:
                raise StepFailed(f"{script.source}: step {i}: {e}") from None

    async def step(self, step: Step) -> None:
        app, pilot = self.app, self.pilot
        if isinstance(step, Press):
            await pilot.press(*step.keys)
            await self._settle()
        elif isinstance(step, TypeText):
            await self.type(step.text)
        elif isinstance(step, Command):
            await pilot.press("colon")
            await self.type(step.text)
            await pilot.press("enter")
            await self._settle()
        elif isinstance(step, Filter):
            await pilot.press("slash")
            await self.type(step.text)
            await pilot.press("enter")
            await self._settle()
        elif isinstance(step, Select):
            await self._until(lambda: app.select_row(step.name), step.timeout,
                              f"row {step.name!r} to select")
            await pilot.pause()
        elif isinstance(step, Wait):
            await self._until(lambda: self.holds(step), step.timeout, step.describe())
        elif isinstance(step, Screenshot):
            self.screenshot(step.name)

    async def type(self, text: str) -> None:
        """Type into the focused widget: an input takes the text at its cursor, as a paste
        would (key by key costs the pilot ~50 ms a key); anything else gets the keys."""
        focused = self.app.focused
        if isinstance(focused, Input):
            focused.insert_text_at_cursor(text)
            await self.pilot.pause()
        else:
            await self.pilot.press(*text)

    def screenshot(self, name: str) -> Path | None:
        if self.screenshot_dir is None:
            self.log(f"screenshot {name}: skipped (no --screenshot DIR)")
            return None
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        filename = name if name.endswith(".svg") else f"{name}.svg"
        path = Path(self.app.save_screenshot(filename, str(self.screenshot_dir)))
        self.saved.append(path)
        return path

    def holds(self, wait: Wait) -> bool:
        app = self.app
        if wait.text is not None:
            return wait.text in screen_text(app)
        if wait.output is not None:
            return wait.output in app.last_output
        if wait.gone is not None:
            return not self._row_key(wait.gone)
        assert wait.row is not None
        key = self._row_key(wait.row)
        if key is None:
            return False
        if wait.column is None:
            return True
        cell = app.table.cell_text(key, wait.column)
        if cell is None:
            return False
        if wait.equals is not None:
            return cell == wait.equals
        if wait.contains is not None:
            return wait.contains in cell
        return True

    def _row_key(self, name: str) -> str | None:
        model = self.app.model
        if model is None:
            return None
        for key in model.shown:
            if key == name or key.rpartition("/")[2] == name:
                return key
        return None

    async def _settle(self) -> None:
        """Let the key's effects run: workers started by it, then a refresh."""
        await self.pilot.pause()
        for _ in range(200):
            busy = [w for w in self.app.workers if w.group == "commands" and w.is_running]
            if not busy:
                break
            await asyncio.sleep(0.01)
        await self.pilot.pause()

    async def _until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                raise StepFailed(f"timed out after {timeout:g}s waiting for {what}")
            await asyncio.sleep(0.05)


def _failover_settled(app: DashboardApp, writer_expected: bool) -> bool:
    """One labelled primary, the HA pane naming it Ready, and (with a writer) writes
    acknowledged."""
    view, primaries = app.ha_view, app.primaries()
    if view is None or len(primaries) != 1:
        return False
    if view.primary != objects.split_key(primaries[0])[1] or view.phase != "Ready":
        return False
    return not writer_expected or (view.writes.present and view.writes.totals.acked > 0)


def _writer_expected(app: DashboardApp, failover: str) -> bool:
    """Is a pod labelled as writing to `failover` (`ns/name`) running?"""
    namespace, name = objects.split_key(failover)
    return app.pods is not None and any(
        objects.labels_of(pod).get(WRITES_TO_LABEL) == name
        and objects.namespace_of(pod) == namespace for pod in app.pods.list())


def describe_timeline(timeline: Timeline) -> str:
    """`fault 0 ms, sdown —, …, first write +140 ms`."""
    parts = []
    for step, _ in timeline.steps:
        ms = timeline.ms(step)
        parts.append(f"{step.value} {'—' if ms is None else f'{ms:+d} ms' if ms else '0 ms'}")
    return ", ".join(parts)


async def kill_primary(runner: ScriptRunner, *, timeout: float = 60.0) -> list[str]:
    """The built-in `--demo kill-primary`: select the primary in the pods table, press
    ctrl-k, wait until the HA pane shows a new primary (and the writer's first write on
    it), screenshot before and after; the lines to print.

    The time printed runs from the key press to the moment the primary Service pointed at
    the new primary (`lastFailover.completedAt`); the lost writes are those the writer
    found missing on the new primary."""
    app = runner.app
    await runner._until(lambda: app.ha_view is not None, timeout, "a RedisFailover")
    assert app.ha_view is not None
    writer = _writer_expected(app, app.ha_view.key)
    await runner._until(lambda: _failover_settled(app, writer), timeout,
                        "a Ready RedisFailover with one labelled primary"
                        + (" and acknowledged writes" if writer else ""))
    view = app.ha_view
    assert view is not None
    old, lost_before = view.primary, view.writes.totals.lost
    await runner.step(Select(old, timeout))
    runner.screenshot("before")
    await runner.step(Press(("ctrl+k",)))

    def replaced() -> bool:
        now = app.ha_view
        if now is None or now.primary in ("", old) or now.timeline is None:
            return False
        done = now.timeline.done and now.timeline.old == old and now.timeline.new == now.primary
        labelled = app.primaries() == (f"{objects.split_key(now.key)[0]}/{now.primary}",)
        return done and labelled

    await runner._until(replaced, timeout, f"a new primary after killing {old}")
    if writer:
        def written() -> bool:
            now = app.ha_view
            return (now is not None and now.timeline is not None
                    and now.timeline.at(TimelineStep.FIRST_WRITE) is not None)
        await runner._until(written, timeout, "the writer's first write on the new primary")
    await runner.pilot.pause()
    view = app.ha_view
    assert view is not None and view.timeline is not None
    app.refresh_now()
    await runner.pilot.pause()
    runner.screenshot("after")
    timeline = view.timeline
    took = timeline.completed_ms
    lost = (f"lost {view.writes.totals.lost - lost_before} writes" if writer
            else "lost writes: not measured (no writer pod)")
    return [f"failover: {old} -> {timeline.new} in {took} ms, {lost}",
            f"timeline: {describe_timeline(timeline)}"]


Scenario = Callable[[ScriptRunner], Awaitable[None]]


def scripted(script: Script) -> Scenario:
    async def run(runner: ScriptRunner) -> None:
        await runner.run(script)
    return run


def demo_kill_primary(timeout: float = 60.0) -> Scenario:
    async def run(runner: ScriptRunner) -> None:
        async with asyncio.timeout(30):
            await runner.app.attached.wait()
        try:
            for line in await kill_primary(runner, timeout=timeout):
                runner.log(line)
        except StepFailed as e:
            raise StepFailed(f"--demo kill-primary: {e}") from None
    return run


async def run_headless(app: DashboardApp, scenario: Scenario, *,
                       size: tuple[int, int] = DEFAULT_SIZE,
                       screenshot_dir: Path | None = None,
                       log: Callable[[str], None] = print) -> int:
    """Run the app without a terminal and the scenario on it: 0 when it passed, 1 when a
    step failed (after saving `failure.svg` if screenshots are on).

    Lines for `log` are held until the app has stopped: while it runs, Textual captures
    what is printed."""
    outcome = {"code": 0}
    lines: list[str] = []

    async def auto_pilot(pilot: Pilot[Any]) -> None:
        runner = ScriptRunner(app, pilot, screenshot_dir, lines.append)
        try:
            await scenario(runner)
        except StepFailed as e:
            lines.append(str(e))
            runner.screenshot("failure")
            outcome["code"] = 1
        except TimeoutError:
            lines.append("the dashboard did not attach to the cluster within 30s")
            outcome["code"] = 1
        app.exit(outcome["code"])

    try:
        await app.run_async(headless=True, size=size, auto_pilot=auto_pilot)
    finally:
        for line in lines:
            log(line)
    return outcome["code"]
