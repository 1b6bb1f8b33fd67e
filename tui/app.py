"""The dashboard: k9s for the embedded cluster, reading everything through the client.

Data flows one way. Shared informers (list + watch through `cluster.client`) keep caches
of pods, nodes and whatever kind the table shows; their handlers only mark keys dirty and
ask for a flush. A throttled flush (a token bucket: 10 a second sustained, two back to
back) turns the dirty keys into a `TableDiff` and the table applies it cell by cell. Once
a second the rows in view are marked too, so AGE and `RESTARTS (5s ago)` keep moving
without touching rows nobody sees.

The HA pane's view (`haview`) is recomputed four times a second from the RedisFailover
informer's cache, the pods' addresses and what `HAFeed` read from sentinel and writer pod
logs; the pane is redrawn only when the view changed.

Everything a key does is an action on the app, so the same action runs from its key, the
command palette (`ctrl+p`) and scripts. API calls run in workers, and every failure ends
as a notification: nothing a user types crashes the app.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, cast

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import Footer, Input

from cluster.api import errors, objects, selectors
from cluster.api.resources import ResourceType
from cluster.client import Client
from cluster.informer import HandlerRegistration, Informer, InformerFactory
from cluster.kubectl.commands import Kubectl
from cluster.kubectl.printing import kind_word
from cluster.kubectl.session import api_error_line
from tui import actions, commands, haview, keys
from tui.keys import DESTRUCTIVE_ACTIONS, KEY_DISPLAY, MAIN_BINDINGS
from tui.connection import Connection
from tui.faults import FaultError, FaultKind
from tui.hafeed import HAFeed
from tui.kinds import VIEW_ALIASES, Drill, KindView, RowContext, view_for, without_namespace
from tui.model import FilterError, RowFilter, Scope, TableModel
from tui.roles import (INSTANCE_LABEL, Role, labelled_by_operator, role_from_labels,
                       role_from_reply, runs_redis)
from tui.screens.confirm import ConfirmScreen
from tui.screens.faultmenu import FaultChoice, FaultMenu
from tui.screens.help import HelpScreen, HelpSection
from tui.screens.text import TextScreen
from tui.summary import SummaryCounter
from tui.widgets.commandbar import BarMode, CommandBar
from tui.widgets.hapane import HAPane
from tui.widgets.header import ClusterHeader
from tui.widgets.logpane import LogPane, LogTarget
from tui.widgets.table import ResourceTable

NODE_INDEX = "node"
INSTANCE_INDEX = "instance"
REDISFAILOVERS = "redisfailovers.redisha.io"
MARKED_FAULTS = frozenset({FaultKind.CRASH, FaultKind.HANG, FaultKind.PARTITION_FROM_PRIMARY,
                           FaultKind.PARTITION_FROM_SENTINELS, FaultKind.KILL_NODE,
                           FaultKind.DRAIN})
"""Faults that may set a failover off: the HA pane's timeline starts at them."""


def _node_of(pod: dict[str, Any]) -> list[str]:
    return [(pod.get("spec") or {}).get("nodeName") or ""]


def _instance_of(pod: dict[str, Any]) -> list[str]:
    """`ns/<instance label>`: a RedisFailover's pods (redis and sentinels) by its key."""
    instance = objects.labels_of(pod).get(INSTANCE_LABEL)
    return [f"{objects.namespace_of(pod)}/{instance}"] if instance else []


@dataclass(frozen=True)
class DashboardSettings:
    """The dashboard's rhythms; tests shorten some."""

    flush_rate: float = 10.0
    """Table updates per second, sustained: a burst of changes is drawn 10 times a second."""
    flush_burst: int = 2
    """Updates allowed back to back before the rate applies, so that a change arriving
    shortly after the last update is drawn at once rather than up to 100 ms later."""
    clock_interval: float = 1.0
    """How often the rows in view are recomputed for time alone (AGE, restarts ago)."""
    header_interval: float = 0.5
    """How often the header's counts are redrawn."""
    role_probe_interval: float = 2.0
    """How often unlabelled Redis pods are asked `redis-cli role`."""
    role_probe_limit: int = 16
    """At most this many pods are asked per round."""
    role_probe_timeout: float = 1.0
    """A pod that does not answer in time (frozen, partitioned) keeps its last known role."""
    probe_roles: bool = True
    log_batch_interval: float = 0.1
    """Lines read from a log are written to the pane at most this often, in one batch."""
    log_lines: int = 5000
    """Lines the log pane keeps."""
    ha_right_width: int = 140
    """From this width on the HA pane sits right of the table; below it, under the table."""
    ha_min_width: int = 80
    """Narrower terminals hide the HA pane (`:ha` shows it anyway)."""
    ha_wide_width: int = 116
    """Under the table, from this width on the pane's three parts sit side by side;
    narrower, the writes and the timeline stack beside the topology (`-ha-narrow`)."""
    ha_min_height: int = 24
    """So do shorter ones. At 80x24 the pane fits under the demo's seven pods, its
    timeline two steps a line."""
    ha_interval: float = 0.25
    """How often the HA pane's view is recomputed (it is redrawn only when it changed)."""
    follow_ha_logs: bool = True
    """Follow sentinel and writer pods' logs for the HA pane (snapshot tests feed it)."""
    ha_log_retry: float = 1.0
    """Seconds before a log follow that ended is taken up again."""
    clock: Callable[[], float] = time.time
    """Wall clock for AGE columns."""


class HAPlacement(str, enum.Enum):
    """Where the HA pane goes (a class `-ha-<value>` on the main screen)."""

    RIGHT = "right"
    BOTTOM = "bottom"
    HIDDEN = "hidden"


@dataclass(frozen=True)
class ViewState:
    """One step of `esc`'s history: what the table showed and which row was selected."""

    rt: ResourceType
    scope: Scope
    row_filter: RowFilter
    selected: str | None




class MainScreen(Screen[None]):
    """The header, the resource table, the log pane, the HA pane and the command bar."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(spec.key, f"app.{spec.action}", spec.short, show=spec.footer,
                key_display=KEY_DISPLAY.get(spec.key), tooltip=spec.long)
        for spec in MAIN_BINDINGS
    ]

    def __init__(self, client: Client, settings: DashboardSettings) -> None:
        super().__init__(id="main-screen")
        self._client = client
        self._settings = settings

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield ResourceTable(id="table")
                yield LogPane(self._client, batch_interval=self._settings.log_batch_interval,
                              max_lines=self._settings.log_lines, id="logs")
            yield HAPane(id="ha")
        yield CommandBar(id="command-bar")
        yield Footer(compact=True, show_command_palette=False)

    async def on_mount(self) -> None:
        self.query_one("#logs").display = False
        self.query_one("#command-bar").display = False
        await cast("DashboardApp", self.app).attach()

    async def on_resource_table_row_selected(self, event: ResourceTable.RowSelected) -> None:
        event.stop()
        await self.app.run_action("drill")

    def on_command_bar_done(self, event: CommandBar.Done) -> None:
        cast("DashboardApp", self.app).command_bar_done(event.mode, event.text)

    def on_input_changed(self, event: Input.Changed) -> None:
        bar = event.input
        if isinstance(bar, CommandBar) and bar.display and bar.mode is BarMode.FILTER:
            cast("DashboardApp", self.app).preview_filter(event.value)


class DashboardApp(App[int]):
    """The dashboard over one `Connection`."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "redisha"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, connection: Connection, *, readonly: bool = False,
                 settings: DashboardSettings | None = None,
                 notices: Iterable[str] = ()) -> None:
        super().__init__()
        self.notices = list(notices)
        """Shown as warnings once the dashboard is up (options that cannot take effect)."""
        self.connection = connection
        self.client = connection.client
        self.readonly = readonly
        self.settings = settings or DashboardSettings()
        self.namespace: str | None = connection.namespace
        self.factory = InformerFactory(self.client)
        self.counter = SummaryCounter()
        self.probed_roles: dict[str, Role] = {}
        self.redis_pods: set[str] = set()
        """Running pods of a redis image with no role label: what the role probe asks."""
        self.history: list[ViewState] = []
        self._filter_before = ""
        """The filter when `/` was pressed: what esc on the filter bar goes back to."""
        self.model: TableModel | None = None
        self.rt: ResourceType | None = None
        self.pods: Informer | None = None
        self.flush_observers: list[Callable[[set[str]], None]] = []
        """Called with the keys of every flush that changed the table (benchmarks, tests)."""
        self.last_output = ""
        """What the last command-bar command printed (stdout and stderr), for scripts."""
        self.failovers: list[dict[str, Any]] | None = None
        self._view_informer: Informer | None = None
        self._registration: HandlerRegistration | None = None
        self._flush_pending = False
        self._tokens = float(self.settings.flush_burst)
        self._token_time = time.monotonic()
        self._pending_select: str | None = None
        self._rf_informer: Informer | None = None
        self._rf_checked = -math.inf
        self._ha_forced: bool | None = None
        self._header_shown: tuple[Any, ...] | None = None
        self._ha_shown: tuple[Any, ...] | None = None
        self.feed = HAFeed(self.client, retry=self.settings.ha_log_retry,
                           clock=self.settings.clock)
        """Sentinel events and writer counts, from pod logs (the HA pane's)."""
        self.ha_view: haview.HAView | None = None
        """What the HA pane shows (kept current even while the pane is hidden)."""
        self.attached = asyncio.Event()

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(self.client, self.settings)

    # -- widgets --------------------------------------------------------------------------

    def _main(self) -> MainScreen:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        raise LookupError("the main screen is not mounted")

    @property
    def table(self) -> ResourceTable:
        return self._main().query_one("#table", ResourceTable)

    @property
    def log_pane(self) -> LogPane:
        return self._main().query_one("#logs", LogPane)

    @property
    def command_bar(self) -> CommandBar:
        return self._main().query_one("#command-bar", CommandBar)

    @property
    def view(self) -> KindView:
        assert self.model is not None
        return self.model.view

    # -- attaching ------------------------------------------------------------------------

    async def attach(self) -> None:
        """Start the informers the header needs and show pods."""
        self.pods = await self.factory.informer(
            "pods", indexers={NODE_INDEX: _node_of, INSTANCE_INDEX: _instance_of})
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        nodes = await self.factory.informer("nodes")
        nodes.add_handler(lambda n: self.counter.node(objects.object_key(n), n),
                          lambda _, n: self.counter.node(objects.object_key(n), n),
                          lambda n: self.counter.node(objects.object_key(n), None))
        await self.factory.start()
        await self.switch_view(await self.client.resolve("pods"),
                               Scope(namespace=self.namespace), push=False)
        self.set_interval(self.settings.clock_interval, self._quietly(self._tick))
        self.set_interval(self.settings.header_interval, self._quietly(self.refresh_header))
        self.set_interval(self.settings.ha_interval, self._quietly(self._refresh_ha))
        if self.settings.probe_roles:
            self._probe_roles()
        self.refresh_header()
        self._layout_ha()
        for notice in self.notices:
            self.notify(notice, severity="warning", timeout=10)
        self.attached.set()

    async def on_unmount(self) -> None:
        await self.feed.close()
        await self.factory.stop()

    def _pod_added(self, pod: dict[str, Any]) -> None:
        self._pod_seen(objects.object_key(pod), pod)

    def _pod_updated(self, old: dict[str, Any], pod: dict[str, Any]) -> None:
        self._pod_seen(objects.object_key(pod), pod)

    def _pod_deleted(self, pod: dict[str, Any]) -> None:
        key = objects.object_key(pod)
        self.counter.pod(key, None)
        self.redis_pods.discard(key)
        self.probed_roles.pop(key, None)
        self.feed.untrack(key)

    def _pod_seen(self, key: str, pod: dict[str, Any]) -> None:
        self.counter.pod(key, pod)
        if self.settings.follow_ha_logs:
            self.feed.track(pod)
        labelled = role_from_labels(pod) is not None or labelled_by_operator(pod)
        if (runs_redis(pod) and not labelled
                and (pod.get("status") or {}).get("phase") == "Running"
                and not objects.is_terminating(pod)):
            self.redis_pods.add(key)
        else:
            self.redis_pods.discard(key)
            if key in self.probed_roles and (labelled or objects.is_terminating(pod) or
                                             (pod.get("status") or {}).get("phase") != "Running"):
                # A label overrules what the pod once answered, now and later.
                del self.probed_roles[key]

    # -- the table ------------------------------------------------------------------------

    async def switch_view(self, rt: ResourceType, scope: Scope,
                          row_filter: RowFilter | None = None, *, push: bool = True,
                          select: str | None = None) -> bool:
        """Show `rt` in `scope`; False (with a notification) when the scope is invalid."""
        try:
            scope.compiled()
        except errors.APIError as e:
            self.notify(e.message, severity="error")
            return False
        informer = await self.factory.informer(rt.key)
        if push and self.rt is not None and self.model is not None:
            self.history.append(ViewState(self.rt, self.model.scope, self.model.row_filter,
                                          self.table.selected_key))
        if self._registration is not None:
            self._registration.remove()
        self.rt = rt
        view = view_for(rt)
        if scope.namespace and view.namespaced:
            view = without_namespace(view)
        self.model = TableModel(view, scope, row_filter)
        self._view_informer = informer
        self.table.set_headers(self.model.view.headers)
        self._pending_select = select
        self._registration = informer.add_handler(
            self._view_object_changed, lambda _, new: self._view_object_changed(new),
            self._view_object_changed)
        self.model.mark_all(informer.keys())
        self.update_title()
        self.request_flush()
        return True

    @staticmethod
    def _quietly(callback: Callable[[], None]) -> Callable[[], None]:
        """A timer's callback that does nothing once the main screen's widgets are gone
        (the app is shutting down while a timer fires)."""
        def run() -> None:
            try:
                callback()
            except (NoMatches, LookupError):
                pass
        return run

    def _view_object_changed(self, obj: dict[str, Any]) -> None:
        if self.model is not None:
            self.model.mark(objects.object_key(obj))
            self.request_flush()

    def _refill(self) -> float:
        """The token bucket behind the flush rate: tokens now available."""
        now = time.monotonic()
        s = self.settings
        self._tokens = min(float(s.flush_burst),
                           self._tokens + (now - self._token_time) * s.flush_rate)
        self._token_time = now
        return self._tokens

    def request_flush(self) -> None:
        """Flush at once while the bucket has a token, else as soon as it will have one."""
        if self._flush_pending:
            return
        self._flush_pending = True
        tokens = self._refill()
        if tokens >= 1.0:
            self.call_later(self._quietly(self.flush))
        else:
            self.set_timer((1.0 - tokens) / self.settings.flush_rate, self._quietly(self.flush))

    def flush(self) -> None:
        """Apply the model's diff to the table."""
        self._flush_pending = False
        self._refill()
        self._tokens = max(0.0, self._tokens - 1.0)
        if self.model is None or self._view_informer is None:
            return
        diff = self.model.flush(self._view_informer.get, self.row_context())
        if diff.empty:
            return
        self.table.apply(diff)
        if diff.added or diff.removed:
            self.update_title()
        if self._pending_select is not None and self.table.select_key(self._pending_select):
            self._pending_select = None
        if self.flush_observers:
            keys = diff.keys
            for observer in list(self.flush_observers):
                observer(keys)

    def row_context(self) -> RowContext:
        pods = self.pods
        return RowContext(
            now=self.settings.clock(), roles=self.probed_roles,
            pods_on_node=(lambda node: len(pods.index_keys(NODE_INDEX, node))) if pods
            else (lambda node: 0))

    def update_title(self) -> None:
        if self.model is None:
            return
        scope, view = self.model.scope, self.model.view
        where = (scope.namespace or "all") if view.namespaced else ""
        title = f"{view.title}({where})" if where else view.title
        title += f"[{self.table.row_count}]"
        if scope.note:
            title += f" <{scope.note}>"
        self.table.border_title = title
        self.table.border_subtitle = (f"/{self.model.row_filter.text}"
                                      if self.model.row_filter.active else "")

    def _tick(self) -> None:
        """Once a second: the rows in view age."""
        if self.model is not None and self.model.view.timed:
            for key in self.table.visible_keys():
                self.model.mark(key)
            self.request_flush()

    def primaries(self) -> tuple[str, ...]:
        """`ns/name` of every pod known to be a primary (labels, else the role probe)."""
        return self.counter.summary(self.connection.context, self.probed_roles).primaries

    def refresh_header(self) -> None:
        """Redraw the header, only when what it shows changed."""
        summary = self.counter.summary(self.connection.context, self.probed_roles)
        view = self.ha_view
        if view is not None:
            summary = dataclasses.replace(
                summary, epoch=view.epoch,
                write_rate=str(view.writes.rate) if view.writes.present else "—")
        shown = (summary, self.namespace, self.readonly)
        if shown == self._header_shown:
            return
        self._header_shown = shown
        self._main().query_one("#header", ClusterHeader).show(
            summary, namespace=self.namespace, readonly=self.readonly)

    # -- HA pane --------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        # The handler runs before `App.size` takes the new size: lay out for the event's,
        # or the pane would always be laid out for the size before the last resize.
        self._layout_ha(event.size)

    def ha_placement(self, size: Size | None = None) -> HAPlacement:
        """Right of the table when the terminal is wide, under it when it is not, hidden
        when it is small or the log pane needs the room; `:ha` overrides. `size` is the
        terminal's (default: the app's current size)."""
        width, height = size or self.size
        s = self.settings
        if width >= s.ha_right_width:
            auto = HAPlacement.RIGHT
        elif width >= s.ha_min_width and height >= s.ha_min_height:
            auto = HAPlacement.BOTTOM
        else:
            auto = HAPlacement.HIDDEN
        logs_open = self._logs_open()
        if auto is HAPlacement.BOTTOM and logs_open:
            auto = HAPlacement.HIDDEN
        if self._ha_forced is True and auto is HAPlacement.HIDDEN:
            return HAPlacement.BOTTOM if not logs_open or width < s.ha_right_width \
                else HAPlacement.RIGHT
        if self._ha_forced is False:
            return HAPlacement.HIDDEN
        return auto

    def _logs_open(self) -> bool:
        try:
            return bool(self.log_pane.display)
        except (LookupError, NoMatches):
            return False

    def _layout_ha(self, size: Size | None = None) -> None:
        try:
            screen = self._main()
            screen.query_one("#ha", HAPane)
        except (LookupError, NoMatches):
            return
        placement = self.ha_placement(size)
        for option in HAPlacement:
            screen.set_class(option is placement, f"-ha-{option.value}")
        screen.set_class(self._ha_narrow(placement, size), "-ha-narrow")

    def action_toggle_ha(self) -> None:
        self._ha_forced = self.ha_placement() is HAPlacement.HIDDEN
        self._layout_ha()
        self._refresh_ha()

    def _known_roles(self) -> dict[str, Role]:
        """Labelled roles, and probed ones for pods nobody labelled."""
        return {**self.probed_roles, **self.counter.labelled_roles()}

    def _refresh_ha(self) -> None:
        """Recompute the HA view; redraw the pane when it (or its placement) changed."""
        if self._rf_informer is None:
            if time.monotonic() - self._rf_checked >= 5.0:
                self._watch_failovers()
        else:
            self.failovers = self._rf_informer.list()
        view = self.compute_ha_view()
        self.ha_view = view
        placement = self.ha_placement()
        if placement is HAPlacement.HIDDEN:
            return
        wide = placement is HAPlacement.BOTTOM and not self._ha_narrow(placement)
        roles = self._known_roles() if view is None else {}
        shown = (placement, wide, view, sorted(roles.items()))
        if shown == self._ha_shown:
            return
        self._ha_shown = shown
        self._main().query_one("#ha", HAPane).show(
            view, wide=wide, compact=self._ha_narrow(placement), roles=roles)

    def _ha_narrow(self, placement: HAPlacement, size: Size | None = None) -> bool:
        width = (size or self.size).width
        return placement is HAPlacement.BOTTOM and width < self.settings.ha_wide_width

    def refresh_now(self) -> None:
        """Redraw the HA pane and the header now rather than at their next tick (before a
        script's screenshot)."""
        self._refresh_ha()
        self.refresh_header()

    def compute_ha_view(self) -> haview.HAView | None:
        """The view of the first RedisFailover in the dashboard's namespace (or in any,
        with all namespaces shown); None without one."""
        failovers = sorted((rf for rf in self.failovers or ()
                            if self.namespace is None
                            or objects.namespace_of(rf) == self.namespace),
                           key=objects.object_key)
        if not failovers:
            return None
        rf, key = failovers[0], objects.object_key(failovers[0])
        pods = self.pods.by_index(INSTANCE_INDEX, key) if self.pods is not None else []
        return haview.build(rf, pods=pods, events=self.feed.events(key),
                            writes=self.feed.writes(key), marks=self.feed.marks,
                            now=self.settings.clock(),
                            others=tuple(objects.object_key(o) for o in failovers[1:]))

    @work(exclusive=True, group="failovers")
    async def _watch_failovers(self) -> None:
        """Watch RedisFailovers once the API serves the kind (the CRD may come later)."""
        now = time.monotonic()
        if self._rf_informer is not None or now - self._rf_checked < 5.0:
            return
        self._rf_checked = now
        try:
            await self.client.resolve(REDISFAILOVERS)
        except (errors.APIError, LookupError):
            return
        self._rf_informer = await self.factory.informer(REDISFAILOVERS)

    # -- roles ----------------------------------------------------------------------------

    @work(exclusive=True, group="roles")
    async def _probe_roles(self) -> None:
        """Ask unlabelled Redis pods `redis-cli role`, every `role_probe_interval`."""
        exec_ = self.client.pod_exec
        s = self.settings
        while True:
            keys = sorted(self.redis_pods)[:s.role_probe_limit]
            answers = await asyncio.gather(*(self._ask_role(exec_, key) for key in keys))
            changed = False
            for key, role in zip(keys, answers):
                if role is not None and self.probed_roles.get(key) is not role \
                        and key in self.redis_pods:
                    self.probed_roles[key] = role
                    changed = True
            if changed and self.model is not None and self.rt is not None \
                    and self.rt.key == "pods":
                for key in keys:
                    self.model.mark(key)
                self.request_flush()
            await asyncio.sleep(s.role_probe_interval)

    async def _ask_role(self, exec_: Any, key: str) -> Role | None:
        namespace, name = objects.split_key(key)
        timeout = self.settings.role_probe_timeout
        try:
            async with asyncio.timeout(timeout + 0.5):
                result = await exec_(name, namespace, command=["redis-cli", "role"],
                                     timeout=timeout)
        except (errors.APIError, TimeoutError, OSError):
            return None
        if result.exit_code != 0:
            return None
        out = result.stdout.decode(errors="replace") if isinstance(result.stdout, bytes) \
            else str(result.stdout)
        return role_from_reply(out)

    # -- selection ------------------------------------------------------------------------

    def selected(self) -> dict[str, Any] | None:
        """The object under the cursor, from the informer's cache (read-only)."""
        key = self.table.selected_key
        if key is None or self._view_informer is None:
            return None
        return self._view_informer.get(key)

    def _require_selected(self) -> dict[str, Any] | None:
        obj = self.selected()
        if obj is None:
            self.notify("nothing is selected", severity="warning")
        return obj

    def select_row(self, name: str) -> bool:
        """Put the cursor on the row of `name` (or `ns/name`); False if it is not shown."""
        if self.model is None:
            return False
        for key in self.model.shown:
            if key == name or objects.split_key(key)[1] == name:
                return self.table.select_key(key)
        return False

    # -- actions: navigation --------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.readonly and action in DESTRUCTIVE_ACTIONS:
            return False
        return True

    def action_command_bar(self) -> None:
        self.command_bar.start(BarMode.COMMAND)

    def action_filter(self) -> None:
        current = self.model.row_filter.text if self.model is not None else ""
        self._filter_before = current
        self.command_bar.start(BarMode.FILTER, current)

    def command_bar_done(self, mode: BarMode, text: str | None) -> None:
        self.table.focus()
        if mode is BarMode.FILTER:
            # esc, or a filter refused, puts back the one the rows had before `/` (the
            # rows were filtered while the text was typed).
            if text is None or not self.set_filter(text):
                self.set_filter(self._filter_before)
        elif text is not None:
            self.run_command(text)

    def preview_filter(self, text: str) -> None:
        """k9s filters as the user types: each change to `/`'s text filters the rows at
        once. Text that is not a filter yet (`rfr[`, a bare `-l`) leaves the rows as they
        are, without a word; enter reports it."""
        if self.model is None or text.strip() == self.model.row_filter.text:
            return
        try:
            row_filter = RowFilter.parse(text)
        except FilterError:
            return
        self.model.row_filter = row_filter
        self._rebuild()

    def set_filter(self, text: str) -> bool:
        """Filter the table's rows (`/` then enter); False when the filter is invalid."""
        try:
            row_filter = RowFilter.parse(text)
        except FilterError as e:
            self.notify(str(e), severity="error")
            return False
        assert self.model is not None
        self.model.row_filter = row_filter
        self._rebuild()
        return True

    def _rebuild(self) -> None:
        assert self.model is not None and self._view_informer is not None
        selected = self.table.selected_key
        self.table.clear_rows()
        self.model.reset()
        self.model.mark_all(self._view_informer.keys())
        self._pending_select = selected
        self.update_title()
        self.request_flush()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_sections()))

    async def action_back(self) -> None:
        """esc: close the log pane, else clear the filter, else go back a view."""
        if self.log_pane.display:
            self.close_logs()
            return
        if self.model is not None and self.model.row_filter.active:
            self.set_filter("")
            return
        if self.history:
            state = self.history.pop()
            await self.switch_view(state.rt, state.scope, state.row_filter, push=False,
                                   select=state.selected)

    async def action_all_namespaces(self) -> None:
        await self.set_namespace(None)

    async def set_namespace(self, namespace: str | None) -> bool:
        """`:ns NAME` / `0`: the table's namespace (None for all); False if it does not exist."""
        if namespace is not None:
            try:
                await self.client.get("namespaces", namespace)
            except errors.APIError as e:
                self.notify(e.message, severity="error")
                return False
        self.namespace = namespace
        assert self.model is not None and self.rt is not None
        # Like k9s, a namespace switch is not a step `esc` walks back through.
        scope = Scope(namespace=namespace)
        await self.switch_view(self.rt, scope, self.model.row_filter, push=False)
        self.refresh_header()
        return True

    async def action_drill(self) -> None:
        """enter: a node's pods, a workload's or service's pods, a namespace's pods, a
        CRD's objects, a pod's logs."""
        obj = self._require_selected()
        if obj is None or self.model is None or self.rt is None:
            return
        name, namespace = objects.name_of(obj), objects.namespace_of(obj) or None
        drill, word = self.model.view.drill, f"{kind_word(self.rt)}/{name}"
        pods = await self.client.resolve("pods")
        if drill is Drill.LOGS:
            self.open_logs(namespace or "default", name)
        elif drill is Drill.NODE_PODS:
            await self.switch_view(pods, Scope(node=name, note=f"node/{name}"))
        elif drill is Drill.NAMESPACE_PODS:
            self.namespace = name
            await self.switch_view(pods, Scope(namespace=name))
            self.refresh_header()
        elif drill is Drill.SELECTED_PODS:
            spec = obj.get("spec") or {}
            raw = spec.get("selector")
            if self.rt.key == "services":
                selector = ",".join(f"{k}={v}" for k, v in sorted((raw or {}).items()))
            else:
                try:
                    selector = selectors.selector_string(raw)
                except errors.APIError as e:
                    self.notify(e.message, severity="error")
                    return
            if not selector:
                self.notify(f"{word} has no selector", severity="warning")
                return
            await self.switch_view(pods, Scope(namespace=namespace, selector=selector,
                                               note=word))
        elif drill is Drill.OWNED_PODS:
            uids = await actions.owned_uids(self.client, obj)
            await self.switch_view(pods, Scope(namespace=namespace, owners=uids, note=word))
        elif drill is Drill.CRD_OBJECTS:
            spec = obj.get("spec") or {}
            try:
                rt = await self.client.resolve(
                    f"{(spec.get('names') or {}).get('plural', '')}.{spec.get('group', '')}")
            except (errors.APIError, LookupError) as e:
                self.notify(str(e), severity="error")
                return
            await self.switch_view(rt, Scope(namespace=self.namespace))
        else:
            await self.action_describe()

    # -- actions: logs --------------------------------------------------------------------

    def action_logs(self) -> None:
        obj = self._require_selected()
        if obj is None or self.rt is None:
            return
        if self.rt.key != "pods":
            self.notify("logs are for pods: select a pod (:pods)", severity="warning")
            return
        self.open_logs(objects.namespace_of(obj), objects.name_of(obj))

    def action_shell(self) -> None:
        """s: k9s's shell. Pods here run no terminal, so the shell is the command bar
        holding `exec POD -- `: each line typed after it runs in the pod, like one command
        typed at a shell prompt."""
        obj = self._require_selected()
        if obj is None or self.rt is None:
            return
        if self.rt.key != "pods":
            self.notify("a shell is for pods: select a pod (:pods)", severity="warning")
            return
        name, ns = objects.name_of(obj), objects.namespace_of(obj)
        where = "" if ns == (self.namespace or "default") else f" -n {ns}"
        self.command_bar.start(BarMode.COMMAND, f"exec {name}{where} -- ", select=False)

    def open_logs(self, namespace: str, pod: str, container: str | None = None,
                  previous: bool = False) -> None:
        pane = self.log_pane
        pane.display = True
        pane.open(LogTarget(namespace, pod, container, previous=previous))
        pane.view.focus()
        self._layout_ha()

    def close_logs(self) -> None:
        pane = self.log_pane
        pane.close()
        pane.display = False
        self.table.focus()
        self._layout_ha()

    def action_log_toggle(self, what: str) -> None:
        if not self.log_pane.display:
            self.notify("open a pod's logs first (l)", severity="warning")
            return
        self.log_pane.action_switch(what)

    # -- actions: describe, YAML ----------------------------------------------------------

    async def action_describe(self) -> None:
        obj = self._require_selected()
        if obj is None or self.rt is None:
            return
        rt, name, ns = self.rt, objects.name_of(obj), objects.namespace_of(obj) or None
        text = await actions.describe_text(self.client, rt, ns, name)
        await self.push_screen(TextScreen(f"describe {kind_word(rt)}/{name}", text))

    async def action_yaml(self) -> None:
        obj = self._require_selected()
        if obj is None or self.rt is None:
            return
        rt, name, ns = self.rt, objects.name_of(obj), objects.namespace_of(obj) or None
        try:
            text = await actions.yaml_text(self.client, rt, ns, name)
        except errors.APIError as e:
            self.notify(e.message, severity="error")
            return
        await self.push_screen(TextScreen(f"yaml {kind_word(rt)}/{name}", text))

    # -- actions: kill, delete ------------------------------------------------------------

    async def action_kill(self) -> None:
        """ctrl-k: delete the selected pod with grace period 0, no questions."""
        obj = self._require_selected()
        if obj is None or self.rt is None:
            return
        if self.rt.key != "pods":
            self.notify(f"ctrl-k kills pods; ctrl-d deletes a {self.rt.kind}",
                        severity="warning")
            return
        mark = self.feed.note_fault("kill", [objects.object_key(obj)])
        if await self._report(actions.kill_pod(self.client, objects.namespace_of(obj),
                                                objects.name_of(obj))) is None:
            self.feed.forget(mark)

    def action_delete(self) -> None:
        """ctrl-d: delete the selected object after a confirmation."""
        obj = self._require_selected()
        if obj is None or self.rt is None:
            return
        rt, name, ns = self.rt, objects.name_of(obj), objects.namespace_of(obj) or None
        where = f" in namespace {ns}" if ns else ""

        async def answered(yes: bool | None) -> None:
            if yes:
                mark = self.feed.note_fault("delete", [objects.object_key(obj)]) \
                    if rt.key == "pods" else None
                line = await self._report(actions.delete_object(self.client, rt, ns, name))
                if line is None and mark is not None:
                    self.feed.forget(mark)

        self.push_screen(ConfirmScreen("Delete", f"Delete {kind_word(rt)}/{name}{where}?"),
                         answered)

    async def _report(self, call: Any) -> str | None:
        """Await an API call; notify its line, or its error as one line."""
        try:
            line = await call
        except errors.APIError as e:
            self.notify(e.message, severity="error")
            return None
        except FaultError as e:
            self.notify(str(e), severity="error")
            return None
        self.notify(str(line))
        return str(line)

    # -- actions: faults ------------------------------------------------------------------

    def fault_choices(self) -> tuple[str, list[FaultChoice]] | None:
        """The fault menu for the selected pod or node; None (with a notification) for
        other kinds."""
        obj = self._require_selected()
        if obj is None or self.rt is None:
            return None
        faults = self.connection.faults
        no_faults = "" if faults is not None else "this cluster takes no faults beyond its API"
        name = objects.name_of(obj)
        choices: list[FaultChoice] = []
        if self.rt.key == "pods":
            ns = objects.namespace_of(obj)
            pod_target = f"pod {ns}/{name}"
            node = (obj.get("spec") or {}).get("nodeName") or ""
            roles = self._known_roles()
            primaries = [k for k, r in roles.items() if r is Role.PRIMARY
                         and objects.split_key(k)[0] == ns and objects.split_key(k)[1] != name]
            sentinels = [k for k, r in roles.items() if r is Role.SENTINEL
                         and objects.split_key(k)[0] == ns and objects.split_key(k)[1] != name]
            choices += [FaultChoice(FaultKind.CRASH, "", no_faults),
                        FaultChoice(FaultKind.HANG, "", no_faults),
                        FaultChoice(FaultKind.THAW, "", no_faults),
                        FaultChoice(FaultKind.PARTITION_FROM_PRIMARY, "",
                                    no_faults or ("" if primaries else "no other primary known")),
                        FaultChoice(FaultKind.PARTITION_FROM_SENTINELS, "",
                                    no_faults or ("" if sentinels else "no sentinel pods")),
                        FaultChoice(FaultKind.HEAL, "", no_faults)]
            title = f"Faults: {pod_target}"
            if not node:
                return title, choices
        elif self.rt.key == "nodes":
            node = name
            title = f"Faults: node {node}"
            choices.append(FaultChoice(FaultKind.HEAL, "", no_faults))
        else:
            self.notify("faults are for pods and nodes: select one (:pods, :nodes)",
                        severity="warning")
            return None
        node_target = node if self.rt.key == "pods" else ""
        choices += [FaultChoice(FaultKind.KILL_NODE, node_target, no_faults),
                    FaultChoice(FaultKind.CORDON, node_target),
                    FaultChoice(FaultKind.DRAIN, node_target),
                    FaultChoice(FaultKind.UNCORDON, node_target)]
        return title, choices

    def action_faults(self) -> None:
        """f: the fault menu for the selected pod or node."""
        menu = self.fault_choices()
        if menu is None:
            return
        title, choices = menu
        obj = self.selected()

        async def chosen(kind: FaultKind | None) -> None:
            if kind is not None and obj is not None:
                await self.inject(kind, obj)

        self.push_screen(FaultMenu(title, choices), chosen)

    async def action_fault(self, kind: str) -> None:
        """A fault straight from the palette or a script, on the selected row."""
        menu = self.fault_choices()
        obj = self.selected()
        if menu is None or obj is None:
            return
        for choice in menu[1]:
            if choice.kind.value == kind:
                if choice.reason:
                    self.notify(f"{choice.kind.label}: {choice.reason}", severity="warning")
                    return
                await self.inject(choice.kind, obj)
                return
        self.notify(f"{kind} does not apply to the selected row", severity="warning")

    async def inject(self, kind: FaultKind, obj: dict[str, Any]) -> str | None:
        """Run one fault on the pod or node `obj`; notify what happened. A fault that may
        set a failover off is noted for the HA pane's timeline (and forgotten if it
        failed)."""
        name = objects.name_of(obj)
        is_pod = obj.get("kind") == "Pod" or (self.rt is not None and self.rt.key == "pods")
        ns = objects.namespace_of(obj)
        node = str((obj.get("spec") or {}).get("nodeName") or "") if is_pod else name
        if not node and kind in (FaultKind.CORDON, FaultKind.UNCORDON, FaultKind.DRAIN,
                                 FaultKind.KILL_NODE):
            self.notify(f"pod {name} is not on a node yet", severity="error")
            return None
        mark = None
        if kind in MARKED_FAULTS:
            hit = [f"{ns}/{name}"] if is_pod else []
            if kind in (FaultKind.KILL_NODE, FaultKind.DRAIN) and self.pods is not None:
                hit = self.pods.index_keys(NODE_INDEX, node)
            mark = self.feed.note_fault(kind.value, hit)
        line = await self._inject(kind, ns, name, node)
        if line is None and mark is not None:
            self.feed.forget(mark)
        return line

    async def _inject(self, kind: FaultKind, ns: str, name: str, node: str) -> str | None:
        faults = self.connection.faults
        if kind is FaultKind.CORDON:
            return await self._report(actions.set_unschedulable(self.client, node, True))
        if kind is FaultKind.UNCORDON:
            return await self._report(actions.set_unschedulable(self.client, node, False))
        if kind is FaultKind.DRAIN:
            return await self._report(actions.drain(self.client, node))
        if faults is None:
            self.notify("this cluster takes no faults beyond its API", severity="error")
            return None
        if kind is FaultKind.CRASH:
            return await self._report(faults.crash(ns, name))
        if kind is FaultKind.HANG:
            return await self._report(faults.hang(ns, name))
        if kind is FaultKind.THAW:
            return await self._report(faults.thaw(ns, name))
        if kind is FaultKind.HEAL:
            return await self._report(faults.heal())
        if kind is FaultKind.KILL_NODE:
            return await self._report(faults.kill_node(node))
        wanted = Role.PRIMARY if kind is FaultKind.PARTITION_FROM_PRIMARY else Role.SENTINEL
        peers = [objects.split_key(k)[1] for k, r in self._known_roles().items()
                 if r is wanted and objects.split_key(k)[0] == ns
                 and objects.split_key(k)[1] != name]
        if not peers:
            self.notify(f"no {wanted.value} to partition {name} from", severity="error")
            return None
        return await self._report(faults.partition(ns, name, sorted(peers)))

    # -- the command bar ------------------------------------------------------------------

    @work(group="commands")
    async def run_command(self, text: str) -> None:
        """Run one command-bar line; every outcome is a notification or a screen."""
        await self.execute(text)

    async def execute(self, text: str) -> bool:
        """Run one command-bar line and wait for it; False when it failed."""
        try:
            command = commands.parse_command(text)
        except commands.CommandError as e:
            self.notify(str(e), severity="error")
            return False
        try:
            return await self._execute(command)
        except (errors.APIError, LookupError) as e:
            self.notify(getattr(e, "message", None) or str(e), severity="error")
            return False

    async def _execute(self, command: commands.Command) -> bool:
        if isinstance(command, commands.Quit):
            self.exit(0)
            return True
        if isinstance(command, commands.ShowHelp):
            self.action_help()
            return True
        if isinstance(command, commands.ToggleHA):
            self.action_toggle_ha()
            return True
        if isinstance(command, commands.SetNamespace):
            ns = None if command.namespace == commands.ALL_NAMESPACES else command.namespace
            return await self.set_namespace(ns)
        if isinstance(command, commands.SwitchView):
            return await self._switch_to(command)
        if isinstance(command, commands.Logs):
            namespace = command.namespace or self.namespace or "default"
            try:
                await self.client.get("pods", command.pod, namespace)
            except errors.APIError as e:
                # As `kubectl logs` says it, rather than a pane opened on nothing.
                self.notify(api_error_line(e), severity="error")
                return False
            self.open_logs(namespace, command.pod, command.container, command.previous)
            return True
        assert isinstance(command, commands.RunKubectl)
        if self.readonly and command.verb in commands.WRITE_VERBS:
            self.notify(f"read-only: {command.verb} is disabled (the dashboard runs with "
                        f"--readonly)", severity="error")
            return False
        return await self._kubectl(command)

    async def _switch_to(self, command: commands.SwitchView) -> bool:
        word = VIEW_ALIASES.get(command.resource, command.resource)
        try:
            rt = await self.client.resolve(word)
        except (errors.APIError, LookupError):
            self.notify(f'the server doesn\'t have a resource type "{command.resource}"',
                        severity="error")
            return False
        namespace = self.namespace
        if command.namespace is not None:
            namespace = None if command.namespace == commands.ALL_NAMESPACES \
                else command.namespace
            self.namespace = namespace
        assert self.model is not None
        return await self.switch_view(rt, Scope(namespace=namespace))

    async def _kubectl(self, command: commands.RunKubectl) -> bool:
        if command.verb in ("get", "logs") and any(
                a in ("-w", "--watch", "--watch-only", "-f", "--follow")
                or a.startswith(("--watch=", "--follow=")) for a in command.argv[1:]):
            self.notify(f"{command.verb} would never end here: the table watches (:pods) "
                        f"and the log pane follows (l)", severity="error")
            return False
        kubectl = Kubectl(self.client, namespace=self.namespace or "default", cwd=Path.cwd())
        result = await kubectl.run(list(command.argv))
        self._show_output(" ".join(command.argv), result.exit_code, result.stdout,
                          result.stderr, long=command.verb in ("get", "describe",
                                                               "api-resources"))
        return result.exit_code == 0

    def _show_output(self, title: str, code: int, stdout: str, stderr: str, *,
                     long: bool) -> None:
        self.last_output = stdout + stderr
        out = stdout.rstrip("\n")
        if out and (long or out.count("\n") >= 6):
            self.push_screen(TextScreen(title, stdout))
        elif out:
            self.notify(out, title=title)
        if stderr.strip():
            self.notify(stderr.strip(), severity="error" if code else "warning", timeout=8)
        elif code and not out:
            self.notify(f"{title}: failed", severity="error")

    # -- help and palette -----------------------------------------------------------------

    def help_sections(self) -> list[HelpSection]:
        """Every binding and command, from the binding tables themselves."""
        return keys.help_sections(readonly=self.readonly,
                                  log_bindings=[b for b in LogPane.BINDINGS
                                                if isinstance(b, Binding)])

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if not isinstance(screen, MainScreen):
            return
        for spec in MAIN_BINDINGS:
            if self.readonly and spec.action in DESTRUCTIVE_ACTIONS:
                continue
            key = KEY_DISPLAY.get(spec.key, spec.key)
            yield SystemCommand(spec.long, f"key: {key}", self._runner(spec.action))
        yield SystemCommand("Drill in", "Open the selected row (enter)", self._runner("drill"))
        yield SystemCommand("Toggle the HA pane", "Show or hide the Redis HA pane",
                            self.action_toggle_ha)
        for what in ("follow", "wrap", "timestamps", "previous"):
            yield SystemCommand(f"Logs: toggle {what}", f"The log pane's {what} switch",
                                self._runner(f"log_toggle('{what}')"))
        for word in ("pods", "nodes", "deployments", "replicasets", "statefulsets", "services",
                     "endpoints", "pvc", "events", "redisfailovers", "crds", "namespaces"):
            yield SystemCommand(f"View {word}", f"Show {word} in the table (:{word})",
                                self._command_runner(word))
        if not self.readonly:
            for kind in FaultKind:
                yield SystemCommand(f"Fault: {kind.label.lower()}",
                                    "On the selected pod or node", self._runner(
                                        f"fault('{kind.value}')"))

    def _runner(self, action: str) -> Callable[[], Any]:
        async def run() -> None:
            await self.run_action(action)
        return run

    def _command_runner(self, text: str) -> Callable[[], Any]:
        def run() -> None:
            self.run_command(text)
        return run
