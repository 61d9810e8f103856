"""Single sign-on with the marketplace's identity provider (OpenID Connect), configured only
from the environment: ``SOCIALACCOUNT_PROVIDERS`` is built here from the ``SSO_*`` variables
(never from allauth's SocialApp table, which the admin does not show).

Imported by the settings module, so it imports nothing from Django's apps.
"""
from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

# The OpenID Connect provider's id in the portal's URLs: /accounts/oidc/<id>/login/callback/
# is the redirect URI the marketplace registers for the portal.
DEFAULT_PROVIDER_ID = "marketplace"
DEFAULT_NAME = "Marketplace"
DEFAULT_SCOPES = ("openid", "profile", "email")
DEFAULT_COUNTRY_CLAIM = "country"
DEFAULT_LANGUAGE_CLAIM = "locale"
# Plain http is allowed to this machine only (development and the tests' provider).
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class SsoConfigurationError(ValueError):
    pass


def _words(value: str | None) -> list[str]:
    return [word for word in (value or "").replace(",", " ").split() if word]


def sso_providers(environ: Mapping[str, str]) -> dict:
    """``SOCIALACCOUNT_PROVIDERS`` from an environment-like mapping. Empty when SSO_CLIENT_ID is
    unset or empty: no provider, no button, and allauth answers 404 for /accounts/oidc/<any>/.

    Refuses (SsoConfigurationError) a client id without a server URL or secret, a server URL
    that is not https (http only to this machine), and scopes without "openid".
    """
    client_id = (environ.get("SSO_CLIENT_ID") or "").strip()
    if not client_id:
        return {}
    server_url = (environ.get("SSO_SERVER_URL") or "").strip()
    secret = environ.get("SSO_CLIENT_SECRET") or ""
    if not server_url:
        raise SsoConfigurationError("SSO_CLIENT_ID is set: SSO_SERVER_URL (the issuer's URL) is required too.")
    if not secret:
        raise SsoConfigurationError("SSO_CLIENT_ID is set: SSO_CLIENT_SECRET is required too.")
    parts = urlsplit(server_url)
    if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS)):
        raise SsoConfigurationError(
            f"SSO_SERVER_URL must be an https:// URL (http:// only to localhost), not {server_url!r}.")
    scopes = _words(environ.get("SSO_SCOPES")) or list(DEFAULT_SCOPES)
    if "openid" not in scopes:
        raise SsoConfigurationError('SSO_SCOPES must include "openid".')
    provider_id = (environ.get("SSO_PROVIDER_ID") or "").strip() or DEFAULT_PROVIDER_ID
    if not provider_id.replace("-", "").replace("_", "").isalnum():
        raise SsoConfigurationError("SSO_PROVIDER_ID may hold letters, digits, '-' and '_' only.")
    app = {
        "provider_id": provider_id,
        "name": (environ.get("SSO_NAME") or "").strip() or DEFAULT_NAME,
        "client_id": client_id,
        "secret": secret,
        "settings": {
            "server_url": server_url,
            "scope": scopes,
            "oauth_pkce_enabled": True,
            # Which claims give the country and the language of a person's first sign-in
            # (accounts.sso.SocialAccountAdapter reads them).
            "country_claim": (environ.get("SSO_COUNTRY_CLAIM") or "").strip() or DEFAULT_COUNTRY_CLAIM,
            "language_claim": (environ.get("SSO_LANGUAGE_CLAIM") or "").strip() or DEFAULT_LANGUAGE_CLAIM,
        },
    }
    return {"openid_connect": {"APPS": [app]}}


def sso_origin(providers: dict) -> str | None:
    """The identity provider's origin (scheme://host[:port]), for the Content-Security-Policy's
    form-action: the "Sign in with ..." POST is answered by a redirect to the provider, and
    browsers check form-action on redirects too."""
    for app in providers.get("openid_connect", {}).get("APPS", []):
        parts = urlsplit(app["settings"]["server_url"])
        return f"{parts.scheme}://{parts.netloc}"
    return None
