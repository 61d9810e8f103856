"""How a store's systems sign in to the JSON API: ``Authorization: Bearer rp_...``.

The request's ``auth`` is the ``ApiKey``; its ``user`` is a ``StorePrincipal``: the store,
acting as one of its members would. The selectors and the lifecycle take it as they take a
person (``disputes_visible_to`` scopes to ``store_id``, ``party_of`` makes it the seller),
so a key sees exactly what the store's members see and may do what they may do.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .keys import authenticate_key
from .models import ApiKey


@dataclass(frozen=True)
class StorePrincipal:
    """A store calling the API. No user row behind it: ``pk`` is None, so it is never the
    buyer of a dispute, and with no staff flag nor permissions it is never staff."""

    key: ApiKey
    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None
    language = ""

    @property
    def store_id(self) -> int:
        return self.key.store_id

    @property
    def store(self):
        return self.key.store

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def __str__(self) -> str:
        return f"API key {self.key.prefix} of store {self.key.store_id}"


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
            raise exceptions.AuthenticationFailed(_("Send the API key as “Authorization: Bearer <key>”."))
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raw = None
        key = authenticate_key(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("This API key is not valid: it is unknown or was revoked."))
        return StorePrincipal(key), key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """The schema's security scheme: HTTP bearer with the store's API key."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "rp_<prefix>_<secret>"}
