"""Notifying people and marking notifications read, refusals and rollbacks included."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from kombu.exceptions import OperationalError

from accounts.tests.factories import BuyerFactory, SellerFactory
from notifications.kinds import Kind
from notifications.messages import TEXT, Message
from notifications.models import Notification
from notifications.services import EMAIL_CHUNK, Draft, notifications_mark_read, notify, notify_many
from notifications.tasks import send_notification_emails, send_unsent_notification_emails
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
SUBJECT = "Return instructions for order T-000042"
BODY = "The seller sent return instructions.\nShip the goods by 20 March."
TEXT_PARAMS = {"subject": SUBJECT, "body": BODY}
SHIPPED = "notifications_tests.shipped"


def rows() -> list[tuple[int, str, str, str]]:
    return [(n.recipient_id, n.subject, n.body, n.url) for n in Notification.objects.order_by("recipient_id")]


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
            recipients=[buyer, seller, buyer, inactive, without_email], key=TEXT, params=TEXT_PARAMS, url="/orders/42/"
        )
        assert mailoutbox == []  # nothing leaves before the transaction commits
        assert not Notification.objects.filter(emailed_at__isnull=False).exists()

    assert len(created) == 3
    assert all(n.pk is not None and n.created_at == T0 for n in created)
    assert rows() == sorted(
        (user.pk, SUBJECT, BODY, "/orders/42/") for user in (buyer, seller, without_email)
    )
    assert len(callbacks) == 1  # one batch of e-mails; the task skips the recipient without an address
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
        notify(recipients=[buyer], key=TEXT, params=TEXT_PARAMS, url="/orders/42/")

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
        notify(recipients=[buyer], key=TEXT,
               params={"subject": "Tom & Jerry's <parcel>", "body": "Body with <b>tags</b> & quotes \"x\""})

    (message,) = mailoutbox
    assert message.body.startswith("Hello anna,\n\n")
    assert "Body with <b>tags</b> & quotes \"x\"" in message.body
    assert "http://127.0.0.1:8000/notifications/\n" in message.body
    assert message.subject == "Tom & Jerry's <parcel>"


def test_nothing_is_stored_or_sent_when_the_transaction_rolls_back(django_capture_on_commit_callbacks, mailoutbox):
    buyer = BuyerFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(recipients=[buyer], key=TEXT, params=TEXT_PARAMS)
            raise RuntimeError("the dispute transition failed")

    assert callbacks == []
    assert mailoutbox == []
    assert Notification.objects.count() == 0


def test_notify_with_nobody_to_tell_creates_nothing(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert notify(recipients=[], key=TEXT, params=TEXT_PARAMS) == []
        assert notify(recipients=[BuyerFactory(is_active=False)], key=TEXT, params=TEXT_PARAMS) == []
        assert notify_many([]) == []

    assert callbacks == []
    assert mailoutbox == []
    assert Notification.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    ["https://evil.example/orders/", "//evil.example/orders/", "/\\evil.example", "javascript:alert(1)", "orders/42/"],
)
def test_notify_refuses_a_link_that_is_not_site_relative(url, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValueError, match="site-relative"):
        notify(recipients=[BuyerFactory()], key=TEXT, params=TEXT_PARAMS, url=url)

    assert Notification.objects.count() == 0
    assert mailoutbox == []


def test_a_broker_outage_does_not_fail_notify_and_the_sweep_sends_the_email_later(
    django_capture_on_commit_callbacks, mailoutbox, monkeypatch, caplog
):
    def broker_down(*args, **kwargs):
        raise OperationalError("[Errno 111] Connection refused")

    buyer = BuyerFactory()
    monkeypatch.setattr(send_notification_emails, "delay", broker_down)

    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True) as callbacks:
        (notification,) = notify(recipients=[buyer], key=TEXT, params=TEXT_PARAMS)

    assert len(callbacks) == 1
    assert mailoutbox == []
    notification.refresh_from_db()
    assert notification.emailed_at is None
    (record,) = [r for r in caplog.records if r.name == "returns_portal.jobs"]
    assert record.levelname == "ERROR"
    assert "notifications.tasks.send_notification_emails" in record.getMessage()
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
        (notification,) = notify(recipients=[BuyerFactory()], key=TEXT, params=TEXT_PARAMS)

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


def test_a_long_or_multi_line_subject_is_kept_whole_and_folded_and_cut_only_in_the_email(
    django_capture_on_commit_callbacks, mailoutbox
):
    buyer = BuyerFactory()
    subject = "Line one\nline two " + "x" * 300

    with django_capture_on_commit_callbacks(execute=True):
        [notification] = notify(recipients=[buyer], key=TEXT, params={"subject": subject, "body": "b"})

    notification = Notification.objects.get(pk=notification.pk)
    assert notification.subject == subject  # nothing is cut in storage
    (message,) = mailoutbox
    assert len(message.subject) == 200
    assert message.subject.startswith("Line one line two x")
    assert message.subject.endswith("…")


# --- message keys and notify_many ----------------------------------------------------------


@pytest.fixture
def shipped(register_messages):
    register_messages({SHIPPED: Message(
        "Order %(order)s was shipped", "Refund of %(amount)s by %(deadline)s.", Kind.OUTCOME)})
    return SHIPPED


def test_notify_stores_the_key_and_params_and_the_words_are_rendered_when_read(
    shipped, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.TIME_ZONE = "Europe/Moscow"
    buyer = BuyerFactory()
    params = {"order": "T-000042 (50% %(amount)s)", "amount": "1500", "currency": "RUB",
              "deadline": "2025-03-20T09:00:00+00:00"}

    with django_capture_on_commit_callbacks(execute=True):
        (created,) = notify(recipients=[buyer], key=shipped, params=params, url="/orders/42/")

    assert Notification.objects.values_list("key", "params").get() == (shipped, params)
    notification = Notification.objects.get(pk=created.pk)
    assert notification.subject == "Order T-000042 (50% %(amount)s) was shipped"
    assert notification.body == "Refund of 1,500.00\u00a0₽ by 20 Mar 2025, 12:00."
    (message,) = mailoutbox
    assert message.subject == notification.subject
    assert notification.body in message.body


def test_notify_many_creates_the_drafts_in_one_insert(shipped, django_assert_num_queries):
    buyer, seller = BuyerFactory(), SellerFactory()
    drafts = [Draft(user.pk, shipped, {"order": f"T-{i}"}) for i in range(50) for user in (buyer, seller)]

    with django_assert_num_queries(1) as queries:
        created = notify_many(drafts)

    assert queries.captured_queries[0]["sql"].startswith('INSERT INTO "notifications_notification"')
    assert sorted(n.pk for n in created) == sorted(Notification.objects.values_list("pk", flat=True))
    assert len(created) == 100


def test_notify_many_queues_the_emails_in_chunks_after_commit(
    shipped, django_capture_on_commit_callbacks, monkeypatch
):
    buyer, seller = BuyerFactory(), SellerFactory(email="")
    queued: list[list[int]] = []
    monkeypatch.setattr(send_notification_emails, "delay", lambda ids: queued.append(ids))
    drafts = [Draft(buyer.pk, shipped, {"order": f"T-{i}"}, f"/orders/{i}/") for i in range(EMAIL_CHUNK * 2)]
    drafts.append(Draft(seller.pk, TEXT, TEXT_PARAMS))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = notify_many(drafts)
        assert queued == []  # nothing before commit

    assert len(created) == EMAIL_CHUNK * 2 + 1
    assert [(n.recipient_id, n.key, n.params, n.url) for n in created] == [
        (d.recipient_id, d.key, d.params, d.url) for d in drafts
    ]
    assert Notification.objects.count() == len(drafts)
    assert len(callbacks) == 3
    assert [len(chunk) for chunk in queued] == [EMAIL_CHUNK, EMAIL_CHUNK, 1]
    assert [pk for chunk in queued for pk in chunk] == [n.pk for n in created]  # the address-less one included
    assert created[-1].subject == SUBJECT and created[0].subject == "Order T-0 was shipped"


@pytest.mark.parametrize("refused", ["unregistered-key", "external-url"])
def test_notify_many_refuses_an_unregistered_key_or_an_external_link_and_creates_nothing(
    shipped, refused, django_capture_on_commit_callbacks, mailoutbox
):
    buyer = BuyerFactory()
    bad = (Draft(buyer.pk, "notifications_tests.never_registered", {"order": "T-1"}) if refused == "unregistered-key"
           else Draft(buyer.pk, shipped, {"order": "T-1"}, "https://evil.example/"))
    drafts = [Draft(buyer.pk, shipped, {"order": "T-0"}), bad, Draft(buyer.pk, TEXT, TEXT_PARAMS)]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValueError, match="is registered as|site-relative"):
            notify_many(drafts)

    assert callbacks == []
    assert mailoutbox == []
    assert Notification.objects.count() == 0


def test_notify_refuses_an_unregistered_key(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValueError, match="notifications_tests.never_registered"):
            notify(recipients=[BuyerFactory()], key="notifications_tests.never_registered", params={})

    assert callbacks == []
    assert mailoutbox == []
    assert Notification.objects.count() == 0
