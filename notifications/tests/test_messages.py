"""What a notification says: rendered from its key and parameters when it is read."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation
from django.utils.translation import ngettext_lazy

from accounts.tests.factories import BuyerFactory
from notifications.kinds import Kind
from notifications.messages import TEXT, Message, is_registered, render
from notifications.models import Notification
from notifications.tests.factories import NotificationFactory

REFUND = "notifications_tests.refund_paid"
REFUND_MESSAGE = Message("Refund for order %(order)s", "%(amount)s will reach you by %(deadline)s. Note: %(note)s",
                         Kind.MONEY)


@pytest.fixture
def refund_message(register_messages):
    register_messages({REFUND: REFUND_MESSAGE})
    return REFUND


def test_a_registered_message_is_rendered_with_its_params(refund_message, settings):
    settings.TIME_ZONE = "Europe/Moscow"
    params = {"order": "T-000042", "amount": "5990.00", "currency": "RUB",
              "deadline": "2025-03-20T09:00:00+00:00", "note": "thanks"}

    with translation.override("en"):
        assert render(refund_message, params) == (
            "Refund for order T-000042",
            "5,990.00\u00a0₽ will reach you by 20 Mar 2025, 12:00. Note: thanks",  # Moscow time
        )


def test_percent_signs_and_placeholders_inside_a_param_come_out_as_they_are(refund_message):
    tricky = "50% off %(amount)s %s %% %(missing)d"

    subject, body = render(refund_message, {"order": tricky, "note": tricky})

    assert subject == f"Refund for order {tricky}"
    assert body.endswith(f"Note: {tricky}")


def test_a_placeholder_without_a_param_reads_as_empty(refund_message):
    assert render(refund_message, {"order": "T-1"}) == ("Refund for order T-1", " will reach you by . Note: ")


def test_a_param_its_formatter_cannot_read_is_shown_as_it_is(refund_message):
    _subject, body = render(refund_message, {"amount": "about five", "deadline": "next week", "note": ""})

    assert body == "about five will reach you by next week. Note: "


def test_formatters_render_params_by_name(register_messages, settings):
    settings.TIME_ZONE = "Europe/Moscow"
    register_messages(
        {"notifications_tests.carrier": Message("%(carrier)s", "%(ship_by)s / %(offer)s", Kind.OUTCOME)},
        {"carrier": lambda value, params: value.upper()},
    )

    with translation.override("en"):
        assert render(
            "notifications_tests.carrier",
            {"carrier": "dhl", "ship_by": "2025-03-20T21:30:00+00:00", "offer": "12.5", "currency": "USD"},
        ) == ("DHL", "21 Mar 2025, 00:30 / 12.50\u00a0$")


def test_an_unknown_key_renders_as_the_key_and_never_fails():
    assert not is_registered("disputes.gone_in_this_release")
    assert render("disputes.gone_in_this_release", {"order": "T-1"}) == ("disputes.gone_in_this_release", "")

    notification = Notification(recipient=BuyerFactory.build(), key="disputes.gone_in_this_release", params={})
    assert (notification.subject, notification.body) == ("disputes.gone_in_this_release", "")
    assert str(notification) == "disputes.gone_in_this_release"


def test_a_key_cannot_be_registered_twice_with_other_words(register_messages):
    register_messages({REFUND: REFUND_MESSAGE})
    register_messages({REFUND: Message(REFUND_MESSAGE.subject, REFUND_MESSAGE.body, Kind.MONEY)})  # the same words again: fine

    with pytest.raises(ValueError, match="registered twice"):
        register_messages({REFUND: Message("Something else", "", Kind.OUTCOME)})
    assert render(REFUND, {"order": "T-1"})[0] == "Refund for order T-1"


@pytest.mark.parametrize("count, subject", [(1, "1 dispute escalated"), (3, "3 disputes escalated")])
def test_a_plural_message_takes_the_form_its_count_asks_for(register_messages, count, subject):
    register_messages({"notifications_tests.escalated": Message(
        ngettext_lazy("%(count)d dispute escalated", "%(count)d disputes escalated", "count"), "", Kind.OUTCOME)})

    with translation.override("en"):
        assert render("notifications_tests.escalated", {"count": count}) == (subject, "")


@pytest.mark.parametrize("language, subject, expected", [
    ("en", "%(count)d disputes", "0 disputes"),
    ("ru", ngettext_lazy("%(count)d dispute", "%(count)d disputes", "count"), "0 споров"),
], ids=["number-placeholder", "plural-in-russian"])
def test_a_number_placeholder_without_its_param_does_not_fail(register_messages, language, subject, expected):
    register_messages({"notifications_tests.counted": Message(subject, "", Kind.OUTCOME)})

    with translation.override(language):
        rendered, _body = render("notifications_tests.counted", {})

    assert rendered == expected  # the missing count reads as zero, never a crash


@pytest.mark.django_db
def test_a_stored_notification_reads_its_message(refund_message):
    stored = NotificationFactory(key=refund_message, params={"order": "T-000042", "note": "100% %(order)s"})

    notification = Notification.objects.get(pk=stored.pk)

    assert notification.subject == "Refund for order T-000042"
    assert notification.body.endswith("Note: 100% %(order)s")


@pytest.mark.django_db
def test_a_text_written_out_in_full_reads_as_it_was_stored():
    stored = NotificationFactory(subject="Refund of 100% for %(order)s", body="Line one\nLine two %s")

    notification = Notification.objects.get(pk=stored.pk)

    assert (notification.key, notification.params) == (
        TEXT, {"subject": "Refund of 100% for %(order)s", "body": "Line one\nLine two %s"})
    assert (notification.subject, notification.body) == ("Refund of 100% for %(order)s", "Line one\nLine two %s")


# --- the migration that gave notifications keys (SQLite or PostgreSQL, whichever the suite uses) ---


BEFORE, AFTER = [("notifications", "0001_initial")], [("notifications", "0002_message_keys")]
LATEST = "latest"  # every migration of the app: the model's tables and columns, as the tests' database has them


def migrate(targets):
    """Notifications at ``targets``; every other app at its latest migration, as in the database."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    if targets == LATEST:
        targets = executor.loader.graph.leaf_nodes("notifications")
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "notifications"]
    executor.migrate(targets)
    return executor.loader.project_state([*others, *targets]).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_old_notifications_text_and_rolling_back_restores_it():
    old_apps = migrate(BEFORE)
    try:
        buyer = old_apps.get_model("accounts", "User").objects.create(username="anna", email="anna@example.com")
        OldNotification = old_apps.get_model("notifications", "Notification")
        kept = OldNotification.objects.create(
            recipient=buyer, subject="Return instructions for order T-000042",
            body="Ship the goods by 20 March.\nRMA 100% %(rma)s", url="/orders/42/")
        empty_body = OldNotification.objects.create(recipient=buyer, subject="Refund paid", body="")

        migrate(AFTER)
        migrate(LATEST)

        assert dict(Notification.objects.values_list("pk", "key")) == {kept.pk: TEXT, empty_body.pk: TEXT}
        notification = Notification.objects.get(pk=kept.pk)
        assert notification.params == {"subject": "Return instructions for order T-000042",
                                       "body": "Ship the goods by 20 March.\nRMA 100% %(rma)s"}
        assert (notification.subject, notification.body, notification.url) == (
            "Return instructions for order T-000042", "Ship the goods by 20 March.\nRMA 100% %(rma)s", "/orders/42/")
        short = Notification.objects.get(pk=empty_body.pk)
        assert (short.key, short.subject, short.body) == (TEXT, "Refund paid", "")

        old_apps = migrate(BEFORE)
        restored = old_apps.get_model("notifications", "Notification").objects.order_by("pk")
        assert list(restored.values_list("subject", "body")) == [
            ("Return instructions for order T-000042", "Ship the goods by 20 March.\nRMA 100% %(rma)s"),
            ("Refund paid", ""),
        ]
    finally:
        migrate(LATEST)
