"""`redisha tutorial`: the Kubernetes tutorial redisha grew from, replayed and checked.

The walkthrough (steps 2 to 6 of shared/tutorial/walkthrough.md) runs on a fresh
embedded cluster: each command is printed with kubectl's output, each outcome the
tutorial shows is compared with what the cluster did, and the run ends with a count.

- `checks`: the tutorial's outcomes as data (`Expected`) and pure comparisons;
- `manifests`: the tutorial's files, verbatim, and the scheduling example's pod;
- `replay`: `Replay`, what a step works with (kubectl, waits, check recording);
- `steps`: the steps themselves (`STEPS`);
- `runner`: the cluster shaped like the tutorial's, the run, the count (`main`).
"""
