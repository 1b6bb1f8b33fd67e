"""The read-only commands: `get` (with `--watch`), `describe`, `version`, `api-resources`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cluster.api import errors, objects
from cluster.api.resources import ResourceType
from cluster.client import EventType
from cluster.kubectl import describe as describing
from cluster.kubectl import printing
from cluster.kubectl.flags import ParsedFlags
from cluster.kubectl.printing import OutputFormat, TableOptions
from cluster.kubectl.session import CommandError, Session, Target, api_error_line, error_line
from cluster.kubectl.tabwriter import TabWriter

ALLOWED_FORMATS = ("custom-columns,custom-columns-file,go-template,go-template-file,json,"
                   "jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml")


@dataclass(frozen=True)
class OutputSpec:
    """A parsed `-o` value."""

    format: OutputFormat
    template: str = ""


def parse_output(value: str | None) -> OutputSpec:
    """`-o wide|yaml|json|name|jsonpath=TEMPLATE`, else kubectl's "unable to match" error."""
    if not value:
        return OutputSpec(OutputFormat.TABLE)
    name, eq, template = value.partition("=")
    if name == "jsonpath" and eq:
        if len(template) >= 2 and template[0] == template[-1] and template[0] in "'\"":
            template = template[1:-1]
        return OutputSpec(OutputFormat.JSONPATH, template)
    if not eq and name in ("wide", "yaml", "json", "name"):
        return OutputSpec(OutputFormat(name))
    raise CommandError(error_line(
        f'unable to match a printer suitable for the output format "{value}", allowed formats '
        f"are: {ALLOWED_FORMATS}"))


def _sort_key(obj: dict[str, Any]) -> tuple[str, str]:
    return objects.namespace_of(obj), objects.name_of(obj)


@dataclass
class _Found:
    rt: ResourceType
    items: list[dict[str, Any]]


async def _fetch(s: Session, target: Target, *, all_namespaces: bool,
                 label_selector: str | None, field_selector: str | None,
                 ignore_not_found: bool) -> _Found:
    """The objects a target names (missing names are reported and skipped)."""
    rt = target.rt
    if not target.names:
        listed = await s.client.list(rt.key, s.namespace_for(rt, all_namespaces),
                                     label_selector=label_selector,
                                     field_selector=field_selector)
        return _Found(rt, sorted(listed.items, key=_sort_key))
    items = []
    for name in target.names:
        try:
            items.append(await s.client.get(rt.key, name, s.namespace_for(rt)))
        except errors.NotFound as e:
            if not ignore_not_found:
                s.fail(api_error_line(e))
    return _Found(rt, items)


async def get(s: Session, p: ParsedFlags) -> None:
    """`kubectl get`."""
    spec = parse_output(p["output"])
    if not p.args:
        raise CommandError(error_line(
            'You must specify the type of resource to get. Use "kubectl api-resources" for a '
            "complete list of supported resources."))
    all_namespaces = bool(p["all-namespaces"])
    targets = await s.targets(p.args)
    if all_namespaces and any(t.names for t in targets):
        raise CommandError(error_line(
            "a resource cannot be retrieved by name across all namespaces"))
    if p["watch"] or p["watch-only"]:
        if len(targets) != 1:
            raise CommandError(error_line("you may only specify a single resource type"))
        await _watch(s, p, targets[0], spec, all_namespaces)
        return

    found: list[_Found] = []
    for target in targets:
        found.append(await _fetch(s, target, all_namespaces=all_namespaces,
                                  label_selector=p["selector"],
                                  field_selector=p["field-selector"],
                                  ignore_not_found=p["ignore-not-found"]))
    if spec.format in (OutputFormat.TABLE, OutputFormat.WIDE):
        _print_tables(s, p, found, spec, all_namespaces)
    elif spec.format is OutputFormat.NAME:
        for f in found:
            for obj in f.items:
                s.print(printing.qualified_name(f.rt, objects.name_of(obj)))
    else:
        items = [obj for f in found for obj in f.items]
        single = len(targets) == 1 and len(targets[0].names) == 1
        if single and not items:
            return
        text = printing.serialize(items, spec.format, single=single, template=spec.template)
        if spec.format is OutputFormat.JSONPATH:
            # A template prints exactly what it expands to: kubectl adds no newline, and
            # scripts (`IP=$(kubectl get pod x -o jsonpath=...)`, `{"\n"}`) rely on that.
            s.write(text)
        else:
            s.print(text)


def _print_tables(s: Session, p: ParsedFlags, found: list[_Found], spec: OutputSpec,
                  all_namespaces: bool) -> None:
    kinds = {f.rt for f in found if f.items}
    options = TableOptions(wide=spec.format is OutputFormat.WIDE, show_labels=p["show-labels"],
                           with_kind=len(kinds) > 1, no_headers=p["no-headers"])
    printed = False
    now = s.now()
    for f in found:
        if not f.items:
            continue
        table = printing.render_table(
            f.rt, f.items, now,
            TableOptions(wide=options.wide, show_labels=options.show_labels,
                         with_kind=options.with_kind, no_headers=options.no_headers,
                         with_namespace=all_namespaces and f.rt.namespaced))
        if printed and not options.no_headers:
            s.print("\n" + table)
        else:
            s.print(table)
        printed = True
    if not printed and not s.failed and not p["ignore-not-found"]:
        namespaced = not all_namespaces and all(f.rt.namespaced for f in found)
        s.warn(printing.no_resources_line(s.namespace if namespaced else None))


async def _watch(s: Session, p: ParsedFlags, target: Target, spec: OutputSpec,
                 all_namespaces: bool) -> None:
    """Print the current objects, then one line per change until cancelled."""
    rt = target.rt
    if len(target.names) > 1:
        raise CommandError(error_line("watch is only supported on individual resources and "
                                      "resource collections, but 2 resources were found"))
    field_selector = p["field-selector"]
    if target.names:
        by_name = f"metadata.name={target.names[0]}"
        field_selector = f"{field_selector},{by_name}" if field_selector else by_name
    namespace = s.namespace_for(rt, all_namespaces)
    listed = await s.client.list(rt.key, namespace, label_selector=p["selector"],
                                 field_selector=field_selector)
    if target.names and not listed.items:
        s.fail(api_error_line(errors.NotFound(rt.key, target.names[0])))
        return
    table = printing.WatchTable(rt, TableOptions(
        wide=spec.format is OutputFormat.WIDE, show_labels=p["show-labels"],
        no_headers=p["no-headers"], with_namespace=all_namespaces and rt.namespaced))
    if not p["watch-only"]:
        _emit(s, rt, table, sorted(listed.items, key=_sort_key), spec)
    watch = s.client.watch(rt.key, namespace, label_selector=p["selector"],
                           field_selector=field_selector,
                           resource_version=listed.resource_version)
    try:
        async for event in watch:
            if event.type not in (EventType.ADDED, EventType.MODIFIED, EventType.DELETED):
                continue
            _emit(s, rt, table, [event.object], spec)
    except errors.APIError as e:
        s.fail(api_error_line(e))
    finally:
        await watch.close()


def _emit(s: Session, rt: ResourceType, table: printing.WatchTable,
          items: list[dict[str, Any]], spec: OutputSpec) -> None:
    if not items:
        return
    if spec.format in (OutputFormat.TABLE, OutputFormat.WIDE):
        s.print(table.rows(items, s.now()))
    elif spec.format is OutputFormat.NAME:
        for obj in items:
            s.print(printing.qualified_name(rt, objects.name_of(obj)))
    else:
        for obj in items:
            text = printing.serialize([obj], spec.format, single=True, template=spec.template)
            s.print(("---\n" + text) if spec.format is OutputFormat.YAML else text)


# -- describe ----------------------------------------------------------------------------


async def describe(s: Session, p: ParsedFlags) -> None:
    """`kubectl describe TYPE [NAME_PREFIX]` or `TYPE/NAME`."""
    if not p.args:
        raise CommandError(error_line(
            'You must specify the type of resource to describe. Use "kubectl api-resources" '
            "for a complete list of supported resources."))
    all_namespaces = bool(p["all-namespaces"])
    targets = await s.targets(p.args)
    texts: list[str] = []
    for target in targets:
        for obj in await _describe_objects(s, target, p, all_namespaces):
            related = await describing.gather(s.client, target.rt, obj)
            if not p["show-events"]:
                related.events = None
            texts.append(describing.describe_object(target.rt, obj, related, s.now()))
    if texts:
        s.print("\n\n".join(texts))
    elif not s.failed:
        namespaced = not all_namespaces and all(t.rt.namespaced for t in targets)
        s.warn(printing.no_resources_line(s.namespace if namespaced else None))


async def _describe_objects(s: Session, target: Target, p: ParsedFlags,
                            all_namespaces: bool) -> list[dict[str, Any]]:
    rt = target.rt
    if not target.names:
        listed = await s.client.list(rt.key, s.namespace_for(rt, all_namespaces),
                                     label_selector=p["selector"])
        return sorted(listed.items, key=_sort_key)
    out = []
    for name in target.names:
        try:
            out.append(await s.client.get(rt.key, name, s.namespace_for(rt)))
            continue
        except errors.NotFound as e:
            missing = e
        # Like kubectl, a name that matches nothing exactly describes every object it prefixes.
        listed = await s.client.list(rt.key, s.namespace_for(rt))
        prefixed = sorted((o for o in listed.items if objects.name_of(o).startswith(name)),
                          key=_sort_key)
        if prefixed:
            out.extend(prefixed)
        else:
            s.fail(api_error_line(missing))
    return out


# -- version and api-resources -----------------------------------------------------------


async def version(s: Session, p: ParsedFlags, *, client_version: str,
                  server_version: str) -> None:
    """`kubectl version`: client line, then the server's (unless `--client`)."""
    s.print(f"Client Version: {client_version}")
    if p["client"]:
        return
    asked = getattr(s.client, "version", None)
    reported = server_version
    if asked is not None:
        info = await asked()
        reported = (info or {}).get("gitVersion") or server_version
    s.print(f"Server Version: {reported}")


async def api_resources(s: Session, p: ParsedFlags) -> None:
    """`kubectl api-resources`: NAME SHORTNAMES APIVERSION NAMESPACED KIND."""
    types = sorted(await s.client.resources(), key=lambda rt: (rt.group != "", rt.group,
                                                                rt.plural))
    wanted = p["namespaced"]
    if wanted is not None:
        if wanted not in ("true", "false"):
            raise CommandError(error_line(f'invalid argument "{wanted}" for "--namespaced" flag: '
                                          f'strconv.ParseBool: parsing "{wanted}": invalid '
                                          "syntax"))
        types = [rt for rt in types if rt.namespaced == (wanted == "true")]
    if p["output"] == "name":
        for rt in types:
            s.print(rt.key)
        return
    if p["output"]:
        raise CommandError(error_line(f"--output {p['output']} is not available"))
    rows = ["NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND"]
    for rt in types:
        rows.append(f"{rt.plural}\t{','.join(rt.short_names)}\t{rt.api_version}\t"
                    f"{'true' if rt.namespaced else 'false'}\t{rt.kind}")
    writer = TabWriter(min_width=printing.TABLE_MIN_WIDTH,
                                padding=printing.TABLE_PADDING)
    writer.write("\n".join(rows) + "\n")
    s.print(writer.flush())
