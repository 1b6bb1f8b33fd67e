"""The header: where the dashboard is attached and the cluster's health in one glance."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from tui.summary import Summary


class ClusterHeader(Static):
    """Two lines: context and namespace; nodes, pods, primary, epoch and write rate."""

    def show(self, summary: Summary, *, namespace: str | None, readonly: bool) -> None:
        nodes_ok = summary.nodes_ready == summary.nodes_total and summary.nodes_total > 0
        pods_ok = summary.pods_running == summary.pods_total
        first = Content.assemble(
            ("Context ", "$text-muted"), (summary.context, "bold"),
            ("   Namespace ", "$text-muted"), (namespace or "all", "bold"),
            *((("   READ-ONLY", "bold $warning"),) if readonly else ()),
        )
        primary_style = "bold $error" if len(summary.primaries) != 1 else "bold $success"
        second = Content.assemble(
            ("Nodes ", "$text-muted"),
            (f"{summary.nodes_ready}/{summary.nodes_total}", "bold" if nodes_ok else "bold $error"),
            (" Ready  ", "$text-muted"),
            ("Pods ", "$text-muted"),
            (f"{summary.pods_running}/{summary.pods_total}", "bold" if pods_ok else "bold $warning"),
            (" Running  ", "$text-muted"),
            ("Primary ", "$text-muted"), (summary.primary, primary_style),
            ("  Epoch ", "$text-muted"), (summary.epoch, "bold"),
            ("  Writes/s ", "$text-muted"), (summary.write_rate, "bold"),
        )
        self.update(Content("\n").join([first, second]))
