"""Opening a dispute, withdrawing and reopening it, and the message thread."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from notifications.services import notify
from orders.models import OrderLine
from returns_portal.errors import DomainError, ErrorCode
from returns_portal.formatting import local_datetime

from .. import selectors
from ..models import Dispute, DisputeEvent, DisputeMessage, ReturnShipment
from ..rules.eligibility import check_eligibility
from ._base import (
    NotEligible,
    deadline_in,
    dispute_transition,
    only_the_buyer,
    save_attachments,
    store_members,
)


def dispute_open(
    *,
    buyer: User,
    order_line: OrderLine,
    kind: str,
    route: str,
    amount: Decimal,
    reason: str,
    description: str = "",
    evidence: Sequence[UploadedFile] = (),
) -> Dispute:
    """Open a dispute on one order line; the seller's clock starts (SELLER_RESPONSE_DAYS).

    Refused (``NotEligible``, every failed rule's reason) when the line is not the buyer's,
    not delivered, out of the protection window, already under an open dispute, the amount
    is not positive or exceeds what was paid minus refunds, a non-local-return dispute has
    no photo or video, or a local return is not available for this item in the buyer's
    country. Refused (``INVALID_UPLOAD``) when a file is not a photo or video or too large.
    """
    if kind == Dispute.Kind.REFUND_ONLY:
        route = Dispute.Route.NONE
    if kind not in Dispute.Kind.values or (kind == Dispute.Kind.RETURN and route not in
                                           (Dispute.Route.LOCAL, Dispute.Route.INTERNATIONAL)):
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Choose what you want: a return or a refund only."))
    if not isinstance(amount, Decimal):
        raise DomainError(ErrorCode.NOT_ELIGIBLE, _("Enter the compensation you ask for."))
    if reason not in Dispute.Reason.values:
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Choose a reason from the list."))

    with transaction.atomic():
        # Locking the line serialises openings on it; the partial unique index backs this up.
        line = (
            OrderLine.objects.select_for_update(of=("self",))
            .select_related("order", "product__category", "product__store")
            .get(pk=order_line.pk)
        )
        facts = selectors.eligibility_facts(
            buyer=buyer, line=line, kind=kind, route=route, amount=amount, evidence_count=len(evidence)
        )
        result = check_eligibility(facts)
        if not result.passed:
            raise NotEligible(result)

        now = timezone.now()
        try:
            with transaction.atomic():
                dispute = Dispute.objects.create(
                    order_line=line,
                    buyer=buyer,
                    store=line.product.store,
                    kind=kind,
                    route=route,
                    state=Dispute.State.AWAITING_SELLER,
                    amount=amount,
                    currency=line.order.currency,
                    reason=reason,
                    description=description.strip(),
                    deadline_at=now + timedelta(days=settings.SELLER_RESPONSE_DAYS),
                    created_at=now,
                )
        except IntegrityError as error:
            raise DomainError(ErrorCode.ALREADY_OPEN, _("There is already an open dispute on this item.")) from error
        save_attachments(dispute=dispute, uploader=buyer, files=evidence)
        DisputeEvent.objects.create(
            dispute=dispute,
            actor=buyer,
            kind=DisputeEvent.Kind.OPENED,
            from_state="",
            to_state=dispute.state,
            details={
                "kind": kind,
                "route": route,
                "amount": str(amount),
                "currency": dispute.currency,
                "reason": reason,
                "deadline_at": dispute.deadline_at.isoformat(),
                "evidence_files": len(evidence),
            },
            created_at=now,
        )
        deadline = local_datetime(dispute.deadline_at)
        notify(
            recipients=store_members(dispute),
            subject=_("New dispute on order %(number)s") % {"number": line.order.number},
            body=_("%(buyer)s opened a dispute (%(kind)s) on “%(title)s” for %(amount)s %(currency)s. "
                   "Please respond by %(deadline)s.")
            % {"buyer": buyer.get_full_name() or buyer.username, "kind": dispute.kind_label, "title": line.title,
               "amount": amount, "currency": dispute.currency, "deadline": deadline},
            url=dispute.get_absolute_url(),
        )
        notify(
            recipients=[buyer],
            subject=_("Your dispute on order %(number)s is open") % {"number": line.order.number},
            body=_("The seller must respond by %(deadline)s.") % {"deadline": deadline},
            url=dispute.get_absolute_url(),
        )
    return dispute


def dispute_withdraw(*, dispute: Dispute, buyer: User) -> Dispute:
    """The buyer drops the claim: the dispute closes without a refund. This is not a
    settlement; the buyer may reopen it while buyer protection lasts. Refused for someone
    else's dispute and once goods are on their way back or the dispute has ended."""
    with transaction.atomic():
        def check(locked: Dispute) -> None:
            only_the_buyer(buyer)(locked)
            # After a rejected or unclear inspection the goods are back with the seller: the
            # buyer accepts the rejection or escalates; a withdrawal could be reopened into a
            # second return of goods that already came back.
            if ReturnShipment.objects.filter(dispute=locked).exists():
                raise DomainError(
                    ErrorCode.INVALID_TRANSITION,
                    _("The goods were sent back to the seller, so this dispute can no longer be withdrawn."),
                )

        withdrawn = dispute_transition(
            dispute=dispute,
            name="withdraw",
            actor=buyer,
            event_kind=DisputeEvent.Kind.WITHDRAWN,
            check=check,
            resolution=Dispute.Resolution.WITHDRAWN,
            deadline_at=None,
            closed_at=timezone.now(),
        )
        notify(
            recipients=store_members(withdrawn),
            subject=_("Dispute #%(id)s was withdrawn") % {"id": withdrawn.pk},
            body=_("The buyer withdrew the dispute; nothing more is needed from you unless they reopen it."),
            url=withdrawn.get_absolute_url(),
        )
    return withdrawn


def dispute_reopen(*, dispute: Dispute, buyer: User) -> Dispute:
    """Reopen a withdrawn dispute as it was; the seller's clock starts again. Refused for
    someone else's dispute or one not withdrawn, and (``NotEligible``) whenever opening it
    afresh would be: protection over, another dispute on the item open, the amount now
    above what is left after refunds, local return no longer available."""
    with transaction.atomic():
        line = (
            OrderLine.objects.select_for_update(of=("self",))
            .select_related("order", "product__category", "product__store")
            .get(pk=dispute.order_line_id)
        )

        def check(locked: Dispute) -> None:
            only_the_buyer(buyer)(locked)
            if locked.state != Dispute.State.CLOSED or locked.resolution != Dispute.Resolution.WITHDRAWN:
                raise DomainError(ErrorCode.INVALID_TRANSITION, _("Only a withdrawn dispute can be reopened."))
            facts = selectors.eligibility_facts(
                buyer=buyer, line=line, kind=locked.kind, route=locked.route, amount=locked.amount,
                evidence_count=locked.attachments.filter(message__isnull=True, inspection__isnull=True).count(),
            )
            result = check_eligibility(facts)
            if not result.passed:
                raise NotEligible(result)

        reopened = dispute_transition(
            dispute=dispute,
            name="reopen",
            actor=buyer,
            event_kind=DisputeEvent.Kind.REOPENED,
            check=check,
            resolution=Dispute.Resolution.NONE,
            deadline_at=deadline_in(settings.SELLER_RESPONSE_DAYS),
            closed_at=None,
        )
        notify(
            recipients=store_members(reopened),
            subject=_("Dispute #%(id)s was reopened") % {"id": reopened.pk},
            body=_("The buyer reopened the dispute. Please respond by %(deadline)s.")
            % {"deadline": local_datetime(reopened.deadline_at)},
            url=reopened.get_absolute_url(),
        )
    return reopened


def dispute_message_post(
    *, dispute: Dispute, author: User, body: str, files: Sequence[UploadedFile] = ()
) -> DisputeMessage:
    """Add a message (with optional photos/videos) to the thread between buyer and seller.
    Refused for anyone but the buyer, the store's members and staff, and for an empty message."""
    body = body.strip()
    if not body and not files:
        raise DomainError(ErrorCode.EMPTY_MESSAGE, _("Write a message or attach a file."))
    is_buyer = author.pk == dispute.buyer_id
    is_seller = bool(author.store_id) and author.store_id == dispute.store_id
    if not (is_buyer or is_seller or author.is_staff):
        raise DomainError(ErrorCode.NOT_ALLOWED, _("You are not a party to this dispute."))
    if not dispute.is_open:
        raise DomainError(ErrorCode.INVALID_TRANSITION, _("This dispute has ended; messages can no longer be added."))
    with transaction.atomic():
        message = DisputeMessage.objects.create(dispute=dispute, author=author, body=body)
        save_attachments(dispute=dispute, uploader=author, files=files, message=message)
        if is_buyer:
            recipients = store_members(dispute)
        elif is_seller:
            recipients = [dispute.buyer]
        else:  # staff speak to both sides
            recipients = [dispute.buyer, *store_members(dispute)]
        notify(
            recipients=[user for user in recipients if user.pk != author.pk],
            subject=_("New message on dispute #%(id)s") % {"id": dispute.pk},
            body=body[:500] or _("A file was attached."),
            url=dispute.get_absolute_url() + "#messages",
        )
    return message
