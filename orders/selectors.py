"""Reads of orders, always scoped to the person asking."""
from django.db.models import Prefetch, QuerySet

from accounts.models import User

from .models import Order, OrderLine


def _with_lines(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.select_related("store").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product").prefetch_related("disputes"))
    )


def orders_for_buyer(buyer: User) -> QuerySet[Order]:
    return _with_lines(Order.objects.filter(buyer=buyer))


def orders_for_seller(seller: User) -> QuerySet[Order]:
    """Orders of the seller's store with their lines (titles and quantities: the desk shows
    no dispute); nothing for a user who is not a store member."""
    if not seller.store_id:
        return Order.objects.none()
    return Order.objects.filter(store_id=seller.store_id).select_related("store", "buyer").prefetch_related("lines")
