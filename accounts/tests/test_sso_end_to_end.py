"""Single sign-on end to end, over HTTP, against a real OpenID Connect provider: django-oidc-provider
in a process of its own (accounts.tests.oidc_provider) on a free local port, and the portal under
pytest-django's live server configured by accounts.sso_config from an environment-like mapping.

The portal's login page offers "Sign in with Marketplace"; its POST sends the browser to the
provider's authorize endpoint (with PKCE); the person logs in there and consents; the provider sends
them back to the portal's callback, and the portal exchanges the code at the provider's token
endpoint and reads the userinfo endpoint itself (nothing is mocked).
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.core import mail
from django.test import RequestFactory

from accounts.models import User
from accounts.sso_config import sso_providers
from accounts.tests.factories import BuyerFactory
from accounts.tests.oidc_provider.people import PASSWORD, PEOPLE
from accounts.tests.oidc_server import running_provider

CALLBACK = "/accounts/oidc/marketplace/login/callback/"
BUTTON = "Sign in with Marketplace"


class Forms(HTMLParser):
    """The forms of a page: action, method and the values of their inputs."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(),
                               "fields": {}})
        elif tag in ("input", "button") and self.forms and attrs.get("name"):
            if tag == "button" or attrs.get("type") != "submit":
                self.forms[-1]["fields"].setdefault(attrs["name"], attrs.get("value") or "")


def form_with(html: str, field: str) -> dict:
    found = [form for form in Forms(html).forms if field in form["fields"]]
    assert found, f"no form with {field!r} in {html[:500]}"
    return found[0]


@pytest.fixture(scope="module")
def provider(live_server):
    with running_provider(live_server.url + CALLBACK, require_consent=True) as running:
        yield running


@pytest.fixture
def portal(live_server, provider, settings):
    settings.SOCIALACCOUNT_PROVIDERS = sso_providers({
        "SSO_SERVER_URL": provider.issuer, "SSO_CLIENT_ID": provider.client_id,
        "SSO_CLIENT_SECRET": provider.client_secret, "SSO_NAME": "Marketplace",
        "SSO_SCOPES": "openid profile email marketplace", "SSO_COUNTRY_CLAIM": "country",
        "SSO_LANGUAGE_CLAIM": "locale"})
    return live_server.url


def start(session: requests.Session, portal: str) -> requests.Response:
    """The login page's button, pressed: the answer is the portal's redirect to the provider."""
    page = session.get(portal + "/accounts/login/")
    assert page.status_code == 200 and BUTTON in page.text
    action = re.search(r'<form method="post" action="(/accounts/oidc/marketplace/login/[^"]*)"', page.text).group(1)
    return session.post(portal + action, data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
                        allow_redirects=False)


def at_provider(session: requests.Session, authorize_url: str, username: str, consent: bool = True) -> str:
    """Logs in at the provider and consents (or declines); returns the provider's redirect back to the portal."""
    page = session.get(authorize_url)  # not logged in there: its login form
    form = form_with(page.text, "username")
    fields = {**form["fields"], "username": username, "password": PASSWORD}
    answer = session.post(urljoin(page.url, form["action"]), data=fields, allow_redirects=False)
    assert answer.status_code == 302, answer.text[:500]
    page = session.get(urljoin(page.url, answer.headers["Location"]), allow_redirects=False)
    if page.status_code == 200:  # the consent page
        form = form_with(page.text, "client_id")
        decision = {"allow": "Authorize"} if consent else {}
        page = session.post(urljoin(page.url, form["action"]), data={**form["fields"], **decision},
                            allow_redirects=False)
    assert page.status_code == 302, page.text[:500]
    return page.headers["Location"]


def sign_in(portal: str, username: str, session: requests.Session | None = None):
    session = session or requests.Session()
    redirect = start(session, portal)
    back = at_provider(session, redirect.headers["Location"], username)
    assert back.startswith(portal + CALLBACK)
    before = session.cookies.get("sessionid", domain=urlsplit(portal).hostname)
    answer = session.get(back, allow_redirects=False)
    return session, answer, before


def signed_in_user(session: requests.Session, portal: str) -> int:
    """The status of a buyer's page (My orders): 200 signed in as a buyer, 302 to the login page when not."""
    page = session.get(portal + "/orders/", allow_redirects=False)
    return page.status_code


pytestmark = pytest.mark.django_db(transaction=True)


def test_the_button_sends_the_browser_to_the_providers_authorize_endpoint_with_pkce(portal, provider):
    session = requests.Session()
    redirect = start(session, portal)

    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["Location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == provider.issuer + "/authorize"
    assert query["client_id"] == [provider.client_id]
    assert query["redirect_uri"] == [portal + CALLBACK]
    assert query["response_type"] == ["code"]
    assert set(query["scope"][0].split()) == {"openid", "profile", "email", "marketplace"}
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0]


def test_first_sign_in_creates_a_buyer_from_the_claims_and_the_second_reuses_it(portal, provider):
    person = PEOPLE["aigerim"]

    session, answer, anonymous_session = sign_in(portal, "aigerim")

    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert session.cookies["sessionid"] != anonymous_session  # the session was cycled at login
    assert signed_in_user(session, portal) == 200  # a buyer's page
    user = User.objects.get()
    assert (user.country, user.language, user.display_name) == ("KZ", "ru", person["name"])
    assert (user.email, user.store, user.is_staff, user.is_superuser) == (person["email"], None, False, False)
    assert user.is_buyer and not user.has_usable_password()
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == (person["email"], True, True)
    account = SocialAccount.objects.get(user=user)
    assert account.provider == "marketplace"
    assert account.extra_data["userinfo"]["country"] == "kz"  # the custom scope's claim, as given

    # The person changes country and language on their profile; the next sign-in keeps them.
    User.objects.filter(pk=user.pk).update(country="RU", language="en")
    again, answer, _before = sign_in(portal, "aigerim")

    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert signed_in_user(again, portal) == 200
    assert list(User.objects.values_list("pk", "country", "language")) == [(user.pk, "RU", "en")]
    assert SocialAccount.objects.count() == 1 and EmailAddress.objects.count() == 1


def test_values_the_portal_does_not_know_leave_country_and_language_empty(portal):
    session, answer, _before = sign_in(portal, "zed")

    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    user = User.objects.get()
    assert (user.country, user.language, user.display_name) == ("", "", "Zed Unknown")


def test_an_address_the_provider_has_not_verified_is_verified_by_the_portal_first(portal):
    person = PEOPLE["ulla"]

    session, answer, _before = sign_in(portal, "ulla")

    assert answer.status_code == 302 and answer.headers["Location"] == "/accounts/confirm-email/"
    assert signed_in_user(session, portal) == 302  # not logged in until the address is verified
    user = User.objects.get()
    assert (user.country, user.language, user.is_buyer) == ("DE", "en", True)
    assert list(EmailAddress.objects.values_list("email", "verified")) == [(person["email"], False)]
    assert [message.to for message in mail.outbox] == [[person["email"]]]


def test_an_address_of_an_account_here_takes_nothing_over(portal):
    owner = BuyerFactory(email="owner@example.com", country="UA", language="en")

    session, answer, _before = sign_in(portal, "taken")

    assert answer.status_code == 409
    assert "already uses owner@example.com" in answer.text and "Log in with your password" in answer.text
    assert signed_in_user(session, portal) == 302
    assert list(User.objects.values_list("pk", flat=True)) == [owner.pk]
    assert SocialAccount.objects.count() == 0
    assert list(EmailAddress.objects.values_list("user", flat=True)) == [owner.pk]


def test_a_locked_out_account_is_refused_at_the_callback_with_the_lockout_page(portal):
    first, answer, _before = sign_in(portal, "aigerim")
    assert answer.status_code == 302
    user = User.objects.get()
    # The account's password log-ins failed AXES_FAILURE_LIMIT times from this address (axes' own handler).
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="127.0.0.1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        AxesProxyHandler.user_login_failed(sender=None, credentials={"username": user.email}, request=request)

    session, answer, _before = sign_in(portal, "aigerim")

    assert answer.status_code == 429
    assert "Too many failed attempts to log in to this account" in answer.text
    assert int(answer.headers["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())
    assert signed_in_user(session, portal) == 302
    assert User.objects.count() == 1


def test_a_callback_with_a_forged_state_is_refused_and_creates_nothing(portal):
    session = requests.Session()
    redirect = start(session, portal)
    back = at_provider(session, redirect.headers["Location"], "aigerim")
    forged = re.sub(r"state=[^&]+", "state=forged-state", back)
    assert forged != back

    answer = session.get(forged, allow_redirects=False)

    assert answer.status_code == 401  # allauth's authentication error page
    assert "could not sign you in" in answer.text
    assert signed_in_user(session, portal) == 302
    assert User.objects.count() == 0 and SocialAccount.objects.count() == 0



def test_a_staff_account_never_signs_in_through_the_provider(portal):
    first, answer, _before = sign_in(portal, "aigerim")
    assert answer.status_code == 302
    User.objects.update(is_staff=True)  # made staff in the admin later

    session, answer, _before = sign_in(portal, "aigerim")

    assert answer.status_code == 403
    assert "sign in to the returns portal with their password only" in answer.text
    assert session.get(portal + "/admin/", allow_redirects=False).headers["Location"].startswith("/admin/login/")


def test_an_unverified_address_of_an_account_here_reveals_nothing_and_takes_nothing_over(portal):
    owner = BuyerFactory(email="owner@example.com", country="UA", language="en")

    session, answer, _before = sign_in(portal, "taken_unverified")

    # The same answer as for an address nobody here holds (test above): "check your e-mail".
    assert answer.status_code == 302 and answer.headers["Location"] == "/accounts/confirm-email/"
    assert signed_in_user(session, portal) == 302
    assert list(User.objects.values_list("pk", flat=True)) == [owner.pk]
    assert SocialAccount.objects.count() == 0
    assert [message.to for message in mail.outbox] == [["owner@example.com"]]  # the owner is told


def test_without_an_address_from_the_provider_the_sign_up_form_asks_for_one(portal):
    session, answer, _before = sign_in(portal, "nomail")

    assert answer.status_code == 302 and answer.headers["Location"] == "/accounts/3rdparty/signup/"
    page = session.get(portal + answer.headers["Location"])
    assert page.status_code == 200 and "You signed in with Marketplace" in page.text
    form = form_with(page.text, "email")
    posted = session.post(portal + form["action"], allow_redirects=False, data={
        **form["fields"], "email": "nomail@example.org", "username": "nomail",
        "csrfmiddlewaretoken": session.cookies["csrftoken"]})

    assert posted.status_code == 302 and posted.headers["Location"] == "/accounts/confirm-email/"
    user = User.objects.get()
    assert (user.username, user.email, user.country, user.language) == ("nomail", "nomail@example.org", "RU", "ru")
    assert (user.display_name, user.is_buyer, user.has_usable_password()) == ("Nomail Person", True, False)
    assert list(EmailAddress.objects.values_list("email", "verified")) == [("nomail@example.org", False)]
    assert SocialAccount.objects.get().user == user
    assert [message.to for message in mail.outbox] == [["nomail@example.org"]]


def test_declining_at_the_provider_cancels_and_creates_nothing(portal):
    session = requests.Session()
    redirect = start(session, portal)
    back = at_provider(session, redirect.headers["Location"], "aigerim", consent=False)
    assert "error=access_denied" in back

    answer = session.get(back)

    assert answer.status_code == 200 and answer.url == portal + "/accounts/3rdparty/login/cancelled/"
    assert "You cancelled signing in with your marketplace account" in answer.text
    assert signed_in_user(session, portal) == 302
    assert User.objects.count() == 0 and SocialAccount.objects.count() == 0
