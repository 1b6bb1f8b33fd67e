"""API errors, shaped like the apiserver's `Status` objects.

Every error a caller can cause is an `APIError` carrying the HTTP code and `reason` that a
real Kubernetes API server would return, and a message in kube-apiserver's wording, so
the command layer can print it the way kubectl does and an HTTP facade can serve it as a
`Status` without translation.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any


class StatusReason(str, enum.Enum):
    """The `reason` field of a `Status` (k8s.io/apimachinery metav1.StatusReason)."""

    NOT_FOUND = "NotFound"
    ALREADY_EXISTS = "AlreadyExists"
    CONFLICT = "Conflict"
    INVALID = "Invalid"
    EXPIRED = "Expired"
    BAD_REQUEST = "BadRequest"
    FORBIDDEN = "Forbidden"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    UNAUTHORIZED = "Unauthorized"
    INTERNAL_ERROR = "InternalError"
    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"


class FieldErrorType(str, enum.Enum):
    """How a field is wrong; the value is the phrase Kubernetes prints."""

    REQUIRED = "Required value"
    INVALID = "Invalid value"
    NOT_SUPPORTED = "Unsupported value"
    DUPLICATE = "Duplicate value"
    FORBIDDEN = "Forbidden"
    TOO_LONG = "Too long"
    TOO_MANY = "Too many"
    TYPE_INVALID = "Invalid value"
    NOT_FOUND = "Not found"


def format_value(value: Any) -> str:
    """Render a bad value the way apimachinery's field errors do (`%q` for strings)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


_OMIT = object()


@dataclass(frozen=True)
class FieldError:
    """One field's problem, printed as `path: Invalid value: <value>: <detail>`."""

    type: FieldErrorType
    field: str
    bad_value: Any = _OMIT
    detail: str = ""

    def __str__(self) -> str:
        parts = [f"{self.field}: {self.type.value}"] if self.field else [self.type.value]
        if self.type in (FieldErrorType.INVALID, FieldErrorType.TYPE_INVALID,
                         FieldErrorType.NOT_SUPPORTED, FieldErrorType.DUPLICATE,
                         FieldErrorType.NOT_FOUND, FieldErrorType.TOO_MANY):
            if self.bad_value is not _OMIT:
                parts.append(format_value(self.bad_value))
        if self.detail:
            parts.append(self.detail)
        return ": ".join(parts)

    def to_cause(self) -> dict[str, Any]:
        """The `details.causes[]` entry of a Status."""
        message = str(self)
        if self.field and message.startswith(self.field + ": "):
            message = message[len(self.field) + 2:]
        return {"reason": "Field" + self.type.name.title().replace("_", ""),
                "message": message, "field": self.field}


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(FieldErrorType.REQUIRED, path, detail=detail)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(FieldErrorType.INVALID, path, value, detail)


def not_supported(path: str, value: Any, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(json.dumps(s) for s in supported)
    return FieldError(FieldErrorType.NOT_SUPPORTED, path, value, detail)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(FieldErrorType.DUPLICATE, path, value)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(FieldErrorType.FORBIDDEN, path, detail=detail)


def too_long(path: str, max_length: int) -> FieldError:
    return FieldError(FieldErrorType.TOO_LONG, path,
                      detail=f"may not be more than {max_length} bytes")


def too_many(path: str, actual: int, maximum: int) -> FieldError:
    noun = "item" if maximum == 1 else "items"
    return FieldError(FieldErrorType.TOO_MANY, path, actual,
                      detail=f"must have at most {maximum} {noun}")


def type_invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(FieldErrorType.TYPE_INVALID, path, value, detail)


class APIError(Exception):
    """An error the API reports to its caller as a `Status`."""

    code: int = 500
    reason: StatusReason = StatusReason.INTERNAL_ERROR

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason.value,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status


def _details(resource: str, name: str) -> dict[str, Any]:
    group, _, kind = "", "", resource
    if "." in resource:
        kind, _, group = resource.partition(".")
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return details


class NotFound(APIError):
    code = 404
    reason = StatusReason.NOT_FOUND

    def __init__(self, resource: str, name: str, message: str | None = None) -> None:
        """`resource` is the plural, group-qualified when not core (`deployments.apps`)."""
        super().__init__(message or f'{resource} "{name}" not found',
                         details=_details(resource, name))


class AlreadyExists(APIError):
    code = 409
    reason = StatusReason.ALREADY_EXISTS

    def __init__(self, resource: str, name: str) -> None:
        super().__init__(f'{resource} "{name}" already exists', details=_details(resource, name))


class Conflict(APIError):
    code = 409
    reason = StatusReason.CONFLICT

    def __init__(self, resource: str, name: str, why: str | None = None) -> None:
        why = why or ("the object has been modified; please apply your changes "
                      "to the latest version and try again")
        super().__init__(f'Operation cannot be fulfilled on {resource} "{name}": {why}',
                         details=_details(resource, name))


class Invalid(APIError):
    code = 422
    reason = StatusReason.INVALID

    def __init__(self, qualified_kind: str, name: str, errors: list[FieldError]) -> None:
        """`qualified_kind` is `Pod` or `Deployment.apps`, as kube-apiserver prints it."""
        self.errors = list(errors)
        if len(self.errors) == 1:
            body = str(self.errors[0])
        else:
            body = "[" + ", ".join(str(e) for e in self.errors) + "]"
        kind, _, group = qualified_kind.partition(".")
        details: dict[str, Any] = {"name": name, "kind": kind,
                                   "causes": [e.to_cause() for e in self.errors]}
        if group:
            details["group"] = group
        super().__init__(f'{qualified_kind} "{name}" is invalid: {body}', details=details)


class Expired(APIError):
    """A watch or list asked for a revision that is no longer retained (HTTP 410 Gone)."""

    code = 410
    reason = StatusReason.EXPIRED

    def __init__(self, message: str) -> None:
        super().__init__(message)


class BadRequest(APIError):
    code = 400
    reason = StatusReason.BAD_REQUEST


class Forbidden(APIError):
    code = 403
    reason = StatusReason.FORBIDDEN


class MethodNotAllowed(APIError):
    code = 405
    reason = StatusReason.METHOD_NOT_ALLOWED


class Unauthorized(APIError):
    code = 401
    reason = StatusReason.UNAUTHORIZED


class UnsupportedMediaType(APIError):
    code = 415
    reason = StatusReason.UNSUPPORTED_MEDIA_TYPE


_BY_REASON: dict[str, type[APIError]] = {
    StatusReason.BAD_REQUEST.value: BadRequest,
    StatusReason.FORBIDDEN.value: Forbidden,
    StatusReason.METHOD_NOT_ALLOWED.value: MethodNotAllowed,
    StatusReason.UNAUTHORIZED.value: Unauthorized,
    StatusReason.UNSUPPORTED_MEDIA_TYPE.value: UnsupportedMediaType,
}


def from_status(status: dict[str, Any]) -> APIError:
    """Rebuild an error from a `Status` object (for an HTTP client)."""
    reason = status.get("reason", "")
    message = status.get("message", "")
    details = status.get("details") or {}
    error: APIError
    if reason in _BY_REASON:
        error = _BY_REASON[reason](message, details=details)
    else:
        error = APIError(message, details=details)
        for cls in (NotFound, AlreadyExists, Conflict, Invalid, Expired):
            if cls.reason.value == reason:
                error.__class__ = cls
                break
    error.code = int(status.get("code", error.code))
    return error


@dataclass
class ErrorList:
    """Collects field errors while validating one object."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, error: FieldError) -> None:
        self.errors.append(error)

    def extend(self, errors: list[FieldError]) -> None:
        self.errors.extend(errors)

    def __bool__(self) -> bool:
        return bool(self.errors)
