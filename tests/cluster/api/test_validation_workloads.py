"""Deployments, ReplicaSets and StatefulSets: replicas, selectors, templates, strategies."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.api import validation

from tests.cluster.api.validation_helpers import (
    claim_template, container, deployment, field_errors, replica_set, stateful_set, template,
    verdict,
)


def test_the_literal_replicas_example() -> None:
    """The message every Kubernetes user has seen, byte for byte."""
    assert verdict("Deployment", deployment(replicas=-1)) == (
        'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater '
        "than or equal to 0")


@pytest.mark.parametrize("build", [deployment, replica_set, stateful_set],
                         ids=["deployment", "replicaset", "statefulset"])
def test_valid_workloads_pass(build: Any) -> None:
    """The builders' objects are valid as they stand."""
    obj = build()
    assert verdict(obj["kind"], obj) == ""


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param({"replicas": 0}, [], id="zero-replicas-ok"),
    pytest.param({"selector": None}, ["spec.selector: Required value"], id="selector-null"),
    pytest.param({"selector": {}},
                 ["spec.selector: Invalid value: {}: empty selector is invalid for deployment"],
                 id="selector-empty"),
    pytest.param({"template": template({"app": "api"})},
                 ['spec.template.metadata.labels: Invalid value: {"app":"api"}: `selector` does '
                  "not match template `labels`"], id="selector-mismatch"),
    pytest.param({"selector": {"matchExpressions": [{"key": "app", "operator": "In",
                                                     "values": ["web", "api"]}]}}, [],
                 id="expression-selector-ok"),
    pytest.param({"selector": {"matchExpressions": [{"key": "app", "operator": "Near"}]}},
                 ['spec.selector.matchExpressions[0].operator: Invalid value: "Near": not a valid '
                  "selector operator",
                  'spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":'
                  '"Near"}]}: invalid label selector'], id="bad-operator"),
    pytest.param({"selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
                 ["spec.selector.matchExpressions[0].values: Required value: must be specified "
                  "when `operator` is 'In' or 'NotIn'",
                  'spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":'
                  '"In"}]}: invalid label selector'], id="in-without-values"),
    pytest.param({"template": template(containers=[container(image="")])},
                 ["spec.template.spec.containers[0].image: Required value"],
                 id="template-pod-spec"),
    pytest.param({"template": template(restartPolicy="Never")},
                 ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported '
                  'values: "Always"'], id="restart-policy"),
    pytest.param({"template": template(activeDeadlineSeconds=10)},
                 ["spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in "
                  "ReplicaSet is not Supported"], id="active-deadline"),
    pytest.param({"template": {"metadata": {"labels": {"app": "web"}}, "spec": {}}},
                 ["spec.template.spec.containers: Required value"], id="template-no-containers"),
    pytest.param({"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}},
                 ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy "
                  "`type` is 'Recreate'"], id="recreate-with-rolling"),
    pytest.param({"strategy": {"type": "BlueGreen"}},
                 ['spec.strategy: Unsupported value: {"type":"BlueGreen"}: supported values: '
                  '"Recreate", "RollingUpdate"'], id="strategy-type"),
    pytest.param({"strategy": {"type": "RollingUpdate",
                               "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}},
                 ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 '
                  "when `maxSurge` is 0"], id="both-zero"),
    pytest.param({"strategy": {"type": "RollingUpdate",
                               "rollingUpdate": {"maxSurge": "x", "maxUnavailable": "150%"}}},
                 ['spec.strategy.rollingUpdate.maxSurge: Invalid value: "x": a valid percent '
                  "string must be a numeric string followed by an ending '%' (e.g. '1%',  or "
                  "'93%', regex used for validation is '[0-9]+%')",
                  'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be '
                  "greater than 100%"], id="percentages"),
    pytest.param({"minReadySeconds": 700},
                 ["spec.progressDeadlineSeconds: Invalid value: 600: must be greater than "
                  "minReadySeconds"], id="deadline-vs-min-ready"),
    pytest.param({"revisionHistoryLimit": -1},
                 ["spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal "
                  "to 0"], id="history-limit"),
    pytest.param({"replicas": "3"}, ['spec.replicas: Invalid value: "3": must be an integer'],
                 id="replicas-string"),
])
def test_deployment_errors(spec: dict[str, Any], expected: list[str]) -> None:
    """Deployment spec rules, with template errors at `spec.template.spec...`."""
    assert field_errors("Deployment", deployment(**spec)) == expected


def test_replica_set_shares_the_template_rules() -> None:
    """ReplicaSets check replicas, selector and template like Deployments do."""
    errs = field_errors("ReplicaSet", replica_set(replicas=-2, template=template({"app": "x"})))
    assert errs == [
        "spec.replicas: Invalid value: -2: must be greater than or equal to 0",
        'spec.template.metadata.labels: Invalid value: {"app":"x"}: `selector` does not match '
        "template `labels`",
    ]


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param({"podManagementPolicy": "Random"},
                 ['spec.podManagementPolicy: Invalid value: "Random": must be \'OrderedReady\' '
                  "or 'Parallel'"], id="pod-management"),
    pytest.param({"podManagementPolicy": "Parallel"}, [], id="parallel-ok"),
    pytest.param({"updateStrategy": {"type": "Sometimes"}},
                 ['spec.updateStrategy: Invalid value: {"type":"Sometimes"}: must be '
                  "'RollingUpdate' or 'OnDelete'"], id="update-strategy"),
    pytest.param({"updateStrategy": {"type": "OnDelete", "rollingUpdate": {"partition": 1}}},
                 ['spec.updateStrategy.rollingUpdate: Invalid value: {"partition":1}: only '
                  "allowed for updateStrategy 'RollingUpdate'"], id="ondelete-with-rolling"),
    pytest.param({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}},
                 ["spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be "
                  "greater than or equal to 0"], id="partition"),
    pytest.param({"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Keep"}},
                 ['spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: '
                  '"Keep": supported values: "Retain", "Delete"'], id="retention"),
    pytest.param({"selector": {}},
                 ["spec.selector: Invalid value: {}: empty selector is invalid for statefulset"],
                 id="empty-selector"),
    pytest.param({"template": template({"app": "redis"}, activeDeadlineSeconds=5,
                                       containers=[container()])},
                 ["spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in "
                  "StatefulSet is not Supported"], id="active-deadline"),
    pytest.param({"volumeClaimTemplates": [claim_template(storage="0")]},
                 ['spec.volumeClaimTemplates[0].spec.resources[storage]: Invalid value: "0": '
                  "must be greater than zero"], id="claim-template-spec"),
    pytest.param({"volumeClaimTemplates": []},
                 ['spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"'],
                 id="mount-needs-claim-or-volume"),
])
def test_stateful_set_errors(spec: dict[str, Any], expected: list[str]) -> None:
    """StatefulSet rules; mounts may name a volumeClaimTemplate instead of a volume."""
    assert field_errors("StatefulSet", stateful_set(**spec)) == expected


def test_stateful_set_name_is_a_dns_label() -> None:
    """Pods are named `<set>-<ordinal>` and must be DNS labels, so the set name is one too."""
    errs = field_errors("StatefulSet", stateful_set("redis.primary"))
    assert errs == ['metadata.name: Invalid value: "redis.primary": must not contain dots']


@pytest.mark.parametrize(("selector", "labels", "matches"), [
    pytest.param({}, {"app": "web"}, True, id="empty-selects-all"),
    pytest.param({"matchLabels": {"app": "web"}}, {"app": "web", "x": "y"}, True, id="labels"),
    pytest.param({"matchLabels": {"app": "web"}}, {"app": "api"}, False, id="labels-differ"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "web"]}]},
                 {"app": "web"}, True, id="in"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]},
                 {"app": "web"}, False, id="not-in"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]},
                 {}, True, id="not-in-absent"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, {}, False,
                 id="exists"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]},
                 {"app": "x"}, False, id="does-not-exist"),
])
def test_selector_matching(selector: dict[str, Any], labels: dict[str, str],
                           matches: bool) -> None:
    """The template check uses LabelSelector semantics for every operator."""
    assert validation.selector_matches(selector, labels) is matches
