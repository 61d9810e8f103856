"""Accounts over HTTP (django-allauth, issue 14), as a newcomer goes through them: sign up,
confirm the address from the e-mail, log out and back in by e-mail address or username, and
open a dispute; an unverified account is sent to verify; a password reset link works once; a
password change; an e-mail change that takes effect only once the new address is confirmed,
with a signed link that expires; the session key is cycled at login; a sign-up starts in the
country and language the visitor was browsing in and is never a store member or staff."""
import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import BuyerFactory, UserFactory
from accounts.tests.support import reauthenticate
from catalog.tests.factories import StoreFactory, WarehouseFactory
from disputes.models import Dispute
from disputes.tests.factories import disputable_line

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")
LOGOUT = reverse("account_logout")
SIGNUP = reverse("account_signup")
VERIFICATION_SENT = reverse("account_email_verification_sent")
RESET = reverse("account_reset_password")
RESET_DONE = reverse("account_reset_password_done")
RESET_FROM_KEY_DONE = reverse("account_reset_password_from_key_done")
CHANGE_PASSWORD = reverse("account_change_password")
EMAIL = reverse("account_email")
PASSWORD = "secret-pass-123"  # the factories' password
NEW_PASSWORD = "violet-harbour-2209"
LINK = re.compile(r"http://testserver(/accounts/[^\s\"<]+)")


def signed_in_as(client) -> int | None:
    value = client.session.get(SESSION_KEY)
    return int(value) if value else None


def link_in(message) -> str:
    """The account link of an e-mail: the same in its text and its HTML part."""
    text_links = LINK.findall(message.body)
    html_links = LINK.findall(message.alternatives[0][0])
    assert len(set(text_links)) == 1, message.body
    assert set(html_links) == set(text_links)
    return text_links[0]


def sign_up(client, *, username="newbuyer", email="newbuyer@example.org", password=NEW_PASSWORD, **extra):
    return client.post(SIGNUP, {"username": username, "email": email, "password1": password,
                                "password2": password, **extra})


def log_in(client, login, password=NEW_PASSWORD):
    return client.post(LOGIN, {"login": login, "password": password})


def test_sign_up_verify_log_out_log_in_both_ways_and_open_a_dispute(client):
    signed_up = sign_up(client)

    assert signed_up.status_code == 302
    assert signed_up["Location"] == VERIFICATION_SENT
    user = User.objects.get(username="newbuyer")
    assert EmailAddress.objects.filter(user=user, email="newbuyer@example.org", verified=False).exists()
    assert signed_in_as(client) is None  # mandatory verification: not in before the link is opened
    page = client.get(signed_up["Location"])
    assert page.status_code == 200
    assert "We have sent you an e-mail with a link." in page.content.decode()
    assert len(mail.outbox) == 1
    confirm_url = link_in(mail.outbox[0])
    assert mail.outbox[0].to == ["newbuyer@example.org"]

    # A GET of the link (a mail scanner's too) confirms nothing: the page has a button.
    confirm_page = client.get(confirm_url)
    assert confirm_page.status_code == 200
    assert "Confirm that newbuyer@example.org is your e-mail address" in confirm_page.content.decode()
    assert not EmailAddress.objects.get(user=user).verified
    confirmed = client.post(confirm_url)

    assert confirmed.status_code == 302
    assert EmailAddress.objects.filter(user=user, verified=True, primary=True).count() == 1
    assert signed_in_as(client) == user.pk  # logged in by the confirmation, in the browser that signed up
    assert client.post(LOGOUT).status_code == 302
    assert signed_in_as(client) is None

    by_email = log_in(client, "NewBuyer@Example.org")
    assert (by_email.status_code, signed_in_as(client)) == (302, user.pk)
    client.post(LOGOUT)
    by_username = log_in(client, "newbuyer")
    assert (by_username.status_code, signed_in_as(client)) == (302, user.pk)

    # The new buyer's delivered order: a dispute through the real form.
    store = StoreFactory()
    line = disputable_line(buyer=user, store=store, warehouse_country=None)
    WarehouseFactory(store=store, country="RU", city="Podolsk")
    opened = client.post(reverse("disputes:dispute_open", args=[line.pk]), {
        "kind": "return", "route": "local", "amount": str(line.line_total), "reason": "not_as_expected",
        "description": "The colour is not what the photo showed."})

    dispute = Dispute.objects.get()
    assert opened.status_code == 302
    assert opened["Location"] == reverse("disputes:dispute_detail", args=[dispute.pk])
    assert (dispute.buyer, dispute.order_line, dispute.route) == (user, line, "local")
    assert client.get(opened["Location"]).status_code == 200


def test_an_unverified_account_cannot_log_in_and_gets_a_new_link(client):
    user = UserFactory(username="slowbuyer", email="slow@example.org", email_verified=False)

    response = client.post(LOGIN, {"login": "slowbuyer", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == VERIFICATION_SENT
    assert signed_in_as(client) is None
    assert [m.to for m in mail.outbox] == [["slow@example.org"]]
    assert EmailAddress.objects.filter(user=user, verified=False).count() == 1
    # The new link works: confirming it lets the account in.
    client.post(link_in(mail.outbox[0]))
    assert EmailAddress.objects.get(user=user).verified is True
    client.post(LOGOUT)
    assert log_in(client, "slow@example.org", PASSWORD).status_code == 302
    assert signed_in_as(client) == user.pk


def test_the_verification_page_of_an_unknown_link_says_so_and_confirms_nothing(client):
    sign_up(client)
    bad = reverse("account_confirm_email", args=["not-a-real-key"])

    shown, posted = client.get(bad), client.post(bad)

    for response in (shown, posted):
        assert response.status_code == 404
        assert "The confirmation link has expired, has already been used, or is not complete." in (
            response.content.decode())
    assert not EmailAddress.objects.filter(verified=True).exists()


def request_reset(client, email) -> str:
    response = client.post(RESET, {"email": email})
    assert response.status_code == 302
    assert response["Location"] == RESET_DONE
    return link_in(mail.outbox[-1])


def test_a_password_reset_link_works_once(client):
    buyer = BuyerFactory(username="forgetful", email="forgetful@example.org")

    link = request_reset(client, "forgetful@example.org")
    assert mail.outbox[-1].subject == "Choose a new password"
    shown = client.get(link, follow=True)  # allauth moves the key from the address into the session
    assert shown.status_code == 200
    assert 'name="password1"' in shown.content.decode()
    changed = client.post(shown.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert changed.status_code == 302
    assert changed["Location"] == RESET_FROM_KEY_DONE
    assert mail.outbox[-1].subject == "Your password was reset"

    again = Client().get(link, follow=True)
    content = again.content.decode()
    assert again.status_code == 200
    assert "The password reset link has already been used, has expired, or is not complete." in content
    assert 'name="password1"' not in content
    refused = Client().post(again.redirect_chain[-1][0] if again.redirect_chain else link,
                            {"password1": "another-pass-7781", "password2": "another-pass-7781"})
    assert refused.status_code == 200
    buyer.refresh_from_db()
    assert buyer.check_password(NEW_PASSWORD)

    old = Client()
    assert log_in(old, "forgetful", PASSWORD).status_code == 200
    assert signed_in_as(old) is None
    new = Client()
    assert log_in(new, "forgetful", NEW_PASSWORD).status_code == 302
    assert signed_in_as(new) == buyer.pk


def test_a_reset_for_an_unknown_address_tells_that_address_and_changes_nothing(client):
    BuyerFactory(email="someone@example.org")

    request_reset(client, "nobody@example.org")

    assert mail.outbox[-1].to == ["nobody@example.org"]
    assert mail.outbox[-1].subject == "No account has this address"
    assert len(mail.outbox) == 1


def test_a_password_change_needs_the_old_password_and_sends_a_notice(client):
    buyer = BuyerFactory(username="changer")
    client.force_login(buyer)

    wrong = client.post(CHANGE_PASSWORD, {"oldpassword": "not-it", "password1": NEW_PASSWORD,
                                          "password2": NEW_PASSWORD})
    right = client.post(CHANGE_PASSWORD, {"oldpassword": PASSWORD, "password1": NEW_PASSWORD,
                                          "password2": NEW_PASSWORD})

    assert wrong.status_code == 200
    assert "Please type your current password." in wrong.content.decode()
    assert right.status_code == 302
    buyer.refresh_from_db()
    assert buyer.check_password(NEW_PASSWORD)
    assert signed_in_as(client) == buyer.pk  # still logged in here
    assert [(m.subject, m.to) for m in mail.outbox] == [("Your password was changed", [buyer.email])]


def test_an_email_change_takes_effect_only_when_the_new_address_is_confirmed(client):
    buyer = BuyerFactory(username="mover", email="old@example.org")
    client.force_login(buyer)
    reauthenticate(client)

    added = client.post(EMAIL, {"email": "new@example.org", "action_add": ""})

    assert added.status_code == 302
    page = client.get(EMAIL).content.decode()
    assert "Current address:" in page and "old@example.org" in page
    assert "We have sent a link to new@example.org." in page
    buyer.refresh_from_db()
    assert buyer.email == "old@example.org"  # the old address stays until the new one is confirmed
    assert EmailAddress.objects.get(user=buyer, primary=True).email == "old@example.org"
    assert [m.to for m in mail.outbox] == [["new@example.org"]]

    client.post(link_in(mail.outbox[0]))

    buyer.refresh_from_db()
    assert buyer.email == "new@example.org"
    assert list(EmailAddress.objects.filter(user=buyer).values_list("email", "verified", "primary")) == [
        ("new@example.org", True, True)]
    notice = mail.outbox[-1]
    assert (notice.subject, notice.to) == ("Your e-mail address was changed", ["old@example.org"])
    assert "changed from old@example.org to new@example.org" in notice.body


def test_the_email_change_link_is_signed_and_expires(client, time_machine):
    time_machine.move_to("2026-11-30 10:00:00+03:00", tick=False)
    buyer = BuyerFactory(email="old@example.org")
    client.force_login(buyer)
    reauthenticate(client)
    client.post(EMAIL, {"email": "new@example.org", "action_add": ""})
    link = link_in(mail.outbox[0])
    key = link.rstrip("/").rsplit("/", 1)[-1]
    forged = link.replace(key, key[:-2] + ("aa" if not key.endswith("aa") else "bb"))

    assert "This link does not work" in client.get(forged).content.decode()
    time_machine.shift(timedelta(days=settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS, minutes=1))
    expired = client.get(link)
    client.post(link)

    assert expired.status_code == 404
    assert "The confirmation link has expired, has already been used, or is not complete." in expired.content.decode()
    buyer.refresh_from_db()
    assert buyer.email == "old@example.org"
    assert not EmailAddress.objects.filter(email="new@example.org", verified=True).exists()


def test_the_session_key_is_cycled_at_login(client):
    BuyerFactory(username="cycled")
    client.post(reverse("catalog:country_set"), {"country": "KZ"})  # an anonymous session
    before = client.cookies[settings.SESSION_COOKIE_NAME].value

    assert log_in(client, "cycled", PASSWORD).status_code == 302

    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert before and after and before != after


def test_sign_up_starts_in_the_visitors_country_and_language_and_is_only_a_buyer(client):
    store = StoreFactory()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    client.post(reverse("catalog:country_set"), {"country": "KZ"})

    # Fields a sign-up form does not have are ignored, whatever is posted.
    sign_up(client, is_staff="on", is_superuser="on", store=str(store.pk), country="CN", language="en")

    user = User.objects.get(username="newbuyer")
    assert (user.country, user.language) == ("KZ", "ru")
    assert (user.store, user.is_staff, user.is_superuser) == (None, False, False)
    assert user.groups.count() == 0 and user.user_permissions.count() == 0
    assert mail.outbox[0].subject == "Подтвердите адрес электронной почты"


def test_an_email_change_asks_for_the_password_again_first_and_sends_nothing_before(client):
    """A session whose log-in is not recent (left open, or stolen) cannot move the account to
    another address, from which the password could then be reset."""
    buyer = BuyerFactory(username="mover", email="old@example.org")
    client.force_login(buyer)

    asked = client.post(EMAIL, {"email": "new@example.org", "action_add": ""})

    assert asked.status_code == 302 and asked["Location"].startswith(reverse("account_reauthenticate"))
    assert mail.outbox == []
    assert list(EmailAddress.objects.filter(user=buyer).values_list("email", flat=True)) == ["old@example.org"]
    wrong = client.post(reverse("account_reauthenticate"), {"password": "not-the-password"})
    assert wrong.status_code == 200 and mail.outbox == []
    reauthenticate(client)
    assert client.post(EMAIL, {"email": "new@example.org", "action_add": ""}).status_code == 302
    assert [m.to for m in mail.outbox] == [["new@example.org"]]
