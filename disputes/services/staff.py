"""Marketplace staff deciding escalated disputes."""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from notifications.services import notify
from returns_portal.errors import DomainError, ErrorCode

from ..models import Dispute, DisputeEvent
from ._base import dispute_transition, store_members
from .refunds import refund_decide

REFUND_FULL = "refund_full"
REFUND_PARTIAL = "refund_partial"
REJECT = "reject"
DECISIONS = (REFUND_FULL, REFUND_PARTIAL, REJECT)


def dispute_staff_decide(
    *, dispute: Dispute, staff: User, decision: str, reason: str, amount: Decimal | None = None
) -> Dispute:
    """Decide an escalated dispute: refund in full, refund part (``amount``), or reject —
    always with a written reason. Refused without the ``disputes.decide_dispute``
    permission, without a reason, for a partial amount outside (0, amount asked), or when
    the dispute is not escalated."""
    if not staff.is_active or not staff.is_staff or not staff.has_perm("disputes.decide_dispute"):
        raise DomainError(ErrorCode.NOT_ALLOWED, _("You may not decide disputes."))
    if decision not in DECISIONS:
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Choose a decision."))
    if not reason.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, _("Write the reason for the decision; both sides will read it."))
    with transaction.atomic():
        def check(locked: Dispute) -> None:
            if decision == REFUND_PARTIAL and (amount is None or not (Decimal("0") < amount < locked.amount)):
                raise DomainError(ErrorCode.INVALID_AMOUNT,
                                  _("A partial refund must be more than zero and less than %(amount)s.")
                                  % {"amount": locked.amount})

        details = {"decision": decision, "reason": reason.strip()}
        if decision == REJECT:
            decided = dispute_transition(
                dispute=dispute, name="staff_reject", actor=staff, event_kind=DisputeEvent.Kind.STAFF_DECIDED,
                check=check, details=details, resolution=Dispute.Resolution.REJECTED, deadline_at=None,
                closed_at=timezone.now(),
            )
            summary = _("Marketplace staff rejected the dispute. Reason: %(reason)s") % {"reason": reason.strip()}
        else:
            decided = dispute_transition(
                dispute=dispute, name="staff_refund", actor=staff, event_kind=DisputeEvent.Kind.STAFF_DECIDED,
                check=check,
                # The amount refunded; the amount asked (a full refund) is fixed when the dispute opens.
                details={**details, "amount": str(amount if decision == REFUND_PARTIAL else dispute.amount)},
                deadline_at=None,
            )
            refund_amount = decided.amount if decision == REFUND_FULL else amount
            refund_decide(dispute=decided, amount=refund_amount, decided_by=staff, reason=reason.strip())
            summary = _("Marketplace staff decided a refund of %(amount)s %(currency)s. Reason: %(reason)s") % {
                "amount": refund_amount, "currency": decided.currency, "reason": reason.strip()}
        for recipients in ([decided.buyer], store_members(decided)):
            notify(recipients=recipients, subject=_("Decision on dispute #%(id)s") % {"id": decided.pk},
                   body=summary, url=decided.get_absolute_url())
    return decided
