"""The dispute page of a long dispute: one page of the timeline and one of the messages, the
latest first (oldest first within a page, as a conversation reads), older ones a link away;
the other list keeps its page; a bad page number is the nearest page there is; forms posted
from an older page come back to it with their errors; the same queries at 3 and at 1,000."""
import re

import pytest
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.tests.factories import StoreFactory, WarehouseFactory
from disputes.models import Dispute, DisputeEvent, DisputeMessage
from disputes.selectors import page_number
from disputes.tests.factories import DisputeFactory, disputable_line
from disputes.tests.test_pages import DETAIL_BUDGET, SELLER_DETAIL_BUDGET, add_thread, add_timeline, query_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    store = StoreFactory(name="Golden Dragon Trading")
    WarehouseFactory(store=store, country="RU", city="Podolsk")
    return store


@pytest.fixture
def seller(store):
    return SellerFactory(store=store)


@pytest.fixture
def buyer():
    return BuyerFactory(country="RU")


@pytest.fixture
def dispute(buyer, store):
    line = disputable_line(buyer=buyer, store=store, warehouse_country=None)
    return DisputeFactory(order_line=line, kind=Dispute.Kind.REFUND_ONLY, route="")


@pytest.fixture
def small_pages(settings):
    settings.DISPUTE_PAGE_SIZE = 3


def url(dispute, query: str = "") -> str:
    return reverse("disputes:dispute_detail", args=[dispute.pk]) + query


def numbered_events(dispute, count: int, actor) -> list[DisputeEvent]:
    """``count`` staff-visible entries, "Reason 0" the oldest (the clock does not move: the id orders them)."""
    return DisputeEvent.objects.bulk_create(
        DisputeEvent(dispute=dispute, actor=actor, kind=DisputeEvent.Kind.REOPENED, from_state="awaiting_seller",
                     to_state="awaiting_seller", details={"reason": f"Reason {i}"})
        for i in range(count)
    )


def shown(response, pattern: str) -> list[str]:
    return re.findall(pattern, response.content.decode())


def events_shown(response) -> list[str]:
    return shown(response, r"Reason \d+")


def messages_shown(response) -> list[str]:
    return shown(response, r"Message \d+")


def test_the_latest_entries_and_messages_are_shown_oldest_first_with_a_link_to_earlier_ones(
        client, dispute, buyer, seller, small_pages):
    numbered_events(dispute, 8, seller)  # pages of 3: Reason 5-7, 2-4, 0-1
    add_thread(dispute, 7, [buyer, seller])
    client.force_login(buyer)

    latest = client.get(url(dispute))

    assert latest.status_code == 200
    assert events_shown(latest) == ["Reason 5", "Reason 6", "Reason 7"]
    assert messages_shown(latest) == ["Message 4", "Message 5", "Message 6"]
    content = latest.content.decode()
    assert f'href="{url(dispute, "?events=2")}#timeline" rel="prev">↑ Earlier entries</a>' in content
    assert f'href="{url(dispute, "?messages=2")}#messages" rel="prev">↑ Earlier messages</a>' in content
    assert "Later entries" not in content and "Later messages" not in content
    assert '<ol class="timeline" start="6">' in content  # entries 6 to 8 of 8
    assert latest.context["page_query"] == ""


def test_paging_one_list_keeps_the_other_lists_page(client, dispute, buyer, seller, small_pages):
    numbered_events(dispute, 8, seller)
    add_thread(dispute, 7, [buyer, seller])
    client.force_login(buyer)

    older = client.get(url(dispute, "?events=2&messages=3"))

    assert events_shown(older) == ["Reason 2", "Reason 3", "Reason 4"]
    assert messages_shown(older) == ["Message 0"]
    content = older.content.decode()
    # Events: page 3 is the oldest (Reason 0 and 1), page 1 the latest.
    assert f'href="{url(dispute, "?events=3&amp;messages=3")}#timeline" rel="prev">' in content
    assert f'href="{url(dispute, "?messages=3")}#timeline" rel="next">Later entries ↓</a>' in content
    # Messages: page 3 is the oldest, so there is nothing earlier.
    assert "Earlier messages" not in content
    assert '<ol class="timeline" start="3">' in content
    assert f'href="{url(dispute, "?events=2&amp;messages=2")}#messages" rel="next">Later messages ↓</a>' in content
    assert older.context["page_query"] == "?events=2&messages=3"
    oldest = client.get(url(dispute, "?events=3"))
    assert events_shown(oldest) == ["Reason 0", "Reason 1"]
    assert '<ol class="timeline">' in oldest.content.decode()
    assert "Earlier entries" not in oldest.content.decode()


@pytest.mark.parametrize(
    ("query", "events_page", "first_shown"),
    [("?events=abc", 1, "Reason 5"), ("?events=0", 1, "Reason 5"), ("?events=-4", 1, "Reason 5"),
     ("?events=", 1, "Reason 5"), ("?events=2.5", 1, "Reason 5"), ("?events=%00", 1, "Reason 5"),
     ("?events=4", 3, "Reason 0"), ("?events=99999999999999999999999999", 3, "Reason 0"),
     ("?events=" + "9" * 5000, 3, "Reason 0"), ("?events=2&events=1", 1, "Reason 5")],
)
def test_a_bad_page_number_is_the_nearest_page_there_is(client, dispute, buyer, seller, small_pages, query,
                                                        events_page, first_shown):
    numbered_events(dispute, 8, seller)
    client.force_login(buyer)

    response = client.get(url(dispute, query))

    assert response.status_code == 200
    assert response.context["events_page"].number == events_page
    assert response.context["events_page"].first_position == {1: 6, 3: 1}[events_page]
    assert events_shown(response)[0] == first_shown


def test_page_numbers_from_the_address():
    assert [page_number(raw) for raw in (None, "", "1", " 2 ", "x", "-1", "0", "3.0", "12345678901234")] == [
        1, 1, 1, 2, 1, 1, 1, 1, 100_000]


def test_staff_page_through_internal_notes_that_the_parties_never_see(client, dispute, buyer, seller, small_pages):
    DisputeEvent.objects.bulk_create(
        DisputeEvent(dispute=dispute, actor=None, kind=DisputeEvent.Kind.STAFF_NOTE, details={"note": f"Note {i}"})
        for i in range(4)
    )
    numbered_events(dispute, 2, seller)
    agent = StaffFactory(permissions=["disputes.view_dispute", "disputes.change_dispute"])

    client.force_login(agent)
    staff_view = client.get(url(dispute))
    staff_older = client.get(url(dispute, "?events=2"))
    client.force_login(buyer)
    buyer_view = client.get(url(dispute))

    assert shown(staff_view, r"Note \d+|Reason \d+") == ["Note 3", "Reason 0", "Reason 1"]
    assert shown(staff_older, r"Note \d+|Reason \d+") == ["Note 0", "Note 1", "Note 2"]
    assert (staff_view.context["events_page"].first_position, staff_older.context["events_page"].first_position) == (
        4, 1)
    assert events_shown(buyer_view) == ["Reason 0", "Reason 1"]
    assert buyer_view.context["events_page"].has_older is False
    assert "Note" not in buyer_view.content.decode()


def test_a_message_refused_on_an_older_page_comes_back_to_that_page_with_its_error(
        client, dispute, buyer, seller, small_pages):
    numbered_events(dispute, 8, seller)
    add_thread(dispute, 7, [buyer, seller])
    client.force_login(buyer)
    page = client.get(url(dispute, "?messages=2"))
    action = reverse("disputes:dispute_message", args=[dispute.pk]) + "?messages=2"
    assert f'action="{action}"' in page.content.decode()

    refused = client.post(action, {"body": "  "})

    assert refused.status_code == 422
    assert refused.context["message_form"].non_field_errors() == ["Write a message or attach a file."]
    assert refused.context["messages_page"].number == 2
    assert messages_shown(refused) == ["Message 1", "Message 2", "Message 3"]
    # Its links lead to the dispute's page, not to the address the form was posted to.
    assert f'href="{url(dispute, "?messages=3")}#messages"' in refused.content.decode()
    assert DisputeMessage.objects.count() == 7

    sent = client.post(action, {"body": "Here it is."})
    assert sent.status_code == 302
    assert sent["Location"] == url(dispute, "#messages")  # the latest page, where the new message is
    assert messages_shown(client.get(sent["Location"]))[-1] == "Message 6"
    assert "Here it is." in client.get(sent["Location"]).content.decode()


def test_an_action_refused_on_an_older_page_comes_back_to_that_page_with_its_bound_form(
        client, dispute, buyer, seller, small_pages):
    numbered_events(dispute, 8, seller)
    client.force_login(seller)
    page = client.get(url(dispute, "?events=3"))
    action = reverse("disputes:dispute_action", args=[dispute.pk, "counter-offer"]) + "?events=3"
    assert f'action="{action}"' in page.content.decode()

    refused = client.post(action, {"amount": "not money", "message": "Half?"})

    assert refused.status_code == 422
    form = refused.context["forms"]["counter_offer"]
    assert form.is_bound and form.data["message"] == "Half?" and "amount" in form.errors
    assert refused.context["events_page"].number == 3
    assert events_shown(refused) == ["Reason 0", "Reason 1"]
    dispute.refresh_from_db()
    assert (dispute.state, dispute.counter_offer_amount) == (Dispute.State.AWAITING_SELLER, None)


@pytest.mark.parametrize("viewer", ["buyer", "seller", "staff"])
def test_the_dispute_page_costs_the_same_with_3_or_1000_entries_and_messages(client, buyer, seller, store, viewer):
    small = DisputeFactory(order_line=disputable_line(buyer=buyer, store=store, warehouse_country=None))
    large = DisputeFactory(order_line=disputable_line(buyer=buyer, store=store, warehouse_country=None))
    agent = StaffFactory(permissions=["disputes.view_dispute", "disputes.change_dispute"])
    people = [buyer, seller, agent, None]
    for dispute, count in ((small, 3), (large, 1000)):
        add_timeline(dispute, count, people)
        add_thread(dispute, count, people[:3])
    client.force_login({"buyer": buyer, "seller": seller, "staff": agent}[viewer])

    with_3 = query_count(client, url(small))
    with_1000 = query_count(client, url(large))
    older_1000 = query_count(client, url(large, "?events=7&messages=20"))

    # Staff who may work on disputes: the page asks for their permissions (two queries).
    budget = {"buyer": DETAIL_BUDGET, "seller": SELLER_DETAIL_BUDGET, "staff": DETAIL_BUDGET + 2}[viewer]
    assert with_3 == with_1000 == older_1000 <= budget
