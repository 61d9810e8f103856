"""Order use cases: placing, shipping and confirming delivery, refusals included."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings

from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.tests.factories import ProductFactory, StoreFactory
from orders.models import Order, OrderEvent, OrderLine
from orders.services import order_confirm_delivery, order_mark_shipped, order_place
from orders.tests.factories import order_with_line
from returns_portal.errors import DomainError, ErrorCode

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


def assert_no_order_rows() -> None:
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert OrderEvent.objects.count() == 0


def events_of(order: Order) -> list[tuple[str, str, int | None]]:
    return list(order.events.values_list("from_status", "to_status", "actor_id"))


# --- order_place ---------------------------------------------------------------------------


def test_order_place_creates_a_paid_order_with_exact_total_and_snapshots():
    buyer = BuyerFactory(country="KZ")
    product = ProductFactory(title="Wireless earbuds", price=Decimal("1234.50"), currency="RUB")

    with time_machine.travel(T0, tick=False):
        order = order_place(buyer=buyer, product=product, quantity=3)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.buyer == buyer
    assert order.store == product.store
    assert order.total == Decimal("3703.50")
    assert isinstance(order.total, Decimal)
    assert order.currency == "RUB"
    assert order.delivery_country == "KZ"
    assert order.paid_at == T0
    assert order.shipped_at is None and order.delivered_at is None
    assert order.payment_reference.startswith("SIMULATED-")

    line = order.lines.get()
    assert (line.product, line.title, line.unit_price, line.quantity, line.line_total) == (
        product,
        "Wireless earbuds",
        Decimal("1234.50"),
        3,
        Decimal("3703.50"),
    )
    assert events_of(order) == [("", Order.Status.PAID, buyer.pk)]
    assert Order.objects.count() == 1


def test_an_order_in_yen_totals_whole_yen():
    product = ProductFactory(price=Decimal("1500"), currency="JPY")

    order = order_place(buyer=BuyerFactory(), product=product, quantity=3)

    order.refresh_from_db()
    assert (order.currency, order.total, order.lines.get().line_total) == ("JPY", Decimal("4500"), Decimal("4500"))


@pytest.mark.parametrize(
    ("unit_price", "quantity", "currency", "total"),
    [
        ("1234.50", 3, "RUB", "3703.50"),
        ("0.125", 1, "RUB", "0.13"),  # computed amounts round half up
        ("1500.00", 3, "JPY", "4500"),
        ("999.50", 1, "JPY", "1000"),
    ],
)
def test_a_line_total_is_rounded_to_the_currencys_minor_unit(unit_price, quantity, currency, total):
    assert str(OrderLine.total_for(Decimal(unit_price), quantity, currency=currency)) == total


def test_order_line_keeps_the_title_and_price_paid_when_the_product_changes_later():
    buyer = BuyerFactory()
    product = ProductFactory(title="Old title", price=Decimal("100.00"))
    order = order_place(buyer=buyer, product=product, quantity=2)

    product.title = "New title"
    product.price = Decimal("999.99")
    product.save()

    line = order.lines.get()
    assert (line.title, line.unit_price, line.line_total) == ("Old title", Decimal("100.00"), Decimal("200.00"))
    order.refresh_from_db()
    assert order.total == Decimal("200.00")


def test_order_place_accepts_the_maximum_quantity():
    assert settings.MAX_ORDER_QUANTITY == 10
    product = ProductFactory(price=Decimal("0.10"))

    order = order_place(buyer=BuyerFactory(), product=product, quantity=10)

    order.refresh_from_db()
    assert order.total == Decimal("1.00")
    assert order.lines.get().quantity == 10


def test_each_order_gets_its_own_number():
    buyer = BuyerFactory()
    product = ProductFactory()

    first = order_place(buyer=buyer, product=product, quantity=1)
    second = order_place(buyer=buyer, product=product, quantity=1)

    assert first.number != second.number
    assert Order.objects.filter(buyer=buyer).count() == 2


@pytest.mark.parametrize(
    "make_user",
    [
        pytest.param(lambda: SellerFactory(country="RU"), id="seller"),
        pytest.param(lambda: StaffFactory(country="RU"), id="staff"),
    ],
)
def test_order_place_refuses_accounts_that_are_not_buyers(make_user):
    user = make_user()
    product = ProductFactory()

    with pytest.raises(DomainError) as refused:
        order_place(buyer=user, product=product, quantity=1)

    assert refused.value.code == ErrorCode.NOT_A_BUYER
    assert_no_order_rows()


def test_order_place_refuses_a_buyer_without_a_country():
    buyer = BuyerFactory(country="")

    with pytest.raises(DomainError) as refused:
        order_place(buyer=buyer, product=ProductFactory(), quantity=1)

    assert refused.value.code == ErrorCode.NO_DELIVERY_COUNTRY
    assert_no_order_rows()


@pytest.mark.parametrize("quantity", [0, -1, 11])
def test_order_place_refuses_a_quantity_out_of_range(quantity):
    with pytest.raises(DomainError) as refused:
        order_place(buyer=BuyerFactory(), product=ProductFactory(), quantity=quantity)

    assert refused.value.code == ErrorCode.INVALID_QUANTITY
    assert_no_order_rows()


@pytest.mark.parametrize(
    "make_product",
    [
        pytest.param(lambda: ProductFactory(is_active=False), id="product-off-sale"),
        pytest.param(lambda: ProductFactory(store=StoreFactory(is_active=False)), id="store-inactive"),
    ],
)
def test_order_place_refuses_a_product_not_on_sale(make_product):
    product = make_product()

    with pytest.raises(DomainError) as refused:
        order_place(buyer=BuyerFactory(), product=product, quantity=1)

    assert refused.value.code == ErrorCode.PRODUCT_UNAVAILABLE
    assert_no_order_rows()


# --- order_mark_shipped --------------------------------------------------------------------


@pytest.fixture
def seller():
    return SellerFactory()


@pytest.fixture
def paid_order(seller):
    return order_with_line(store=seller.store)


def test_the_stores_seller_ships_a_paid_order(seller, paid_order):
    with time_machine.travel(T0, tick=False):
        shipped = order_mark_shipped(order=paid_order, seller=seller, tracking_number="  RR123456789CN \n")

    assert shipped.status == Order.Status.SHIPPED
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.SHIPPED
    assert paid_order.shipped_at == T0
    assert paid_order.tracking_number == "RR123456789CN"
    assert paid_order.delivered_at is None
    assert events_of(paid_order) == [(Order.Status.PAID, Order.Status.SHIPPED, seller.pk)]


def test_shipping_without_a_tracking_number_is_allowed(seller, paid_order):
    order_mark_shipped(order=paid_order, seller=seller)

    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.tracking_number) == (Order.Status.SHIPPED, "")


@pytest.mark.parametrize(
    "make_actor",
    [
        pytest.param(lambda: SellerFactory(), id="seller-of-another-store"),
        pytest.param(lambda: BuyerFactory(), id="buyer"),
    ],
)
def test_only_the_stores_seller_may_ship(paid_order, make_actor):
    with pytest.raises(DomainError) as refused:
        order_mark_shipped(order=paid_order, seller=make_actor(), tracking_number="RR1")

    assert refused.value.code == ErrorCode.NOT_ALLOWED
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.PAID
    assert paid_order.shipped_at is None
    assert paid_order.tracking_number == ""
    assert OrderEvent.objects.count() == 0


def test_the_orders_own_buyer_may_not_ship_it(paid_order):
    with pytest.raises(DomainError) as refused:
        order_mark_shipped(order=paid_order, seller=paid_order.buyer)

    assert refused.value.code == ErrorCode.NOT_ALLOWED
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.PAID


def test_shipping_twice_has_exactly_one_effect(seller, paid_order):
    with time_machine.travel(T0, tick=False):
        order_mark_shipped(order=paid_order, seller=seller, tracking_number="FIRST")

    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        with pytest.raises(DomainError) as refused:
            order_mark_shipped(order=paid_order, seller=seller, tracking_number="SECOND")

    assert refused.value.code == ErrorCode.INVALID_TRANSITION
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.SHIPPED
    assert paid_order.shipped_at == T0
    assert paid_order.tracking_number == "FIRST"
    assert events_of(paid_order) == [(Order.Status.PAID, Order.Status.SHIPPED, seller.pk)]


def test_a_delivered_order_cannot_be_shipped_again(seller):
    order = order_with_line(store=seller.store, delivered=True)

    with pytest.raises(DomainError) as refused:
        order_mark_shipped(order=order, seller=seller)

    assert refused.value.code == ErrorCode.INVALID_TRANSITION
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert OrderEvent.objects.count() == 0


# --- order_confirm_delivery ----------------------------------------------------------------


@pytest.fixture
def shipped_order(seller, paid_order):
    with time_machine.travel(T0 - timedelta(days=5), tick=False):
        order_mark_shipped(order=paid_order, seller=seller, tracking_number="RR1")
    paid_order.refresh_from_db()
    return paid_order


def test_the_buyer_confirms_delivery_and_protection_starts(shipped_order):
    buyer = shipped_order.buyer

    with time_machine.travel(T0, tick=False):
        delivered = order_confirm_delivery(order=shipped_order, buyer=buyer)
        assert delivered.protection_open is True

    shipped_order.refresh_from_db()
    assert shipped_order.status == Order.Status.DELIVERED
    assert shipped_order.delivered_at == T0
    assert shipped_order.protection_ends_at == T0 + timedelta(days=15)
    assert settings.BUYER_PROTECTION_DAYS == 15
    assert [e[:2] for e in events_of(shipped_order)] == [
        (Order.Status.PAID, Order.Status.SHIPPED),
        (Order.Status.SHIPPED, Order.Status.DELIVERED),
    ]
    assert shipped_order.events.last().actor == buyer


def test_buyer_protection_closes_exactly_fifteen_days_after_delivery(shipped_order):
    with time_machine.travel(T0, tick=False):
        order_confirm_delivery(order=shipped_order, buyer=shipped_order.buyer)
    shipped_order.refresh_from_db()

    with time_machine.travel(T0 + timedelta(days=15) - timedelta(seconds=1), tick=False):
        assert shipped_order.protection_open is True
    with time_machine.travel(T0 + timedelta(days=15), tick=False):
        assert shipped_order.protection_open is False
    with time_machine.travel(T0 + timedelta(days=40), tick=False):
        assert shipped_order.protection_open is False


def test_an_undelivered_order_has_no_protection_yet(paid_order):
    assert paid_order.protection_ends_at is None
    assert paid_order.protection_open is False


@pytest.mark.parametrize(
    "make_actor",
    [
        pytest.param(lambda order: BuyerFactory(), id="another-buyer"),
        pytest.param(lambda order: order.store.members.get(), id="the-stores-seller"),
    ],
)
def test_only_the_orders_buyer_may_confirm_delivery(shipped_order, make_actor):
    with pytest.raises(DomainError) as refused:
        order_confirm_delivery(order=shipped_order, buyer=make_actor(shipped_order))

    assert refused.value.code == ErrorCode.NOT_ALLOWED
    shipped_order.refresh_from_db()
    assert shipped_order.status == Order.Status.SHIPPED
    assert shipped_order.delivered_at is None
    assert shipped_order.events.count() == 1


def test_delivery_of_an_order_not_yet_shipped_cannot_be_confirmed(paid_order):
    with pytest.raises(DomainError) as refused:
        order_confirm_delivery(order=paid_order, buyer=paid_order.buyer)

    assert refused.value.code == ErrorCode.INVALID_TRANSITION
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.PAID
    assert paid_order.delivered_at is None
    assert OrderEvent.objects.count() == 0


def test_confirming_delivery_twice_has_exactly_one_effect(shipped_order):
    with time_machine.travel(T0, tick=False):
        order_confirm_delivery(order=shipped_order, buyer=shipped_order.buyer)
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        with pytest.raises(DomainError) as refused:
            order_confirm_delivery(order=shipped_order, buyer=shipped_order.buyer)

    assert refused.value.code == ErrorCode.INVALID_TRANSITION
    shipped_order.refresh_from_db()
    assert shipped_order.status == Order.Status.DELIVERED
    assert shipped_order.delivered_at == T0  # the second attempt did not restart protection
    assert shipped_order.events.filter(to_status=Order.Status.DELIVERED).count() == 1
