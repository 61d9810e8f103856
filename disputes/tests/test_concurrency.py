"""A double click, or two tabs, racing the same dispute operation: exactly one effect.

Runs on PostgreSQL only: SQLite serialises writers on the whole file, so it cannot show
that the row locks (the order line on opening, the dispute on a transition) and the
partial unique index are what keep the outcome single.
"""
import threading
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import User
from disputes.models import Dispute, DisputeEvent
from disputes.services import dispute_open, dispute_withdraw
from disputes.tests.factories import DisputeFactory, disputable_line
from orders.models import OrderLine
from returns_portal.errors import DomainError, ErrorCode

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TIMEOUT_SECONDS = 10


def race(attempt, times: int = 2) -> list:
    """Run ``attempt()`` in ``times`` threads released together; collect what each got."""
    barrier = threading.Barrier(times, timeout=TIMEOUT_SECONDS)
    outcomes: list = []

    def run() -> None:
        try:
            barrier.wait()
            attempt()
            outcomes.append("ok")
        except DomainError as error:
            outcomes.append(error.code)
        except Exception as error:  # surfaced by the assertions in the test
            outcomes.append(error)
        finally:
            connection.close()  # each thread has its own connection; leave none open

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


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
