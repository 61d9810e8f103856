"""Single sign-on in the process (the end-to-end flow is test_sso_end_to_end.py): the configuration
built from the environment, how claims become a country and a language, the pages when it is not
configured and when it is, the connected accounts page and the admin."""
from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - the settings module in a process of its own
import sys
import tempfile
from pathlib import Path

import pytest
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.sso import claim, country_from_claim, language_from_claim
from accounts.sso_config import SsoConfigurationError, sso_origin, sso_providers
from accounts.tests.factories import BuyerFactory, StaffFactory
from accounts.tests.support import reauthenticate

ENVIRONMENT = {
    "SSO_SERVER_URL": "https://id.marketplace.example/realms/buyers",
    "SSO_CLIENT_ID": "returns-portal",
    "SSO_CLIENT_SECRET": "s3cret",
}


@pytest.fixture
def configured(settings):
    settings.SOCIALACCOUNT_PROVIDERS = sso_providers(ENVIRONMENT)
    return settings


# --- The configuration ---------------------------------------------------------------------------

def test_without_a_client_id_there_is_no_provider():
    assert sso_providers({}) == {}
    assert sso_providers({**ENVIRONMENT, "SSO_CLIENT_ID": "  "}) == {}
    assert sso_origin({}) is None


def test_the_provider_with_the_defaults():
    assert sso_providers(ENVIRONMENT) == {"openid_connect": {"APPS": [{
        "provider_id": "marketplace",
        "name": "Marketplace",
        "client_id": "returns-portal",
        "secret": "s3cret",
        "settings": {"server_url": "https://id.marketplace.example/realms/buyers",
                     "scope": ["openid", "profile", "email"], "oauth_pkce_enabled": True,
                     "country_claim": "country", "language_claim": "locale"},
    }]}}
    assert sso_origin(sso_providers(ENVIRONMENT)) == "https://id.marketplace.example"


def test_every_variable_is_read():
    app = sso_providers({**ENVIRONMENT, "SSO_NAME": "Big Market", "SSO_PROVIDER_ID": "big-market",
                         "SSO_SCOPES": "openid, email marketplace", "SSO_COUNTRY_CLAIM": "address.country",
                         "SSO_LANGUAGE_CLAIM": "ui_locale"})["openid_connect"]["APPS"][0]

    assert (app["name"], app["provider_id"]) == ("Big Market", "big-market")
    assert app["settings"]["scope"] == ["openid", "email", "marketplace"]
    assert (app["settings"]["country_claim"], app["settings"]["language_claim"]) == ("address.country", "ui_locale")
    assert app["settings"]["oauth_pkce_enabled"] is True


@pytest.mark.parametrize(("change", "message"), [
    ({"SSO_SERVER_URL": ""}, "SSO_SERVER_URL"),
    ({"SSO_CLIENT_SECRET": ""}, "SSO_CLIENT_SECRET"),
    ({"SSO_SERVER_URL": "http://id.marketplace.example"}, "https://"),
    ({"SSO_SERVER_URL": "id.marketplace.example"}, "https://"),
    ({"SSO_SCOPES": "profile email"}, '"openid"'),
    ({"SSO_PROVIDER_ID": "market/place"}, "SSO_PROVIDER_ID"),
])
def test_a_half_or_unsafe_configuration_is_refused(change, message):
    with pytest.raises(SsoConfigurationError, match=message):
        sso_providers({**ENVIRONMENT, **change})


def test_plain_http_is_allowed_to_this_machine_only():
    for url in ("http://127.0.0.1:9000/openid", "http://localhost:9000/openid"):
        assert sso_providers({**ENVIRONMENT, "SSO_SERVER_URL": url})


# --- Claims --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "country"), [
    ("RU", "RU"), ("kz", "KZ"), (" ua ", "UA"), ("Atlantis", ""), ("XX", ""), ("", ""), (None, ""), (7, ""),
    ({"country": "RU"}, ""),
])
def test_country_from_a_claim(value, country):
    assert country_from_claim(value) == country


@pytest.mark.parametrize(("value", "language"), [
    ("ru", "ru"), ("ru-RU", "ru"), ("ru_RU", "ru"), ("RU", "ru"), ("en-GB", "en"), ("fr-CA", ""), ("", ""),
    (None, ""), (["ru"], ""),
])
def test_language_from_a_claim(value, language):
    assert language_from_claim(value) == language


def test_a_dotted_claim_reaches_into_an_object_claim():
    claims = {"address": {"country": "by"}, "country": "RU"}

    assert claim(claims, "address.country") == "by"
    assert claim(claims, "country") == "RU"
    assert claim(claims, "country.code") is None
    assert claim(claims, "missing") is None


# --- The pages -----------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("provider_id", ["marketplace", "openid_connect", "google", "anything"])
def test_not_configured_no_button_and_every_provider_address_is_404(client, provider_id):
    page = client.get(reverse("account_login"))

    assert page.status_code == 200
    assert "Sign in with" not in page.content.decode() and "/accounts/oidc/" not in page.content.decode()
    for name in ("openid_connect_login", "openid_connect_callback"):
        url = reverse(name, kwargs={"provider_id": provider_id})
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404


@pytest.mark.django_db
def test_a_socialapp_row_adds_no_provider(client):
    SocialApp.objects.create(provider="openid_connect", provider_id="rogue", name="Rogue", client_id="x",
                             secret="y", settings={"server_url": "https://rogue.example"})

    assert "Rogue" not in client.get(reverse("account_login")).content.decode()
    assert client.post(reverse("openid_connect_login", kwargs={"provider_id": "rogue"})).status_code == 404


@pytest.mark.django_db
def test_configured_the_login_page_offers_the_button_as_a_post(client, configured, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        page = client.get(reverse("account_login"))

    html = page.content.decode()
    assert page.status_code == 200
    assert '<form method="post" action="/accounts/oidc/marketplace/login/?process=login"' in html
    assert "Sign in with Marketplace" in html


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "title", "button"), [
    ("en", "Sign in with Marketplace", "Continue"),
    ("ru", "Войти через Marketplace", "Продолжить"),
])
def test_the_get_of_the_button_address_asks_to_confirm_and_starts_nothing(configured, language, title, button,
                                                                          django_assert_max_num_queries):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)

    with django_assert_max_num_queries(1):
        page = client.get(reverse("openid_connect_login", kwargs={"provider_id": "marketplace"}))

    html = page.content.decode()
    assert page.status_code == 200
    assert f"<h1>{title}</h1>" in html and f">{button}</button>" in html
    assert "socialaccount_states" not in client.session  # no state until the POST


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "status", "en", "ru"), [
    ("socialaccount_login_error", 401, "Single sign-on failed", "Не удалось войти через маркетплейс"),
    ("socialaccount_login_cancelled", 200, "Sign-in cancelled", "Вход отменён"),
])
def test_the_error_and_cancelled_pages_in_both_languages(url, status, en, ru, django_assert_max_num_queries):
    for language, heading in (("en", en), ("ru", ru)):
        with django_assert_max_num_queries(1):
            page = Client(HTTP_ACCEPT_LANGUAGE=language).get(reverse(url))
        assert page.status_code == status
        assert f"<h1>{heading}</h1>" in page.content.decode()


# --- Connected accounts --------------------------------------------------------------------------

def link(user, uid="sub-1") -> SocialAccount:
    return SocialAccount.objects.create(user=user, provider="marketplace", uid=uid,
                                        extra_data={"userinfo": {"sub": uid, "name": "Anna M"}})


@pytest.mark.django_db
def test_connections_list_the_persons_own_accounts_in_flat_queries(client, configured, django_assert_max_num_queries):
    buyer, other = BuyerFactory(), BuyerFactory()
    link(buyer, "sub-1")
    link(other, "sub-other")
    client.force_login(buyer)

    with django_assert_max_num_queries(8) as one:
        page = client.get(reverse("socialaccount_connections"))
    link(buyer, "sub-2")
    link(buyer, "sub-3")
    with django_assert_max_num_queries(len(one)):
        more = client.get(reverse("socialaccount_connections"))

    assert page.status_code == more.status_code == 200
    html = more.content.decode()
    assert html.count('name="account"') == 3 and "sub-other" not in html
    assert "Connect your Marketplace account" in html


@pytest.mark.django_db
def test_an_account_without_a_password_keeps_its_only_way_in(client, configured):
    buyer = BuyerFactory()
    buyer.set_unusable_password()
    buyer.save()
    account = link(buyer)
    client.force_login(buyer)

    page = client.post(reverse("socialaccount_connections"), {"account": account.pk})

    assert page.status_code == 200
    assert "Your account has no password set up." in page.content.decode()
    assert SocialAccount.objects.filter(pk=account.pk).exists()


@pytest.mark.django_db
def test_an_account_with_a_password_may_disconnect(client, configured):
    buyer = BuyerFactory()
    account = link(buyer)
    client.force_login(buyer)
    reauthenticate(client)

    page = client.post(reverse("socialaccount_connections"), {"account": account.pk})

    assert page.status_code == 302 and page["Location"] == reverse("socialaccount_connections")
    assert not SocialAccount.objects.filter(pk=account.pk).exists()


@pytest.mark.django_db
def test_nobody_disconnects_another_persons_account(client, configured):
    account = link(BuyerFactory())
    client.force_login(BuyerFactory())

    page = client.post(reverse("socialaccount_connections"), {"account": account.pk})

    assert page.status_code == 200 and "Select a valid choice" in page.content.decode()
    assert SocialAccount.objects.filter(pk=account.pk).exists()


# --- The admin -----------------------------------------------------------------------------------

def test_provider_applications_and_tokens_are_not_in_the_admin():
    assert not admin.site.is_registered(SocialApp)
    assert not admin.site.is_registered(SocialToken)
    assert admin.site.is_registered(SocialAccount)


@pytest.mark.django_db
def test_staff_who_view_users_see_linked_accounts_read_only(client):
    account = link(BuyerFactory(username="anna"))
    agent = StaffFactory()
    agent.groups.add(Group.objects.get(name="Support agent"))
    client.force_login(agent)

    listing = client.get(reverse("admin:socialaccount_socialaccount_changelist"))
    detail = client.get(reverse("admin:socialaccount_socialaccount_change", args=[account.pk]))
    posted = client.post(reverse("admin:socialaccount_socialaccount_change", args=[account.pk]), {"uid": "hijack"})

    assert listing.status_code == 200 and "anna" in listing.content.decode()
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert posted.status_code == 403
    account.refresh_from_db()
    assert account.uid == "sub-1"


@pytest.mark.django_db
def test_sso_templates_render_in_russian(configured):
    with translation.override("ru"):
        page = Client(HTTP_ACCEPT_LANGUAGE="ru").get(reverse("socialaccount_login_cancelled"))
    assert "Вернуться ко входу" in page.content.decode()


# --- The settings module reads the environment ----------------------------------------------------

def settings_in_a_process(environment: dict) -> subprocess.CompletedProcess:
    script = ("import json; from django.conf import settings as s; "
              "print(json.dumps([s.SOCIALACCOUNT_PROVIDERS, s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']]))")
    return subprocess.run(  # nosec B603 - this interpreter, fixed arguments
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=settings_module_root(),
        env={"PATH": os.environ.get("PATH", ""), "ENV_FILE": "", "DJANGO_SETTINGS_MODULE": "returns_portal.settings.base",
             "VAR_DIR": tempfile.mkdtemp(prefix="sso-settings-"), **environment})


def settings_module_root() -> str:
    return str(Path(__file__).resolve().parent.parent.parent)


def test_the_settings_build_the_provider_and_the_csp_form_action_from_the_environment():
    done = settings_in_a_process(ENVIRONMENT)

    assert done.returncode == 0, done.stderr
    providers, form_action = json.loads(done.stdout)
    assert providers == sso_providers(ENVIRONMENT)
    assert form_action == ["'self'", "https://id.marketplace.example"]


def test_the_settings_without_sso_have_no_provider_and_form_action_self_only():
    done = settings_in_a_process({})

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{}, ["'self'"]]


def test_a_half_configuration_stops_the_start_up():
    done = settings_in_a_process({**ENVIRONMENT, "SSO_SERVER_URL": "http://id.marketplace.example"})

    assert done.returncode != 0
    assert "ImproperlyConfigured: SSO_SERVER_URL must be an https:// URL" in done.stderr


@pytest.mark.django_db
def test_the_profile_links_to_the_connected_accounts_only_when_single_sign_on_is_configured(client, settings):
    from accounts.tests.factories import BuyerFactory

    client.force_login(BuyerFactory())
    connections = reverse("socialaccount_connections")
    assert f'href="{connections}"' not in client.get(reverse("accounts:profile")).content.decode()
    settings.SOCIALACCOUNT_PROVIDERS = sso_providers(ENVIRONMENT)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert f'href="{connections}"' in page
    assert "Connected sign-in accounts" in page
