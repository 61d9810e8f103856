"""Account rules found by review (issue 14): allauth's limits see the client behind the proxy;
addresses are kept lower-cased whatever was typed; an address someone only asked to change to
belongs to nobody; staff moving an account to another address take the old one away; refused
invitations count towards the limit."""
import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.test import Client, TestCase
from django.urls import reverse

from accounts.lockout import login_account_username
from accounts.selectors import address_taken
from accounts.services import user_email_set_by_staff
from accounts.tests.factories import BuyerFactory, SellerFactory
from accounts.tests.support import PASSWORD, reauthenticate
from accounts.tests.test_invitations import INVITE, account_form, accept_url, invite, signed_in

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")


@pytest.fixture
def clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_behind_the_proxy_failed_log_ins_of_one_client_do_not_refuse_another(client, settings, clean_cache):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "3/m/ip"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    anna = BuyerFactory(username="anna")
    guesser, honest = Client(), Client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}

    for _ in range(3):
        guesser.post(LOGIN, {"login": "boris", "password": "guess"}, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy)
    refused = guesser.post(LOGIN, {"login": "boris", "password": "guess"}, HTTP_X_FORWARDED_FOR="203.0.113.9",
                           **proxy)
    signed_in_response = honest.post(LOGIN, {"login": anna.username, "password": PASSWORD},
                                     HTTP_X_FORWARDED_FOR="198.51.100.20", **proxy)

    assert "Too many failed login attempts" in refused.content.decode()  # the guesser is held back
    assert signed_in_response.status_code == 302  # the next client behind the same proxy is not


def test_an_address_invited_in_capitals_logs_in_and_resets_in_any_case():
    seller = SellerFactory()
    _invitation, token = invite(seller, "Maria.Ivanova@Example.org")
    Client().post(accept_url(token), account_form())

    for typed in ("maria.ivanova@example.org", "Maria.Ivanova@Example.org"):
        assert Client().post(LOGIN, {"login": typed, "password": account_form()["password1"]}).status_code == 302
    assert list(EmailAddress.objects.filter(user__username="maria").values_list("email", "verified")) == [
        ("maria.ivanova@example.org", True)]
    reset = Client().post(reverse("account_reset_password"), {"email": "MARIA.IVANOVA@example.org"})
    assert reset.status_code == 302 and mail.outbox[-1].to == ["maria.ivanova@example.org"]


def test_an_address_only_asked_for_belongs_to_nobody_else(client):
    """Boris types Anna's address as his new one and never confirms it: it stays Anna's for the
    lockout, for invitations and for single sign-on."""
    anna = BuyerFactory(username="anna", email="anna@example.org")
    boris = BuyerFactory(username="boris", email="boris@example.org")
    client.force_login(boris)
    reauthenticate(client)
    client.post(reverse("account_email"), {"email": "anna@example.org", "action_add": ""})
    assert EmailAddress.objects.filter(user=boris, email="anna@example.org", verified=False).exists()

    assert login_account_username(None, {"email": "anna@example.org"}) == anna.username
    assert address_taken("anna@example.org") and address_taken("ANNA@example.org")
    anna.email = "anna.new@example.org"
    anna.save(update_fields=["email"])
    EmailAddress.objects.filter(user=anna).delete()
    assert not address_taken("anna@example.org")  # Boris's unconfirmed request holds nothing


def test_staff_moving_an_account_to_another_address_take_the_old_one_away():
    buyer = BuyerFactory(email="old@example.org")
    buyer.email = "New@Example.org"
    buyer.save(update_fields=["email"])

    user_email_set_by_staff(user=buyer)

    buyer.refresh_from_db()
    assert buyer.email == "new@example.org"
    assert list(EmailAddress.objects.filter(user=buyer).values_list("email", "verified", "primary")) == [
        ("new@example.org", True, True)]
    Client().post(reverse("account_reset_password"), {"email": "old@example.org"})
    assert not any("/accounts/password/reset/key/" in message.body for message in mail.outbox)


def test_refused_invitations_count_towards_the_limit(settings, clean_cache):
    settings.RATE_LIMIT_INVITATIONS = "2/day"
    seller = SellerFactory()
    BuyerFactory(email="taken1@example.org")
    BuyerFactory(email="taken2@example.org")
    browser = signed_in(seller)

    with TestCase.captureOnCommitCallbacks(execute=True):
        answers = [browser.post(INVITE, {"email": f"taken{n}@example.org"}).status_code for n in (1, 2)]
        third = browser.post(INVITE, {"email": "free@example.org"})

    assert answers == [422, 422]
    assert third.status_code == 429
    assert mail.outbox == []
