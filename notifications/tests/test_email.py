"""E-mailing a notification: at most once, however often or concurrently the task runs."""
import smtplib
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from accounts.tests.factories import BuyerFactory
from notifications.models import Notification
from notifications.services import notification_email_send
from notifications.tasks import send_notification_email, send_notification_emails, send_unsent_notification_emails
from notifications.tests.factories import NotificationFactory
from returns_portal.celery import app as celery_app

T0 = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
FAILING_BACKEND = "notifications.tests.email_backends.FailingEmailBackend"


@pytest.mark.django_db
def test_the_task_run_twice_sends_one_email(mailoutbox):
    notification = NotificationFactory()

    with time_machine.travel(T0, tick=False):
        assert send_notification_email.delay(notification.pk).get() is True
        assert send_notification_email.delay(notification.pk).get() is False

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [notification.recipient.email]
    assert mailoutbox[0].subject == notification.subject
    notification.refresh_from_db()
    assert notification.emailed_at == T0


@pytest.mark.django_db
def test_the_task_for_a_missing_notification_sends_nothing(mailoutbox):
    assert send_notification_email.delay(987654).get() is False
    assert mailoutbox == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "recipient_kwargs", [{"email": ""}, {"is_active": False}], ids=["no-email-address", "inactive"]
)
def test_nothing_is_sent_or_claimed_for_a_recipient_who_cannot_get_email(mailoutbox, recipient_kwargs):
    notification = NotificationFactory(recipient=BuyerFactory(**recipient_kwargs))

    assert notification_email_send(notification_id=notification.pk) is False

    assert mailoutbox == []
    notification.refresh_from_db()
    assert notification.emailed_at is None


@pytest.mark.django_db
def test_a_failing_mail_server_releases_the_claim_and_raises_for_a_retry(settings, mailoutbox):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    notification = NotificationFactory()

    with pytest.raises(smtplib.SMTPServerDisconnected):
        notification_email_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.emailed_at is None
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_line_break_in_the_subject_does_not_break_the_mail_header(mailoutbox):
    notification = NotificationFactory(subject="Return instructions\r\nBcc: someone@evil.example")

    assert notification_email_send(notification_id=notification.pk) is True

    assert mailoutbox[0].subject == "Return instructions Bcc: someone@evil.example"
    assert mailoutbox[0].bcc == []


@pytest.mark.django_db
def test_the_batch_task_emails_each_notification_once_and_skips_who_cannot_get_email(mailoutbox):
    first, second = NotificationFactory.create_batch(2)
    no_address = NotificationFactory(recipient=BuyerFactory(email=""))
    inactive = NotificationFactory(recipient=BuyerFactory(is_active=False))
    batch = [first.pk, no_address.pk, 987654, inactive.pk, second.pk]

    with time_machine.travel(T0, tick=False):
        assert send_notification_emails.delay(batch).get() == 2
        assert send_notification_emails.delay(batch).get() == 0

    assert [m.to for m in mailoutbox] == [[first.recipient.email], [second.recipient.email]]
    assert dict(Notification.objects.values_list("pk", "emailed_at")) == {
        first.pk: T0, second.pk: T0, no_address.pk: None, inactive.pk: None
    }


@pytest.mark.django_db
def test_a_failure_in_the_batch_task_is_logged_per_email_and_leaves_them_owed(settings, mailoutbox, caplog):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    notifications = NotificationFactory.create_batch(2)

    assert send_notification_emails([n.pk for n in notifications]) == 0

    assert mailoutbox == []
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 2
    logged = [r for r in caplog.records if r.name == "notifications.services"]
    assert [r.getMessage() for r in logged] == [
        f"E-mail of notification {n.pk} failed; the resend sweep retries." for n in notifications
    ]
    assert all(isinstance(r.exc_info[1], smtplib.SMTPServerDisconnected) for r in logged)


def test_the_task_retries_with_backoff_and_acks_late():
    task = send_notification_email
    assert task.autoretry_for == (Exception,)
    assert task.max_retries == 5
    assert task.retry_backoff is True
    assert task.acks_late is True


def test_the_resend_sweep_runs_every_five_minutes_from_beat():
    (entry,) = [e for e in celery_app.conf.beat_schedule.values() if e["task"] == send_unsent_notification_emails.name]
    assert entry["task"] == "notifications.tasks.send_unsent_notification_emails"
    assert entry["schedule"].minute == set(range(0, 60, 5))
    assert entry["schedule"].hour == set(range(24))


# --- the resend sweep ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sweep_sends_each_owed_email_once_and_leaves_the_rest(mailoutbox):
    with time_machine.travel(T0, tick=False):
        owed = NotificationFactory(created_at=T0 - timedelta(minutes=2))
        owed_older = NotificationFactory(created_at=T0 - timedelta(days=1))
        fresh = NotificationFactory(created_at=T0 - timedelta(seconds=30))  # its own task is on the way
        sent = NotificationFactory(created_at=T0 - timedelta(minutes=9), emailed_at=T0 - timedelta(minutes=8))
        stale = NotificationFactory(created_at=T0 - timedelta(days=3))
        no_address = NotificationFactory(recipient=BuyerFactory(email=""), created_at=T0 - timedelta(minutes=2))
        inactive = NotificationFactory(recipient=BuyerFactory(is_active=False), created_at=T0 - timedelta(minutes=2))

        assert send_unsent_notification_emails.delay().get() == 2
        assert send_unsent_notification_emails.delay().get() == 0

    assert sorted(m.to[0] for m in mailoutbox) == sorted([owed.recipient.email, owed_older.recipient.email])
    assert set(Notification.objects.filter(emailed_at=T0).values_list("pk", flat=True)) == {owed.pk, owed_older.pk}
    assert Notification.objects.get(pk=sent.pk).emailed_at == T0 - timedelta(minutes=8)
    for untouched in (fresh, stale, no_address, inactive):
        assert Notification.objects.get(pk=untouched.pk).emailed_at is None


@pytest.mark.django_db
def test_a_failure_in_the_sweep_is_logged_and_the_email_stays_owed_for_the_next_sweep(settings, mailoutbox, caplog):
    with time_machine.travel(T0, tick=False):
        first, second = NotificationFactory.create_batch(2, created_at=T0 - timedelta(minutes=2))

        settings.EMAIL_BACKEND = FAILING_BACKEND
        assert send_unsent_notification_emails() == 0
        assert Notification.objects.filter(emailed_at__isnull=True).count() == 2
        assert len([r for r in caplog.records if r.name == "notifications.services"]) == 2

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert send_unsent_notification_emails() == 2

    assert sorted(m.to[0] for m in mailoutbox) == sorted([first.recipient.email, second.recipient.email])


# --- concurrency (PostgreSQL: SQLite serialises writers on the whole file) -----------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_sends_of_one_notification_send_one_email(mailoutbox):
    notification = NotificationFactory()
    workers = 4
    barrier = threading.Barrier(workers, timeout=10)
    outcomes: list = []

    def send() -> None:
        try:
            barrier.wait()
            outcomes.append(notification_email_send(notification_id=notification.pk))
        except Exception as error:  # surfaced by the assertion below
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert sorted(outcomes, key=str) == [False] * (workers - 1) + [True]
    assert len(mailoutbox) == 1
