"""What each kind of e-mail says, in English and in Russian: a text part complete on its own, an
HTML part on the one layout with the dispute summary and one button, the one-click unsubscribe
headers, and nothing loaded from anywhere but the portal's own links."""
import html
import re

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone, translation

from disputes.models import Dispute
from disputes.presentation import next_step
from notifications.kinds import Kind
from notifications.services import notification_email_send
from notifications.models import Notification
from notifications.tests.email_samples import BUILDERS
from notifications.unsubscribe import unsubscribe_read
from returns_portal.formatting import local_datetime
from returns_portal.labels import choice_label
from returns_portal.mail import one_line
from returns_portal.money import format_money

KINDS = {"reminder": Kind.REMINDER, "message": Kind.MESSAGE, "outcome": Kind.OUTCOME, "money": Kind.MONEY,
         "digest": Kind.DIGEST, "webhook": Kind.OUTCOME}
# Words of the layout and the summary each language must show (from the catalog, not from English).
WORDS = {
    "en": {"hello": "Hello %s,", "next": "Next step", "item": "Item", "button": "Open the dispute",
           "always": "E-mails about refunds are always sent", "stop": "Stop e-mails of this kind"},
    "ru": {"hello": "Здравствуйте, %s!", "next": "Следующий шаг", "item": "Товар",
           "button": "Открыть спор", "always": "Письма о возвратах денег приходят всегда",
           "stop": "Не присылать письма этого вида"},
}
LINK = re.compile(r"""(?:\bsrc|\bhref|\bbackground|\baction)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^"')]*)""", re.I)


def visible(html_part: str) -> str:
    """The words a reader sees in the HTML: no tags, entities decoded, spaces collapsed."""
    body = html_part.split("<body", 1)[1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).replace("\u00a0", " ").split())


def parts(email) -> tuple[str, str]:
    (html_part, mimetype), = email.alternatives
    assert mimetype == "text/html"
    return email.body, html_part


def assert_own_links_only(html_part: str) -> list[str]:
    links = [a or b for a, b in LINK.findall(html_part)]
    site = settings.SITE_URL.rstrip("/") + "/"
    assert [link for link in links if not html.unescape(link).startswith(site)] == []
    assert "@import" not in html_part and "<link" not in html_part and "<img" not in html_part
    assert "<script" not in html_part
    return [html.unescape(link) for link in links]


def assert_unsubscribe(email, recipient, kind) -> str:
    header = email.extra_headers["List-Unsubscribe"]
    assert header.startswith(f"<{settings.SITE_URL}/notifications/unsubscribe/") and header.endswith("/>")
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = header[1:-1]
    token = url.rstrip("/").rsplit("/", 1)[1]
    found = unsubscribe_read(token)
    assert (found.user_id, found.kind) == (recipient.pk, kind)
    return url


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("name", ["reminder", "message", "outcome", "money"])
def test_a_dispute_email_has_the_summary_the_next_step_and_one_button_in_the_readers_language(name, language):
    built = BUILDERS[name](language)
    email, recipient, dispute = built.email, built.recipient, built.dispute
    text, html_part = parts(email)
    words = WORDS[language]
    notification = Notification.objects.get(recipient=recipient)
    page = f"{settings.SITE_URL}{dispute.get_absolute_url()}"

    with translation.override(language):
        subject = notification.subject
        body = notification.body
        step = next_step(Dispute.objects.get(pk=dispute.pk), recipient)
        summary = [dispute.order_line.title, dispute.order_line.order.number, dispute.kind_label,
                   format_money(dispute.amount, dispute.currency), choice_label(Dispute.State, dispute.state),
                   step.text]
        deadline = local_datetime(step.deadline) if step.deadline else None

    assert email.to == [recipient.email]
    assert email.subject == one_line(subject)
    for part in (text, html.unescape(html_part)):
        assert words["hello"] % recipient.get_full_name() in part
        assert body in part if "\n" not in body else True
        for value in summary:
            assert value in part, (name, language, value)
        assert words["next"] in part and words["item"] in part
        assert (deadline in part) if deadline else True
        assert words["button"] in part
    assert page in text
    # The HTML's one button (and its spelled-out address) goes to the dispute page.
    links = assert_own_links_only(html_part)
    assert links.count(page + ("#messages" if name == "message" else "")) == 2
    assert f'<html lang="{language}">' in html_part

    if name == "money":
        assert "List-Unsubscribe" not in email.extra_headers
        assert words["always"] in text and words["always"] in html.unescape(html_part)
    else:
        url = assert_unsubscribe(email, recipient, KINDS[name])
        assert url in text and url in links
        assert words["stop"] in text


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_reminder_says_the_deadline_for_the_seller_who_must_act(language):
    built = BUILDERS["reminder"](language)
    text, _html = parts(built.email)
    expected = {"en": "Send return instructions", "ru": "Отправьте инструкции по возврату"}[language]
    assert expected in text
    assert {"en": "23 hours left", "ru": "Осталось 23 часа"}[language] in text


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_webhook_email_has_a_summary_of_the_endpoint_and_a_button_to_its_page(language):
    built = BUILDERS["webhook"](language)
    text, html_part = parts(built.email)
    assert "https://erp.nordic-time.example/hooks/returns" in text
    assert "https://erp.nordic-time.example/hooks/returns" in html_part  # as text, not as a link
    links = assert_own_links_only(html_part)
    assert links.count(f"{settings.SITE_URL}/seller/webhooks/1/") == 2
    assert {"en": "Open the webhook endpoint", "ru": "Открыть точку приёма вебхуков"}[language] in text
    assert_unsubscribe(built.email, built.recipient, Kind.OUTCOME)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_digest_lists_what_waits_what_opened_and_what_closed(language):
    built = BUILDERS["digest"](language)
    text, html_part = parts(built.email)
    words = {
        "en": ["Hello Lars Holm,", "Your week on the returns portal: Nordic Time", "2 disputes wait for your store.",
               "Waiting for your store (2)", "Opened in the past week (1)", "Closed in the past week (1)",
               "Open the seller desk", "12,990.00", "Silk scarf", "Leather watch strap", "Refunded", "due by"],
        "ru": ["Здравствуйте, Lars Holm!", "Ваша неделя на портале возвратов: Nordic Time",
               "2 спора ждут ответа вашего магазина.", "Ждут вашего магазина (2)", "Открыты за неделю (1)",
               "Закрыты за неделю (1)", "Открыть кабинет продавца", "12 990,00", "Silk scarf", "Leather watch strap",
               "Деньги возвращены", "срок: до"],
    }[language]
    for word in words:
        assert word in text.replace("\u00a0", " "), word
    for word in words[:-1]:
        assert word in visible(html_part), word
    links = assert_own_links_only(html_part)
    assert links.count(f"{settings.SITE_URL}/seller/") == 2
    assert_unsubscribe(built.email, built.recipient, Kind.DIGEST)


@pytest.mark.django_db
def test_the_sent_email_is_the_built_one(mailoutbox, time_machine):
    # One moment for both: the deadline's "N days left" is worked out when an e-mail is made.
    time_machine.move_to(timezone.now(), tick=False)
    built = BUILDERS["message"]("ru")
    notification = Notification.objects.get(recipient=built.recipient)
    assert notification_email_send(notification_id=notification.pk) is True
    (sent,) = mail.outbox
    assert (sent.subject, sent.body, sent.alternatives[0][0]) == (
        built.email.subject, built.email.body, built.email.alternatives[0][0])
