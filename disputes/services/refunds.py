"""Refunds: deciding one (a ledger row, once per decision) and paying it (exactly once).

Deciding happens inside the transition that moves a dispute to "refund pending"; paying
is a separate step, run by a Celery task after commit or by staff holding the
``disputes.pay_refund`` permission. However often or concurrently ``refund_pay`` runs,
the gateway is asked once per success and the line's refunded total moves once.
"""
from __future__ import annotations

import logging
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from notifications.services import notify
from orders.models import OrderLine
from returns_portal.errors import DomainError, ErrorCode

from ..models import Dispute, DisputeEvent, Refund
from ..payments import GatewayError, payment_gateway
from ._base import dispute_transition, store_members

logger = logging.getLogger(__name__)


def refund_key(dispute: Dispute) -> str:
    # A dispute reaches "refund pending" at most once, so one key per dispute is one per decision.
    return f"dispute-{dispute.pk}-refund"


def refund_decide(*, dispute: Dispute, amount: Decimal, decided_by: User | None, reason: str) -> Refund:
    """Record the decision to refund ``amount`` for a dispute that has just moved to
    "refund pending" (call inside that transaction). Refused when the amount is not
    positive or exceeds what was paid for the line minus earlier refunds."""
    line = OrderLine.objects.select_for_update(of=("self",)).get(pk=dispute.order_line_id)
    if amount <= 0 or amount > line.refundable_amount:
        raise DomainError(
            ErrorCode.INVALID_AMOUNT,
            _("A refund must be more than zero and at most %(max)s.") % {"max": line.refundable_amount},
        )
    refund, _created = Refund.objects.get_or_create(
        idempotency_key=refund_key(dispute),
        defaults={
            "dispute": dispute,
            "order_line": line,
            "amount": amount,
            "currency": dispute.currency,
            "decided_by": decided_by,
            "reason": reason,
            "gateway": settings.PAYMENT_GATEWAY,
        },
    )
    transaction.on_commit(partial(_queue_payment, refund.pk))
    return refund


def _queue_payment(refund_id: int) -> None:
    from ..tasks import pay_refund

    try:
        pay_refund.delay(refund_id)
    except Exception:  # the broker is down: the periodic sweep pays it later
        logger.exception("Could not queue payment of refund %s; the sweep will retry", refund_id)


def refund_pay(*, refund_id: int, actor: User | None = None) -> Refund:
    """Pay a decided refund through the payment gateway. Paying an already paid refund
    changes nothing. A gateway failure marks it failed (kept for retry, visible to staff)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status == Refund.Status.PAID:
            return refund
        refund.attempts += 1
        line = refund.order_line
        try:
            receipt = payment_gateway().refund(
                idempotency_key=refund.idempotency_key,
                amount=refund.amount,
                currency=refund.currency,
                payment_reference=line.order.payment_reference,
            )
        except GatewayError as error:
            refund.status = Refund.Status.FAILED
            refund.last_error = str(error)[:2000]
            refund.save(update_fields=["status", "last_error", "attempts"])
            DisputeEvent.objects.create(
                dispute_id=refund.dispute_id, actor=actor, kind=DisputeEvent.Kind.REFUND_FAILED,
                from_state=Dispute.State.REFUND_PENDING, to_state=Dispute.State.REFUND_PENDING,
                details={"refund": refund.pk, "attempt": refund.attempts, "error": refund.last_error},
            )
            return refund

        now = timezone.now()
        refund.status = Refund.Status.PAID
        refund.gateway = settings.PAYMENT_GATEWAY  # the gateway that actually paid it
        refund.gateway_reference = receipt.reference
        refund.paid_at = now
        refund.last_error = ""
        refund.save(update_fields=["status", "gateway", "gateway_reference", "paid_at", "last_error", "attempts"])
        locked_line = OrderLine.objects.select_for_update(of=("self",)).get(pk=line.pk)
        locked_line.refunded_amount += refund.amount
        locked_line.save(update_fields=["refunded_amount"])
        dispute = dispute_transition(
            dispute=refund.dispute,
            name="refund_paid",
            actor=actor,
            event_kind=DisputeEvent.Kind.REFUND_PAID,
            check=lambda d: None,
            details={"refund": refund.pk, "amount": str(refund.amount), "currency": refund.currency,
                     "reference": receipt.reference},
            resolution=Dispute.Resolution.REFUNDED,
            deadline_at=None,
            closed_at=now,
        )
        body = _("%(amount)s %(currency)s were refunded for “%(title)s”.") % {
            "amount": refund.amount, "currency": refund.currency, "title": line.title}
        notify(recipients=[dispute.buyer], subject=_("You were refunded"), body=body, url=dispute.get_absolute_url())
        notify(recipients=store_members(dispute), subject=_("Dispute #%(id)s was refunded") % {"id": dispute.pk},
               body=body, url=dispute.get_absolute_url())
    return refund


def refunds_due(limit: int = 200) -> list[int]:
    """Refunds decided but not paid (new or failed earlier), oldest first, for the sweep."""
    return list(
        Refund.objects.filter(status__in=[Refund.Status.PENDING, Refund.Status.FAILED])
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
