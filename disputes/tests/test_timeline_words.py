"""The timeline reads as sentences: codes stored in the events (a reason, a deadline's
outcome) never reach the page."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from disputes.models import ReturnInstructions
from disputes.services import dispute_open
from disputes.sweep import enforce_deadlines
from disputes.tests.factories import disputable_line, photo

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PAID = Decimal("2490.00")


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def timeline_of(client, dispute) -> str:
    client.force_login(dispute.buyer)
    html = client.get(reverse("disputes:dispute_detail", args=[dispute.pk])).content.decode()
    return html[html.index('id="timeline-title"'):html.index('id="messages-title"')]


def test_the_opening_reason_reads_as_its_label(client):
    line = disputable_line(price=PAID)
    dispute = dispute_open(buyer=line.order.buyer, order_line=line, kind="return", route="local", amount=PAID,
                           reason="not_as_expected")

    timeline = timeline_of(client, dispute)

    assert "Colour, size or shape not as expected" in timeline
    assert "not_as_expected" not in timeline


def test_instructions_the_system_issued_say_why_with_the_rma_code(client, clock):
    line = disputable_line(price=PAID)
    dispute = dispute_open(buyer=line.order.buyer, order_line=line, kind="return", route="local", amount=PAID,
                           reason="changed_mind")
    clock.move_to(NOW + timedelta(days=5, seconds=1), tick=False)
    enforce_deadlines()
    client.force_login(dispute.buyer)  # the clock moved; a fresh session

    timeline = timeline_of(client, dispute)

    rma = ReturnInstructions.objects.get().rma_code
    assert "Return instructions sent</strong>" in timeline
    assert f"Issued automatically because the seller did not answer in time. RMA code {rma}." in timeline
    assert "instructions_issued" not in timeline


def test_a_passed_deadline_reads_as_a_sentence(client, clock):
    line = disputable_line(price=PAID)
    dispute = dispute_open(buyer=line.order.buyer, order_line=line, kind="refund_only", route="", amount=PAID,
                           reason="damaged", evidence=[photo()])
    clock.move_to(NOW + timedelta(days=5, seconds=1), tick=False)
    enforce_deadlines()

    timeline = timeline_of(client, dispute)

    assert "The seller did not answer within 5 days, so the buyer is refunded the amount asked." in timeline
    assert "seller_timeout_refunded" not in timeline


def test_the_reader_is_you_and_the_other_party_is_named(client):
    from accounts.tests.factories import SellerFactory
    from catalog.models import Warehouse
    from disputes.services import dispute_message_post, dispute_send_instructions

    line = disputable_line(price=PAID)
    buyer = line.order.buyer
    seller = SellerFactory(store=line.order.store)
    dispute = dispute_open(buyer=buyer, order_line=line, kind="return", route="local", amount=PAID,
                           reason="changed_mind")
    dispute_send_instructions(dispute=dispute, seller=seller, method="drop_off", carrier="Russian Post",
                              warehouse=Warehouse.objects.get(store=line.order.store))
    dispute_message_post(dispute=dispute, author=buyer, body="Thank you.")
    buyer_name, store = buyer.get_full_name(), line.order.store.name

    buyers_timeline = timeline_of(client, dispute)
    buyers_page = client.get(reverse("disputes:dispute_detail", args=[dispute.pk])).content.decode()
    client.force_login(seller)
    sellers_page = client.get(reverse("disputes:dispute_detail", args=[dispute.pk])).content.decode()

    assert 'Dispute opened</strong> <span class="muted">by you</span>' in buyers_timeline
    assert f"by {store}, the seller" in buyers_timeline
    assert "by the buyer" not in buyers_timeline
    assert "<header><strong>You</strong>" in buyers_page
    assert f"by {buyer_name}, the buyer" in sellers_page
    assert f"<header><strong>{buyer_name}, the buyer</strong>" in sellers_page


def test_after_a_partial_staff_refund_the_page_shows_what_was_paid(client, django_capture_on_commit_callbacks):
    from accounts.tests.factories import SellerFactory, StaffFactory
    from disputes.services import dispute_escalate, dispute_reject, dispute_staff_decide

    line = disputable_line(price=PAID)
    seller = SellerFactory(store=line.order.store)
    dispute = dispute_open(buyer=line.order.buyer, order_line=line, kind="refund_only", route="", amount=PAID,
                           reason="damaged", evidence=[photo()])
    dispute_reject(dispute=dispute, seller=seller, reason="It left intact.")
    dispute_escalate(dispute=dispute, buyer=dispute.buyer, reason="It arrived broken.")
    staff = StaffFactory(permissions=["disputes.view_dispute", "disputes.change_dispute", "disputes.decide_dispute"])
    with django_capture_on_commit_callbacks(execute=True):
        dispute_staff_decide(dispute=dispute, staff=staff, decision="refund_partial", amount=Decimal("1000.00"),
                             reason="Half of it was fine.")
    client.force_login(dispute.buyer)

    html = client.get(reverse("disputes:dispute_detail", args=[dispute.pk])).content.decode()

    assert "<dt>Compensation asked</dt><dd>2,490.00\u00a0₽" in html
    assert "<dt>Refunded</dt><dd><strong>1,000.00\u00a0₽</strong></dd>" in html
    assert "You were refunded. The dispute is settled." in html


def test_the_opening_form_names_what_was_chosen_and_promises_nothing_unavailable(client):
    from catalog.tests.factories import StoreFactory, WarehouseFactory

    store = StoreFactory()
    WarehouseFactory(store=store, country="RU", city="Podolsk")
    ru_line = disputable_line(price=PAID, store=store, warehouse_country=None)
    ua_line = disputable_line(price=PAID, store=store, warehouse_country=None, country="UA")

    client.force_login(ru_line.order.buyer)
    russian = client.get(reverse("disputes:dispute_open", args=[ru_line.pk])).content.decode()
    client.force_login(ua_line.order.buyer)
    ukrainian = client.get(reverse("disputes:dispute_open", args=[ua_line.pk])).content.decode()

    assert 'id="open-dispute-submit"' in russian and ">Local return</button>" in russian
    assert "send it to a return warehouse in Russia; no proof needed" in russian
    assert ">Open dispute</button>" in ukrainian
    assert "return warehouse in Ukraine" not in ukrainian.split('id="local-return-reasons"')[0]
    assert "not available for this item; see why below" in ukrainian
    assert "<script>" not in russian  # no inline script: the behaviour is in static/js/dispute_open.js
