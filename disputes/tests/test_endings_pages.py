"""Endings as DESIGN §3 says, where the buyer looks for the button: the dispute page and
My orders say in words, with the date, why there is no Withdraw, Reopen or Open dispute;
and the opening form's query budget (eligibility judged once per request)."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerFactory
from catalog.tests.factories import StoreFactory, WarehouseFactory
from disputes.models import Dispute, DisputeEvent
from disputes.services import dispute_open, dispute_reopen, dispute_withdraw
from disputes.tests.factories import DisputeFactory, disputable_line
from notifications.models import Notification

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # 15:00 in Moscow
PAID = Decimal("2490.00")
ORDER_LIST = reverse("orders:order_list")


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def store():
    store = StoreFactory(name="Golden Dragon Trading")
    WarehouseFactory(store=store, country="RU", city="Podolsk", name="Golden Dragon returns, Podolsk")
    SellerFactory(store=store)
    return store


@pytest.fixture
def buyer(client):
    buyer = BuyerFactory(country="RU")
    client.force_login(buyer)
    return buyer


@pytest.fixture
def line(buyer, store):
    """Delivered a day ago: buyer protection ends on 24 Mar 2025 (15 days after delivery)."""
    return disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None)


def open_local_return(line):
    return dispute_open(buyer=line.order.buyer, order_line=line, kind="return", route="local", amount=PAID,
                        reason="changed_mind")


def page(client, dispute) -> str:
    response = client.get(reverse("disputes:dispute_detail", args=[dispute.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_withdrawn_dispute_offers_reopening_on_its_page_and_in_my_orders(client, line):
    dispute = open_local_return(line)
    dispute_withdraw(dispute=dispute, buyer=line.order.buyer)

    html = page(client, dispute)
    orders = client.get(ORDER_LIST).content.decode()

    assert "You can reopen it once, until 24 Mar 2025; it continues where it stopped." in html
    assert "Reopen dispute" in html
    assert f"Reopen dispute #{dispute.pk}" in orders
    assert "You withdrew it; you can reopen it once, until 24 Mar 2025." in orders
    assert reverse("disputes:dispute_open", args=[line.pk]) not in orders  # never a second dispute


def test_after_its_one_reopening_a_withdrawn_dispute_says_why_it_stays_closed(client, line, clock):
    dispute = open_local_return(line)
    dispute_withdraw(dispute=dispute, buyer=line.order.buyer)
    clock.move_to(NOW + timedelta(days=1), tick=False)
    dispute_reopen(dispute=dispute, buyer=line.order.buyer)
    dispute_withdraw(dispute=dispute, buyer=line.order.buyer)

    withdrawn = client.post(reverse("disputes:dispute_withdraw", args=[dispute.pk]), follow=True)
    html = page(client, dispute)
    orders = client.get(ORDER_LIST).content.decode()

    assert [str(m) for m in withdrawn.context["messages"]] == [
        "This dispute is “Closed”, so this cannot be done now."]  # already withdrawn: nothing changes
    why = "You already reopened this dispute once, on 11 Mar 2025, 15:00; it cannot be reopened again."
    assert why in html and why in orders
    assert "Reopen dispute" not in html and "Reopen dispute" not in orders
    assert reverse("disputes:dispute_open", args=[line.pk]) not in orders


def test_once_protection_ended_a_withdrawn_dispute_says_so_with_the_date(client, line, clock):
    dispute = open_local_return(line)
    dispute_withdraw(dispute=dispute, buyer=line.order.buyer)
    clock.move_to(NOW + timedelta(days=20), tick=False)
    client.force_login(line.order.buyer)  # the earlier session has expired meanwhile

    html = page(client, dispute)

    assert ("Buyer protection for this order ended on 24 Mar 2025, 15:00, so this dispute can no longer be "
            "reopened.") in html
    assert "Reopen dispute" not in html


@pytest.mark.parametrize(("state", "resolution", "ended"), [
    ("refunded", "refunded", "This dispute ended on 10 Mar 2025, 15:00 with a refund."),
    ("closed", "rejected", "This dispute was closed as rejected on 10 Mar 2025, 15:00."),
    ("closed", "buyer_timeout", "This dispute closed on 10 Mar 2025, 15:00 because the goods were not shipped in "
                                "time."),
])
def test_every_other_ending_is_final_and_the_pages_say_so(client, line, state, resolution, ended):
    dispute = DisputeFactory(order_line=line, state=state, resolution=resolution, deadline_at=None, closed_at=NOW)

    html = page(client, dispute)
    orders = client.get(ORDER_LIST).content.decode()
    opening = client.get(reverse("disputes:dispute_open", args=[line.pk]), follow=True)

    final = f"{ended} That is final: no new dispute can be opened on this item."
    assert final in orders
    assert reverse("disputes:dispute_open", args=[line.pk]) not in orders
    assert "Reopen dispute" not in html and "Withdraw dispute" not in html
    if state == "closed":
        assert final in html  # where the Reopen button would be
    # Asking for the opening form anyway leads to the dispute, with the reason.
    assert opening.redirect_chain == [(reverse("disputes:dispute_detail", args=[dispute.pk]), 302)]
    assert [str(m) for m in opening.context["messages"]] == [
        "The dispute on this item has ended; no new dispute can be opened on it."]


def test_my_orders_costs_the_same_with_and_without_endings(client, buyer, store):
    lines = [disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None) for _ in range(4)]
    DisputeFactory(order_line=lines[0])
    DisputeFactory(order_line=lines[1], withdrawn=True)
    DisputeFactory(order_line=lines[2], state="refunded", resolution="refunded", deadline_at=None, closed_at=NOW)
    with CaptureQueriesContext(connection) as few:
        client.get(ORDER_LIST)
    more = [disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None) for _ in range(6)]
    for extra in more[:3]:
        DisputeFactory(order_line=extra, withdrawn=True)
    with CaptureQueriesContext(connection) as many:
        client.get(ORDER_LIST)

    assert len(few) == len(many)


# --- the opening form: eligibility once per request ---------------------------------------------

OPENING_GET_BUDGET = 10
# One more than before webhooks: the opening asks which endpoints its store has (webhooks.outbox).
OPENING_POST_BUDGET = 16


def test_the_opening_form_stays_within_its_query_budget(client, line):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("disputes:dispute_open", args=[line.pk]))

    assert response.status_code == 200
    assert len(captured) <= OPENING_GET_BUDGET, [q["sql"] for q in captured]


def test_opening_a_dispute_stays_within_its_query_budget_and_checks_the_line_once(client, line):
    with CaptureQueriesContext(connection) as captured:
        response = client.post(reverse("disputes:dispute_open", args=[line.pk]), {
            "kind": "return", "route": "local", "amount": "2490.00", "reason": "changed_mind"})

    dispute = Dispute.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("disputes:dispute_detail", args=[dispute.pk])
    assert len(captured) <= OPENING_POST_BUDGET, [q["sql"] for q in captured]
    # "Is there a dispute on this line already?" is asked once, under the line's lock.
    asked = [q["sql"] for q in captured if 'FROM "disputes_dispute"' in q["sql"] and "SELECT" in q["sql"]]
    assert len(asked) == 1, asked
    assert DisputeEvent.objects.filter(dispute=dispute, kind="opened").count() == 1
    assert Notification.objects.count() == 2  # the store's member and the buyer


def test_withdrawing_a_reopened_dispute_says_it_cannot_be_reopened_again(client, line, clock):
    dispute = open_local_return(line)
    dispute_withdraw(dispute=dispute, buyer=line.order.buyer)
    reopened = client.post(reverse("disputes:dispute_reopen", args=[dispute.pk]), follow=True)

    withdrawn = client.post(reverse("disputes:dispute_withdraw", args=[dispute.pk]), follow=True)

    assert [str(m) for m in reopened.context["messages"]] == [
        "The dispute is open again where it stopped: Waiting for the seller. The seller has been notified."]
    assert [str(m) for m in withdrawn.context["messages"]] == [
        "You withdrew the dispute. It is closed without a refund; it was reopened once already, so it cannot be "
        "reopened again."]
