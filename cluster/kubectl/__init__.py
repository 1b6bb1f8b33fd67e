"""A kubectl-style command layer over `cluster.client.Client`.

`Kubectl(client).run(["get", "pods"])` returns a `CommandResult` with kubectl's output;
the CLI, the dashboard's command bar and the tutorial runner share it. Column definitions
(`columns`), serialisation (`printing`) and describers (`describe`) are reusable on their
own, e.g. by the dashboard's tables.
"""

from cluster.kubectl.commands import CommandResult, Kubectl

__all__ = ["CommandResult", "Kubectl"]
