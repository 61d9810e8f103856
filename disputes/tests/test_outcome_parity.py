"""An outcome looks the same to the buyer whoever caused it (DESIGN §3: "the sweep applies
expiry outcomes through the same services as a person's click").

Two identical disputes of one store: on one the seller acts, the other is left until the
deadline sweep acts at the same clock time. Everything written is compared: the only
differences allowed are who acted (``None`` for the sweep) and, when the sweep issued the
return instructions, the store's extra "deadline missed" notification."""
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.tests.factories import SellerFactory
from catalog.models import Category, Warehouse
from catalog.tests.factories import CategoryFactory
from disputes.models import Dispute, DisputeEvent, Refund, ReturnInstructions
from disputes.payments import GatewayReceipt
from disputes.services import answers, dispute_accept, dispute_open, dispute_send_instructions, expiry, refund_pay
from disputes.services.answers import default_instructions_many
from disputes.sweep import enforce_deadlines
from disputes.tasks import pay_due_refunds
from disputes.tests.factories import disputable_line, photo
from notifications.models import Notification
from orders.models import OrderLine

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # 15:00 in Moscow, the site's time zone
SECOND = timedelta(seconds=1)
PAID = Decimal("2490.00")
ASKED = Decimal("1500.00")
TITLE = "T-shirt “Arbat”, 100% cotton"
# The seller's dispute is opened a day after the one the sweep will handle, so both are
# acted on at the same moment: the second one's seller deadline, passed by a second.
OPENED_FOR_THE_SWEEP, OPENED_FOR_THE_SELLER = NOW, NOW + timedelta(days=1)
ACTED_AT = NOW + timedelta(days=5) + SECOND
RMA = re.compile(r"RMA-250315-[0-9A-F]{10}")  # the day it was issued, in Moscow


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def lines() -> tuple[OrderLine, OrderLine]:
    """Two identical T-shirts one buyer in Russia bought from one store (which has a return
    warehouse in Russia), in two orders delivered yesterday."""
    first = disputable_line(price=PAID, category=CategoryFactory(name="T-shirts", kind=Category.Kind.APPAREL))
    second = disputable_line(buyer=first.order.buyer, store=first.order.store, price=PAID, warehouse_country=None,
                             category=first.product.category)
    OrderLine.objects.filter(pk__in=[first.pk, second.pk]).update(title=TITLE)
    first.refresh_from_db()
    second.refresh_from_db()
    return first, second


@pytest.fixture
def members(lines):
    """The store's two active members (a former one is told nothing)."""
    store = lines[0].order.store
    SellerFactory(store=store, is_active=False)
    return SellerFactory(store=store, email="seller@example.com"), SellerFactory(store=store, email="clerk@example.com")


class Spy:
    """Records the calls of a batch service and passes them on."""

    def __init__(self, monkeypatch, module, name: str) -> None:
        self.calls: list[tuple[tuple, dict]] = []
        original = getattr(module, name)

        def spy(*args, **kwargs):
            self.calls.append((args, kwargs))
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)


class CountingGateway:
    """The local ledger, counting what it is asked to pay, per idempotency key."""

    paid: Counter = Counter()

    def refund(self, *, idempotency_key, amount, currency, payment_reference) -> GatewayReceipt:
        CountingGateway.paid[idempotency_key] += 1
        return GatewayReceipt(reference=f"LOCAL-{idempotency_key}")


def without(row: dict, *names: str) -> dict:
    return {key: value for key, value in row.items() if key not in names}


def notes_at(moment: datetime, dispute: Dispute) -> list[Notification]:
    return list(Notification.objects.filter(created_at=moment, params__dispute=dispute.pk).order_by("pk"))


# --- return instructions -------------------------------------------------------------------------


def test_instructions_issued_by_the_sweep_read_exactly_like_the_sellers_default_ones(
    lines, members, clock, monkeypatch
):
    # Given two identical local returns; on the first the seller stays silent.
    buyer = lines[0].order.buyer
    seller, clerk = members
    issued = Spy(monkeypatch, answers, "instructions_issue_many")
    issued_by_sweep = Spy(monkeypatch, expiry, "instructions_issue_many")

    def open_local_return(line):
        return dispute_open(buyer=buyer, order_line=line, kind=Dispute.Kind.RETURN, route=Dispute.Route.LOCAL,
                            amount=PAID, reason=Dispute.Reason.CHANGED_MIND)

    swept = open_local_return(lines[0])
    clock.move_to(OPENED_FOR_THE_SELLER, tick=False)
    answered = open_local_return(lines[1])

    # When, at the same moment, the seller sends exactly the default instructions on the second
    # one, and the sweep finds the first one's deadline passed.
    clock.move_to(ACTED_AT, tick=False)
    default = default_instructions_many([answered])[answered.pk]
    dispute_send_instructions(dispute=answered, seller=seller, warehouse=default.warehouse, method=default.method,
                              carrier=default.carrier, text=default.text)
    report = enforce_deadlines()

    # Then both went through the same batch service, with their own move and actor.
    assert dict(+report.counts) == {"instructions_issued": 1}
    calls = issued.calls + issued_by_sweep.calls
    assert [(kwargs["move"], kwargs["actor"], [d.pk for d, _i in args[0]]) for args, kwargs in calls] == [
        ("send_instructions", seller, [answered.pk]),
        ("expire_seller_instructions", None, [swept.pk]),
    ]

    # Both disputes wait for the buyer's shipment with the same deadline.
    ship_by = ACTED_AT + timedelta(days=10)
    rows = {d.pk: Dispute.objects.filter(pk=d.pk).values("state", "resolution", "deadline_at", "closed_at",
                                                         "updated_at").get() for d in (answered, swept)}
    assert rows[answered.pk] == rows[swept.pk] == {
        "state": "awaiting_buyer_shipment", "resolution": "", "deadline_at": ship_by, "closed_at": None,
        "updated_at": ACTED_AT}

    # The same return instructions, each with its own RMA code; issued by the seller or by nobody.
    by_seller = ReturnInstructions.objects.filter(dispute=answered).values().get()
    by_sweep = ReturnInstructions.objects.filter(dispute=swept).values().get()
    assert RMA.fullmatch(by_seller["rma_code"]) and RMA.fullmatch(by_sweep["rma_code"])
    assert by_seller["rma_code"] != by_sweep["rma_code"]
    assert (by_seller["issued_by_id"], by_sweep["issued_by_id"]) == (seller.pk, None)
    same = ("id", "dispute_id", "rma_code", "issued_by_id")
    assert without(by_seller, *same) == without(by_sweep, *same) == {
        "warehouse_id": default.warehouse.pk,
        "address": {"name": default.warehouse.name, "address": default.warehouse.address,
                    "city": default.warehouse.city, "country": "RU"},
        "method": "drop_off", "carrier": "Russian Post",
        "text": "Pack the item as you received it, write the RMA code on the parcel and drop it off.",
        "ship_by": ship_by, "created_at": ACTED_AT}

    # The same timeline entry, but for who acted.
    events = {d.pk: DisputeEvent.objects.filter(dispute=d).order_by("pk").values(
        "kind", "actor", "from_state", "to_state", "details", "created_at").last() for d in (answered, swept)}
    assert (events[answered.pk]["actor"], events[swept.pk]["actor"]) == (seller.pk, None)
    assert events[answered.pk]["details"]["rma_code"] == by_seller["rma_code"]
    assert events[swept.pk]["details"]["rma_code"] == by_sweep["rma_code"]
    for event in events.values():
        assert without(event, "actor", "details") == {
            "kind": "instructions_sent", "from_state": "awaiting_seller", "to_state": "awaiting_buyer_shipment",
            "created_at": ACTED_AT}
        assert without(event["details"], "rma_code") == {
            "warehouse": default.warehouse.pk, "method": "drop_off", "carrier": "Russian Post",
            "ship_by": ship_by.isoformat()}

    # The buyer reads the same notification; only the store hears, for the sweep's, that it
    # missed its deadline.
    warehouse = Warehouse.objects.get(pk=default.warehouse.pk)
    address = f"{warehouse.name}, {warehouse.address}, {warehouse.city}, Russia"

    def told(dispute):
        return [(n.recipient_id, n.key, sorted(n.params), n.subject, n.body, n.url)
                for n in notes_at(ACTED_AT, dispute)]

    def to_buyer(dispute, rma):
        return (buyer.pk, "disputes.instructions_sent.buyer",
                ["carrier", "dispute", "order", "rma", "ship_by", "title", "warehouse"],
                f"Return instructions for dispute #{dispute.pk}",
                f"Send the goods to {address} with Russian Post by 25 Mar 2025, 15:00. Your RMA code is {rma}.",
                dispute.get_absolute_url())

    missed = (f"You did not send return instructions within 5 days, so default instructions were issued: "
              f"{address}, RMA code {by_sweep['rma_code']}.")
    assert told(answered) == [to_buyer(answered, by_seller["rma_code"])]
    assert told(swept) == [
        to_buyer(swept, by_sweep["rma_code"]),
        *[(member.pk, "disputes.instructions_issued.seller",
           ["carrier", "days", "dispute", "order", "rma", "ship_by", "title", "warehouse"],
           f"Dispute #{swept.pk}: deadline missed", missed, swept.get_absolute_url()) for member in (seller, clerk)],
    ]
    # The parameters differ only in what names the dispute and its RMA code.
    [note_answered] = notes_at(ACTED_AT, answered)
    note_swept = notes_at(ACTED_AT, swept)[0]
    assert without(note_answered.params, "dispute", "order", "rma") == without(
        note_swept.params, "dispute", "order", "rma")
    assert (note_answered.params["title"], note_swept.params["title"]) == (TITLE, TITLE)


# --- refunds ---------------------------------------------------------------------------------


def test_a_refund_only_claim_refunded_by_the_sweep_is_decided_and_paid_like_a_sellers_accept(
    lines, members, clock, monkeypatch, settings, django_capture_on_commit_callbacks
):
    # Given two identical refund-only claims; on the first the seller stays silent.
    settings.PAYMENT_GATEWAY = f"{__name__}.CountingGateway"
    CountingGateway.paid = Counter()
    buyer = lines[0].order.buyer
    seller, _clerk = members
    decided = Spy(monkeypatch, answers, "refund_decide_many")
    decided_by_sweep = Spy(monkeypatch, expiry, "refund_decide_many")

    def open_refund_only(line):
        return dispute_open(buyer=buyer, order_line=line, kind=Dispute.Kind.REFUND_ONLY, route=Dispute.Route.NONE,
                            amount=ASKED, reason=Dispute.Reason.DAMAGED, description="The box was crushed.",
                            evidence=[photo()])

    swept = open_refund_only(lines[0])
    clock.move_to(OPENED_FOR_THE_SELLER, tick=False)
    accepted = open_refund_only(lines[1])

    # When, at the same moment, the seller accepts the second and the sweep finds the first
    # one's deadline passed (each committed, so their payments run).
    clock.move_to(ACTED_AT, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        dispute_accept(dispute=accepted, seller=seller)
    with django_capture_on_commit_callbacks(execute=True):
        report = enforce_deadlines()

    # Then both refunds were decided by the same batch service, one decision each.
    assert dict(+report.counts) == {"seller_timeout_refunded": 1}
    assert [[(d.dispute.pk, d.amount, d.decided_by, d.by_staff) for d in call[0][0]]
            for call in decided.calls + decided_by_sweep.calls] == [
        [(accepted.pk, ASKED, seller, False)],
        [(swept.pk, ASKED, None, False)],
    ]

    # The refunds are the same but for who decided and why; each was paid once.
    refunds = {r["dispute_id"]: r for r in Refund.objects.values()}
    by_seller, by_sweep = refunds[accepted.pk], refunds[swept.pk]
    assert (by_seller["decided_by_id"], by_seller["reason"]) == (seller.pk, "Accepted by the seller.")
    assert (by_sweep["decided_by_id"], by_sweep["reason"]) == (None, "The seller did not answer in time.")
    for refund, line in ((by_seller, lines[1]), (by_sweep, lines[0])):
        key = f"dispute-{refund['dispute_id']}-refund"
        assert without(refund, "id", "decided_by_id", "reason") == {
            "dispute_id": refund["dispute_id"], "order_line_id": line.pk, "amount": ASKED, "currency": "RUB",
            "idempotency_key": key, "status": "paid", "approved_by_id": None, "approved_at": None,
            "gateway": settings.PAYMENT_GATEWAY, "gateway_reference": f"LOCAL-{key}", "attempts": 1,
            "last_error": "", "created_at": ACTED_AT, "paid_at": ACTED_AT}
    assert CountingGateway.paid == Counter({f"dispute-{accepted.pk}-refund": 1, f"dispute-{swept.pk}-refund": 1})

    # Paying again (the periodic job, a retried task) pays nothing more.
    assert pay_due_refunds.delay().get() == 0
    for refund in (by_seller, by_sweep):
        assert refund_pay(refund_id=refund["id"]).status == "paid"
    assert CountingGateway.paid == Counter({f"dispute-{accepted.pk}-refund": 1, f"dispute-{swept.pk}-refund": 1})
    assert [OrderLine.objects.get(pk=line.pk).refunded_amount for line in lines] == [ASKED, ASKED]

    # Both disputes ended refunded at that moment, with one payment entry each.
    for dispute in (accepted, swept):
        assert Dispute.objects.filter(pk=dispute.pk).values_list("state", "resolution", "closed_at").get() == (
            "refunded", "refunded", ACTED_AT)
        paid = DisputeEvent.objects.filter(dispute=dispute, kind="refund_paid").values(
            "actor", "from_state", "to_state", "details").get()
        refund = refunds[dispute.pk]
        assert paid == {"actor": None, "from_state": "refund_pending", "to_state": "refunded",
                        "details": {"refund": refund["id"], "amount": "1500.00", "currency": "RUB",
                                    "reference": refund["gateway_reference"]}}
    # The buyer is told the money was refunded in the same words.
    paid_notes = [(n.subject, n.body) for n in Notification.objects.filter(recipient=buyer,
                                                                           key="disputes.refund_paid.buyer")]
    assert paid_notes == [("You were refunded", f"1,500.00\u00a0₽ were refunded for “{TITLE}”.")] * 2
