"""Twenty simultaneous attempts to pay one refund, or to accept one dispute: the money moves once.

Runs on PostgreSQL only: SQLite serialises writers on the whole file, so it cannot show that
the row locks (the refund on payment, the dispute on a transition) keep the outcome single.
These tests commit for real, so on-commit work (the payment task, run eagerly) runs too.
"""
import threading
from decimal import Decimal

import pytest

from accounts.models import User
from accounts.tests.factories import SellerFactory
from disputes.models import Dispute, DisputeEvent, Refund
from disputes.payments import GatewayReceipt
from disputes.services import dispute_accept, dispute_open, refund_pay
from disputes.services import refunds as refund_services
from disputes.tests.factories import disputable_line, photo
from orders.models import OrderLine
from returns_portal.errors import ErrorCode
from returns_portal.testing import together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20
PAID = Decimal("2490.00")


class CountingGateway:
    """Records every refund it is asked for; a real provider would pay each one."""

    lock = threading.Lock()
    calls: list[str] = []

    def refund(self, *, idempotency_key, amount, currency, payment_reference) -> GatewayReceipt:
        with CountingGateway.lock:
            CountingGateway.calls.append(idempotency_key)
        return GatewayReceipt(reference=f"COUNTED-{idempotency_key}")


@pytest.fixture(autouse=True)
def counting_gateway(settings):
    settings.PAYMENT_GATEWAY = f"{__name__}.CountingGateway"
    CountingGateway.calls = []
    yield CountingGateway
    CountingGateway.calls = []


def race(attempt, times: int = THREADS) -> list:
    outcomes = together(*[attempt] * times)
    assert len(outcomes) == times
    return outcomes


def refund_only_dispute() -> tuple[Dispute, User]:
    """A refund-only claim for the whole line, with a photo, waiting for the seller."""
    line = disputable_line(price=PAID)
    seller = SellerFactory(store=line.order.store)
    dispute = dispute_open(buyer=line.order.buyer, order_line=line, kind=Dispute.Kind.REFUND_ONLY,
                           route=Dispute.Route.NONE, amount=PAID, reason=Dispute.Reason.DAMAGED, evidence=[photo()])
    return dispute, seller


def test_twenty_simultaneous_payments_of_one_refund_pay_it_once(counting_gateway, monkeypatch):
    # Given a decided refund whose payment has not run: the accept's on-commit task is held back.
    dispute, seller = refund_only_dispute()
    queued: list[int] = []
    with monkeypatch.context() as patch:
        patch.setattr(refund_services, "enqueue_on_commit", lambda task, ids: queued.extend(ids))
        dispute_accept(dispute=dispute, seller=seller)
    refund = Refund.objects.get()
    assert queued == [refund.pk]
    assert (refund.status, counting_gateway.calls) == (Refund.Status.PENDING, [])

    # When twenty workers pay it at the same moment.
    outcomes = race(lambda: refund_pay(refund_id=refund.pk).status)

    # Then every worker sees it paid, the provider was asked once, the money moved once.
    assert outcomes == [("ok", Refund.Status.PAID)] * THREADS
    assert counting_gateway.calls == [f"dispute-{dispute.pk}-refund"]
    refund = Refund.objects.get()
    assert (refund.status, refund.attempts, refund.gateway_reference) == (
        "paid", 1, f"COUNTED-dispute-{dispute.pk}-refund")
    assert OrderLine.objects.get(pk=dispute.order_line_id).refunded_amount == PAID
    assert DisputeEvent.objects.filter(dispute=dispute, kind="refund_paid").count() == 1
    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution) == (Dispute.State.REFUNDED, Dispute.Resolution.REFUNDED)


def test_twenty_simultaneous_acceptances_refund_once(counting_gateway):
    # Given a refund-only claim waiting for the seller (twenty open tabs of the seller's desk).
    dispute, seller = refund_only_dispute()

    # When the seller presses "Accept" in all of them at once.
    outcomes = race(lambda: dispute_accept(dispute=Dispute.objects.get(pk=dispute.pk),
                                           seller=User.objects.get(pk=seller.pk)).state)

    # Then one acceptance wins (and its on-commit payment runs), the other nineteen are refused.
    assert sorted(outcomes, key=str) == sorted(
        [("ok", Dispute.State.REFUND_PENDING)] + [("refused", ErrorCode.INVALID_TRANSITION)] * (THREADS - 1),
        key=str,
    )
    refund = Refund.objects.get()
    assert (refund.dispute_id, refund.amount, refund.status, refund.attempts) == (dispute.pk, PAID, "paid", 1)
    assert counting_gateway.calls == [f"dispute-{dispute.pk}-refund"]
    assert list(DisputeEvent.objects.filter(dispute=dispute).values_list("kind", flat=True)) == [
        "opened", "accepted", "refund_paid"]
    assert OrderLine.objects.get(pk=dispute.order_line_id).refunded_amount == PAID
    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution) == (Dispute.State.REFUNDED, Dispute.Resolution.REFUNDED)
