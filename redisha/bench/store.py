"""`redisha bench store`: write throughput and watch delivery latency of the store.

Three phases per configuration — create N pods, update each, delete each — with the writer
yielding to the event loop every `batch` writes, as concurrent API clients would. Each
watcher has its own consumer task reading its watch with `async for`, as an informer
does. Throughput is counted from the first write until the last event of the phase has
reached every watcher that should see it, so a store that buffers without delivering
does not look fast. Delivery latency is the time from a write's return to the moment a
consumer takes its event.

Watcher shapes: `watchers_10` are ten unfiltered watches (controllers: every event goes
to every one of them); `watchers_1000` are a thousand kubelet-shaped watches with
disjoint `spec.nodeName` selectors over pods bound round-robin to 1,000 nodes (each
event goes to exactly one), which is the case the store's watcher index exists for.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from cluster.store import Store, Watcher

CONFIGS: tuple[tuple[str, int, bool], ...] = (
    ("watchers_0", 0, False),
    ("watchers_10", 10, False),
    ("watchers_1000", 1000, True),
)


@dataclass
class PhaseFigures:
    creates_per_s: float
    updates_per_s: float
    deletes_per_s: float
    writes_per_s: float
    delivery_p50_ms: float | None
    delivery_p99_ms: float | None


@dataclass
class StoreFigures:
    writes: int
    memory: dict[str, PhaseFigures] = field(default_factory=dict)
    persistent: dict[str, PhaseFigures] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "writes_per_s": {k: round(v.writes_per_s) for k, v in self.memory.items()},
            "delivery_p99_ms": {k: _round(v.delivery_p99_ms) for k, v in self.memory.items()},
            "detail": {k: vars(v) for k, v in self.memory.items()},
        }
        if self.persistent:
            out["persistent"] = {
                "writes_per_s": {k: round(v.writes_per_s) for k, v in self.persistent.items()},
                "delivery_p99_ms": {k: _round(v.delivery_p99_ms)
                                    for k, v in self.persistent.items()},
            }
        return out

    def to_text(self) -> str:
        lines = [f"store benchmark: {self.writes} creates, updates and deletes per configuration"]
        for title, table in (("in memory", self.memory), ("SQLite (WAL)", self.persistent)):
            if not table:
                continue
            lines.append(f"\n{title}")
            lines.append(f"{'watchers':<14}{'creates/s':>11}{'updates/s':>11}{'deletes/s':>11}"
                         f"{'writes/s':>11}{'p50 ms':>9}{'p99 ms':>9}")
            for name, f in table.items():
                lines.append(f"{name:<14}{f.creates_per_s:>11,.0f}{f.updates_per_s:>11,.0f}"
                             f"{f.deletes_per_s:>11,.0f}{f.writes_per_s:>11,.0f}"
                             f"{_fmt(f.delivery_p50_ms):>9}{_fmt(f.delivery_p99_ms):>9}")
        return "\n".join(lines)


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _pod(i: int, nodes: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"bench-{i}", "namespace": "default", "uid": f"uid-{i}",
                     "labels": {"app": "bench"}},
        "spec": {"nodeName": f"node-{i % nodes}" if nodes else "",
                 "containers": [{"name": "c", "image": "pause"}]},
        "status": {"phase": "Pending"},
    }


class _Consumer:
    """Reads one watch like an informer would, timing each event it takes."""

    def __init__(self, watcher: Watcher, written_at: dict[int, float],
                 latencies: list[float]) -> None:
        self.watcher = watcher
        self.seen = 0
        self._written_at = written_at
        self._latencies = latencies

    async def run(self) -> None:
        clock = time.perf_counter
        written_at, latencies = self._written_at, self._latencies
        async for event in self.watcher:
            t = written_at.get(event.revision)
            if t is not None:
                latencies.append(clock() - t)
            self.seen += 1


async def _phase(store: Store, ops: list[Any], consumers: list[_Consumer], expected: int,
                 written_at: dict[int, float], batch: int) -> float:
    """Run the writes in `ops`; return seconds until every consumer has them all."""
    clock = time.perf_counter
    start = clock()
    for i, op in enumerate(ops):
        op()
        written_at[store.revision] = clock()
        if i % batch == batch - 1:
            await asyncio.sleep(0)
    while any(c.seen < expected for c in consumers):
        await asyncio.sleep(0)
    return clock() - start


async def _one(writes: int, watchers: int, by_node: bool, state_path: str | None,
               batch: int) -> PhaseFigures:
    store = Store(path=state_path)
    nodes = watchers if by_node else 0
    latencies: list[float] = []
    written_at: dict[int, float] = {}
    consumers = []
    for i in range(watchers):
        fs = f"spec.nodeName=node-{i}" if by_node else None
        consumers.append(_Consumer(store.watch("pods", field_selector=fs, since=store.revision),
                                   written_at, latencies))
    tasks = [asyncio.create_task(c.run()) for c in consumers]
    pods = [_pod(i, nodes) for i in range(writes)]

    def per_watcher(phase_index: int) -> int:
        total = writes * phase_index
        return total // watchers if by_node and watchers else total

    creates = [lambda p=p: store.create("pods", p) for p in pods]
    t_create = await _phase(store, creates, consumers, per_watcher(1), written_at, batch)

    def bump(p: dict[str, Any]) -> None:
        q = dict(p, status={"phase": "Running"})
        q["metadata"] = dict(p["metadata"])
        store.update("pods", q, expected_version=p["metadata"]["resourceVersion"])

    updates = [lambda p=p: bump(p) for p in pods]
    t_update = await _phase(store, updates, consumers, per_watcher(2), written_at, batch)
    deletes = [lambda p=p: store.delete("pods", "default", p["metadata"]["name"]) for p in pods]
    t_delete = await _phase(store, deletes, consumers, per_watcher(3), written_at, batch)

    for c in consumers:
        c.watcher.close_now()
    await asyncio.gather(*tasks)
    store.close()
    total = t_create + t_update + t_delete
    samples = [x * 1000 for x in latencies]
    return PhaseFigures(
        creates_per_s=writes / t_create, updates_per_s=writes / t_update,
        deletes_per_s=writes / t_delete, writes_per_s=3 * writes / total,
        delivery_p50_ms=_percentile(samples, 0.50) if samples else None,
        delivery_p99_ms=_percentile(samples, 0.99) if samples else None)


async def run(*, writes: int = 20_000, state_path: str | None = None,
              batch: int = 64) -> StoreFigures:
    """Measure every configuration in memory, and with SQLite when `state_path` is given."""
    figures = StoreFigures(writes=writes)
    for name, watchers, by_node in CONFIGS:
        figures.memory[name] = await _one(writes, watchers, by_node, None, batch)
    if state_path:
        for name, watchers, by_node in CONFIGS:
            with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(state_path))) as d:
                figures.persistent[name] = await _one(writes, watchers, by_node,
                                                      os.path.join(d, "bench.db"), batch)
    return figures
