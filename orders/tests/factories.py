from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import BuyerFactory
from catalog.tests.factories import ProductFactory
from orders.models import Order, OrderLine


class OrderFactory(factory.django.DjangoModelFactory):
    """A paid order of one line (add lines with OrderLineFactory or use with_line)."""

    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"T-{n:06d}")
    buyer = factory.SubFactory(BuyerFactory)
    store = factory.SubFactory("catalog.tests.factories.StoreFactory")
    status = Order.Status.PAID
    currency = "RUB"
    total = Decimal("1000.00")
    delivery_country = factory.LazyAttribute(lambda o: o.buyer.country or "RU")
    paid_at = factory.LazyFunction(timezone.now)
    payment_reference = "SIMULATED-TEST"

    class Params:
        shipped = factory.Trait(
            status=Order.Status.SHIPPED,
            shipped_at=factory.LazyFunction(timezone.now),
        )
        delivered = factory.Trait(
            status=Order.Status.DELIVERED,
            shipped_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=3)),
            delivered_at=factory.LazyFunction(timezone.now),
        )


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory, store=factory.SelfAttribute("..order.store"))
    title = factory.LazyAttribute(lambda line: line.product.title)
    unit_price = factory.LazyAttribute(lambda line: line.product.price)
    quantity = 1
    line_total = factory.LazyAttribute(lambda line: line.unit_price * line.quantity)


def order_with_line(**kwargs) -> Order:
    """An order and its single line, the order total equal to the line total."""
    line_kwargs = {k.removeprefix("line__"): v for k, v in kwargs.items() if k.startswith("line__")}
    order_kwargs = {k: v for k, v in kwargs.items() if not k.startswith("line__")}
    order = OrderFactory(**order_kwargs)
    line = OrderLineFactory(order=order, **line_kwargs)
    if order.total != line.line_total:
        order.total = line.line_total
        order.save(update_fields=["total"])
    return order
