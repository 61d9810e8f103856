"""The refund ledger (DESIGN §4): one row per refund decision, paid exactly once."""
from __future__ import annotations

from collections.abc import Collection, Iterable
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RefundQuerySet(models.QuerySet):
    def refundable_left(self, lines: Iterable, *, except_keys: Collection[str] = ()) -> dict[int, Decimal]:
        """What may still be refunded on each order line: paid, minus refunded, minus refunds
        decided and not paid yet (waiting for approval, pending, failed and to be retried),
        leaving out the refunds ``except_keys``. Lock the lines first when deciding on it.
        One query."""
        lines = list(lines)
        unpaid = dict(
            self.filter(order_line__in=[line.pk for line in lines]).exclude(status=Refund.Status.PAID)
            .exclude(idempotency_key__in=list(except_keys))
            .order_by().values("order_line").annotate(total=Sum("amount")).values_list("order_line", "total"))
        return {line.pk: line.refundable_amount - unpaid.get(line.pk, Decimal("0")) for line in lines}


class Refund(models.Model):
    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Waiting for a second staff member's approval")
        PENDING = "pending", _("Decided, not paid yet")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Payment failed (will be retried)")

    dispute = models.ForeignKey(
        "disputes.Dispute", verbose_name=_("dispute"), on_delete=models.PROTECT, related_name="refunds"
    )
    order_line = models.ForeignKey(
        "orders.OrderLine", verbose_name=_("order line"), on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    # One key per decision: a retried, doubled or raced payment finds the same row.
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, unique=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", help_text=_("Empty when the system decided (a deadline passed)."),
    )
    reason = models.TextField(_("reason"), blank=True)
    # Four eyes (DESIGN §4): a large refund decided by staff is paid once another staff
    # member holding ``disputes.pay_refund`` approves it.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approved by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    gateway = models.CharField(_("payment gateway"), max_length=200, blank=True)
    gateway_reference = models.CharField(_("gateway reference"), max_length=200, blank=True)
    attempts = models.PositiveIntegerField(_("payment attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("decided"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)

    objects = RefundQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        permissions = [
            ("pay_refund", _("Can pay out approved refunds")),
            # A refund on a dispute that has ended (goodwill, after the fact): supervisors only.
            ("issue_manual_refund", _("Can issue manual refunds")),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="refund_status_created")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False), name="refund_paid_has_timestamp"
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("decided_by")),
                name="refund_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key}: {self.amount} {self.currency} ({self.status})"
