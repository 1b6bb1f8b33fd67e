"""The scheduler's parts: pure decisions (filters, scores, diagnosis) and its bookkeeping.

`cluster/scheduler.py` is the runnable component: informers in, bindings, events and pod
conditions out. Everything here is free of I/O, so each decision can be tested on plain
records:

- `resources`: what a pod requests and what a node can hold (kube-scheduler's accounting);
- `constraints`: a pod's taints/tolerations, node selectors and (anti-)affinity, compiled once;
- `infos`: `PodInfo` and `NodeInfo`, the records filters and scores read;
- `filters` and `scores`: functions of (pod, node, the node's pods) -> verdict or score;
- `diagnosis`: the `0/3 nodes are available: ...` message kube-scheduler writes;
- `cache`: per-node aggregates kept up to date from watch events, plus assumed pods;
- `algorithm`: filter, score and pick one node for one pod;
- `queue`: the active, back-off and unschedulable queues.
"""
