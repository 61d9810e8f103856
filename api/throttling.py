"""Requests per API key (DESIGN §8): ``API_RATE_LIMIT`` (such as "600/min") for each key, and
``API_ANON_RATE_LIMIT`` per address for requests without a valid key. Past the limit: 429 with
``Retry-After``. The counts live in the default cache: set ``CACHE_URL`` to Redis in
production, so that every worker counts together."""
from django.conf import settings
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self) -> str:
        # Read on each request, not once at import, so that settings can change it.
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view):
        if request.auth is None:
            return None  # ApiAnonThrottle counts these
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class ApiAnonThrottle(SimpleRateThrottle):
    scope = "api_anon"

    def get_rate(self) -> str:
        return settings.API_ANON_RATE_LIMIT

    def get_cache_key(self, request, view):
        if request.auth is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class _KeylessCount(ApiAnonThrottle):
    """``ApiAnonThrottle``'s count per address, for a request known to have no valid key
    (asking ``request.auth`` while authenticating would authenticate again)."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def limit_without_key(request, view=None) -> None:
    """Count a request without a valid key against ``API_ANON_RATE_LIMIT``; past it, 429.
    REST framework checks throttles after authentication and permissions, so a request whose
    answer is 401 would never be counted: the authentication and the permission call this."""
    throttle = _KeylessCount()
    if not throttle.allow_request(request, view):
        raise exceptions.Throttled(wait=throttle.wait())


class KeyRequired(IsAuthenticated):
    """A key is required (401 without one), and requests without one are limited per address."""

    def has_permission(self, request, view) -> bool:
        if super().has_permission(request, view):
            return True
        limit_without_key(request, view)
        return False
