"""Kubernetes protobuf request bodies decode to the JSON objects kubectl would have sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.api.errors import BadRequest
from cluster.http import protobuf
from tests.cluster.apiserver_helpers import make_api
from tests.cluster.http import protobuf_captures as captured

# --- a tiny encoder for the same wire format, so tests can say exactly what is on the wire ---

VARINT, I64, LEN, START_GROUP, END_GROUP, I32 = range(6)


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative numbers travel as 64-bit two's complement
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def tag(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def num(number: int, value: int) -> bytes:
    return tag(number, VARINT) + varint(value)


def text(number: int, value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return tag(number, LEN) + varint(len(data)) + data


def msg(number: int, *parts: bytes) -> bytes:
    return text(number, b"".join(parts))


def entry(number: int, key: str, value: bytes) -> bytes:
    """One map entry: a message {key = 1; value = 2}."""
    return msg(number, text(1, key), value)


def body(api_version: str, kind: str, *parts: bytes, encoding: str = "") -> bytes:
    """MAGIC + runtime.Unknown{typeMeta, raw, contentEncoding, contentType}, as kubectl writes."""
    unknown = msg(1, text(1, api_version), text(2, kind)) + msg(2, *parts)
    return protobuf.MAGIC + unknown + text(3, encoding) + text(4, "")


def quantity(number: int, value: str) -> bytes:
    return msg(number, text(1, value))


def int_or_string(number: int, value: int | str) -> bytes:
    if isinstance(value, str):
        return msg(number, num(1, 1), num(2, 0), text(3, value))
    return msg(number, num(1, 0), num(2, value), text(3, ""))


# --- what real kubectl sent -----------------------------------------------------------------

def _dry_run(kind: str, api_version: str, metadata: dict[str, Any], **rest: Any) -> dict[str, Any]:
    """The JSON `kubectl create … --dry-run=client -o json` printed for the same command."""
    return {"kind": kind, "apiVersion": api_version,
            "metadata": {**metadata, "creationTimestamp": None}, **rest}


def _web_template(name: str, container: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"creationTimestamp": None, "labels": {"app": name}},
            "spec": {"containers": [container]}}


KUBECTL_CREATES = [
    pytest.param(captured.DEPLOYMENT_WEB, _dry_run(
        "Deployment", "apps/v1", {"name": "web", "labels": {"app": "web"}},
        spec={"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
              "template": _web_template("web", {"name": "redis", "image": "redis",
                                                "resources": {}}),
              "strategy": {}},
        status={}), id="deployment"),
    pytest.param(captured.DEPLOYMENT_CACHE, _dry_run(
        "Deployment", "apps/v1",
        {"name": "cache", "namespace": "prod", "labels": {"app": "cache"}},
        spec={"replicas": 0, "selector": {"matchLabels": {"app": "cache"}},
              "template": _web_template("cache", {
                  "name": "redis", "image": "redis:7",
                  "command": ["redis-server", "--appendonly", "yes"],
                  "ports": [{"containerPort": 6379}], "resources": {}}),
              "strategy": {}},
        status={}), id="deployment-zero-replicas-command-port"),
    pytest.param(captured.SERVICE_CLUSTERIP, _dry_run(
        "Service", "v1", {"name": "redis", "labels": {"app": "redis"}},
        spec={"ports": [{"name": "6379-6379", "protocol": "TCP", "port": 6379,
                         "targetPort": 6379}],
              "selector": {"app": "redis"}, "type": "ClusterIP"},
        status={"loadBalancer": {}}), id="service-clusterip"),
    pytest.param(captured.SERVICE_NODEPORT, _dry_run(
        "Service", "v1", {"name": "np", "labels": {"app": "np"}},
        spec={"ports": [{"name": "80-http", "protocol": "TCP", "port": 80,
                         "targetPort": "http", "nodePort": 30080}],
              "selector": {"app": "np"}, "type": "NodePort"},
        status={"loadBalancer": {}}), id="service-nodeport"),
    pytest.param(captured.CONFIGMAP, _dry_run("ConfigMap", "v1", {"name": "cfg"},
                                              data={"a": "b"}), id="configmap"),
    pytest.param(captured.SECRET, _dry_run("Secret", "v1", {"name": "s"},
                                           data={"p": "cQ=="}), id="secret"),
    pytest.param(captured.NAMESPACE, _dry_run("Namespace", "v1", {"name": "ns1"},
                                              spec={}, status={}), id="namespace"),
]


@pytest.mark.parametrize("raw,expected", KUBECTL_CREATES)
def test_kubectl_bodies_decode_to_the_json_kubectl_would_send(raw: bytes,
                                                              expected: dict[str, Any]) -> None:
    """Each body kubectl 1.32 POSTed decodes to exactly its `--dry-run=client -o json` object."""
    assert protobuf.decode(raw) == expected


def test_captured_deployment_names_labels_replicas_selector_and_image() -> None:
    """`create deployment web --image=redis --replicas=2` carries everything the engine needs."""
    obj = protobuf.decode(captured.DEPLOYMENT_WEB)
    assert list(obj)[:2] == ["apiVersion", "kind"]
    assert obj["metadata"]["name"] == "web"
    assert obj["metadata"]["labels"] == {"app": "web"}
    assert obj["spec"]["replicas"] == 2
    assert obj["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert obj["spec"]["template"]["metadata"]["labels"] == {"app": "web"}
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "redis"


@pytest.mark.parametrize("raw", [captured.DEPLOYMENT_WEB, captured.SERVICE_CLUSTERIP,
                                 captured.CONFIGMAP, captured.SECRET, captured.NAMESPACE])
def test_the_engine_accepts_decoded_bodies(raw: bytes) -> None:
    """The decoded dict is one the API server stores as it would the JSON form."""
    api = make_api()
    obj = protobuf.decode(raw)
    namespace = None if obj["kind"] == "Namespace" else "default"
    stored = api.create(obj, namespace)
    assert stored["metadata"]["name"] == obj["metadata"]["name"]
    assert stored["metadata"]["creationTimestamp"]  # the server's, not the client's null
    assert stored.get("spec", {}).get("replicas") == obj.get("spec", {}).get("replicas")


# --- hand-encoded bodies: every shape the tables know ----------------------------------------

def _rich_deployment() -> bytes:
    secret_env = msg(7, text(1, "PASSWORD"), msg(3, msg(4, msg(1, text(1, "creds")),
                                                        text(2, "password"))))
    plain_env = msg(7, text(1, "MODE"), text(2, "ha"))
    probe = msg(10, msg(1, msg(2, text(1, "/healthz"), int_or_string(2, "http"))),
                num(3, 5))
    resources = msg(8, entry(1, "memory", quantity(2, "256Mi")),
                    entry(2, "cpu", quantity(2, "500m")))
    container = msg(2, text(1, "redis"), text(2, "redis:7"), text(5, ""), plain_env,
                    secret_env, resources, probe, msg(9, text(1, "conf"), text(3, "/etc/redis")),
                    msg(15, num(4, 0)), num(16, 0), text(14, "IfNotPresent"))
    volume = msg(1, text(1, "conf"), msg(2, msg(19, msg(1, text(1, "redis-conf")), num(3, 0o644))))
    pod_spec = msg(2, volume, container, num(4, 0), entry(7, "disk", text(2, "ssd")),
                   msg(22, text(1, "dedicated"), text(2, "Exists"), text(4, "NoSchedule")),
                   num(25, -5), text(6, ""))
    template = msg(3, msg(1, entry(11, "app", text(2, "cache")), msg(8)), pod_spec)
    selector = msg(2, entry(1, "app", text(2, "cache")),
                   msg(2, text(1, "tier"), text(2, "In"), text(3, "db"), text(3, "cache")))
    strategy = msg(4, text(1, "RollingUpdate"),
                   msg(2, int_or_string(1, "25%"), int_or_string(2, 1)))
    owner = msg(13, text(5, "v1"), text(1, "ConfigMap"), text(3, "owner"), text(4, "u-1"),
                num(6, 1))
    meta = msg(1, text(1, "cache"), text(2, ""), text(3, "prod"),
               msg(8, num(1, 1_700_000_000), num(2, 999)), entry(12, "note", text(2, "hi")),
               owner, num(7, 0))
    spec = msg(2, num(1, 0), selector, template, strategy, num(6, 3), num(7, 0))
    status = msg(3, num(1, 0), num(2, 0))
    return body("apps/v1", "Deployment", meta, spec, status)


def test_nested_pod_template_fields_land_where_json_puts_them() -> None:
    """Inline structs, maps, quantities, IntOrStrings, times and negatives decode as in JSON."""
    obj = protobuf.decode(_rich_deployment())
    assert obj["metadata"] == {
        "name": "cache", "namespace": "prod", "creationTimestamp": "2023-11-14T22:13:20Z",
        "annotations": {"note": "hi"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                             "uid": "u-1", "controller": True}]}
    spec = obj["spec"]
    assert spec["selector"] == {"matchLabels": {"app": "cache"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["db", "cache"]}]}
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}}
    assert spec["template"]["metadata"] == {"labels": {"app": "cache"}, "creationTimestamp": None}
    pod = spec["template"]["spec"]
    assert pod["volumes"] == [{"name": "conf", "configMap": {"name": "redis-conf",
                                                             "defaultMode": 0o644}}]
    assert pod["nodeSelector"] == {"disk": "ssd"}
    assert pod["tolerations"] == [{"key": "dedicated", "operator": "Exists",
                                   "effect": "NoSchedule"}]
    assert pod["priority"] == -5
    assert pod["terminationGracePeriodSeconds"] == 0
    assert pod["containers"] == [{
        "name": "redis", "image": "redis:7",
        "env": [{"name": "MODE", "value": "ha"},
                {"name": "PASSWORD",
                 "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}}],
        "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "500m"}},
        "volumeMounts": [{"name": "conf", "mountPath": "/etc/redis"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                          "timeoutSeconds": 5},
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {"runAsUser": 0}}]


def test_zero_values_follow_go_json_omitempty() -> None:
    """Zero scalars vanish, Go pointers keep their zero, present structs stay `{}`."""
    obj = protobuf.decode(_rich_deployment())
    assert obj["spec"]["replicas"] == 0  # *int32: explicitly zero
    assert obj["spec"]["revisionHistoryLimit"] == 3
    assert "paused" not in obj["spec"]  # bool,omitempty
    assert "generation" not in obj["metadata"] and "generateName" not in obj["metadata"]
    assert obj["status"] == {}
    assert "dnsPolicy" not in obj["spec"]["template"]["spec"]


def test_key_order_follows_the_go_structs() -> None:
    """Keys come out in Go's field order, not wire order (Container: name, image, … env)."""
    obj = protobuf.decode(_rich_deployment())
    container = obj["spec"]["template"]["spec"]["containers"][0]
    assert list(container) == ["name", "image", "env", "resources", "volumeMounts",
                               "livenessProbe", "imagePullPolicy", "securityContext"]


def test_statefulset_with_claim_templates_and_service_name() -> None:
    """A StatefulSet keeps its non-omitempty `serviceName` and decodes PVC templates."""
    claim = msg(4, msg(1, text(1, "data")),
                msg(2, text(1, "ReadWriteOnce"), msg(2, entry(2, "storage", quantity(2, "1Gi")))))
    spec = msg(2, num(1, 3), msg(2, entry(1, "app", text(2, "redis"))), claim, text(5, ""),
               text(6, "Parallel"))
    obj = protobuf.decode(body("apps/v1", "StatefulSet", msg(1, text(1, "redis")), spec))
    assert obj["spec"] == {
        "replicas": 3, "selector": {"matchLabels": {"app": "redis"}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        "serviceName": "", "podManagementPolicy": "Parallel"}


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    """Fields a newer kubectl adds (any wire type, groups too) leave the result unchanged."""
    meta = msg(1, text(1, "x"))
    unknown = (num(99, 7) + tag(98, I64) + b"\x00" * 8 + tag(97, I32) + b"\x00" * 4
               + text(96, "new") + tag(95, START_GROUP) + num(1, 1) + tag(95, END_GROUP))
    plain = protobuf.decode(body("v1", "ConfigMap", meta, entry(2, "k", text(2, "v"))))
    noisy = protobuf.decode(body("v1", "ConfigMap", unknown, meta, unknown,
                                 entry(2, "k", text(2, "v"))))
    assert noisy == plain == {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "x"}, "data": {"k": "v"}}


def test_repeats_follow_protobuf_merge_rules() -> None:
    """A repeated message merges, the last scalar wins, and a later zero clears an earlier value."""
    raw = body("v1", "Secret",
               msg(1, text(1, "first"), text(3, "ns")), msg(1, text(1, "second"), text(3, "")),
               text(3, "Opaque"), text(3, "kubernetes.io/tls"),
               entry(2, "k", text(2, b"\x00\xff")), entry(2, "k", text(2, b"v")))
    obj = protobuf.decode(raw)
    assert obj["metadata"] == {"name": "second"}
    assert obj["type"] == "kubernetes.io/tls"
    assert obj["data"] == {"k": "dg=="}


def test_packed_and_unpacked_repeated_integers_both_decode() -> None:
    """`supplementalGroups` is read whether written one varint per tag or packed."""
    def pod(groups: bytes) -> dict[str, Any]:
        spec = msg(2, msg(2, text(1, "c")), msg(14, groups))
        return protobuf.decode(body("v1", "Pod", msg(1, text(1, "p")), spec))

    unpacked = pod(num(4, 1000) + num(4, 2000))
    packed = pod(text(4, varint(1000) + varint(2000)))
    assert unpacked["spec"]["securityContext"] == {"supplementalGroups": [1000, 2000]}
    assert packed == unpacked


def test_zero_time_is_null_and_fields_v1_is_json() -> None:
    """The zero Time (year 1) is null; managedFields' fieldsV1 carries a JSON document."""
    year_one = -62135596800
    managed = msg(17, text(1, "kubectl"), text(6, "FieldsV1"),
                  msg(7, text(1, b'{"f:data":{}}')), msg(4, num(1, 0)))
    raw = body("v1", "ConfigMap", msg(1, text(1, "c"), msg(8, num(1, year_one)), managed))
    meta = protobuf.decode(raw)["metadata"]
    assert meta["creationTimestamp"] is None
    assert meta["managedFields"] == [{"manager": "kubectl", "time": "1970-01-01T00:00:00Z",
                                      "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}]


# --- bad input: one line, 400 BadRequest ---------------------------------------------------

PREFIX = "cannot decode protobuf body: "


@pytest.mark.parametrize("raw,message", [
    pytest.param(b'{"kind": "Pod"}', "it does not start with the k8s\\x00 prefix", id="json"),
    pytest.param(body("batch/v1", "CronJob", msg(1, text(1, "c"))),
                 'kind "CronJob" of batch/v1 is not supported', id="unsupported-kind"),
    pytest.param(captured.JOB, 'kind "Job" of batch/v1 is not supported', id="kubectl-job"),
    pytest.param(body("", "", msg(1, text(1, "c"))), "the envelope names no kind",
                 id="no-kind"),
    pytest.param(body("v1", "ConfigMap", encoding="gzip"),
                 'content encoding "gzip" is not supported', id="gzip"),
    pytest.param(protobuf.MAGIC + b"\x0a\xff", "truncated varint at byte 2", id="truncated"),
    pytest.param(protobuf.MAGIC + b"\x12\x05ab", "field 2 claims 5 bytes but 2 remain",
                 id="short-length"),
    pytest.param(protobuf.MAGIC + b"\x0f", "field 1 has invalid wire type 7", id="wire-type-7"),
    pytest.param(protobuf.MAGIC + b"\x08\x01", "field 1 of Unknown has wire type 0, want 2",
                 id="typemeta-as-varint"),
    pytest.param(body("v1", "ConfigMap", msg(1, num(1, 5))),
                 "ConfigMap: field 1 (ObjectMeta.name) has wire type 0, want 2",
                 id="name-as-varint"),
    pytest.param(body("apps/v1", "Deployment", msg(2, text(1, "two"))),
                 "Deployment: field 1 (DeploymentSpec.replicas) has wire type 2, want 0",
                 id="replicas-as-string"),
    pytest.param(body("v1", "ConfigMap", msg(1, msg(17, msg(7, text(1, "{nope"))))),
                 None, id="fieldsv1-not-json"),
])
def test_bad_bodies_are_one_line_bad_requests(raw: bytes, message: str | None) -> None:
    """Garbage, unsupported kinds and schema violations are 400 BadRequest with one clear line."""
    with pytest.raises(BadRequest) as caught:
        protobuf.decode(raw)
    error = caught.value
    assert error.code == 400 and error.to_status()["reason"] == "BadRequest"
    assert "\n" not in str(error)
    assert str(error).startswith(PREFIX)
    if message is not None:
        assert str(error) == PREFIX + message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_escape_as_anything_but_bad_request(tail: bytes) -> None:
    """Whatever follows the prefix, decode returns a dict or raises BadRequest."""
    try:
        result = protobuf.decode(protobuf.MAGIC + tail)
    except BadRequest as e:
        assert "\n" not in str(e)
    else:
        json.dumps(result)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_corrupted_kubectl_bodies_never_escape_as_anything_but_bad_request(
        data: st.DataObject) -> None:
    """Flipping bytes of a real body gives a dict or a BadRequest, never a crash."""
    raw = bytearray(captured.DEPLOYMENT_CACHE)
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(len(protobuf.MAGIC), len(raw) - 1))] = data.draw(
            st.integers(0, 255))
    try:
        result = protobuf.decode(bytes(raw))
    except BadRequest:
        return
    json.dumps(result)
