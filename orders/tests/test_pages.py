"""Order pages through HTTP: buying, My orders, the seller desk, access rules, query budgets."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from accounts.tests.factories import BuyerFactory, SellerFactory
from catalog.tests.factories import ProductFactory
from orders.models import Order, OrderEvent, OrderLine
from orders.tests.factories import order_with_line

pytestmark = pytest.mark.django_db

ORDER_LIST = reverse("orders:order_list")
SELLER_DESK = reverse("orders:seller_order_list")


def buy_url(product) -> str:
    return reverse("orders:buy_now", args=[product.pk])


def ship_url(order) -> str:
    return reverse("orders:seller_order_ship", args=[order.pk])


def confirm_url(order) -> str:
    return reverse("orders:confirm_delivery", args=[order.pk])


def numbers_on_page(response) -> set[str]:
    return {order.number for order in response.context["page"].object_list}


def assert_no_order_rows() -> None:
    assert (Order.objects.count(), OrderLine.objects.count(), OrderEvent.objects.count()) == (0, 0, 0)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def buyer(client):
    buyer = BuyerFactory(country="RU")
    client.force_login(buyer)
    return buyer


@pytest.fixture
def product():
    return ProductFactory(title="Wireless earbuds", price=Decimal("3490.00"))


# --- Buy now -------------------------------------------------------------------------------


def test_buy_now_from_the_product_page_places_one_paid_order(client, buyer, product):
    page = client.get(product.get_absolute_url())
    assert page.status_code == 200
    assert f'action="{buy_url(product)}"' in page.content.decode()

    response = client.post(buy_url(product), {"quantity": "2"}, follow=True)

    order = Order.objects.get()
    assert response.redirect_chain == [(order.get_absolute_url(), 302)]
    assert response.status_code == 200
    assert (order.buyer, order.status, order.total) == (buyer, Order.Status.PAID, Decimal("6980.00"))
    assert order.lines.get().quantity == 2
    assert messages_of(response) == [f"Order {order.number} is placed and paid (payment simulated in this demo)."]
    assert f"Order {order.number}" in response.content.decode()


@pytest.mark.parametrize("quantity", ["abc", "0", "99", "-1", ""])
def test_buy_now_with_an_invalid_quantity_explains_and_creates_nothing(client, buyer, product, quantity):
    response = client.post(buy_url(product), {"quantity": quantity}, follow=True)

    assert response.redirect_chain == [(product.get_absolute_url(), 302)]
    assert response.status_code == 200
    assert len(messages_of(response)) == 1
    assert_no_order_rows()


def test_buy_now_refused_by_the_service_shows_its_message(client, product):
    buyer = BuyerFactory(country="")
    client.force_login(buyer)

    response = client.post(buy_url(product), {"quantity": "1"}, follow=True)

    assert response.redirect_chain == [(product.get_absolute_url(), 302)]
    assert messages_of(response) == ["Set your country of residence before buying: we deliver there."]
    assert_no_order_rows()


def test_buy_now_for_a_product_off_sale_is_404(client, buyer):
    product = ProductFactory(is_active=False)

    assert client.post(buy_url(product), {"quantity": "1"}).status_code == 404
    assert_no_order_rows()


def test_buy_url_only_accepts_post(client, buyer, product):
    assert client.get(buy_url(product)).status_code == 405
    assert_no_order_rows()


def test_anonymous_buy_now_is_sent_to_log_in(client, product):
    response = client.post(buy_url(product), {"quantity": "1"})

    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next={buy_url(product)}"
    assert_no_order_rows()


def test_a_seller_may_not_buy(client, product):
    client.force_login(SellerFactory(country="RU"))

    assert client.post(buy_url(product), {"quantity": "1"}).status_code == 403
    assert_no_order_rows()


# --- My orders and order detail ------------------------------------------------------------


def test_anonymous_my_orders_is_sent_to_log_in(client):
    response = client.get(ORDER_LIST)

    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next={ORDER_LIST}"


def test_a_seller_gets_403_on_my_orders(client):
    client.force_login(SellerFactory())

    assert client.get(ORDER_LIST).status_code == 403


def test_my_orders_lists_only_the_buyers_own_orders_with_their_lines(client, buyer):
    mine_paid = order_with_line(buyer=buyer, line__product__title="Silk scarf")
    mine_delivered = order_with_line(buyer=buyer, delivered=True, line__product__title="Linen dress")
    theirs = order_with_line(buyer=BuyerFactory(), line__product__title="Someone else's watch")

    response = client.get(ORDER_LIST)

    assert response.status_code == 200
    assert numbers_on_page(response) == {mine_paid.number, mine_delivered.number}
    html = response.content.decode()
    assert "Silk scarf" in html and "Linen dress" in html
    assert theirs.number not in html
    assert "Someone else&#x27;s watch" not in html and "Someone else's watch" not in html


def test_a_delivered_line_shows_until_when_buyer_protection_lasts(client, buyer):
    order = order_with_line(buyer=buyer, delivered=True)
    until = timezone.localtime(order.protection_ends_at)

    response = client.get(ORDER_LIST)

    assert f"Buyer protection until {until.day} {until:%b %Y}" in response.content.decode()


def test_a_line_whose_protection_has_ended_says_so(client, buyer):
    order = order_with_line(
        buyer=buyer,
        delivered=True,
        shipped_at=timezone.now() - timedelta(days=30),
        delivered_at=timezone.now() - timedelta(days=16),
    )

    html = client.get(ORDER_LIST).content.decode()

    ended = formats.date_format(timezone.localtime(order.protection_ends_at), "j M Y")
    assert f"Buyer protection ended on {ended}." in html
    assert "Buyer protection until" not in html


def test_the_buyer_sees_their_order_detail(client, buyer):
    order = order_with_line(buyer=buyer, shipped=True, line__product__title="Smart watch")

    response = client.get(order.get_absolute_url())

    assert response.status_code == 200
    assert response.context["order"] == order
    html = response.content.decode()
    assert "Smart watch" in html
    assert f'action="{confirm_url(order)}"' in html


def test_another_buyers_order_is_404_and_cannot_be_confirmed(client, buyer):
    other = order_with_line(buyer=BuyerFactory(), shipped=True)

    assert client.get(other.get_absolute_url()).status_code == 404
    assert client.post(confirm_url(other)).status_code == 404

    other.refresh_from_db()
    assert other.status == Order.Status.SHIPPED
    assert other.delivered_at is None
    assert OrderEvent.objects.count() == 0


def test_the_buyer_confirms_delivery_from_the_order_page(client, buyer):
    order = order_with_line(buyer=buyer, shipped=True)

    response = client.post(confirm_url(order), follow=True)

    assert response.redirect_chain == [(order.get_absolute_url(), 302)]
    assert messages_of(response) == [f"Thank you: receipt of order {order.number} is confirmed."]
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert list(order.events.values_list("from_status", "to_status", "actor")) == [
        (Order.Status.SHIPPED, Order.Status.DELIVERED, buyer.pk)
    ]


def test_confirming_delivery_twice_through_the_page_has_one_effect(client, buyer):
    order = order_with_line(buyer=buyer, shipped=True)
    client.post(confirm_url(order), follow=True)  # follow, so the first message is shown and consumed

    response = client.post(confirm_url(order), follow=True)

    assert response.status_code == 200
    assert messages_of(response) == ["This order is already delivered."]
    assert order.events.filter(to_status=Order.Status.DELIVERED).count() == 1


def test_confirm_delivery_only_accepts_post(client, buyer):
    order = order_with_line(buyer=buyer, shipped=True)

    assert client.get(confirm_url(order)).status_code == 405
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED


# --- Seller desk ---------------------------------------------------------------------------


@pytest.fixture
def seller(client):
    seller = SellerFactory()
    client.force_login(seller)
    return seller


@pytest.fixture
def desk(seller):
    """Orders of the seller's store in every status, plus one order of another store."""
    store = seller.store
    return {
        "paid": order_with_line(store=store),
        "shipped": order_with_line(store=store, shipped=True, tracking_number="RR0001CN"),
        "delivered": order_with_line(store=store, delivered=True),
        "other_store": order_with_line(),
    }


def test_seller_home_is_the_dispute_desk_which_links_to_the_orders(client, seller):
    response = client.get("/seller/")

    assert response.status_code == 200
    assert SELLER_DESK in response.content.decode()


@pytest.mark.parametrize(
    "query, expected, current_tab",
    [
        ("", {"paid"}, "paid"),
        ("?status=paid", {"paid"}, "paid"),
        ("?status=shipped", {"shipped"}, "shipped"),
        ("?status=delivered", {"delivered"}, "delivered"),
        ("?status=all", {"paid", "shipped", "delivered"}, ""),
        ("?status=bogus", {"paid", "shipped", "delivered"}, ""),
    ],
)
def test_seller_desk_shows_only_its_own_stores_orders_per_status_tab(client, desk, query, expected, current_tab):
    response = client.get(SELLER_DESK + query)

    assert response.status_code == 200
    assert numbers_on_page(response) == {desk[key].number for key in expected}
    assert response.context["status"] == current_tab
    html = response.content.decode()
    assert desk["other_store"].number not in html
    for value in ("paid", "shipped", "delivered", "all"):
        assert f'href="?status={value}"' in html


def test_seller_desk_pages_keep_the_status_tab(client, seller):
    for _ in range(21):
        order_with_line(store=seller.store, shipped=True)

    first = client.get(SELLER_DESK + "?status=shipped")
    second = client.get(SELLER_DESK + "?status=shipped&page=2")

    assert 'href="?status=shipped&amp;page=2"' in first.content.decode()
    assert len(second.context["page"].object_list) == 1
    assert second.context["page"].object_list[0].status == Order.Status.SHIPPED


def test_the_seller_ships_its_own_order_with_a_tracking_number(client, seller, desk):
    order = desk["paid"]

    response = client.post(ship_url(order), {"tracking_number": "  RR123456789CN "}, follow=True)

    assert response.redirect_chain == [(SELLER_DESK, 302)]
    assert messages_of(response) == [f"Order {order.number} is marked as shipped."]
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    assert order.tracking_number == "RR123456789CN"
    assert order.shipped_at is not None
    assert list(order.events.values_list("from_status", "to_status", "actor")) == [
        (Order.Status.PAID, Order.Status.SHIPPED, seller.pk)
    ]


def test_shipping_an_already_shipped_order_explains_and_changes_nothing(client, seller, desk):
    order = desk["shipped"]

    response = client.post(ship_url(order), {"tracking_number": "NEW"}, follow=True)

    assert messages_of(response) == ["This order is already shipped."]
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (Order.Status.SHIPPED, "RR0001CN")
    assert OrderEvent.objects.count() == 0


def test_a_too_long_tracking_number_is_refused(client, seller, desk):
    order = desk["paid"]

    response = client.post(ship_url(order), {"tracking_number": "X" * 65}, follow=True)

    assert messages_of(response) == ["The tracking number is too long."]
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (Order.Status.PAID, "")
    assert OrderEvent.objects.count() == 0


def test_shipping_another_stores_order_is_404_and_changes_nothing(client, seller, desk):
    order = desk["other_store"]

    response = client.post(ship_url(order), {"tracking_number": "RR1"})

    assert response.status_code == 404
    order.refresh_from_db()
    assert (order.status, order.shipped_at, order.tracking_number) == (Order.Status.PAID, None, "")
    assert OrderEvent.objects.count() == 0


def test_ship_url_only_accepts_post(client, seller, desk):
    assert client.get(ship_url(desk["paid"])).status_code == 405


def test_a_buyer_gets_403_on_the_seller_desk(client, buyer):
    order = order_with_line()

    assert client.get(SELLER_DESK).status_code == 403
    assert client.post(ship_url(order), {"tracking_number": "RR1"}).status_code == 403
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_anonymous_seller_desk_is_sent_to_log_in(client):
    response = client.get(SELLER_DESK)

    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next={SELLER_DESK}"


# --- Query budgets -------------------------------------------------------------------------
# Measured (SQLite and PostgreSQL alike):
#   GET /orders/                    10 orders: 7 queries, 200 orders: 7
#   GET /seller/orders/?status=paid 10 orders: 7 queries, 200 orders: 7 (its lines, no longer their disputes: 8 before)
#   GET /orders/<pk>/               1 event:   5 queries, 50 events:  5

QUERY_BUDGET = 8


def add_orders(*, buyer, store, count: int, status=Order.Status.PAID) -> None:
    """``count`` orders of ``store`` for ``buyer``, alternately with one and two lines, in bulk."""
    products = [ProductFactory(store=store), ProductFactory(store=store)]
    start = Order.objects.count()
    now = timezone.now()
    orders = Order.objects.bulk_create(
        Order(
            number=f"Q-{start + i:06d}",
            buyer=buyer,
            store=store,
            status=status,
            currency="RUB",
            total=Decimal("2000.00"),
            delivery_country="RU",
            paid_at=now,
            shipped_at=None if status == Order.Status.PAID else now,
            delivered_at=now if status == Order.Status.DELIVERED else None,
        )
        for i in range(count)
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order, product=product, title=product.title,
            unit_price=Decimal("1000.00"), quantity=1, line_total=Decimal("1000.00"),
        )
        for i, order in enumerate(orders)
        for product in products[: 1 + i % 2]
    )


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_my_orders_query_count_stays_flat_as_orders_grow(client, buyer):
    store = SellerFactory().store
    add_orders(buyer=buyer, store=store, count=10, status=Order.Status.DELIVERED)
    with_10 = count_queries(client, ORDER_LIST)

    add_orders(buyer=buyer, store=store, count=190, status=Order.Status.DELIVERED)
    with_200 = count_queries(client, ORDER_LIST)

    assert with_10 == with_200 <= QUERY_BUDGET


def test_seller_desk_query_count_stays_flat_as_orders_grow(client, seller):
    buyers = [BuyerFactory(), BuyerFactory()]
    add_orders(buyer=buyers[0], store=seller.store, count=10)
    with_10 = count_queries(client, SELLER_DESK + "?status=paid")

    add_orders(buyer=buyers[1], store=seller.store, count=190)
    with_200 = count_queries(client, SELLER_DESK + "?status=paid")

    assert with_10 == with_200 <= QUERY_BUDGET


def test_order_detail_query_count_stays_flat_as_events_grow(client, buyer):
    order = order_with_line(buyer=buyer, delivered=True)
    OrderEvent.objects.create(order=order, actor=buyer, from_status="", to_status=Order.Status.PAID)
    with_1 = count_queries(client, order.get_absolute_url())

    OrderEvent.objects.bulk_create(
        OrderEvent(order=order, actor=buyer, from_status=Order.Status.PAID, to_status=Order.Status.SHIPPED)
        for _ in range(49)
    )
    with_50 = count_queries(client, order.get_absolute_url())

    assert order.events.count() == 50
    assert with_1 == with_50 <= QUERY_BUDGET


def add_disputes_on_lines(buyer) -> None:
    """A dispute on every delivered line of ``buyer`` that has none, in every shape the line's
    cell speaks of: open, withdrawn (reopenable), ended as refunded or rejected."""
    from disputes.models import Dispute

    shapes = [
        {"state": Dispute.State.AWAITING_SELLER},
        {"state": Dispute.State.CLOSED, "resolution": Dispute.Resolution.WITHDRAWN,
         "withdrawn_from": Dispute.State.AWAITING_SELLER},
        {"state": Dispute.State.REFUNDED, "resolution": Dispute.Resolution.REFUNDED},
        {"state": Dispute.State.CLOSED, "resolution": Dispute.Resolution.REJECTED},
    ]
    lines = OrderLine.objects.filter(order__buyer=buyer, order__status=Order.Status.DELIVERED, disputes__isnull=True)
    Dispute.objects.bulk_create(
        Dispute(order_line=line, buyer=buyer, store_id=line.order.store_id, kind=Dispute.Kind.REFUND_ONLY,
                amount=line.line_total, currency="RUB", reason=Dispute.Reason.CHANGED_MIND, **shapes[i % len(shapes)])
        for i, line in enumerate(lines.select_related("order"))
    )


def test_my_orders_query_count_stays_flat_with_disputes_on_the_lines(client, buyer):
    store = SellerFactory().store
    add_orders(buyer=buyer, store=store, count=10, status=Order.Status.DELIVERED)
    add_disputes_on_lines(buyer)
    with_10 = count_queries(client, ORDER_LIST)
    html = client.get(ORDER_LIST).content.decode()
    # Every shape of the line's cell is on the page that was counted.
    assert "Reopen dispute #" in html and ": Refunded" in html and ": Closed" in html
    assert 'class="status status--awaiting_seller"' in html

    add_orders(buyer=buyer, store=store, count=190, status=Order.Status.DELIVERED)
    add_disputes_on_lines(buyer)
    with_200 = count_queries(client, ORDER_LIST)

    assert with_10 == with_200 <= QUERY_BUDGET


def test_order_detail_query_count_stays_flat_with_many_disputed_lines(client, buyer):
    order = order_with_line(buyer=buyer, delivered=True)
    add_disputes_on_lines(buyer)
    with_1 = count_queries(client, order.get_absolute_url())

    product = ProductFactory(store=order.store)
    OrderLine.objects.bulk_create(
        OrderLine(order=order, product=product, title=product.title, unit_price=Decimal("10.00"), quantity=1,
                  line_total=Decimal("10.00"))
        for _ in range(30)
    )
    add_disputes_on_lines(buyer)
    with_31 = count_queries(client, order.get_absolute_url())

    assert with_1 == with_31 <= QUERY_BUDGET
