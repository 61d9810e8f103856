"""Which return warehouse a local return goes to, the same on every database."""
import pytest

from catalog.tests.factories import WarehouseFactory
from disputes.selectors import return_destination
from disputes.tests.factories import disputable_line

pytestmark = pytest.mark.django_db


def test_the_stores_own_return_warehouse_comes_before_the_marketplaces():
    # Given a marketplace warehouse created first, then the store's own, both in Russia.
    platform = WarehouseFactory(store=None, country="RU", city="Podolsk")
    line = disputable_line()  # creates the store's own Moscow return warehouse

    # Then the local return goes to the store's own warehouse.
    destination = return_destination(line)
    assert destination.store_id == line.order.store_id
    assert destination != platform


def test_without_its_own_warehouse_the_store_uses_the_marketplaces():
    platform = WarehouseFactory(store=None, country="RU", city="Podolsk")
    line = disputable_line(warehouse_country=None)

    assert return_destination(line) == platform
