from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from returns_portal.countries import Country
from returns_portal.money import round_money


class Order(models.Model):
    """What a buyer bought from one store, and what they paid."""

    class Status(models.TextChoices):
        PAID = "paid", _("Paid")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")

    # The whole lifecycle at a glance: status -> statuses it may move to.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PAID: frozenset({Status.SHIPPED}),
        Status.SHIPPED: frozenset({Status.DELIVERED}),
        Status.DELIVERED: frozenset(),
    }

    number = models.CharField(_("number"), max_length=32, unique=True)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="orders"
    )
    store = models.ForeignKey(
        "catalog.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PAID)
    currency = models.CharField(_("currency"), max_length=3)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    delivery_country = models.CharField(_("delivery country"), max_length=2, choices=Country.choices)
    payment_reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["buyer", "-created_at"]),
            models.Index(fields=["store", "status", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0), name="order_total_positive"),
            models.CheckConstraint(
                condition=Q(status="paid") | Q(shipped_at__isnull=False), name="order_shipped_has_timestamp"
            ),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="order_delivered_has_timestamp",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders:order_detail", args=[self.pk])

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]

    @property
    def protection_ends_at(self) -> datetime | None:
        """Buyer protection lasts BUYER_PROTECTION_DAYS after delivery was confirmed."""
        if self.delivered_at is None:
            return None
        return self.delivered_at + timedelta(days=settings.BUYER_PROTECTION_DAYS)

    @property
    def protection_open(self) -> bool:
        ends = self.protection_ends_at
        return ends is not None and timezone.now() < ends


class OrderLine(models.Model):
    """One position of an order; title and price are snapshots taken at purchase."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="order_lines"
    )
    title = models.CharField(_("title"), max_length=200)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"))
    line_total = models.DecimalField(_("line total"), max_digits=12, decimal_places=2)
    # Kept in step with the refund ledger by the refund service, under the line's row lock.
    refunded_amount = models.DecimalField(_("refunded"), max_digits=12, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="order_line_price_positive"),
            models.CheckConstraint(condition=Q(line_total__gt=0), name="order_line_total_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=models.F("line_total")),
                name="order_line_refund_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}: {self.title} × {self.quantity}"

    @property
    def current_dispute(self):
        """The open dispute on this line, else the latest one, else None.

        Reads ``disputes.all()`` in the disputes' own order, newest first (``Dispute.Meta.ordering``,
        so the database sorts them): prefetch it when listing lines."""
        latest = None
        for dispute in self.disputes.all():
            if dispute.is_open:
                return dispute
            if latest is None:
                latest = dispute
        return latest

    @property
    def refundable_amount(self) -> Decimal:
        """What a dispute may still claim on this line: paid minus already refunded."""
        return self.line_total - self.refunded_amount

    @staticmethod
    def total_for(unit_price: Decimal, quantity: int, *, currency: str) -> Decimal:
        """What ``quantity`` at ``unit_price`` costs, rounded to the currency's minor unit."""
        return round_money(unit_price * quantity, currency)


class OrderEvent(models.Model):
    """Append-only timeline of an order: who moved it from which status to which."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    from_status = models.CharField(_("from"), max_length=20, choices=Order.Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Order.Status.choices)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '—'} → {self.to_status}"
