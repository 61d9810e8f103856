"""The deadline sweep racing itself and racing a seller: every outcome is applied once.

Runs on PostgreSQL only: the sweep locks its batch with ``FOR UPDATE SKIP LOCKED`` and a
person's transition locks the dispute row; SQLite serialises writers on the whole file and
cannot show either. These tests commit for real, so on-commit work (refund payments and
e-mails, run eagerly) runs too.
"""
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import SellerFactory
from catalog.models import Warehouse
from disputes.sweep import enforce_deadlines
from disputes.models import Dispute, DisputeEvent, Refund, ReturnInstructions
from disputes.services import dispute_open, dispute_send_instructions
from disputes.tests.factories import DisputeFactory, disputable_line, notes
from notifications.models import Notification
from orders.models import OrderLine
from returns_portal.errors import ErrorCode
from returns_portal.testing import together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PAID = Decimal("2490.00")
S = Dispute.State


# --- two sweeps at once ------------------------------------------------------------------------


def overdue(state: str, count: int, **fields) -> list[Dispute]:
    past = timezone.now() - timedelta(hours=1)
    return [DisputeFactory(state=state, deadline_at=past - timedelta(minutes=i), **fields) for i in range(count)]


def test_two_sweeps_at_once_apply_each_outcome_once():
    # Given 30 disputes past their deadline, in every state the sweep acts on.
    disputes = {
        "instructions_issued": overdue(S.AWAITING_SELLER, 5),
        "seller_timeout_refunded": overdue(S.AWAITING_SELLER, 5, kind=Dispute.Kind.REFUND_ONLY,
                                           route=Dispute.Route.NONE),
        "buyer_did_not_ship": overdue(S.AWAITING_BUYER_SHIPMENT, 5),
        "receipt_timeout_refunded": overdue(S.RETURN_IN_TRANSIT, 5),
        "answer_timeout_closed": overdue(S.REJECTED, 3) + overdue(S.COUNTER_OFFERED, 2,
                                                                counter_offer_amount=Decimal("100.00")),
        "staff_overdue_flagged": overdue(S.ESCALATED, 5),
    }
    for dispute in [d for group in disputes.values() for d in group]:
        SellerFactory(store=dispute.store)

    # When two sweeps start at the same moment, in small batches so that they interleave.
    first, second = together(lambda: enforce_deadlines(batch_size=4), lambda: enforce_deadlines(batch_size=4))

    # Then both finished, and between them each outcome was applied exactly once.
    assert (first[0], second[0]) == ("ok", "ok"), (first, second)
    combined = first[1].counts + second[1].counts
    assert first[1].total + second[1].total == 30
    assert combined == Counter({outcome: len(group) for outcome, group in disputes.items()})

    every = [d for group in disputes.values() for d in group]
    system = DisputeEvent.objects.filter(actor=None, kind__in=["deadline_passed", "staff_overdue", "instructions_sent"])
    assert Counter(system.values_list("dispute", flat=True)) == Counter({d.pk: 1 for d in every})
    outcomes = Counter(system.exclude(kind="instructions_sent").values_list("details__outcome", flat=True))
    assert outcomes == Counter({outcome: len(group) for outcome, group in disputes.items()
                                if outcome != "instructions_issued"})
    assert system.filter(kind="instructions_sent").count() == 5
    assert ReturnInstructions.objects.count() == 5
    assert sorted(ReturnInstructions.objects.values_list("dispute", flat=True)) == sorted(
        d.pk for d in disputes["instructions_issued"])

    # The refunds were decided once each and paid once each, after commit.
    refunded = disputes["seller_timeout_refunded"] + disputes["receipt_timeout_refunded"]
    assert sorted(Refund.objects.values_list("dispute", "status", "attempts")) == sorted(
        (d.pk, "paid", 1) for d in refunded)
    assert all(OrderLine.objects.get(pk=d.order_line_id).refunded_amount == d.amount for d in refunded)
    assert DisputeEvent.objects.filter(kind="refund_paid").count() == 10
    assert Counter(Dispute.objects.values_list("state", flat=True)) == Counter({
        S.AWAITING_BUYER_SHIPMENT: 5, S.REFUNDED: 10, S.CLOSED: 10, S.ESCALATED: 5})

    # Each party was told once per outcome: the buyer and the store's one member, except for the
    # staff flag (nobody) — plus the two "refunded" notes of each paid refund.
    assert Notification.objects.count() == 25 * 2 + 10 * 2
    assert (first[1].counts["reminders_sent"], second[1].counts["reminders_sent"]) == (0, 0)

    # And a third sweep finds nothing left to do.
    assert enforce_deadlines().total == 0


# --- the seller against the sweep --------------------------------------------------------------


def test_a_seller_sending_instructions_as_the_deadline_passes_races_the_sweep_with_one_winner():
    winners = Counter()
    for _ in range(10):
        # Given a local return whose seller deadline has just passed, the seller still at the desk.
        line = disputable_line(price=PAID)
        seller = SellerFactory(store=line.order.store)
        warehouse = Warehouse.objects.get(store=line.order.store, country="RU")
        dispute = dispute_open(buyer=line.order.buyer, order_line=line, kind=Dispute.Kind.RETURN,
                               route=Dispute.Route.LOCAL, amount=PAID, reason=Dispute.Reason.CHANGED_MIND)
        Dispute.objects.filter(pk=dispute.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))

        # When the seller sends instructions while the sweep expires the dispute.
        sent, swept = together(
            lambda: dispute_send_instructions(dispute=dispute, seller=seller, warehouse=warehouse,
                                              method="courier_pickup", carrier="CDEK", text="Call first."),
            lambda: enforce_deadlines(),
        )

        # Then exactly one of them moved it; the other was refused (seller) or skipped it (sweep).
        assert sent[0] in ("ok", "refused"), sent
        assert swept[0] == "ok", swept
        instructions = ReturnInstructions.objects.get(dispute=dispute)
        fresh = Dispute.objects.get(pk=dispute.pk)
        assert fresh.state == S.AWAITING_BUYER_SHIPMENT
        assert fresh.deadline_at == instructions.ship_by
        events = list(DisputeEvent.objects.filter(dispute=dispute).values_list("kind", "actor", "from_state",
                                                                                "to_state"))
        if sent[0] == "ok":
            winners["seller"] += 1
            assert swept[1].total == 0
            assert events == [("opened", line.order.buyer_id, "", "awaiting_seller"),
                              ("instructions_sent", seller.pk, "awaiting_seller", "awaiting_buyer_shipment")]
            assert (instructions.issued_by_id, instructions.carrier, instructions.method) == (
                seller.pk, "CDEK", "courier_pickup")
        else:
            winners["sweep"] += 1
            assert sent[1] == ErrorCode.INVALID_TRANSITION
            assert +swept[1].counts == Counter({"instructions_issued": 1})
            assert events == [("opened", line.order.buyer_id, "", "awaiting_seller"),
                              ("instructions_sent", None, "awaiting_seller", "awaiting_buyer_shipment")]
            assert instructions.issued_by_id is None
        # The buyer got one set of instructions, whoever issued them.
        assert [subject for _who, subject, _url in notes(recipient=line.order.buyer)].count(
            f"Return instructions for dispute #{dispute.pk}") == 1
    assert sum(winners.values()) == 10
