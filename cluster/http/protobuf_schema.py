"""The protobuf schema of the kinds `cluster.http.protobuf` decodes: per message, field
number → JSON name, kind and zero-value rule, written from k8s.io/api's and apimachinery's
generated.proto files (and the Go types' `omitempty` tags). Declarative only: the reading
is in `protobuf`.

Embedded Go structs that JSON inlines (a Volume's source, a probe's handler) are `inline`
fields: their members land in the enclosing object, as in kubectl's JSON.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


class Kind(str, enum.Enum):
    """How a field's value is read and written as JSON."""

    STRING = "string"
    BYTES = "bytes"            # JSON: base64, as Go encodes []byte
    BOOL = "bool"
    INT32 = "int32"
    INT64 = "int64"
    MESSAGE = "message"
    TIME = "time"              # metav1.Time {seconds, nanos} → RFC3339 seconds, or null
    QUANTITY = "quantity"      # resource.Quantity {string} → "500m"
    INT_OR_STRING = "intOrString"  # intstr.IntOrString {type, intVal, strVal} → 80 or "http"
    FIELDS_V1 = "fieldsV1"     # metav1.FieldsV1 {Raw} → the JSON document it carries
    STRING_MAP = "map<string,string>"
    BYTES_MAP = "map<string,bytes>"
    QUANTITY_MAP = "map<string,Quantity>"


SCALARS = frozenset({Kind.STRING, Kind.BYTES, Kind.BOOL, Kind.INT32, Kind.INT64})
VARINTS = frozenset({Kind.BOOL, Kind.INT32, Kind.INT64})


@dataclass(frozen=True)
class Field:
    """One field of a message: its number on the wire and its name and shape in JSON."""

    number: int
    name: str
    kind: Kind
    message: Message | None = None
    repeated: bool = False
    keep: bool = False
    """A zero scalar read from the wire stays in the JSON (Go pointer or no `omitempty`)."""
    inline: bool = False
    """An embedded Go struct (`json:",inline"`): its fields land in the enclosing object."""


@dataclass(frozen=True)
class Message:
    """A protobuf message: its fields by number, and the JSON key order Go would write."""

    name: str
    fields: tuple[Field, ...]
    by_number: Mapping[int, Field] = field(init=False, repr=False, compare=False)
    order: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_number",
                           MappingProxyType({f.number: f for f in self.fields}))
        names: list[str] = []
        for f in self.fields:
            if f.inline and f.message is not None:
                names.extend(f.message.order)
            else:
                names.append(f.name)
        object.__setattr__(self, "order", tuple(names))


def _str(number: int, name: str, *, keep: bool = False) -> Field:
    return Field(number, name, Kind.STRING, keep=keep)


def _strs(number: int, name: str) -> Field:
    return Field(number, name, Kind.STRING, repeated=True)


def _bool(number: int, name: str, *, keep: bool = False) -> Field:
    return Field(number, name, Kind.BOOL, keep=keep)


def _i32(number: int, name: str, *, keep: bool = False) -> Field:
    return Field(number, name, Kind.INT32, keep=keep)


def _i64(number: int, name: str, *, keep: bool = False) -> Field:
    return Field(number, name, Kind.INT64, keep=keep)


def _of(kind: Kind, number: int, name: str) -> Field:
    return Field(number, name, kind)


def _msg(number: int, name: str, message: Message) -> Field:
    return Field(number, name, Kind.MESSAGE, message)


def _msgs(number: int, name: str, message: Message) -> Field:
    return Field(number, name, Kind.MESSAGE, message, repeated=True)


def _inline(number: int, message: Message) -> Field:
    return Field(number, "", Kind.MESSAGE, message, inline=True)


def _message(name: str, *fields: Field) -> Message:
    return Message(name, fields)


# k8s.io/apimachinery meta/v1

_OWNER_REFERENCE = _message(
    "OwnerReference",
    _str(5, "apiVersion", keep=True), _str(1, "kind", keep=True), _str(3, "name", keep=True),
    _str(4, "uid", keep=True), _bool(6, "controller", keep=True),
    _bool(7, "blockOwnerDeletion", keep=True))

_MANAGED_FIELDS_ENTRY = _message(
    "ManagedFieldsEntry",
    _str(1, "manager"), _str(2, "operation"), _str(3, "apiVersion"), _of(Kind.TIME, 4, "time"),
    _str(6, "fieldsType"), _of(Kind.FIELDS_V1, 7, "fieldsV1"), _str(8, "subresource"))

_OBJECT_META = _message(
    "ObjectMeta",
    _str(1, "name"), _str(2, "generateName"), _str(3, "namespace"), _str(4, "selfLink"),
    _str(5, "uid"), _str(6, "resourceVersion"), _i64(7, "generation"),
    _of(Kind.TIME, 8, "creationTimestamp"), _of(Kind.TIME, 9, "deletionTimestamp"),
    _i64(10, "deletionGracePeriodSeconds", keep=True),
    _of(Kind.STRING_MAP, 11, "labels"), _of(Kind.STRING_MAP, 12, "annotations"),
    _msgs(13, "ownerReferences", _OWNER_REFERENCE), _strs(14, "finalizers"),
    _msgs(17, "managedFields", _MANAGED_FIELDS_ENTRY))

_LABEL_SELECTOR_REQUIREMENT = _message(
    "LabelSelectorRequirement",
    _str(1, "key", keep=True), _str(2, "operator", keep=True), _strs(3, "values"))

_LABEL_SELECTOR = _message(
    "LabelSelector",
    _of(Kind.STRING_MAP, 1, "matchLabels"),
    _msgs(2, "matchExpressions", _LABEL_SELECTOR_REQUIREMENT))

_CONDITION = _message(
    "Condition",
    _str(1, "type", keep=True), _str(2, "status", keep=True), _i64(3, "observedGeneration"),
    _of(Kind.TIME, 4, "lastTransitionTime"), _str(5, "reason", keep=True),
    _str(6, "message", keep=True))

# k8s.io/api core/v1: the pod template

_LOCAL_OBJECT_REFERENCE = _message("LocalObjectReference", _str(1, "name"))

_KEY_TO_PATH = _message(
    "KeyToPath",
    _str(1, "key", keep=True), _str(2, "path", keep=True), _i32(3, "mode", keep=True),
    _i64(4, "user", keep=True))

_OBJECT_FIELD_SELECTOR = _message(
    "ObjectFieldSelector", _str(1, "apiVersion"), _str(2, "fieldPath", keep=True))

_RESOURCE_FIELD_SELECTOR = _message(
    "ResourceFieldSelector",
    _str(1, "containerName"), _str(2, "resource", keep=True), _of(Kind.QUANTITY, 3, "divisor"))

_CONFIG_MAP_KEY_SELECTOR = _message(
    "ConfigMapKeySelector",
    _inline(1, _LOCAL_OBJECT_REFERENCE), _str(2, "key", keep=True),
    _bool(3, "optional", keep=True))

_SECRET_KEY_SELECTOR = _message(
    "SecretKeySelector",
    _inline(1, _LOCAL_OBJECT_REFERENCE), _str(2, "key", keep=True),
    _bool(3, "optional", keep=True))

_ENV_VAR_SOURCE = _message(
    "EnvVarSource",
    _msg(1, "fieldRef", _OBJECT_FIELD_SELECTOR),
    _msg(2, "resourceFieldRef", _RESOURCE_FIELD_SELECTOR),
    _msg(3, "configMapKeyRef", _CONFIG_MAP_KEY_SELECTOR),
    _msg(4, "secretKeyRef", _SECRET_KEY_SELECTOR))

_ENV_VAR = _message(
    "EnvVar", _str(1, "name", keep=True), _str(2, "value"), _msg(3, "valueFrom", _ENV_VAR_SOURCE))

_CONFIG_MAP_ENV_SOURCE = _message(
    "ConfigMapEnvSource", _inline(1, _LOCAL_OBJECT_REFERENCE), _bool(2, "optional", keep=True))

_SECRET_ENV_SOURCE = _message(
    "SecretEnvSource", _inline(1, _LOCAL_OBJECT_REFERENCE), _bool(2, "optional", keep=True))

_ENV_FROM_SOURCE = _message(
    "EnvFromSource",
    _str(1, "prefix"), _msg(2, "configMapRef", _CONFIG_MAP_ENV_SOURCE),
    _msg(3, "secretRef", _SECRET_ENV_SOURCE))

_CONTAINER_PORT = _message(
    "ContainerPort",
    _str(1, "name"), _i32(2, "hostPort"), _i32(3, "containerPort", keep=True),
    _str(4, "protocol"), _str(5, "hostIP"))

_RESOURCE_CLAIM = _message("ResourceClaim", _str(1, "name", keep=True), _str(2, "request"))

_RESOURCE_REQUIREMENTS = _message(
    "ResourceRequirements",
    _of(Kind.QUANTITY_MAP, 1, "limits"), _of(Kind.QUANTITY_MAP, 2, "requests"),
    _msgs(3, "claims", _RESOURCE_CLAIM))

_CONTAINER_RESIZE_POLICY = _message(
    "ContainerResizePolicy",
    _str(1, "resourceName", keep=True), _str(2, "restartPolicy", keep=True))

_VOLUME_MOUNT = _message(
    "VolumeMount",
    _str(1, "name", keep=True), _bool(2, "readOnly"), _str(7, "recursiveReadOnly", keep=True),
    _str(3, "mountPath", keep=True), _str(4, "subPath"), _str(5, "mountPropagation", keep=True),
    _str(6, "subPathExpr"))

_VOLUME_DEVICE = _message(
    "VolumeDevice", _str(1, "name", keep=True), _str(2, "devicePath", keep=True))

_EXEC_ACTION = _message("ExecAction", _strs(1, "command"))

_HTTP_HEADER = _message("HTTPHeader", _str(1, "name", keep=True), _str(2, "value", keep=True))

_HTTP_GET_ACTION = _message(
    "HTTPGetAction",
    _str(1, "path"), _of(Kind.INT_OR_STRING, 2, "port"), _str(3, "host"), _str(4, "scheme"),
    _msgs(5, "httpHeaders", _HTTP_HEADER))

_TCP_SOCKET_ACTION = _message(
    "TCPSocketAction", _of(Kind.INT_OR_STRING, 1, "port"), _str(2, "host"))

_GRPC_ACTION = _message(
    "GRPCAction", _i32(1, "port", keep=True), _str(2, "service", keep=True))

_SLEEP_ACTION = _message("SleepAction", _i64(1, "seconds", keep=True))

_PROBE_HANDLER = _message(
    "ProbeHandler",
    _msg(1, "exec", _EXEC_ACTION), _msg(2, "httpGet", _HTTP_GET_ACTION),
    _msg(3, "tcpSocket", _TCP_SOCKET_ACTION), _msg(4, "grpc", _GRPC_ACTION))

_PROBE = _message(
    "Probe",
    _inline(1, _PROBE_HANDLER), _i32(2, "initialDelaySeconds"), _i32(3, "timeoutSeconds"),
    _i32(4, "periodSeconds"), _i32(5, "successThreshold"), _i32(6, "failureThreshold"),
    _i64(7, "terminationGracePeriodSeconds", keep=True))

_LIFECYCLE_HANDLER = _message(
    "LifecycleHandler",
    _msg(1, "exec", _EXEC_ACTION), _msg(2, "httpGet", _HTTP_GET_ACTION),
    _msg(3, "tcpSocket", _TCP_SOCKET_ACTION), _msg(4, "sleep", _SLEEP_ACTION))

_LIFECYCLE = _message(
    "Lifecycle",
    _msg(1, "postStart", _LIFECYCLE_HANDLER), _msg(2, "preStop", _LIFECYCLE_HANDLER),
    _str(3, "stopSignal", keep=True))

_CAPABILITIES = _message("Capabilities", _strs(1, "add"), _strs(2, "drop"))

_SE_LINUX_OPTIONS = _message(
    "SELinuxOptions", _str(1, "user"), _str(2, "role"), _str(3, "type"), _str(4, "level"))

_SECCOMP_PROFILE = _message(
    "SeccompProfile", _str(1, "type", keep=True), _str(2, "localhostProfile", keep=True))

_APP_ARMOR_PROFILE = _message(
    "AppArmorProfile", _str(1, "type", keep=True), _str(2, "localhostProfile", keep=True))

_SECURITY_CONTEXT = _message(
    "SecurityContext",
    _msg(1, "capabilities", _CAPABILITIES), _bool(2, "privileged", keep=True),
    _msg(3, "seLinuxOptions", _SE_LINUX_OPTIONS), _i64(4, "runAsUser", keep=True),
    _i64(8, "runAsGroup", keep=True), _bool(5, "runAsNonRoot", keep=True),
    _bool(6, "readOnlyRootFilesystem", keep=True),
    _bool(7, "allowPrivilegeEscalation", keep=True), _str(9, "procMount", keep=True),
    _msg(11, "seccompProfile", _SECCOMP_PROFILE), _msg(12, "appArmorProfile", _APP_ARMOR_PROFILE))

_CONTAINER = _message(
    "Container",
    _str(1, "name", keep=True), _str(2, "image"), _strs(3, "command"), _strs(4, "args"),
    _str(5, "workingDir"), _msgs(6, "ports", _CONTAINER_PORT),
    _msgs(19, "envFrom", _ENV_FROM_SOURCE), _msgs(7, "env", _ENV_VAR),
    _msg(8, "resources", _RESOURCE_REQUIREMENTS),
    _msgs(23, "resizePolicy", _CONTAINER_RESIZE_POLICY), _str(24, "restartPolicy", keep=True),
    _msgs(9, "volumeMounts", _VOLUME_MOUNT), _msgs(21, "volumeDevices", _VOLUME_DEVICE),
    _msg(10, "livenessProbe", _PROBE), _msg(11, "readinessProbe", _PROBE),
    _msg(22, "startupProbe", _PROBE), _msg(12, "lifecycle", _LIFECYCLE),
    _str(13, "terminationMessagePath"), _str(20, "terminationMessagePolicy"),
    _str(14, "imagePullPolicy"), _msg(15, "securityContext", _SECURITY_CONTEXT),
    _bool(16, "stdin"), _bool(17, "stdinOnce"), _bool(18, "tty"))

_HOST_PATH_VOLUME_SOURCE = _message(
    "HostPathVolumeSource", _str(1, "path", keep=True), _str(2, "type", keep=True))

_EMPTY_DIR_VOLUME_SOURCE = _message(
    "EmptyDirVolumeSource", _str(1, "medium"), _of(Kind.QUANTITY, 2, "sizeLimit"))

_SECRET_VOLUME_SOURCE = _message(
    "SecretVolumeSource",
    _str(1, "secretName"), _msgs(2, "items", _KEY_TO_PATH), _i32(3, "defaultMode", keep=True),
    _bool(4, "optional", keep=True))

_PVC_VOLUME_SOURCE = _message(
    "PersistentVolumeClaimVolumeSource", _str(1, "claimName", keep=True), _bool(2, "readOnly"))

_DOWNWARD_API_VOLUME_FILE = _message(
    "DownwardAPIVolumeFile",
    _str(1, "path", keep=True), _msg(2, "fieldRef", _OBJECT_FIELD_SELECTOR),
    _msg(3, "resourceFieldRef", _RESOURCE_FIELD_SELECTOR), _i32(4, "mode", keep=True))

_DOWNWARD_API_VOLUME_SOURCE = _message(
    "DownwardAPIVolumeSource",
    _msgs(1, "items", _DOWNWARD_API_VOLUME_FILE), _i32(2, "defaultMode", keep=True))

_CONFIG_MAP_VOLUME_SOURCE = _message(
    "ConfigMapVolumeSource",
    _inline(1, _LOCAL_OBJECT_REFERENCE), _msgs(2, "items", _KEY_TO_PATH),
    _i32(3, "defaultMode", keep=True), _bool(4, "optional", keep=True))

_SECRET_PROJECTION = _message(
    "SecretProjection",
    _inline(1, _LOCAL_OBJECT_REFERENCE), _msgs(2, "items", _KEY_TO_PATH),
    _bool(4, "optional", keep=True))

_CONFIG_MAP_PROJECTION = _message(
    "ConfigMapProjection",
    _inline(1, _LOCAL_OBJECT_REFERENCE), _msgs(2, "items", _KEY_TO_PATH),
    _bool(4, "optional", keep=True))

_DOWNWARD_API_PROJECTION = _message(
    "DownwardAPIProjection", _msgs(1, "items", _DOWNWARD_API_VOLUME_FILE))

_SERVICE_ACCOUNT_TOKEN_PROJECTION = _message(
    "ServiceAccountTokenProjection",
    _str(1, "audience"), _i64(2, "expirationSeconds", keep=True), _str(3, "path", keep=True))

_VOLUME_PROJECTION = _message(
    "VolumeProjection",
    _msg(1, "secret", _SECRET_PROJECTION), _msg(2, "downwardAPI", _DOWNWARD_API_PROJECTION),
    _msg(3, "configMap", _CONFIG_MAP_PROJECTION),
    _msg(4, "serviceAccountToken", _SERVICE_ACCOUNT_TOKEN_PROJECTION))

_PROJECTED_VOLUME_SOURCE = _message(
    "ProjectedVolumeSource",
    _msgs(1, "sources", _VOLUME_PROJECTION), _i32(2, "defaultMode", keep=True))

_VOLUME_SOURCE = _message(
    "VolumeSource",
    _msg(1, "hostPath", _HOST_PATH_VOLUME_SOURCE), _msg(2, "emptyDir", _EMPTY_DIR_VOLUME_SOURCE),
    _msg(6, "secret", _SECRET_VOLUME_SOURCE),
    _msg(10, "persistentVolumeClaim", _PVC_VOLUME_SOURCE),
    _msg(16, "downwardAPI", _DOWNWARD_API_VOLUME_SOURCE),
    _msg(19, "configMap", _CONFIG_MAP_VOLUME_SOURCE),
    _msg(26, "projected", _PROJECTED_VOLUME_SOURCE))

_VOLUME = _message("Volume", _str(1, "name", keep=True), _inline(2, _VOLUME_SOURCE))

_NODE_SELECTOR_REQUIREMENT = _message(
    "NodeSelectorRequirement",
    _str(1, "key", keep=True), _str(2, "operator", keep=True), _strs(3, "values"))

_NODE_SELECTOR_TERM = _message(
    "NodeSelectorTerm",
    _msgs(1, "matchExpressions", _NODE_SELECTOR_REQUIREMENT),
    _msgs(2, "matchFields", _NODE_SELECTOR_REQUIREMENT))

_NODE_SELECTOR = _message("NodeSelector", _msgs(1, "nodeSelectorTerms", _NODE_SELECTOR_TERM))

_PREFERRED_SCHEDULING_TERM = _message(
    "PreferredSchedulingTerm", _i32(1, "weight", keep=True),
    _msg(2, "preference", _NODE_SELECTOR_TERM))

_NODE_AFFINITY = _message(
    "NodeAffinity",
    _msg(1, "requiredDuringSchedulingIgnoredDuringExecution", _NODE_SELECTOR),
    _msgs(2, "preferredDuringSchedulingIgnoredDuringExecution", _PREFERRED_SCHEDULING_TERM))

_POD_AFFINITY_TERM = _message(
    "PodAffinityTerm",
    _msg(1, "labelSelector", _LABEL_SELECTOR), _strs(2, "namespaces"),
    _str(3, "topologyKey", keep=True), _msg(4, "namespaceSelector", _LABEL_SELECTOR),
    _strs(5, "matchLabelKeys"), _strs(6, "mismatchLabelKeys"))

_WEIGHTED_POD_AFFINITY_TERM = _message(
    "WeightedPodAffinityTerm", _i32(1, "weight", keep=True),
    _msg(2, "podAffinityTerm", _POD_AFFINITY_TERM))

_POD_AFFINITY = _message(
    "PodAffinity",
    _msgs(1, "requiredDuringSchedulingIgnoredDuringExecution", _POD_AFFINITY_TERM),
    _msgs(2, "preferredDuringSchedulingIgnoredDuringExecution", _WEIGHTED_POD_AFFINITY_TERM))

_AFFINITY = _message(
    "Affinity",
    _msg(1, "nodeAffinity", _NODE_AFFINITY), _msg(2, "podAffinity", _POD_AFFINITY),
    _msg(3, "podAntiAffinity", _message("PodAntiAffinity", *_POD_AFFINITY.fields)))

_SYSCTL = _message("Sysctl", _str(1, "name", keep=True), _str(2, "value", keep=True))

_POD_SECURITY_CONTEXT = _message(
    "PodSecurityContext",
    _msg(1, "seLinuxOptions", _SE_LINUX_OPTIONS), _i64(2, "runAsUser", keep=True),
    _i64(6, "runAsGroup", keep=True), _bool(3, "runAsNonRoot", keep=True),
    Field(4, "supplementalGroups", Kind.INT64, repeated=True),
    _str(12, "supplementalGroupsPolicy", keep=True), _i64(5, "fsGroup", keep=True),
    _msgs(7, "sysctls", _SYSCTL), _str(9, "fsGroupChangePolicy", keep=True),
    _msg(10, "seccompProfile", _SECCOMP_PROFILE), _msg(11, "appArmorProfile", _APP_ARMOR_PROFILE))

_TOLERATION = _message(
    "Toleration",
    _str(1, "key"), _str(2, "operator"), _str(3, "value"), _str(4, "effect"),
    _i64(5, "tolerationSeconds", keep=True))

_HOST_ALIAS = _message("HostAlias", _str(1, "ip", keep=True), _strs(2, "hostnames"))

_POD_DNS_CONFIG_OPTION = _message(
    "PodDNSConfigOption", _str(1, "name"), _str(2, "value", keep=True))

_POD_DNS_CONFIG = _message(
    "PodDNSConfig",
    _strs(1, "nameservers"), _strs(2, "searches"), _msgs(3, "options", _POD_DNS_CONFIG_OPTION))

_TOPOLOGY_SPREAD_CONSTRAINT = _message(
    "TopologySpreadConstraint",
    _i32(1, "maxSkew", keep=True), _str(2, "topologyKey", keep=True),
    _str(3, "whenUnsatisfiable", keep=True), _msg(4, "labelSelector", _LABEL_SELECTOR),
    _i32(5, "minDomains", keep=True), _str(6, "nodeAffinityPolicy", keep=True),
    _str(7, "nodeTaintsPolicy", keep=True), _strs(8, "matchLabelKeys"))

_POD_READINESS_GATE = _message("PodReadinessGate", _str(1, "conditionType", keep=True))

_POD_OS = _message("PodOS", _str(1, "name", keep=True))

_POD_SCHEDULING_GATE = _message("PodSchedulingGate", _str(1, "name", keep=True))

_POD_SPEC = _message(
    "PodSpec",
    _msgs(1, "volumes", _VOLUME), _msgs(20, "initContainers", _CONTAINER),
    _msgs(2, "containers", _CONTAINER), _str(3, "restartPolicy"),
    _i64(4, "terminationGracePeriodSeconds", keep=True),
    _i64(5, "activeDeadlineSeconds", keep=True), _str(6, "dnsPolicy"),
    _of(Kind.STRING_MAP, 7, "nodeSelector"), _str(8, "serviceAccountName"),
    _str(9, "serviceAccount"), _bool(21, "automountServiceAccountToken", keep=True),
    _str(10, "nodeName"), _bool(11, "hostNetwork"), _bool(12, "hostPID"), _bool(13, "hostIPC"),
    _bool(27, "shareProcessNamespace", keep=True),
    _msg(14, "securityContext", _POD_SECURITY_CONTEXT),
    _msgs(15, "imagePullSecrets", _LOCAL_OBJECT_REFERENCE), _str(16, "hostname"),
    _str(17, "subdomain"), _msg(18, "affinity", _AFFINITY), _str(19, "schedulerName"),
    _msgs(22, "tolerations", _TOLERATION), _msgs(23, "hostAliases", _HOST_ALIAS),
    _str(24, "priorityClassName"), _i32(25, "priority", keep=True),
    _msg(26, "dnsConfig", _POD_DNS_CONFIG), _msgs(28, "readinessGates", _POD_READINESS_GATE),
    _str(29, "runtimeClassName", keep=True), _bool(30, "enableServiceLinks", keep=True),
    _str(31, "preemptionPolicy", keep=True), _of(Kind.QUANTITY_MAP, 32, "overhead"),
    _msgs(33, "topologySpreadConstraints", _TOPOLOGY_SPREAD_CONSTRAINT),
    _bool(35, "setHostnameAsFQDN", keep=True), _msg(36, "os", _POD_OS),
    _bool(37, "hostUsers", keep=True), _msgs(38, "schedulingGates", _POD_SCHEDULING_GATE),
    _msg(40, "resources", _RESOURCE_REQUIREMENTS))

_POD_TEMPLATE_SPEC = _message(
    "PodTemplateSpec", _msg(1, "metadata", _OBJECT_META), _msg(2, "spec", _POD_SPEC))

_POD_CONDITION = _message(
    "PodCondition",
    _str(1, "type", keep=True), _i64(7, "observedGeneration"), _str(2, "status", keep=True),
    _of(Kind.TIME, 3, "lastProbeTime"), _of(Kind.TIME, 4, "lastTransitionTime"),
    _str(5, "reason"), _str(6, "message"))

_POD_IP = _message("PodIP", _str(1, "ip", keep=True))

_POD_STATUS = _message(
    "PodStatus",
    _i64(17, "observedGeneration"), _str(1, "phase"), _msgs(2, "conditions", _POD_CONDITION),
    _str(3, "message"), _str(4, "reason"), _str(11, "nominatedNodeName"), _str(5, "hostIP"),
    _msgs(16, "hostIPs", _POD_IP), _str(6, "podIP"), _msgs(12, "podIPs", _POD_IP),
    _of(Kind.TIME, 7, "startTime"), _str(9, "qosClass"))

# k8s.io/api core/v1: top-level kinds

_POD = _message(
    "Pod",
    _msg(1, "metadata", _OBJECT_META), _msg(2, "spec", _POD_SPEC),
    _msg(3, "status", _POD_STATUS))

_SERVICE_PORT = _message(
    "ServicePort",
    _str(1, "name"), _str(2, "protocol"), _str(6, "appProtocol", keep=True),
    _i32(3, "port", keep=True), _of(Kind.INT_OR_STRING, 4, "targetPort"), _i32(5, "nodePort"))

_SESSION_AFFINITY_CONFIG = _message(
    "SessionAffinityConfig",
    _msg(1, "clientIP", _message("ClientIPConfig", _i32(1, "timeoutSeconds", keep=True))))

_SERVICE_SPEC = _message(
    "ServiceSpec",
    _msgs(1, "ports", _SERVICE_PORT), _of(Kind.STRING_MAP, 2, "selector"),
    _str(3, "clusterIP"), _strs(18, "clusterIPs"), _str(4, "type"), _strs(5, "externalIPs"),
    _str(7, "sessionAffinity"), _str(8, "loadBalancerIP"),
    _strs(9, "loadBalancerSourceRanges"), _str(10, "externalName"),
    _str(11, "externalTrafficPolicy"), _i32(12, "healthCheckNodePort"),
    _bool(13, "publishNotReadyAddresses"),
    _msg(14, "sessionAffinityConfig", _SESSION_AFFINITY_CONFIG), _strs(19, "ipFamilies"),
    _str(17, "ipFamilyPolicy", keep=True), _bool(20, "allocateLoadBalancerNodePorts", keep=True),
    _str(21, "loadBalancerClass", keep=True), _str(22, "internalTrafficPolicy", keep=True),
    _str(23, "trafficDistribution", keep=True))

_LOAD_BALANCER_INGRESS = _message(
    "LoadBalancerIngress", _str(1, "ip"), _str(2, "hostname"), _str(3, "ipMode", keep=True))

_SERVICE_STATUS = _message(
    "ServiceStatus",
    _msg(1, "loadBalancer", _message("LoadBalancerStatus",
                                     _msgs(1, "ingress", _LOAD_BALANCER_INGRESS))),
    _msgs(2, "conditions", _CONDITION))

_SERVICE = _message(
    "Service",
    _msg(1, "metadata", _OBJECT_META), _msg(2, "spec", _SERVICE_SPEC),
    _msg(3, "status", _SERVICE_STATUS))

_CONFIG_MAP = _message(
    "ConfigMap",
    _msg(1, "metadata", _OBJECT_META), _bool(4, "immutable", keep=True),
    _of(Kind.STRING_MAP, 2, "data"), _of(Kind.BYTES_MAP, 3, "binaryData"))

_SECRET = _message(
    "Secret",
    _msg(1, "metadata", _OBJECT_META), _bool(5, "immutable", keep=True),
    _of(Kind.BYTES_MAP, 2, "data"), _of(Kind.STRING_MAP, 4, "stringData"), _str(3, "type"))

_NAMESPACE_CONDITION = _message(
    "NamespaceCondition",
    _str(1, "type", keep=True), _str(2, "status", keep=True),
    _of(Kind.TIME, 4, "lastTransitionTime"), _str(5, "reason"), _str(6, "message"))

_NAMESPACE = _message(
    "Namespace",
    _msg(1, "metadata", _OBJECT_META),
    _msg(2, "spec", _message("NamespaceSpec", _strs(1, "finalizers"))),
    _msg(3, "status", _message("NamespaceStatus", _str(1, "phase"),
                               _msgs(2, "conditions", _NAMESPACE_CONDITION))))

_TYPED_OBJECT_REFERENCE = _message(
    "TypedObjectReference",
    _str(1, "apiGroup", keep=True), _str(2, "kind", keep=True), _str(3, "name", keep=True),
    _str(4, "namespace", keep=True))

_PVC_SPEC = _message(
    "PersistentVolumeClaimSpec",
    _strs(1, "accessModes"), _msg(4, "selector", _LABEL_SELECTOR),
    _msg(2, "resources", _message("VolumeResourceRequirements",
                                  *_RESOURCE_REQUIREMENTS.fields[:2])),
    _str(3, "volumeName"), _str(5, "storageClassName", keep=True),
    _str(6, "volumeMode", keep=True),
    _msg(7, "dataSource", _message("TypedLocalObjectReference",
                                   *_TYPED_OBJECT_REFERENCE.fields[:3])),
    _msg(8, "dataSourceRef", _TYPED_OBJECT_REFERENCE),
    _str(9, "volumeAttributesClassName", keep=True))

_PVC_STATUS = _message(
    "PersistentVolumeClaimStatus",
    _str(1, "phase"), _strs(2, "accessModes"), _of(Kind.QUANTITY_MAP, 3, "capacity"))

_PERSISTENT_VOLUME_CLAIM = _message(
    "PersistentVolumeClaim",
    _msg(1, "metadata", _OBJECT_META), _msg(2, "spec", _PVC_SPEC),
    _msg(3, "status", _PVC_STATUS))

# k8s.io/api apps/v1

_ROLLING_UPDATE_DEPLOYMENT = _message(
    "RollingUpdateDeployment",
    _of(Kind.INT_OR_STRING, 1, "maxUnavailable"), _of(Kind.INT_OR_STRING, 2, "maxSurge"))

_DEPLOYMENT_STRATEGY = _message(
    "DeploymentStrategy", _str(1, "type"), _msg(2, "rollingUpdate", _ROLLING_UPDATE_DEPLOYMENT))

_DEPLOYMENT_SPEC = _message(
    "DeploymentSpec",
    _i32(1, "replicas", keep=True), _msg(2, "selector", _LABEL_SELECTOR),
    _msg(3, "template", _POD_TEMPLATE_SPEC), _msg(4, "strategy", _DEPLOYMENT_STRATEGY),
    _i32(5, "minReadySeconds"), _i32(6, "revisionHistoryLimit", keep=True),
    _bool(7, "paused"), _i32(9, "progressDeadlineSeconds", keep=True))

_APPS_CONDITION_TIMES = (_of(Kind.TIME, 6, "lastUpdateTime"),
                         _of(Kind.TIME, 7, "lastTransitionTime"))

_DEPLOYMENT_CONDITION = _message(
    "DeploymentCondition",
    _str(1, "type", keep=True), _str(2, "status", keep=True), *_APPS_CONDITION_TIMES,
    _str(4, "reason"), _str(5, "message"))

_DEPLOYMENT_STATUS = _message(
    "DeploymentStatus",
    _i64(1, "observedGeneration"), _i32(2, "replicas"), _i32(3, "updatedReplicas"),
    _i32(7, "readyReplicas"), _i32(4, "availableReplicas"), _i32(5, "unavailableReplicas"),
    _i32(9, "terminatingReplicas", keep=True), _msgs(6, "conditions", _DEPLOYMENT_CONDITION),
    _i32(8, "collisionCount", keep=True))

_DEPLOYMENT = _message(
    "Deployment",
    _msg(1, "metadata", _OBJECT_META), _msg(2, "spec", _DEPLOYMENT_SPEC),
    _msg(3, "status", _DEPLOYMENT_STATUS))

_WORKLOAD_CONDITION = (  # ReplicaSetCondition and StatefulSetCondition share their numbers
    _str(1, "type", keep=True), _str(2, "status", keep=True),
    _of(Kind.TIME, 3, "lastTransitionTime"), _str(4, "reason"), _str(5, "message"))

_REPLICA_SET_SPEC = _message(
    "ReplicaSetSpec",
    _i32(1, "replicas", keep=True), _i32(4, "minReadySeconds"),
    _msg(2, "selector", _LABEL_SELECTOR), _msg(3, "template", _POD_TEMPLATE_SPEC))

_REPLICA_SET_STATUS = _message(
    "ReplicaSetStatus",
    _i32(1, "replicas", keep=True), _i32(2, "fullyLabeledReplicas"), _i32(4, "readyReplicas"),
    _i32(5, "availableReplicas"), _i32(7, "terminatingReplicas", keep=True),
    _i64(3, "observedGeneration"),
    _msgs(6, "conditions", _message("ReplicaSetCondition", *_WORKLOAD_CONDITION)))

_REPLICA_SET = _message(
    "ReplicaSet",
    _msg(1, "metadata", _OBJECT_META), _msg(2, "spec", _REPLICA_SET_SPEC),
    _msg(3, "status", _REPLICA_SET_STATUS))

_STATEFUL_SET_UPDATE_STRATEGY = _message(
    "StatefulSetUpdateStrategy",
    _str(1, "type"),
    _msg(2, "rollingUpdate", _message("RollingUpdateStatefulSetStrategy",
                                      _i32(1, "partition", keep=True),
                                      _of(Kind.INT_OR_STRING, 2, "maxUnavailable"))))

_STATEFUL_SET_SPEC = _message(
    "StatefulSetSpec",
    _i32(1, "replicas", keep=True), _msg(2, "selector", _LABEL_SELECTOR),
    _msg(3, "template", _POD_TEMPLATE_SPEC),
    _msgs(4, "volumeClaimTemplates", _PERSISTENT_VOLUME_CLAIM),
    _str(5, "serviceName", keep=True), _str(6, "podManagementPolicy"),
    _msg(7, "updateStrategy", _STATEFUL_SET_UPDATE_STRATEGY),
    _i32(8, "revisionHistoryLimit", keep=True), _i32(9, "minReadySeconds"),
    _msg(10, "persistentVolumeClaimRetentionPolicy",
         _message("StatefulSetPersistentVolumeClaimRetentionPolicy",
                  _str(1, "whenDeleted"), _str(2, "whenScaled"))),
    _msg(11, "ordinals", _message("StatefulSetOrdinals", _i32(1, "start", keep=True))))

_STATEFUL_SET_STATUS = _message(
    "StatefulSetStatus",
    _i64(1, "observedGeneration"), _i32(2, "replicas", keep=True), _i32(3, "readyReplicas"),
    _i32(4, "currentReplicas"), _i32(5, "updatedReplicas"), _str(6, "currentRevision"),
    _str(7, "updateRevision"), _i32(9, "collisionCount", keep=True),
    _msgs(10, "conditions", _message("StatefulSetCondition", *_WORKLOAD_CONDITION)),
    _i32(11, "availableReplicas", keep=True))

_STATEFUL_SET = _message(
    "StatefulSet",
    _msg(1, "metadata", _OBJECT_META), _msg(2, "spec", _STATEFUL_SET_SPEC),
    _msg(3, "status", _STATEFUL_SET_STATUS))

# k8s.io/api authorization/v1 and authentication/v1: the self-subject reviews kubectl's
# `auth can-i` and `auth whoami` send (answered by `cluster.http.reviews`, never stored)

_SELECTOR_ATTRIBUTES = (  # FieldSelectorAttributes and LabelSelectorAttributes
    _str(1, "rawSelector"),)

_RESOURCE_ATTRIBUTES = _message(
    "ResourceAttributes",
    _str(1, "namespace"), _str(2, "verb"), _str(3, "group"), _str(4, "version"),
    _str(5, "resource"), _str(6, "subresource"), _str(7, "name"),
    _msg(8, "fieldSelector", _message(
        "FieldSelectorAttributes", *_SELECTOR_ATTRIBUTES,
        _msgs(2, "requirements", _message(
            "FieldSelectorRequirement", _str(1, "key", keep=True),
            _str(2, "operator", keep=True), _strs(3, "values"))))),
    _msg(9, "labelSelector", _message(
        "LabelSelectorAttributes", *_SELECTOR_ATTRIBUTES,
        _msgs(2, "requirements", _LABEL_SELECTOR_REQUIREMENT))))

_SUBJECT_ACCESS_REVIEW_STATUS = _message(
    "SubjectAccessReviewStatus",
    _bool(1, "allowed", keep=True), _bool(4, "denied"), _str(2, "reason"),
    _str(3, "evaluationError"))

_SELF_SUBJECT_ACCESS_REVIEW = _message(
    "SelfSubjectAccessReview",
    _msg(1, "metadata", _OBJECT_META),
    _msg(2, "spec", _message(
        "SelfSubjectAccessReviewSpec", _msg(1, "resourceAttributes", _RESOURCE_ATTRIBUTES),
        _msg(2, "nonResourceAttributes", _message(
            "NonResourceAttributes", _str(1, "path"), _str(2, "verb"))))),
    _msg(3, "status", _SUBJECT_ACCESS_REVIEW_STATUS))

_SELF_SUBJECT_RULES_REVIEW = _message(
    "SelfSubjectRulesReview",
    _msg(1, "metadata", _OBJECT_META),
    _msg(2, "spec", _message("SelfSubjectRulesReviewSpec", _str(1, "namespace"))))

_SELF_SUBJECT_REVIEW = _message(
    "SelfSubjectReview",
    _msg(1, "metadata", _OBJECT_META),
    _msg(2, "status", _message(
        "SelfSubjectReviewStatus",
        _msg(1, "userInfo", _message("UserInfo", _str(1, "username"), _str(2, "uid"),
                                     _strs(3, "groups"))))))

SUPPORTED_KINDS: Mapping[tuple[str, str], Message] = MappingProxyType({
    ("v1", "Pod"): _POD,
    ("v1", "Service"): _SERVICE,
    ("v1", "ConfigMap"): _CONFIG_MAP,
    ("v1", "Secret"): _SECRET,
    ("v1", "Namespace"): _NAMESPACE,
    ("v1", "PersistentVolumeClaim"): _PERSISTENT_VOLUME_CLAIM,
    ("apps/v1", "Deployment"): _DEPLOYMENT,
    ("apps/v1", "ReplicaSet"): _REPLICA_SET,
    ("apps/v1", "StatefulSet"): _STATEFUL_SET,
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): _SELF_SUBJECT_ACCESS_REVIEW,
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): _SELF_SUBJECT_RULES_REVIEW,
    ("authentication.k8s.io/v1", "SelfSubjectReview"): _SELF_SUBJECT_REVIEW,
})
"""The (apiVersion, kind) pairs `decode` understands, with the message of each."""
