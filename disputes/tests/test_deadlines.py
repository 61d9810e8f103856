"""The deadline sweep (DESIGN §3): each waiting state is reached through the services with
the clock standing still, then the clock is moved to a second before the deadline (nothing
happens) and a second after it (exactly the outcome the table defines, once). Also: the
report, the dry run and the operator command, reminders before each deadline, batching,
and a broker outage that must not lose an outcome."""
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from kombu.exceptions import OperationalError

from accounts.models import User
from accounts.tests.factories import StaffFactory, SellerFactory
from catalog.models import Warehouse
from catalog.tests.factories import WarehouseFactory
from disputes import selectors
from disputes.sweep import enforce_deadlines
from disputes.models import Dispute, DisputeEvent, InstructionTemplate, Refund, ReturnInstructions
from disputes.services import (
    dispute_counter_offer,
    dispute_escalate,
    dispute_inspect,
    dispute_open,
    dispute_reject,
    dispute_reopen,
    dispute_send_instructions,
    dispute_ship,
    dispute_withdraw,
)
from disputes.tasks import enforce_deadlines as enforce_deadlines_task
from disputes.tasks import pay_due_refunds, pay_refunds, sweep_deadlines_shard
from disputes.tests.factories import DisputeFactory, disputable_line, photo
from notifications.models import Notification
from notifications.services import notification_emails_resend
from notifications.tasks import send_notification_email, send_notification_emails
from orders.models import OrderLine
from returns_portal.errors import DomainError, ErrorCode

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # 15:00 in Moscow, the site's time zone
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
PAID = Decimal("2490.00")
ASKED = Decimal("1500.00")  # a refund-only claim for less than was paid
COMPENSATION = Decimal("2000.00")  # a local return asking less than was paid
OFFERED = Decimal("500.00")
S = Dispute.State

# What the timeline records when a deadline passes: the outcome, the step's length and the deadline.
def outcome(name: str, days: int, deadline: datetime) -> dict:
    return {"outcome": name, "days": days, "deadline": deadline.isoformat()}


# What people read (rendered in English here).
TOLD = {
    "no_warehouse/buyer": "The seller did not send return instructions within 5 days, and no return warehouse in "
                          "your country takes returns any more; marketplace staff will decide.",
    "no_warehouse/seller": "You did not send return instructions within 5 days, and no return warehouse in the "
                           "buyer's country takes returns any more; marketplace staff will decide.",
    "seller_timeout_refunded/buyer": "The seller did not answer within 5 days, so you are refunded 1,500.00\u00a0₽.",
    "seller_timeout_refunded/seller": "You did not answer within 5 days, so the buyer is refunded 1,500.00\u00a0₽.",
    "seller_timeout_escalated/buyer": "The seller did not answer within 5 days; marketplace staff will decide.",
    "seller_timeout_escalated/seller": "You did not answer within 5 days; marketplace staff will decide.",
    "buyer_did_not_ship": "The goods were not shipped within 10 days of the return instructions; the dispute is "
                          "closed without a refund.",
    "receipt_timeout_refunded": "The seller did not confirm receipt of the return within 15 days, so the buyer is "
                                "refunded 2,000.00\u00a0₽.",
    "answer_timeout_closed": "The buyer neither accepted nor escalated within 7 days; the dispute is closed as "
                             "rejected.",
}
DEFAULT_TEXT = "Pack the item as you received it, write the RMA code on the parcel and drop it off."


# --- the world ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clock(time_machine):
    """Every test starts on 10 March 2025, 12:00 UTC, with the clock standing still."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


@dataclass
class World:
    line: OrderLine
    buyer: User
    seller: User
    clerk: User
    warehouse: Warehouse


def world_of(line: OrderLine) -> World:
    """A line, its buyer, two active members of the store (and a former one, who is told nothing)."""
    store = line.order.store
    SellerFactory(store=store, is_active=False)
    return World(line=line, buyer=line.order.buyer, seller=SellerFactory(store=store, email="seller@example.com"),
                 clerk=SellerFactory(store=store, email="clerk@example.com"),
                 warehouse=Warehouse.objects.get(store=store, country="RU"))


@pytest.fixture
def world() -> World:
    """A T-shirt delivered to a buyer in Russia a day ago; the store has a return warehouse in Russia.
    Its title has a percent sign and quotes, which the notifications must carry as they are."""
    line = disputable_line(price=PAID)
    OrderLine.objects.filter(pk=line.pk).update(title="T-shirt “Arbat”, 100% cotton")
    line.refresh_from_db()
    return world_of(line)


def open_local_return(w: World, amount: Decimal = PAID) -> Dispute:
    return dispute_open(buyer=w.buyer, order_line=w.line, kind=Dispute.Kind.RETURN, route=Dispute.Route.LOCAL,
                        amount=amount, reason=Dispute.Reason.CHANGED_MIND)


def open_refund_only(w: World) -> Dispute:
    return dispute_open(buyer=w.buyer, order_line=w.line, kind=Dispute.Kind.REFUND_ONLY, route=Dispute.Route.NONE,
                        amount=ASKED, reason=Dispute.Reason.DAMAGED, description="The box was crushed.",
                        evidence=[photo()])


def send_instructions(dispute: Dispute, w: World) -> Dispute:
    return dispute_send_instructions(dispute=dispute, seller=w.seller, warehouse=w.warehouse, method="drop_off",
                                     carrier="Russian Post", text="Write the RMA code on the parcel.")


def ship(dispute: Dispute, w: World) -> Dispute:
    return dispute_ship(dispute=dispute, buyer=w.buyer, carrier="Russian Post", tracking_number="RR123456785RU")


# How each waiting state is reached, and how many days the party on the clock has there.
def awaiting_seller_local(w: World) -> Dispute:
    return open_local_return(w)


def awaiting_seller_refund_only(w: World) -> Dispute:
    return open_refund_only(w)


def awaiting_buyer_shipment(w: World) -> Dispute:
    return send_instructions(open_local_return(w), w)


def return_in_transit(w: World) -> Dispute:
    return ship(send_instructions(open_local_return(w, COMPENSATION), w), w)


def rejected_by_seller(w: World) -> Dispute:
    return dispute_reject(dispute=open_refund_only(w), seller=w.seller, reason="The box was fine when it left.")


def rejected_after_inspection(w: World) -> Dispute:
    dispute = return_in_transit(w)
    codes = selectors.enabled_condition_codes(w.line.product.category)
    answers = {code: "meets" for code in codes} | {"signs_of_use": "fails"}
    return dispute_inspect(dispute=dispute, inspector=w.clerk, answers=answers, notes={"signs_of_use": "Worn."})


def counter_offered(w: World) -> Dispute:
    return dispute_counter_offer(dispute=open_refund_only(w), seller=w.seller, amount=OFFERED,
                                 message="Half the box was fine.")


def escalated(w: World) -> Dispute:
    return dispute_escalate(dispute=rejected_by_seller(w), buyer=w.buyer, reason="The photo shows the damage.")


WAITING = {
    "awaiting_seller/local_return": (awaiting_seller_local, S.AWAITING_SELLER, 5),
    "awaiting_seller/refund_only": (awaiting_seller_refund_only, S.AWAITING_SELLER, 5),
    "awaiting_buyer_shipment": (awaiting_buyer_shipment, S.AWAITING_BUYER_SHIPMENT, 10),
    "return_in_transit": (return_in_transit, S.RETURN_IN_TRANSIT, 15),
    "rejected/by_seller": (rejected_by_seller, S.REJECTED, 7),
    "rejected/after_inspection": (rejected_after_inspection, S.REJECTED, 7),
    "counter_offered": (counter_offered, S.COUNTER_OFFERED, 7),
    "escalated": (escalated, S.ESCALATED, 7),
}


def waiting(name: str, w: World) -> tuple[Dispute, datetime]:
    """The dispute in the named waiting state, reached at NOW, and its deadline."""
    build, state, days = WAITING[name]
    dispute = build(w)
    fresh = stored(dispute)
    assert (fresh.state, fresh.deadline_at) == (state, NOW + timedelta(days=days))
    return dispute, fresh.deadline_at


# --- what to look at ---------------------------------------------------------------------------


def stored(dispute: Dispute) -> Dispute:
    return Dispute.objects.get(pk=dispute.pk)


def everything() -> dict[str, list[dict]]:
    """Every row the sweep could write or change."""
    return {model.__name__: list(model.objects.order_by("pk").values())
            for model in (Dispute, DisputeEvent, ReturnInstructions, Refund, Notification, OrderLine)}


def sweep_at(clock, moment: datetime, **options):
    clock.move_to(moment, tick=False)
    return enforce_deadlines(**options)


def counts(report) -> dict[str, int]:
    return {outcome: count for outcome, count in report.counts.items() if count}


def timeline(dispute: Dispute) -> list[tuple]:
    return list(DisputeEvent.objects.filter(dispute=dispute).values_list("kind", "actor", "from_state", "to_state"))


SYSTEM_EVENTS = ["deadline_passed", "staff_overdue", "instructions_sent"]


def system_event(dispute: Dispute) -> DisputeEvent:
    return DisputeEvent.objects.get(dispute=dispute, actor=None, kind__in=SYSTEM_EVENTS)


def told(since: int) -> list[tuple]:
    """(recipient, subject, body) of the notifications written after the ``since``-th, as read, sorted."""
    return sorted((n.recipient_id, n.subject, n.body) for n in Notification.objects.order_by("pk")[since:])


def refunded_on(line: OrderLine) -> Decimal:
    return OrderLine.objects.get(pk=line.pk).refunded_amount


# --- a second before: nothing ------------------------------------------------------------------


@pytest.mark.parametrize("name", WAITING)
def test_a_second_before_the_deadline_the_sweep_changes_nothing(name, world, clock):
    # Given a dispute waiting for someone, whose reminder went out a day before the deadline.
    dispute, deadline = waiting(name, world)
    sweep_at(clock, deadline - DAY)
    before = everything()

    # When the sweep runs one second before the deadline.
    report = sweep_at(clock, deadline - SECOND)

    # Then nothing at all changes: no state, event, refund, instructions or notification.
    assert (report.total, counts(report)) == (0, {})
    assert everything() == before
    assert stored(dispute).state == WAITING[name][1]


# --- a second after: exactly the outcome -------------------------------------------------------


@pytest.mark.parametrize("where", ["store", "marketplace"])
def test_when_the_seller_misses_a_local_return_default_instructions_are_issued(where, world, clock, settings):
    # Given a local return waiting for the seller; the store's own warehouse in Russia takes
    # returns, or (when the store has none there any more) only the marketplace's does.
    settings.DEFAULT_RETURN_CARRIER = "Boxberry"
    marketplace = WarehouseFactory(store=None, country="RU", city="Podolsk", name="Marketplace returns")
    WarehouseFactory(store=None, country="KZ", city="Almaty", name="Marketplace returns, Kazakhstan")
    if where == "marketplace":
        Warehouse.objects.filter(pk=world.warehouse.pk).update(is_active=False)
    expected_warehouse = {"store": world.warehouse, "marketplace": marketplace}[where]
    dispute, deadline = waiting("awaiting_seller/local_return", world)
    notes_before = Notification.objects.count()

    # When the sweep runs a second after the seller's deadline.
    expired_at = deadline + SECOND
    report = sweep_at(clock, expired_at)

    # Then the system issues default instructions and starts the buyer's 10 days.
    assert (report.total, counts(report)) == (1, {"instructions_issued": 1})
    instructions = ReturnInstructions.objects.get()
    assert instructions.dispute_id == dispute.pk
    assert instructions.warehouse == expected_warehouse
    assert instructions.address == {"name": expected_warehouse.name, "address": expected_warehouse.address,
                                    "city": expected_warehouse.city, "country": "RU"}
    assert (instructions.method, instructions.carrier, instructions.text) == ("drop_off", "Boxberry", DEFAULT_TEXT)
    assert re.fullmatch(r"RMA-250315-[0-9A-F]{10}", instructions.rma_code)
    assert instructions.issued_by is None
    assert (instructions.ship_by, instructions.created_at) == (expired_at + timedelta(days=10), expired_at)
    fresh = stored(dispute)
    assert (fresh.state, fresh.resolution, fresh.closed_at) == (S.AWAITING_BUYER_SHIPMENT, "", None)
    assert fresh.deadline_at == expired_at + timedelta(days=10) == instructions.ship_by

    # One timeline entry, as when a seller sends instructions, by the system, with the RMA code.
    assert timeline(dispute) == [("opened", world.buyer.pk, "", "awaiting_seller"),
                                 ("instructions_sent", None, "awaiting_seller", "awaiting_buyer_shipment")]
    event = system_event(dispute)
    assert event.created_at == expired_at
    assert event.details == {"rma_code": instructions.rma_code, "warehouse": expected_warehouse.pk,
                             "method": "drop_off", "carrier": "Boxberry",
                             "ship_by": (expired_at + timedelta(days=10)).isoformat()}

    # The buyer gets where, how, the RMA code and the date; the store hears it missed its deadline.
    address = (f"{instructions.warehouse.name}, {instructions.warehouse.address}, {instructions.warehouse.city}, "
               "Russia")
    missed = (f"You did not send return instructions within 5 days, so default instructions were issued: "
              f"{address}, RMA code {instructions.rma_code}.")
    assert told(notes_before) == sorted([
        (world.buyer.pk, f"Return instructions for dispute #{dispute.pk}",
         f"Send the goods to {address} with {instructions.carrier} by 25 Mar 2025, 15:00. Your RMA code is "
         f"{instructions.rma_code}."),
        (world.seller.pk, f"Dispute #{dispute.pk}: deadline missed", missed),
        (world.clerk.pk, f"Dispute #{dispute.pk}: deadline missed", missed),
    ])
    assert set(Notification.objects.filter(created_at=expired_at).values_list("url", flat=True)) == {
        dispute.get_absolute_url()}
    assert Refund.objects.count() == 0

    # And the buyer can go on: shipping with the issued instructions works.
    clock.move_to(expired_at + DAY, tick=False)
    assert ship(dispute, world).state == S.RETURN_IN_TRANSIT


def test_default_instructions_follow_the_stores_template_for_that_warehouse(world, clock, settings):
    # Given the store keeps a template for its Russian warehouse, one for another warehouse
    # (first by name) and one without a warehouse.
    settings.DEFAULT_RETURN_CARRIER = "Boxberry"
    store = world.line.order.store
    other = WarehouseFactory(store=store, country="KZ", city="Almaty", name="Almaty returns")
    InstructionTemplate.objects.create(store=store, name="A: Almaty", warehouse=other, method="drop_off",
                                       carrier="Kazpost", text="Almaty only.")
    InstructionTemplate.objects.create(store=store, name="B: anywhere", warehouse=None, method="drop_off",
                                       carrier="DHL", text="Anywhere.")
    InstructionTemplate.objects.create(store=store, name="C: Moscow", warehouse=world.warehouse,
                                       method="courier_pickup", carrier="CDEK", text="The courier calls first.")
    dispute, deadline = waiting("awaiting_seller/local_return", world)

    # When the seller's deadline passes.
    report = sweep_at(clock, deadline + SECOND)

    # Then the instructions are the Moscow template's, with a fresh RMA code, issued by nobody.
    assert counts(report) == {"instructions_issued": 1}
    instructions = ReturnInstructions.objects.get()
    assert (instructions.dispute_id, instructions.warehouse) == (dispute.pk, world.warehouse)
    assert (instructions.method, instructions.carrier, instructions.text) == (
        "courier_pickup", "CDEK", "The courier calls first.")
    assert re.fullmatch(r"RMA-250315-[0-9A-F]{10}", instructions.rma_code)
    assert instructions.issued_by is None
    assert stored(dispute).state == S.AWAITING_BUYER_SHIPMENT


def test_a_reopened_return_resumes_waiting_for_the_shipment_with_a_fresh_deadline(world, clock):
    # Given the seller sent instructions, the buyer withdrew before shipping and reopened a day later.
    dispute, _ = waiting("awaiting_buyer_shipment", world)
    old = ReturnInstructions.objects.get()
    clock.move_to(NOW + DAY, tick=False)
    dispute_withdraw(dispute=dispute, buyer=world.buyer)
    clock.move_to(NOW + 2 * DAY, tick=False)
    dispute_reopen(dispute=stored(dispute), buyer=world.buyer)
    deadline = stored(dispute).deadline_at
    assert (stored(dispute).state, deadline) == (S.AWAITING_BUYER_SHIPMENT, NOW + 12 * DAY)
    assert ReturnInstructions.objects.get().ship_by == deadline

    # When the buyer still does not ship by the step's new deadline (reminded a day before it).
    assert counts(sweep_at(clock, deadline - SECOND)) == {"reminders_sent": 1}
    report = sweep_at(clock, deadline + SECOND)

    # Then the dispute closes as a buyer timeout; the instructions stayed the seller's.
    assert counts(report) == {"buyer_did_not_ship": 1}
    assert ReturnInstructions.objects.get().rma_code == old.rma_code
    assert [kind for kind, *_ in timeline(dispute)] == [
        "opened", "instructions_sent", "withdrawn", "reopened", "deadline_passed"]
    assert (stored(dispute).state, stored(dispute).resolution) == (S.CLOSED, "buyer_timeout")


def test_when_the_seller_misses_a_local_return_and_no_warehouse_takes_it_staff_decide(world, clock):
    # Given a local return waiting for the seller, and since then the store's only return
    # warehouse in the buyer's country stopped taking returns (the marketplace has none there).
    WarehouseFactory(store=None, country="KZ", city="Almaty", name="Marketplace returns, Kazakhstan")
    dispute, deadline = waiting("awaiting_seller/local_return", world)
    Warehouse.objects.filter(pk=world.warehouse.pk).update(accepts_returns=False)
    notes_before = Notification.objects.count()

    # When the seller's deadline passes.
    expired_at = deadline + SECOND
    report = sweep_at(clock, expired_at)

    # Then the dispute goes to marketplace staff, who have 7 days; no instructions, no refund.
    assert (report.total, counts(report)) == (1, {"seller_timeout_escalated": 1})
    fresh = stored(dispute)
    assert (fresh.state, fresh.resolution, fresh.deadline_at) == (S.ESCALATED, "", expired_at + timedelta(days=7))
    assert fresh.overdue_flagged_at is None
    assert (ReturnInstructions.objects.count(), Refund.objects.count()) == (0, 0)
    assert timeline(dispute)[1:] == [("deadline_passed", None, "awaiting_seller", "escalated")]
    assert system_event(dispute).details == outcome("no_warehouse_escalated", 5, deadline)
    assert told(notes_before) == sorted([
        (world.buyer.pk, f"Dispute #{dispute.pk} escalated", TOLD["no_warehouse/buyer"]),
        (world.seller.pk, f"Dispute #{dispute.pk}: deadline missed", TOLD["no_warehouse/seller"]),
        (world.clerk.pk, f"Dispute #{dispute.pk}: deadline missed", TOLD["no_warehouse/seller"]),
    ])


def test_when_the_seller_misses_a_refund_only_claim_the_amount_asked_is_refunded(
    world, clock, django_capture_on_commit_callbacks, mailoutbox
):
    # Given a refund-only claim (with a photo) for less than was paid, waiting for the seller.
    dispute, deadline = waiting("awaiting_seller/refund_only", world)
    notes_before = Notification.objects.count()

    # When the sweep runs a second after the seller's deadline...
    expired_at = deadline + SECOND
    clock.move_to(expired_at, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        report = enforce_deadlines()

        # ...then, before it commits, one refund of the amount asked is decided by the system.
        assert (report.total, counts(report)) == (1, {"seller_timeout_refunded": 1})
        assert stored(dispute).state == S.REFUND_PENDING
        refund = Refund.objects.get()
        assert (refund.dispute_id, refund.order_line_id, refund.amount, refund.currency) == (
            dispute.pk, world.line.pk, ASKED, "RUB")
        assert (refund.status, refund.decided_by, refund.idempotency_key) == (
            "pending", None, f"dispute-{dispute.pk}-refund")
        assert refund.reason == "The seller did not answer in time."
        assert refunded_on(world.line) == Decimal("0.00")

    # ...and once it commits, the refund is paid and the dispute ends refunded.
    refund.refresh_from_db()
    assert (refund.status, refund.paid_at, refund.attempts) == ("paid", expired_at, 1)
    assert refunded_on(world.line) == ASKED
    fresh = stored(dispute)
    assert (fresh.state, fresh.resolution, fresh.deadline_at, fresh.closed_at) == (
        S.REFUNDED, "refunded", None, expired_at)
    assert timeline(dispute) == [("opened", world.buyer.pk, "", "awaiting_seller"),
                                 ("deadline_passed", None, "awaiting_seller", "refund_pending"),
                                 ("refund_paid", None, "refund_pending", "refunded")]
    assert system_event(dispute).details == outcome("seller_timeout_refunded", 5, deadline)
    paid = f"1,500.00\u00a0₽ were refunded for “{world.line.title}”."
    missed = TOLD["seller_timeout_refunded/seller"]
    assert told(notes_before) == sorted([
        (world.buyer.pk, f"Dispute #{dispute.pk}: refund decided", TOLD["seller_timeout_refunded/buyer"]),
        (world.seller.pk, f"Dispute #{dispute.pk}: deadline missed", missed),
        (world.clerk.pk, f"Dispute #{dispute.pk}: deadline missed", missed),
        (world.buyer.pk, "You were refunded", paid),
        (world.seller.pk, f"Dispute #{dispute.pk} was refunded", paid),
        (world.clerk.pk, f"Dispute #{dispute.pk} was refunded", paid),
    ])
    assert len(mailoutbox) == 6  # each of them e-mailed once, after commit
    assert not Notification.objects.filter(created_at=expired_at, emailed_at__isnull=True).exists()


def test_with_the_escalate_policy_a_missed_refund_only_claim_goes_to_staff(
    world, clock, settings, django_capture_on_commit_callbacks
):
    # Given the marketplace chose to escalate, not refund, when a seller stays silent.
    settings.SELLER_TIMEOUT_POLICY = "escalate"
    dispute, deadline = waiting("awaiting_seller/refund_only", world)

    # When the seller's deadline passes.
    expired_at = deadline + SECOND
    clock.move_to(expired_at, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        report = enforce_deadlines()

    # Then staff have 7 days to decide, and no money moves.
    assert (report.total, counts(report)) == (1, {"seller_timeout_escalated": 1})
    fresh = stored(dispute)
    assert (fresh.state, fresh.deadline_at, fresh.closed_at) == (S.ESCALATED, expired_at + timedelta(days=7), None)
    assert Refund.objects.count() == 0
    assert refunded_on(world.line) == Decimal("0.00")
    assert timeline(dispute)[1:] == [("deadline_passed", None, "awaiting_seller", "escalated")]
    assert system_event(dispute).details == outcome("seller_timeout_escalated", 5, deadline)


def test_staff_get_one_summary_when_the_sweep_escalates(world, clock, settings):
    # Given staff who decide disputes (one inactive), staff who do not, and a silent seller
    # under the escalate policy.
    settings.SELLER_TIMEOUT_POLICY = "escalate"
    supervisor = StaffFactory(permissions=["disputes.decide_dispute"])
    StaffFactory(is_active=False, permissions=["disputes.decide_dispute"])
    StaffFactory()
    dispute, deadline = waiting("awaiting_seller/refund_only", world)

    # When the sweep escalates it.
    clock.move_to(deadline + SECOND, tick=False)
    enforce_deadlines()

    # Then the active staff member gets one summary pointing at the escalated disputes.
    [summary] = Notification.objects.filter(recipient__is_staff=True)
    assert (summary.recipient, summary.subject) == (supervisor, "1 dispute escalated by the deadline sweep")
    assert summary.url == "/admin/disputes/dispute/?state__exact=escalated"


def test_when_the_buyer_does_not_ship_in_time_the_dispute_closes_without_a_refund(
    world, clock, django_capture_on_commit_callbacks
):
    # Given return instructions were sent and the buyer has 10 days to ship.
    dispute, deadline = waiting("awaiting_buyer_shipment", world)
    notes_before = Notification.objects.count()

    # When those 10 days pass without a shipment.
    expired_at = deadline + SECOND
    clock.move_to(expired_at, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        report = enforce_deadlines()

    # Then the dispute closes as a buyer timeout; nothing is refunded.
    assert (report.total, counts(report)) == (1, {"buyer_did_not_ship": 1})
    fresh = stored(dispute)
    assert (fresh.state, fresh.resolution, fresh.deadline_at, fresh.closed_at) == (
        S.CLOSED, "buyer_timeout", None, expired_at)
    assert Refund.objects.count() == 0
    assert refunded_on(world.line) == Decimal("0.00")
    assert timeline(dispute)[-1] == ("deadline_passed", None, "awaiting_buyer_shipment", "closed")
    assert system_event(dispute).details == outcome("buyer_did_not_ship", 10, deadline)
    closed = f"Dispute #{dispute.pk} closed"
    assert told(notes_before) == sorted([(user.pk, closed, TOLD["buyer_did_not_ship"])
                                         for user in (world.buyer, world.seller, world.clerk)])
    # The buyer can no longer ship.
    with pytest.raises(DomainError) as refused:
        ship(dispute, world)
    assert refused.value.code == ErrorCode.INVALID_TRANSITION


def test_when_the_seller_does_not_confirm_receipt_the_compensation_is_refunded(
    world, clock, django_capture_on_commit_callbacks
):
    # Given goods on their way back for a compensation below what was paid.
    dispute, deadline = waiting("return_in_transit", world)
    notes_before = Notification.objects.count()

    # When the store's 15 days to confirm receipt pass.
    expired_at = deadline + SECOND
    clock.move_to(expired_at, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        report = enforce_deadlines()
        assert stored(dispute).state == S.REFUND_PENDING
        assert list(Refund.objects.values_list("amount", "status", "decided_by")) == [(COMPENSATION, "pending", None)]

    # Then the compensation is refunded (and paid once the sweep commits).
    assert (report.total, counts(report)) == (1, {"receipt_timeout_refunded": 1})
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.decided_by, refund.reason) == (
        COMPENSATION, "paid", None, "The seller did not confirm receipt of the return in time.")
    assert refunded_on(world.line) == COMPENSATION
    fresh = stored(dispute)
    assert (fresh.state, fresh.resolution, fresh.closed_at) == (S.REFUNDED, "refunded", expired_at)
    assert timeline(dispute)[-2:] == [("deadline_passed", None, "return_in_transit", "refund_pending"),
                                      ("refund_paid", None, "refund_pending", "refunded")]
    assert system_event(dispute).details == outcome("receipt_timeout_refunded", 15, deadline)
    decided = TOLD["receipt_timeout_refunded"]
    assert sorted(row for row in told(notes_before) if "refund decided" in row[1]) == sorted(
        [(user.pk, f"Dispute #{dispute.pk}: refund decided", decided)
         for user in (world.buyer, world.seller, world.clerk)])


@pytest.mark.parametrize("name", ["rejected/by_seller", "rejected/after_inspection", "counter_offered"])
def test_when_the_buyer_neither_accepts_nor_escalates_the_dispute_closes_as_rejected(
    name, world, clock, django_capture_on_commit_callbacks
):
    # Given the seller (or the inspection) rejected, or the seller counter-offered; the buyer has 7 days.
    dispute, deadline = waiting(name, world)
    from_state = WAITING[name][1]
    notes_before = Notification.objects.count()

    # When they pass without an answer.
    expired_at = deadline + SECOND
    clock.move_to(expired_at, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        report = enforce_deadlines()

    # Then the dispute closes as rejected; no refund, not even the counter-offer.
    assert (report.total, counts(report)) == (1, {"answer_timeout_closed": 1})
    fresh = stored(dispute)
    assert (fresh.state, fresh.resolution, fresh.deadline_at, fresh.closed_at) == (
        S.CLOSED, "rejected", None, expired_at)
    assert Refund.objects.count() == 0
    assert refunded_on(world.line) == Decimal("0.00")
    assert timeline(dispute)[-1] == ("deadline_passed", None, from_state, "closed")
    assert system_event(dispute).details == outcome("answer_timeout_closed", 7, deadline)
    closed = f"Dispute #{dispute.pk} closed"
    assert told(notes_before) == sorted([(user.pk, closed, TOLD["answer_timeout_closed"])
                                         for user in (world.buyer, world.seller, world.clerk)])


def test_an_escalated_dispute_past_the_staff_deadline_stays_open_flagged_overdue(world, clock):
    # Given the buyer escalated and staff have 7 days.
    dispute, deadline = waiting("escalated", world)
    before = stored(dispute)
    notes_before = Notification.objects.count()

    # When they pass without a decision.
    expired_at = deadline + SECOND
    report = sweep_at(clock, expired_at)

    # Then the dispute stays escalated with its deadline, flagged overdue once, by the system.
    assert (report.total, counts(report)) == (1, {"staff_overdue_flagged": 1})
    fresh = stored(dispute)
    assert (fresh.state, fresh.resolution, fresh.deadline_at, fresh.closed_at) == (
        S.ESCALATED, "", before.deadline_at, None)
    assert fresh.overdue_flagged_at == expired_at
    assert timeline(dispute)[-1] == ("staff_overdue", None, "escalated", "escalated")
    assert system_event(dispute).details == outcome("staff_overdue_flagged", 7, deadline)
    assert DisputeEvent.objects.filter(kind="deadline_passed").count() == 0
    assert (Refund.objects.count(), Notification.objects.count()) == (0, notes_before)

    # And a later sweep adds nothing: the flag is set once.
    after = everything()
    report = sweep_at(clock, expired_at + DAY)
    assert (report.total, counts(report)) == (0, {})
    assert everything() == after


def test_an_escalation_resumed_after_a_reopening_is_flagged_overdue_again(world, clock):
    # Given an escalated dispute flagged overdue, then withdrawn and reopened by the buyer: it
    # resumes with staff, who have 7 new days.
    dispute, deadline = waiting("escalated", world)
    first_flag = deadline + SECOND
    sweep_at(clock, first_flag)
    assert stored(dispute).overdue_flagged_at == first_flag
    dispute_withdraw(dispute=dispute, buyer=world.buyer)
    clock.move_to(first_flag + timedelta(hours=1), tick=False)
    reopened = dispute_reopen(dispute=stored(dispute), buyer=world.buyer)
    new_deadline = reopened.deadline_at
    assert (stored(dispute).state, new_deadline) == (S.ESCALATED, first_flag + timedelta(hours=1) + 7 * DAY)

    # When the sweep runs a second before and a second after the new staff deadline.
    before = sweep_at(clock, new_deadline - SECOND)
    after = sweep_at(clock, new_deadline + SECOND)

    # Then the resumed escalation is not overdue before its deadline, and is flagged once after it.
    assert (counts(before), counts(after)) == ({}, {"staff_overdue_flagged": 1})
    assert stored(dispute).overdue_flagged_at == new_deadline + SECOND
    flags = DisputeEvent.objects.filter(dispute=dispute, kind="staff_overdue").order_by("pk")
    assert [event.details["deadline"] for event in flags] == [deadline.isoformat(), new_deadline.isoformat()]
    assert counts(sweep_at(clock, new_deadline + DAY)) == {}


# --- the report, twice, dry run, the command ---------------------------------------------------


SWEEP_AT = NOW + timedelta(days=15) + SECOND  # every deadline of ``one_of_each`` but one has passed
EXPECTED_COUNTS = {
    "instructions_issued": 1,
    "seller_timeout_refunded": 1,
    "seller_timeout_escalated": 1,
    "buyer_did_not_ship": 1,
    "receipt_timeout_refunded": 1,
    "answer_timeout_closed": 3,
    "staff_overdue_flagged": 1,
    "reminders_sent": 1,
}
EXPECTED_STATES = {
    "awaiting_seller/local_return": S.AWAITING_BUYER_SHIPMENT,
    "awaiting_seller/refund_only": S.REFUND_PENDING,
    "awaiting_buyer_shipment": S.CLOSED,
    "return_in_transit": S.REFUND_PENDING,
    "rejected/by_seller": S.CLOSED,
    "rejected/after_inspection": S.CLOSED,
    "counter_offered": S.CLOSED,
    "escalated": S.ESCALATED,
    "no_warehouse": S.ESCALATED,
    "due_in_12_hours": S.AWAITING_SELLER,
}


@pytest.fixture
def one_of_each(clock) -> dict[str, Dispute]:
    """Every waiting state on its own line and store, all reached at NOW; plus a local return
    whose warehouse has gone, and one opened later whose deadline is 12 hours after SWEEP_AT."""
    disputes = {}
    for name in WAITING:
        disputes[name] = waiting(name, world_of(disputable_line(price=PAID)))[0]
    no_warehouse = world_of(disputable_line(price=PAID))
    disputes["no_warehouse"] = open_local_return(no_warehouse)
    Warehouse.objects.filter(pk=no_warehouse.warehouse.pk).update(is_active=False)
    clock.move_to(SWEEP_AT - timedelta(days=5) + timedelta(hours=12), tick=False)
    disputes["due_in_12_hours"] = open_local_return(world_of(disputable_line(price=PAID)))
    return disputes


def test_the_sweep_applies_each_outcome_once_however_often_it_runs(one_of_each, clock):
    # When the sweep runs once everything but one deadline has passed.
    report = sweep_at(clock, SWEEP_AT)

    # Then each due dispute got its outcome, counted exactly, and the one due in 12 hours a reminder.
    assert (report.total, counts(report)) == (9, EXPECTED_COUNTS)
    assert {name: stored(d).state for name, d in one_of_each.items()} == EXPECTED_STATES
    system_events = Counter(
        DisputeEvent.objects.filter(actor=None, kind__in=SYSTEM_EVENTS).values_list("dispute", flat=True))
    assert system_events == Counter({d.pk: 1 for name, d in one_of_each.items() if name != "due_in_12_hours"})
    assert sorted(Refund.objects.values_list("dispute", "amount", "status")) == sorted([
        (one_of_each["awaiting_seller/refund_only"].pk, ASKED, "pending"),
        (one_of_each["return_in_transit"].pk, COMPENSATION, "pending"),
    ])
    assert ReturnInstructions.objects.filter(issued_by=None).count() == 1
    after = everything()

    # When it runs again, at once and an hour later.
    again = sweep_at(clock, SWEEP_AT)
    later = sweep_at(clock, SWEEP_AT + timedelta(hours=1))

    # Then nothing more happens: no event, refund, instructions or notification.
    assert (again.total, counts(again)) == (0, {})
    assert (later.total, counts(later)) == (0, {})
    assert everything() == after


def test_a_dry_run_counts_what_is_due_and_changes_nothing(one_of_each, clock):
    clock.move_to(SWEEP_AT, tick=False)
    before = everything()

    report = enforce_deadlines(dry_run=True)

    assert report.dry_run is True
    assert dict(report.counts) == {
        "awaiting_seller": 3,  # a local return, a refund-only claim, a local return without a warehouse
        "awaiting_buyer_shipment": 1,
        "return_in_transit": 1,
        "counter_offered": 1,
        "rejected": 2,
        "escalated": 1,
        "reminders": 1,
    }
    assert report.total == 9  # disputes due; the reminder is not an outcome
    assert everything() == before


def test_the_command_prints_one_line_per_outcome(one_of_each, clock):
    clock.move_to(SWEEP_AT, tick=False)
    out = StringIO()

    call_command("enforce_deadlines", stdout=out)

    assert out.getvalue().splitlines() == [
        "  instructions_issued: 1",
        "  seller_timeout_refunded: 1",
        "  seller_timeout_escalated: 1",
        "  buyer_did_not_ship: 1",
        "  receipt_timeout_refunded: 1",
        "  answer_timeout_closed: 3",
        "  staff_overdue_flagged: 1",
        "  reminders_sent: 1",
        "Deadline sweep done: 9 dispute(s) moved on.",
    ]
    assert {name: stored(d).state for name, d in one_of_each.items()} == EXPECTED_STATES

    again = StringIO()
    call_command("enforce_deadlines", stdout=again)
    assert again.getvalue().splitlines()[-1] == "Deadline sweep done: 0 dispute(s) moved on."


def test_the_command_dry_run_prints_what_is_due_and_changes_nothing(one_of_each, clock):
    clock.move_to(SWEEP_AT, tick=False)
    before = everything()
    out = StringIO()

    call_command("enforce_deadlines", "--dry-run", stdout=out)

    assert out.getvalue().splitlines() == [
        "Dry run: due now, by step (nothing was changed)",
        "  awaiting_seller: 3",
        "  awaiting_buyer_shipment: 1",
        "  return_in_transit: 1",
        "  counter_offered: 1",
        "  rejected: 2",
        "  escalated: 1",
        "  reminders: 1",
    ]
    assert everything() == before


# --- reminders ---------------------------------------------------------------------------------


REMINDED = {  # who must act, so who is reminded
    "awaiting_seller/local_return": "store",
    "awaiting_seller/refund_only": "store",
    "return_in_transit": "store",
    "awaiting_buyer_shipment": "buyer",
    "rejected/by_seller": "buyer",
    "rejected/after_inspection": "buyer",
    "counter_offered": "buyer",
    "escalated": "nobody",  # staff see it in admin; the sweep flags it when overdue
}


def reminder(w: World, dispute: Dispute, who: str, due: str) -> list[tuple]:
    recipients = {"store": [w.seller, w.clerk], "buyer": [w.buyer], "nobody": []}[who]
    return sorted((user.pk, f"Reminder: dispute #{dispute.pk} is due {due}",
                   f"The next step on “{w.line.title}” is due by {due}. After that the system acts on its own.")
                  for user in recipients)


@pytest.mark.parametrize("name", WAITING)
def test_the_party_who_must_act_is_reminded_once_a_day_before_the_deadline(name, world, clock):
    # Given a dispute waiting for someone.
    dispute, deadline = waiting(name, world)
    due = {5: "15 Mar 2025, 15:00", 7: "17 Mar 2025, 15:00", 10: "20 Mar 2025, 15:00",
           15: "25 Mar 2025, 15:00"}[WAITING[name][2]]
    notes_before = Notification.objects.count()

    # When the sweep runs a second more than a day before the deadline: no reminder yet.
    early = sweep_at(clock, deadline - DAY - SECOND)
    assert (counts(early), Notification.objects.count()) == ({}, notes_before)

    # When it runs exactly a day before: one reminder to whoever must act, nobody else.
    report = sweep_at(clock, deadline - DAY)
    expected = reminder(world, dispute, REMINDED[name], due)
    assert counts(report) == ({"reminders_sent": 1} if expected else {})
    assert report.total == 0
    assert told(notes_before) == expected
    assert stored(dispute).reminded_deadline_at == (deadline if expected else None)

    # When it runs again before the deadline: no second reminder for the same deadline.
    again = sweep_at(clock, deadline - timedelta(hours=1))
    assert counts(again) == {}
    assert told(notes_before) == expected


def test_a_new_step_brings_a_new_deadline_and_a_new_reminder(world, clock):
    # Given the store was reminded of its deadline for a local return.
    dispute, deadline = waiting("awaiting_seller/local_return", world)
    sweep_at(clock, deadline - DAY)

    # When the seller sends instructions an hour before it passes...
    clock.move_to(deadline - timedelta(hours=1), tick=False)
    send_instructions(dispute, world)
    ship_by = stored(dispute).deadline_at
    assert ship_by == deadline - timedelta(hours=1) + timedelta(days=10)
    notes_before = Notification.objects.count()

    # ...then the buyer, who must now ship, is reminded a day before the new deadline, once.
    report = sweep_at(clock, ship_by - DAY)
    assert counts(report) == {"reminders_sent": 1}
    assert told(notes_before) == reminder(world, dispute, "buyer", "25 Mar 2025, 14:00")
    assert counts(sweep_at(clock, ship_by - SECOND)) == {}
    assert Notification.objects.count() == notes_before + 1


def test_a_reopened_dispute_is_reminded_again_for_its_new_deadline(world, clock):
    # Given the store was reminded of its deadline; then the buyer withdrew and, a day later, reopened.
    dispute, deadline = waiting("awaiting_seller/local_return", world)
    sweep_at(clock, deadline - DAY)
    clock.move_to(deadline - timedelta(hours=12), tick=False)
    dispute_withdraw(dispute=dispute, buyer=world.buyer)
    reopened_at = deadline + timedelta(hours=12)
    clock.move_to(reopened_at, tick=False)
    dispute_reopen(dispute=stored(dispute), buyer=world.buyer)
    new_deadline = stored(dispute).deadline_at
    assert new_deadline == reopened_at + timedelta(days=5)
    notes_before = Notification.objects.count()

    # When the sweep runs a day before the new deadline, and again later.
    first = sweep_at(clock, new_deadline - DAY)
    second = sweep_at(clock, new_deadline - timedelta(hours=2))

    # Then the store is reminded once more, for the new deadline.
    assert (counts(first), counts(second)) == ({"reminders_sent": 1}, {})
    assert told(notes_before) == reminder(world, dispute, "store", "21 Mar 2025, 03:00")
    assert stored(dispute).reminded_deadline_at == new_deadline


# --- batching ----------------------------------------------------------------------------------


@pytest.fixture
def ten_due(settings) -> list[Dispute]:
    """Ten local returns whose seller deadlines passed an hour apart, oldest first; batches of 3."""
    settings.DEADLINE_SWEEP_BATCH = 3
    return [DisputeFactory(deadline_at=NOW - timedelta(hours=10 - i)) for i in range(10)]


def instructed(disputes: list[Dispute]) -> list[bool]:
    return [stored(d).state == S.AWAITING_BUYER_SHIPMENT for d in disputes]


def test_one_sweep_works_off_every_batch(ten_due):
    report = enforce_deadlines()

    assert (report.total, counts(report)) == (10, {"instructions_issued": 10})
    assert instructed(ten_due) == [True] * 10
    assert ReturnInstructions.objects.count() == DisputeEvent.objects.filter(kind="instructions_sent",
                                                                              actor=None).count() == 10
    assert ReturnInstructions.objects.values("rma_code").distinct().count() == 10


def test_a_bounded_sweep_handles_one_batch_and_the_next_run_continues(ten_due):
    first = enforce_deadlines(max_batches=1)
    assert counts(first) == {"instructions_issued": 3}
    assert instructed(ten_due) == [True] * 3 + [False] * 7  # the oldest deadlines first

    second = enforce_deadlines(max_batches=1)
    assert counts(second) == {"instructions_issued": 3}
    assert instructed(ten_due) == [True] * 6 + [False] * 4

    rest = [counts(enforce_deadlines(max_batches=1)) for _ in range(3)]
    assert rest == [{"instructions_issued": 3}, {"instructions_issued": 1}, {}]
    assert instructed(ten_due) == [True] * 10
    assert DisputeEvent.objects.filter(kind="instructions_sent", actor=None).count() == 10


def test_a_shard_task_is_bounded_by_the_max_batches_setting(ten_due, settings):
    settings.DEADLINE_SWEEP_MAX_BATCHES = 2

    assert sweep_deadlines_shard.delay().get() == {"instructions_issued": 6}
    assert instructed(ten_due) == [True] * 6 + [False] * 4
    assert sweep_deadlines_shard.delay().get() == {"instructions_issued": 4}
    assert sweep_deadlines_shard.delay().get() == {}
    assert instructed(ten_due) == [True] * 10


@pytest.fixture
def shards_run(monkeypatch) -> list[dict]:
    """What each shard the periodic task queued did, in order (eager here: each runs inline as
    it is queued, so they take turns, as on SQLite)."""
    done: list[dict] = []
    queue = sweep_deadlines_shard.delay

    def delay(*args):
        result = queue(*args)
        done.append(result.result)  # an EagerResult: it has run
        return result

    monkeypatch.setattr(sweep_deadlines_shard, "delay", delay)
    return done


def test_the_periodic_task_queues_its_shards_and_they_apply_each_outcome_once(ten_due, settings, shards_run):
    # Given ten due disputes, batches of 3, at most 2 batches a shard, 3 shards a run
    settings.DEADLINE_SWEEP_MAX_BATCHES = 2
    settings.DEADLINE_SWEEP_PARALLEL = 3

    # When beat runs the periodic task once
    assert enforce_deadlines_task.delay().get() == 3

    # Then three shards ran and shared the work; each dispute got its instructions once
    assert shards_run == [{"instructions_issued": 6}, {"instructions_issued": 4}, {}]
    assert instructed(ten_due) == [True] * 10
    events = DisputeEvent.objects.filter(actor=None)
    assert Counter(events.values_list("dispute", "kind")) == Counter(
        {(d.pk, "instructions_sent"): 1 for d in ten_due})
    assert sorted(ReturnInstructions.objects.values_list("dispute", flat=True)) == [d.pk for d in ten_due]

    # When it runs again: nothing is due, no shard is queued, nothing changes
    before = everything()
    assert enforce_deadlines_task.delay().get() == 0
    assert shards_run == [{"instructions_issued": 6}, {"instructions_issued": 4}, {}]
    assert everything() == before


def test_with_nothing_due_the_periodic_task_queues_no_shard(settings, shards_run):
    # Given a dispute whose seller has five days left (no reminder due either)
    dispute = DisputeFactory(deadline_at=NOW + 5 * DAY)
    before = everything()

    assert enforce_deadlines_task.delay().get() == 0

    assert shards_run == []
    assert everything() == before
    assert stored(dispute).state == S.AWAITING_SELLER


def test_a_reminder_due_is_enough_for_the_periodic_task_to_queue_its_shards(settings, shards_run):
    # Given a dispute whose seller has an hour left, not yet reminded; two shards a run
    settings.DEADLINE_SWEEP_PARALLEL = 2
    dispute = DisputeFactory(deadline_at=NOW + timedelta(hours=1))
    SellerFactory(store=dispute.store)

    assert enforce_deadlines_task.delay().get() == 2

    assert shards_run == [{"reminders_sent": 1}, {}]
    assert stored(dispute).reminded_deadline_at == NOW + timedelta(hours=1)
    assert stored(dispute).state == S.AWAITING_SELLER
    assert enforce_deadlines_task.delay().get() == 0


# --- broker outage -----------------------------------------------------------------------------


def refuse(*args, **kwargs):
    raise OperationalError("[Errno 111] Connection refused")


def take_the_broker_down(patch) -> None:
    """Queueing any task fails, as when Redis is unreachable."""
    for task in (pay_due_refunds, pay_refunds, send_notification_emails, send_notification_email):
        patch.setattr(task, "delay", refuse)


def test_a_buyer_opens_a_dispute_while_the_broker_is_down(
    client, world, monkeypatch, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(world.buyer)
    take_the_broker_down(monkeypatch)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("disputes:dispute_open", args=[world.line.pk]), {
            "kind": "return", "route": "local", "amount": "2490.00", "reason": "changed_mind", "description": ""})

    dispute = Dispute.objects.get()
    assert response.status_code == 302
    assert response["Location"] == dispute.get_absolute_url()
    assert (dispute.state, dispute.deadline_at) == (S.AWAITING_SELLER, NOW + timedelta(days=5))
    # The e-mails could not be queued: they are owed, for the resend sweep.
    assert len(callbacks) == 1
    assert mailoutbox == []
    assert sorted(Notification.objects.filter(emailed_at__isnull=True).values_list("recipient", flat=True)) == sorted(
        [world.buyer.pk, world.seller.pk, world.clerk.pk])


def test_refunds_decided_by_the_sweep_while_the_broker_is_down_are_kept_and_paid_later(
    clock, monkeypatch, django_capture_on_commit_callbacks, mailoutbox
):
    # Given a refund-only claim and a return in transit, both about to pass their deadline.
    refund_only = world_of(disputable_line(price=PAID))
    in_transit = world_of(disputable_line(price=PAID))
    claim, _ = waiting("awaiting_seller/refund_only", refund_only)
    returned, _ = waiting("return_in_transit", in_transit)
    swept_at = NOW + timedelta(days=15) + SECOND
    clock.move_to(swept_at, tick=False)

    # When the sweep decides both refunds while the broker is down.
    with monkeypatch.context() as patch:
        take_the_broker_down(patch)
        with django_capture_on_commit_callbacks(execute=True):
            report = enforce_deadlines()

        # Then the outcome is committed: decided, not paid, the e-mails owed.
        assert counts(report) == {"seller_timeout_refunded": 1, "receipt_timeout_refunded": 1}
        assert [stored(d).state for d in (claim, returned)] == [S.REFUND_PENDING, S.REFUND_PENDING]
        assert sorted(Refund.objects.values_list("dispute", "amount", "status")) == sorted([
            (claim.pk, ASKED, "pending"), (returned.pk, COMPENSATION, "pending")])
        assert mailoutbox == []
        assert Notification.objects.filter(emailed_at__isnull=True, created_at=swept_at).count() == 6

    # When the broker is back, the periodic payment job pays both once, and the resend sweep e-mails.
    clock.move_to(swept_at + timedelta(minutes=5), tick=False)
    assert pay_due_refunds.delay().get() == 2
    assert pay_due_refunds.delay().get() == 0
    assert list(Refund.objects.values_list("status", flat=True)) == ["paid", "paid"]
    assert [stored(d).state for d in (claim, returned)] == [S.REFUNDED, S.REFUNDED]
    assert (refunded_on(refund_only.line), refunded_on(in_transit.line)) == (ASKED, COMPENSATION)
    owed = Notification.objects.filter(emailed_at__isnull=True, created_at__gte=swept_at).count()
    assert owed == 6 + 2 + 4  # the deadlines; "you were refunded"; "was refunded" to each store's two members
    clock.move_to(swept_at + timedelta(minutes=10), tick=False)
    assert notification_emails_resend() == owed
    assert len([mail for mail in mailoutbox if mail.subject.endswith(("refund decided", "deadline missed"))]) == 6
