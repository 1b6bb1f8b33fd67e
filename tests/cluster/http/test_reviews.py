"""Self-subject reviews: `auth can-i`, `auth can-i --list` and `auth whoami` are answered
(the token holder may do everything), listed in discovery with `create` only, never stored."""

from __future__ import annotations

import pytest
from http_server_helpers import serving

from cluster.http import discovery, reviews

SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSRR = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
SSR = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


def _access_review(**spec: object) -> dict[str, object]:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "metadata": {"creationTimestamp": None}, "spec": spec,
            "status": {"allowed": False}}


async def test_access_review_allows_the_token_holder() -> None:
    """A SelfSubjectAccessReview is answered 201 with its spec and allowed: true."""
    attrs = {"namespace": "default", "verb": "get", "resource": "pods"}
    async with serving() as s:
        reply = await s.call("POST", SSAR, _access_review(resourceAttributes=attrs))
        assert reply.status == 201
        assert reply.body == {"kind": "SelfSubjectAccessReview",
                              "apiVersion": "authorization.k8s.io/v1",
                              "metadata": {"creationTimestamp": None},
                              "spec": {"resourceAttributes": attrs},
                              "status": {"allowed": True}}
        url = await s.call("POST", SSAR, _access_review(
            nonResourceAttributes={"path": "/logs", "verb": "get"}))
        assert url.status == 201 and url.body["status"] == {"allowed": True}


@pytest.mark.parametrize("spec", [
    pytest.param({}, id="neither"),
    pytest.param({"resourceAttributes": {"verb": "get"},
                  "nonResourceAttributes": {"path": "/", "verb": "get"}}, id="both"),
])
async def test_access_review_needs_exactly_one_kind_of_attributes(spec: dict) -> None:
    """Neither or both attribute kinds is kube's 422 naming the field."""
    async with serving() as s:
        reply = await s.call("POST", SSAR, _access_review(**spec))
        assert reply.status == 422 and reply.body["reason"] == "Invalid"
        assert reply.body["message"].startswith(
            'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.')


async def test_rules_review_and_whoami() -> None:
    """The rules review lists the wildcard rules; the SelfSubjectReview names the user
    and its groups."""
    async with serving() as s:
        rules = await s.call("POST", SSRR, {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
            "spec": {"namespace": "default"}})
        assert rules.status == 201 and rules.body["spec"] == {"namespace": "default"}
        assert rules.body["status"]["resourceRules"] == [
            {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
        assert rules.body["status"]["incomplete"] is False
        me = await s.call("POST", SSR, {"apiVersion": "authentication.k8s.io/v1",
                                        "kind": "SelfSubjectReview"})
        assert me.status == 201
        assert me.body["status"] == {"userInfo": {
            "username": "redisha", "groups": ["system:masters", "system:authenticated"]}}


async def test_reviews_take_only_post_and_store_nothing() -> None:
    """GET on a review collection is kube's 405; an unknown kind in those groups a 404;
    nothing is written to the store."""
    async with serving() as s:
        revision = s.api.revision
        assert (await s.call("GET", SSAR)).status == 405
        assert (await s.call("GET", "/apis/authorization.k8s.io/v1/nope")).status == 404
        await s.call("POST", SSAR, _access_review(resourceAttributes={"verb": "get"}))
        assert s.api.revision == revision


async def test_reviews_in_discovery_with_create_only() -> None:
    """Aggregated and legacy discovery list the review kinds with the one verb `create`."""
    assert discovery.CREATE_ONLY == reviews.REVIEW_KEYS
    async with serving() as s:
        agg = await s.call("GET", "/apis", headers={"Accept": discovery.AGGREGATED})
        groups = {i["metadata"]["name"]: i for i in agg.body["items"]}
        ssar = next(r for r in groups["authorization.k8s.io"]["versions"][0]["resources"]
                    if r["resource"] == "selfsubjectaccessreviews")
        assert ssar["verbs"] == ["create"] and ssar["scope"] == "Cluster"
        legacy = await s.call("GET", "/apis/authentication.k8s.io/v1")
        assert [(r["name"], r["verbs"]) for r in legacy.body["resources"]] == [
            ("selfsubjectreviews", ["create"])]
        listed = await s.call("GET", "/apis")
        assert "authorization.k8s.io" in [g["name"] for g in listed.body["groups"]]
