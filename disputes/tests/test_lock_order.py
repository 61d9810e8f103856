"""One lock order everywhere (``services/_base.py``): the dispute row, then its order line,
then its refund. Opening a dispute locks only the line.

Two kinds of proof, on PostgreSQL only (SQLite writes no ``FOR UPDATE`` and serialises
writers on the whole file, so it can show neither):

- the rows each service locks, read from the SQL it sends, in order;
- rounds of real races on one dispute and its line between services that start from
  different places (a dispute, a batch of due disputes, a refund, a line): no thread ends in
  a deadlock or any error other than a refusal, and every round ends in one consistent
  outcome. These tests commit for real, so on-commit work (refund payments run eagerly, in
  the thread that committed) races too.
"""
import logging
import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import SellerFactory, StaffFactory
from disputes.lifecycle import EXPIRING
from disputes.models import Dispute, DisputeEvent, Inspection, Refund, ReturnShipment
from disputes.rules.conditions import RETURN_CONDITIONS
from disputes.services import (
    dispute_accept,
    dispute_accept_offer,
    dispute_inspect,
    dispute_open,
    dispute_reopen,
    dispute_staff_decide,
    dispute_withdraw,
    refund_approve,
    refund_pay,
)
from disputes.services.refunds import refund_key
from disputes.sweep import enforce_deadlines
from disputes.tests.factories import DisputeAttachmentFactory, DisputeFactory, disputable_line
from orders.models import OrderLine
from returns_portal.errors import ErrorCode
from returns_portal.testing import together

pytestmark = pytest.mark.postgres

ROUNDS = 15
PAID = Decimal("2490.00")
EARLIER = Decimal("1000.00")  # refunded (or being refunded) on an earlier dispute of the same line
S = Dispute.State
R = Dispute.Resolution
REFUSED_STATE = ("refused", ErrorCode.INVALID_TRANSITION)
ALL_MEET = {condition.code: "meets" for condition in RETURN_CONDITIONS}
STAFF_AT_WORK = ["disputes.view_dispute", "disputes.change_dispute", "disputes.decide_dispute"]

DISPUTE, LINE, REFUND = "disputes_dispute", "orders_orderline", "disputes_refund"
RANK = {DISPUTE: 0, LINE: 1, REFUND: 2}


# --- reading the locks out of the SQL ---------------------------------------------------------------

FOR_UPDATE = re.compile(r'\bFOR (?:NO KEY )?UPDATE(?: OF (?P<of>"\w+"(?:, "\w+")*))?')


def locked_tables(sql: str) -> list[str]:
    """The tables whose rows a query locks: those named after ``FOR UPDATE OF``, else every
    table it reads (a bare ``FOR UPDATE`` locks the joined rows too)."""
    found = FOR_UPDATE.search(sql)
    if found is None:
        return []
    if found.group("of"):
        return re.findall(r'"(\w+)"', found.group("of"))
    return re.findall(r'(?:FROM|JOIN) "(\w+)"', sql)


def locks_taken_by(run) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run()
    return [table for query in captured.captured_queries for table in locked_tables(query["sql"])]


def test_the_lock_reader_reads_django_sql():
    assert locked_tables('SELECT "a"."id" FROM "disputes_dispute" INNER JOIN "orders_orderline" ON (x) '
                         'LIMIT 21 FOR UPDATE OF "disputes_dispute"') == [DISPUTE]
    assert locked_tables('SELECT "disputes_refund"."id" FROM "disputes_refund" WHERE x LIMIT 21 FOR UPDATE') == [
        REFUND]
    assert locked_tables('SELECT 1 FROM "disputes_dispute" LIMIT 5 FOR UPDATE OF "disputes_dispute" SKIP LOCKED') \
        == [DISPUTE]
    assert locked_tables('SELECT "disputes_dispute"."id" FROM "disputes_dispute" WHERE x') == []


# --- the world ----------------------------------------------------------------------------------------


def refund_only(**fields) -> Dispute:
    """A refund-only claim with its photo (reopening checks the evidence again)."""
    dispute = DisputeFactory(kind=Dispute.Kind.REFUND_ONLY, route=Dispute.Route.NONE, **fields)
    DisputeAttachmentFactory(dispute=dispute)
    return dispute


def overdue():
    return timezone.now() - timedelta(seconds=1)


def timeline(dispute: Dispute) -> list[tuple]:
    """In the order written (the primary key): a transition takes its timestamp before it
    waits for the row lock, so under a race ``created_at`` may not follow the order applied."""
    return list(DisputeEvent.objects.filter(dispute=dispute).order_by("pk")
                .values_list("kind", "actor", "from_state", "to_state"))


def refunds_of(dispute: Dispute) -> list[tuple]:
    return list(Refund.objects.filter(dispute=dispute).values_list("amount", "status", "attempts", "decided_by"))


def assert_no_errors(outcomes: list) -> None:
    """Every thread ended in a result or a refusal (``DomainError``): no deadlock
    (``OperationalError``), no integrity error, nothing else."""
    assert [kind for kind, _value in outcomes if kind not in ("ok", "refused")] == [], outcomes


def assert_money_adds_up(line: OrderLine) -> None:
    """The line's refunded total is the sum of its paid refunds, and nothing is left unpaid
    (payments run on commit)."""
    line.refresh_from_db()
    refunds = Refund.objects.filter(order_line=line)
    assert line.refunded_amount == sum(refunds.filter(status=Refund.Status.PAID).values_list("amount", flat=True),
                                       Decimal("0"))
    assert list(refunds.exclude(status=Refund.Status.PAID)) == []


@pytest.fixture(autouse=True)
def policies(settings):
    settings.SELLER_TIMEOUT_POLICY = "refund"
    settings.PAYMENT_GATEWAY = "disputes.payments.LocalLedgerGateway"


@pytest.fixture(autouse=True)
def nothing_logged_as_failed(caplog):
    """A payment that fails on commit is logged (``returns_portal.jobs``), not raised: catch it here."""
    caplog.set_level(logging.WARNING)
    yield
    assert [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING] == []


# --- the locks each service takes, in order -----------------------------------------------------------


def _reopen(settings):
    dispute = refund_only(withdrawn=True, withdrawn_from=S.AWAITING_SELLER)
    return lambda: dispute_reopen(dispute=dispute, buyer=dispute.buyer)


def _accept(settings):
    dispute = refund_only()
    seller = SellerFactory(store=dispute.store)
    return lambda: dispute_accept(dispute=dispute, seller=seller)


def _accept_offer(settings):
    dispute = refund_only(state=S.COUNTER_OFFERED, counter_offer_amount=EARLIER)
    return lambda: dispute_accept_offer(dispute=dispute, buyer=dispute.buyer)


def _inspect(settings):
    dispute = DisputeFactory(state=S.RETURN_IN_TRANSIT)
    ReturnShipment.objects.create(dispute=dispute, carrier="CDEK", tracking_number="CDEK12345678")
    seller = SellerFactory(store=dispute.store)
    return lambda: dispute_inspect(dispute=dispute, inspector=seller, answers=ALL_MEET)


def _staff_decide(settings):
    dispute = refund_only(state=S.ESCALATED)
    staff = StaffFactory(permissions=STAFF_AT_WORK)
    return lambda: dispute_staff_decide(dispute=dispute, staff=staff, decision="refund_full", reason="Torn.")


def _refund_pay(settings):
    dispute = refund_only()
    dispute_accept(dispute=dispute, seller=SellerFactory(store=dispute.store))  # its payment waits for commit
    refund = Refund.objects.get(dispute=dispute)
    return lambda: refund_pay(refund_id=refund.pk)


def _refund_approve(settings):
    settings.STAFF_REFUND_APPROVAL_LIMIT = Decimal("100")
    dispute = refund_only(state=S.ESCALATED)
    dispute_staff_decide(dispute=dispute, staff=StaffFactory(permissions=STAFF_AT_WORK), decision="refund_full",
                         reason="Torn.")
    refund = Refund.objects.get(dispute=dispute, status=Refund.Status.AWAITING_APPROVAL)
    approver = StaffFactory(permissions=["disputes.view_dispute", "disputes.change_dispute", "disputes.pay_refund"])
    return lambda: refund_approve(refund_id=refund.pk, approver=approver)


def _sweep(settings):
    refund_only(deadline_at=overdue())
    return lambda: enforce_deadlines()


def _open(settings):
    line = disputable_line(price=PAID)
    return lambda: dispute_open(buyer=line.order.buyer, order_line=line, kind=Dispute.Kind.RETURN,
                                route=Dispute.Route.LOCAL, amount=PAID, reason=Dispute.Reason.CHANGED_MIND)


def _withdraw(settings):
    dispute = refund_only()
    return lambda: dispute_withdraw(dispute=dispute, buyer=dispute.buyer)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("service", "expected"),
    [
        pytest.param(_reopen, [DISPUTE, LINE], id="dispute_reopen"),
        pytest.param(_accept, [DISPUTE, LINE], id="dispute_accept"),
        pytest.param(_accept_offer, [DISPUTE, LINE], id="dispute_accept_offer"),
        pytest.param(_inspect, [DISPUTE, LINE], id="dispute_inspect"),
        pytest.param(_staff_decide, [DISPUTE, LINE], id="dispute_staff_decide"),
        pytest.param(_refund_pay, [DISPUTE, LINE, REFUND], id="refund_pay"),
        pytest.param(_refund_approve, [DISPUTE, REFUND], id="refund_approve"),
        # One batch for the step that is due (its disputes, then their lines); every other
        # expiring step, then the reminders, look for a batch and find none (a transaction each).
        pytest.param(_sweep, [DISPUTE, LINE] + [DISPUTE] * (len(EXPIRING) - 1) + [DISPUTE], id="enforce_deadlines"),
        pytest.param(_open, [LINE], id="dispute_open"),
        pytest.param(_withdraw, [DISPUTE], id="dispute_withdraw"),
    ],
)
def test_each_service_locks_the_dispute_before_the_line_before_the_refund(service, expected, settings):
    run = service(settings)

    locked = locks_taken_by(run)

    assert locked == expected
    first_locked = [locked.index(table) for table in RANK if table in locked]
    assert first_locked == sorted(first_locked), "a row of a later table was locked first"


# --- races, round after round -------------------------------------------------------------------------

race = pytest.mark.django_db(transaction=True)


@race
def test_seller_accepting_races_the_sweep_and_a_payment_retry_on_the_same_line():
    """Accept (dispute → line) against the sweep (a batch of disputes, SKIP LOCKED → their
    lines) and against a retried payment of the line's earlier refund (refund → its dispute →
    the line → the refund). The line was disputed twice before a line got one dispute: the
    earlier claim was refunded in part; the later one is overdue with the seller."""
    winners = Counter()
    for _ in range(ROUNDS):
        # Given an overdue refund-only claim on what is left of a line, and the line's earlier refund.
        line = disputable_line(price=PAID)
        seller = SellerFactory(store=line.order.store)
        earlier = refund_only(order_line=line, state=S.REFUNDED, resolution=R.REFUNDED, amount=EARLIER,
                              deadline_at=None, closed_at=timezone.now() - timedelta(days=1))
        earlier_refund = Refund.objects.create(
            dispute=earlier, order_line=line, amount=EARLIER, currency="RUB", idempotency_key=refund_key(earlier.pk),
            status=Refund.Status.PAID, attempts=1, paid_at=timezone.now() - timedelta(days=1),
            gateway_reference=f"LOCAL-{refund_key(earlier.pk)}")
        OrderLine.objects.filter(pk=line.pk).update(refunded_amount=EARLIER)
        dispute = refund_only(order_line=line, amount=PAID - EARLIER, deadline_at=overdue())

        # When the seller accepts while the sweep runs and a worker retries the earlier payment.
        accepted, swept, retried = together(
            lambda: dispute_accept(dispute=Dispute.objects.get(pk=dispute.pk), seller=seller).state,
            lambda: +enforce_deadlines().counts,
            lambda: refund_pay(refund_id=earlier_refund.pk).status,
        )

        # Then nobody failed, and exactly one of the seller and the sweep refunded the claim, once.
        assert_no_errors([accepted, swept, retried])
        assert retried == ("ok", Refund.Status.PAID)
        if accepted[0] == "ok":
            winners["seller"] += 1
            assert (accepted, swept) == (("ok", S.REFUND_PENDING), ("ok", Counter()))
            decided_by, first = seller.pk, ("accepted", seller.pk, S.AWAITING_SELLER, S.REFUND_PENDING)
        else:
            winners["sweep"] += 1
            assert (accepted, swept) == (REFUSED_STATE, ("ok", Counter({"seller_timeout_refunded": 1})))
            decided_by, first = None, ("deadline_passed", None, S.AWAITING_SELLER, S.REFUND_PENDING)
        assert timeline(dispute) == [first, ("refund_paid", None, S.REFUND_PENDING, S.REFUNDED)]
        assert refunds_of(dispute) == [(PAID - EARLIER, Refund.Status.PAID, 1, decided_by)]
        assert Dispute.objects.filter(pk=dispute.pk).values_list("state", "resolution").get() == (
            S.REFUNDED, R.REFUNDED)
        # The earlier refund was paid once, long ago: the retry changed nothing.
        assert refunds_of(earlier) == [(EARLIER, Refund.Status.PAID, 1, None)]
        assert timeline(earlier) == []
        assert_money_adds_up(line)
        assert line.refunded_amount == PAID
    assert sum(winners.values()) == ROUNDS, winners


@race
def test_reopening_races_paying_a_refund_on_the_same_line_and_an_opening():
    """Reopen (dispute → line) against paying a refund (refund → its dispute → the line →
    the refund) of another dispute of the same line, and against a new opening (the line
    only). The line was disputed twice before a line got one dispute: the earlier claim was
    withdrawn; the later one waits for its refund to be paid."""
    for _ in range(ROUNDS):
        line = disputable_line(price=PAID)
        withdrawn = refund_only(order_line=line, withdrawn=True, withdrawn_from=S.AWAITING_SELLER,
                                closed_at=timezone.now() - timedelta(days=1))
        being_refunded = refund_only(order_line=line, state=S.REFUND_PENDING, amount=EARLIER, deadline_at=None)
        refund = Refund.objects.create(dispute=being_refunded, order_line=line, amount=EARLIER, currency="RUB",
                                       idempotency_key=refund_key(being_refunded.pk), status=Refund.Status.PENDING)
        buyer = User.objects.get(pk=line.order.buyer_id)

        reopened, paid, paid_again, opened = together(
            lambda: dispute_reopen(dispute=Dispute.objects.get(pk=withdrawn.pk), buyer=buyer).state,
            lambda: refund_pay(refund_id=refund.pk).status,
            lambda: refund_pay(refund_id=refund.pk).status,
            lambda: dispute_open(buyer=buyer, order_line=OrderLine.objects.get(pk=line.pk),
                                 kind=Dispute.Kind.RETURN, route=Dispute.Route.LOCAL, amount=Decimal("100.00"),
                                 reason=Dispute.Reason.CHANGED_MIND).pk,
        )

        # Then nobody failed: the refund was paid once; the line has an open (then settled)
        # dispute, so neither the reopening nor the opening went through.
        assert_no_errors([reopened, paid, paid_again, opened])
        assert (reopened, paid, paid_again, opened) == (
            ("refused", ErrorCode.NOT_ELIGIBLE), ("ok", Refund.Status.PAID), ("ok", Refund.Status.PAID),
            ("refused", ErrorCode.NOT_ELIGIBLE))
        assert refunds_of(being_refunded) == [(EARLIER, Refund.Status.PAID, 1, None)]
        assert timeline(being_refunded) == [("refund_paid", None, S.REFUND_PENDING, S.REFUNDED)]
        assert timeline(withdrawn) == []
        assert Dispute.objects.filter(pk=withdrawn.pk).values_list("state", "resolution", "reopened_at").get() == (
            S.CLOSED, R.WITHDRAWN, None)
        assert Dispute.objects.filter(order_line=line).count() == 2
        assert_money_adds_up(line)
        assert line.refunded_amount == EARLIER


@race
def test_the_buyer_withdrawing_and_reopening_races_the_sweep():
    """Withdraw (the dispute) and reopen (dispute → line) against the sweep (a batch of
    disputes, SKIP LOCKED → their lines, then the payment: dispute → line → refund)."""
    outcomes = Counter()
    for _ in range(ROUNDS):
        dispute = refund_only(deadline_at=overdue())
        buyer = User.objects.get(pk=dispute.buyer_id)

        withdrawn, reopened, swept = together(
            lambda: dispute_withdraw(dispute=Dispute.objects.get(pk=dispute.pk), buyer=buyer).state,
            lambda: dispute_reopen(dispute=Dispute.objects.get(pk=dispute.pk), buyer=buyer).state,
            lambda: +enforce_deadlines().counts,
        )

        assert_no_errors([withdrawn, reopened, swept])
        fresh = Dispute.objects.get(pk=dispute.pk)
        withdraw_event = ("withdrawn", buyer.pk, S.AWAITING_SELLER, S.CLOSED)
        if swept == ("ok", Counter({"seller_timeout_refunded": 1})):
            # The sweep came first: refunded; the buyer can no longer withdraw nor reopen.
            outcomes["refunded by the sweep"] += 1
            assert (withdrawn, reopened) == (REFUSED_STATE, REFUSED_STATE)
            assert timeline(dispute) == [("deadline_passed", None, S.AWAITING_SELLER, S.REFUND_PENDING),
                                         ("refund_paid", None, S.REFUND_PENDING, S.REFUNDED)]
            assert refunds_of(dispute) == [(PAID, Refund.Status.PAID, 1, None)]
            assert (fresh.state, fresh.resolution) == (S.REFUNDED, R.REFUNDED)
        elif reopened[0] == "ok":
            # Withdrawn, then reopened at the step it left, with a fresh deadline the sweep leaves alone.
            outcomes["withdrawn and reopened"] += 1
            assert (withdrawn, reopened, swept) == (("ok", S.CLOSED), ("ok", S.AWAITING_SELLER), ("ok", Counter()))
            assert timeline(dispute) == [withdraw_event, ("reopened", buyer.pk, S.CLOSED, S.AWAITING_SELLER)]
            assert refunds_of(dispute) == []
            assert (fresh.state, fresh.resolution, fresh.closed_at) == (S.AWAITING_SELLER, R.NONE, None)
            assert fresh.reopened_at is not None and fresh.deadline_at > timezone.now()
        else:
            # The reopening came before the withdrawal (nothing to reopen yet).
            outcomes["withdrawn"] += 1
            assert (withdrawn, reopened, swept) == (("ok", S.CLOSED), REFUSED_STATE, ("ok", Counter()))
            assert timeline(dispute) == [withdraw_event]
            assert refunds_of(dispute) == []
            assert (fresh.state, fresh.resolution, fresh.withdrawn_from, fresh.reopened_at) == (
                S.CLOSED, R.WITHDRAWN, S.AWAITING_SELLER, None)
        assert_money_adds_up(dispute.order_line)
    assert sum(outcomes.values()) == ROUNDS, outcomes


@race
def test_a_staff_decision_races_the_buyer_withdrawing_and_the_overdue_sweep():
    """Decide (dispute → line) against withdraw (the dispute) and the sweep flagging the
    overdue escalation (a batch of disputes, SKIP LOCKED)."""
    staff = StaffFactory(permissions=STAFF_AT_WORK)
    outcomes = Counter()
    for _ in range(ROUNDS):
        dispute = refund_only(state=S.ESCALATED, deadline_at=overdue())
        buyer = User.objects.get(pk=dispute.buyer_id)

        decided, withdrawn, swept = together(
            lambda: dispute_staff_decide(dispute=Dispute.objects.get(pk=dispute.pk), staff=staff,
                                         decision="refund_full", reason="Torn on arrival.").state,
            lambda: dispute_withdraw(dispute=Dispute.objects.get(pk=dispute.pk), buyer=buyer).state,
            lambda: +enforce_deadlines().counts,
        )

        assert_no_errors([decided, withdrawn, swept])
        fresh = Dispute.objects.get(pk=dispute.pk)
        # The sweep flags it only if it got the row before the decision or the withdrawal.
        flagged = swept == ("ok", Counter({"staff_overdue_flagged": 1}))
        assert flagged or swept == ("ok", Counter())
        before = [("staff_overdue", None, S.ESCALATED, S.ESCALATED)] if flagged else []
        assert (fresh.overdue_flagged_at is not None) == flagged
        if decided[0] == "ok":
            outcomes["decided"] += 1
            assert (decided, withdrawn) == (("ok", S.REFUND_PENDING), REFUSED_STATE)
            assert timeline(dispute) == before + [("staff_decided", staff.pk, S.ESCALATED, S.REFUND_PENDING),
                                                  ("refund_paid", None, S.REFUND_PENDING, S.REFUNDED)]
            assert refunds_of(dispute) == [(PAID, Refund.Status.PAID, 1, staff.pk)]
            assert (fresh.state, fresh.resolution) == (S.REFUNDED, R.REFUNDED)
        else:
            outcomes["withdrawn"] += 1
            assert (decided, withdrawn) == (REFUSED_STATE, ("ok", S.CLOSED))
            assert timeline(dispute) == before + [("withdrawn", buyer.pk, S.ESCALATED, S.CLOSED)]
            assert refunds_of(dispute) == []
            assert (fresh.state, fresh.resolution, fresh.withdrawn_from) == (S.CLOSED, R.WITHDRAWN, S.ESCALATED)
        assert_money_adds_up(dispute.order_line)
    assert sum(outcomes.values()) == ROUNDS, outcomes


@race
def test_an_inspection_races_the_receipt_deadline_and_a_withdrawal():
    """Inspect (dispute → line) against the sweep refunding a return not confirmed in time
    (disputes → lines) and a withdrawal the goods already on their way refuse."""
    outcomes = Counter()
    for _ in range(ROUNDS):
        dispute = DisputeFactory(state=S.RETURN_IN_TRANSIT, deadline_at=overdue())
        ReturnShipment.objects.create(dispute=dispute, carrier="CDEK", tracking_number="CDEK12345678")
        seller = SellerFactory(store=dispute.store)
        buyer = User.objects.get(pk=dispute.buyer_id)

        inspected, swept, withdrawn = together(
            lambda: dispute_inspect(dispute=Dispute.objects.get(pk=dispute.pk), inspector=seller,
                                    answers=ALL_MEET).state,
            lambda: +enforce_deadlines().counts,
            lambda: dispute_withdraw(dispute=Dispute.objects.get(pk=dispute.pk), buyer=buyer).state,
        )

        assert_no_errors([inspected, swept, withdrawn])
        assert withdrawn == REFUSED_STATE
        if inspected[0] == "ok":
            outcomes["inspected"] += 1
            assert (inspected, swept) == (("ok", S.REFUND_PENDING), ("ok", Counter()))
            first, decided_by = ("inspected", seller.pk, S.RETURN_IN_TRANSIT, S.REFUND_PENDING), seller.pk
            assert Inspection.objects.filter(dispute=dispute).values_list("outcome", flat=True).get() == "accepted"
        else:
            outcomes["refunded by the sweep"] += 1
            assert (inspected, swept) == (REFUSED_STATE, ("ok", Counter({"receipt_timeout_refunded": 1})))
            first, decided_by = ("deadline_passed", None, S.RETURN_IN_TRANSIT, S.REFUND_PENDING), None
            assert not Inspection.objects.filter(dispute=dispute).exists()
        assert timeline(dispute) == [first, ("refund_paid", None, S.REFUND_PENDING, S.REFUNDED)]
        assert refunds_of(dispute) == [(PAID, Refund.Status.PAID, 1, decided_by)]
        assert Dispute.objects.filter(pk=dispute.pk).values_list("state", "resolution").get() == (
            S.REFUNDED, R.REFUNDED)
        assert_money_adds_up(dispute.order_line)
    assert sum(outcomes.values()) == ROUNDS, outcomes


@race
def test_accepting_a_counter_offer_races_the_answer_deadline_and_a_withdrawal():
    """Accept the offer (dispute → line) against the sweep closing an unanswered offer (a
    batch of disputes) and a withdrawal (the dispute)."""
    outcomes = Counter()
    for _ in range(ROUNDS):
        dispute = refund_only(state=S.COUNTER_OFFERED, counter_offer_amount=EARLIER, deadline_at=overdue())
        buyer = User.objects.get(pk=dispute.buyer_id)

        accepted, swept, withdrawn = together(
            lambda: dispute_accept_offer(dispute=Dispute.objects.get(pk=dispute.pk), buyer=buyer).state,
            lambda: +enforce_deadlines().counts,
            lambda: dispute_withdraw(dispute=Dispute.objects.get(pk=dispute.pk), buyer=buyer).state,
        )

        assert_no_errors([accepted, swept, withdrawn])
        fresh = Dispute.objects.get(pk=dispute.pk)
        if accepted[0] == "ok":
            outcomes["offer accepted"] += 1
            assert (accepted, swept, withdrawn) == (("ok", S.REFUND_PENDING), ("ok", Counter()), REFUSED_STATE)
            assert timeline(dispute) == [("offer_accepted", buyer.pk, S.COUNTER_OFFERED, S.REFUND_PENDING),
                                         ("refund_paid", None, S.REFUND_PENDING, S.REFUNDED)]
            assert refunds_of(dispute) == [(EARLIER, Refund.Status.PAID, 1, buyer.pk)]
            assert (fresh.state, fresh.resolution) == (S.REFUNDED, R.REFUNDED)
        elif withdrawn[0] == "ok":
            outcomes["withdrawn"] += 1
            assert (accepted, swept, withdrawn) == (REFUSED_STATE, ("ok", Counter()), ("ok", S.CLOSED))
            assert timeline(dispute) == [("withdrawn", buyer.pk, S.COUNTER_OFFERED, S.CLOSED)]
            assert refunds_of(dispute) == []
            assert (fresh.state, fresh.resolution) == (S.CLOSED, R.WITHDRAWN)
        else:
            outcomes["closed by the sweep"] += 1
            assert (accepted, swept, withdrawn) == (
                REFUSED_STATE, ("ok", Counter({"answer_timeout_closed": 1})), REFUSED_STATE)
            assert timeline(dispute) == [("deadline_passed", None, S.COUNTER_OFFERED, S.CLOSED)]
            assert refunds_of(dispute) == []
            assert (fresh.state, fresh.resolution) == (S.CLOSED, R.REJECTED)
        assert_money_adds_up(dispute.order_line)
    assert sum(outcomes.values()) == ROUNDS, outcomes
