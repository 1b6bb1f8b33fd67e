"""`Status` bodies and JSON responses, as kube-apiserver writes them.

Every failure the HTTP layer reports is a `meta/v1 Status` with the code, reason and
wording kube-apiserver uses, because kubectl and client-go decide what to do from the
reason (`apply` creates on `NotFound`, informers relist on `Expired`), not from the
message. Engine errors (`cluster.api.errors.APIError`) already carry their Status; the
failures that only the HTTP layer can cause (no such path, wrong verb, wrong token, a
body in an unknown format) are built here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from aiohttp import web

from cluster.api import errors
from cluster.api.errors import StatusReason

JSON = "application/json"

PATH_NOT_FOUND = "the server could not find the requested resource"
METHOD_NOT_ALLOWED = "the server does not allow this method on the requested resource"


class HTTPFailure(errors.APIError):
    """A failure of the request itself rather than of the object it names.

    Its Status carries an empty `details`, as kube-apiserver's do for these, except the
    401, which kube-apiserver writes without one. `reason` is a string because some of
    these (`RequestEntityTooLarge`) have no engine error of their own.
    """

    def __init__(self, code: int, reason: str, message: str, *,
                 empty_details: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.http_reason = reason
        self.empty_details = empty_details

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Failure", "message": self.message,
                                  "reason": self.http_reason}
        if self.empty_details:
            status["details"] = {}
        status["code"] = self.code
        return status


def path_not_found() -> HTTPFailure:
    """No route or no served kind at this path (kube's generic 404)."""
    return HTTPFailure(404, StatusReason.NOT_FOUND.value, PATH_NOT_FOUND)


def method_not_allowed() -> HTTPFailure:
    """The path exists but does not take this verb."""
    return HTTPFailure(405, StatusReason.METHOD_NOT_ALLOWED.value, METHOD_NOT_ALLOWED)


def unauthorized() -> HTTPFailure:
    """A missing or wrong bearer token; kube answers with no details at all."""
    return HTTPFailure(401, StatusReason.UNAUTHORIZED.value, "Unauthorized", empty_details=False)


def unsupported_media_type(accepted: Iterable[str]) -> HTTPFailure:
    """A body whose Content-Type this endpoint does not decode (apiserver's wording)."""
    return HTTPFailure(
        415, StatusReason.UNSUPPORTED_MEDIA_TYPE.value,
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted))


def too_large(limit: int) -> HTTPFailure:
    """A body over the server's limit (kube-apiserver's 413 and wording)."""
    return HTTPFailure(413, "RequestEntityTooLarge",
                       f"Request entity too large: limit is {limit}")


def internal_error(error: BaseException) -> HTTPFailure:
    """A bug in the server, reported in one line (the traceback goes to the log)."""
    return HTTPFailure(500, StatusReason.INTERNAL_ERROR.value,
                       f"Internal error occurred: {type(error).__name__}: {error}",
                       empty_details=False)


def deleted(group: str, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The Success Status a DELETE answers with once the object is gone.

    Its `details.kind` is the plural resource, not the kind — kube-apiserver's own quirk,
    which kubectl reads the UID from to wait for the deletion.
    """
    m = obj.get("metadata") or {}
    details: dict[str, Any] = {"name": m.get("name", "")}
    if group:
        details["group"] = group
    details["kind"] = plural
    if m.get("uid"):
        details["uid"] = m["uid"]
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}


def created_status(code: int = 201) -> dict[str, Any]:
    """The bare Success Status of a subresource that makes nothing (`pods/binding`)."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "code": code}


def json_response(body: Any, status: int = 200, *, content_type: str = JSON) -> web.Response:
    """`body` serialized with orjson (the store's dicts are large; json.dumps is slow)."""
    return web.Response(body=orjson.dumps(body), status=status,
                        headers={"Content-Type": content_type})


def error_response(error: errors.APIError) -> web.Response:
    """The Status of `error`, with its code as the HTTP status."""
    return json_response(error.to_status(), error.code)
