"""The REST endpoints of every served kind, as kube-apiserver lays them out.

`/api/v1/...` and `/apis/<group>/<version>/...` end in one of:

    <plural>                                  a collection: all namespaces, or cluster-scoped
    namespaces/<ns>/<plural>                  a namespaced collection
    [namespaces/<ns>/]<plural>/<name>         one object
    [namespaces/<ns>/]<plural>/<name>/<sub>   a subresource: status, scale, binding, log, exec

`parse_target` turns the path into a `Target` (404 when no served kind matches, or when
the scope is wrong: a namespaced kind named without its namespace, a cluster-scoped one
under namespaces/), and `handle` runs the verb against the engine's `APIServer`. Engine
errors propagate as `APIError`s; the app's middleware turns them into `Status` replies.
Everything that goes out is the store's own (read-only) dict serialized by orjson: the
HTTP layer never copies an object it only reads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml
from aiohttp import web

from cluster.api import errors, objects, selectors
from cluster.api import patch as patching
from cluster.api.options import PatchType, PropagationPolicy
from cluster.api.resources import ResourceRegistry, ResourceType
from cluster.api.watch import WatchEvent
from cluster.apiserver import APIServer
from cluster.http import podstreams, protobuf, statuses, tables
from cluster.http.query import query_bool, query_int
from cluster.http.statuses import JSON
from cluster.store import Watcher

PROTOBUF = protobuf.MEDIA_TYPE
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
BODY_TYPES = (JSON, "application/yaml", PROTOBUF)
"""What a create or update body may be, in the order the 415 message lists them."""

SCALABLE = frozenset({"deployments.apps", "replicasets.apps", "statefulsets.apps"})
"""Kinds with a `/scale` subresource (autoscaling/v1 Scale over spec.replicas)."""

RETURNS_DELETED_OBJECT = frozenset({"pods", "services"})
"""Kinds whose DELETE answers with the object rather than a Status once it is gone,
as their kube-apiserver registries are configured."""

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
"""The annotation of the bookmark that ends a watch's initial events (sendInitialEvents)."""


@dataclass
class ServerContext:
    """What every handler of one app shares: the engine, the clock Tables age by, and
    the long-running streams (watch, logs, exec) to cancel when the server stops."""

    api: APIServer
    clock: Callable[[], float]
    streams: set[asyncio.Task[Any]] = field(default_factory=set)


CONTEXT = web.AppKey("redisha_context", ServerContext)


@dataclass(frozen=True)
class Target:
    """What a REST path names."""

    rt: ResourceType
    namespace: str | None
    """The path's namespace; None for a cluster-scoped kind or an all-namespaces list."""
    name: str | None = None
    subresource: str | None = None


# -- paths -----------------------------------------------------------------------------

def _served(registry: ResourceRegistry, group: str, version: str, plural: str
            ) -> ResourceType | None:
    for rt in registry:
        if rt.plural == plural and rt.group == group and rt.version == version:
            return rt
    return None


def parse_target(registry: ResourceRegistry, group: str, version: str, tail: str) -> Target:
    """The kind, namespace, name and subresource of `tail` (the path after the
    group-version); a 404 Status error when nothing is served there."""
    parts = tail.strip("/").split("/")
    if not all(parts):
        raise statuses.path_not_found()
    if parts[0] == "namespaces" and len(parts) >= 3:
        rt = _served(registry, group, version, parts[2])
        if rt is not None and rt.namespaced and len(parts) <= 5:
            return Target(rt, parts[1], *parts[3:])
        if len(parts) == 3 and rt is None:
            # namespaces/<name>/<sub>: a subresource of the Namespace itself.
            ns_rt = _served(registry, group, version, "namespaces")
            if ns_rt is not None:
                return Target(ns_rt, None, parts[1], parts[2])
        raise statuses.path_not_found()
    rt = _served(registry, group, version, parts[0])
    if rt is None or len(parts) > 3 or (rt.namespaced and len(parts) > 1):
        raise statuses.path_not_found()
    return Target(rt, None, *parts[1:])


# -- query parameters ------------------------------------------------------------------

def _revision(value: str | None) -> int | None:
    """A watch's starting revision: None ("" or "0", meaning "any") asks for synthetic
    ADDED events for what exists now, as kube-apiserver serves them."""
    if not value or value == "0":
        return None
    try:
        revision = int(value)
    except ValueError:
        raise errors.BadRequest(f'resourceVersion: Invalid value: "{value}": '
                                "must be an integer") from None
    if revision < 0:
        raise errors.BadRequest(f'resourceVersion: Invalid value: "{value}": '
                                "must not be negative")
    return revision


DRY_RUN_ALL = "All"


def _refuse_dry_run(query: Any) -> None:
    """Binding and scale writes have no dry-run path in the engine; a dry run is refused
    rather than silently performed for real."""
    if query.getall("dryRun", []):
        raise errors.BadRequest("dryRun is not supported for this request by this server")


def _query_dry_run(request: web.Request, options_kind: str) -> bool:
    """A create, update or patch's `?dryRun=All`: the API server runs every step but
    the store's write (`APIServer.create/update/patch(dry_run=True)`)."""
    return _dry_run(request.query.getall("dryRun", []), options_kind)


def _dry_run(values: list[Any], options_kind: str) -> bool:
    """Whether a request's dryRun values (query or options body) ask for a dry run:
    only "All" is a value, each at most once (kube's 422 otherwise)."""
    if not values:
        return False
    if any(v != DRY_RUN_ALL for v in values) or len(values) > 1:
        raise errors.Invalid(f"{options_kind}.meta.k8s.io", "", [errors.not_supported(
            "dryRun", values, [DRY_RUN_ALL])])
    return True


# -- bodies ----------------------------------------------------------------------------

def media_type(request: web.Request) -> str:
    """The Content-Type's media type, lower-cased; "" when the header is absent."""
    header = request.headers.get("Content-Type", "")
    return header.split(";", 1)[0].strip().lower()


def decode_body(raw: bytes, content_type: str) -> Any:
    """A create or update body: JSON (also when no Content-Type was sent), YAML or
    Kubernetes protobuf; 415 for any other format, 400 for a malformed one."""
    if not raw.strip():
        raise errors.BadRequest("the request body is empty")
    if content_type in ("", JSON) or content_type.endswith("+json"):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise errors.BadRequest(f"the request body is not valid JSON: {e}") from None
    if content_type in YAML_TYPES:
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise errors.BadRequest("the request body is not valid YAML: "
                                    + " ".join(str(e).split())) from None
    if content_type == PROTOBUF:
        return protobuf.decode(raw)
    raise statuses.unsupported_media_type(BODY_TYPES)


async def _object_body(request: web.Request, target: Target) -> dict[str, Any]:
    """The request's object, its apiVersion and kind checked against (or filled from)
    the URL, and its namespace reconciled with the path's, as kube-apiserver does."""
    obj = decode_body(await request.read(), media_type(request))
    if not isinstance(obj, dict):
        raise errors.BadRequest("the request body must be a JSON object")
    expected_kind = "Scale" if target.subresource == "scale" else target.rt.kind
    expected_version = "autoscaling/v1" if target.subresource == "scale" else target.rt.api_version
    api_version, kind = obj.get("apiVersion") or expected_version, obj.get("kind") or expected_kind
    if api_version != expected_version:
        raise errors.BadRequest(f"the API version in the data ({api_version}) does not match "
                                f"the expected API version ({expected_version})")
    if kind != expected_kind:
        raise errors.BadRequest(f'{kind} in version "{api_version.rpartition("/")[2]}" cannot '
                                f"be handled as a {expected_kind}: the kind in the data does "
                                "not match the URL")
    obj["apiVersion"], obj["kind"] = api_version, kind
    m = obj.setdefault("metadata", {})
    if not isinstance(m, dict):
        raise errors.BadRequest("metadata: Invalid value: must be an object")
    _match_namespace(target, m)
    return obj


def _match_namespace(target: Target, m: dict[str, Any]) -> None:
    """EnsureObjectNamespaceMatchesRequestNamespace: the path's namespace wins over an
    empty one, clears one on a cluster-scoped kind, and a different one is refused."""
    requested = target.namespace or ""
    given = m.get("namespace") or ""
    if not target.rt.namespaced:
        m.pop("namespace", None)
    elif not given:
        m["namespace"] = requested
    elif given != requested:
        raise errors.BadRequest("the namespace of the provided object does not match the "
                                "namespace sent on the request")


def _check_name(target: Target, m: dict[str, Any]) -> None:
    if m.get("name", "") != target.name:
        raise errors.BadRequest(f"the name of the object ({m.get('name', '')}) does not match "
                                f"the name on the URL ({target.name})")


# -- replies ---------------------------------------------------------------------------

def _typed(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` with apiVersion and kind set (a shallow copy only when one is missing)."""
    if obj.get("apiVersion") and obj.get("kind"):
        return obj
    return {"apiVersion": rt.api_version, "kind": rt.kind, **obj}


def _wants_table(request: web.Request) -> bool:
    return tables.wants_table(request.headers.get("Accept", ""))


def _table(ctx: ServerContext, request: web.Request, rt: ResourceType,
           objs: list[dict[str, Any]], resource_version: str, *,
           no_headers: bool = False) -> dict[str, Any]:
    return tables.table(rt, objs, now=ctx.clock(), resource_version=resource_version,
                        include_object=request.query.get("includeObject") or "Metadata",
                        no_headers=no_headers)


def _object_reply(ctx: ServerContext, request: web.Request, rt: ResourceType,
                  obj: dict[str, Any], status: int = 200) -> web.Response:
    """One object, or a one-row Table when the client asked for Tables."""
    if _wants_table(request):
        return statuses.json_response(_table(ctx, request, rt, [obj],
                                             objects.resource_version_of(obj)), status)
    return statuses.json_response(_typed(rt, obj), status)


# -- dispatch --------------------------------------------------------------------------

async def handle(request: web.Request, ctx: ServerContext, group: str, version: str,
                 tail: str) -> web.StreamResponse:
    """Serve one REST request under `/api/v1` (group "") or `/apis/<group>/<version>`."""
    target = parse_target(ctx.api.registry, group, version, tail)
    method = request.method
    if target.name is None:
        return await _collection(request, ctx, target, method)
    if target.subresource is None:
        return await _item(request, ctx, target, method)
    return await _subresource(request, ctx, target, method)


async def _collection(request: web.Request, ctx: ServerContext, target: Target,
                      method: str) -> web.StreamResponse:
    all_namespaces = target.rt.namespaced and target.namespace is None
    if method in ("GET", "HEAD"):
        if query_bool(request.query, "watch"):
            return await _watch(request, ctx, target)
        return _list(request, ctx, target)
    if method == "POST" and not all_namespaces:
        return await _create(request, ctx, target)
    if method == "DELETE" and not all_namespaces and target.rt.key != "namespaces":
        return await _delete_collection(request, ctx, target)
    raise statuses.method_not_allowed()


async def _item(request: web.Request, ctx: ServerContext, target: Target,
                method: str) -> web.StreamResponse:
    if method in ("GET", "HEAD"):
        return _get(request, ctx, target)
    if method == "PUT":
        return await _update(request, ctx, target)
    if method == "PATCH":
        return await _patch(request, ctx, target)
    if method == "DELETE":
        return await _delete(request, ctx, target)
    raise statuses.method_not_allowed()


async def _subresource(request: web.Request, ctx: ServerContext, target: Target,
                       method: str) -> web.StreamResponse:
    rt, sub = target.rt, target.subresource
    if sub == "status" and rt.has_status:
        if method != "DELETE":  # read and written as the object is; never deleted
            return await _item(request, ctx, target, method)
    elif sub == "scale" and rt.key in SCALABLE:
        if method in ("GET", "HEAD"):
            return statuses.json_response(_scale_of(ctx.api.get(rt.key, target.name or "",
                                                                target.namespace)))
        if method in ("PUT", "PATCH"):
            return await _write_scale(request, ctx, target)
    elif sub == "binding" and rt.key == "pods":
        if method == "POST":
            return await _bind(request, ctx, target)
    elif sub == "log" and rt.key == "pods":
        if method in ("GET", "HEAD"):
            return await _streaming(ctx, podstreams.serve_log(
                request, ctx.api, target.namespace or "default", target.name or ""))
    elif sub == "exec" and rt.key == "pods":
        if method in ("GET", "POST"):
            return await _streaming(ctx, podstreams.serve_exec(
                request, ctx.api, target.namespace or "default", target.name or ""))
    else:
        raise statuses.path_not_found()
    raise statuses.method_not_allowed()


async def _streaming(ctx: ServerContext,
                     serving: Awaitable[web.StreamResponse]) -> web.StreamResponse:
    """Await a long-running response (logs, exec) as one of the streams the server
    cancels when it stops, so a `logs -f` left open never holds up a shutdown."""
    task = asyncio.current_task()
    assert task is not None
    ctx.streams.add(task)
    try:
        return await serving
    finally:
        ctx.streams.discard(task)


# -- reads -----------------------------------------------------------------------------

def _list(request: web.Request, ctx: ServerContext, target: Target) -> web.Response:
    rt = target.rt
    items, revision = ctx.api.list(rt.key, target.namespace,
                                   label_selector=request.query.get("labelSelector") or None,
                                   field_selector=request.query.get("fieldSelector") or None)
    # limit/continue are accepted and ignored: every list is answered whole, with no
    # continue token, which clients read as the last page.
    if _wants_table(request):
        return statuses.json_response(_table(ctx, request, rt, items, str(revision)))
    return statuses.json_response({
        "kind": rt.kind + "List",
        "apiVersion": rt.api_version,
        "metadata": {"resourceVersion": str(revision)},
        "items": [_typed(rt, o) for o in items],
    })


def _get(request: web.Request, ctx: ServerContext, target: Target) -> web.Response:
    obj = ctx.api.get(target.rt.key, target.name or "", target.namespace)
    return _object_reply(ctx, request, target.rt, obj)


# -- writes ----------------------------------------------------------------------------

async def _create(request: web.Request, ctx: ServerContext, target: Target) -> web.Response:
    dry_run = _query_dry_run(request, "CreateOptions")
    obj = await _object_body(request, target)
    created = ctx.api.create(obj, target.namespace, dry_run=dry_run)
    return _object_reply(ctx, request, target.rt, created, 201)


async def _update(request: web.Request, ctx: ServerContext, target: Target) -> web.Response:
    dry_run = _query_dry_run(request, "UpdateOptions")
    obj = await _object_body(request, target)
    _check_name(target, obj["metadata"])
    updated = ctx.api.update(obj, subresource=target.subresource, dry_run=dry_run)
    return _object_reply(ctx, request, target.rt, updated)


_PATCH_TYPES = {p.value: p for p in PatchType}
_ACCEPTED_PATCHES: tuple[str, ...] = (PatchType.JSON.value, PatchType.MERGE.value, PatchType.STRATEGIC.value)


async def _patch_body(request: web.Request, rt: ResourceType) -> tuple[PatchType, Any]:
    """The patch format from the Content-Type and the parsed patch. Custom kinds take no
    strategic merge patch (they have no merge keys), as in kube-apiserver."""
    patch_type = _PATCH_TYPES.get(media_type(request))
    accepted = _ACCEPTED_PATCHES
    if rt.custom:
        accepted = tuple(p for p in accepted if p != PatchType.STRATEGIC.value)
    if patch_type is None or patch_type.value not in accepted:
        raise statuses.unsupported_media_type(accepted)
    raw = await request.read()
    try:
        return patch_type, orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise errors.BadRequest(f"the patch is not valid JSON: {e}") from None


async def _patch(request: web.Request, ctx: ServerContext, target: Target) -> web.Response:
    dry_run = _query_dry_run(request, "PatchOptions")
    patch_type, body = await _patch_body(request, target.rt)
    patched = ctx.api.patch(target.rt.key, target.name or "", body, target.namespace,
                            patch_type=patch_type, subresource=target.subresource,
                            dry_run=dry_run)
    return _object_reply(ctx, request, target.rt, patched)


async def _bind(request: web.Request, ctx: ServerContext, target: Target) -> web.Response:
    _refuse_dry_run(request.query)
    binding = decode_body(await request.read(), media_type(request))
    if not isinstance(binding, dict):
        raise errors.BadRequest("the request body must be a JSON object")
    m = binding.get("metadata") or {}
    if m.get("name") and m["name"] != target.name:
        raise errors.BadRequest(f"the name of the object ({m['name']}) does not match "
                                f"the name on the URL ({target.name})")
    node = str((binding.get("target") or {}).get("name") or "")
    ctx.api.bind(target.name or "", target.namespace, node)
    return statuses.json_response(statuses.created_status(), 201)


# -- scale -----------------------------------------------------------------------------

def _scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The autoscaling/v1 Scale view of a Deployment, ReplicaSet or StatefulSet."""
    m, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    meta = {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion",
                              "creationTimestamp") if k in m}
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": meta,
        "spec": {"replicas": int(spec.get("replicas", 1))},
        "status": {"replicas": int(status.get("replicas") or 0),
                   "selector": selectors.selector_string(spec.get("selector"))},
    }


async def _write_scale(request: web.Request, ctx: ServerContext, target: Target) -> web.Response:
    """PUT or PATCH a Scale: the new spec.replicas is written to the parent object, with
    the Scale's resourceVersion (when given) as its precondition."""
    dry_run = _query_dry_run(request, "UpdateOptions" if request.method == "PUT"
                             else "PatchOptions")
    rt, name = target.rt, target.name or ""
    # The body is read before the object: a read in between and a write by a controller
    # meanwhile would turn the object's old resourceVersion into a precondition the
    # client never sent (a 409 for a plain `kubectl scale`).
    if request.method == "PUT":
        wanted = await _object_body(request, target)
        _check_name(target, wanted["metadata"])
        _scale_of(ctx.api.get(rt.key, name, target.namespace))  # NotFound before Invalid
    else:
        patch_type, body = await _patch_body(request, rt)
        current = _scale_of(ctx.api.get(rt.key, name, target.namespace))
        if patch_type is PatchType.JSON:
            if not isinstance(body, list):
                raise errors.BadRequest("a JSON patch must be a list of operations")
            wanted = patching.json_patch(current, body)
        elif patch_type is PatchType.STRATEGIC:
            wanted = patching.strategic_merge_patch(current, body)
        else:
            wanted = patching.json_merge_patch(current, body)
    replicas = (wanted.get("spec") or {}).get("replicas") if isinstance(wanted, dict) else None
    if type(replicas) is not int or replicas < 0:
        raise errors.Invalid("Scale.autoscaling", name, [errors.invalid(
            "spec.replicas", replicas, "must be greater than or equal to 0")])
    change: dict[str, Any] = {"spec": {"replicas": replicas}}
    rv = (wanted.get("metadata") or {}).get("resourceVersion")
    if rv:
        change["metadata"] = {"resourceVersion": rv}
    updated = ctx.api.patch(rt.key, name, change, target.namespace, patch_type=PatchType.MERGE,
                            dry_run=dry_run)
    return statuses.json_response(_scale_of(updated))


# -- delete ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DeleteOptions:
    """A DELETE's options, from its body (a meta/v1 DeleteOptions) or its query."""

    propagation_policy: PropagationPolicy | None = None
    grace_period_seconds: int | None = None
    resource_version: str | None = None
    uid: str | None = None
    dry_run: bool = False
    """dryRun=All, from the body (where kubectl puts it) or the query: check and answer
    as the delete would, change nothing."""


async def _delete_options(request: web.Request) -> DeleteOptions:
    raw = await request.read()
    body: dict[str, Any] = {}
    if raw.strip():
        decoded = decode_body(raw, media_type(request))
        if not isinstance(decoded, dict):
            raise errors.BadRequest("the DeleteOptions body must be a JSON object")
        body = decoded
    q = request.query
    policy = body.get("propagationPolicy") or q.get("propagationPolicy") or None
    orphan = body.get("orphanDependents")
    if orphan is None and q.get("orphanDependents"):
        orphan = query_bool(q, "orphanDependents")
    if policy is None and orphan is not None:
        policy = PropagationPolicy.ORPHAN if orphan else PropagationPolicy.BACKGROUND
    elif policy is not None and orphan is not None:
        raise errors.Invalid("DeleteOptions", "", [errors.invalid(
            "propagationPolicy", policy, "orphanDependents and deletionPropagation "
            "cannot be both set")])
    if policy is not None:
        try:
            policy = PropagationPolicy(policy)
        except ValueError:
            raise errors.Invalid("DeleteOptions", "", [errors.not_supported(
                "propagationPolicy", policy, [p.value for p in PropagationPolicy])]) from None
    grace = body.get("gracePeriodSeconds")
    if grace is None:
        grace = query_int(q, "gracePeriodSeconds")
    elif type(grace) is not int:
        raise errors.BadRequest(f"gracePeriodSeconds: Invalid value: {grace!r}: "
                                "must be an integer")
    pre = body.get("preconditions") or {}
    rv = pre.get("resourceVersion") or q.get("preconditions.resourceVersion") or None
    uid = pre.get("uid") or q.get("preconditions.uid") or None
    dry = body.get("dryRun")
    if dry is not None and not isinstance(dry, list):
        raise errors.BadRequest(f"dryRun: Invalid value: {dry!r}: must be a list")
    dry_run = _dry_run(list(dry or ()) or q.getall("dryRun", []), "DeleteOptions")
    return DeleteOptions(policy, grace, rv, uid, dry_run)


def _delete_one(ctx: ServerContext, rt: ResourceType, name: str, namespace: str | None,
                options: DeleteOptions) -> dict[str, Any]:
    """Delete and answer as kube-apiserver does: the object while it still exists
    (finalizers, graceful pod deletion, a terminating namespace), else the object for
    the kinds that return it, else a Success Status naming it."""
    if options.uid is not None or options.dry_run:
        current = ctx.api.get(rt.key, name, namespace)
        if options.uid is not None and current["metadata"].get("uid") != options.uid:
            raise errors.Conflict(rt.key, name, "Precondition failed: UID in precondition: "
                                  f"{options.uid}, UID in object meta: "
                                  f"{current['metadata'].get('uid', '')}")
        if options.dry_run:
            return _dry_run_deleted(rt, current, options)
    result = ctx.api.delete(rt.key, name, namespace,
                            propagation_policy=options.propagation_policy,
                            resource_version=options.resource_version,
                            grace_period_seconds=options.grace_period_seconds)
    m = result["metadata"]
    still = ctx.api.store.try_get(rt.key, m.get("namespace", "") if rt.namespaced else "", name)
    if still is not None and still["metadata"].get("uid") == m.get("uid"):
        return _typed(rt, still)
    if rt.key in RETURNS_DELETED_OBJECT:
        return _typed(rt, result)
    return statuses.deleted(rt.group, rt.plural, result)


def _dry_run_deleted(rt: ResourceType, current: dict[str, Any],
                     options: DeleteOptions) -> dict[str, Any]:
    """What a dry-run delete answers, having stored nothing: the resourceVersion
    precondition checked as the real delete checks it, then the object (for the kinds
    that return it, or one whose finalizers would keep it) or the Success Status."""
    m = current["metadata"]
    if options.resource_version and options.resource_version != m.get("resourceVersion"):
        raise errors.Conflict(rt.key, m.get("name", ""), "Precondition failed: "
                              f"ResourceVersion in precondition: {options.resource_version}, "
                              f"ResourceVersion in object meta: {m.get('resourceVersion')}")
    if rt.key in RETURNS_DELETED_OBJECT or rt.key == "namespaces" or m.get("finalizers"):
        return _typed(rt, current)
    return statuses.deleted(rt.group, rt.plural, current)


async def _delete(request: web.Request, ctx: ServerContext, target: Target) -> web.Response:
    options = await _delete_options(request)
    return statuses.json_response(_delete_one(ctx, target.rt, target.name or "",
                                              target.namespace, options))


async def _delete_collection(request: web.Request, ctx: ServerContext,
                             target: Target) -> web.Response:
    """DELETE on a collection: every object the selectors match, one by one; the
    answer lists them as each delete left them (a dry run: as they are)."""
    rt = target.rt
    options = await _delete_options(request)
    if options.resource_version or options.uid:
        raise errors.BadRequest("preconditions are not allowed when deleting a collection")
    items, _ = ctx.api.list(rt.key, target.namespace,
                            label_selector=request.query.get("labelSelector") or None,
                            field_selector=request.query.get("fieldSelector") or None)
    gone: list[dict[str, Any]] = []
    for obj in items:
        m = obj["metadata"]
        if options.dry_run:
            gone.append(_typed(rt, obj))
            continue
        try:
            ctx.api.delete(rt.key, m["name"], m.get("namespace") or None,
                           propagation_policy=options.propagation_policy,
                           grace_period_seconds=options.grace_period_seconds)
        except errors.NotFound:
            continue  # a cascade from an earlier delete got there first
        gone.append(_typed(rt, obj))
    return statuses.json_response({
        "kind": rt.kind + "List", "apiVersion": rt.api_version,
        "metadata": {"resourceVersion": str(ctx.api.revision)}, "items": gone})


# -- watch -----------------------------------------------------------------------------

def _event_line(type_: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": type_, "object": obj}) + b"\n"


def _initial_events_end(rt: ResourceType, revision: int) -> bytes:
    """The bookmark after a watch's initial events, for clients that asked for them
    (`sendInitialEvents=true`, the watch-list protocol)."""
    return _event_line("BOOKMARK", {
        "kind": rt.kind, "apiVersion": rt.api_version,
        "metadata": {"resourceVersion": str(revision),
                     "annotations": {INITIAL_EVENTS_END: "true"}}})


async def _watch(request: web.Request, ctx: ServerContext, target: Target) -> web.StreamResponse:
    """A chunked stream of JSON watch events, one per line, flushed as they happen.

    It ends when `timeoutSeconds` passes, when the store drops the watch (an ERROR
    event with a 410 Status first, after which the client relists), when the client
    goes away, or when the server stops; the store's watcher is closed in every case.
    """
    rt, q = target.rt, request.query
    since = _revision(q.get("resourceVersion"))
    timeout = query_int(q, "timeoutSeconds")
    initial = query_bool(q, "sendInitialEvents")
    as_table = _wants_table(request)
    if as_table:
        _table(ctx, request, rt, [], "")  # a bad includeObject fails before the stream
    expired: errors.Expired | None = None
    watcher = None
    try:
        watcher = ctx.api.watch(rt.key, target.namespace,
                                label_selector=q.get("labelSelector") or None,
                                field_selector=q.get("fieldSelector") or None,
                                resource_version=None if initial else since)
    except errors.Expired as e:
        expired = e  # kube answers 200 and reports it as the stream's only event
    response = web.StreamResponse(status=200, headers={"Content-Type": JSON})
    response.enable_chunked_encoding()
    task = asyncio.current_task()
    assert task is not None
    ctx.streams.add(task)
    try:
        await response.prepare(request)
        if watcher is None:
            assert expired is not None
            await response.write(_event_line("ERROR", expired.to_status()))
        else:
            await _pump(request, ctx, rt, watcher, response, as_table=as_table,
                        initial=initial, timeout=None if timeout is None else max(timeout, 0))
        await response.write_eof()
    except ConnectionError:
        pass  # the client went away mid-write; nothing is left to tell it
    finally:
        ctx.streams.discard(task)
        if watcher is not None:
            watcher.close_now()
    return response


async def _pump(request: web.Request, ctx: ServerContext, rt: ResourceType, watcher: Watcher,
                response: web.StreamResponse, *, as_table: bool, initial: bool,
                timeout: int | None) -> None:
    """Copy the watcher's events to the response until it ends or `timeout` passes;
    events that arrived together go out in one chunk."""
    initial_left = watcher.pending() if initial else -1
    headers_sent = False

    def encode(event: WatchEvent) -> bytes:
        nonlocal headers_sent
        obj = event.object
        if as_table:
            obj = _table(ctx, request, rt, [obj], objects.resource_version_of(obj),
                         no_headers=headers_sent)
            headers_sent = True
        else:
            obj = _typed(rt, obj)
        return _event_line(event.type.value, obj)

    if initial_left == 0:
        await response.write(_initial_events_end(rt, ctx.api.revision))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            try:
                async for first in watcher:
                    batch = [first, *watcher.drain()] if watcher.pending() else [first]
                    chunk = bytearray()
                    for event in batch:
                        chunk += encode(event)
                        if initial_left > 0:
                            initial_left -= 1
                            if initial_left == 0:
                                chunk += _initial_events_end(rt, event.revision)
                    await response.write(bytes(chunk))
            except errors.Expired as e:
                await response.write(_event_line("ERROR", e.to_status()))
