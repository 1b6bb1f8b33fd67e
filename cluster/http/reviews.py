"""Self-subject reviews: who the caller is and what it may do.

`kubectl auth can-i` POSTs a `SelfSubjectAccessReview`, `auth can-i --list` a
`SelfSubjectRulesReview` and `auth whoami` a `SelfSubjectReview`; each is a create-only
kind that is answered, never stored. The server has one credential (the bearer token
the kubeconfig carries) and no RBAC, so its holder is the cluster's administrator, the
way kube-apiserver treats a member of `system:masters`: every check is allowed and the
rules review lists the wildcard rules. These kinds are listed in discovery (kubectl
looks for the group before it asks) with the one verb they take.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cluster.api import errors
from cluster.api.resources import ResourceType
from cluster.http import statuses
from cluster.http.rest import decode_body, media_type

USERNAME = "redisha"
"""The token's user: named as the kubeconfig names its user entry."""

GROUPS = ("system:masters", "system:authenticated")
"""The token user's groups: the superuser group, as kubeadm's admin credential had."""

AUTHENTICATION = "authentication.k8s.io"
AUTHORIZATION = "authorization.k8s.io"


def _review(group: str, kind: str, plural: str) -> ResourceType:
    return ResourceType(group, "v1", kind, plural, kind.lower(), namespaced=False,
                        has_status=False)


SELF_SUBJECT_REVIEW = _review(AUTHENTICATION, "SelfSubjectReview", "selfsubjectreviews")
SELF_SUBJECT_ACCESS_REVIEW = _review(AUTHORIZATION, "SelfSubjectAccessReview",
                                     "selfsubjectaccessreviews")
SELF_SUBJECT_RULES_REVIEW = _review(AUTHORIZATION, "SelfSubjectRulesReview",
                                    "selfsubjectrulesreviews")

REVIEW_TYPES: tuple[ResourceType, ...] = (
    SELF_SUBJECT_REVIEW, SELF_SUBJECT_ACCESS_REVIEW, SELF_SUBJECT_RULES_REVIEW)
"""The create-only review kinds, in discovery's order."""

REVIEW_KEYS = frozenset(rt.key for rt in REVIEW_TYPES)


def serves(group: str, version: str) -> bool:
    """True when `/apis/<group>/<version>/...` is a review group-version."""
    return version == "v1" and group in (AUTHENTICATION, AUTHORIZATION)


async def handle(request: web.Request, group: str, version: str,
                 tail: str) -> web.Response:
    """Answer a review POST; any other verb is kube-apiserver's 405, any other path its 404."""
    rt = next((r for r in REVIEW_TYPES
               if r.group == group and r.version == version and r.plural == tail.strip("/")),
              None)
    if rt is None:
        raise statuses.path_not_found()
    if request.method != "POST":
        raise statuses.method_not_allowed()
    body = decode_body(await request.read(), media_type(request))
    if not isinstance(body, dict):
        raise errors.BadRequest("the request body must be a JSON object")
    if (body.get("apiVersion") or rt.api_version) != rt.api_version \
            or (body.get("kind") or rt.kind) != rt.kind:
        raise errors.BadRequest(f"the body is not a {rt.kind} of {rt.api_version}")
    spec = body.get("spec") or {}
    if not isinstance(spec, dict):
        raise errors.BadRequest("spec: Invalid value: must be an object")
    if rt is SELF_SUBJECT_ACCESS_REVIEW:
        status = access_review_status(spec)
    elif rt is SELF_SUBJECT_RULES_REVIEW:
        status = rules_review_status(spec)
    else:
        status = {"userInfo": {"username": USERNAME, "groups": list(GROUPS)}}
    reply: dict[str, Any] = {"kind": rt.kind, "apiVersion": rt.api_version,
                             "metadata": {"creationTimestamp": None}}
    if rt is not SELF_SUBJECT_REVIEW:
        reply["spec"] = spec
    reply["status"] = status
    return statuses.json_response(reply, 201)


def access_review_status(spec: dict[str, Any]) -> dict[str, Any]:
    """A SelfSubjectAccessReview's answer: exactly one of resourceAttributes and
    nonResourceAttributes must be asked about (422 otherwise, kube's wording); the
    administrator is allowed either."""
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is not None and non_resource is not None:
        raise errors.Invalid(f"{SELF_SUBJECT_ACCESS_REVIEW.kind}.{AUTHORIZATION}", "", [
            errors.invalid("spec.nonResourceAttributes", non_resource,
                           "cannot be specified in combination with resourceAttributes")])
    if resource is None and non_resource is None:
        raise errors.Invalid(f"{SELF_SUBJECT_ACCESS_REVIEW.kind}.{AUTHORIZATION}", "", [
            errors.invalid("spec.resourceAttributes", None,
                           "exactly one of nonResourceAttributes or resourceAttributes "
                           "must be specified")])
    return {"allowed": True}


def rules_review_status(spec: dict[str, Any]) -> dict[str, Any]:
    """A SelfSubjectRulesReview's answer: everything, on every resource and URL."""
    return {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False}
