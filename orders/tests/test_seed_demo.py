"""``manage.py seed_demo``: idempotent demo data that tells the local-return story."""
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from catalog.models import Category, Product, Stock, Store, Warehouse
from orders.management.commands.seed_demo import CATEGORIES, DEMO_PASSWORD, ORDERS, PRODUCTS
from disputes.models import Dispute, DisputeEvent
from notifications.models import Notification
from orders.models import Order, OrderEvent, OrderLine

pytestmark = pytest.mark.django_db

MODELS = (User, Store, Category, Product, Warehouse, Stock, Order, OrderLine, OrderEvent, Dispute, DisputeEvent,
          Notification)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seeding_twice_duplicates_nothing():
    seed()
    first = row_counts()

    seed()

    assert row_counts() == first
    assert all(first.values()), first
    assert first["Category"] == len(CATEGORIES)
    assert first["Product"] == len(PRODUCTS)
    assert first["Order"] == first["OrderLine"] == len(ORDERS)


def test_seeding_prints_the_logins():
    output = seed()

    for username in ("buyer_ru", "buyer_ua", "seller", "seller_tr", "staff"):
        assert f"  {username} " in output
    assert DEMO_PASSWORD == "returns-demo"
    assert output.count(DEMO_PASSWORD) == 5


def test_demo_buyers_live_in_russia_and_ukraine_and_the_russian_one_has_delivered_orders():
    seed()

    buyer_ru = User.objects.get(username="buyer_ru")
    buyer_ua = User.objects.get(username="buyer_ua")
    assert (buyer_ru.country, buyer_ru.is_buyer) == ("RU", True)
    assert (buyer_ua.country, buyer_ua.is_buyer) == ("UA", True)
    delivered = Order.objects.filter(buyer=buyer_ru, status=Order.Status.DELIVERED)
    assert delivered.count() >= 1
    assert all(order.delivered_at is not None and order.delivery_country == "RU" for order in delivered)
    assert any(order.protection_open for order in delivered)


def test_demo_orders_are_consistent():
    seed()

    for order in Order.objects.prefetch_related("lines", "events"):
        line = order.lines.get()
        assert order.total == line.line_total == line.unit_price * line.quantity
        assert line.product.store_id == order.store_id
        assert [e.to_status for e in order.events.all()] == {
            Order.Status.PAID: ["paid"],
            Order.Status.SHIPPED: ["paid", "shipped"],
            Order.Status.DELIVERED: ["paid", "shipped", "delivered"],
        }[order.status]


def test_the_demo_seller_has_a_store_with_an_active_return_warehouse_in_russia():
    seed()

    seller = User.objects.get(username="seller")
    assert seller.is_seller
    assert Warehouse.objects.filter(store=seller.store, country="RU").accepting_returns().exists()


def test_the_demo_staff_user_is_staff():
    seed()

    assert User.objects.get(username="staff").is_staff


def test_buyer_ru_logs_in_with_the_demo_password_and_sees_delivered_orders(client):
    seed()

    login = client.post(reverse("account_login"), {"login": "buyer_ru", "password": "returns-demo"})
    assert login.status_code == 302
    response = client.get(reverse("orders:order_list"))

    assert response.status_code == 200
    shown = list(response.context["page"].object_list)
    buyer_ru = User.objects.get(username="buyer_ru")
    assert {order.number for order in shown} == set(
        Order.objects.filter(buyer=buyer_ru).values_list("number", flat=True)
    )
    assert any(order.status == Order.Status.DELIVERED for order in shown)
    html = response.content.decode()
    assert "Delivered" in html
    assert "Buyer protection until" in html


def test_seed_demo_leaves_one_local_return_waiting_for_the_seller():
    call_command("seed_demo", stdout=StringIO())

    dispute = Dispute.objects.get()
    assert dispute.order_line.order.number == "DEMO-1002"
    assert (dispute.kind, dispute.route, dispute.state) == ("return", "local", "awaiting_seller")
    assert dispute.amount == dispute.order_line.line_total
