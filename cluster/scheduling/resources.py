"""What a pod requests and what a node offers, in kube-scheduler's units.

CPU is counted in millicores and everything else in whole units (bytes for memory), each
rounded up, as `resource.Quantity`'s `MilliValue()` and `Value()` do; integers keep the
hot path of the scheduler cheap and exact.

A pod's request is the larger of what its regular containers need together (plus sidecars,
init containers with `restartPolicy: Always`, which keep running) and what the most
demanding init container needs while it runs (plus the sidecars started before it), plus
`spec.overhead`. This is `resourcehelper.PodRequests` with sidecars enabled, as in 1.32.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

from cluster.api import quantity

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"
EPHEMERAL_STORAGE = "ephemeral-storage"

DEFAULT_MILLI_CPU_REQUEST = 100
"""CPU a container without a cpu request is assumed to use when *scoring* (not filtering),
so that many request-less pods do not pile onto one node (kube-scheduler's non-zero value)."""

DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
"""Memory, likewise: 200Mi."""


class QuantityParser:
    """Parses quantity strings to integers, remembering each string it has seen.

    Pods of one template repeat the same few strings (`100m`, `2Gi`) thousands of times, and
    parsing through `Fraction`s costs microseconds; a per-scheduler memo makes it a lookup.
    """

    def __init__(self) -> None:
        self._milli: dict[Any, int] = {}
        self._whole: dict[Any, int] = {}

    def milli(self, text: Any) -> int:
        """Thousandths, rounded up (`500m` -> 500, `2` -> 2000); 0 for malformed input."""
        value = self._milli.get(text)
        if value is None:
            value = self._milli[text] = _parse(text, quantity.milli_value)
        return value

    def whole(self, text: Any) -> int:
        """Whole units, rounded up (`2Gi` -> 2147483648); 0 for malformed input."""
        value = self._whole.get(text)
        if value is None:
            value = self._whole[text] = _parse(text, quantity.int_value)
        return value

    def amount(self, resource: str, text: Any) -> int:
        """`resource`'s quantity in its scheduler unit (millicores for cpu)."""
        return self.milli(text) if resource == CPU else self.whole(text)


def _parse(text: Any, unit: Any) -> int:
    try:
        return int(unit(quantity.parse_quantity(text)))
    except (quantity.QuantityError, TypeError, ValueError, ZeroDivisionError):
        # Validation rejects malformed quantities before they are stored; a stray one must
        # not crash the scheduler, so it counts as nothing.
        return 0


@dataclass(slots=True)
class Resources:
    """An amount of each resource: cpu in millicores, the rest in whole units."""

    milli_cpu: int = 0
    memory: int = 0
    scalar: dict[str, int] = field(default_factory=dict)
    """Every other resource (`ephemeral-storage`, `nvidia.com/gpu`, hugepages...)."""

    def add(self, other: "Resources") -> None:
        self.milli_cpu += other.milli_cpu
        self.memory += other.memory
        for name, amount in other.scalar.items():
            self.scalar[name] = self.scalar.get(name, 0) + amount

    def set_max(self, other: "Resources") -> None:
        self.milli_cpu = max(self.milli_cpu, other.milli_cpu)
        self.memory = max(self.memory, other.memory)
        for name, amount in other.scalar.items():
            if amount > self.scalar.get(name, 0):
                self.scalar[name] = amount

    def copy(self) -> "Resources":
        return Resources(self.milli_cpu, self.memory, dict(self.scalar))


def resource_list(values: Mapping[str, Any] | None, parser: QuantityParser, *,
                  non_zero: bool = False) -> Resources:
    """A `ResourceList` (`{"cpu": "500m", "memory": "1Gi"}`) as `Resources`.

    With `non_zero`, a missing cpu or memory entry counts as the scoring defaults.
    """
    out = Resources()
    if isinstance(values, Mapping):
        for name, text in values.items():
            if name == CPU:
                out.milli_cpu = parser.milli(text)
            elif name == MEMORY:
                out.memory = parser.whole(text)
            elif name != PODS:
                amount = parser.whole(text)
                if amount:
                    out.scalar[name] = amount
    if non_zero:
        if not isinstance(values, Mapping) or CPU not in values:
            out.milli_cpu = DEFAULT_MILLI_CPU_REQUEST
        if not isinstance(values, Mapping) or MEMORY not in values:
            out.memory = DEFAULT_MEMORY_REQUEST
    return out


def _container_requests(container: Any, parser: QuantityParser, non_zero: bool) -> Resources:
    resources = container.get("resources") if isinstance(container, dict) else None
    requests = resources.get("requests") if isinstance(resources, dict) else None
    return resource_list(requests, parser, non_zero=non_zero)


def pod_requests(spec: Mapping[str, Any], parser: QuantityParser, *,
                 non_zero: bool = False) -> Resources:
    """The pod's effective request (see the module docstring).

    `non_zero=True` gives the figure used for scoring, where containers without cpu or
    memory requests count as 100m and 200Mi.
    """
    total = Resources()
    for container in spec.get("containers") or ():
        total.add(_container_requests(container, parser, non_zero))
    sidecars = Resources()
    init_peak = Resources()
    for container in spec.get("initContainers") or ():
        request = _container_requests(container, parser, non_zero)
        if isinstance(container, dict) and container.get("restartPolicy") == "Always":
            sidecars.add(request)
            running = sidecars.copy()
        else:
            running = request
            running.add(sidecars)
        init_peak.set_max(running)
    total.add(sidecars)
    total.set_max(init_peak)
    overhead = spec.get("overhead")
    if overhead:
        total.add(resource_list(overhead, parser))
    return total


@dataclass(frozen=True, slots=True)
class Allocatable:
    """What a node offers to pods: `status.allocatable`."""

    milli_cpu: int
    memory: int
    pods: int
    scalar: dict[str, int]


def node_allocatable(node: Mapping[str, Any], parser: QuantityParser) -> Allocatable:
    """The node's allocatable resources.

    An absent `status.allocatable` means its `status.capacity`, as kube-apiserver's Node
    defaulting does; a node that reports neither can hold nothing.
    """
    status = node.get("status") or {}
    values = status.get("allocatable") or status.get("capacity") or {}
    res = resource_list(values, parser)
    pods = parser.whole(values[PODS]) if PODS in values else 0
    return Allocatable(res.milli_cpu, res.memory, pods, res.scalar)
