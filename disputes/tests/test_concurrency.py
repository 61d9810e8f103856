"""A double click, or two tabs, racing the same dispute operation: exactly one effect.

Runs on PostgreSQL only: SQLite serialises writers on the whole file, so it cannot show
that the row locks (the order line on opening, the dispute on a transition) and the
partial unique index are what keep the outcome single.
"""
from decimal import Decimal

import pytest

from accounts.models import User
from disputes.models import Dispute, DisputeEvent
from disputes.services import dispute_open, dispute_withdraw
from disputes.tests.factories import DisputeFactory, disputable_line
from orders.models import OrderLine
from returns_portal.errors import ErrorCode
from returns_portal.testing import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]



def test_two_simultaneous_openings_on_one_line_open_one_dispute():
    line = disputable_line(price=Decimal("2490.00"))

    def open_it() -> None:
        fresh_line = OrderLine.objects.get(pk=line.pk)
        dispute_open(
            buyer=User.objects.get(pk=line.order.buyer_id),
            order_line=fresh_line,
            kind=Dispute.Kind.RETURN,
            route=Dispute.Route.LOCAL,
            amount=Decimal("2490.00"),
            reason=Dispute.Reason.CHANGED_MIND,
        )

    outcomes = race(open_it)

    # The loser waits for the line lock, then sees the winner's open dispute.
    assert sorted(outcomes, key=str) == sorted(["ok", ErrorCode.NOT_ELIGIBLE], key=str)
    dispute = Dispute.objects.get(order_line=line)
    assert dispute.state == Dispute.State.AWAITING_SELLER
    assert list(DisputeEvent.objects.values_list("dispute", "kind")) == [(dispute.pk, "opened")]


def test_two_simultaneous_withdrawals_withdraw_once():
    dispute = DisputeFactory()

    def withdraw() -> None:
        dispute_withdraw(
            dispute=Dispute.objects.get(pk=dispute.pk),
            buyer=User.objects.get(pk=dispute.buyer_id),
        )

    outcomes = race(withdraw)

    assert sorted(outcomes, key=str) == sorted(["ok", ErrorCode.INVALID_TRANSITION], key=str)
    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution) == (Dispute.State.CLOSED, Dispute.Resolution.WITHDRAWN)
    assert list(DisputeEvent.objects.values_list("kind", "from_state", "to_state")) == [
        ("withdrawn", "awaiting_seller", "closed")
    ]
