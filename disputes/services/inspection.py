"""Receipt and inspection of returned goods against the return conditions."""
from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from notifications.services import notify
from returns_portal.errors import DomainError, ErrorCode
from returns_portal.formatting import local_datetime

from .. import selectors
from ..models import TRANSITIONS, Dispute, DisputeEvent, Inspection
from ..rules.base import Outcome
from ..rules.inspection import ANSWERS, InspectionFacts, check_inspection
from ._base import deadline_in, dispute_transition, only_the_store, save_attachments, store_members
from .refunds import refund_decide


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
        # of=("self",): lock the dispute, not the joined line, product and category rows.
        locked = Dispute.objects.select_for_update(of=("self",)).select_related(
            "order_line__product__category").get(pk=dispute.pk)
        only_the_store(inspector)(locked)
        enabled = selectors.enabled_condition_codes(locked.order_line.product.category)
        if locked.state not in TRANSITIONS["inspect_accept"].sources:
            raise DomainError(ErrorCode.INVALID_TRANSITION,
                              _("The goods can be inspected once the buyer has shipped them."))
        missing = [code for code in enabled if answers.get(code) not in ANSWERS]
        if missing:
            raise DomainError(ErrorCode.INVALID_CHOICE,
                              _("Answer every condition of the checklist (missing: %(codes)s).")
                              % {"codes": ", ".join(missing)})
        result = check_inspection(InspectionFacts(enabled_codes=frozenset(enabled), answers=answers, notes=notes))
        findings = [{"code": r.code, "outcome": str(r.outcome), "message": r.message}
                    for r in result.results if not r.passed]
        if result.failures:
            name, outcome, extra = "inspect_reject", Inspection.Outcome.REJECTED, {
                "deadline_at": deadline_in(settings.ESCALATION_DAYS)}
        elif result.reviews:
            name, outcome, extra = "inspect_review", Inspection.Outcome.REVIEW, {
                "deadline_at": deadline_in(settings.STAFF_DECISION_DAYS)}
        else:
            name, outcome, extra = "inspect_accept", Inspection.Outcome.ACCEPTED, {"deadline_at": None}
        inspected = dispute_transition(
            dispute=locked, name=name, actor=inspector, event_kind=DisputeEvent.Kind.INSPECTED,
            check=lambda d: None,
            details={"outcome": str(outcome), "failed": [f["code"] for f in findings
                                                         if f["outcome"] == Outcome.FAIL]},
            **extra,
        )
        inspection = Inspection.objects.create(
            dispute=inspected, inspector=inspector, received_at=timezone.now(),
            answers={code: answers[code] for code in enabled}, notes=notes,
            general_notes=general_notes.strip(), outcome=outcome, findings=findings,
        )
        save_attachments(dispute=inspected, uploader=inspector, files=photos, inspection=inspection)

        if outcome == Inspection.Outcome.ACCEPTED:
            refund_decide(dispute=inspected, amount=inspected.amount, decided_by=inspector,
                          reason=_("The returned goods meet the return conditions."))
            body = _("Your return was received and meets the return conditions: the refund is on its way.")
        elif outcome == Inspection.Outcome.REJECTED:
            body = _("Your return did not meet %(count)d return condition(s). See which ones on the dispute page; "
                     "accept or escalate to the marketplace by %(date)s.") % {
                "count": len(result.failures), "date": local_datetime(inspected.deadline_at)}
        else:
            body = _("Your return was received; marketplace staff will decide by %(date)s.") % {
                "date": local_datetime(inspected.deadline_at)}
            notify(recipients=User.objects.filter(is_staff=True, is_active=True),
                   subject=_("Inspection of dispute #%(id)s needs a decision") % {"id": inspected.pk},
                   body=general_notes.strip()[:500] or _("The inspector was unsure about a condition."),
                   url=f"/admin/disputes/dispute/{inspected.pk}/change/")
        notify(recipients=[inspected.buyer], subject=_("Your return was inspected: dispute #%(id)s") % {
            "id": inspected.pk}, body=body, url=inspected.get_absolute_url())
        notify(recipients=[u for u in store_members(inspected) if u.pk != inspector.pk],
               subject=_("Dispute #%(id)s inspected") % {"id": inspected.pk},
               body=str(Inspection.Outcome(outcome).label), url=inspected.get_absolute_url())
    return inspected
