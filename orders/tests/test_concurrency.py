"""Two people (or one double click) racing the same order transition: exactly one wins.

Runs on PostgreSQL only: SQLite serialises writers on the whole file, so it cannot
show that ``select_for_update`` on the order row is what keeps the outcome single.
"""

import pytest

from accounts.models import User
from accounts.tests.factories import SellerFactory
from orders.models import Order, OrderEvent
from orders.services import order_confirm_delivery, order_mark_shipped
from orders.tests.factories import order_with_line
from returns_portal.errors import ErrorCode
from returns_portal.testing import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]



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
