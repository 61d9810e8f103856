"""Single sign-on with the marketplace's identity provider (OpenID Connect, django-allauth).

The provider is configured from the environment (accounts.sso_config, settings
SOCIALACCOUNT_PROVIDERS). What happens when someone signs in with it:

- The first time, they become a buyer (never a store member or staff): country and language from
  the claims named by the configuration (unknown values leave them empty), display name from
  "name", e-mail address from "email", recorded verified only if the provider says
  "email_verified". Later sign-ins log into the same account and change nothing on it: what the
  person set on their profile since (country, language) stays theirs.
- An address that already belongs to an account here never hands that account over (allauth's
  SOCIALACCOUNT_EMAIL_AUTHENTICATION is off). When the provider vouches for the address, the
  person is told plainly to log in with their password (they own the address, so nothing is
  revealed to a stranger); when it does not, allauth's enumeration-proof path runs: the page says
  a verification e-mail was sent, and the address's owner is told by e-mail.
- Staff accounts (and a store's API account) never sign in this way, nor connect a provider's
  account: staff reach the admin, by their password only.
- An account locked out by failed password log-ins (django-axes) is locked out here too: the
  callback answers with the lockout page (429), as the login form would.
"""
from __future__ import annotations

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render

from returns_portal.countries import Country

from .lockout import lockout_response
from .selectors import address_taken
from .services import DISPLAY_NAME_MAX_LENGTH
from .sso_config import DEFAULT_COUNTRY_CLAIM, DEFAULT_LANGUAGE_CLAIM



def claims_of(sociallogin: SocialLogin) -> dict:
    """Every claim the provider gave: the ID token's, with the userinfo endpoint's over them."""
    data = sociallogin.account.extra_data or {}
    if "userinfo" not in data and "id_token" not in data:
        return dict(data)  # accounts stored by allauth before 65.11 keep the claims flat
    return {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}


def claim(claims: dict, name: str):
    """A claim by name; a dotted name reaches into an object claim ("address.country")."""
    value = claims
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def country_from_claim(value) -> str:
    """An ISO 3166-1 alpha-2 code the portal knows, in any case ("ru", "RU"); else empty."""
    if not isinstance(value, str):
        return ""
    code = value.strip().upper()
    return code if code in Country.values else ""


def language_from_claim(value) -> str:
    """A language the portal speaks from a BCP 47 tag ("ru-RU", "ru_RU", "RU" -> "ru"); else empty."""
    if not isinstance(value, str):
        return ""
    code = value.strip().replace("_", "-").split("-")[0].lower()
    return code if code in dict(settings.LANGUAGES) else ""


def locked_out(request: HttpRequest, user) -> bool:
    """Whether failed password log-ins locked ``user`` out from this client's address. Failures
    typed with any of the account's names (username or address) count towards the account's
    username (``AXES_USERNAME_CALLABLE``), so that is the one count to ask about."""
    return AxesProxyHandler.is_locked(request, credentials={"username": user.username})


def password_only(user) -> bool:
    """Staff reach the admin, and a store's API account acts for the store: they never sign in
    through another service, whose account the portal does not control."""
    return user.is_staff or user.is_superuser or user.is_api_account


def password_only_response(request: HttpRequest):
    return render(request, "socialaccount/password_only.html", status=403)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request, provider=None, client_id=None) -> list[SocialApp]:
        """The providers of SOCIALACCOUNT_PROVIDERS only (built from the environment): allauth's
        SocialApp table is never read (nor shown in the admin), so no row there adds a provider."""
        apps = []
        for provider_class_id, configuration in settings.SOCIALACCOUNT_PROVIDERS.items():
            for app_configuration in configuration.get("APPS", []):
                app = SocialApp(provider=provider_class_id, **{
                    key: app_configuration[key] for key in ("provider_id", "name", "client_id", "secret", "settings")
                    if key in app_configuration})
                if client_id and app.client_id != client_id:
                    continue
                if provider and provider not in (app.provider_id, app.provider):
                    continue
                apps.append(app)
        return apps

    def populate_user(self, request, sociallogin, data):
        """The account a first sign-in creates (unsaved here; a returning person's account is
        looked up instead and keeps what it holds)."""
        user = super().populate_user(request, sociallogin, data)
        claims = claims_of(sociallogin)
        app_settings = sociallogin.provider.app.settings if sociallogin.provider.app else {}
        user.country = country_from_claim(claim(claims, app_settings.get("country_claim", DEFAULT_COUNTRY_CLAIM)))
        user.language = language_from_claim(
            claim(claims, app_settings.get("language_claim", DEFAULT_LANGUAGE_CLAIM)))
        name = claims.get("name")
        user.display_name = name.strip()[:DISPLAY_NAME_MAX_LENGTH] if isinstance(name, str) else ""
        return user

    def save_user(self, request, sociallogin, form=None):
        """A buyer, whatever the claims: store members come by invitation, staff by the admin.
        Country and language are the claims' (or empty), never the browsing defaults that a
        password sign-up starts with."""
        user = sociallogin.user
        country, language = user.country, user.language
        user.set_unusable_password()
        account_adapter = get_account_adapter(request)
        if form:
            account_adapter.save_user(request, user, form, commit=False)
        else:
            account_adapter.populate_username(request, user)
        user.country, user.language = country, language
        user.store = None
        user.is_staff = user.is_superuser = False
        sociallogin.save(request)
        return user

    def pre_social_login(self, request, sociallogin):
        if sociallogin.state.get("process") == AuthProcess.CONNECT:
            # Already logged in: the provider's account is to be connected to the person asking.
            if password_only(request.user):
                raise ImmediateHttpResponse(password_only_response(request))
            return
        if sociallogin.is_existing:
            if password_only(sociallogin.user):
                raise ImmediateHttpResponse(password_only_response(request))
            if locked_out(request, sociallogin.user):
                raise ImmediateHttpResponse(lockout_response(request))
            return
        taken = [address.email for address in sociallogin.email_addresses
                 if address.verified and address_taken(address.email)]
        if taken:
            raise ImmediateHttpResponse(render(
                request, "socialaccount/email_taken.html",
                {"email": taken[0], "provider_name": sociallogin.provider.name}, status=409))
