"""The commands that change the cluster: create, run, apply, delete, scale, label.

Each builds the objects or patches kubectl would send and reports per object, the way
kubectl does: a multi-document `create -f` creates what it can and prints one line per
failure, and nothing here lets an error escape as an exception except `CommandError`,
which ends the command with its one line.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from cluster.api import errors, names, objects
from cluster.api import patch as patching
from cluster.api.resources import ResourceType
from cluster.client import PatchType
from cluster.kubectl import manifests, printing
from cluster.kubectl.flags import ParsedFlags
from cluster.kubectl.session import CommandError, Session, Target, api_error_line, error_line

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
RESTART_POLICIES = ("Always", "OnFailure", "Never")


def _require_files(p: ParsedFlags) -> list[str]:
    files = list(p["filename"])
    if not files:
        raise CommandError(error_line("must specify one of -f and -k"))
    return files


def _documents(s: Session, files: list[str]) -> list[tuple[str, dict[str, Any] | None]]:
    """(source, object) pairs from every file; a bad document is reported as None."""
    out: list[tuple[str, dict[str, Any] | None]] = []
    for path in files:
        for source, text in s.read_file(path):
            for entry in manifests.read_manifests(text, source):
                if isinstance(entry, manifests.ManifestError):
                    s.fail(error_line(entry.message))
                    out.append((source, None))
                else:
                    out.append((source, entry))
    return out


async def _type_of(s: Session, obj: dict[str, Any], source: str) -> ResourceType | None:
    try:
        return await s.type_for_object(obj)
    except LookupError as e:
        s.fail(error_line(f'resource mapping not found for name: "{objects.name_of(obj)}" '
                          f'namespace: "{objects.namespace_of(obj)}" from "{source}": {e.args[0]}'))
        return None


# -- create ------------------------------------------------------------------------------


async def create(s: Session, p: ParsedFlags) -> None:
    """`kubectl create -f FILE`, or the `deployment` / `namespace` generators."""
    if p.args:
        sub = p.args[0]
        if sub in ("deployment", "deploy"):
            await _create_deployment(s, p)
            return
        if sub in ("namespace", "ns"):
            await _create_namespace(s, p)
            return
        raise CommandError(error_line(f'unknown command "{sub}" for "kubectl create"'))
    documents = _documents(s, _require_files(p))
    if not documents:
        raise CommandError(error_line("no objects passed to create"))
    for source, obj in documents:
        if obj is None:
            continue
        await _create_one(s, obj, source)


async def _create_one(s: Session, obj: dict[str, Any], source: str,
                      verb: str = "created") -> dict[str, Any] | None:
    rt = await _type_of(s, obj, source)
    if rt is None:
        return None
    try:
        namespace = s.object_namespace(rt, obj, source)
    except CommandError as e:
        s.fail(e.line)
        return None
    try:
        created = await s.client.create(obj, namespace)
    except errors.APIError as e:
        s.fail(api_error_line(e, f'error when creating "{source}": '))
        return None
    s.print(printing.action_line(rt, objects.name_of(created), verb))
    return created


def image_container_name(image: str) -> str:
    """kubectl's container name for an image: `docker.io/library/redis:7` → `redis`."""
    name = image.rsplit("/", 1)[-1]
    name = name.split("@", 1)[0].split(":", 1)[0]
    return name


async def _create_deployment(s: Session, p: ParsedFlags) -> None:
    if len(p.args) != 2:
        raise CommandError(error_line("exactly one NAME is required, got "
                                      f"{len(p.args) - 1}"))
    name = p.args[1]
    images = list(p["image"])
    if not images:
        raise CommandError(error_line('required flag(s) "image" not set'))
    replicas = p["replicas"]
    labels = {"app": name}
    containers: list[dict[str, Any]] = []
    for image in images:
        container: dict[str, Any] = {"image": image, "name": image_container_name(image),
                                     "resources": {}}
        if p["port"] is not None and p["port"] >= 0:
            container["ports"] = [{"containerPort": p["port"]}]
        containers.append(container)
    obj = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"labels": dict(labels), "name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                 "strategy": {},
                 "template": {"metadata": {"labels": dict(labels)},
                              "spec": {"containers": containers}}},
        "status": {},
    }
    await _create_generated(s, obj)


async def _create_namespace(s: Session, p: ParsedFlags) -> None:
    if len(p.args) != 2:
        raise CommandError(error_line("exactly one NAME is required, got "
                                      f"{len(p.args) - 1}"))
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": p.args[1]},
           "spec": {}, "status": {}}
    await _create_generated(s, obj)


async def _create_generated(s: Session, obj: dict[str, Any]) -> None:
    rt = await s.type_for_object(obj)
    try:
        created = await s.client.create(obj, s.namespace_for(rt))
    except errors.APIError as e:
        raise CommandError(api_error_line(e)) from None
    s.print(printing.action_line(rt, objects.name_of(created), "created"))


# -- run ---------------------------------------------------------------------------------


def parse_labels_flag(text: str) -> dict[str, str]:
    """`--labels=a=b,c=d` as `kubectl run` reads it."""
    labels: dict[str, str] = {}
    for pair in text.split(","):
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise CommandError(error_line(f"invalid label spec: {pair}"))
        labels[key] = value
    return labels


async def run(s: Session, p: ParsedFlags) -> None:
    """`kubectl run NAME --image=IMAGE [...] [-- ARGS]`: a bare Pod labelled `run=NAME`."""
    before_dash = p.args if p.dash_at < 0 else p.args[:p.dash_at]
    trailing = [] if p.dash_at < 0 else p.args[p.dash_at:]
    if not before_dash:
        raise CommandError(error_line("NAME is required for run"))
    name = before_dash[0]
    trailing = before_dash[1:] + trailing
    image = p["image"]
    if not image:
        raise CommandError(error_line('required flag(s) "image" not set'))
    restart = p["restart"] or "Always"
    if restart not in RESTART_POLICIES:
        raise CommandError(error_line(f"invalid restart policy: {restart}"))
    labels = parse_labels_flag(p["labels"]) if p["labels"] else {"run": name}
    container: dict[str, Any] = {"image": image, "name": name, "resources": {}}
    if trailing:
        container["command" if p["command"] else "args"] = trailing
    elif p["command"]:
        raise CommandError(error_line("--command requires arguments after --"))
    if p["port"] is not None and p["port"] >= 0:
        container["ports"] = [{"containerPort": p["port"]}]
    env = []
    for item in p["env"]:
        key, eq, value = item.partition("=")
        if not eq:
            raise CommandError(error_line(f"invalid env: {item}"))
        env.append({"name": key, "value": value})
    if env:
        container["env"] = env
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"labels": labels, "name": name},
        "spec": {"containers": [container], "dnsPolicy": "ClusterFirst",
                 "restartPolicy": restart},
        "status": {},
    }
    rt = await s.resolve("pods")
    try:
        created = await s.client.create(pod, s.namespace)
    except errors.APIError as e:
        raise CommandError(api_error_line(e)) from None
    s.print(printing.action_line(rt, objects.name_of(created), "created"))


# -- apply -------------------------------------------------------------------------------


def last_applied_value(obj: dict[str, Any]) -> str:
    """The annotation kubectl stores: the applied object, minus this annotation, as JSON.

    kubectl always writes `metadata.annotations` into it, `{}` when the manifest has none:
    the value must be byte-for-byte what kubectl writes, or the real kubectl's next apply
    of the same file reports `configured` where it should say `unchanged` (and ours would
    after kubectl's)."""
    bare = objects.clone(obj)
    meta = bare.get("metadata")
    if isinstance(meta, dict):
        annotations = dict(meta.get("annotations") or {})
        annotations.pop(LAST_APPLIED, None)
        meta["annotations"] = annotations
    return printing.compact_json(bare) + "\n"


def with_last_applied(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` carrying its own last-applied-configuration annotation."""
    value = last_applied_value(obj)
    modified = objects.clone(obj)
    objects.meta(modified).setdefault("annotations", {})[LAST_APPLIED] = value
    return modified


async def apply(s: Session, p: ParsedFlags) -> None:
    """`kubectl apply -f FILE`: create, or three-way merge onto what is there."""
    documents = _documents(s, _require_files(p))
    if not documents:
        raise CommandError(error_line("no objects passed to apply"))
    for source, obj in documents:
        if obj is None:
            continue
        rt = await _type_of(s, obj, source)
        if rt is None:
            continue
        try:
            namespace = s.object_namespace(rt, obj, source)
        except CommandError as e:
            s.fail(e.line)
            continue
        desired = objects.clone(obj)
        if namespace:
            objects.meta(desired)["namespace"] = namespace
        modified = with_last_applied(desired)
        name = objects.name_of(desired)
        if not name:
            await _create_one(s, modified, source)
            continue
        try:
            current = await s.client.get(rt.key, name, namespace)
        except errors.NotFound:
            await _create_one(s, modified, source)
            continue
        except errors.APIError as e:
            s.fail(api_error_line(
                e, f'error when retrieving current configuration of "{source}": '))
            continue
        await _patch_applied(s, rt, source, modified, current, namespace)


async def _patch_applied(s: Session, rt: ResourceType, source: str, modified: dict[str, Any],
                         current: dict[str, Any], namespace: str | None) -> None:
    annotation = ((current.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    original: dict[str, Any] | None = None
    if annotation:
        try:
            loaded = json.loads(annotation)
            original = loaded if isinstance(loaded, dict) else None
        except ValueError:
            original = None
    name = objects.name_of(modified)
    if annotation is None:
        s.warn(f"Warning: resource {rt.plural}/{name} is missing the {LAST_APPLIED} annotation "
               "which is required by kubectl apply. kubectl apply should only be used on "
               "resources created declaratively by either kubectl create --save-config or "
               "kubectl apply. The missing annotation will be patched automatically.")
    try:
        if rt.custom:
            # Custom kinds have no patch strategies: kubectl sends a JSON merge patch, in
            # which every list is replaced whole.
            patch = patching.create_three_way_merge_patch(
                original, modified, current,
                merge_keys=patching.MergeKeys({}, name_fallback=False))
            patch_type = PatchType.MERGE
        else:
            patch = patching.create_three_way_merge_patch(original, modified, current)
            patch_type = PatchType.STRATEGIC
    except errors.APIError as e:
        s.fail(api_error_line(e, f'error when applying "{source}": '))
        return
    if not patch:
        s.print(printing.action_line(rt, name, "unchanged"))
        return
    try:
        await s.client.patch(rt.key, name, patch, namespace, patch_type=patch_type)
    except errors.APIError as e:
        s.fail(api_error_line(e, f'error when patching "{source}": '))
        return
    s.print(printing.action_line(rt, name, "configured"))


# -- delete ------------------------------------------------------------------------------


def _grace_period(p: ParsedFlags) -> int | None:
    if p["now"]:
        return 1
    if p["force"]:
        return 0
    grace = p["grace-period"]
    return grace if grace is not None and grace >= 0 else None


async def delete(s: Session, p: ParsedFlags) -> None:
    """`kubectl delete TYPE NAME...`, `TYPE/NAME`, `-f FILE`, `-l SELECTOR`, `--all`."""
    files = list(p["filename"])
    if files and p.args:
        raise CommandError(error_line("there is no need to specify a resource type as a "
                                      "separate argument when passing arguments in "
                                      "resource/name form"))
    grace = _grace_period(p)
    pending: list[_Deleted] = []
    try:
        await _delete_targets(s, p, files, grace, pending)
    finally:
        # kubectl waits (`--wait`, the default) for what it deleted to be gone, so that a
        # script's next line never sees a Terminating object; a force delete has no wait.
        if p["wait"] and grace != 0:
            await _wait_gone(s, pending)


@dataclass(frozen=True)
class _Deleted:
    """An object a delete accepted but that may still exist (finalizers, grace)."""

    rt: ResourceType
    name: str
    namespace: str | None
    uid: str


async def _wait_gone(s: Session, pending: list[_Deleted]) -> None:
    """Poll until every object in `pending` is gone (or replaced by a namesake, a new uid).

    Polling mirrors kubectl's own wait closely enough: deletion takes a grace period
    measured in seconds, so a few milliseconds of latency are immaterial."""
    interval = 0.01
    while pending:
        still = []
        for d in pending:
            try:
                obj = await s.client.get(d.rt.key, d.name, d.namespace)
            except errors.NotFound:
                continue
            if objects.meta(obj).get("uid") == d.uid:
                still.append(d)
        pending[:] = still
        if pending:
            await asyncio.sleep(interval)
            interval = min(interval * 2, 0.2)


async def _delete_targets(s: Session, p: ParsedFlags, files: list[str], grace: int | None,
                          pending: list[_Deleted]) -> None:
    if files:
        for source, obj in _documents(s, files):
            if obj is None:
                continue
            rt = await _type_of(s, obj, source)
            if rt is None:
                continue
            try:
                namespace = s.object_namespace(rt, obj, source)
            except CommandError as e:
                s.fail(e.line)
                continue
            await _delete_one(s, rt, objects.name_of(obj), namespace, grace,
                              p["ignore-not-found"], pending)
        return
    if not p.args:
        raise CommandError(error_line(
            "You must provide one or more resources by argument or filename."))
    targets = await s.targets(p.args, allow_categories=False)
    selecting = bool(p["all"] or p["selector"] or p["field-selector"])
    if p["all"] and p["selector"]:
        raise CommandError(error_line("cannot set --all and --selector at the same time"))
    deleted = 0
    for target in targets:
        if target.names:
            if selecting:
                raise CommandError(error_line(
                    "name cannot be provided when a selector is specified"))
            for name in target.names:
                deleted += await _delete_one(s, target.rt, name, s.namespace_for(target.rt),
                                             grace, p["ignore-not-found"], pending)
            continue
        if not selecting:
            raise CommandError(error_line("resource(s) were provided, but no name was "
                                          "specified"))
        listed = await s.client.list(target.rt.key,
                                     s.namespace_for(target.rt, p["all-namespaces"]),
                                     label_selector=p["selector"],
                                     field_selector=p["field-selector"])
        for obj in sorted(listed.items, key=lambda o: (objects.namespace_of(o),
                                                      objects.name_of(o))):
            deleted += await _delete_one(s, target.rt, objects.name_of(obj),
                                         objects.namespace_of(obj) or None, grace, True,
                                         pending)
    if selecting and deleted == 0 and not s.failed:
        s.print("No resources found")


async def _delete_one(s: Session, rt: ResourceType, name: str, namespace: str | None,
                      grace: int | None, ignore_not_found: bool = False,
                      pending: list[_Deleted] | None = None) -> int:
    try:
        last = await s.client.delete(rt.key, name, namespace, grace_period_seconds=grace)
    except errors.NotFound as e:
        if not ignore_not_found:
            s.fail(api_error_line(e))
        return 0
    except errors.APIError as e:
        s.fail(api_error_line(e))
        return 0
    s.print(printing.deleted_line(rt, name))
    if pending is not None and objects.meta(last).get("deletionTimestamp"):
        pending.append(_Deleted(rt, name, namespace, objects.meta(last).get("uid", "")))
    return 1


# -- scale -------------------------------------------------------------------------------

SCALABLE = ("deployments.apps", "replicasets.apps", "statefulsets.apps")


async def scale(s: Session, p: ParsedFlags) -> None:
    """`kubectl scale TYPE NAME --replicas=N` (or `TYPE/NAME`, `-l`, `--all`)."""
    if not p.given("replicas"):
        raise CommandError(error_line('required flag(s) "replicas" not set'))
    replicas = p["replicas"]
    if replicas < 0:
        raise CommandError(error_line("The --replicas=COUNT flag is required, and COUNT must be "
                                      "greater than or equal to 0"))
    if not p.args:
        raise CommandError(error_line("You must provide one or more resources by argument or "
                                      "filename."))
    current_replicas = p["current-replicas"]
    chosen: list[tuple[ResourceType, dict[str, Any]]] = []
    missing: list[str] = []
    for target in await s.targets(p.args, allow_categories=False):
        chosen += [(target.rt, obj) for obj in await _selected(s, target, p, missing)]
    if not chosen and not missing:
        # A selector that matches nothing is an error for scale (not for label).
        raise CommandError(error_line("no objects passed to scale"))
    for rt, obj in chosen:
        await _scale_one(s, rt, obj, replicas, current_replicas)
    for line in missing:
        s.fail(line)


async def _selected(s: Session, target: Target, p: ParsedFlags,
                    missing: list[str]) -> list[dict[str, Any]]:
    """The objects a target names, or that `-l`/`--all` select. A missing name adds its
    error line to `missing`: kubectl acts on what it found first and reports the rest
    after."""
    rt = target.rt
    if target.names:
        found = []
        for name in target.names:
            try:
                found.append(await s.client.get(rt.key, name, s.namespace_for(rt)))
            except errors.NotFound as e:
                missing.append(api_error_line(e))
        return found
    if not (p["all"] or p["selector"]):
        raise CommandError(error_line("resource(s) were provided, but no name was specified"))
    listed = await s.client.list(rt.key, s.namespace_for(rt), label_selector=p["selector"])
    return sorted(listed.items, key=objects.name_of)


async def _scale_one(s: Session, rt: ResourceType, obj: dict[str, Any], replicas: int,
                     current_replicas: int | None) -> None:
    name = objects.name_of(obj)
    spec = obj.get("spec") or {}
    if rt.key not in SCALABLE and not (rt.custom and "replicas" in spec):
        s.fail(api_error_line(errors.NotFound(
            rt.key, name, message="the server could not find the requested resource")))
        return
    if current_replicas is not None and current_replicas >= 0 and \
            spec.get("replicas") != current_replicas:
        s.fail(error_line(f"Expected replicas to be {current_replicas}, was "
                          f"{spec.get('replicas')}"))
        return
    patch = {"spec": {"replicas": replicas}}
    try:
        await s.client.patch(rt.key, name, patch, objects.namespace_of(obj) or None,
                             patch_type=PatchType.MERGE)
    except errors.APIError as e:
        s.fail(api_error_line(e))
        return
    s.print(printing.action_line(rt, name, "scaled"))


# -- label -------------------------------------------------------------------------------


def split_resources_and_pairs(args: list[str]) -> tuple[list[str], list[str]]:
    """`pods redis env=prod tier-` → (['pods', 'redis'], ['env=prod', 'tier-'])."""
    for i, arg in enumerate(args):
        if "=" in arg or (arg.endswith("-") and i > 0 and not arg.startswith("-")):
            resources, pairs = args[:i], args[i:]
            for pair in pairs:
                if "=" not in pair and not pair.endswith("-"):
                    raise CommandError(error_line(
                        f"all resources must be specified before label changes: {pair}"))
            return resources, pairs
    return args, []


def parse_label_changes(pairs: list[str]) -> tuple[dict[str, str], list[str]]:
    """New labels and keys to remove, with kubectl's complaints."""
    add: dict[str, str] = {}
    remove: list[str] = []
    for spec in pairs:
        if "=" in spec:
            parts = spec.split("=")
            if len(parts) != 2:
                raise CommandError(error_line(f"invalid label spec: {spec}"))
            problems = names.is_valid_label_value(parts[1])
            if problems:
                raise CommandError(error_line(
                    f'invalid label value: "{spec}": {";".join(problems)}'))
            add[parts[0]] = parts[1]
        elif spec.endswith("-"):
            remove.append(spec[:-1])
        else:
            raise CommandError(error_line(f"unknown label spec: {spec}"))
    if any(key in add for key in remove):
        raise CommandError(error_line("can not both modify and remove a label in the same "
                                      "command"))
    return add, remove


async def label(s: Session, p: ParsedFlags) -> None:
    """`kubectl label [--overwrite] TYPE NAME KEY=VAL ... KEY-`."""
    resources, pairs = split_resources_and_pairs(p.args)
    if not pairs:
        raise CommandError(error_line("at least one label update is required"))
    if not resources:
        raise CommandError(error_line("one or more resources must be specified as <resource> "
                                      "<name> or <resource>/<name>"))
    add, remove = parse_label_changes(pairs)
    missing: list[str] = []
    for target in await s.targets(resources, allow_categories=False):
        for obj in await _selected(s, target, p, missing):
            await _label_one(s, target.rt, obj, add, remove, p["overwrite"])
    for line in missing:
        s.fail(line)


async def _label_one(s: Session, rt: ResourceType, obj: dict[str, Any], add: dict[str, str],
                     remove: list[str], overwrite: bool) -> None:
    name = objects.name_of(obj)
    current = dict(objects.labels_of(obj))
    if not overwrite:
        clashes = [f"'{k}' already has a value ({current[k]}), and --overwrite is false"
                   for k, v in add.items() if k in current and current[k] != v]
        if clashes:
            s.fail(error_line(clashes[0] if len(clashes) == 1 else
                              "[" + ", ".join(clashes) + "]"))
            return
    changes: dict[str, Any] = {}
    added = [k for k, v in add.items() if current.get(k) != v]
    removed = [k for k in remove if k in current]
    for k in remove:
        if k not in current:
            s.print(f'label "{k}" not found.')
    for k in added:
        changes[k] = add[k]
    for k in removed:
        changes[k] = None
    if added and removed:
        verb = "modified"
    elif added:
        verb = "labeled"
    elif removed:
        verb = "unlabeled"
    else:
        s.print(printing.action_line(rt, name, "not labeled"))
        return
    try:
        await s.client.patch(rt.key, name, {"metadata": {"labels": changes}},
                             objects.namespace_of(obj) or None, patch_type=PatchType.MERGE)
    except errors.APIError as e:
        s.fail(api_error_line(e))
        return
    s.print(printing.action_line(rt, name, verb))
