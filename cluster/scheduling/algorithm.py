"""One scheduling attempt: filter the nodes, score the feasible ones, pick the best.

This is kube-scheduler's `schedulePod`, over the `SchedulerCache`, with no I/O:

- **Static verdicts are cached.** The node-only filters (unschedulable, taints, node
  selector and affinity) give the same answer for every pod with the same tolerations and
  node constraints, e.g. all replicas of a Deployment; the nodes that pass are remembered
  per pod shape until a node changes (`SchedulerCache.generation`).
- **Enough is enough.** Like kube-scheduler's `percentageOfNodesToScore`, the search stops
  once it has found `num_feasible_nodes_to_find` feasible nodes, and the next search starts
  where this one stopped, so every node gets its turn.
- **Ties are broken by the injected random generator**, as kube-scheduler's `selectHost`
  picks uniformly among the best; a seeded generator makes runs repeatable.
"""

from __future__ import annotations

import itertools
import operator
import random
from dataclasses import dataclass

from cluster.scheduling import filters, scores
from cluster.scheduling.cache import SchedulerCache
from cluster.scheduling.diagnosis import Diagnosis
from cluster.scheduling.filters import AffinityState, Rejection
from cluster.scheduling.infos import NodeInfo, PodInfo

_MEMO_SCORE = operator.attrgetter("memo_score")

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
STATIC_CACHE_SIZE = 512
"""Pod shapes whose static verdicts are kept; more distinct shapes than this start over."""


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    """How many feasible nodes are enough (kube-scheduler's `numFeasibleNodesToFind`).

    Under 100 nodes, all of them. `percentage` 0 is adaptive: 50% minus one point per 125
    nodes, at least 5%; and never fewer than 100 nodes.
    """
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND or percentage >= 100:
        return num_all_nodes
    if percentage <= 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    """Where the pod should go, or why it cannot go anywhere."""

    node: str | None
    diagnosis: Diagnosis | None = None
    evaluated: int = 0
    """Nodes the filters looked at."""
    feasible: int = 0
    """Nodes that passed every filter (and were scored)."""


@dataclass(slots=True)
class _StaticFit:
    """The nodes passing the static filters for one pod shape, at one node generation."""

    generation: int
    nodes: list[NodeInfo]
    rejections: dict[str, Rejection]
    position: dict[int, int]
    """id(node) -> its index in `nodes`."""


@dataclass(slots=True)
class _Window:
    """One search: which nodes were looked at, and which passed."""

    static: _StaticFit
    start: int
    evaluated: int
    feasible: list[NodeInfo]
    rejections: dict[str, Rejection]
    memoized: bool = False
    """Every feasible node's memo is for this pod's request profile."""


class Algorithm:
    """Filters and scores over a `SchedulerCache`; keeps only search bookkeeping itself."""

    def __init__(self, cache: SchedulerCache, *, percentage_of_nodes_to_score: int = 0,
                 rng: random.Random | None = None) -> None:
        self.cache = cache
        self.percentage = percentage_of_nodes_to_score
        self.rng = rng if rng is not None else random.Random()
        self._static: dict[tuple[object, ...], _StaticFit] = {}
        self._profiles: dict[tuple[int, int, int, int], tuple[int, int, int, int]] = {}
        self._next_start = 0
        self._prefer_checked = -1
        self._prefer_any = False
        # The verdict over all nodes for one request profile (see `_whole_window`).
        self._last_plain: tuple[int, int, int, int] | None = None
        self._tracked: tuple[int, int, int, int] | None = None
        self._tracked_static: _StaticFit | None = None
        self._unfit: set[NodeInfo] = set()

    def schedule(self, pod: PodInfo) -> ScheduleResult:
        all_nodes = self.cache.node_list()
        if not all_nodes:
            return ScheduleResult(None, Diagnosis(0, {}, pod.preempt_never))
        static = self._static_fit(pod, all_nodes)
        state = self._affinity_state(pod)
        window = self._find_feasible(pod, static, state, len(all_nodes))
        if not window.feasible:
            rejections = dict(static.rejections)
            rejections.update(window.rejections)
            return ScheduleResult(None, Diagnosis(len(all_nodes), rejections, pod.preempt_never),
                                  window.evaluated, 0)
        node = window.feasible[0] if len(window.feasible) == 1 else self._select(pod, window)
        return ScheduleResult(node.name, None, window.evaluated, len(window.feasible))

    # -- filtering --------------------------------------------------------------------------------

    def _static_fit(self, pod: PodInfo, all_nodes: list[NodeInfo]) -> _StaticFit:
        generation = self.cache.generation
        fit = self._static.get(pod.static_key)
        if fit is not None and fit.generation == generation:
            return fit
        if len(self._static) >= STATIC_CACHE_SIZE:
            self._static.clear()
        passing: list[NodeInfo] = []
        rejections: dict[str, Rejection] = {}
        for node in all_nodes:
            rejection = filters.static_filters(pod, node)
            if rejection is None:
                passing.append(node)
            else:
                rejections[node.name] = rejection
        position = {id(node): i for i, node in enumerate(passing)}
        fit = self._static[pod.static_key] = _StaticFit(generation, passing, rejections, position)
        return fit

    def _affinity_state(self, pod: PodInfo) -> AffinityState | None:
        cache = self.cache
        if not (pod.required_affinity or pod.required_anti or cache.with_required_anti):
            return None
        state = filters.affinity_state(
            pod, candidates=cache.candidates, with_required_anti=cache.with_required_anti.values(),
            node_of=cache.node, namespace_labels=cache.namespace_labels)
        if state.empty and not pod.required_affinity:
            return None
        return state

    def _profile(self, pod: PodInfo) -> tuple[int, int, int, int]:
        """The pod's request profile, one shared tuple per distinct profile, so that a
        node's memo is recognised by identity."""
        key = (pod.milli_cpu, pod.memory, pod.nonzero_cpu, pod.nonzero_mem)
        profile = self._profiles.get(key)
        if profile is None:
            if len(self._profiles) >= STATIC_CACHE_SIZE:
                self._profiles.clear()
            profile = self._profiles[key] = key
        return profile

    def _find_feasible(self, pod: PodInfo, static: _StaticFit, state: AffinityState | None,
                       num_all_nodes: int) -> _Window:
        """Run the dynamic filters from the rotating start until enough nodes pass."""
        nodes = static.nodes
        count = len(nodes)
        start = self._next_start % count if count else 0
        window = _Window(static, start, 0, [], {})
        if not count:
            return window
        wanted = num_feasible_nodes_to_find(self.percentage, num_all_nodes)
        rotated = nodes[start:] + nodes[:start] if start else nodes
        feasible, rejections = window.feasible, window.rejections
        evaluated = 0
        if pod.host_ports or pod.scalar or state is not None:
            for node in rotated:
                evaluated += 1
                rejection = filters.dynamic_filters(pod, node, state)
                if rejection is not None:
                    rejections[node.name] = rejection
                    continue
                feasible.append(node)
                if len(feasible) >= wanted:
                    break
        else:
            # The common pod asks for cpu and memory only: each node answers from its memo
            # for this request profile (see `NodeInfo.fit_and_score`), chunk by chunk, and
            # only nodes that fall short go through the full filters, for exact reasons.
            profile = self._profile(pod)
            whole = self._whole_window(static, profile, start, wanted)
            if whole is not None:
                window.feasible = whole
                window.evaluated = len(whole)
                window.memoized = True
                self._next_start = (start + len(whole)) % count
                return window
            while evaluated < count and len(feasible) < wanted:
                chunk = rotated[evaluated:evaluated + wanted - len(feasible)]
                evaluated += len(chunk)
                fit = [n for n in chunk
                       if (n.memo_fits if n.memo_profile is profile
                           else self._memoize(n, profile))]
                if len(fit) < len(chunk):
                    for node in chunk:
                        if not node.memo_fits:
                            rejection = filters.dynamic_filters(pod, node, None)
                            if rejection is not None:
                                rejections[node.name] = rejection
                feasible += fit
            window.memoized = True
        window.evaluated = evaluated
        self._next_start = (start + evaluated) % count
        return window

    def _whole_window(self, static: _StaticFit, profile: tuple[int, int, int, int],
                      start: int, wanted: int) -> list[NodeInfo] | None:
        """The window itself, when every node passing the static filters fits `profile`;
        None when some node does not (or the verdict is not kept yet): search as usual.

        A run of pods with one request profile (a Deployment's replicas) keeps a verdict
        over all the static nodes: which of them do not fit. Only the nodes touched since
        the last pod (`SchedulerCache.touched`: the one a pod just landed on) are asked
        again, so while every node fits, the window is a slice, not a walk over hundreds
        of nodes. The result is the very list the search would build.
        """
        nodes = static.nodes
        touched = self.cache.touched
        if self._tracked is not profile or self._tracked_static is not static:
            if self._last_plain is not profile:
                # The first pod of a run: not worth a pass over every node yet.
                self._last_plain = profile
                self._tracked = None
                return None
            touched.clear()
            self._unfit = {node for node in nodes if not node.fit_and_score(profile)}
            self._tracked, self._tracked_static = profile, static
        elif touched:
            position, unfit = static.position, self._unfit
            for node in touched:
                if id(node) in position:
                    if node.fit_and_score(profile):
                        unfit.discard(node)
                    else:
                        unfit.add(node)
            touched.clear()
        if self._unfit:
            return None
        count = len(nodes)
        end = start + wanted
        if end <= count:
            return nodes[start:end]
        return nodes[start:] + nodes[:min(end - count, start)]

    def _memoize(self, node: NodeInfo, profile: tuple[int, int, int, int]) -> bool:
        """`node.fit_and_score(profile)`, dropping the kept verdict if it is for another
        profile: the node's memo no longer matches it."""
        if profile is not self._tracked:
            self._tracked = None
        return node.fit_and_score(profile)

    # -- scoring ----------------------------------------------------------------------------------

    def _select(self, pod: PodInfo, window: _Window) -> NodeInfo:
        """The best-scoring feasible node; ties go to the random generator."""
        feasible = window.feasible
        totals = self._score(pod, window)
        best = max(totals)
        tied = totals.count(best)
        if tied == 1:
            return feasible[totals.index(best)]
        # `rng.choice` over the tied indexes, without listing them all: the same draw
        # picks the same one, found by walking only up to it.
        nth = self.rng.choice(range(tied))
        at = itertools.compress(range(len(totals)), map(best.__eq__, totals))
        return feasible[next(itertools.islice(at, nth, None))]

    def score(self, pod: PodInfo, feasible: list[NodeInfo]) -> list[int]:
        """The weighted total of every plugin's normalised score for each of `feasible`."""
        position = {id(node): i for i, node in enumerate(feasible)}
        window = _Window(_StaticFit(-1, feasible, {}, position), 0, len(feasible),
                         list(feasible), {})
        spread_top = scores.WEIGHT_SPREAD * scores.MAX_NODE_SCORE if pod.owner_uid else 0
        return [total + spread_top for total in self._score(pod, window)]

    def _score(self, pod: PodInfo, window: _Window) -> list[int]:
        """The totals, less the spreading plugin's top score (the same for every node).

        Plugins whose scores are equal on every node are skipped, as they cannot change the
        choice; LeastAllocated and spreading come from memos and indexes, as they run for
        every feasible node of every pod.
        """
        feasible = window.feasible
        profile = self._profile(pod)
        # LeastAllocated (weight 1), from the nodes' memos for this request profile.
        if not window.memoized:
            for node in feasible:
                if node.memo_profile is not profile:
                    self._memoize(node, profile)
        totals = list(map(_MEMO_SCORE, feasible))
        hosts = self.cache.owner_nodes.get(pod.owner_uid) if pod.owner_uid else None
        if hosts:
            self._spread(pod, window, hosts, totals)
        if pod.preferred_node:
            raw = [scores.preferred_node_affinity(pod, node) for node in feasible]
            self._add(totals, scores.default_normalize(raw), scores.WEIGHT_NODE_AFFINITY)
        if self._prefer_no_schedule_anywhere() and any(n.prefer_no_schedule for n in feasible):
            raw = [scores.untolerated_prefer_no_schedule(pod, node) for node in feasible]
            self._add(totals, scores.default_normalize(raw, reverse=True),
                      scores.WEIGHT_TAINT_TOLERATION)
        if pod.preferred_affinity or pod.preferred_anti:
            raw = self._pod_affinity_raw(pod, feasible)
            self._add(totals, scores.min_max_normalize(raw), scores.WEIGHT_INTER_POD_AFFINITY)
        return totals

    def _spread(self, pod: PodInfo, window: _Window, hosts: dict[str, NodeInfo],
                totals: list[int]) -> None:
        """Spreading (weight 2): a node scores `100 * (max - count) // max` for `count` pods
        of the same owner, max taken over the feasible nodes, 100 when none has any.

        `totals` leave out the top score, so only the feasible nodes holding some of the
        owner's pods are visited, and lowered by what they fall short of the top.
        """
        feasible = window.feasible
        owner = pod.owner_uid
        located: list[tuple[int, int]] | None = None
        if 3 * len(hosts) < len(feasible) and len(feasible) == window.evaluated:
            # Nothing was rejected, so the feasible nodes are the window itself, in order: a
            # host's index follows from its place in the static list, and only the owner's
            # few nodes are visited.
            position_of, start = window.static.position.get, window.start
            size, evaluated = len(window.static.nodes), window.evaluated
            located = []
            for node in hosts.values():
                at = position_of(id(node))
                if at is not None:
                    index = at - start
                    if index < 0:
                        index += size
                    if index < evaluated:
                        located.append((index, node.owners.get(owner, 0)))
        if located is None:
            counts = [n.owners.get(owner, 0) for n in feasible]
            located = [(i, k) for i, k in enumerate(counts) if k]
        if not located:
            return
        highest = max(k for _, k in located)
        weight, top = scores.WEIGHT_SPREAD, scores.MAX_NODE_SCORE
        for index, count in located:
            totals[index] -= weight * (top - top * (highest - count) // highest)

    def _pod_affinity_raw(self, pod: PodInfo, feasible: list[NodeInfo]) -> list[int]:
        cache = self.cache
        placed: dict[str, PodInfo] = {}
        terms = [w.term for w in pod.preferred_affinity] + [w.term for w in pod.preferred_anti]
        for term in terms:
            for other in cache.candidates(term):
                placed[other.key] = other
        weights = scores.pod_affinity_weights(pod, list(placed.values()), cache.node,
                                              cache.namespace_labels)
        keys = sorted({term.topology_key for term in terms})
        return [scores.pod_affinity_raw(node, weights, keys) for node in feasible]

    def _prefer_no_schedule_anywhere(self) -> bool:
        """Whether any node has a PreferNoSchedule taint (rechecked when nodes change)."""
        generation = self.cache.generation
        if self._prefer_checked != generation:
            self._prefer_checked = generation
            self._prefer_any = any(n.prefer_no_schedule for n in self.cache.node_list())
        return self._prefer_any

    @staticmethod
    def _add(totals: list[int], plugin_scores: list[int], weight: int) -> None:
        for i, value in enumerate(plugin_scores):
            totals[i] += weight * value
