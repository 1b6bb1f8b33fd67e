"""Validation and defaulting never crash, whatever JSON a client sends."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cluster.api import defaults, validation

from tests.cluster.api.validation_helpers import (
    RT, config_map, crd, deployment, pod, pvc, service, stateful_set,
)

FIELD_NAMES = [
    "spec", "metadata", "status", "name", "namespace", "labels", "annotations", "finalizers",
    "ownerReferences", "containers", "initContainers", "image", "ports", "containerPort",
    "protocol", "selector", "matchLabels", "matchExpressions", "key", "operator", "values",
    "template", "replicas", "resources", "limits", "requests", "cpu", "memory", "storage",
    "volumes", "volumeMounts", "mountPath", "tolerations", "effect", "strategy",
    "rollingUpdate", "maxSurge", "maxUnavailable", "type", "clusterIP", "clusterIPs", "port",
    "targetPort", "subsets", "addresses", "ip", "data", "binaryData", "versions", "schema",
    "openAPIV3Schema", "properties", "names", "plural", "kind", "group", "scope", "accessModes",
    "env", "valueFrom", "livenessProbe", "readinessProbe", "exec", "httpGet", "updateStrategy",
    "volumeClaimTemplates", "taints", "involvedObject", "eventTime", "capacity",
]

SCALARS = (st.none() | st.booleans() | st.integers(min_value=-2**40, max_value=2**40)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.sampled_from(["", "x", "Always", "TCP", "1Gi", "-1", "None", "In", "v1"]))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=4),
    max_leaves=12,
)
SAMPLES = {"Pod": pod(), "Deployment": deployment(), "StatefulSet": stateful_set(),
           "Service": service(), "PersistentVolumeClaim": pvc(), "ConfigMap": config_map(),
           "CustomResourceDefinition": crd()}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, prefix + (key,)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, prefix + (index,)))
    return found


def _replace(obj: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    target = obj
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return obj


@pytest.mark.parametrize("kind", sorted(RT))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_garbage_anywhere_gives_errors_not_exceptions(kind: str, data: st.DataObject) -> None:
    """Replace any part of a valid object with random JSON: only field errors come out."""
    base = SAMPLES.get(kind, {"metadata": {"name": "x", "namespace": "default"}})
    obj = copy.deepcopy(base)
    path = data.draw(st.sampled_from(_paths(obj)), label="path")
    obj = _replace(obj, path, data.draw(JSON, label="value"))
    if not isinstance(obj, dict):
        obj = {"spec": obj}
    old = copy.deepcopy(obj)
    defaults.apply_defaults(RT[kind], obj)
    created = validation.validate_object(RT[kind], obj)
    updated = validation.validate_update(RT[kind], obj, old)
    for error in created + updated:
        assert str(error)
