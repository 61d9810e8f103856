"""One error shape for every refusal of the JSON API:
``{"code": "...", "message": "...", "fields": {...}}``.

``code`` is stable (clients branch on it), ``message`` is a sentence in the request's
language, ``fields`` names the parameters or body fields that were wrong (empty otherwise).
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from returns_portal.errors import DomainError, ErrorCode

# A domain refusal that is not about the input's shape: who may act, or when.
DOMAIN_STATUS = {
    ErrorCode.NOT_ALLOWED: status.HTTP_403_FORBIDDEN,
    ErrorCode.INVALID_TRANSITION: status.HTTP_409_CONFLICT,
    ErrorCode.ALREADY_OPEN: status.HTTP_409_CONFLICT,
}


def _messages() -> dict[type, tuple[str, str]]:
    return {
        exceptions.NotAuthenticated: (
            "not_authenticated", _("Send the store's API key as “Authorization: Bearer <key>”.")),
        exceptions.AuthenticationFailed: ("authentication_failed", ""),
        exceptions.PermissionDenied: ("permission_denied", _("This API key may not do this.")),
        exceptions.NotFound: ("not_found", _("Nothing here for this API key.")),
        exceptions.MethodNotAllowed: ("method_not_allowed", _("This address does not accept this method.")),
        exceptions.UnsupportedMediaType: ("unsupported_media_type", _("Send the request body as JSON.")),
        exceptions.NotAcceptable: ("not_acceptable", _("The API answers in JSON only.")),
        exceptions.ParseError: ("parse_error", _("The request body is not valid JSON.")),
        exceptions.Throttled: ("throttled", _("Too many requests with this API key; try again later.")),
        exceptions.ValidationError: ("invalid", _("Some of what was sent is not valid: see the fields.")),
    }


def _fields(detail, prefix: str = "") -> dict[str, list[str]]:
    """``{name: [message, ...]}``, one level: a nested field's errors (an item of a list, a key
    of a mapping) are named by their path, as ``files.0`` or ``answers.<code>``."""
    if not isinstance(detail, dict):
        return {}
    fields: dict[str, list[str]] = {}
    for name, value in detail.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            fields.update(_fields(value, f"{path}."))
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            for index, item in enumerate(value):
                fields.update(_fields(item, f"{path}.{index}.") if isinstance(item, dict)
                              else {f"{path}.{index}": [str(item)]})
        else:
            fields[path] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return fields


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"code": code, "message": str(message), "fields": fields or {}}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        status_code = DOMAIN_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST)
        return Response(error_body(str(exc.code), exc.message), status=status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)  # keeps WWW-Authenticate, Allow, Retry-After
    if response is None:
        return None  # not a refusal: a bug, and a 500 that is logged
    code, message = next(((c, m) for kind, (c, m) in _messages().items() if isinstance(exc, kind)),
                         ("error", ""))
    if not message:
        message = exc.detail if isinstance(exc.detail, str) else _("The request was refused.")
    fields = _fields(exc.detail) if isinstance(exc, exceptions.ValidationError) else {}
    response.data = error_body(code, message, fields)
    return response
