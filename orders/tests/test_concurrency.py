"""Two people (or one double click) racing the same order transition: exactly one wins.

Runs on PostgreSQL only: SQLite serialises writers on the whole file, so it cannot
show that ``select_for_update`` on the order row is what keeps the outcome single.
"""
import threading

import pytest
from django.db import connection

from accounts.models import User
from accounts.tests.factories import SellerFactory
from orders.models import Order, OrderEvent
from orders.services import order_confirm_delivery, order_mark_shipped
from orders.tests.factories import order_with_line
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
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def test_two_simultaneous_ship_clicks_ship_once():
    seller = SellerFactory()
    order = order_with_line(store=seller.store)

    def ship() -> None:
        order_mark_shipped(
            order=Order.objects.get(pk=order.pk),
            seller=User.objects.get(pk=seller.pk),
            tracking_number="RR123456789CN",
        )

    outcomes = race(ship)

    assert sorted(outcomes, key=str) == sorted(["ok", ErrorCode.INVALID_TRANSITION], key=str)
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    assert list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status", "actor")) == [
        (Order.Status.PAID, Order.Status.SHIPPED, seller.pk)
    ]


def test_two_simultaneous_delivery_confirmations_deliver_once():
    order = order_with_line(shipped=True)

    def confirm() -> None:
        order_confirm_delivery(
            order=Order.objects.get(pk=order.pk),
            buyer=User.objects.get(pk=order.buyer_id),
        )

    outcomes = race(confirm)

    assert sorted(outcomes, key=str) == sorted(["ok", ErrorCode.INVALID_TRANSITION], key=str)
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.delivered_at is not None
    assert list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status", "actor")) == [
        (Order.Status.SHIPPED, Order.Status.DELIVERED, order.buyer_id)
    ]
