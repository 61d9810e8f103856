"""Receipt and inspection of returned goods against the return conditions."""
from __future__ import annotations

from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from returns_portal.errors import DomainError, ErrorCode

from .. import selectors
from ..models import Dispute, Inspection
from ..rules.base import Outcome
from ..rules.inspection import ANSWERS, InspectionFacts, check_inspection
from ._base import BUYER, SELLER, STAFF, Change, dispute_locked_for, save_attachments, tell, transition_many
from .refunds import RefundDecision, refund_decide_many


def dispute_inspect(
    *,
    dispute: Dispute,
    inspector: User,
    answers: dict[str, str],
    notes: dict[str, str] | None = None,
    general_notes: str = "",
    photos: Sequence[UploadedFile] = (),
) -> Dispute:
    """Confirm receipt of the returned goods and record the checklist. The return-condition
    chain decides: every condition met → refund of the compensation; any condition failed →
    rejected (the buyer sees each failed condition with the notes and photos and may
    escalate); anything unsure → marketplace staff decide. Refused for another store, the
    wrong state, or an answer missing for a condition that applies."""
    notes = {code: (text or "").strip() for code, text in (notes or {}).items() if (text or "").strip()}
    with transaction.atomic():
        # Every inspection move has the same party and state: authorise once, pick the move after.
        locked = dispute_locked_for(dispute=dispute, move="inspect_accept", actor=inspector)
        enabled = selectors.enabled_condition_codes(locked.order_line.product.category)
        missing = [code for code in enabled if answers.get(code) not in ANSWERS]
        if missing:
            raise DomainError(ErrorCode.INVALID_CHOICE,
                              _("Answer every condition of the checklist (missing: %(codes)s).")
                              % {"codes": ", ".join(missing)})
        result = check_inspection(InspectionFacts(enabled_codes=frozenset(enabled), answers=answers, notes=notes))
        findings = [{"code": r.code, "outcome": str(r.outcome), "message": r.message}
                    for r in result.results if not r.passed]
        if result.failures:
            move, outcome = "inspect_reject", Inspection.Outcome.REJECTED
        elif result.reviews:
            move, outcome = "inspect_review", Inspection.Outcome.REVIEW
        else:
            move, outcome = "inspect_accept", Inspection.Outcome.ACCEPTED
        transition_many([Change(locked, {"outcome": str(outcome),
                                         "failed": [f["code"] for f in findings if f["outcome"] == Outcome.FAIL]})],
                        move=move, actor=inspector)
        inspection = Inspection.objects.create(
            dispute=locked, inspector=inspector, received_at=timezone.now(),
            answers={code: answers[code] for code in enabled}, notes=notes,
            general_notes=general_notes.strip(), outcome=outcome, findings=findings,
        )
        save_attachments(dispute=locked, uploader=inspector, files=photos, inspection=inspection)

        deadline = {"deadline": locked.deadline_at.isoformat() if locked.deadline_at else ""}
        if outcome == Inspection.Outcome.ACCEPTED:
            refund_decide_many([RefundDecision(locked, locked.amount, inspector,
                                               _("The returned goods meet the return conditions."))])
            tell([(locked, {})], {BUYER: "disputes.inspected_accepted.buyer"})
        elif outcome == Inspection.Outcome.REJECTED:
            tell([(locked, {"count": len(result.failures), **deadline})], {BUYER: "disputes.inspected_rejected.buyer"})
        else:
            tell([(locked, deadline)], {BUYER: "disputes.inspected_review.buyer"})
            tell([(locked, {"notes": general_notes.strip()[:500]})], {STAFF: "disputes.inspected_review.staff"})
        tell([(locked, {"inspection": str(outcome)})], {SELLER: "disputes.inspected.seller"},
             exclude=inspector)
    return locked
