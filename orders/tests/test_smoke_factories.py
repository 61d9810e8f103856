import pytest

from orders.tests.factories import order_with_line


@pytest.mark.django_db
def test_order_with_line_builds_a_consistent_order():
    order = order_with_line(delivered=True, line__quantity=2)
    line = order.lines.get()
    assert order.total == line.line_total == line.unit_price * 2
    assert line.product.store_id == order.store_id
    assert order.delivered_at is not None
