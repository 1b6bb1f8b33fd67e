"""Bad input: one stderr line in kubectl's words, exit code 1, and no write to the store."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from kubectl_helpers import Harness

FILES = {
    "malformed.yaml": "apiVersion: v1\nkind: Pod\nmetadata: name: x\n",
    "unknown-kind.yaml": "apiVersion: example.com/v1\nkind: Foo\nmetadata:\n  name: f\n",
    "no-containers.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nocont\nspec: {}\n",
    "bad-name.yaml": ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n"
                      "  containers:\n  - name: c\n    image: redis\n"),
    "no-kind.yaml": "apiVersion: v1\nmetadata:\n  name: x\n",
    "empty.yaml": "# nothing here\n",
    "other-ns.yaml": ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
                      "  namespace: other\n"),
}


@dataclass(frozen=True)
class Case:
    """A command that must fail, what it must say, and what ran before it."""

    argv: tuple[str, ...]
    stderr: str
    setup: tuple[tuple[str, ...], ...] = field(default=())


CASES = [
    pytest.param(Case(("create", "-f", "malformed.yaml"),
                      "error: error parsing malformed.yaml: error converting YAML to JSON: yaml: "
                      "line 3: mapping values are not allowed in this context"),
                 id="malformed-yaml"),
    pytest.param(Case(("apply", "-f", "malformed.yaml"),
                      "error: error parsing malformed.yaml: error converting YAML to JSON: yaml: "
                      "line 3: mapping values are not allowed in this context"),
                 id="apply-malformed-yaml"),
    pytest.param(Case(("create", "-f", "unknown-kind.yaml"),
                      'error: resource mapping not found for name: "f" namespace: "" from '
                      '"unknown-kind.yaml": no matches for kind "Foo" in version '
                      '"example.com/v1"'), id="unknown-kind"),
    pytest.param(Case(("create", "-f", "no-containers.yaml"),
                      'Error from server (Invalid): error when creating "no-containers.yaml": '
                      'Pod "nocont" is invalid: spec.containers: Required value'),
                 id="missing-required-field"),
    pytest.param(Case(("create", "-f", "bad-name.yaml"),
                      'Error from server (Invalid): error when creating "bad-name.yaml": Pod '
                      '"Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a '
                      "lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                      "characters, '-' or '.', and must start and end with an alphanumeric "
                      "character (e.g. 'example.com', regex used for validation is "
                      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
                 id="invalid-name"),
    pytest.param(Case(("create", "-f", "no-kind.yaml"),
                      'error: error validating "no-kind.yaml": error validating data: [kind not '
                      "set]; if you choose to ignore these errors, turn validation off with "
                      "--validate=false"), id="missing-kind"),
    pytest.param(Case(("create", "-f", "pod.yaml"),
                      'Error from server (AlreadyExists): error when creating "pod.yaml": pods '
                      '"redis" already exists', setup=(("create", "-f", "pod.yaml"),)),
                 id="duplicate-create"),
    pytest.param(Case(("run", "redis", "--image=redis"),
                      'Error from server (AlreadyExists): pods "redis" already exists',
                      setup=(("run", "redis", "--image=redis"),)), id="duplicate-run"),
    pytest.param(Case(("delete", "pod", "ghost"),
                      'Error from server (NotFound): pods "ghost" not found'),
                 id="delete-missing"),
    pytest.param(Case(("get", "pod", "ghost"),
                      'Error from server (NotFound): pods "ghost" not found'), id="get-missing"),
    pytest.param(Case(("describe", "deploy", "ghost"),
                      'Error from server (NotFound): deployments.apps "ghost" not found'),
                 id="describe-missing"),
    pytest.param(Case(("scale", "deploy/ghost", "--replicas=2"),
                      'Error from server (NotFound): deployments.apps "ghost" not found'),
                 id="scale-missing"),
    pytest.param(Case(("get", "foo"),
                      'error: the server doesn\'t have a resource type "foo"'),
                 id="unknown-resource-type"),
    pytest.param(Case(("get", "pods", "--foo"), "error: unknown flag: --foo"),
                 id="unknown-flag"),
    pytest.param(Case(("get", "pods", "-n"), "error: flag needs an argument: 'n' in -n"),
                 id="flag-without-value"),
    pytest.param(Case(("logs", "redis"), 'error: error from server (NotFound): pods "redis" not '
                      'found in namespace "default"'), id="logs-missing-pod"),
    pytest.param(Case(("exec", "-it", "redis", "--", "redis-cli"),
                      'Error from server (NotFound): pods "redis" not found'),
                 id="exec-missing-pod"),
    pytest.param(Case(("run", "redis"), 'error: required flag(s) "image" not set'),
                 id="run-without-image"),
    pytest.param(Case(("run", "redis", "--image=redis", "--restart=Sometimes"),
                      "error: invalid restart policy: Sometimes"), id="run-bad-restart"),
    pytest.param(Case(("create", "deployment", "web"),
                      'error: required flag(s) "image" not set'), id="create-deploy-no-image"),
    pytest.param(Case(("scale", "deploy/web", "--replicas=-1"),
                      "error: The --replicas=COUNT flag is required, and COUNT must be greater "
                      "than or equal to 0"), id="scale-negative"),
    pytest.param(Case(("scale", "deploy/web"), 'error: required flag(s) "replicas" not set'),
                 id="scale-without-replicas"),
    pytest.param(Case(("scale", "deploy/web", "--replicas=x"),
                      'error: invalid argument "x" for "--replicas" flag: strconv.ParseInt: '
                      'parsing "x": invalid syntax'), id="scale-non-integer"),
    pytest.param(Case(("get", "pods", "-o", "table"),
                      'error: unable to match a printer suitable for the output format "table", '
                      "allowed formats are: custom-columns,custom-columns-file,go-template,"
                      "go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,"
                      "template,templatefile,wide,yaml"), id="bad-output-format"),
    pytest.param(Case(("create", "-f", "nope.yaml"), 'error: the path "nope.yaml" does not exist'),
                 id="missing-file"),
    pytest.param(Case(("apply", "-f", "empty.yaml"), "error: no objects passed to apply"),
                 id="apply-nothing"),
    pytest.param(Case(("create",), "error: must specify one of -f and -k"),
                 id="create-without-file"),
    pytest.param(Case(("create", "-n", "default", "-f", "other-ns.yaml"),
                      'error: the namespace from the provided object "other" does not match the '
                      'namespace "default". You must pass \'--namespace=other\' to perform this '
                      "operation."), id="namespace-mismatch"),
    pytest.param(Case(("label", "pods", "redis", "env=b@d"),
                      'error: invalid label value: "env=b@d": a valid label must be an empty '
                      "string or consist of alphanumeric characters, '-', '_' or '.', and must "
                      "start and end with an alphanumeric character (e.g. 'MyValue',  or "
                      "'my_value',  or '12345', regex used for validation is "
                      "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"), id="bad-label-value"),
    pytest.param(Case(("label", "pods", "redis"), "error: at least one label update is required"),
                 id="label-without-changes"),
    pytest.param(Case(("delete", "pods"),
                      "error: resource(s) were provided, but no name was specified"),
                 id="delete-without-name"),
    pytest.param(Case(("get", "pod", "redis", "-A"),
                      "error: a resource cannot be retrieved by name across all namespaces"),
                 id="name-across-namespaces"),
    pytest.param(Case(("get", "pods", "-n", "nowhere", "-w", "-o", "name", "x", "y"),
                      "error: watch is only supported on individual resources and resource "
                      "collections, but 2 resources were found"), id="watch-two-names"),
]


@pytest.mark.parametrize("case", CASES)
async def test_bad_input_fails_cleanly(harness: Harness, case: Case) -> None:
    """The failure is exactly one stderr line, exit code 1, and the store is untouched."""
    for name, text in FILES.items():
        harness.write(name, text)
    for argv in case.setup:
        assert (await harness.run(*argv)).exit_code == 0
    before = harness.revision
    result = await harness.run(*case.argv)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", case.stderr + "\n")
    assert harness.revision == before


async def test_multi_document_create_reports_each_failure(harness: Harness) -> None:
    """Good documents are created; each bad one gets its own line; the exit code is 1."""
    harness.write("mixed.yaml", (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nocont\nspec: {}\n---\n"
        "metadata:\n  name: no-type\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\n"))
    result = await harness.run("create", "-f", "mixed.yaml")
    assert result.exit_code == 1
    assert result.stdout == "configmap/one created\nconfigmap/two created\n"
    assert result.stderr.splitlines() == [
        'error: error validating "mixed.yaml": error validating data: [apiVersion not set, kind '
        "not set]; if you choose to ignore these errors, turn validation off with "
        "--validate=false",
        'Error from server (Invalid): error when creating "mixed.yaml": Pod "nocont" is invalid: '
        "spec.containers: Required value"]


async def test_partial_delete_deletes_what_exists(harness: Harness) -> None:
    """Deleting a present and a missing pod deletes one, reports the other, exits 1."""
    await harness.run("run", "redis", "--image=redis")
    result = await harness.run("delete", "pod", "redis", "ghost")
    assert result.stdout == 'pod "redis" deleted\n'
    assert result.stderr == 'Error from server (NotFound): pods "ghost" not found\n'
    assert result.exit_code == 1


async def test_unexpected_exceptions_become_one_line(harness: Harness) -> None:
    """Even a bug below kubectl surfaces as one error line, never as an exception."""

    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")

    harness.client.list = broken  # type: ignore[method-assign]
    result = await harness.run("get", "pods")
    assert (result.exit_code, result.stderr) == (1, "error: RuntimeError: boom\n")
