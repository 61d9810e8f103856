"""Manual refunds raced (PostgreSQL): two supervisors refunding more than is left between
them, and one form sent twenty times at once. The dispute row lock, then the line's, keep
the line's refunds within what was paid, and a form's token makes one refund.

Runs on PostgreSQL only (SQLite serialises writers on the whole file). These tests commit
for real, so on-commit work (the payment task, run eagerly) runs too.
"""
import threading
from decimal import Decimal

import pytest

from accounts.models import User
from accounts.tests.factories import SellerFactory, StaffFactory
from disputes.models import Dispute, DisputeEvent, Refund
from disputes.payments import GatewayReceipt
from disputes.services import dispute_accept_rejection, dispute_open, dispute_reject, refund_issue_manual
from disputes.tests.factories import disputable_line, photo
from orders.models import OrderLine
from returns_portal.errors import ErrorCode
from returns_portal.testing import together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PAID = Decimal("2490.00")
THREADS = 20


class CountingGateway:
    lock = threading.Lock()
    calls: list = []

    def refund(self, *, idempotency_key, amount, currency, payment_reference) -> GatewayReceipt:
        with CountingGateway.lock:
            CountingGateway.calls.append((idempotency_key, amount))
        return GatewayReceipt(reference=f"COUNTED-{idempotency_key}")


@pytest.fixture(autouse=True)
def counting_gateway(settings):
    settings.PAYMENT_GATEWAY = f"{__name__}.CountingGateway"
    settings.STAFF_REFUND_APPROVAL_LIMIT = Decimal("10000")  # paid at once: the race is about deciding
    CountingGateway.calls = []
    yield CountingGateway
    CountingGateway.calls = []


def supervisor() -> User:
    # Transactional tests empty the tables between tests, the groups the migrations made too:
    # the supervisor's permissions that matter here, given directly.
    return StaffFactory(permissions=["disputes.view_dispute", "disputes.change_dispute",
                                     "disputes.issue_manual_refund"])


def closed_dispute() -> Dispute:
    """A refund-only claim for the whole line, rejected by the seller; the buyer accepted that."""
    line = disputable_line(price=PAID)
    seller = SellerFactory(store=line.order.store)
    dispute = dispute_open(buyer=line.order.buyer, order_line=line, kind=Dispute.Kind.REFUND_ONLY,
                           route=Dispute.Route.NONE, amount=PAID, reason=Dispute.Reason.DAMAGED, evidence=[photo()])
    dispute_reject(dispute=dispute, seller=seller, reason="It left intact.")
    return dispute_accept_rejection(dispute=Dispute.objects.get(pk=dispute.pk), buyer=line.order.buyer)


def test_two_supervisors_refunding_more_than_is_left_between_them_refund_once(counting_gateway):
    # Given a closed dispute on a line of 2,490.00, and two supervisors with a form each.
    dispute = closed_dispute()
    first, second = supervisor(), supervisor()

    # When both issue 2,000.00 at the same moment.
    outcomes = together(*[
        (lambda staff=staff, token=token: refund_issue_manual(
            dispute=Dispute.objects.get(pk=dispute.pk), staff=User.objects.get(pk=staff.pk),
            amount=Decimal("2000.00"), reason="Goodwill.", token=token).pk)
        for staff, token in ((first, "form-first-1"), (second, "form-second"))])

    # Then one refund is decided and paid; the other is refused; the line took 2,000.00 once.
    refund = Refund.objects.get()
    assert sorted(outcomes, key=str) == sorted([("ok", refund.pk), ("refused", ErrorCode.INVALID_AMOUNT)], key=str)
    assert (refund.amount, refund.status, refund.attempts) == (Decimal("2000.00"), "paid", 1)
    assert counting_gateway.calls == [(refund.idempotency_key, Decimal("2000.00"))]
    assert OrderLine.objects.get(pk=dispute.order_line_id).refunded_amount == Decimal("2000.00")
    assert list(DisputeEvent.objects.filter(dispute=dispute, kind__in=["manual_refund", "refund_paid"])
                .values_list("kind", "actor", "from_state", "to_state")) == [
        ("manual_refund", refund.decided_by_id, "closed", "closed"), ("refund_paid", None, "closed", "closed")]
    assert Dispute.objects.filter(pk=dispute.pk).values_list("state", "resolution").get() == ("closed", "rejected")


def test_one_form_sent_twenty_times_at_once_makes_one_refund(counting_gateway):
    # Given a closed dispute and a supervisor's form for the whole line.
    dispute = closed_dispute()
    staff = supervisor()

    # When the form arrives twenty times at the same moment.
    outcomes = together(*[lambda: refund_issue_manual(
        dispute=Dispute.objects.get(pk=dispute.pk), staff=User.objects.get(pk=staff.pk), amount=PAID,
        reason="Goodwill.", token="form-double-click").pk] * THREADS)

    # Then every one gets the same refund, decided once and paid once.
    refund = Refund.objects.get()
    assert outcomes == [("ok", refund.pk)] * THREADS
    assert refund.idempotency_key == f"dispute-{dispute.pk}-manual-form-double-click"
    assert (refund.amount, refund.status, refund.attempts) == (PAID, "paid", 1)
    assert counting_gateway.calls == [(refund.idempotency_key, PAID)]
    assert DisputeEvent.objects.filter(dispute=dispute, kind="manual_refund").count() == 1
    assert OrderLine.objects.get(pk=dispute.order_line_id).refunded_amount == PAID
