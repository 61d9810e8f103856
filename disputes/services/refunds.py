"""Refunds: deciding them (a ledger row, once per decision), approving the large ones staff
decide (four eyes), and paying them (exactly once).

Deciding happens inside the transition that moves a dispute to "refund pending", or, for a
manual refund staff issue on a dispute that has ended, inside that staff move; paying
is a separate step, run by a Celery task after commit, by the periodic job that catches
up, or by staff holding ``disputes.pay_refund``. However often or concurrently
``refund_pay`` runs, the gateway is asked once per success and the line's refunded total
moves once.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from orders.models import OrderLine
from returns_portal.errors import DomainError, ErrorCode
from returns_portal.jobs import enqueue_on_commit
from returns_portal.money import check_amount, format_money

from ..models import Dispute, DisputeEvent, Refund
from ..payments import GatewayError, payment_gateway
from ._base import BUYER, PAYERS, SELLER, Change, dispute_locked_for, lock_dispute, record_events, tell, transition_many

logger = logging.getLogger(__name__)

PAY_TASK = "disputes.tasks.pay_refunds"


def refund_key(dispute_id: int) -> str:
    # A dispute reaches "refund pending" at most once, so one key per dispute is one per decision.
    return f"dispute-{dispute_id}-refund"


def manual_refund_key(dispute_id: int, token: str) -> str:
    # A dispute may take several manual refunds: each form carries its own one-time token, so a
    # form sent twice finds the refund it made.
    return f"dispute-{dispute_id}-manual-{token}"


@dataclass(frozen=True)
class RefundDecision:
    dispute: Dispute
    amount: Decimal
    decided_by: User | None  # None: a rule decided (a deadline passed)
    reason: str
    by_staff: bool = False  # a staff decision above the limit waits for a second staff member
    key: str = ""  # the idempotency key; by default the dispute's decision (``refund_key``)

    @property
    def idempotency_key(self) -> str:
        return self.key or refund_key(self.dispute.pk)


def needs_approval(decision: RefundDecision) -> bool:
    """Four eyes (DESIGN §4): staff decide alone up to STAFF_REFUND_APPROVAL_LIMIT (in the
    order's currency); refunds a rule decides are never held."""
    return decision.by_staff and decision.amount > settings.STAFF_REFUND_APPROVAL_LIMIT


def refund_decide_many(decisions: Sequence[RefundDecision], *, now=None) -> list[Refund]:
    """Record refund decisions: for disputes that have just moved to "refund pending", or
    manual refunds on ended disputes (call inside that transaction, the disputes locked).
    Refused (``INVALID_AMOUNT``), before anything is written, when an amount is not positive,
    not in the currency's minor units, or more than is left on the line: what was paid minus
    what was refunded and what other refunds decided and not yet paid will take. Refunds
    already decided (the same key) stay as they are. Each is queued for payment after
    commit, except those waiting for approval: staff who may pay are told of them."""
    if not decisions:
        return []
    now = now or timezone.now()
    keys = [d.idempotency_key for d in decisions]
    # Lock order: the disputes (locked by the caller), then their lines.
    lines = list(OrderLine.objects.select_for_update(of=("self",))
                 .filter(pk__in={d.dispute.order_line_id for d in decisions}).order_by("pk"))
    left = Refund.objects.refundable_left(lines, except_keys=keys)
    for decision in decisions:
        line_id, currency = decision.dispute.order_line_id, decision.dispute.currency
        refundable = max(left[line_id], Decimal("0"))
        if not isinstance(decision.amount, Decimal) or decision.amount <= 0 or decision.amount > refundable:
            raise DomainError(ErrorCode.INVALID_AMOUNT, _("A refund must be more than zero and at most %(max)s.")
                              % {"max": format_money(refundable, currency)})
        check_amount(decision.amount, currency)
        left[line_id] -= decision.amount  # two decisions on one line share what is left
    Refund.objects.bulk_create([
        Refund(dispute=d.dispute, order_line_id=d.dispute.order_line_id, amount=d.amount,
               currency=d.dispute.currency, idempotency_key=d.idempotency_key,
               status=Refund.Status.AWAITING_APPROVAL if needs_approval(d) else Refund.Status.PENDING,
               decided_by=d.decided_by, reason=d.reason, gateway=settings.PAYMENT_GATEWAY, created_at=now)
        for d in decisions
    ], ignore_conflicts=True, batch_size=1000)
    refunds = list(Refund.objects.filter(idempotency_key__in=keys))
    to_pay = [r.pk for r in refunds if r.status == Refund.Status.PENDING]
    if to_pay:
        enqueue_on_commit(PAY_TASK, to_pay)
    held = {r.idempotency_key for r in refunds if r.status == Refund.Status.AWAITING_APPROVAL}
    if held:
        tell([(d.dispute, {"amount": str(d.amount), "currency": d.dispute.currency,
                           "decided_by": d.decided_by.get_full_name() or d.decided_by.username if d.decided_by else ""})
              for d in decisions if d.idempotency_key in held],
             {PAYERS: "disputes.refund_awaits_approval.staff"}, exclude=decisions[0].decided_by)
    return refunds


def refund_approve(*, refund_id: int, approver: User) -> Refund:
    """Four eyes: a second staff member holding ``disputes.pay_refund`` approves a refund
    that staff decided above the limit; it is then queued for payment. The dispute keeps its
    state (refund pending, or ended for a manual refund). Refused without the permission,
    for the staff member who decided it, and for a refund not waiting."""
    with transaction.atomic():
        dispute_id = Refund.objects.filter(pk=refund_id).values_list("dispute_id", flat=True).first()
        if dispute_id is None:
            raise DomainError(ErrorCode.NOT_ALLOWED, _("There is no such refund."))
        dispute = dispute_locked_for(dispute=Dispute(pk=dispute_id), move="approve_refund", actor=approver)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != Refund.Status.AWAITING_APPROVAL:
            raise DomainError(ErrorCode.INVALID_TRANSITION, _("This refund is not waiting for approval."))
        if refund.decided_by_id == approver.pk:
            raise DomainError(ErrorCode.NOT_ALLOWED,
                              _("You decided this refund; another staff member must approve it."))
        now = timezone.now()
        refund.status = Refund.Status.PENDING
        refund.approved_by = approver
        refund.approved_at = now
        refund.save(update_fields=["status", "approved_by", "approved_at"])
        transition_many([Change(dispute, {"refund": refund.pk, "amount": str(refund.amount),
                                          "currency": refund.currency})],
                        move="approve_refund", actor=approver, now=now)
        enqueue_on_commit(PAY_TASK, [refund.pk])
    return refund


def refund_pay(*, refund_id: int, actor: User | None = None) -> Refund:
    """Pay a decided refund through the payment gateway. The dispute's own decision moves it
    from "refund pending" to refunded; any other refund (a manual one, on a dispute that has
    ended) leaves the dispute as it is, with a "refund paid" entry all the same. Paying an
    already paid refund changes nothing. A gateway failure marks it failed (kept for retry,
    visible to staff). Refused (``DomainError``) for a refund still waiting for approval."""
    with transaction.atomic():
        dispute_id = Refund.objects.filter(pk=refund_id).values_list("dispute_id", flat=True).get()
        # Lock order: the dispute, its line, then the refund.
        dispute = lock_dispute(dispute_id)
        line = OrderLine.objects.select_for_update(of=("self",)).select_related("order").get(
            pk=dispute.order_line_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status == Refund.Status.PAID:
            return refund
        if refund.status == Refund.Status.AWAITING_APPROVAL:
            raise DomainError(ErrorCode.NOT_ALLOWED,
                              _("This refund waits for a second staff member's approval before it is paid."))
        refund.attempts += 1
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
            record_events([DisputeEvent(
                dispute_id=refund.dispute_id, actor=actor, kind=DisputeEvent.Kind.REFUND_FAILED,
                from_state=dispute.state, to_state=dispute.state,
                details={"refund": refund.pk, "attempt": refund.attempts, "error": refund.last_error},
            )])
            return refund

        now = timezone.now()
        refund.status = Refund.Status.PAID
        refund.gateway = settings.PAYMENT_GATEWAY  # the gateway that actually paid it
        refund.gateway_reference = receipt.reference
        refund.paid_at = now
        refund.last_error = ""
        refund.save(update_fields=["status", "gateway", "gateway_reference", "paid_at", "last_error", "attempts"])
        line.refunded_amount += refund.amount
        line.save(update_fields=["refunded_amount"])
        decision = (dispute.state == Dispute.State.REFUND_PENDING
                    and refund.idempotency_key == refund_key(dispute.pk))
        transition_many([Change(dispute, {"refund": refund.pk, "amount": str(refund.amount),
                                          "currency": refund.currency, "reference": receipt.reference})],
                        move="refund_paid" if decision else "manual_refund_paid", actor=actor, now=now)
        params = {"amount": str(refund.amount), "currency": refund.currency}
        tell([(dispute, params)], {BUYER: "disputes.refund_paid.buyer", SELLER: "disputes.refund_paid.seller"})
    return refund


def refunds_due(limit: int = 200) -> list[int]:
    """Refunds decided but not paid (new or failed earlier), oldest first, for the periodic
    job; those waiting for approval are not due."""
    return list(
        Refund.objects.filter(status__in=[Refund.Status.PENDING, Refund.Status.FAILED])
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
