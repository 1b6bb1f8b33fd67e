"""REST reads and writes over HTTP: list, get, create, update, patch, delete, and the
Status replies kube-apiserver gives when they fail."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import yaml
from http_server_helpers import TABLE_ACCEPT, configmap, deployment, pod, serving

PODS = "/api/v1/namespaces/default/pods"
CMS = "/api/v1/namespaces/default/configmaps"


async def test_create_get_list_round_trip() -> None:
    """A created pod comes back from get and from namespaced and all-namespace lists."""
    async with serving() as s:
        created = await s.call("POST", PODS, pod("p1"))
        assert created.status == 201
        assert created.body["metadata"]["namespace"] == "default"
        assert created.body["metadata"]["uid"]
        got = await s.call("GET", PODS + "/p1")
        assert got.status == 200 and got.body == created.body
        listed = await s.call("GET", PODS)
        assert listed.body["kind"] == "PodList" and listed.body["apiVersion"] == "v1"
        assert listed.body["metadata"]["resourceVersion"] == str(s.api.revision)
        assert [i["metadata"]["name"] for i in listed.body["items"]] == ["p1"]
        assert listed.body["items"][0]["kind"] == "Pod"
        everywhere = await s.call("GET", "/api/v1/pods")
        assert [i["metadata"]["name"] for i in everywhere.body["items"]] == ["p1"]


async def test_group_kinds_and_cluster_scoped_kinds() -> None:
    """/apis/<g>/<v> serves group kinds; cluster-scoped kinds live outside namespaces/."""
    async with serving() as s:
        made = await s.call("POST", "/apis/apps/v1/namespaces/default/deployments",
                            deployment("web"))
        assert made.status == 201 and made.body["kind"] == "Deployment"
        listed = await s.call("GET", "/apis/apps/v1/deployments")
        assert listed.body["kind"] == "DeploymentList"
        assert listed.body["apiVersion"] == "apps/v1"
        ns = await s.call("POST", "/api/v1/namespaces",
                          {"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": "team"}})
        assert ns.status == 201
        got = await s.call("GET", "/api/v1/namespaces/team")
        assert got.body["metadata"]["name"] == "team"
        status = await s.call("GET", "/api/v1/namespaces/team/status")
        assert status.body["status"]["phase"] == "Active"


async def test_body_without_content_type_or_kind_is_json_for_the_url() -> None:
    """A POST with no Content-Type is JSON; apiVersion and kind default from the URL."""
    async with serving() as s:
        body = orjson.dumps({"metadata": {"name": "c"}, "data": {"a": "1"}})
        reply = await s.call("POST", CMS, raw=body, content_type=None)
        assert reply.status == 201
        assert reply.body["kind"] == "ConfigMap" and reply.body["apiVersion"] == "v1"


async def test_yaml_bodies_are_accepted() -> None:
    """application/yaml bodies decode like JSON ones."""
    async with serving() as s:
        raw = yaml.safe_dump(configmap("y", k="v")).encode()
        reply = await s.call("POST", CMS, raw=raw, content_type="application/yaml")
        assert reply.status == 201 and reply.body["data"] == {"k": "v"}


@pytest.mark.parametrize("raw,content_type,code,message", [
    pytest.param(b"{not json", "application/json", 400, "not valid JSON", id="bad-json"),
    pytest.param(b"[1, 2]", "application/json", 400, "must be a JSON object", id="not-object"),
    pytest.param(b"", "application/json", 400, "body is empty", id="empty"),
    pytest.param(b"x", "text/plain", 415, "accepted media types include: application/json",
                 id="unknown-type"),
])
async def test_bad_bodies_are_one_line_statuses(raw: bytes, content_type: str, code: int,
                                                message: str) -> None:
    """Malformed or unknown bodies fail with a Status and store nothing."""
    async with serving() as s:
        reply = await s.call("POST", CMS, raw=raw, content_type=content_type)
        assert reply.status == code and reply.body["code"] == code
        assert message in reply.body["message"] and "\n" not in reply.body["message"]
        assert s.api.list("configmaps", "default")[0] == []


async def test_namespace_mismatch_is_bad_request() -> None:
    """A body namespace other than the path's is kube's 400, and nothing is created."""
    async with serving() as s:
        reply = await s.call("POST", PODS, pod("p1", namespace="kube-system"))
        assert reply.status == 400 and reply.body["reason"] == "BadRequest"
        assert reply.body["message"] == ("the namespace of the provided object does not "
                                         "match the namespace sent on the request")
        assert s.api.list("pods")[0] == []


async def test_kind_and_version_mismatch_are_bad_request() -> None:
    """A body of another kind or version than the URL's is refused."""
    async with serving() as s:
        wrong_version = dict(deployment("d"), apiVersion="apps/v1beta1")
        reply = await s.call("POST", "/apis/apps/v1/namespaces/default/deployments",
                             wrong_version)
        assert reply.status == 400
        assert reply.body["message"] == ("the API version in the data (apps/v1beta1) does "
                                         "not match the expected API version (apps/v1)")
        reply = await s.call("POST", PODS, configmap("c"))
        assert reply.status == 400 and "cannot be handled as a Pod" in reply.body["message"]


async def test_conflicts_not_found_and_invalid_are_kube_statuses() -> None:
    """409 AlreadyExists, 404 NotFound and 422 Invalid carry kube's reason and details."""
    async with serving() as s:
        await s.call("POST", PODS, pod("p1"))
        again = await s.call("POST", PODS, pod("p1"))
        assert again.status == 409 and again.body["reason"] == "AlreadyExists"
        assert again.body["message"] == 'pods "p1" already exists'
        missing = await s.call("GET", PODS + "/ghost")
        assert missing.status == 404 and missing.body["reason"] == "NotFound"
        assert missing.body["message"] == 'pods "ghost" not found'
        assert missing.body["details"] == {"name": "ghost", "kind": "pods"}
        bad = pod("Bad_Name")
        invalid = await s.call("POST", PODS, bad)
        assert invalid.status == 422 and invalid.body["reason"] == "Invalid"
        assert invalid.body["details"]["causes"][0]["field"] == "metadata.name"
        gone_deploy = await s.call("GET", "/apis/apps/v1/namespaces/default/deployments/x")
        assert gone_deploy.body["message"] == 'deployments.apps "x" not found'


async def test_update_replaces_and_checks_resource_version() -> None:
    """PUT replaces the object; a stale resourceVersion is a 409 Conflict."""
    async with serving() as s:
        made = (await s.call("POST", CMS, configmap("c", a="1"))).body
        changed = dict(made, data={"a": "2"})
        updated = await s.call("PUT", CMS + "/c", changed)
        assert updated.status == 200 and updated.body["data"] == {"a": "2"}
        stale = await s.call("PUT", CMS + "/c", dict(made, data={"a": "3"}))
        assert stale.status == 409 and stale.body["reason"] == "Conflict"
        assert s.api.get("configmaps", "c", "default")["data"] == {"a": "2"}


async def test_update_name_must_match_the_url() -> None:
    """PUT of an object named otherwise than the URL is a 400."""
    async with serving() as s:
        await s.call("POST", CMS, configmap("c"))
        reply = await s.call("PUT", CMS + "/c", configmap("d"))
        assert reply.status == 400
        assert reply.body["message"] == ("the name of the object (d) does not match the "
                                         "name on the URL (c)")


@pytest.mark.parametrize("content_type,patch", [
    pytest.param("application/merge-patch+json", {"data": {"b": "2"}}, id="merge"),
    pytest.param("application/strategic-merge-patch+json", {"data": {"b": "2"}},
                 id="strategic"),
    pytest.param("application/json-patch+json",
                 [{"op": "add", "path": "/data/b", "value": "2"}], id="json"),
])
async def test_patch_in_each_format(content_type: str, patch: Any) -> None:
    """PATCH applies merge, strategic merge and JSON patches by Content-Type."""
    async with serving() as s:
        await s.call("POST", CMS, configmap("c", a="1"))
        reply = await s.call("PATCH", CMS + "/c", patch, content_type=content_type)
        assert reply.status == 200 and reply.body["data"] == {"a": "1", "b": "2"}


async def test_unsupported_patch_types_are_415() -> None:
    """Server-side apply and plain JSON are not patch formats here: 415, nothing changed."""
    async with serving() as s:
        await s.call("POST", CMS, configmap("c", a="1"))
        for content_type in ("application/apply-patch+yaml", "application/json"):
            reply = await s.call("PATCH", CMS + "/c", {"data": {"a": "9"}},
                                 content_type=content_type)
            assert reply.status == 415 and reply.body["reason"] == "UnsupportedMediaType"
        assert s.api.get("configmaps", "c", "default")["data"] == {"a": "1"}


async def test_status_subresource_reads_and_writes_status_only() -> None:
    """PUT and PATCH on /status change status; a plain update keeps it."""
    async with serving() as s:
        await s.call("POST", PODS, pod("p1"))
        patched = await s.call("PATCH", PODS + "/p1/status", {"status": {"phase": "Running"}},
                               content_type="application/merge-patch+json")
        assert patched.body["status"]["phase"] == "Running"
        current = (await s.call("GET", PODS + "/p1/status")).body
        current["status"]["phase"] = "Succeeded"
        put = await s.call("PUT", PODS + "/p1/status", current)
        assert put.status == 200 and put.body["status"]["phase"] == "Succeeded"


async def test_label_and_field_selectors_filter_lists() -> None:
    """labelSelector and fieldSelector narrow a list; a bad selector is a 400."""
    async with serving() as s:
        await s.call("POST", PODS, pod("a", app="web"))
        await s.call("POST", PODS, pod("b", app="db"))
        web = await s.call("GET", PODS, params={"labelSelector": "app=web"})
        assert [i["metadata"]["name"] for i in web.body["items"]] == ["a"]
        by_name = await s.call("GET", PODS, params={"fieldSelector": "metadata.name=b"})
        assert [i["metadata"]["name"] for i in by_name.body["items"]] == ["b"]
        bad = await s.call("GET", PODS, params={"labelSelector": "app in (web"})
        assert bad.status == 400 and bad.body["reason"] == "BadRequest"


async def test_delete_answers_status_or_object_as_kube_does() -> None:
    """A deleted ConfigMap answers a Success Status with its UID; a pod answers itself."""
    async with serving() as s:
        made = (await s.call("POST", CMS, configmap("c"))).body
        reply = await s.call("DELETE", CMS + "/c")
        assert reply.status == 200
        assert reply.body == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Success",
                              "details": {"name": "c", "kind": "configmaps",
                                          "uid": made["metadata"]["uid"]}}
        await s.call("POST", PODS, pod("p1"))
        gone = await s.call("DELETE", PODS + "/p1")
        assert gone.body["kind"] == "Pod" and gone.body["metadata"]["name"] == "p1"
        again = await s.call("DELETE", PODS + "/p1")
        assert again.status == 404


async def test_delete_kept_by_a_finalizer_answers_the_marked_object() -> None:
    """While finalizers hold an object, DELETE answers it with its deletionTimestamp."""
    async with serving() as s:
        cm = configmap("c")
        cm["metadata"]["finalizers"] = ["example.com/hold"]
        await s.call("POST", CMS, cm)
        reply = await s.call("DELETE", CMS + "/c")
        assert reply.status == 200 and reply.body["kind"] == "ConfigMap"
        assert reply.body["metadata"]["deletionTimestamp"]


async def test_delete_options_from_body_and_query() -> None:
    """Preconditions and propagationPolicy are honoured from a body or the query."""
    async with serving() as s:
        made = (await s.call("POST", CMS, configmap("c"))).body
        stale = await s.call("DELETE", CMS + "/c",
                             {"kind": "DeleteOptions", "apiVersion": "v1",
                              "preconditions": {"resourceVersion": "1"}})
        assert stale.status == 409 and "Precondition failed" in stale.body["message"]
        wrong_uid = await s.call("DELETE", CMS + "/c", {"preconditions": {"uid": "nope"}})
        assert wrong_uid.status == 409
        bad_policy = await s.call("DELETE", CMS + "/c",
                                  params={"propagationPolicy": "Sideways"})
        assert bad_policy.status == 422
        assert s.api.get("configmaps", "c", "default")["metadata"]["uid"] == made["metadata"]["uid"]
        ok = await s.call("DELETE", CMS + "/c", {"preconditions": {
            "resourceVersion": made["metadata"]["resourceVersion"]}},
            params={"propagationPolicy": "Foreground"})
        assert ok.status == 200 and ok.body["status"] == "Success"


async def test_orphan_delete_keeps_dependents() -> None:
    """propagationPolicy=Orphan in the query leaves an owned object behind."""
    async with serving() as s:
        owner = (await s.call("POST", CMS, configmap("owner"))).body
        dep = configmap("dep")
        dep["metadata"]["ownerReferences"] = [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
            "uid": owner["metadata"]["uid"]}]
        await s.call("POST", CMS, dep)
        await s.call("DELETE", CMS + "/owner", params={"propagationPolicy": "Orphan"})
        left = s.api.get("configmaps", "dep", "default")
        assert "ownerReferences" not in left["metadata"]


async def test_delete_collection_by_selector() -> None:
    """DELETE on a collection removes what its selector matches and lists it."""
    async with serving() as s:
        await s.call("POST", PODS, pod("a", app="web"))
        await s.call("POST", PODS, pod("b", app="db"))
        reply = await s.call("DELETE", PODS, params={"labelSelector": "app=web"})
        assert reply.status == 200 and reply.body["kind"] == "PodList"
        assert [i["metadata"]["name"] for i in reply.body["items"]] == ["a"]
        assert [p["metadata"]["name"] for p in s.api.list("pods")[0]] == ["b"]


async def test_dry_run_writes_answer_as_the_write_would_and_store_nothing() -> None:
    """dryRun=All on a create, a patch, an update and a scale: defaulted, validated and
    answered, and the store's revision does not move."""
    async with serving() as s:
        dry = {"dryRun": "All"}
        made = await s.call("POST", PODS, pod("p1"), params=dry)
        assert made.status == 201 and made.body["metadata"]["uid"]
        assert "resourceVersion" not in made.body["metadata"]
        assert s.api.list("pods", "default")[0] == []
        real = await s.call("POST", PODS, pod("p1"))
        assert made.body["spec"] == real.body["spec"]  # defaulted and admitted alike
        await s.call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("web"))
        before = s.api.revision
        web = "/apis/apps/v1/namespaces/default/deployments/web"
        patched = await s.call("PATCH", web, {"spec": {"replicas": 4}}, params=dry,
                               content_type="application/merge-patch+json")
        assert patched.status == 200 and patched.body["spec"]["replicas"] == 4
        assert patched.body["metadata"]["generation"] == 2
        put = await s.call("PUT", web, dict(patched.body, spec=dict(patched.body["spec"],
                                                                    replicas=6)), params=dry)
        assert put.status == 200 and put.body["spec"]["replicas"] == 6
        scaled = await s.call("PATCH", web + "/scale", {"spec": {"replicas": 9}}, params=dry,
                              content_type="application/merge-patch+json")
        assert scaled.body["spec"]["replicas"] == 9
        assert s.api.revision == before
        assert s.api.get("deployments.apps", "web", "default")["spec"]["replicas"] == 1


async def test_dry_run_writes_are_refused_as_the_real_ones_would_be() -> None:
    """A dry run still answers AlreadyExists, Invalid and NotFound, and any dryRun value
    other than All is a 422."""
    async with serving() as s:
        await s.call("POST", CMS, configmap("c"))
        dry = {"dryRun": "All"}
        assert (await s.call("POST", CMS, configmap("c"), params=dry)).status == 409
        bad = pod("bad")
        bad["spec"]["containers"][0].pop("image")
        invalid = await s.call("POST", PODS, bad, params=dry)
        assert invalid.status == 422 and invalid.body["reason"] == "Invalid"
        missing = await s.call("PATCH", CMS + "/nope", {"data": {"a": "b"}}, params=dry,
                               content_type="application/merge-patch+json")
        assert missing.status == 404
        some = await s.call("POST", CMS, configmap("d"), params={"dryRun": "Some"})
        assert some.status == 422 and 'supported values: "All"' in some.body["message"]
        assert [c["metadata"]["name"] for c in s.api.list("configmaps", "default")[0]] == ["c"]


async def test_binding_assigns_a_node() -> None:
    """POST pods/<name>/binding binds the pod and answers a Success Status."""
    async with serving() as s:
        await s.call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                               "metadata": {"name": "node-1"}})
        await s.call("POST", PODS, pod("p1"))
        reply = await s.call("POST", PODS + "/p1/binding", {
            "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p1"},
            "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}})
        assert reply.status == 201 and reply.body["status"] == "Success"
        assert s.api.get("pods", "p1", "default")["spec"]["nodeName"] == "node-1"
        twice = await s.call("POST", PODS + "/p1/binding", {"target": {"name": "node-1"}})
        assert twice.status == 409


async def test_scale_subresource_reads_and_writes_replicas() -> None:
    """GET, PATCH and PUT on deployments/<name>/scale go through spec.replicas."""
    base = "/apis/apps/v1/namespaces/default/deployments/web/scale"
    async with serving() as s:
        await s.call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("web"))
        scale = await s.call("GET", base)
        assert scale.body["kind"] == "Scale" and scale.body["spec"] == {"replicas": 1}
        assert scale.body["status"]["selector"] == "app=web"
        patched = await s.call("PATCH", base, {"spec": {"replicas": 3}},
                               content_type="application/merge-patch+json")
        assert patched.status == 200 and patched.body["spec"]["replicas"] == 3
        body = dict(patched.body, spec={"replicas": 5})
        put = await s.call("PUT", base, body)
        assert put.body["spec"]["replicas"] == 5
        assert s.api.get("deployments.apps", "web", "default")["spec"]["replicas"] == 5
        stale = await s.call("PUT", base, dict(patched.body, spec={"replicas": 2}))
        assert stale.status == 409
        negative = await s.call("PATCH", base, {"spec": {"replicas": -1}},
                                content_type="application/merge-patch+json")
        assert negative.status == 422


async def test_table_accept_answers_tables_for_lists_and_gets() -> None:
    """With kubectl's Table Accept header, lists and gets answer meta.k8s.io/v1 Tables."""
    async with serving() as s:
        await s.call("POST", PODS, pod("p1"))
        table = await s.call("GET", PODS, headers={"Accept": TABLE_ACCEPT})
        assert table.body["kind"] == "Table" and table.body["apiVersion"] == "meta.k8s.io/v1"
        assert table.body["metadata"]["resourceVersion"] == str(s.api.revision)
        assert [r["cells"][0] for r in table.body["rows"]] == ["p1"]
        assert table.body["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
        one = await s.call("GET", PODS + "/p1", headers={"Accept": TABLE_ACCEPT})
        assert one.body["kind"] == "Table" and len(one.body["rows"]) == 1


async def test_dry_run_delete_in_the_options_body_deletes_nothing() -> None:
    """`kubectl delete --dry-run=server` puts dryRun in the DeleteOptions body: the answer
    is the delete's, and the object stays (one and a whole collection)."""
    dry = {"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"]}
    async with serving() as s:
        await s.call("POST", CMS, configmap("c"))
        await s.call("POST", PODS, pod("p"))
        one = await s.call("DELETE", CMS + "/c", dry)
        assert one.status == 200 and one.body["status"] == "Success"
        assert one.body["details"]["name"] == "c"
        the_pod = await s.call("DELETE", PODS + "/p", params={"dryRun": "All"})
        assert the_pod.status == 200 and the_pod.body["kind"] == "Pod"
        every = await s.call("DELETE", CMS, dry)
        assert [i["metadata"]["name"] for i in every.body["items"]] == ["c"]
        assert [c["metadata"]["name"] for c in s.api.list("configmaps", "default")[0]] == ["c"]
        assert s.api.get("pods", "p", "default")["metadata"].get("deletionTimestamp") is None
        missing = await s.call("DELETE", CMS + "/nope", dry)
        assert missing.status == 404


async def test_dry_run_delete_checks_preconditions_and_values() -> None:
    """A dry-run delete still fails a stale resourceVersion (409); a dryRun value other
    than All is kube's 422; neither deletes anything."""
    async with serving() as s:
        await s.call("POST", CMS, configmap("c"))
        stale = await s.call("DELETE", CMS + "/c", {
            "dryRun": ["All"], "preconditions": {"resourceVersion": "1"}})
        assert stale.status == 409 and "Precondition failed" in stale.body["message"]
        odd = await s.call("DELETE", CMS + "/c", {"dryRun": ["Some"]})
        assert odd.status == 422
        assert odd.body["message"] == ('DeleteOptions.meta.k8s.io "" is invalid: dryRun: '
                                       'Unsupported value: ["Some"]: supported values: "All"')
        assert len(s.api.list("configmaps", "default")[0]) == 1
