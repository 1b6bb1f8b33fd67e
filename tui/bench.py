"""`redisha bench tui`: how fast the dashboard shows a change, with thousands of pods.

Two delays, each measured on the real app running headless:

- **status → screen**: from the moment a pod's status is written through the client (as a
  kubelet would write it) to the moment the screen has been repainted with the new STATUS
  cell. The path is the whole pipeline: watch event, informer, dirty key, throttled
  flush, cell update, repaint.
- **key → frame**: from a key press (`down`/`up`, sent through the driver as a terminal
  would) to the repaint that shows the cursor on its new row.

"Repainted" is Textual's `call_after_refresh`, which runs after the compositor has
written the frame to the driver. Changes are spaced at random (0–150 ms apart), so both
the throttle's leading edge and its 10 Hz trailing edge are sampled.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

from cluster.api import errors, objects
from cluster.client import Client
from tui.app import DashboardApp, DashboardSettings
from tui.connection import Connection

NAMESPACE = "bench"
NODE = "bench-node"


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p95: float

    @classmethod
    def of(cls, samples: list[float]) -> "Percentiles":
        ordered = sorted(samples)
        if not ordered:
            return cls(float("nan"), float("nan"))
        p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
        return cls(round(statistics.median(ordered), 1), round(p95, 1))

    def to_json(self) -> dict[str, float]:
        return {"p50": self.p50, "p95": self.p95}


@dataclass(frozen=True)
class TuiBenchResult:
    pods: int
    status_to_screen_ms: Percentiles
    key_to_frame_ms: Percentiles
    samples: int
    fill_seconds: float
    """How long the table took to show every pod after the app started."""

    def to_json(self) -> dict[str, Any]:
        return {"pods": self.pods, "status_to_screen_ms": self.status_to_screen_ms.to_json(),
                "key_to_frame_ms": self.key_to_frame_ms.to_json()}

    def to_text(self) -> str:
        s, k = self.status_to_screen_ms, self.key_to_frame_ms
        return (f"pods: {self.pods} (table filled in {self.fill_seconds:.1f} s)\n"
                f"status -> screen: p50 {s.p50} ms, p95 {s.p95} ms ({self.samples} changes)\n"
                f"key -> frame:     p50 {k.p50} ms, p95 {k.p95} ms ({self.samples} presses)")


def _pod(i: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"bench-{i:05d}", "labels": {"app": "bench"}},
            "spec": {"nodeName": NODE, "containers": [{"name": "main", "image": "pause"}]}}


def _status(pod: dict[str, Any], crashing: bool, now: float) -> dict[str, Any]:
    started = objects.format_time(now)
    state: dict[str, Any] = ({"waiting": {"reason": "CrashLoopBackOff"}} if crashing
                             else {"running": {"startedAt": started}})
    pod["status"] = {
        "phase": "Running", "podIP": "10.0.0.1", "hostIP": "10.0.0.254",
        "conditions": [{"type": "Ready", "status": "False" if crashing else "True"}],
        "containerStatuses": [{"name": "main", "image": "pause", "imageID": "pause",
                               "ready": not crashing, "restartCount": 0, "started": not crashing,
                               "state": state}],
    }
    return pod


async def create_pods(client: Client, count: int) -> list[dict[str, Any]]:
    """`count` Running pods in the bench namespace, bound to a node no kubelet serves."""
    try:
        await client.create({"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": NAMESPACE}})
    except errors.AlreadyExists:
        pass
    now = time.time()
    pods = []
    for i in range(count):
        pod = await client.create(_pod(i), NAMESPACE)
        pods.append(await client.update_status(_status(pod, False, now)))
        if i % 500 == 499:
            await asyncio.sleep(0)
    return pods


async def _until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench: timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.01)


async def run(client: Client, *, pods: int, samples: int = 100,
              size: tuple[int, int] = (120, 40), seed: int = 1) -> TuiBenchResult:
    """Create `pods` pods, open the dashboard on them headless, and measure."""
    rng = random.Random(seed)
    created = {objects.object_key(p): p for p in await create_pods(client, pods)}
    app = DashboardApp(Connection(client, context="bench", namespace=NAMESPACE),
                       settings=DashboardSettings(probe_roles=False))
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    async with app.run_test(size=size) as pilot:
        async with asyncio.timeout(60):
            await app.attached.wait()
        await _until(lambda: app.table.row_count >= pods, 300, f"{pods} rows")
        fill = time.perf_counter() - started
        await pilot.pause()

        waiting: dict[str, Any] = {"key": None, "painted": None}

        def resolve() -> None:
            painted = waiting["painted"]
            if painted is not None and not painted.done():
                painted.set_result(time.perf_counter())

        def flushed(keys: set[str]) -> None:
            if waiting["key"] in keys:
                app.call_after_refresh(resolve)

        def moved(_: object) -> None:
            if waiting["key"] == "cursor":
                app.call_after_refresh(resolve)

        app.flush_observers.append(flushed)
        app.watch(app.table, "cursor_row", moved, init=False)

        status_ms: list[float] = []
        crashing: dict[str, bool] = {}
        for _ in range(samples):
            key = rng.choice(app.table.visible_keys())
            waiting.update(key=key, painted=loop.create_future())
            crashing[key] = not crashing.get(key, False)
            pod = _status(objects.clone(created[key]), crashing[key], time.time())
            t0 = time.perf_counter()
            created[key] = await client.update_status(pod)
            async with asyncio.timeout(10):
                t1 = await waiting["painted"]
            status_ms.append((t1 - t0) * 1000)
            await asyncio.sleep(rng.uniform(0, 0.15))

        key_ms: list[float] = []
        app.table.focus()
        await pilot.pause()
        for i in range(samples):
            waiting.update(key="cursor", painted=loop.create_future())
            t0 = time.perf_counter()
            await pilot.press("down" if (i // 10) % 2 == 0 else "up")
            async with asyncio.timeout(10):
                t1 = await waiting["painted"]
            key_ms.append((t1 - t0) * 1000)
            await asyncio.sleep(rng.uniform(0, 0.05))
        return TuiBenchResult(pods, Percentiles.of(status_ms), Percentiles.of(key_ms),
                              samples, fill)
