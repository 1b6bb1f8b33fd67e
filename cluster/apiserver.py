"""The API server: the only writer of the store.

Every request passes the same path as in kube-apiserver: resolve the kind, default,
validate, admit (namespace exists and is not terminating, service IPs, CRDs), write with
optimistic concurrency, then run what a write implies — finalizers, graceful pod
deletion, cascading deletion of dependents (background, foreground, orphan) and namespace
termination. The garbage collection that kube-controller-manager does asynchronously runs
here synchronously at the moment an owner goes away, so a reader never sees a dependent
outlive its owner for longer than one call; dependents whose owner never existed are the
garbage-collector controller's job.

Methods are synchronous on purpose: on one event loop, a call is atomic with respect to
every other component, which is what makes a cascade consistent without locks. Objects
going in are copied (the caller may keep its dict); objects coming out are the store's
shared, read-only dicts — `client.InProcessClient` copies them for callers. Because
stored objects are never changed, a new version shares with the previous one the parts
its write left alone: a status write or a binding copies no spec.
"""

from __future__ import annotations

import builtins
import contextlib
import ipaddress
import random
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

from cluster.api import defaults, errors, names, objects, podio, schema, validation
from cluster.api import patch as patching
from cluster.api.resources import ResourceRegistry, ResourceType, UnknownResource
from cluster.api.options import PatchType, PropagationPolicy
from cluster.store import Store, Watcher

NAMESPACES = "namespaces"
CRDS = "customresourcedefinitions.apiextensions.k8s.io"
FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"
NAMESPACE_FINALIZER = "kubernetes"

DNS_SERVICE_OFFSET = 10
"""The cluster DNS Service's ClusterIP is the service CIDR's 10th address, as kubeadm
makes it (10.96.0.10 in 10.96.0.0/16)."""


def dns_service_ip(service_cidr: str) -> str:
    """The ClusterIP kept for cluster DNS in `service_cidr`: never allocated to a Service
    that does not ask for it by `spec.clusterIP` (the embedded cluster's DNS server
    listens there)."""
    network = ipaddress.ip_network(service_cidr, strict=False)
    return str(network.network_address + DNS_SERVICE_OFFSET)


@dataclass(frozen=True)
class APIServerSettings:
    service_cidr: str = "10.96.0.0/16"
    """Where Services' ClusterIPs come from; the embedded cluster passes a loopback range."""
    initial_namespaces: tuple[str, ...] = ("default", "kube-system", "kube-public",
                                           "kube-node-lease")
    """Namespaces that exist from the start, as in a fresh cluster."""
    default_toleration_seconds: int | None = 300
    """DefaultTolerationSeconds admission: how long a pod tolerates its node being
    not-ready or unreachable before eviction; None turns the plugin off."""
    server_version: dict[str, str] = field(default_factory=lambda: {
        "major": "1", "minor": "32", "gitVersion": "v1.32.0-redisha",
        "platform": "linux/amd64"})
    """What `/version` reports."""


class APIServer:
    """Admission, defaulting, validation, GC and status, in front of one `Store`."""

    def __init__(self, *, store: Store | None = None, settings: APIServerSettings | None = None,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        self.store = store if store is not None else Store()
        self.settings = settings or APIServerSettings()
        self.registry = ResourceRegistry()
        self._clock = clock
        self._rng = rng or random.Random()
        self._known_valid = validation.KnownValid()
        self._node_connections: dict[str, podio.NodeConnection] = {}
        for crd in self.store.list(CRDS)[0]:
            self._register_crd(crd)
        for ns in self.settings.initial_namespaces:
            if self.store.try_get(NAMESPACES, "", ns) is None:
                self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    # -- resolution ----------------------------------------------------------------------

    def resolve(self, resource: str) -> ResourceType:
        """A served kind by any name kubectl accepts; NotFound when none."""
        try:
            return self.registry.resolve(resource)
        except UnknownResource as e:
            raise errors.NotFound("", resource, message=str(e.args[0])) from None

    def type_of(self, obj: dict[str, Any]) -> ResourceType:
        if not isinstance(obj, dict):
            raise errors.BadRequest("the object is not a mapping")
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if type(api_version) is str and type(kind) is str and api_version and kind \
                and type(obj.get("metadata", {})) is dict:
            try:  # the well-formed case, which every request of the engine is
                return self.registry.for_object(api_version, kind)
            except UnknownResource as e:
                raise errors.NotFound("", kind, message=str(e.args[0])) from None
        missing = [f"{f} not set" for f in ("apiVersion", "kind") if not obj.get(f)]
        if missing:
            raise errors.BadRequest("invalid object: " + ", ".join(missing))
        if not isinstance(obj.get("metadata", {}), dict):
            raise errors.BadRequest("invalid object: metadata must be a mapping")
        try:
            return self.registry.for_object(str(obj["apiVersion"]), str(obj["kind"]))
        except UnknownResource as e:
            raise errors.NotFound("", str(obj["kind"]), message=str(e.args[0])) from None

    def _namespace(self, rt: ResourceType, namespace: str | None) -> str:
        return (namespace or "default") if rt.namespaced else ""

    # -- reads ---------------------------------------------------------------------------

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        rt = self.resolve(resource)
        return self.store.get(rt.key, self._namespace(rt, namespace), name)

    def list(self, resource: str, namespace: str | None = None, *,
             label_selector: str | None = None, field_selector: str | None = None,
             ) -> tuple[list[dict[str, Any]], int]:
        rt = self.resolve(resource)
        return self.store.list(rt.key, namespace if rt.namespaced else None,
                               label_selector, field_selector)

    def watch(self, resource: str, namespace: str | None = None, *,
              label_selector: str | None = None, field_selector: str | None = None,
              resource_version: int | None = None) -> Watcher:
        rt = self.resolve(resource)
        return self.store.watch(rt.key, namespace if rt.namespaced else None,
                                label_selector, field_selector, resource_version)

    @property
    def revision(self) -> int:
        return self.store.revision

    # -- create --------------------------------------------------------------------------

    def create(self, obj: dict[str, Any], namespace: str | None = None, *,
               dry_run: bool = False) -> dict[str, Any]:
        """Default, validate, admit and store a new object.

        With `dry_run` (`?dryRun=All`) every step but storing runs and the answer is the
        object that would have been stored, without a resourceVersion, as kube-apiserver's
        dry-run storage answers."""
        rt = self.type_of(obj)
        new = objects.clone(obj)
        m = objects.meta(new)
        ns = self._create_namespace(rt, m, namespace)
        if ns:
            self._admit_namespace(rt, ns, m.get("name") or m.get("generateName", ""))
        for f in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            m.pop(f, None)
        m["uid"] = _random_uuid4(self._rng)
        m["creationTimestamp"] = objects.format_time(self._clock())
        if rt.tracks_generation:
            m["generation"] = 1
        else:
            m.pop("generation", None)
        self._reset_status_on_create(rt, new)
        self._default(rt, new)
        if not m.get("name") and m.get("generateName"):
            m["name"] = self._generated_name(rt, ns, str(m["generateName"]))
        self._validate(rt, new, None)
        self._admit_create(rt, new)
        if dry_run:
            if self.store.try_get(rt.key, ns, str(m.get("name", ""))) is not None:
                raise errors.AlreadyExists(rt.key, str(m.get("name", "")))
            return new
        stored = self.store.create(rt.key, new)
        if rt.key == CRDS:
            stored = self._established(stored)
        return stored

    def _create_namespace(self, rt: ResourceType, m: dict[str, Any], namespace: str | None) -> str:
        if not rt.namespaced:
            m.pop("namespace", None)
            return ""
        given = m.get("namespace")
        if given and namespace and given != namespace:
            raise errors.BadRequest("the namespace of the provided object does not match "
                                    "the namespace sent on the request")
        ns = given or namespace or "default"
        m["namespace"] = ns
        return ns

    def _admit_namespace(self, rt: ResourceType, ns: str, name: str) -> None:
        owner = self.store.try_get(NAMESPACES, "", ns)
        if owner is None:
            raise errors.NotFound(NAMESPACES, ns)
        if objects.is_terminating(owner):
            raise errors.Forbidden(
                f'{rt.key} "{name}" is forbidden: unable to create new content in namespace '
                f"{ns} because it is being terminated")

    def _generated_name(self, rt: ResourceType, ns: str, prefix: str) -> str:
        # kube-apiserver trims the prefix so prefix + 5 characters fits in 63.
        prefix = prefix[:58]
        for _ in range(16):
            candidate = prefix + names.generate_name_suffix(self._rng)
            if self.store.try_get(rt.key, ns, candidate) is None:
                return candidate
        raise errors.AlreadyExists(rt.key, prefix + "*")

    def _reset_status_on_create(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        """Status is the system's to write; what a create carries is mostly dropped."""
        if rt.kind == "Pod":
            obj["status"] = {"phase": "Pending",
                             "qosClass": defaults.pod_qos_class(obj.get("spec") or {})}
        elif rt.kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        elif rt.kind == "PersistentVolumeClaim":
            obj["status"] = {"phase": "Pending"}
        elif rt.kind == "Node":
            pass  # kubelets register their node with its status, as the real ones do.
        elif rt.has_status and rt.key != CRDS:
            obj.pop("status", None)

    def _default(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt.custom:
            if rt.schema:
                schema.prune(rt.schema, obj)
                schema.apply_defaults(rt.schema, obj)
        else:
            defaults.apply_defaults(rt, obj)

    def _validate(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        found = (validation.validate_object(rt, obj, known=self._known_valid) if old is None
                 else validation.validate_update(rt, obj, old, known=self._known_valid))
        if found:
            raise errors.Invalid(rt.qualified_kind, objects.name_of(obj), found)

    def _admit_create(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt.kind == "Pod" and not rt.custom:
            self._default_tolerations(obj)
        elif rt.kind == "Service" and not rt.custom:
            spec = obj.setdefault("spec", {})
            if not spec.get("clusterIP"):
                ip = self._allocate_cluster_ip()
                spec["clusterIP"] = ip
                spec["clusterIPs"] = [ip]
            elif "clusterIPs" not in spec:
                spec["clusterIPs"] = [spec["clusterIP"]]
        elif rt.key == CRDS:
            self._check_crd_names(obj)

    def _default_tolerations(self, pod: dict[str, Any]) -> None:
        """Add the not-ready/unreachable NoExecute tolerations a pod lacks, as the
        DefaultTolerationSeconds admission plugin does."""
        seconds = self.settings.default_toleration_seconds
        if seconds is None:
            return
        spec = pod.setdefault("spec", {})
        tolerations = spec.setdefault("tolerations", [])
        for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
            if any(t.get("key") == key and t.get("effect") in (None, "", "NoExecute")
                   for t in tolerations) or any(
                       not t.get("key") and t.get("operator") == "Exists" for t in tolerations):
                continue
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": seconds})

    def _allocate_cluster_ip(self) -> str:
        network = ipaddress.ip_network(self.settings.service_cidr, strict=False)
        used = {(s.get("spec") or {}).get("clusterIP") for s in self.store.list("services")[0]}
        used.add(dns_service_ip(self.settings.service_cidr))
        for host in network.hosts():
            if str(host) not in used and not str(host).endswith(".0"):
                return str(host)
        raise errors.APIError(f"no ClusterIP left in {self.settings.service_cidr}")

    # -- update and patch ----------------------------------------------------------------

    def update(self, obj: dict[str, Any], *, subresource: str | None = None,
               dry_run: bool = False) -> dict[str, Any]:
        rt = self.type_of(obj)
        m = obj.get("metadata") or {}
        name = m.get("name")
        if not name:
            raise errors.BadRequest("metadata.name: Required value: name is required for update")
        ns = self._namespace(rt, m.get("namespace"))
        old = self.store.get(rt.key, ns, name)
        rv = m.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.Conflict(rt.key, name)
        if subresource == "status":
            # Only the status of what was sent is kept (`_update`): copy just that.
            sent = {"status": objects.clone(obj["status"])} if "status" in obj else {}
            return self._update(rt, sent, old, subresource, dry_run)
        return self._update(rt, objects.clone(obj), old, subresource, dry_run)

    def update_status(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.update(obj, subresource="status")

    def patch(self, resource: str, name: str, body: Any, namespace: str | None = None, *,
              patch_type: PatchType = PatchType.MERGE,
              subresource: str | None = None, dry_run: bool = False) -> dict[str, Any]:
        rt = self.resolve(resource)
        ns = self._namespace(rt, namespace)
        old = self.store.get(rt.key, ns, name)
        base = objects.clone(old)
        if patch_type is PatchType.MERGE:
            new = patching.json_merge_patch(base, body)
        elif patch_type is PatchType.STRATEGIC:
            if not isinstance(body, dict):
                raise errors.BadRequest("a strategic merge patch must be a JSON object")
            new = patching.strategic_merge_patch(base, body)
        elif patch_type is PatchType.JSON:
            if not isinstance(body, list):
                raise errors.BadRequest("a JSON patch must be a list of operations")
            new = patching.json_patch(base, body)
        else:
            raise errors.UnsupportedMediaType(f"unsupported patch type {patch_type!r}")
        if not isinstance(new, dict):
            raise errors.BadRequest("the patch does not result in an object")
        nm = objects.meta(new)
        if nm.get("name") != name or (rt.namespaced and nm.get("namespace") != ns):
            raise errors.BadRequest("a patch may not change metadata.name or metadata.namespace")
        wanted_rv = nm.get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise errors.Conflict(rt.key, name)
        return self._update(rt, new, old, subresource, dry_run)

    def _update(self, rt: ResourceType, new: dict[str, Any], old: dict[str, Any],
                subresource: str | None, dry_run: bool = False) -> dict[str, Any]:
        """The shared tail of update and patch; a dry run stops before the store and
        answers with what would have been written (its resourceVersion still the old)."""
        om = old["metadata"]
        if subresource == "status":
            if not rt.has_status:
                raise errors.NotFound(rt.key + "/status", om["name"])
            # The new version shares spec and the rest with the old one (stored objects
            # are read-only); only metadata, which the store stamps, is a fresh dict.
            merged = dict(old)
            merged["metadata"] = dict(om)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            new = merged
        elif subresource is not None:
            raise errors.NotFound(f"{rt.key}/{subresource}", om["name"])
        else:
            self._keep_system_fields(rt, new, old)
        if subresource is None:
            self._default(rt, new)
            if rt.tracks_generation and _spec_of(new) != _spec_of(old):
                new["metadata"]["generation"] = int(om.get("generation") or 1) + 1
        if subresource is None:
            self._validate(rt, new, old)
        elif not isinstance(new.get("status", {}), dict):
            raise errors.Invalid(rt.qualified_kind, om["name"], [errors.type_invalid(
                "status", new.get("status"), "status must be an object")])
        # A status write changes only status, which spec validation does not look at:
        # revalidating the whole object on every kubelet heartbeat would be waste.
        new["metadata"]["resourceVersion"] = om["resourceVersion"]
        if new == old:
            return old  # A no-op write is not a write: no new revision, no event.
        if dry_run:
            return new
        stored = self.store.update(rt.key, new, expected_version=om["resourceVersion"])
        if rt.key == CRDS:
            self._register_crd(stored)
        if objects.is_terminating(stored) and not stored["metadata"].get("finalizers") \
                and not self._awaits_kubelet(rt, stored):
            return self._remove(rt, stored, PropagationPolicy.BACKGROUND)
        return stored

    def _keep_system_fields(self, rt: ResourceType, new: dict[str, Any], old: dict[str, Any]) -> None:
        nm, om = objects.meta(new), old["metadata"]
        if nm.get("name") != om["name"]:
            raise errors.BadRequest(f"the name of the object ({nm.get('name')}) does not "
                                    f"match the name on the URL ({om['name']})")
        if rt.namespaced and nm.get("namespace", om.get("namespace")) != om.get("namespace"):
            raise errors.BadRequest("the namespace of the provided object does not match "
                                    "the namespace sent on the request")
        for f in ("uid", "creationTimestamp", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "generation", "namespace"):
            if f in om:
                nm[f] = om[f]
            else:
                nm.pop(f, None)
        if rt.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if rt.kind == "Service" and not rt.custom:
            # An update that leaves clusterIP out keeps the allocated one, as
            # kube-apiserver's service REST does.
            spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
            for f in ("clusterIP", "clusterIPs"):
                if not spec.get(f) and old_spec.get(f):
                    spec[f] = old_spec[f]

    def bind(self, name: str, namespace: str | None, node_name: str) -> dict[str, Any]:
        """The `pods/binding` subresource: assign a pending pod to a node, once.

        It is the scheduler's only write to a pod; spec.nodeName cannot be changed by an
        ordinary update, so a bound pod stays bound (a bare pod is never moved).
        """
        rt = self.resolve("pods")
        ns = self._namespace(rt, namespace)
        pod = self.store.get(rt.key, ns, name)
        if not node_name:
            raise errors.BadRequest("binding target: Required value: a node name is required")
        if objects.is_terminating(pod):
            raise errors.Conflict(rt.key, name, "pod is being deleted, cannot be assigned to a host")
        current = (pod.get("spec") or {}).get("nodeName")
        if current:
            raise errors.Conflict(rt.key, name,
                                  f'pod {name} is already assigned to node "{current}"')
        # The bound version shares everything it does not change with the old one (stored
        # objects are read-only): fresh metadata (stamped by the store), spec and status.
        bound = dict(pod)
        bound["metadata"] = dict(pod["metadata"])
        bound["spec"] = dict(pod.get("spec") or {})
        bound["spec"]["nodeName"] = node_name
        status = bound["status"] = dict(pod.get("status") or {})
        conditions = [c for c in (status.get("conditions") or ())
                      if c.get("type") != "PodScheduled"]
        conditions.insert(0, {"type": "PodScheduled", "status": "True",
                              "lastProbeTime": None,
                              "lastTransitionTime": objects.format_time(self._clock())})
        status["conditions"] = conditions
        return self.store.update(rt.key, bound, expected_version=pod["metadata"]["resourceVersion"])

    # -- delete --------------------------------------------------------------------------

    def delete(self, resource: str, name: str, namespace: str | None = None, *,
               propagation_policy: PropagationPolicy | None = None,
               resource_version: str | None = None,
               grace_period_seconds: int | None = None) -> dict[str, Any]:
        rt = self.resolve(resource)
        ns = self._namespace(rt, namespace)
        obj = self.store.get(rt.key, ns, name)
        if resource_version and obj["metadata"]["resourceVersion"] != resource_version:
            raise errors.Conflict(rt.key, name, "Precondition failed: ResourceVersion in "
                                  f"precondition: {resource_version}, ResourceVersion in "
                                  f"object meta: {obj['metadata']['resourceVersion']}")
        policy = PropagationPolicy(propagation_policy or PropagationPolicy.BACKGROUND)
        if rt.key == NAMESPACES:
            return self._delete_namespace(obj)
        m = obj["metadata"]
        grace = self._grace(rt, obj, grace_period_seconds)
        if objects.is_terminating(obj):
            # Already going. Only a pod's kubelet (or a force delete) can finish it early.
            if rt.kind == "Pod" and grace == 0 and not m.get("finalizers"):
                return self._remove(rt, obj, policy)
            return obj
        if policy is PropagationPolicy.ORPHAN:
            self._orphan_dependents(obj)
        finalizers = list(m.get("finalizers") or ())
        cascade_first = policy is PropagationPolicy.FOREGROUND and self._blocking_dependents(obj)
        if cascade_first:
            finalizers.append(FOREGROUND_FINALIZER)
        if finalizers or grace:
            marked = objects.clone(obj)
            mm = marked["metadata"]
            mm["deletionTimestamp"] = objects.format_time(self._clock() + grace)
            mm["deletionGracePeriodSeconds"] = grace
            if finalizers:
                mm["finalizers"] = finalizers
            marked = self.store.update(rt.key, marked, expected_version=m["resourceVersion"])
            if cascade_first:
                self._delete_dependents(marked, PropagationPolicy.FOREGROUND)
                return self.store.try_get(rt.key, ns, name) or marked
            return marked
        return self._remove(rt, obj, policy)

    def _grace(self, rt: ResourceType, obj: dict[str, Any], asked: int | None) -> int:
        """Seconds a deletion waits for its kubelet: only bound pods wait at all."""
        if rt.kind != "Pod" or rt.custom or not (obj.get("spec") or {}).get("nodeName"):
            return 0
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        if asked is not None:
            return max(0, int(asked))
        return int((obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30))

    def _awaits_kubelet(self, rt: ResourceType, obj: dict[str, Any]) -> bool:
        return rt.kind == "Pod" and not rt.custom \
            and bool(obj["metadata"].get("deletionGracePeriodSeconds"))

    def _remove(self, rt: ResourceType, obj: dict[str, Any],
                policy: PropagationPolicy) -> dict[str, Any]:
        m = obj["metadata"]
        gone = self.store.delete(rt.key, m.get("namespace", ""), m["name"])
        if rt.key == CRDS:
            self._drop_crd(gone)
        if policy is not PropagationPolicy.ORPHAN:
            self._delete_dependents(gone, PropagationPolicy.BACKGROUND)
        self._release_owners(gone)
        ns = m.get("namespace")
        if ns:
            self._maybe_finish_namespace(ns)
        return gone

    # -- garbage collection ----------------------------------------------------------------

    def _blocking_dependents(self, owner: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        uid = owner["metadata"]["uid"]
        return [(r, d) for r, d in self.store.dependents(uid)
                if any(ref.get("uid") == uid and ref.get("blockOwnerDeletion", False)
                       for ref in d["metadata"].get("ownerReferences") or ())]

    def _delete_dependents(self, owner: dict[str, Any], policy: PropagationPolicy) -> None:
        uid = owner["metadata"]["uid"]
        for resource, dep in self.store.dependents(uid):
            current = self.store.try_get(resource, dep["metadata"].get("namespace", ""),
                                         dep["metadata"]["name"])
            if current is None or current["metadata"]["uid"] != dep["metadata"]["uid"]:
                continue
            refs = current["metadata"].get("ownerReferences") or []
            if any(r.get("uid") != uid and self._owner_alive(current, r) for r in refs):
                # Another owner still holds it: drop only our reference, as the GC does.
                kept = objects.clone(current)
                kept["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                self.store.update(resource, kept,
                                  expected_version=current["metadata"]["resourceVersion"])
                continue
            if objects.is_terminating(current) and policy is not PropagationPolicy.FOREGROUND:
                continue
            try:
                dep_rt = self.registry.get(resource)
                self.delete(dep_rt.key, current["metadata"]["name"],
                            current["metadata"].get("namespace") or None,
                            propagation_policy=policy)
            except (errors.NotFound, UnknownResource):
                continue

    def _owner_alive(self, dependent: dict[str, Any], ref: dict[str, Any]) -> bool:
        owner = self._find_owner(dependent, ref)
        return owner is not None and not objects.is_terminating(owner)

    def _find_owner(self, dependent: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any] | None:
        try:
            rt = self.registry.for_object(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        except UnknownResource:
            return None
        ns = dependent["metadata"].get("namespace", "") if rt.namespaced else ""
        owner = self.store.try_get(rt.key, ns, str(ref.get("name", "")))
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return None
        return owner

    def _release_owners(self, gone: dict[str, Any]) -> None:
        """A dependent went away: finish any owner that was waiting on it (foreground)."""
        for ref in gone["metadata"].get("ownerReferences") or ():
            owner = self._find_owner(gone, ref)
            if owner is None or FOREGROUND_FINALIZER not in (owner["metadata"].get("finalizers") or ()):
                continue
            if self._blocking_dependents(owner):
                continue
            released = objects.clone(owner)
            released["metadata"]["finalizers"] = [
                f for f in owner["metadata"]["finalizers"] if f != FOREGROUND_FINALIZER]
            rt = self.type_of(owner)
            stored = self.store.update(rt.key, released,
                                       expected_version=owner["metadata"]["resourceVersion"])
            if not stored["metadata"]["finalizers"]:
                self._remove(rt, stored, PropagationPolicy.BACKGROUND)

    def _orphan_dependents(self, owner: dict[str, Any]) -> None:
        uid = owner["metadata"]["uid"]
        for resource, dep in self.store.dependents(uid):
            freed = objects.clone(dep)
            refs = [r for r in dep["metadata"].get("ownerReferences") or () if r.get("uid") != uid]
            if refs:
                freed["metadata"]["ownerReferences"] = refs
            else:
                freed["metadata"].pop("ownerReferences", None)
            self.store.update(resource, freed, expected_version=dep["metadata"]["resourceVersion"])

    # -- namespaces ----------------------------------------------------------------------

    def _delete_namespace(self, ns_obj: dict[str, Any]) -> dict[str, Any]:
        name = ns_obj["metadata"]["name"]
        if not objects.is_terminating(ns_obj):
            marked = objects.clone(ns_obj)
            marked["metadata"]["deletionTimestamp"] = objects.format_time(self._clock())
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            marked.setdefault("status", {})["phase"] = "Terminating"
            self.store.update(NAMESPACES, marked,
                              expected_version=ns_obj["metadata"]["resourceVersion"])
        for resource, obj in list(self.store.namespaces_used(name)):
            if objects.is_terminating(obj):
                continue
            try:
                self.delete(resource, obj["metadata"]["name"], name)
            except errors.NotFound:
                continue
        self._maybe_finish_namespace(name)
        return self.store.try_get(NAMESPACES, "", name) or ns_obj

    def _maybe_finish_namespace(self, name: str) -> None:
        ns_obj = self.store.try_get(NAMESPACES, "", name)
        if ns_obj is None or not objects.is_terminating(ns_obj):
            return
        if next(self.store.namespaces_used(name), None) is not None:
            return
        if (ns_obj.get("spec") or {}).get("finalizers"):
            done = objects.clone(ns_obj)
            done["spec"]["finalizers"] = []
            ns_obj = self.store.update(NAMESPACES, done,
                                       expected_version=ns_obj["metadata"]["resourceVersion"])
        if not ns_obj["metadata"].get("finalizers"):
            self.store.delete(NAMESPACES, "", name)

    # -- custom resource definitions -------------------------------------------------------

    def _check_crd_names(self, crd: dict[str, Any]) -> None:
        spec = crd["spec"]
        plural, group = spec["names"]["plural"], spec["group"]
        for rt in self.registry:
            if rt.group == group and rt.plural == plural:
                raise errors.AlreadyExists(CRDS, crd["metadata"]["name"])

    def _register_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        versions = spec.get("versions") or []
        served = [v for v in versions if v.get("served", True)]
        if not served:
            return
        version = next((v for v in served if v.get("storage")), served[0])
        n = spec.get("names") or {}
        kind = n.get("kind", "")
        rt = ResourceType(
            group=spec.get("group", ""), version=version.get("name", "v1"), kind=kind,
            plural=n.get("plural", ""), singular=n.get("singular") or kind.lower(),
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(n.get("shortNames") or ()),
            has_status="status" in ((version.get("subresources") or {})),
            categories=tuple(n.get("categories") or ()),
            schema=(version.get("schema") or {}).get("openAPIV3Schema"),
            printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
            custom=True)
        self.registry.register(rt)

    def _established(self, crd: dict[str, Any]) -> dict[str, Any]:
        """Register the new kind and report it served, as apiextensions' controllers do."""
        self._register_crd(crd)
        now = objects.format_time(self._clock())
        status = objects.clone(crd)
        status["status"] = {
            "acceptedNames": objects.clone(crd["spec"]["names"]),
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": now},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": now},
            ],
            "storedVersions": [v["name"] for v in crd["spec"].get("versions") or ()
                               if v.get("storage")],
        }
        return self.store.update(CRDS, status, expected_version=crd["metadata"]["resourceVersion"])

    def _drop_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        key = f"{(spec.get('names') or {}).get('plural', '')}.{spec.get('group', '')}"
        for obj in list(self.store.list(key)[0]):
            m = obj["metadata"]
            try:
                self.store.delete(key, m.get("namespace", ""), m["name"])
            except errors.NotFound:
                continue
        self.registry.unregister(key)

    def version(self) -> dict[str, str]:
        return dict(self.settings.server_version)

    # -- pods/log and pods/exec: forwarded to the pod's kubelet ------------------------------

    def register_node_connection(self, node_name: str, connection: podio.NodeConnection) -> None:
        """Make `node_name`'s kubelet reachable for logs and exec (replaces an earlier one)."""
        self._node_connections[node_name] = connection

    def unregister_node_connection(self, node_name: str) -> None:
        """The node's kubelet is gone: its pods' logs and exec fail to dial; no-op if absent."""
        self._node_connections.pop(node_name, None)

    def _pod_io_target(self, name: str, namespace: str | None, container: str | None
                       ) -> tuple[dict[str, Any], str, str]:
        """(pod, namespace, container) of a logs/exec request, as kube-apiserver settles
        them: the pod must exist and the container must be named unless it is the only one."""
        ns = namespace or "default"
        pod = self.store.get(self.resolve("pods").key, ns, name)
        return pod, ns, podio.validate_container(pod, container)

    def _connection(self, node_name: str) -> tuple[podio.NodeConnection | None, str]:
        """The node's kubelet (None when it does not answer) and the address it would
        be dialled at; NotFound when no such node exists."""
        node = self.store.get(self.resolve("nodes").key, "", node_name)
        return self._node_connections.get(node_name), podio.node_address(node, node_name)

    def pod_logs(self, name: str, namespace: str | None = None, *, container: str | None = None,
                 previous: bool = False,
                 tail_lines: int | None = None) -> builtins.list[podio.LogLine]:
        """The retained lines of a container's current (or previous) attempt, the last
        `tail_lines` of them. A pod not yet scheduled has no logs yet: kube-apiserver
        answers with an empty stream rather than an error."""
        pod, ns, chosen = self._pod_io_target(name, namespace, container)
        podio.validate_tail_lines(name, tail_lines)
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            return []
        connection, address = self._connection(node_name)
        if connection is None:
            raise podio.logs_unreachable(address, ns, name, chosen)
        return podio.tail(connection.logs(ns, name, chosen, previous), tail_lines)

    async def follow_pod_logs(self, name: str, namespace: str | None = None, *,
                              container: str | None = None, previous: bool = False,
                              tail_lines: int | None = None) -> AsyncIterator[podio.LogLine]:
        """`pod_logs`, then every new line until the container attempt ends (`logs -f`).
        Errors are raised by the first step of the iteration; cancel it to stop early."""
        pod, ns, chosen = self._pod_io_target(name, namespace, container)
        podio.validate_tail_lines(name, tail_lines)
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            return
        connection, address = self._connection(node_name)
        if connection is None:
            raise podio.logs_unreachable(address, ns, name, chosen)
        skip = 0
        if tail_lines is not None:
            # Counted in the same step as the follow starts (no await in between), so no
            # line can be written between the count and the stream's first position.
            skip = max(0, len(connection.logs(ns, name, chosen, previous)) - tail_lines)
        stream = connection.follow(ns, name, chosen, previous)
        async with contextlib.aclosing(stream):
            async for line in stream:
                if skip:
                    skip -= 1
                    continue
                yield line

    async def pod_exec(self, name: str, namespace: str | None = None, *,
                       command: builtins.list[str], container: str | None = None,
                       stdin: bytes | None = None,
                       timeout: float | None = None) -> podio.ExecResult:
        """Run `command` in a running container of the pod (`pods/exec`); TimeoutError
        (the command killed) when `timeout` passes."""
        pod, ns, chosen = self._pod_io_target(name, namespace, container)
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            raise errors.BadRequest(f"pod {name} does not have a host assigned")
        if not command:
            raise errors.BadRequest("you must specify at least one command for the container")
        connection, address = self._connection(node_name)
        if connection is None:
            raise podio.exec_unreachable(address)
        return await connection.exec(ns, name, chosen, list(command), stdin, timeout=timeout)


def _spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    """Everything but metadata and status: what `generation` counts changes of."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)
"""The RFC 4122 variant bits and the version (4), as `uuid.UUID(..., version=4)` sets them."""


def _random_uuid4(rng: random.Random) -> str:
    """A version-4 UUID from `rng`: `str(uuid.UUID(int=rng.getrandbits(128), version=4))`
    without building the UUID object, which every create paid for."""
    h = ((rng.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET).to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
