"""The account e-mails allauth sends, through the portal's sender: a subject, a text part
complete on its own (the link in it) and an HTML part in the e-mail layout with one button to
the same link, in the reader's language (English and Russian), no external image or font."""
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import BuyerFactory
from accounts.tests.support import reauthenticate

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/accounts/[^\s\"<]+)")
PASSWORD = "secret-pass-123"
NEW_PASSWORD = "violet-harbour-2209"

WORDS = {
    "en": {
        "confirm_subject": "Confirm your e-mail address",
        "confirm_button": "Confirm my address",
        "signup_text": "was created on the returns portal with this e-mail address. Confirm the address to log in.",
        "days": "The link works for 3 days.",
        "change_text": "Confirm that new@example.org is the e-mail address of your account",
        "reset_subject": "Choose a new password",
        "reset_button": "Choose a new password",
        "reset_text": "Choose a new password with the link below; it works once.",
        "changed_subject": "Your password was changed",
        "changed_text": "The password of your account on the returns portal was changed.",
        "notice_button": "Reset my password",
        "hello": "Hello Anna Petrova,",
    },
    "ru": {
        "confirm_subject": "Подтвердите адрес электронной почты",
        "confirm_button": "Подтвердить адрес",
        "signup_text": "создана на портале возвратов с этим адресом электронной почты. Подтвердите адрес, чтобы войти.",
        "days": "Ссылка действует 3 дня.",
        "change_text": "Подтвердите, что new@example.org — адрес электронной почты вашей учётной записи",
        "reset_subject": "Выберите новый пароль",
        "reset_button": "Выберите новый пароль",
        "reset_text": "Выберите новый пароль по ссылке ниже; она действует один раз.",
        "changed_subject": "Ваш пароль изменён",
        "changed_text": "Пароль вашей учётной записи на портале возвратов изменён.",
        "notice_button": "Сбросить пароль",
        "hello": "Здравствуйте, Anna Petrova!",
    },
}


def parts(message) -> tuple[str, str]:
    assert len(message.alternatives) == 1
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    return message.body, html


def assert_one_link_and_button(message, label: str, language: str) -> str:
    text, html = parts(message)
    links = set(LINK.findall(text))
    assert len(links) == 1, text
    link = links.pop()
    assert f'<html lang="{language}">' in html
    assert f'>{label}</a>' in html
    assert f'href="http://testserver{link}"' in html
    assert "<img" not in html and "@import" not in html and "<link" not in html  # nothing loaded from anywhere
    assert "<" not in text  # the text part is text
    return link


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_sign_up_verification_email(client, language):
    client.cookies["django_language"] = language
    client.post(reverse("account_signup"), {"username": "newbuyer", "email": "newbuyer@example.org",
                                            "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    words = WORDS[language]

    [message] = mail.outbox
    text, html = parts(message)
    assert message.subject == words["confirm_subject"]
    assert words["signup_text"] in text and words["signup_text"] in html
    assert words["days"] in text and words["days"] in html
    link = assert_one_link_and_button(message, words["confirm_button"], language)
    assert link.startswith("/accounts/confirm-email/")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_password_reset_email_in_the_accounts_language(client, language):
    BuyerFactory(username="anna", email="anna@example.org", first_name="Anna", last_name="Petrova",
                 language=language)
    Client().post(reverse("account_reset_password"), {"email": "anna@example.org"})  # whatever the page's language
    words = WORDS[language]

    [message] = mail.outbox
    text, html = parts(message)
    assert message.subject == words["reset_subject"]
    assert text.startswith(words["hello"])
    assert words["reset_text"] in text and words["reset_text"] in html
    assert "anna" in text
    link = assert_one_link_and_button(message, words["reset_button"], language)
    assert link.startswith("/accounts/password/reset/key/")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_email_change_verification_email(client, language):
    buyer = BuyerFactory(email="old@example.org", language=language)
    client.force_login(buyer)
    reauthenticate(client)
    client.post(reverse("account_email"), {"email": "new@example.org", "action_add": ""})
    words = WORDS[language]

    [message] = mail.outbox
    text, html = parts(message)
    assert message.to == ["new@example.org"]
    assert message.subject == words["confirm_subject"]
    assert words["change_text"] in text and words["change_text"] in html
    assert_one_link_and_button(message, words["confirm_button"], language)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_password_changed_notice(client, language):
    buyer = BuyerFactory(username="anna", first_name="Anna", last_name="Petrova", language=language)
    client.force_login(buyer)
    client.post(reverse("account_change_password"), {"oldpassword": PASSWORD, "password1": NEW_PASSWORD,
                                                     "password2": NEW_PASSWORD},
                HTTP_USER_AGENT="Firefox/140.0", REMOTE_ADDR="198.51.100.7")
    words = WORDS[language]

    [message] = mail.outbox
    text, html = parts(message)
    assert message.subject == words["changed_subject"]
    assert text.startswith(words["hello"])
    assert words["changed_text"] in text and words["changed_text"] in html
    for detail in ("198.51.100.7", "Firefox/140.0"):
        assert detail in text and detail in html
    link = assert_one_link_and_button(message, words["notice_button"], language)
    assert link == reverse("account_reset_password")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_single_sign_on_disconnected_notice(rf, language):
    """Sent by allauth when a person disconnects the marketplace's account (accounts.sso)."""
    from types import SimpleNamespace

    from allauth.account.adapter import get_adapter
    from allauth.core import context

    buyer = BuyerFactory(first_name="Anna", last_name="Petrova", language=language)
    request = rf.post("/accounts/3rdparty/", HTTP_USER_AGENT="Firefox/140.0", REMOTE_ADDR="198.51.100.7")
    with context.request_context(request):
        get_adapter(request).send_notification_mail("socialaccount/email/account_disconnected", buyer,
                                                    {"provider": SimpleNamespace(name="Marketplace ID")})

    [message] = mail.outbox
    text, html = parts(message)
    subject, sentence = {
        "en": ("An account was disconnected",
               "Your Marketplace ID account no longer signs in to your account on the returns portal."),
        "ru": ("Учётная запись отключена",
               "Ваша учётная запись Marketplace ID больше не используется для входа в вашу учётную запись на портале возвратов."),
    }[language]
    assert (message.subject, message.to) == (subject, [buyer.email])
    assert sentence in text and sentence in html
    assert text.startswith(WORDS[language]["hello"])
    assert_one_link_and_button(message, WORDS[language]["notice_button"], language)
