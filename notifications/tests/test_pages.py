"""The bell and the notifications page through HTTP: only one's own, query budgets, admin."""
import copy
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from notifications.kinds import Kind
from notifications.messages import TEXT, Message
from notifications.models import Notification
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:list")
MARK_READ = reverse("notifications:mark_read")
CATALOG = reverse("catalog:product_list")
T0 = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
PROCESSOR = "notifications.context_processors.unread_notifications"


@pytest.fixture
def buyer(client):
    buyer = BuyerFactory()
    client.force_login(buyer)
    return buyer


def notifications_of(user, count: int, **fields) -> list[Notification]:
    return Notification.objects.bulk_create(
        Notification(
            recipient=user,
            key=TEXT,
            params={"subject": f"Update {i}", "body": "Body"},
            url=f"/orders/{i}/",
            created_at=T0 + timedelta(minutes=i),
            **fields,
        )
        for i in range(count)
    )


def pks_on_page(response) -> list[int]:
    return [n.pk for n in response.context["page"].object_list]


def read_state() -> dict[int, datetime | None]:
    return dict(Notification.objects.values_list("pk", "read_at"))


def notification_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "notifications_notification" in q["sql"]]


# --- access --------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client):
    notification = NotificationFactory()

    assert client.get(LIST).url == f"{reverse('account_login')}?next={LIST}"
    response = client.post(MARK_READ, {"id": notification.pk})

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    notification.refresh_from_db()
    assert notification.read_at is None


def test_the_list_shows_only_the_users_own_notifications_newest_first(client, buyer):
    mine = notifications_of(buyer, 3)
    other = BuyerFactory()
    Notification.objects.create(
        recipient=other, key=TEXT, params={"subject": "Someone else's refund", "body": "Secret"}, url="/orders/999/"
    )

    response = client.get(LIST)

    assert response.status_code == 200
    assert pks_on_page(response) == [n.pk for n in reversed(mine)]
    html = response.content.decode()
    assert "Someone else&#x27;s refund" not in html and "Someone else's refund" not in html
    assert "/orders/999/" not in html
    for notification in mine:
        assert f'<a href="{notification.url}">{notification.subject}</a>' in html


def test_the_list_highlights_unread_ones(client, buyer):
    notifications_of(buyer, 2)
    notifications_of(buyer, 3, read_at=T0)

    html = client.get(LIST).content.decode()

    assert html.count('class="notification notification--unread"') == 2
    assert html.count('class="notification"') == 3
    assert html.count('name="id"') == 2  # "Mark as read" only on unread ones
    assert "Mark all as read" in html


def test_an_empty_list_says_so(client, buyer):
    html = client.get(LIST).content.decode()

    assert "You have no notifications yet." in html
    assert "Mark all as read" not in html


def test_the_list_pages_by_thirty(client, buyer):
    notifications = notifications_of(buyer, 31)

    first = client.get(LIST)
    second = client.get(LIST, {"page": "2"})

    assert len(pks_on_page(first)) == 30
    assert pks_on_page(second) == [notifications[0].pk]
    assert "Page 1 of 2" in first.content.decode()
    assert pks_on_page(client.get(LIST, {"page": "garbage"})) == pks_on_page(first)


def test_the_list_renders_each_message_from_its_key_and_params(client, buyer, register_messages):
    register_messages({"notifications_tests.refund": Message(
        "Refund for %(order)s", "%(amount)s, %(note)s", Kind.OUTCOME)})
    tricky = "50% <b>off</b> %(amount)s %s"
    Notification.objects.create(
        recipient=buyer, key="notifications_tests.refund", url="/orders/42/", created_at=T0,
        params={"order": tricky, "amount": "1500", "currency": "RUB", "note": tricky},
    )

    response = client.get(LIST)

    assert response.status_code == 200
    html = response.content.decode()
    escaped = "50% &lt;b&gt;off&lt;/b&gt; %(amount)s %s"
    assert f'<a href="/orders/42/">Refund for {escaped}</a>' in html
    assert f"1,500.00\u00a0₽, {escaped}" in html


def test_a_notification_whose_key_nobody_registered_shows_the_key_and_does_not_fail_the_list(client, buyer):
    unknown = Notification.objects.create(
        recipient=buyer, key="disputes.gone_in_this_release", params={"order": "T-1"}, url="/orders/1/", created_at=T0
    )
    (known,) = notifications_of(buyer, 1)

    response = client.get(LIST)

    assert response.status_code == 200
    assert pks_on_page(response) == [known.pk, unknown.pk]
    html = response.content.decode()
    assert '<a href="/orders/1/">disputes.gone_in_this_release</a>' in html
    assert f'<a href="{known.url}">Update 0</a>' in html


# --- marking read --------------------------------------------------------------------------


def test_mark_all_read_touches_only_the_users_own_and_returns_to_the_list(client, buyer):
    mine = notifications_of(buyer, 3)
    theirs = notifications_of(BuyerFactory(), 2)

    response = client.post(MARK_READ)

    assert (response.status_code, response.url) == (302, LIST)
    state = read_state()
    assert all(state[n.pk] is not None for n in mine)
    assert all(state[n.pk] is None for n in theirs)


def test_mark_one_read_by_id(client, buyer):
    first, second = notifications_of(buyer, 2)

    response = client.post(MARK_READ, {"id": str(first.pk), "next": LIST + "?page=1"})

    assert (response.status_code, response.url) == (302, LIST + "?page=1")
    state = read_state()
    assert state[first.pk] is not None and state[second.pk] is None


def test_another_users_notification_cannot_be_marked_read(client, buyer):
    mine = NotificationFactory(recipient=buyer)
    theirs = NotificationFactory(recipient=SellerFactory())

    response = client.post(MARK_READ, {"id": theirs.pk})

    assert (response.status_code, response.url) == (302, LIST)
    assert read_state() == {mine.pk: None, theirs.pk: None}


@pytest.mark.parametrize(
    "garbage",
    ["", "abc", "-1", "0", "1.5", "1e3", "0x10", "1 OR 1=1", "99999999999999999999999", "9223372036854775808", "٣"],
)
def test_garbage_ids_change_nothing_and_never_fail(client, buyer, garbage):
    notification = NotificationFactory(recipient=buyer)

    response = client.post(MARK_READ, {"id": garbage})

    assert (response.status_code, response.url) == (302, LIST)
    assert read_state() == {notification.pk: None}


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "http://testserver.evil/"],
)
def test_an_unsafe_next_goes_back_to_the_list(client, buyer, next_url):
    response = client.post(MARK_READ, {"next": next_url})

    assert (response.status_code, response.url) == (302, LIST)


def test_mark_read_only_accepts_post(client, buyer):
    notification = NotificationFactory(recipient=buyer)

    assert client.get(MARK_READ).status_code == 405
    assert read_state() == {notification.pk: None}


# --- the bell ------------------------------------------------------------------------------


def test_the_bell_shows_the_users_unread_count_in_the_header(client, buyer):
    notifications_of(buyer, 3)
    notifications_of(buyer, 1, read_at=T0)
    notifications_of(BuyerFactory(), 5)

    html = client.get(CATALOG).content.decode()

    header = html[html.index('<header class="topbar">') : html.index("</header>")]
    assert f'<a class="bell" href="{LIST}" aria-label="Notifications, 3 unread"' in header
    assert '<span class="bell__count" aria-hidden="true">3</span>' in header


def test_the_bell_has_no_count_when_everything_is_read(client, buyer):
    notifications_of(buyer, 2, read_at=T0)

    html = client.get(CATALOG).content.decode()

    assert f'<a class="bell" href="{LIST}" aria-label="Notifications"' in html
    assert "bell__count" not in html


@pytest.mark.parametrize("unread, label, badge", [(1, "Notifications, 1 unread", "1"), (120, "Notifications, 120 unread", "99+")])
def test_the_bell_label_and_badge(client, buyer, unread, label, badge):
    notifications_of(buyer, unread)

    html = client.get(CATALOG).content.decode()

    assert f'aria-label="{label}"' in html
    assert f'<span class="bell__count" aria-hidden="true">{badge}</span>' in html


def test_marking_read_clears_the_bell(client, buyer):
    notifications_of(buyer, 2)

    response = client.post(MARK_READ, follow=True)

    assert response.context["unread_notifications_count"] == 0
    assert "bell__count" not in response.content.decode()


def test_anonymous_visitors_get_no_bell_and_no_notification_query(client):
    notifications_of(BuyerFactory(), 2)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(CATALOG)

    assert response.context["unread_notifications_count"] == 0
    assert 'class="bell"' not in response.content.decode()
    assert notification_queries(queries) == []


# --- query budgets -------------------------------------------------------------------------


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_list_page_costs_the_same_queries_with_5_and_200_notifications(client, buyer):
    notifications_of(buyer, 5)
    with_five = count_queries(client, LIST)

    notifications_of(buyer, 195)
    with_two_hundred = count_queries(client, LIST)

    assert with_five == with_two_hundred
    # session, user, unread count (bell), page count, page rows
    assert with_two_hundred == 5


def test_the_bell_adds_exactly_one_query_to_the_catalog_page(client, buyer, settings):
    notifications_of(buyer, 3)
    with CaptureQueriesContext(connection) as with_bell:
        assert client.get(CATALOG).status_code == 200

    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["context_processors"].remove(PROCESSOR)
    settings.TEMPLATES = templates
    with CaptureQueriesContext(connection) as without_bell:
        assert client.get(CATALOG).status_code == 200

    assert len(with_bell) == len(without_bell) + 1
    (count_sql,) = notification_queries(with_bell)
    assert re.match(r'SELECT COUNT\(\*\)', count_sql)


# --- admin ---------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def test_admin_lists_filters_searches_and_shows_notifications_read_only(staff_client):
    notification = NotificationFactory(subject="Return instructions sent")
    NotificationFactory(read_at=T0, emailed_at=T0)
    changelist = reverse("admin:notifications_notification_changelist")

    assert staff_client.get(changelist).status_code == 200
    found = staff_client.get(changelist, {"q": notification.recipient.username})
    assert list(found.context["cl"].result_list) == [notification]
    assert list(staff_client.get(changelist, {"read": "no"}).context["cl"].result_list) == [notification]
    assert list(staff_client.get(changelist, {"emailed": "no"}).context["cl"].result_list) == [notification]
    assert staff_client.get(changelist, {"read": "yes"}).context["cl"].result_count == 1

    change = reverse("admin:notifications_notification_change", args=[notification.pk])
    shown = staff_client.get(change)
    assert shown.status_code == 200
    html = shown.content.decode()
    for readonly in ("Return instructions sent", "The seller has sent return instructions.", TEXT):
        assert f'<div class="readonly">{readonly}</div>' in html
    assert "&quot;subject&quot;: &quot;Return instructions sent&quot;" in html  # the params, read-only
    assert not any(f'name="{field}"' in html for field in ("subject", "body", "key", "params", "url"))
    assert staff_client.post(change, {"subject": "Edited"}).status_code == 403
    assert staff_client.get(reverse("admin:notifications_notification_add")).status_code == 403
    notification.refresh_from_db()
    assert notification.subject == "Return instructions sent"


def test_admin_shows_rendered_messages_and_searches_by_key(staff_client, register_messages):
    register_messages({"notifications_tests.paid": Message("Refund of %(amount)s paid", "", Kind.OUTCOME)})
    text = NotificationFactory(subject="Return instructions sent")
    paid = NotificationFactory(key="notifications_tests.paid", params={"amount": "1500", "currency": "RUB"})
    unknown = NotificationFactory(key="disputes.gone_in_this_release", params={})
    changelist = reverse("admin:notifications_notification_changelist")

    listed = staff_client.get(changelist)

    assert listed.status_code == 200
    html = listed.content.decode()
    for subject in ("Return instructions sent", "Refund of 1,500.00\u00a0₽ paid", "disputes.gone_in_this_release"):
        assert subject in html
    assert list(staff_client.get(changelist, {"q": "notifications_tests.paid"}).context["cl"].result_list) == [paid]
    assert list(staff_client.get(changelist, {"q": TEXT}).context["cl"].result_list) == [text]
    assert list(staff_client.get(changelist, {"q": "Refund of"}).context["cl"].result_list) == []  # words aren't stored
    change = reverse("admin:notifications_notification_change", args=[unknown.pk])
    assert staff_client.get(change).status_code == 200


def test_the_admins_pages_have_no_bell_and_no_notification_query(client):
    staff = StaffFactory(permissions=["disputes.view_dispute"])
    notifications_of(staff, 2)
    client.force_login(staff)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:disputes_dispute_changelist"))

    assert response.status_code == 200
    assert "unread_notifications_count" not in response.context
    assert 'class="bell"' not in response.content.decode()
    assert notification_queries(queries) == []
