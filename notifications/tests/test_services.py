"""Notifying people and marking notifications read, refusals and rollbacks included."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from kombu.exceptions import OperationalError

from accounts.tests.factories import BuyerFactory, SellerFactory
from notifications.models import Notification
from notifications.services import notifications_mark_read, notify
from notifications.tasks import send_notification_email, send_unsent_notification_emails
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
SUBJECT = "Return instructions for order T-000042"
BODY = "The seller sent return instructions.\nShip the goods by 20 March."


def rows() -> list[tuple[int, str, str, str]]:
    return list(Notification.objects.order_by("recipient_id").values_list("recipient_id", "subject", "body", "url"))


def unread_ids() -> set[int]:
    return set(Notification.objects.filter(read_at__isnull=True).values_list("pk", flat=True))


# --- notify --------------------------------------------------------------------------------


def test_notify_creates_one_row_per_distinct_active_recipient_and_emails_only_after_commit(
    django_capture_on_commit_callbacks, mailoutbox
):
    buyer, seller = BuyerFactory(), SellerFactory()
    inactive = BuyerFactory(is_active=False)
    without_email = BuyerFactory(email="")

    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = notify(
            recipients=[buyer, seller, buyer, inactive, without_email], subject=SUBJECT, body=BODY, url="/orders/42/"
        )
        assert mailoutbox == []  # nothing leaves before the transaction commits
        assert not Notification.objects.filter(emailed_at__isnull=False).exists()

    assert len(created) == 3
    assert all(n.pk is not None and n.created_at == T0 for n in created)
    assert rows() == sorted(
        (user.pk, SUBJECT, BODY, "/orders/42/") for user in (buyer, seller, without_email)
    )
    assert len(callbacks) == 2  # one per recipient with an e-mail address
    assert sorted(message.to[0] for message in mailoutbox) == sorted([buyer.email, seller.email])
    assert set(Notification.objects.filter(emailed_at=T0).values_list("recipient_id", flat=True)) == {
        buyer.pk,
        seller.pk,
    }
    assert Notification.objects.get(recipient=without_email).emailed_at is None
    assert unread_ids() == {n.pk for n in created}


def test_the_email_greets_the_recipient_and_links_to_the_site(django_capture_on_commit_callbacks, mailoutbox, settings):
    settings.SITE_URL = "https://returns.example.com/"
    buyer = BuyerFactory(first_name="Anna", last_name="Petrova")

    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[buyer], subject=SUBJECT, body=BODY, url="/orders/42/")

    (message,) = mailoutbox
    assert message.subject == SUBJECT
    assert message.to == [buyer.email]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.body.startswith("Hello Anna Petrova,\n\n")
    assert BODY in message.body
    assert "https://returns.example.com/orders/42/\n" in message.body
    assert "&" not in message.body.replace(BODY, "")  # plain text: nothing HTML-escaped


def test_the_email_of_a_notification_without_a_link_points_to_the_notifications_page(
    django_capture_on_commit_callbacks, mailoutbox
):
    buyer = BuyerFactory(first_name="", last_name="", username="anna")

    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[buyer], subject="Tom & Jerry's <parcel>", body="Body with <b>tags</b> & quotes \"x\"")

    (message,) = mailoutbox
    assert message.body.startswith("Hello anna,\n\n")
    assert "Body with <b>tags</b> & quotes \"x\"" in message.body
    assert "http://127.0.0.1:8000/notifications/\n" in message.body
    assert message.subject == "Tom & Jerry's <parcel>"


def test_nothing_is_stored_or_sent_when_the_transaction_rolls_back(django_capture_on_commit_callbacks, mailoutbox):
    buyer = BuyerFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(recipients=[buyer], subject=SUBJECT, body=BODY)
            raise RuntimeError("the dispute transition failed")

    assert callbacks == []
    assert mailoutbox == []
    assert Notification.objects.count() == 0


def test_notify_with_nobody_to_tell_creates_nothing(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert notify(recipients=[], subject=SUBJECT, body=BODY) == []
        assert notify(recipients=[BuyerFactory(is_active=False)], subject=SUBJECT, body=BODY) == []

    assert callbacks == []
    assert mailoutbox == []
    assert Notification.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    ["https://evil.example/orders/", "//evil.example/orders/", "/\\evil.example", "javascript:alert(1)", "orders/42/"],
)
def test_notify_refuses_a_link_that_is_not_site_relative(url, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValueError, match="site-relative"):
        notify(recipients=[BuyerFactory()], subject=SUBJECT, body=BODY, url=url)

    assert Notification.objects.count() == 0
    assert mailoutbox == []


def test_a_broker_outage_does_not_fail_notify_and_the_sweep_sends_the_email_later(
    django_capture_on_commit_callbacks, mailoutbox, monkeypatch, caplog
):
    def broker_down(*args, **kwargs):
        raise OperationalError("[Errno 111] Connection refused")

    buyer = BuyerFactory()
    monkeypatch.setattr(send_notification_email, "delay", broker_down)

    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True) as callbacks:
        (notification,) = notify(recipients=[buyer], subject=SUBJECT, body=BODY)

    assert len(callbacks) == 1
    assert mailoutbox == []
    notification.refresh_from_db()
    assert notification.emailed_at is None
    (record,) = [r for r in caplog.records if r.name == "notifications.services"]
    assert record.levelname == "ERROR"
    assert f"notification {notification.pk}" in record.getMessage()
    assert isinstance(record.exc_info[1], OperationalError)

    monkeypatch.undo()
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        assert send_unsent_notification_emails() == 1
        assert send_unsent_notification_emails() == 0

    assert [m.to for m in mailoutbox] == [[buyer.email]]
    notification.refresh_from_db()
    assert notification.emailed_at == T0 + timedelta(minutes=5)


def test_a_failing_mail_server_does_not_fail_notify_and_leaves_the_email_owed(
    django_capture_on_commit_callbacks, mailoutbox, settings, caplog
):
    settings.EMAIL_BACKEND = "notifications.tests.email_backends.FailingEmailBackend"

    with django_capture_on_commit_callbacks(execute=True):
        (notification,) = notify(recipients=[BuyerFactory()], subject=SUBJECT, body=BODY)

    notification.refresh_from_db()
    assert notification.emailed_at is None
    assert mailoutbox == []
    assert any(r.name == "notifications.services" and r.levelname == "ERROR" for r in caplog.records)


# --- notifications_mark_read ---------------------------------------------------------------


def test_mark_read_without_ids_marks_all_of_the_users_unread_and_nothing_else():
    buyer, other = BuyerFactory(), BuyerFactory()
    mine = NotificationFactory.create_batch(3, recipient=buyer)
    already_read = NotificationFactory(recipient=buyer, read_at=T0)
    theirs = NotificationFactory.create_batch(2, recipient=other)

    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        assert notifications_mark_read(user=buyer) == 3

    assert set(Notification.objects.filter(read_at=T0 + timedelta(days=1)).values_list("pk", flat=True)) == {
        n.pk for n in mine
    }
    already_read.refresh_from_db()
    assert already_read.read_at == T0  # not moved
    assert unread_ids() == {n.pk for n in theirs}


def test_mark_read_with_ids_marks_only_the_users_own_among_them():
    buyer, other = BuyerFactory(), BuyerFactory()
    first, second = NotificationFactory.create_batch(2, recipient=buyer)
    theirs = NotificationFactory(recipient=other)

    assert notifications_mark_read(user=buyer, notification_ids=[first.pk, theirs.pk, 987654]) == 1

    assert unread_ids() == {second.pk, theirs.pk}


def test_mark_read_with_no_ids_given_changes_nothing():
    buyer = BuyerFactory()
    notification = NotificationFactory(recipient=buyer)

    assert notifications_mark_read(user=buyer, notification_ids=[]) == 0

    assert unread_ids() == {notification.pk}


def test_a_long_or_multi_line_subject_is_folded_and_cut_to_fit(django_capture_on_commit_callbacks):
    buyer = BuyerFactory()

    with django_capture_on_commit_callbacks(execute=False):
        [notification] = notify(recipients=[buyer], subject="Line one\nline two " + "x" * 300, body="b")

    notification.refresh_from_db()
    assert len(notification.subject) == 200
    assert notification.subject.startswith("Line one line two x")
    assert notification.subject.endswith("…")
