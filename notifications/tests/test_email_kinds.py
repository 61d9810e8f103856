"""Every message has a kind, and a notification's e-mail follows its recipient's choice for that
kind: none when it is off (money always goes out), the notification still under the bell, and the
row marked so that nothing sends it later."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.tests.factories import BuyerFactory
from notifications import messages
from notifications.kinds import CHOICE_FIELDS, Kind, wants_email
from notifications.messages import Message, kind_of
from notifications.models import Notification
from notifications.selectors import unread_count
from notifications.services import notification_email_send, notification_emails_resend
from notifications.tests.factories import NotificationFactory

T0 = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
ALL_OFF = {field: False for field in CHOICE_FIELDS.values()}
# A real message of each kind, with what its text needs.
KEYS = {
    Kind.REMINDER: ("disputes.reminder", {"dispute": 7, "title": "Watch", "deadline": "2026-03-11T09:00:00+00:00"}),
    Kind.MESSAGE: ("disputes.message", {"dispute": 7, "excerpt": "Hello"}),
    Kind.OUTCOME: ("disputes.opened.buyer", {"order": "T-1", "deadline": "2026-03-15T09:00:00+00:00"}),
    Kind.MONEY: ("disputes.refund_paid.buyer", {"dispute": 7, "amount": "100.00", "currency": "RUB", "title": "W"}),
}


def test_every_registered_message_has_one_of_the_notification_kinds():
    registered = messages.registered()
    assert len(registered) > 40
    no_kind = sorted(key for key, message in registered.items()
                     if message.kind not in {Kind.REMINDER, Kind.MESSAGE, Kind.OUTCOME, Kind.MONEY})
    assert no_kind == []


def test_a_message_without_a_kind_or_with_an_unknown_one_cannot_be_written():
    with pytest.raises(TypeError):
        Message("Subject", "Body")  # the kind is required
    with pytest.raises(ValueError, match="not a kind"):
        Message("Subject", "Body", "newsletter")


@pytest.mark.parametrize(("key", "kind"), [
    ("disputes.reminder", Kind.REMINDER),
    ("disputes.message", Kind.MESSAGE),
    ("disputes.message_file", Kind.MESSAGE),
    ("disputes.opened.seller", Kind.OUTCOME),  # its deadline has its own reminder
    ("disputes.rejected.buyer", Kind.OUTCOME),
    ("disputes.staff_rejected", Kind.OUTCOME),
    ("disputes.accepted.buyer", Kind.MONEY),
    ("disputes.inspected_accepted.buyer", Kind.MONEY),
    ("disputes.staff_refunded", Kind.MONEY),
    ("disputes.seller_timeout_refunded.seller", Kind.MONEY),
    ("disputes.refund_awaits_approval.staff", Kind.MONEY),
    ("disputes.refund_paid.buyer", Kind.MONEY),
    ("disputes.refund_paid.seller", Kind.MONEY),
    ("webhooks.endpoint_disabled", Kind.OUTCOME),
    ("notifications.text", Kind.OUTCOME),
    ("a.key.this.release.does.not.know", Kind.OUTCOME),
])
def test_the_kind_of_a_message(key, kind):
    assert kind_of(key) == kind


def test_money_is_wanted_whatever_the_choices_and_each_other_kind_follows_its_own_choice():
    everything_off = BuyerFactory.build(**ALL_OFF)
    assert wants_email(everything_off, Kind.MONEY) is True
    for kind, field in CHOICE_FIELDS.items():
        assert wants_email(everything_off, kind) is False
        only_this_on = BuyerFactory.build(**{**ALL_OFF, field: True})
        assert [k for k in CHOICE_FIELDS if wants_email(only_this_on, k)] == [kind]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [Kind.REMINDER, Kind.MESSAGE, Kind.OUTCOME])
def test_a_kind_turned_off_is_not_emailed_stays_under_the_bell_and_is_never_sent_later(mailoutbox, kind):
    recipient = BuyerFactory(**{CHOICE_FIELDS[kind]: False})
    key, params = KEYS[kind]
    with time_machine.travel(T0, tick=False):
        notification = NotificationFactory(recipient=recipient, key=key, params=params, created_at=T0)

        assert notification_email_send(notification_id=notification.pk) is False
        assert notification_email_send(notification_id=notification.pk) is False

    assert mailoutbox == []
    notification.refresh_from_db()
    assert (notification.emailed_at, notification.email_skipped_at, notification.read_at) == (None, T0, None)
    assert unread_count(recipient) == 1  # the bell still shows it

    # Turned back on later: the resend sweep does not pick the old notification up.
    recipient.__class__.objects.filter(pk=recipient.pk).update(**{CHOICE_FIELDS[kind]: True})
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        assert notification_emails_resend() == 0
        assert notification_email_send(notification_id=notification.pk) is False
    assert mailoutbox == []
    notification.refresh_from_db()
    assert (notification.emailed_at, notification.email_skipped_at) == (None, T0)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [Kind.REMINDER, Kind.MESSAGE, Kind.OUTCOME])
def test_a_kind_is_emailed_when_only_that_choice_is_on(mailoutbox, kind):
    recipient = BuyerFactory(**{**ALL_OFF, CHOICE_FIELDS[kind]: True})
    key, params = KEYS[kind]
    with time_machine.travel(T0, tick=False):
        notification = NotificationFactory(recipient=recipient, key=key, params=params)
        assert notification_email_send(notification_id=notification.pk) is True

    assert [m.to for m in mailoutbox] == [[recipient.email]]
    notification.refresh_from_db()
    assert (notification.emailed_at, notification.email_skipped_at) == (T0, None)


@pytest.mark.django_db
def test_money_is_emailed_with_every_choice_off_and_offers_no_unsubscribe(mailoutbox):
    recipient = BuyerFactory(**ALL_OFF)
    key, params = KEYS[Kind.MONEY]
    with time_machine.travel(T0, tick=False):
        notification = NotificationFactory(recipient=recipient, key=key, params=params)
        assert notification_email_send(notification_id=notification.pk) is True

    (email,) = mailoutbox
    assert email.to == [recipient.email]
    assert "List-Unsubscribe" not in email.extra_headers
    assert "List-Unsubscribe-Post" not in email.extra_headers
    notification.refresh_from_db()
    assert (notification.emailed_at, notification.email_skipped_at) == (T0, None)


@pytest.mark.django_db
def test_the_resend_sweep_sends_what_is_owed_and_marks_what_the_recipient_turned_off(mailoutbox):
    wants = BuyerFactory()
    does_not = BuyerFactory(email_messages=False)
    key, params = KEYS[Kind.MESSAGE]
    with time_machine.travel(T0, tick=False):
        owed = NotificationFactory(recipient=wants, key=key, params=params, created_at=T0 - timedelta(minutes=3))
        muted = NotificationFactory(recipient=does_not, key=key, params=params, created_at=T0 - timedelta(minutes=3))

        assert notification_emails_resend() == 1
        assert notification_emails_resend() == 0

    assert [m.to for m in mailoutbox] == [[wants.email]]
    assert dict(Notification.objects.values_list("pk", "email_skipped_at")) == {owed.pk: None, muted.pk: T0}
