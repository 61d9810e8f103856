"""Marketplace staff at work on a dispute (from the admin): deciding an escalation, and the
moves that keep the state: extending the current deadline, an internal note, reclassifying
the buyer's reason, a manual refund on a dispute that has ended.

Each is a move of the lifecycle table (``authorize`` refuses what it does not allow), needs a
written reason, is recorded in the timeline and changes nothing when refused.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from returns_portal.errors import DomainError, ErrorCode
from returns_portal.formatting import local_datetime
from returns_portal.money import check_amount

from ..lifecycle import STEPS, Party, authorize, party_of
from ..models import Dispute, DisputeEvent, Refund, ReturnInstructions
from ._base import (
    BUYER,
    SELLER,
    Change,
    check_part_of_asked,
    dispute_locked_for,
    dispute_transition,
    lock_dispute,
    tell,
    transition_many,
)
from .refunds import RefundDecision, manual_refund_key, refund_decide_many

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


def _written(text, code: ErrorCode, refusal: str) -> str:
    """What staff wrote, trimmed; refused when blank."""
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise DomainError(code, refusal)
    return text


def dispute_extend_deadline(*, dispute: Dispute, staff: User, until: datetime, reason: str) -> Dispute:
    """Give whoever is on the clock until ``until``: the same step, a later deadline. The
    party who must act (the buyer or the store) is told the new deadline; a reminder goes
    again before it; an escalation flagged overdue is unflagged (flagged again if the new
    deadline passes). Refused without a reason, where nobody is on the clock, and for a
    moment not later than the current deadline, not in the future, or more than
    MAX_DEADLINE_EXTENSION_DAYS from now."""
    reason = _written(reason, ErrorCode.REASON_REQUIRED,
                      _("Write why the deadline is extended; both sides will read it."))
    if not isinstance(until, datetime) or timezone.is_naive(until):
        raise DomainError(ErrorCode.INVALID_DEADLINE, _("Choose the new deadline's date and time."))
    until = until.astimezone(UTC)
    with transaction.atomic():
        def check(locked: Dispute) -> None:
            now = timezone.now()
            if until <= locked.deadline_at:
                raise DomainError(ErrorCode.INVALID_DEADLINE,
                                  _("The new deadline must be later than the current one, %(deadline)s.")
                                  % {"deadline": local_datetime(locked.deadline_at)})
            if until <= now:
                raise DomainError(ErrorCode.INVALID_DEADLINE, _("The new deadline must be in the future."))
            days = settings.MAX_DEADLINE_EXTENSION_DAYS
            if until > now + timedelta(days=days):
                raise DomainError(ErrorCode.INVALID_DEADLINE, ngettext(
                    "The new deadline can be at most %(days)d day from now: %(latest)s.",
                    "The new deadline can be at most %(days)d days from now: %(latest)s.", days)
                    % {"days": days, "latest": local_datetime(now + timedelta(days=days))})

        locked = dispute_locked_for(dispute=dispute, move="extend_deadline", actor=staff, check=check)
        details = {"previous_deadline": locked.deadline_at.isoformat(), "deadline": until.isoformat(),
                   "reason": reason}
        # The reminder of the old deadline stays recorded: a new one goes before the new deadline.
        fields = {"deadline_at": until}
        if locked.overdue_flagged_at is not None:
            fields["overdue_flagged_at"] = None
        transition_many([Change(locked, details)], move="extend_deadline", actor=staff, fields=fields)
        if locked.state == Dispute.State.AWAITING_BUYER_SHIPMENT:
            ReturnInstructions.objects.filter(dispute=locked).update(ship_by=until)
        audience = {Party.BUYER: BUYER, Party.SELLER: SELLER}.get(STEPS[locked.state].who)
        if audience is not None:
            tell([(locked, {"deadline": until.isoformat(), "reason": reason})],
                 {audience: "disputes.deadline_extended"})
    return locked


def dispute_add_note(*, dispute: Dispute, staff: User, note: str) -> DisputeEvent:
    """An internal note on the dispute's timeline, in any state (ended ones too). Only staff
    read it: the buyer's and the seller's pages leave it out, and nobody is notified.
    Refused when blank and for anyone but staff who work on disputes."""
    note = _written(note, ErrorCode.EMPTY_MESSAGE, _("Write the note."))
    with transaction.atomic():
        locked = dispute_locked_for(dispute=dispute, move="staff_note", actor=staff)
        [change] = transition_many([Change(locked, {"note": note})], move="staff_note", actor=staff)
    return change.event


def dispute_reclassify(*, dispute: Dispute, staff: User, reason_code: str, why: str) -> Dispute:
    """Change the buyer's reason for the dispute to another of ``Dispute.Reason`` while the
    dispute is open, saying why; both sides are told. Refused without a why, for an unknown
    reason, for the reason it already has and once the dispute has ended."""
    why = _written(why, ErrorCode.REASON_REQUIRED, _("Write why the reason changes; both sides will read it."))
    if reason_code not in Dispute.Reason.values:
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Choose one of the reasons."))
    reason_code = str(Dispute.Reason(reason_code))
    with transaction.atomic():
        def check(locked: Dispute) -> None:
            if locked.reason == reason_code:
                raise DomainError(ErrorCode.INVALID_CHOICE, _("The dispute's reason already is “%(reason)s”.")
                                  % {"reason": locked.get_reason_display()})

        locked = dispute_locked_for(dispute=dispute, move="reclassify", actor=staff, check=check)
        params = {"from_reason": locked.reason, "to_reason": reason_code, "why": why}
        transition_many([Change(locked, dict(params))], move="reclassify", actor=staff,
                        fields={"reason": reason_code})
        tell([(locked, params)], dict.fromkeys((BUYER, SELLER), "disputes.reclassified"))
    return locked


# The one-time value a manual refund form carries (its idempotency key's last part).
MANUAL_REFUND_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


def refund_issue_manual(*, dispute: Dispute, staff: User, amount: Decimal, reason: str, token: str) -> Refund:
    """A refund staff holding ``disputes.issue_manual_refund`` issue on a dispute that has
    ended (goodwill, after the fact); the dispute stays ended. It is a refund decision like
    any other (``refund_decide_many``): above STAFF_REFUND_APPROVAL_LIMIT it waits for a
    second staff member's approval, else the payment task pays it. ``token`` is the form's
    one-time value: sent twice, the form makes one refund and gets it back. The buyer is told.

    Refused without the permission, on an open dispute (its refund comes with its decision),
    without a reason or a token, for an amount not more than zero, not in the currency's
    minor units or more than is left on the line (paid, minus refunded, minus refunds decided
    and not yet paid), and for a token already used for another refund."""
    reason = _written(reason, ErrorCode.REASON_REQUIRED, _("Write the reason for the refund; the buyer will read it."))
    if not isinstance(token, str) or not MANUAL_REFUND_TOKEN.match(token):
        raise DomainError(ErrorCode.INVALID_TOKEN, _("The form has no one-time code; open it again."))
    if not isinstance(amount, Decimal):
        raise DomainError(ErrorCode.INVALID_AMOUNT, _("Enter the amount of the refund."))
    check_amount(amount, dispute.currency)
    with transaction.atomic():
        locked = lock_dispute(dispute.pk)
        key = manual_refund_key(locked.pk, token)
        issued = Refund.objects.filter(idempotency_key=key).first()
        if issued is not None and issued.decided_by_id == staff.pk and issued.amount == amount:
            return issued  # the same form again (a double click, a retry): the refund it made
        authorize(locked, "manual_refund", party_of(locked, staff), user=staff)
        if issued is not None:
            raise DomainError(ErrorCode.INVALID_TOKEN,
                              _("This form was already used for another refund; open it again to issue a new one."))
        [refund] = refund_decide_many([RefundDecision(locked, amount, staff, reason, by_staff=True, key=key)])
        transition_many([Change(locked, {"refund": refund.pk, "amount": str(amount), "currency": locked.currency,
                                         "reason": reason})], move="manual_refund", actor=staff)
        tell([(locked, {"amount": str(amount), "currency": locked.currency, "reason": reason})],
             {BUYER: "disputes.manual_refund.buyer"})
    return refund
