"""What every dispute service shares: the guarded transition, parties, attachments."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from returns_portal.errors import DomainError, ErrorCode

from ..models import TRANSITIONS, Dispute, DisputeAttachment, DisputeEvent
from ..rules.base import ChainResult
from ..uploads import validate_evidence_file


class NotEligible(DomainError):
    """Opening refused by the eligibility chain; ``result`` holds every reason."""

    def __init__(self, result: ChainResult) -> None:
        super().__init__(ErrorCode.NOT_ELIGIBLE, " ".join(result.messages))
        self.result = result


def store_members(dispute: Dispute) -> list[User]:
    return list(User.objects.filter(store_id=dispute.store_id, is_active=True))


def save_attachments(
    *, dispute: Dispute, uploader: User, files: Sequence[UploadedFile], message=None, inspection=None
) -> None:
    # Validate every file before writing any, so a refusal leaves no stray file behind.
    checked = []
    for upload in files:
        try:
            checked.append((upload, validate_evidence_file(upload)))
        except ValidationError as error:
            raise DomainError(ErrorCode.INVALID_UPLOAD, " ".join(error.messages)) from error
    for upload, content_type in checked:
        attachment = DisputeAttachment(
            dispute=dispute,
            message=message,
            inspection=inspection,
            uploaded_by=uploader,
            original_name=(upload.name or "")[:255],
            content_type=content_type,
            size=upload.size,
        )
        attachment.file.save(upload.name or "upload", upload, save=False)
        attachment.save()


def dispute_transition(
    *,
    dispute: Dispute,
    name: str,
    actor: User | None,
    event_kind: str,
    check: Callable[[Dispute], None],
    details: dict | None = None,
    **fields,
) -> Dispute:
    transition = TRANSITIONS[name]
    locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
    check(locked)
    if locked.state not in transition.sources:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            _("This dispute is “%(state)s”, so this cannot be done now.") % {"state": locked.get_state_display()},
        )
    from_state = locked.state
    locked.state = transition.target
    for field, value in fields.items():
        setattr(locked, field, value)
    locked.save(update_fields=["state", "updated_at", *fields])
    DisputeEvent.objects.create(
        dispute=locked,
        actor=actor,
        kind=event_kind,
        from_state=from_state,
        to_state=locked.state,
        details=details or {},
    )
    return locked


def only_the_buyer(buyer: User) -> Callable[[Dispute], None]:
    def check(dispute: Dispute) -> None:
        if dispute.buyer_id != buyer.pk:
            raise DomainError(ErrorCode.NOT_ALLOWED, _("Only the buyer who opened this dispute can do this."))

    return check


def only_the_store(seller: User) -> Callable[[Dispute], None]:
    def check(dispute: Dispute) -> None:
        if not seller.store_id or seller.store_id != dispute.store_id:
            raise DomainError(ErrorCode.NOT_ALLOWED, _("Only the store that sold this item can do this."))

    return check


def deadline_in(days: int) -> datetime:
    return timezone.now() + timedelta(days=days)
