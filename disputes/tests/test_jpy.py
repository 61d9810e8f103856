"""Yen have no decimals (DESIGN §4: every amount a person types is checked against the
currency's minor units). A JPY order line refuses 999.50 at every entry point — the opening
form and ``dispute_open``, the seller's counter-offer (form and service), the staff partial
refund (admin form and service) and ``refund_decide_many`` — and accepts 1000 at each.
Foreign digits and exponents are refused in words on the forms; pages show whole yen."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.models import Category
from catalog.tests.factories import CategoryFactory, ProductFactory, StoreFactory, WarehouseFactory
from disputes.models import (
    Dispute,
    DisputeAttachment,
    DisputeEvent,
    DisputeMessage,
    Refund,
    ReturnInstructions,
)
from disputes.services import (
    NotEligible,
    dispute_counter_offer,
    dispute_escalate,
    dispute_open,
    dispute_reject,
    dispute_staff_decide,
)
from disputes.services.refunds import RefundDecision, refund_decide_many
from disputes.services.staff import REFUND_PARTIAL
from disputes.tests.factories import photo
from notifications.models import Notification
from orders.models import OrderLine
from orders.tests.factories import order_with_line
from returns_portal.errors import DomainError, ErrorCode

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PAID = Decimal("1500")
HALF_YEN = Decimal("999.50")
WHOLE = Decimal("1000")
NO_DECIMALS = "Amounts in JPY have no decimal places."
NOT_AN_AMOUNT = "Enter an amount like 1,234."
# What a person may type, and what the form says.
TYPED_AND_REFUSED = [
    pytest.param("999.50", NO_DECIMALS, id="half_yen"),
    pytest.param("\u0661\u0662\u0663", NOT_AN_AMOUNT, id="arabic_indic_digits"),
    pytest.param("1e309", NOT_AN_AMOUNT, id="exponent"),
]


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def test_yen_have_no_decimals():
    assert django_settings.CURRENCY_DECIMALS["JPY"] == 0


@pytest.fixture
def line() -> OrderLine:
    """A T-shirt a buyer in Russia bought for 1,500 yen, delivered yesterday; the store takes
    local returns at its warehouse in Russia."""
    buyer = BuyerFactory(country="RU")
    store = StoreFactory()
    WarehouseFactory(store=store, country="RU", city="Moscow", name=f"{store.name} returns")
    delivered_at = timezone.now() - timedelta(days=1)
    order = order_with_line(
        buyer=buyer, store=store, currency="JPY", delivered=True, delivered_at=delivered_at,
        shipped_at=delivered_at - timedelta(days=3),
        line__product=ProductFactory(store=store, price=PAID, currency="JPY", local_return=True,
                                     category=CategoryFactory(name="T-shirts", kind=Category.Kind.APPAREL)),
    )
    line = order.lines.get()
    assert (order.currency, line.line_total, order.total) == ("JPY", PAID, PAID)
    return line


@pytest.fixture
def buyer(line):
    return line.order.buyer


@pytest.fixture
def seller(line):
    return SellerFactory(store=line.order.store)


@pytest.fixture
def staff():
    return StaffFactory(permissions=["disputes.view_dispute", "disputes.change_dispute", "disputes.decide_dispute"])


def everything() -> dict[str, list[dict]]:
    """Every row an amount could end up in, or that a refused request must not write."""
    return {model.__name__: list(model.objects.order_by("pk").values())
            for model in (Dispute, DisputeEvent, DisputeMessage, DisputeAttachment, ReturnInstructions, Refund,
                          Notification, OrderLine)}


def open_local_return(line, amount: Decimal) -> Dispute:
    return dispute_open(buyer=line.order.buyer, order_line=line, kind=Dispute.Kind.RETURN, route=Dispute.Route.LOCAL,
                        amount=amount, reason=Dispute.Reason.CHANGED_MIND)


def open_refund_only(line) -> Dispute:
    return dispute_open(buyer=line.order.buyer, order_line=line, kind=Dispute.Kind.REFUND_ONLY,
                        route=Dispute.Route.NONE, amount=PAID, reason=Dispute.Reason.DAMAGED,
                        description="The print is torn.", evidence=[photo()])


def escalated(line, seller) -> Dispute:
    dispute = dispute_reject(dispute=open_refund_only(line), seller=seller, reason="It left intact.")
    return dispute_escalate(dispute=dispute, buyer=line.order.buyer, reason="The photo shows the tear.")


def stored(dispute: Dispute) -> Dispute:
    return Dispute.objects.get(pk=dispute.pk)


# --- opening ---------------------------------------------------------------------------------------


def open_form(**overrides) -> dict:
    return {"kind": "return", "route": "local", "amount": "1000", "reason": "changed_mind", "description": "",
            **overrides}


def test_the_opening_form_offers_the_whole_paid_amount_in_yen(client, line, buyer):
    client.force_login(buyer)

    response = client.get(reverse("disputes:dispute_open", args=[line.pk]))

    assert response.status_code == 200
    assert response.context["form"]["amount"].value() == "1500"
    assert "1,500\u00a0¥" in response.content.decode()


@pytest.mark.parametrize(("typed", "message"), TYPED_AND_REFUSED)
def test_the_opening_form_refuses_an_amount_that_is_not_whole_yen(client, line, buyer, typed, message):
    client.force_login(buyer)
    url = reverse("disputes:dispute_open", args=[line.pk])
    assert url == f"/orders/lines/{line.pk}/dispute/"
    before = everything()

    response = client.post(url, open_form(amount=typed))

    assert response.status_code == 422
    assert response.context["form"].errors == {"amount": [message]}
    assert message in response.content.decode()
    assert everything() == before


def test_the_opening_form_accepts_whole_yen(client, line, buyer):
    client.force_login(buyer)

    response = client.post(reverse("disputes:dispute_open", args=[line.pk]), open_form(amount="1000"))

    dispute = Dispute.objects.get()
    assert (response.status_code, response["Location"]) == (302, dispute.get_absolute_url())
    assert (dispute.amount, dispute.currency, dispute.state) == (WHOLE, "JPY", "awaiting_seller")


def test_dispute_open_refuses_half_a_yen_and_accepts_whole_yen(line, seller):
    before = everything()

    with pytest.raises(NotEligible) as refused:
        open_local_return(line, HALF_YEN)

    assert refused.value.result.failed_codes == ("compensation_in_range",)
    assert refused.value.message == NO_DECIMALS
    assert everything() == before

    dispute = open_local_return(line, WHOLE)
    assert (stored(dispute).amount, dispute.currency) == (WHOLE, "JPY")
    assert DisputeEvent.objects.get(dispute=dispute).details["amount"] == "1000"
    # The store reads the amount in whole yen.
    [told] = Notification.objects.filter(key="disputes.opened.seller", recipient=seller)
    assert "for 1,000\u00a0¥." in told.body


# --- the seller's counter-offer ------------------------------------------------------------------


def counter_offer_url(dispute) -> str:
    return reverse("disputes:dispute_action", args=[dispute.pk, "counter-offer"])


@pytest.mark.parametrize(("typed", "message"), TYPED_AND_REFUSED)
def test_the_counter_offer_form_refuses_an_amount_that_is_not_whole_yen(client, line, seller, typed, message):
    dispute = open_refund_only(line)
    client.force_login(seller)
    url = counter_offer_url(dispute)
    assert url == f"/disputes/{dispute.pk}/do/counter-offer/"
    before = everything()

    response = client.post(url, {"amount": typed, "message": "Part of it."})

    assert response.status_code == 422
    assert response.context["forms"]["counter_offer"].errors == {"amount": [message]}
    assert message in response.content.decode()
    assert everything() == before


def test_the_counter_offer_form_accepts_whole_yen(client, line, seller):
    dispute = open_refund_only(line)
    client.force_login(seller)

    response = client.post(counter_offer_url(dispute), {"amount": "1000", "message": "Part of it."})

    assert (response.status_code, response["Location"]) == (302, dispute.get_absolute_url())
    fresh = stored(dispute)
    assert (fresh.state, fresh.counter_offer_amount) == ("counter_offered", WHOLE)


def test_dispute_counter_offer_refuses_half_a_yen_and_accepts_whole_yen(line, seller):
    dispute = open_refund_only(line)
    before = everything()

    with pytest.raises(DomainError) as refused:
        dispute_counter_offer(dispute=dispute, seller=seller, amount=HALF_YEN, message="Part of it.")

    assert (refused.value.code, refused.value.message) == (ErrorCode.INVALID_AMOUNT, NO_DECIMALS)
    assert everything() == before

    dispute_counter_offer(dispute=dispute, seller=seller, amount=WHOLE, message="Part of it.")
    assert (stored(dispute).state, stored(dispute).counter_offer_amount) == ("counter_offered", WHOLE)
    [told] = Notification.objects.filter(key="disputes.counter_offered.buyer")
    assert told.body == "The seller offers 1,000\u00a0¥. Accept it or escalate by 17 Mar 2025, 15:00."


# --- the staff partial refund --------------------------------------------------------------------


def test_a_staff_partial_refund_refuses_half_a_yen_and_accepts_whole_yen(line, seller, staff):
    dispute = escalated(line, seller)
    before = everything()

    with pytest.raises(DomainError) as refused:
        dispute_staff_decide(dispute=dispute, staff=staff, decision=REFUND_PARTIAL, reason="Half the print.",
                             amount=HALF_YEN)

    assert (refused.value.code, refused.value.message) == (ErrorCode.INVALID_AMOUNT, NO_DECIMALS)
    assert everything() == before

    dispute_staff_decide(dispute=dispute, staff=staff, decision=REFUND_PARTIAL, reason="Half the print.",
                         amount=WHOLE)
    assert stored(dispute).state == "refund_pending"
    assert list(Refund.objects.values_list("dispute", "amount", "currency", "status")) == [
        (dispute.pk, WHOLE, "JPY", "pending")]
    told = {n.body for n in Notification.objects.filter(key="disputes.staff_refunded")}
    assert told == {"Marketplace staff decided a refund of 1,000\u00a0¥. Reason: Half the print."}


def decide_url(dispute) -> str:
    return reverse("admin:disputes_dispute_decide", args=[dispute.pk])


@pytest.mark.parametrize(("typed", "message"), TYPED_AND_REFUSED)
def test_the_admin_decision_form_refuses_an_amount_that_is_not_whole_yen(client, line, seller, staff, typed,
                                                                         message):
    dispute = escalated(line, seller)
    client.force_login(staff)
    url = decide_url(dispute)
    assert url == f"/admin/disputes/dispute/{dispute.pk}/decide/"
    before = everything()

    response = client.post(url, {"decision": REFUND_PARTIAL, "amount": typed, "reason": "Half the print."})

    assert response.status_code == 422
    assert response.context["form"].errors == {"amount": [message]}
    assert message in response.content.decode()
    assert everything() == before


def test_the_admin_decision_form_accepts_whole_yen(client, line, seller, staff):
    dispute = escalated(line, seller)
    client.force_login(staff)

    response = client.post(decide_url(dispute), {"decision": REFUND_PARTIAL, "amount": "1000",
                                                 "reason": "Half the print."})

    assert (response.status_code, response["Location"]) == (
        302, reverse("admin:disputes_dispute_change", args=[dispute.pk]))
    assert stored(dispute).state == "refund_pending"
    assert list(Refund.objects.values_list("amount", "currency", "decided_by")) == [(WHOLE, "JPY", staff.pk)]


# --- deciding a refund ---------------------------------------------------------------------------


def test_refund_decide_many_refuses_half_a_yen_and_accepts_whole_yen(line, seller):
    dispute = open_refund_only(line)
    before = everything()

    with pytest.raises(DomainError) as refused, transaction.atomic():
        refund_decide_many([RefundDecision(stored(dispute), HALF_YEN, seller, "Part of it.")])

    assert (refused.value.code, refused.value.message) == (ErrorCode.INVALID_AMOUNT, NO_DECIMALS)
    assert everything() == before

    with transaction.atomic():
        refunds = refund_decide_many([RefundDecision(stored(dispute), WHOLE, seller, "Part of it.")])
    assert [(r.amount, r.currency, r.status) for r in refunds] == [(WHOLE, "JPY", "pending")]


# --- what pages show -----------------------------------------------------------------------------


def test_the_dispute_page_shows_whole_yen(client, line, buyer, seller, staff):
    # Given a refund-only claim for the 1,500 yen paid, to which the seller offered 1,000 yen.
    dispute = open_refund_only(line)
    dispute_counter_offer(dispute=dispute, seller=seller, amount=WHOLE, message="Part of it.")
    client.force_login(buyer)

    content = client.get(dispute.get_absolute_url()).content.decode()

    assert "1,500\u00a0¥" in content  # asked, and paid
    assert "1,000\u00a0¥" in content  # offered
    assert "of 1,500\u00a0¥ paid" in content
    assert "1,000\u00a0¥</strong> instead of 1,500\u00a0¥" in content
    assert ".00\u00a0¥" not in content and ",00\u00a0¥" not in content
