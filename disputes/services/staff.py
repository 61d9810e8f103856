"""Marketplace staff deciding escalated disputes."""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from returns_portal.errors import DomainError, ErrorCode

from ..models import Dispute
from ._base import BUYER, SELLER, check_part_of_asked, dispute_transition, tell
from .refunds import RefundDecision, refund_decide_many

REFUND_FULL = "refund_full"
REFUND_PARTIAL = "refund_partial"
REJECT = "reject"
DECISIONS = (REFUND_FULL, REFUND_PARTIAL, REJECT)


def dispute_staff_decide(
    *, dispute: Dispute, staff: User, decision: str, reason: str, amount: Decimal | None = None
) -> Dispute:
    """Decide an escalated dispute: refund in full, refund part (``amount``), or reject —
    always with a written reason. Refused without the ``disputes.decide_dispute`` and
    ``disputes.change_dispute`` permissions, without a reason, for a partial amount outside (0, amount asked), or when
    the dispute is not escalated. A refund above STAFF_REFUND_APPROVAL_LIMIT waits for a
    second staff member's approval (``refund_approve``) before it is paid."""
    if not (staff.is_active and staff.is_staff and staff.has_perm("disputes.decide_dispute")
            and staff.has_perm("disputes.change_dispute")):
        raise DomainError(ErrorCode.NOT_ALLOWED, _("You may not decide disputes."))
    if decision not in DECISIONS:
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Choose a decision."))
    if not reason.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, _("Write the reason for the decision; both sides will read it."))
    with transaction.atomic():
        def check(locked: Dispute) -> None:
            if decision == REFUND_PARTIAL:
                check_part_of_asked(amount, locked,
                                    _("A partial refund must be more than zero and less than %(amount)s."))

        details = {"decision": decision, "reason": reason.strip()}
        if decision == REJECT:
            decided = dispute_transition(dispute=dispute, move="staff_reject", actor=staff, check=check,
                                         details=details)
            tell([(decided, {"reason": reason.strip()})], dict.fromkeys((BUYER, SELLER), "disputes.staff_rejected"))
        else:
            decided = dispute_transition(
                dispute=dispute, move="staff_refund", actor=staff, check=check,
                # The amount refunded; the amount asked (a full refund) is fixed when the dispute opens.
                details={**details, "amount": str(amount if decision == REFUND_PARTIAL else dispute.amount)},
            )
            refund_amount = decided.amount if decision == REFUND_FULL else amount
            refund_decide_many([RefundDecision(decided, refund_amount, staff, reason.strip(), by_staff=True)])
            tell([(decided, {"amount": str(refund_amount), "currency": decided.currency, "reason": reason.strip()})],
                 {BUYER: "disputes.staff_refunded", SELLER: "disputes.staff_refunded"})
    return decided
