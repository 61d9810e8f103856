"""How a store's systems sign in to the JSON API: ``Authorization: Bearer rp_...``.

The request's ``auth`` is the ``ApiKey``; its ``user`` is the account the key acts as
(``ApiKey.acts_as``): for a store's key, the store's API account, a member of the store
nobody signs in with; for a staff token, the member of staff who made it. The selectors,
the lifecycle and the services take that account as they take anyone else
(``disputes_visible_to`` scopes to its store, ``party_of`` makes it the seller, the timeline
records its acts as the store's), so a key sees exactly what the store's members see and may
do what they may do, through the same code.
"""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .keys import authenticate_key
from .throttling import limit_without_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """No ``Authorization: Bearer`` header: not signed in (the permission answers 401). A
    Bearer header with anything but an active key of an active store: 401 straight away.
    ``authenticate_key`` also records the key's last use (at most once a minute)."""

    keyword = "Bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            limit_without_key(request)
            raise exceptions.AuthenticationFailed(_("Send the API key as “Authorization: Bearer <key>”."))
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raw = None
        key = authenticate_key(raw)
        if key is None:
            limit_without_key(request)
            raise exceptions.AuthenticationFailed(_("This API key is not valid: it is unknown or was revoked."))
        return key.acts_as, key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """The schema's security scheme: HTTP bearer with the store's API key."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "rp_<prefix>_<secret>"}
