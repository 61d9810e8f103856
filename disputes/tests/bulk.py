"""Many disputes at once, for query budgets that must stay flat as data grows: orders, lines
and disputes written with bulk_create, spread over states, kinds, countries and stores."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import cycle

from django.utils import timezone

from accounts.tests.factories import BuyerFactory
from catalog.tests.factories import ProductFactory, StoreFactory
from disputes.models import Dispute
from orders.models import Order, OrderLine

S = Dispute.State
# (state, kind, route, deadline from now in hours; None: nobody on the clock)
MIX = [
    (S.AWAITING_SELLER, Dispute.Kind.RETURN, Dispute.Route.LOCAL, 100),
    (S.AWAITING_BUYER_SHIPMENT, Dispute.Kind.RETURN, Dispute.Route.LOCAL, 12),
    (S.RETURN_IN_TRANSIT, Dispute.Kind.RETURN, Dispute.Route.INTERNATIONAL, 200),
    (S.REJECTED, Dispute.Kind.REFUND_ONLY, Dispute.Route.NONE, 50),
    (S.ESCALATED, Dispute.Kind.REFUND_ONLY, Dispute.Route.NONE, -30),
    (S.COUNTER_OFFERED, Dispute.Kind.REFUND_ONLY, Dispute.Route.NONE, 20),
    (S.REFUNDED, Dispute.Kind.RETURN, Dispute.Route.LOCAL, None),
    (S.CLOSED, Dispute.Kind.RETURN, Dispute.Route.LOCAL, None),
]
COUNTRIES = ["RU", "RU", "KZ", "UA", "BY"]


def bulk_disputes(count: int, *, stores: int = 3, prefix: str = "B") -> list[Dispute]:
    """``count`` disputes on as many delivered order lines, over ``stores`` stores and a few
    buyers, cycling through ``MIX`` and ``COUNTRIES``. A handful of queries per 1,000."""
    now = timezone.now()
    shops = [StoreFactory(name=f"{prefix} store {i}") for i in range(stores)]
    products = [ProductFactory(store=shop, title=f"{prefix} item of {shop.name}", price=Decimal("1500.00"))
                for shop in shops]
    buyers = [BuyerFactory(country=country) for country in dict.fromkeys(COUNTRIES)]
    buyer_of = {b.country: b for b in buyers}
    orders = Order.objects.bulk_create([
        Order(number=f"{prefix}-{i:07d}", buyer=buyer_of[COUNTRIES[i % len(COUNTRIES)]], store=shops[i % stores],
              status=Order.Status.DELIVERED, currency="RUB", total=Decimal("1500.00"),
              delivery_country=COUNTRIES[i % len(COUNTRIES)], paid_at=now - timedelta(days=9),
              shipped_at=now - timedelta(days=8), delivered_at=now - timedelta(days=5), created_at=now - timedelta(days=9))
        for i in range(count)], batch_size=1000)
    lines = OrderLine.objects.bulk_create([
        OrderLine(order=order, product=products[i % stores], title=products[i % stores].title,
                  unit_price=Decimal("1500.00"), quantity=1, line_total=Decimal("1500.00"))
        for i, order in enumerate(orders)], batch_size=1000)
    mix = cycle(MIX)
    disputes = []
    for i, line in enumerate(lines):
        state, kind, route, hours = next(mix)
        ended = state in Dispute.TERMINAL_STATES
        disputes.append(Dispute(
            order_line=line, buyer=line.order.buyer, store=shops[i % stores], kind=kind, route=route, state=state,
            resolution=(Dispute.Resolution.REFUNDED if state == S.REFUNDED else
                        Dispute.Resolution.REJECTED if state == S.CLOSED else ""),
            amount=Decimal("1500.00"), currency="RUB", reason=Dispute.Reason.CHANGED_MIND,
            deadline_at=None if hours is None else now + timedelta(hours=hours),
            created_at=now - timedelta(days=4, minutes=i), closed_at=now - timedelta(days=1) if ended else None))
    return Dispute.objects.bulk_create(disputes, batch_size=1000)
