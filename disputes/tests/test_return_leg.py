"""The return leg end to end through the services: instructions, shipping, inspection
against the return conditions, the seller's answers on other kinds of dispute, staff
decisions and the refund paid exactly once. Exact outcomes, and on every refusal path
proof that nothing was written and the dispute did not move."""
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.models import Category, Warehouse
from catalog.tests.factories import CategoryFactory, StoreFactory, WarehouseFactory
from disputes import selectors
from disputes.models import (
    CategoryCondition,
    Dispute,
    DisputeAttachment,
    DisputeEvent,
    DisputeMessage,
    Inspection,
    Refund,
    ReturnInstructions,
    ReturnShipment,
)
from disputes.payments import GatewayError, GatewayReceipt
from disputes.services import (
    dispute_accept,
    dispute_accept_offer,
    dispute_accept_rejection,
    dispute_counter_offer,
    dispute_escalate,
    dispute_inspect,
    dispute_open,
    dispute_reject,
    dispute_reopen,
    dispute_send_instructions,
    dispute_ship,
    dispute_staff_decide,
    dispute_withdraw,
    refund_pay,
)
from disputes.services.staff import REFUND_FULL, REFUND_PARTIAL, REJECT
from disputes.tasks import pay_due_refunds, pay_refunds
from disputes.tests.factories import disputable_line, photo
from notifications.models import Notification
from returns_portal.money import format_money
from disputes.tests.factories import notes, the_notification
from orders.models import OrderLine
from returns_portal.errors import DomainError, ErrorCode

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PAID = Decimal("2490.00")
LOCAL_GATEWAY = "disputes.payments.LocalLedgerGateway"

TEXT = {
    "sealed_packaging_opened": (
        "Goods that cannot be sold again once the original brand packaging is opened (hygiene, cosmetics, "
        "underwear…) must come back with that packaging unopened."
    ),
    "washed_worn_labels": "Not washed, not worn, labels not torn off.",
    "jewelry_condition": (
        "Jewelry, watches, accessories and eyeglasses: not used, altered, scratched, replaced or damaged."
    ),
    "signs_of_use": "No signs of use or damage.",
}
FAILED = {  # each condition, failed, as the buyer reads it
    "sealed_packaging_opened": "The original brand packaging was opened, so the goods cannot be sold again.",
    "washed_worn_labels": "Washed or worn, or labels torn off.",
    "jewelry_condition": "Used, altered, scratched, replaced or damaged.",
    "signs_of_use": "Signs of use or damage found.",
}
BASE_CODES = ["brand_packaging", "completeness", "signs_of_use", "item_identity"]
APPAREL_CODES = ["brand_packaging", "completeness", "signs_of_use", "washed_worn_labels", "item_identity"]
LOCAL_RETURN_ONLY = "A local return needs no proof: send return instructions; the goods are checked when they arrive."


class FailingGateway:
    """A payment provider that is down."""

    def refund(self, *, idempotency_key, amount, currency, payment_reference) -> GatewayReceipt:
        raise GatewayError("Provider unavailable (HTTP 503)")


# --- the world ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clock(time_machine):
    """Every test starts on 10 March 2025, 12:00 UTC, with the clock standing still."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def line():
    """A T-shirt delivered to a buyer in Russia a day ago; the store has a return warehouse in Russia."""
    return disputable_line(price=PAID)


@pytest.fixture
def buyer(line):
    return line.order.buyer


@pytest.fixture
def store(line):
    return line.order.store


@pytest.fixture
def warehouse(store):
    return Warehouse.objects.get(store=store, country="RU")


@pytest.fixture
def seller(store):
    return SellerFactory(store=store, email="seller@example.com")


@pytest.fixture
def stranger():
    """A member of another store."""
    return SellerFactory(email="stranger@example.com")


def rows() -> dict[str, object]:
    return {
        "disputes": Dispute.objects.count(),
        "events": DisputeEvent.objects.count(),
        "instructions": ReturnInstructions.objects.count(),
        "shipments": ReturnShipment.objects.count(),
        "inspections": Inspection.objects.count(),
        "refunds": Refund.objects.count(),
        "messages": DisputeMessage.objects.count(),
        "attachments": DisputeAttachment.objects.count(),
        "notifications": Notification.objects.count(),
        "refunded": OrderLine.objects.aggregate(total=Sum("refunded_amount"))["total"],
    }


def as_stored(dispute: Dispute) -> tuple:
    fresh = Dispute.objects.get(pk=dispute.pk)
    return (fresh.state, fresh.resolution, fresh.deadline_at, fresh.closed_at, fresh.counter_offer_amount,
            fresh.seller_answer, fresh.updated_at)


def refunded_on(line) -> Decimal:
    return OrderLine.objects.get(pk=line.pk).refunded_amount


def timeline(dispute: Dispute) -> list[tuple]:
    return list(DisputeEvent.objects.filter(dispute=dispute).values_list("kind", "actor", "from_state", "to_state"))


def told(since: int = 0) -> list[tuple]:
    """(recipient, subject) of the notifications written after the ``since``-th."""
    return [(who, subject) for who, subject, _url in notes(since)]


def open_local_return(line, amount: Decimal = PAID) -> Dispute:
    return dispute_open(buyer=line.order.buyer, order_line=line, kind=Dispute.Kind.RETURN,
                        route=Dispute.Route.LOCAL, amount=amount, reason=Dispute.Reason.CHANGED_MIND)


def open_refund_only(line, amount: Decimal = PAID) -> Dispute:
    return dispute_open(buyer=line.order.buyer, order_line=line, kind=Dispute.Kind.REFUND_ONLY,
                        route=Dispute.Route.NONE, amount=amount, reason=Dispute.Reason.DAMAGED,
                        description="The box was crushed.", evidence=[photo()])


def send_instructions(dispute: Dispute, seller, warehouse=None, **overrides) -> Dispute:
    arguments = {
        "dispute": dispute,
        "seller": seller,
        "warehouse": warehouse or Warehouse.objects.get(store=dispute.store, country="RU"),
        "method": "drop_off",
        "carrier": "Russian Post",
        "text": "Write the RMA code on the parcel.",
    }
    return dispute_send_instructions(**{**arguments, **overrides})


def ship(dispute: Dispute, tracking_number: str = "RR123456785RU", carrier: str = "Russian Post") -> Dispute:
    return dispute_ship(dispute=dispute, buyer=dispute.buyer, carrier=carrier, tracking_number=tracking_number)


def checklist(dispute: Dispute, **answers: str) -> dict[str, str]:
    """Every condition that applies to the item "meets", except those given."""
    codes = selectors.enabled_condition_codes(dispute.order_line.product.category)
    return {code: "meets" for code in codes} | answers


def returned(line, seller) -> Dispute:
    """A local return whose goods are on their way back to the store's warehouse."""
    dispute = open_local_return(line)
    send_instructions(dispute, seller)
    return ship(dispute)


def line_in(category) -> OrderLine:
    return disputable_line(price=PAID, category=category)


# --- the whole local return --------------------------------------------------------------------


def test_a_local_return_from_opening_to_money_back(django_capture_on_commit_callbacks, mailoutbox, clock):
    # Given a T-shirt delivered to a buyer in Russia; the store has a seller and a warehouse clerk.
    line = disputable_line(price=PAID)
    buyer, store = line.order.buyer, line.order.store
    warehouse = Warehouse.objects.get(store=store)
    seller = SellerFactory(store=store, email="seller@example.com")
    clerk = SellerFactory(store=store, email="clerk@example.com")

    # When the buyer opens a local return of the whole line...
    with django_capture_on_commit_callbacks(execute=True):
        dispute = open_local_return(line)

    # ...a day later the seller sends instructions...
    instructed_at = NOW + timedelta(days=1)
    clock.move_to(instructed_at, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        send_instructions(dispute, seller, warehouse)

    # Then the buyer has exactly ten days to ship to the store's Russian warehouse.
    dispute.refresh_from_db()
    instructions = ReturnInstructions.objects.get()
    assert instructions.dispute == dispute
    assert instructions.warehouse == warehouse
    assert (instructions.method, instructions.carrier, instructions.text) == (
        "drop_off", "Russian Post", "Write the RMA code on the parcel.")
    assert re.fullmatch(r"RMA-250311-[0-9A-F]{10}", instructions.rma_code)
    assert instructions.ship_by == instructed_at + timedelta(days=10)
    assert instructions.issued_by == seller
    assert instructions.created_at == instructed_at
    assert dispute.state == Dispute.State.AWAITING_BUYER_SHIPMENT
    assert dispute.deadline_at == instructions.ship_by
    assert DisputeEvent.objects.get(kind="instructions_sent").details == {
        "rma_code": instructions.rma_code,
        "warehouse": warehouse.pk,
        "method": "drop_off",
        "carrier": "Russian Post",
        "ship_by": (instructed_at + timedelta(days=10)).isoformat(),
    }
    instructions_note = the_notification(subject=f"Return instructions for dispute #{dispute.pk}")
    assert instructions_note.recipient == buyer
    assert instructions_note.body == (
        f"Send the goods to {warehouse.name}, {warehouse.address}, {warehouse.city}, Russia with Russian Post by "
        "21 Mar 2025, 15:00. "
        f"Your RMA code is {instructions.rma_code}."
    )

    # When the buyer ships two days later, typing the tracking number as printed...
    shipped_at = NOW + timedelta(days=3)
    clock.move_to(shipped_at, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        dispute_ship(dispute=dispute, buyer=buyer, carrier="  Russian Post ", tracking_number="rr 1234 5678 ru")

    # Then it is stored normalised and the store has fifteen days to inspect.
    dispute.refresh_from_db()
    shipment = ReturnShipment.objects.get()
    assert (shipment.dispute, shipment.carrier, shipment.tracking_number, shipment.shipped_at) == (
        dispute, "Russian Post", "RR12345678RU", shipped_at)
    assert dispute.state == Dispute.State.RETURN_IN_TRANSIT
    assert dispute.deadline_at == shipped_at + timedelta(days=15)
    assert DisputeEvent.objects.get(kind="shipped").details == {
        "carrier": "Russian Post", "tracking_number": "RR12345678RU"}

    # When the clerk receives the goods and every condition is met...
    inspected_at = NOW + timedelta(days=8)
    clock.move_to(inspected_at, tick=False)
    answers = checklist(dispute)
    assert list(answers) == APPAREL_CODES
    with django_capture_on_commit_callbacks(execute=True):
        dispute_inspect(dispute=dispute, inspector=clerk, answers=answers, general_notes="  All good.  ")

        # Then, before the transaction commits, the refund is decided but not paid...
        dispute.refresh_from_db()
        assert dispute.state == Dispute.State.REFUND_PENDING
        assert dispute.deadline_at is None
        pending = Refund.objects.get()
        assert (pending.status, pending.amount, pending.idempotency_key) == (
            "pending", dispute.amount, f"dispute-{dispute.pk}-refund")
        assert refunded_on(line) == Decimal("0.00")

    # ...and once it commits, the refund is paid exactly once.
    inspection = Inspection.objects.get()
    assert (inspection.dispute, inspection.inspector, inspection.received_at) == (dispute, clerk, inspected_at)
    assert inspection.outcome == Inspection.Outcome.ACCEPTED
    assert inspection.answers == answers
    assert inspection.findings == []
    assert inspection.general_notes == "All good."

    refund = Refund.objects.get()
    assert refund.dispute == dispute
    assert refund.order_line == line
    assert refund.amount == PAID == dispute.amount
    assert refund.currency == "RUB"
    assert refund.idempotency_key == f"dispute-{dispute.pk}-refund"
    assert refund.status == Refund.Status.PAID
    assert refund.gateway == LOCAL_GATEWAY
    assert refund.gateway_reference == f"LOCAL-dispute-{dispute.pk}-refund"
    assert refund.paid_at == inspected_at
    assert (refund.attempts, refund.last_error) == (1, "")
    assert refund.decided_by == clerk
    assert refund.reason == "The returned goods meet the return conditions."
    assert refunded_on(line) == PAID

    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.REFUNDED
    assert dispute.resolution == Dispute.Resolution.REFUNDED
    assert dispute.closed_at == inspected_at
    assert dispute.deadline_at is None

    assert timeline(dispute) == [
        ("opened", buyer.pk, "", "awaiting_seller"),
        ("instructions_sent", seller.pk, "awaiting_seller", "awaiting_buyer_shipment"),
        ("shipped", buyer.pk, "awaiting_buyer_shipment", "return_in_transit"),
        ("inspected", clerk.pk, "return_in_transit", "refund_pending"),
        ("refund_paid", None, "refund_pending", "refunded"),
    ]
    assert DisputeEvent.objects.get(kind="inspected").details == {"outcome": "accepted", "failed": []}
    assert DisputeEvent.objects.get(kind="refund_paid").details == {
        "refund": refund.pk, "amount": "2490.00", "currency": "RUB",
        "reference": f"LOCAL-dispute-{dispute.pk}-refund"}

    # Both sides were told at every step, and every notification was e-mailed once.
    number = line.order.number
    assert sorted(told()) == sorted([
        (seller.pk, f"New dispute on order {number}"),
        (clerk.pk, f"New dispute on order {number}"),
        (buyer.pk, f"Your dispute on order {number} is open"),
        (buyer.pk, f"Return instructions for dispute #{dispute.pk}"),
        (seller.pk, f"Return on its way: dispute #{dispute.pk}"),
        (clerk.pk, f"Return on its way: dispute #{dispute.pk}"),
        (buyer.pk, f"Your return was inspected: dispute #{dispute.pk}"),
        (seller.pk, f"Dispute #{dispute.pk} inspected"),  # the clerk who inspected is not told
        (buyer.pk, "You were refunded"),
        (seller.pk, f"Dispute #{dispute.pk} was refunded"),
        (clerk.pk, f"Dispute #{dispute.pk} was refunded"),
    ])
    assert the_notification(recipient=buyer, subject="You were refunded").body == (
        f"2,490.00\u00a0₽ were refunded for “{line.title}”.")
    emails = {user.pk: user.email for user in (buyer, seller, clerk)}
    assert sorted((mail.to, mail.subject) for mail in mailoutbox) == sorted(
        ([emails[recipient]], subject) for recipient, subject in told())
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_the_marketplaces_own_warehouse_in_the_buyers_country_takes_a_local_return(line, seller, store):
    store.warehouses.update(is_active=False)
    marketplace = WarehouseFactory(store=None, country="RU", city="Podolsk", name="Marketplace returns")
    dispute = open_local_return(line)

    send_instructions(dispute, seller, warehouse=marketplace)

    assert ReturnInstructions.objects.get().warehouse == marketplace
    assert as_stored(dispute)[0] == Dispute.State.AWAITING_BUYER_SHIPMENT


def test_each_instructions_get_their_own_rma_code(seller):
    codes = set()
    for _ in range(5):
        line = disputable_line(price=PAID, store=seller.store, warehouse_country=None)
        codes.add(send_instructions(open_local_return(line), seller).instructions.rma_code)

    assert len(codes) == 5
    assert all(re.fullmatch(r"RMA-250310-[0-9A-F]{10}", code) for code in codes)


# --- return conditions, category by category -------------------------------------------------


@pytest.mark.parametrize(
    ("category", "failing", "checked", "note"),
    [
        pytest.param(
            {"name": "Jeans", "kind": Category.Kind.APPAREL},
            "washed_worn_labels", APPAREL_CODES, "Washed: the care label is faded.", id="apparel-washed",
        ),
        pytest.param(
            {"name": "Watches", "kind": Category.Kind.JEWELRY},
            "jewelry_condition",
            ["brand_packaging", "completeness", "signs_of_use", "jewelry_condition", "item_identity"],
            "Deep scratch across the glass.", id="watch-scratched",
        ),
        pytest.param(
            {"name": "Face cream", "kind": Category.Kind.COSMETICS, "not_returnable_once_opened": True},
            "sealed_packaging_opened", ["sealed_packaging_opened", *BASE_CODES],
            "The seal of the jar is broken.", id="cosmetics-opened",
        ),
    ],
)
def test_goods_failing_a_condition_of_their_category_are_rejected(
    category, failing, checked, note, clock, django_capture_on_commit_callbacks
):
    # Given goods of the category on their way back.
    line = line_in(CategoryFactory(**category))
    seller = SellerFactory(store=line.order.store)
    dispute = returned(line, seller)
    before = Notification.objects.count()

    # When the inspector finds the condition failed, with a note and a photo.
    inspected_at = NOW + timedelta(days=4)
    clock.move_to(inspected_at, tick=False)
    answers = checklist(dispute, **{failing: "fails"})
    assert list(answers) == checked
    with django_capture_on_commit_callbacks(execute=True):
        dispute_inspect(dispute=dispute, inspector=seller, answers=answers, notes={failing: note},
                        photos=[photo("defect.png")])

    # Then the return is rejected, naming that condition, and the buyer has 7 days to escalate.
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.REJECTED
    assert dispute.resolution == ""
    assert dispute.deadline_at == inspected_at + timedelta(days=7)
    inspection = Inspection.objects.get()
    assert inspection.outcome == Inspection.Outcome.REJECTED
    assert inspection.findings == [
        {"code": failing, "outcome": "fail", "message": f"{FAILED[failing]} Inspector’s note: {note}"}
    ]
    assert inspection.notes == {failing: note}
    assert inspection.answers == answers
    assert list(inspection.photos.values_list("original_name", "uploaded_by", "dispute")) == [
        ("defect.png", seller.pk, dispute.pk)]
    assert timeline(dispute)[-1] == ("inspected", seller.pk, "return_in_transit", "rejected")
    assert DisputeEvent.objects.get(kind="inspected").details == {"outcome": "rejected", "failed": [failing]}
    assert Refund.objects.count() == 0
    assert refunded_on(line) == Decimal("0.00")
    assert told(before) == [(dispute.buyer_id, f"Your return was inspected: dispute #{dispute.pk}")]
    # 12:00 UTC on 14 March + 7 days is 15:00 on 21 March in Moscow.
    assert the_notification(recipient=dispute.buyer, subject=f"Your return was inspected: dispute #{dispute.pk}"
                            ).body == ("Your return did not meet 1 return condition. See which one on the dispute "
                                       "page; accept or escalate to the marketplace by 21 Mar 2025, 15:00.")


def test_every_failed_condition_is_listed(seller, line):
    dispute = returned(line, seller)

    dispute_inspect(dispute=dispute, inspector=seller,
                    answers=checklist(dispute, signs_of_use="fails", washed_worn_labels="fails",
                                      completeness="unsure"))

    assert [(f["code"], f["outcome"]) for f in Inspection.objects.get().findings] == [
        ("completeness", "review"), ("signs_of_use", "fail"), ("washed_worn_labels", "fail")]
    # A failure outweighs doubt: the buyer may escalate, staff are not asked yet.
    assert as_stored(dispute)[0] == Dispute.State.REJECTED
    assert DisputeEvent.objects.get(kind="inspected").details == {
        "outcome": "rejected", "failed": ["signs_of_use", "washed_worn_labels"]}


def test_complete_unused_electronics_are_accepted_and_refunded(django_capture_on_commit_callbacks):
    line = line_in(CategoryFactory(name="Headphones", kind=Category.Kind.ELECTRONICS))
    seller = SellerFactory(store=line.order.store)
    dispute = returned(line, seller)
    answers = checklist(dispute)
    assert list(answers) == BASE_CODES

    with django_capture_on_commit_callbacks(execute=True):
        dispute_inspect(dispute=dispute, inspector=seller, answers=answers)

    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution, dispute.closed_at) == ("refunded", "refunded", NOW)
    assert Inspection.objects.get().outcome == Inspection.Outcome.ACCEPTED
    assert list(Refund.objects.values_list("amount", "status")) == [(PAID, "paid")]
    assert refunded_on(line) == PAID


@pytest.mark.parametrize("switched_on", ["category", "parent", "grandparent"])
def test_a_condition_switched_off_by_staff_no_longer_rejects(switched_on, django_capture_on_commit_callbacks):
    # Given jeans under Trousers under Apparel, and washed_worn_labels switched off on one of them.
    apparel = CategoryFactory(name="Apparel", kind=Category.Kind.APPAREL)
    trousers = CategoryFactory(name="Trousers", kind=Category.Kind.APPAREL, parent=apparel)
    jeans = CategoryFactory(name="Jeans", kind=Category.Kind.APPAREL, parent=trousers)
    target = {"category": jeans, "parent": trousers, "grandparent": apparel}[switched_on]
    CategoryCondition.objects.create(category=target, code="washed_worn_labels", enabled=False)
    line = line_in(jeans)
    seller = SellerFactory(store=line.order.store)
    dispute = returned(line, seller)

    # When the inspector still answers that it was washed.
    with django_capture_on_commit_callbacks(execute=True):
        dispute_inspect(dispute=dispute, inspector=seller,
                        answers=checklist(dispute) | {"washed_worn_labels": "fails"})

    # Then that condition is not part of the checklist and the buyer is refunded.
    inspection = Inspection.objects.get()
    assert sorted(inspection.answers) == sorted(BASE_CODES)  # jsonb keeps no key order
    assert (inspection.outcome, inspection.findings) == ("accepted", [])
    assert as_stored(dispute)[0] == Dispute.State.REFUNDED


def test_a_switch_on_the_category_overrides_its_parents(django_capture_on_commit_callbacks):
    # Given washing is not checked for Apparel, but is checked again for Jeans under it.
    apparel = CategoryFactory(name="Apparel", kind=Category.Kind.APPAREL)
    jeans = CategoryFactory(name="Jeans", kind=Category.Kind.APPAREL, parent=apparel)
    CategoryCondition.objects.create(category=apparel, code="washed_worn_labels", enabled=False)
    CategoryCondition.objects.create(category=jeans, code="washed_worn_labels", enabled=True)
    line = line_in(jeans)
    seller = SellerFactory(store=line.order.store)
    dispute = returned(line, seller)

    # When washed jeans come back.
    with django_capture_on_commit_callbacks(execute=True):
        dispute_inspect(dispute=dispute, inspector=seller, answers=checklist(dispute, washed_worn_labels="fails"))

    # Then the nearer switch wins: rejected.
    assert Inspection.objects.get().outcome == Inspection.Outcome.REJECTED
    assert [f["code"] for f in Inspection.objects.get().findings] == ["washed_worn_labels"]
    assert as_stored(dispute)[0] == Dispute.State.REJECTED
    assert Refund.objects.count() == 0


@pytest.mark.parametrize(
    ("switches", "expected"),
    [
        pytest.param({}, APPAREL_CODES, id="defaults"),
        pytest.param({"grandparent": False}, BASE_CODES, id="off-on-grandparent"),
        pytest.param({"grandparent": False, "parent": True}, APPAREL_CODES, id="parent-overrides-grandparent"),
        pytest.param({"grandparent": True, "parent": False}, BASE_CODES, id="parent-overrides-grandparent-off"),
        pytest.param({"parent": False, "category": True}, APPAREL_CODES, id="category-overrides-parent"),
        pytest.param({"grandparent": True, "parent": True, "category": False}, BASE_CODES, id="category-off"),
    ],
)
def test_the_nearest_switch_up_the_tree_decides(switches, expected, django_assert_num_queries):
    apparel = CategoryFactory(name="Apparel", kind=Category.Kind.APPAREL)
    trousers = CategoryFactory(name="Trousers", kind=Category.Kind.APPAREL, parent=apparel)
    jeans = CategoryFactory(name="Jeans", kind=Category.Kind.APPAREL, parent=trousers)
    CategoryFactory(name="Unrelated", kind=Category.Kind.APPAREL)
    where = {"grandparent": apparel, "parent": trousers, "category": jeans}
    for level, enabled in switches.items():
        CategoryCondition.objects.create(category=where[level], code="washed_worn_labels", enabled=enabled)

    with django_assert_num_queries(1):
        codes = selectors.enabled_condition_codes(jeans)

    assert codes == expected


def test_a_switch_may_add_a_condition_a_category_does_not_have_by_default():
    sunglasses = CategoryFactory(name="Sunglasses", kind=Category.Kind.OTHER)
    CategoryCondition.objects.create(category=sunglasses, code="jewelry_condition", enabled=True)

    assert selectors.enabled_condition_codes(sunglasses) == [
        "brand_packaging", "completeness", "signs_of_use", "jewelry_condition", "item_identity"]


def test_an_unsure_inspector_sends_the_case_to_staff(line, seller, clock, django_capture_on_commit_callbacks,
                                                      mailoutbox):
    # Given goods on their way back, an active and a former staff member.
    dispute = returned(line, seller)
    colleague = SellerFactory(store=seller.store)
    staff = StaffFactory(email="agent@example.com", permissions=["disputes.decide_dispute"])
    StaffFactory(is_active=False, permissions=["disputes.decide_dispute"])
    StaffFactory()  # staff who may not decide are not asked to
    before = Notification.objects.count()
    inspected_at = NOW + timedelta(days=2)
    clock.move_to(inspected_at, tick=False)

    # When the inspector cannot tell whether the shirt was worn.
    with django_capture_on_commit_callbacks(execute=True):
        dispute_inspect(dispute=dispute, inspector=seller,
                        answers=checklist(dispute, washed_worn_labels="unsure"),
                        notes={"washed_worn_labels": "Faint smell of perfume."}, general_notes="Please decide.")

    # Then staff decide, within 7 days; no refund and no rejection yet.
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.ESCALATED
    assert dispute.deadline_at == inspected_at + timedelta(days=7)
    inspection = Inspection.objects.get()
    assert inspection.outcome == Inspection.Outcome.REVIEW
    assert inspection.findings == [{
        "code": "washed_worn_labels", "outcome": "review",
        "message": f"To be decided by marketplace staff: {TEXT['washed_worn_labels']} Inspector’s note: Faint smell "
                   "of perfume.",
    }]
    assert timeline(dispute)[-1] == ("inspected", seller.pk, "return_in_transit", "escalated")
    assert DisputeEvent.objects.get(kind="inspected").details == {"outcome": "review", "failed": []}
    assert Refund.objects.count() == 0
    assert sorted(told(before)) == sorted([
        (staff.pk, f"Inspection of dispute #{dispute.pk} needs a decision"),
        (dispute.buyer_id, f"Your return was inspected: dispute #{dispute.pk}"),
        (colleague.pk, f"Dispute #{dispute.pk} inspected"),
    ])
    staff_note = Notification.objects.get(recipient=staff)
    assert (staff_note.body, staff_note.url) == ("Please decide.", f"/admin/disputes/dispute/{dispute.pk}/change/")
    assert "agent@example.com" in [mail.to[0] for mail in mailoutbox]


# --- refusals that change nothing ---------------------------------------------------------------


def assert_refused(error_info, code: ErrorCode, message: str | None = None) -> None:
    assert error_info.value.code == code
    if message is not None:
        assert error_info.value.message == message


def test_another_stores_seller_cannot_send_instructions(line, seller, stranger):
    dispute = open_local_return(line)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        send_instructions(dispute, stranger)

    assert_refused(refused, ErrorCode.NOT_ALLOWED, "Only the store that sold this item can do this.")
    assert (rows(), as_stored(dispute)) == (before, stored)


@pytest.mark.parametrize("who", ["another_store", "the_buyer", "staff"])
def test_only_the_store_may_inspect(line, seller, who):
    dispute = returned(line, seller)
    inspector = {"another_store": SellerFactory(), "the_buyer": dispute.buyer, "staff": StaffFactory()}[who]
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_inspect(dispute=dispute, inspector=inspector, answers=checklist(dispute))

    assert_refused(refused, ErrorCode.NOT_ALLOWED, "Only the store that sold this item can do this.")
    assert (rows(), as_stored(dispute)) == (before, stored)


@pytest.mark.parametrize("step", ["before_instructions", "before_shipping"])
def test_goods_cannot_be_inspected_before_the_buyer_shipped_them(line, seller, step):
    dispute = open_local_return(line)
    if step == "before_shipping":
        send_instructions(dispute, seller)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_inspect(dispute=dispute, inspector=seller, answers=checklist(dispute))

    state = {"before_instructions": "Waiting for the seller", "before_shipping": "Waiting for the buyer to ship"}[step]
    assert_refused(refused, ErrorCode.INVALID_TRANSITION, f"This dispute is “{state}”, so this cannot be done now.")
    assert (rows(), as_stored(dispute)) == (before, stored)


@pytest.mark.postgres
def test_inspecting_locks_the_dispute_and_its_line_but_not_the_catalogue(line, seller):
    # FOR UPDATE on a join locks every joined row: the product and its category would be
    # locked against every other inspection and every catalogue edit until commit.
    dispute = returned(line, seller)

    with CaptureQueriesContext(connection) as queries:
        dispute_inspect(dispute=dispute, inspector=seller, answers=checklist(dispute))

    locking = [query["sql"] for query in queries.captured_queries if "FOR UPDATE" in query["sql"]]
    assert locking
    # Once each, in the one lock order of every service: the dispute, then its line.
    assert [re.search(r"FOR UPDATE( OF .*)?$", sql).group(1) for sql in locking] == [
        ' OF "disputes_dispute"',  # the dispute, with its line and order read alongside
        ' OF "orders_orderline"',  # the line whose refundable amount is checked
    ]


def test_goods_cannot_be_inspected_twice(line, seller):
    dispute = returned(line, seller)
    dispute_inspect(dispute=dispute, inspector=seller, answers=checklist(dispute, signs_of_use="fails"))
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_inspect(dispute=dispute, inspector=seller, answers=checklist(dispute))

    assert_refused(refused, ErrorCode.INVALID_TRANSITION)
    assert (rows(), as_stored(dispute)) == (before, stored)


@pytest.mark.parametrize(
    "where",
    ["own_store_in_kazakhstan", "another_store_in_russia", "marketplace_in_belarus", "inactive_own_in_russia",
     "own_not_taking_returns"],
)
def test_a_local_return_must_go_to_an_active_return_warehouse_in_the_buyers_country(line, seller, store, where):
    warehouse = {
        "own_store_in_kazakhstan": lambda: WarehouseFactory(store=store, country="KZ", city="Almaty"),
        "another_store_in_russia": lambda: WarehouseFactory(store=StoreFactory(), country="RU"),
        "marketplace_in_belarus": lambda: WarehouseFactory(store=None, country="BY", city="Minsk"),
        "inactive_own_in_russia": lambda: WarehouseFactory(store=store, country="RU", is_active=False),
        "own_not_taking_returns": lambda: WarehouseFactory(store=store, country="RU", accepts_returns=False,
                                                           stocks_goods=True),
    }[where]()
    dispute = open_local_return(line)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        send_instructions(dispute, seller, warehouse=warehouse)

    assert_refused(refused, ErrorCode.INVALID_WAREHOUSE, "Choose an active return warehouse in the buyer's country.")
    assert (rows(), as_stored(dispute)) == (before, stored)


def test_a_refund_only_dispute_gets_no_return_instructions(line, seller):
    dispute = open_refund_only(line)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        send_instructions(dispute, seller)

    assert_refused(refused, ErrorCode.INVALID_TRANSITION, "Return instructions are only for returns.")
    assert (rows(), as_stored(dispute)) == (before, stored)


def test_instructions_are_sent_once(line, seller):
    dispute = open_local_return(line)
    send_instructions(dispute, seller)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        send_instructions(dispute, seller, carrier="CDEK")

    assert_refused(refused, ErrorCode.INVALID_TRANSITION,
                   "This dispute is “Waiting for the buyer to ship”, so this cannot be done now.")
    assert (rows(), as_stored(dispute)) == (before, stored)
    assert ReturnInstructions.objects.get().carrier == "Russian Post"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"method": "carrier_pigeon"}, "Choose how the goods are returned."),
        ({"carrier": "   "}, "Name the carrier the buyer should use."),
    ],
)
def test_instructions_need_a_method_and_a_carrier(line, seller, overrides, message):
    dispute = open_local_return(line)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        send_instructions(dispute, seller, **overrides)

    assert_refused(refused, ErrorCode.INVALID_CHOICE, message)
    assert (rows(), as_stored(dispute)) == (before, stored)


TRACKING_HELP = "Enter the tracking number from your receipt: 8 to 40 letters, digits or dashes."


@pytest.mark.parametrize(
    ("carrier", "tracking", "message"),
    [
        ("", "RR123456785RU", "Name the carrier you shipped with."),
        ("   ", "RR123456785RU", "Name the carrier you shipped with."),
        ("Russian Post", "abc", TRACKING_HELP),
        ("Russian Post", "12", TRACKING_HELP),
        ("Russian Post", "!!!!!!!!", TRACKING_HELP),
        ("Russian Post", "ABCDEFGHIJ", TRACKING_HELP),  # no digit
        ("Russian Post", "", TRACKING_HELP),
        ("Russian Post", "-RR1234567RU", TRACKING_HELP),  # starts with a dash
        ("Russian Post", "RR1234/567RU", TRACKING_HELP),
        ("Russian Post", "1" * 41, TRACKING_HELP),
    ],
)
def test_shipping_needs_a_carrier_and_a_real_tracking_number(line, seller, carrier, tracking, message):
    dispute = open_local_return(line)
    send_instructions(dispute, seller)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        ship(dispute, tracking_number=tracking, carrier=carrier)

    assert_refused(refused, ErrorCode.INVALID_TRACKING, message)
    assert (rows(), as_stored(dispute)) == (before, stored)


@pytest.mark.parametrize(("typed", "stored"), [
    ("12345678", "12345678"),
    ("cdek-1234-5678", "CDEK-1234-5678"),
    ("\t1Z 999 AA1 01 2345 6784\n", "1Z999AA10123456784"),
    ("1" * 40, "1" * 40),
])
def test_tracking_numbers_are_stored_without_spaces_in_capitals(line, seller, typed, stored):
    dispute = open_local_return(line)
    send_instructions(dispute, seller)

    ship(dispute, tracking_number=typed)

    assert ReturnShipment.objects.get().tracking_number == stored


@pytest.mark.parametrize("who", ["another_buyer", "the_seller"])
def test_only_the_buyer_ships(line, seller, who):
    dispute = open_local_return(line)
    send_instructions(dispute, seller)
    before, stored = rows(), as_stored(dispute)
    shipper = BuyerFactory() if who == "another_buyer" else seller

    with pytest.raises(DomainError) as refused:
        dispute_ship(dispute=dispute, buyer=shipper, carrier="Russian Post", tracking_number="RR123456785RU")

    assert_refused(refused, ErrorCode.NOT_ALLOWED, "Only the buyer who opened this dispute can do this.")
    assert (rows(), as_stored(dispute)) == (before, stored)


def test_the_buyer_cannot_ship_before_the_instructions(line, seller):
    dispute = open_local_return(line)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        ship(dispute)

    assert_refused(refused, ErrorCode.INVALID_TRANSITION,
                   "This dispute is “Waiting for the seller”, so this cannot be done now.")
    assert (rows(), as_stored(dispute)) == (before, stored)


@pytest.mark.parametrize(
    ("answers", "missing"),
    [
        ({"washed_worn_labels": None}, "washed_worn_labels"),
        ({"completeness": None, "item_identity": None}, "completeness, item_identity"),
        ({"signs_of_use": "maybe"}, "signs_of_use"),
        ({"brand_packaging": ""}, "brand_packaging"),
    ],
)
def test_every_condition_of_the_checklist_must_be_answered(line, seller, answers, missing):
    dispute = returned(line, seller)
    given = {code: answer for code, answer in (checklist(dispute) | answers).items() if answer is not None}
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_inspect(dispute=dispute, inspector=seller, answers=given, photos=[photo()])

    assert_refused(refused, ErrorCode.INVALID_CHOICE,
                   f"Answer every condition of the checklist (missing: {missing}).")
    assert (rows(), as_stored(dispute)) == (before, stored)


def test_a_bad_inspection_photo_refuses_the_whole_inspection(line, seller):
    dispute = returned(line, seller)
    before, stored = rows(), as_stored(dispute)
    not_a_photo = photo("notes.txt", content=b"just text", content_type="text/plain")

    with pytest.raises(DomainError) as refused:
        dispute_inspect(dispute=dispute, inspector=seller, answers=checklist(dispute), photos=[photo(), not_a_photo])

    assert_refused(refused, ErrorCode.INVALID_UPLOAD)
    assert (rows(), as_stored(dispute)) == (before, stored)


@pytest.mark.parametrize("answer", ["accept", "counter_offer", "reject"])
def test_the_seller_cannot_answer_a_local_return_except_with_instructions(line, seller, answer):
    dispute = open_local_return(line)
    before, stored = rows(), as_stored(dispute)
    act = {
        "accept": lambda: dispute_accept(dispute=dispute, seller=seller),
        "counter_offer": lambda: dispute_counter_offer(dispute=dispute, seller=seller, amount=Decimal("1000.00"),
                                                       message="Keep it for half."),
        "reject": lambda: dispute_reject(dispute=dispute, seller=seller, reason="Not our fault."),
    }[answer]

    with pytest.raises(DomainError) as refused:
        act()

    assert_refused(refused, ErrorCode.INVALID_TRANSITION, LOCAL_RETURN_ONLY)
    assert (rows(), as_stored(dispute)) == (before, stored)


# --- refund only: the seller accepts, counter-offers or rejects ---------------------------------


def test_the_seller_accepts_a_refund_only_claim_and_the_buyer_is_paid_what_they_asked(
    line, seller, clock, django_capture_on_commit_callbacks
):
    dispute = open_refund_only(line, amount=Decimal("1500.00"))
    accepted_at = NOW + timedelta(days=1)
    clock.move_to(accepted_at, tick=False)
    before = Notification.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        dispute_accept(dispute=dispute, seller=seller)

    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution, dispute.deadline_at, dispute.closed_at) == (
        "refunded", "refunded", None, accepted_at)
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.decided_by, refund.reason, refund.paid_at) == (
        Decimal("1500.00"), "paid", seller, "Accepted by the seller.", accepted_at)
    assert refunded_on(line) == Decimal("1500.00")
    assert timeline(dispute) == [
        ("opened", dispute.buyer_id, "", "awaiting_seller"),
        ("accepted", seller.pk, "awaiting_seller", "refund_pending"),
        ("refund_paid", None, "refund_pending", "refunded"),
    ]
    assert told(before) == [
        (dispute.buyer_id, f"The seller accepted dispute #{dispute.pk}"),
        (dispute.buyer_id, "You were refunded"),
        (seller.pk, f"Dispute #{dispute.pk} was refunded"),
    ]


def test_another_stores_seller_cannot_accept(line, seller, stranger):
    dispute = open_refund_only(line)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_accept(dispute=dispute, seller=stranger)

    assert_refused(refused, ErrorCode.NOT_ALLOWED)
    assert (rows(), as_stored(dispute)) == (before, stored)


def test_accepting_twice_refunds_once(line, seller, django_capture_on_commit_callbacks):
    dispute = open_refund_only(line)
    with django_capture_on_commit_callbacks(execute=True):
        dispute_accept(dispute=dispute, seller=seller)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_accept(dispute=dispute, seller=seller)

    assert_refused(refused, ErrorCode.INVALID_TRANSITION, "This dispute is “Refunded”, so this cannot be done now.")
    assert (rows(), as_stored(dispute)) == (before, stored)
    assert refunded_on(line) == PAID


def test_an_acceptance_larger_than_what_is_left_to_refund_is_refused(line, seller):
    # Given the line was partly refunded after the dispute was opened (e.g. by staff by hand).
    dispute = open_refund_only(line)
    OrderLine.objects.filter(pk=line.pk).update(refunded_amount=Decimal("100.00"))
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_accept(dispute=dispute, seller=seller)

    assert_refused(refused, ErrorCode.INVALID_AMOUNT, "A refund must be more than zero and at most 2,390.00\u00a0₽.")
    assert (rows(), as_stored(dispute)) == (before, stored)


def test_the_buyer_accepts_a_counter_offer_and_is_refunded_exactly_the_offer(
    line, seller, clock, django_capture_on_commit_callbacks
):
    dispute = open_refund_only(line)
    offered_at = NOW + timedelta(days=2)
    clock.move_to(offered_at, tick=False)

    dispute_counter_offer(dispute=dispute, seller=seller, amount=Decimal("990.50"), message="  Keep it for less.  ")

    dispute.refresh_from_db()
    assert (dispute.state, dispute.counter_offer_amount, dispute.seller_answer, dispute.deadline_at) == (
        "counter_offered", Decimal("990.50"), "Keep it for less.", offered_at + timedelta(days=7))
    assert DisputeEvent.objects.get(kind="counter_offered").details == {
        "amount": "990.50", "message": "Keep it for less."}
    assert Refund.objects.count() == 0
    before = Notification.objects.count()

    accepted_at = offered_at + timedelta(days=1)
    clock.move_to(accepted_at, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        dispute_accept_offer(dispute=dispute, buyer=dispute.buyer)

    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution, dispute.closed_at, dispute.deadline_at) == (
        "refunded", "refunded", accepted_at, None)
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.decided_by) == (Decimal("990.50"), "paid", dispute.buyer)
    assert refund.reason == "The buyer accepted the seller's counter-offer."
    assert refunded_on(line) == Decimal("990.50")
    assert [kind for kind, *_ in timeline(dispute)] == ["opened", "counter_offered", "offer_accepted", "refund_paid"]
    assert told(before) == [
        (seller.pk, f"Counter-offer accepted: dispute #{dispute.pk}"),
        (dispute.buyer_id, "You were refunded"),
        (seller.pk, f"Dispute #{dispute.pk} was refunded"),
    ]


@pytest.mark.parametrize("amount", ["0", "-1.00", "2490.00", "2490.01", "5000"])
def test_a_counter_offer_must_be_between_zero_and_the_amount_asked(line, seller, amount):
    dispute = open_refund_only(line)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_counter_offer(dispute=dispute, seller=seller, amount=Decimal(amount), message="Half?")

    assert_refused(refused, ErrorCode.INVALID_AMOUNT, "A counter-offer must be more than zero and less than 2,490.00\u00a0₽.")
    assert (rows(), as_stored(dispute)) == (before, stored)


def test_only_the_buyer_accepts_a_counter_offer(line, seller):
    dispute = open_refund_only(line)
    dispute_counter_offer(dispute=dispute, seller=seller, amount=Decimal("1000.00"), message="Half?")
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_accept_offer(dispute=dispute, buyer=seller)

    assert_refused(refused, ErrorCode.NOT_ALLOWED)
    assert (rows(), as_stored(dispute)) == (before, stored)


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_a_rejection_needs_a_reason(line, seller, reason):
    dispute = open_refund_only(line)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_reject(dispute=dispute, seller=seller, reason=reason)

    assert_refused(refused, ErrorCode.REASON_REQUIRED, "Explain why you reject the dispute.")
    assert (rows(), as_stored(dispute)) == (before, stored)


def test_the_buyer_accepts_the_rejection_and_the_dispute_closes_without_a_refund(line, seller, clock):
    dispute = open_refund_only(line)
    rejected_at = NOW + timedelta(days=1)
    clock.move_to(rejected_at, tick=False)

    dispute_reject(dispute=dispute, seller=seller, reason=" The box was crushed by the carrier. ",
                   evidence=[photo("handover.png")])

    dispute.refresh_from_db()
    assert (dispute.state, dispute.seller_answer, dispute.deadline_at) == (
        "rejected", "The box was crushed by the carrier.", rejected_at + timedelta(days=7))
    message = DisputeMessage.objects.get()
    assert (message.author, message.body) == (seller, "The box was crushed by the carrier.")
    assert list(message.attachments.values_list("original_name", flat=True)) == ["handover.png"]
    assert DisputeEvent.objects.get(kind="rejected").details == {"reason": "The box was crushed by the carrier."}

    closed_at = rejected_at + timedelta(days=3)
    clock.move_to(closed_at, tick=False)
    dispute_accept_rejection(dispute=dispute, buyer=dispute.buyer)

    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution, dispute.closed_at, dispute.deadline_at) == (
        "closed", "rejected", closed_at, None)
    assert Refund.objects.count() == 0
    assert refunded_on(line) == Decimal("0.00")
    assert timeline(dispute) == [
        ("opened", dispute.buyer_id, "", "awaiting_seller"),
        ("rejected", seller.pk, "awaiting_seller", "rejected"),
        ("rejection_accepted", dispute.buyer_id, "rejected", "closed"),
    ]


# --- escalation and staff decisions ------------------------------------------------------------


@pytest.fixture
def decider():
    """A support supervisor: staff holding ``disputes.decide_dispute``."""
    user = StaffFactory(email="supervisor@example.com",
                        permissions=["disputes.view_dispute", "disputes.change_dispute", "disputes.decide_dispute"])
    return User.objects.get(pk=user.pk)  # a fresh object: permissions are cached per instance


@pytest.fixture
def escalated(line, seller, clock):
    """A refund-only claim the seller rejected and the buyer escalated."""
    dispute = open_refund_only(line)
    dispute_reject(dispute=dispute, seller=seller, reason="Damaged by the buyer.")
    dispute_escalate(dispute=dispute, buyer=dispute.buyer, reason="It arrived like that; see the photo.")
    dispute.refresh_from_db()
    return dispute


def test_the_buyer_escalates_a_rejection_to_staff(line, seller, clock):
    dispute = open_refund_only(line)
    dispute_reject(dispute=dispute, seller=seller, reason="Damaged by the buyer.")
    agent = StaffFactory(permissions=["disputes.decide_dispute"])
    StaffFactory()  # staff who may not decide are not asked to
    before = Notification.objects.count()
    escalated_at = NOW + timedelta(days=2)
    clock.move_to(escalated_at, tick=False)

    dispute_escalate(dispute=dispute, buyer=dispute.buyer, reason="  It arrived like that.  ")

    dispute.refresh_from_db()
    assert (dispute.state, dispute.deadline_at) == ("escalated", escalated_at + timedelta(days=7))
    assert timeline(dispute)[-1] == ("escalated", dispute.buyer_id, "rejected", "escalated")
    assert DisputeEvent.objects.get(kind="escalated").details == {"reason": "It arrived like that."}
    assert DisputeMessage.objects.filter(author=dispute.buyer).get().body == "It arrived like that."
    assert told(before) == [
        (seller.pk, f"Dispute #{dispute.pk} was escalated"),
        (agent.pk, f"Escalated dispute #{dispute.pk} needs a decision"),
    ]


def test_the_buyer_escalates_a_failed_inspection(line, seller):
    dispute = returned(line, seller)
    dispute_inspect(dispute=dispute, inspector=seller, answers=checklist(dispute, signs_of_use="fails"))

    dispute_escalate(dispute=dispute, buyer=dispute.buyer, reason="It was like that when it arrived.")

    assert as_stored(dispute)[0] == Dispute.State.ESCALATED


@pytest.mark.parametrize("reason", ["", "  "])
def test_an_escalation_needs_a_reason(line, seller, reason):
    dispute = open_refund_only(line)
    dispute_reject(dispute=dispute, seller=seller, reason="Damaged by the buyer.")
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_escalate(dispute=dispute, buyer=dispute.buyer, reason=reason)

    assert_refused(refused, ErrorCode.REASON_REQUIRED, "Tell the marketplace why you disagree.")
    assert (rows(), as_stored(dispute)) == (before, stored)


@pytest.mark.parametrize(
    ("decision", "amount", "refund", "state", "resolution"),
    [
        (REFUND_PARTIAL, Decimal("1200.00"), Decimal("1200.00"), "refunded", "refunded"),
        (REFUND_FULL, None, PAID, "refunded", "refunded"),
        (REFUND_FULL, Decimal("5.00"), PAID, "refunded", "refunded"),  # an amount is ignored for a full refund
        (REJECT, None, None, "closed", "rejected"),
    ],
)
def test_staff_decide_an_escalated_dispute(
    escalated, seller, decider, clock, django_capture_on_commit_callbacks, decision, amount, refund, state,
    resolution,
):
    decided_at = NOW + timedelta(days=4)
    clock.move_to(decided_at, tick=False)
    before = Notification.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        dispute_staff_decide(dispute=escalated, staff=decider, decision=decision,
                             reason="  Photos show transport damage.  ", amount=amount)

    escalated.refresh_from_db()
    assert (escalated.state, escalated.resolution, escalated.closed_at, escalated.deadline_at) == (
        state, resolution, decided_at, None)
    event = DisputeEvent.objects.get(kind="staff_decided")
    assert (event.actor, event.from_state) == (decider, "escalated")
    assert event.details == {"decision": decision, "reason": "Photos show transport damage.",
                             **({"amount": str(refund)} if refund else {})}
    assert refunded_on(escalated.order_line) == (refund or Decimal("0.00"))
    if refund is None:
        assert event.to_state == "closed"
        assert Refund.objects.count() == 0
        summary = "Marketplace staff rejected the dispute. Reason: Photos show transport damage."
    else:
        assert event.to_state == "refund_pending"
        assert list(Refund.objects.values_list("amount", "status", "decided_by", "reason")) == [
            (refund, "paid", decider.pk, "Photos show transport damage.")]
        summary = (f"Marketplace staff decided a refund of {format_money(refund, 'RUB')}. Reason: Photos show "
                   "transport damage.")
    decisions = [n for n in Notification.objects.all() if n.subject == f"Decision on dispute #{escalated.pk}"]
    assert sorted((n.recipient_id, n.body) for n in decisions) == sorted([
        (escalated.buyer_id, summary), (seller.pk, summary)])
    assert {recipient for recipient, _subject in told(before)} == {escalated.buyer_id, seller.pk}


def test_a_superuser_may_decide(escalated):
    boss = StaffFactory(is_superuser=True)

    dispute_staff_decide(dispute=escalated, staff=boss, decision=REJECT, reason="No transport damage.")

    assert as_stored(escalated)[:2] == ("closed", "rejected")


@pytest.mark.parametrize("who", ["staff_without_permission", "seller", "buyer", "inactive_decider",
                                 "permission_without_staff_status"])
def test_only_staff_allowed_to_decide_may_decide(escalated, seller, who):
    permission = Permission.objects.get(codename="decide_dispute", content_type__app_label="disputes")
    if who == "staff_without_permission":
        actor = StaffFactory()
    elif who == "seller":
        actor = seller
    elif who == "buyer":
        actor = escalated.buyer
    else:
        actor = StaffFactory(is_active=who != "inactive_decider", is_staff=who != "permission_without_staff_status")
        actor.user_permissions.add(permission)
        actor = User.objects.get(pk=actor.pk)
    before, stored = rows(), as_stored(escalated)

    with pytest.raises(DomainError) as refused:
        dispute_staff_decide(dispute=escalated, staff=actor, decision=REFUND_FULL, reason="Refund it.")

    assert_refused(refused, ErrorCode.NOT_ALLOWED, "You may not decide disputes.")
    assert (rows(), as_stored(escalated)) == (before, stored)


@pytest.mark.parametrize("decision", [REFUND_FULL, REFUND_PARTIAL, REJECT])
@pytest.mark.parametrize("reason", ["", " \t "])
def test_a_staff_decision_needs_a_reason(escalated, decider, decision, reason):
    before, stored = rows(), as_stored(escalated)

    with pytest.raises(DomainError) as refused:
        dispute_staff_decide(dispute=escalated, staff=decider, decision=decision, reason=reason,
                             amount=Decimal("100.00"))

    assert_refused(refused, ErrorCode.REASON_REQUIRED,
                   "Write the reason for the decision; both sides will read it.")
    assert (rows(), as_stored(escalated)) == (before, stored)


@pytest.mark.parametrize("amount", [None, Decimal("0"), Decimal("-10.00"), PAID, Decimal("2490.01")])
def test_a_partial_refund_must_be_between_zero_and_the_amount_asked(escalated, decider, amount):
    before, stored = rows(), as_stored(escalated)

    with pytest.raises(DomainError) as refused:
        dispute_staff_decide(dispute=escalated, staff=decider, decision=REFUND_PARTIAL, reason="Half.",
                             amount=amount)

    assert_refused(refused, ErrorCode.INVALID_AMOUNT,
                   "A partial refund must be more than zero and less than 2,490.00\u00a0₽.")
    assert (rows(), as_stored(escalated)) == (before, stored)


def test_an_unknown_decision_is_refused(escalated, decider):
    before, stored = rows(), as_stored(escalated)

    with pytest.raises(DomainError) as refused:
        dispute_staff_decide(dispute=escalated, staff=decider, decision="refund_double", reason="Because.")

    assert_refused(refused, ErrorCode.INVALID_CHOICE, "Choose a decision.")
    assert (rows(), as_stored(escalated)) == (before, stored)


def test_staff_cannot_decide_a_dispute_that_is_not_escalated(line, seller, decider):
    dispute = open_refund_only(line)
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_staff_decide(dispute=dispute, staff=decider, decision=REFUND_FULL, reason="Refund it.")

    assert_refused(refused, ErrorCode.INVALID_TRANSITION,
                   "This dispute is “Waiting for the seller”, so this cannot be done now.")
    assert (rows(), as_stored(dispute)) == (before, stored)


def test_deciding_twice_has_one_effect(escalated, decider, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dispute_staff_decide(dispute=escalated, staff=decider, decision=REFUND_FULL, reason="Transport damage.")
    before, stored = rows(), as_stored(escalated)

    with pytest.raises(DomainError) as refused:
        dispute_staff_decide(dispute=escalated, staff=decider, decision=REFUND_FULL, reason="Transport damage.")

    assert_refused(refused, ErrorCode.INVALID_TRANSITION)
    assert (rows(), as_stored(escalated)) == (before, stored)
    assert refunded_on(escalated.order_line) == PAID


# --- paying the refund -------------------------------------------------------------------------


@pytest.fixture
def pending_refund(line, seller) -> Refund:
    """A refund decided by the seller whose payment has not run yet (no commit in these tests)."""
    dispute_accept(dispute=open_refund_only(line), seller=seller)
    return Refund.objects.get()


def test_a_failing_gateway_leaves_the_refund_failed_and_nothing_paid(pending_refund, line, settings):
    settings.PAYMENT_GATEWAY = f"{__name__}.FailingGateway"
    before = Notification.objects.count()

    refund = refund_pay(refund_id=pending_refund.pk)

    refund.refresh_from_db()
    assert (refund.status, refund.attempts, refund.last_error) == ("failed", 1, "Provider unavailable (HTTP 503)")
    assert (refund.paid_at, refund.gateway_reference) == (None, "")
    dispute = refund.dispute
    assert as_stored(dispute)[:4] == ("refund_pending", "", None, None)
    assert refunded_on(line) == Decimal("0.00")
    failed = DisputeEvent.objects.get(kind="refund_failed")
    assert (failed.actor, failed.from_state, failed.to_state) == (None, "refund_pending", "refund_pending")
    assert failed.details == {"refund": refund.pk, "attempt": 1, "error": "Provider unavailable (HTTP 503)"}
    assert not DisputeEvent.objects.filter(kind="refund_paid").exists()
    assert Notification.objects.count() == before  # nobody is told they were refunded

    # A second failure counts a second attempt.
    refund_pay(refund_id=refund.pk)
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("failed", 2)
    assert list(DisputeEvent.objects.filter(kind="refund_failed").values_list("details__attempt", flat=True)) == [1, 2]

    # When the provider is back, the next attempt pays it.
    settings.PAYMENT_GATEWAY = LOCAL_GATEWAY
    refund_pay(refund_id=refund.pk)
    refund.refresh_from_db()
    assert (refund.status, refund.attempts, refund.last_error) == ("paid", 3, "")
    assert refund.gateway_reference == f"LOCAL-dispute-{dispute.pk}-refund"
    assert refund.paid_at == NOW
    assert refunded_on(line) == PAID
    assert as_stored(dispute)[:4] == ("refunded", "refunded", None, NOW)
    assert [kind for kind, *_ in timeline(dispute)] == [
        "opened", "accepted", "refund_failed", "refund_failed", "refund_paid"]

    # Paying it again changes nothing.
    before, paid = rows(), Refund.objects.values().get()
    again = refund_pay(refund_id=refund.pk)
    assert again.status == Refund.Status.PAID
    assert (rows(), Refund.objects.values().get()) == (before, paid)
    assert DisputeEvent.objects.filter(kind="refund_paid").count() == 1


def test_a_gateway_failure_after_commit_does_not_undo_the_decision(
    line, seller, settings, django_capture_on_commit_callbacks
):
    settings.PAYMENT_GATEWAY = f"{__name__}.FailingGateway"
    dispute = open_refund_only(line)

    with django_capture_on_commit_callbacks(execute=True):
        dispute_accept(dispute=dispute, seller=seller)  # the task's failure is logged, not raised here

    refund = Refund.objects.get()
    assert (refund.status, refund.attempts, refund.last_error) == ("failed", 1, "Provider unavailable (HTTP 503)")
    assert timeline(dispute) == [
        ("opened", dispute.buyer_id, "", "awaiting_seller"),
        ("accepted", seller.pk, "awaiting_seller", "refund_pending"),
        ("refund_failed", None, "refund_pending", "refund_pending"),
    ]
    assert as_stored(dispute)[0] == Dispute.State.REFUND_PENDING
    assert refunded_on(line) == Decimal("0.00")

    # The periodic sweep pays it once the provider is back.
    settings.PAYMENT_GATEWAY = LOCAL_GATEWAY
    assert pay_due_refunds() == 1
    assert Refund.objects.get().status == Refund.Status.PAID
    assert refunded_on(line) == PAID


def test_the_sweep_pays_pending_and_failed_refunds_and_leaves_paid_ones_alone(seller, store, settings):
    lines = [disputable_line(price=PAID, store=store, warehouse_country=None) for _ in range(3)]
    disputes = [open_refund_only(line) for line in lines]
    for dispute in disputes:
        dispute_accept(dispute=dispute, seller=seller)
    pending, failed, paid = (Refund.objects.get(dispute=d) for d in disputes)
    refund_pay(refund_id=paid.pk)
    settings.PAYMENT_GATEWAY = f"{__name__}.FailingGateway"
    refund_pay(refund_id=failed.pk)
    settings.PAYMENT_GATEWAY = LOCAL_GATEWAY
    paid_before = Refund.objects.values().get(pk=paid.pk)

    assert pay_due_refunds.delay().get() == 2

    statuses = dict(Refund.objects.values_list("pk", "status"))
    assert statuses == {pending.pk: "paid", failed.pk: "paid", paid.pk: "paid"}
    assert Refund.objects.values().get(pk=paid.pk) == paid_before
    assert [refunded_on(line) for line in lines] == [PAID, PAID, PAID]
    assert [as_stored(d)[0] for d in disputes] == ["refunded"] * 3
    assert DisputeEvent.objects.filter(kind="refund_paid").count() == 3

    assert pay_due_refunds() == 0  # a second sweep finds nothing to do
    assert DisputeEvent.objects.filter(kind="refund_paid").count() == 3


def test_the_payment_task_pays_once(pending_refund, line):
    assert pay_refunds.delay([pending_refund.pk]).get() == 1
    assert pay_refunds.delay([pending_refund.pk]).get() == 1  # already paid: it stays paid, once

    assert refunded_on(line) == PAID
    assert DisputeEvent.objects.filter(kind="refund_paid").count() == 1
    assert Refund.objects.get().attempts == 1


# --- withdrawing and reopening on the return leg ----------------------------------------------


def test_a_return_withdrawn_before_shipping_and_reopened_resumes_with_a_fresh_ship_by(line, seller, clock):
    # Given instructions were sent, then the buyer withdrew.
    dispute = open_local_return(line)
    send_instructions(dispute, seller)
    first = ReturnInstructions.objects.get()
    dispute_withdraw(dispute=dispute, buyer=dispute.buyer)
    reopened_at = NOW + timedelta(days=2)
    clock.move_to(reopened_at, tick=False)

    # When the buyer reopens it
    dispute_reopen(dispute=dispute, buyer=dispute.buyer)

    # Then it resumes waiting for the buyer's shipment, with the same instructions and RMA code,
    # and the step's deadline started afresh.
    instructions = ReturnInstructions.objects.get()
    assert (instructions.pk, instructions.rma_code) == (first.pk, first.rma_code)
    assert instructions.ship_by == reopened_at + timedelta(days=10)
    assert as_stored(dispute)[:3] == ("awaiting_buyer_shipment", "", reopened_at + timedelta(days=10))
    assert [(e.kind, e.from_state, e.to_state) for e in dispute.events.order_by("pk")][-2:] == [
        ("withdrawn", "awaiting_buyer_shipment", "closed"), ("reopened", "closed", "awaiting_buyer_shipment")]


@pytest.mark.parametrize("outcome", ["in_transit", "rejected", "escalated"])
def test_a_return_cannot_be_withdrawn_once_the_goods_were_shipped_back(line, seller, outcome):
    dispute = returned(line, seller)
    if outcome != "in_transit":
        answer = "fails" if outcome == "rejected" else "unsure"
        dispute_inspect(dispute=dispute, inspector=seller, answers=checklist(dispute, signs_of_use=answer))
    before, stored = rows(), as_stored(dispute)

    with pytest.raises(DomainError) as refused:
        dispute_withdraw(dispute=dispute, buyer=dispute.buyer)

    assert_refused(refused, ErrorCode.INVALID_TRANSITION,
                   "The goods were sent back to the seller, so this dispute can no longer be withdrawn.")
    assert (rows(), as_stored(dispute)) == (before, stored)


def test_a_refund_only_dispute_may_still_be_withdrawn_after_a_rejection(line, seller):
    dispute = open_refund_only(line)
    dispute_reject(dispute=dispute, seller=seller, reason="Damaged by the buyer.")

    dispute_withdraw(dispute=dispute, buyer=dispute.buyer)

    assert as_stored(dispute)[:2] == ("closed", "withdrawn")
