"""Writes to orders: one function per use case.

Every status change runs in one transaction that locks the order row, re-checks the
transition table, writes the new status and appends an ``OrderEvent``; applying the
same change twice has exactly one effect (the second is refused).
"""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.models import Product
from returns_portal.errors import DomainError, ErrorCode

from .models import Order, OrderEvent, OrderLine


def _new_order_number() -> str:
    return f"{timezone.now():%y%m%d}-{secrets.token_hex(4).upper()}"


def _order_create_with_unique_number(**fields) -> Order:
    for _attempt in range(5):
        try:
            with transaction.atomic():  # a savepoint, so a collision does not spoil the outer transaction
                return Order.objects.create(number=_new_order_number(), **fields)
        except IntegrityError:
            continue
    raise RuntimeError("Could not allocate a unique order number")


def order_place(*, buyer: User, product: Product, quantity: int) -> Order:
    """Buy ``quantity`` of ``product`` now: creates a paid order (payment is simulated).

    Refused when the user is not a buyer (store members and staff cannot buy), has no
    country to deliver to, the product is not on sale, or the quantity is out of range.
    """
    if not buyer.is_buyer:
        raise DomainError(ErrorCode.NOT_A_BUYER, _("Only buyer accounts can place orders."))
    if not buyer.country:
        raise DomainError(
            ErrorCode.NO_DELIVERY_COUNTRY, _("Set your country of residence before buying: we deliver there.")
        )
    if not 1 <= quantity <= settings.MAX_ORDER_QUANTITY:
        raise DomainError(
            ErrorCode.INVALID_QUANTITY,
            _("Quantity must be between 1 and %(max)d.") % {"max": settings.MAX_ORDER_QUANTITY},
        )
    product = Product.objects.active().select_related("store").filter(pk=product.pk).first()
    if product is None:
        raise DomainError(ErrorCode.PRODUCT_UNAVAILABLE, _("This product is no longer on sale."))

    line_total = OrderLine.total_for(product.price, quantity, currency=product.currency)  # the order's currency
    now = timezone.now()
    with transaction.atomic():
        order = _order_create_with_unique_number(
            buyer=buyer,
            store=product.store,
            status=Order.Status.PAID,
            currency=product.currency,
            total=line_total,
            delivery_country=buyer.country,
            payment_reference=f"SIMULATED-{secrets.token_hex(6).upper()}",
            created_at=now,
            paid_at=now,
        )
        OrderLine.objects.create(
            order=order,
            product=product,
            title=product.title,
            unit_price=product.price,
            quantity=quantity,
            line_total=line_total,
        )
        OrderEvent.objects.create(
            order=order,
            actor=buyer,
            from_status="",
            to_status=Order.Status.PAID,
            details={"payment": "simulated", "payment_reference": order.payment_reference},
            created_at=now,
        )
    return order


def _order_transition(*, order_id: int, actor: User, to_status: str, check_actor, **fields) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        check_actor(order)
        if not order.can_move_to(to_status):
            current = order.get_status_display().lower()
            if order.status == to_status:
                message = _("This order is already %(status)s.") % {"status": current}
            else:
                message = _("This order is %(status)s, so it cannot be marked %(target)s now.") % {
                    "status": current,
                    "target": Order.Status(to_status).label.lower(),
                }
            raise DomainError(ErrorCode.INVALID_TRANSITION, message)
        from_status = order.status
        order.status = to_status
        for name, value in fields.items():
            setattr(order, name, value)
        order.save(update_fields=["status", "updated_at", *fields])
        OrderEvent.objects.create(
            order=order,
            actor=actor,
            from_status=from_status,
            to_status=to_status,
            details={k: str(v) for k, v in fields.items()},
        )
    return order


def order_mark_shipped(*, order: Order, seller: User, tracking_number: str = "") -> Order:
    """The seller hands the order to a carrier. Refused for another store's order and
    for an order that is not paid-and-waiting (e.g. shipped already)."""

    def check_actor(locked: Order) -> None:
        if not seller.is_seller or seller.store_id != locked.store_id:
            raise DomainError(ErrorCode.NOT_ALLOWED, _("Only the store that sold this order can ship it."))

    return _order_transition(
        order_id=order.pk,
        actor=seller,
        to_status=Order.Status.SHIPPED,
        check_actor=check_actor,
        shipped_at=timezone.now(),
        tracking_number=tracking_number.strip(),
    )


def order_confirm_delivery(*, order: Order, buyer: User) -> Order:
    """The buyer confirms the parcel arrived; buyer protection starts now. Refused for
    someone else's order and for an order not yet shipped or already delivered."""

    def check_actor(locked: Order) -> None:
        if locked.buyer_id != buyer.pk:
            raise DomainError(ErrorCode.NOT_ALLOWED, _("Only the buyer can confirm receipt of this order."))

    return _order_transition(
        order_id=order.pk,
        actor=buyer,
        to_status=Order.Status.DELIVERED,
        check_actor=check_actor,
        delivered_at=timezone.now(),
    )
