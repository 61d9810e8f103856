"""The opening form's query budget: showing it and posting it cost a fixed number of queries,
however many disputes, lines, notifications, store members, categories, condition switches
and warehouses there are (bench/open_load.py loads this page with fifty buyers at once)."""
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerFactory
from catalog.models import Category
from catalog.tests.factories import CategoryFactory, StoreFactory, WarehouseFactory
from disputes.models import CategoryCondition, Dispute, DisputeEvent
from disputes.tests.factories import DisputeFactory, disputable_line
from notifications.models import Notification

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PAID = Decimal("2490.00")
# Measured (SQLite and PostgreSQL; it was 10): the session, the user, the line, the dispute
# already on it, the return coverage, the category tree with its switches, the return
# destination, the unread count.
FORM_BUDGET = 8
# Measured (SQLite and PostgreSQL; it was 16): the session, the user, the line; then, in the
# transaction (and its savepoints), the line locked, the return coverage, the dispute already
# on it, the dispute, its timeline entry, the store's webhook endpoints, the buyer and the
# store's people together, the notifications.
POST_BUDGET = 15


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def store():
    store = StoreFactory(name="Golden Dragon Trading")
    WarehouseFactory(store=store, country="RU", city="Podolsk", name="Golden Dragon returns, Podolsk")
    SellerFactory(store=store)
    return store


@pytest.fixture
def buyer(client):
    buyer = BuyerFactory(country="RU")
    client.force_login(buyer)
    return buyer


def open_url(line) -> str:
    return reverse("disputes:dispute_open", args=[line.pk])


def local_return() -> dict:
    return {"kind": "return", "route": "local", "amount": "2490.00", "reason": "changed_mind", "description": ""}


def queries_of(call) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return len(captured), response


def grow(buyer, store, line) -> None:
    """More of everything the form and the opening might read row by row."""
    for _ in range(10):
        DisputeFactory(order_line=disputable_line(buyer=buyer, store=store, warehouse_country=None))
    SellerFactory.create_batch(8, store=store)
    Notification.objects.bulk_create(Notification(recipient=buyer, key="disputes.opened.buyer", params={})
                                     for _ in range(50))
    parent = line.product.category
    for level in range(6):
        parent = CategoryFactory(name=f"Level {level}", kind=Category.Kind.APPAREL, parent=parent)
        CategoryCondition.objects.create(category=parent, code="washed_worn_labels", enabled=level % 2 == 0)
    CategoryCondition.objects.create(category=line.product.category, code="signs_of_use", enabled=True)
    for city in ("Kazan", "Tver", "Omsk"):
        WarehouseFactory(store=store, country="RU", city=city, name=f"{city} returns")
        WarehouseFactory(store=None, country="RU", city=city, name=f"Marketplace {city}")


def test_the_form_costs_the_same_however_much_data(client, buyer, store):
    small = disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None)
    large = disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None)

    few, page = queries_of(lambda: client.get(open_url(small)))
    grow(buyer, store, large)
    many, page_after = queries_of(lambda: client.get(open_url(large)))

    assert (page.status_code, page_after.status_code) == (200, 200)
    # The seller's own return warehouse is named with its operator, read with the line.
    assert "(operated by Golden Dragon Trading)" in page.content.decode()
    assert few == many <= FORM_BUDGET


def test_opening_costs_the_same_however_much_data(client, buyer, store):
    small = disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None)
    large = disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None)

    few, response = queries_of(lambda: client.post(open_url(small), local_return()))
    grow(buyer, store, large)
    many, response_after = queries_of(lambda: client.post(open_url(large), local_return()))

    assert (response.status_code, response_after.status_code) == (302, 302)
    opened = Dispute.objects.get(order_line=large)
    assert (opened.state, opened.amount) == (Dispute.State.AWAITING_SELLER, PAID)
    assert DisputeEvent.objects.filter(dispute=opened, kind=DisputeEvent.Kind.OPENED).count() == 1
    # The buyer and each of the store's nine people are told, once each.
    told = Notification.objects.filter(params__dispute=opened.pk)
    assert sorted(told.values_list("key", flat=True)) == ["disputes.opened.buyer"] + ["disputes.opened.seller"] * 9
    assert few == many <= POST_BUDGET
