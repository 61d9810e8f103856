"""Opening a dispute, withdrawing and reopening it, and the message thread."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from orders.models import OrderLine
from returns_portal.errors import DomainError, ErrorCode

from .. import selectors
from ..lifecycle import Party, deadline_for, party_of
from ..models import Dispute, DisputeEvent, DisputeMessage, Refund, ReturnInstructions
from ..rules.eligibility import check_eligibility
from webhooks import outbox

from ._base import (BUYER, SELLER, NotEligible, dispute_transition, lock_dispute, record_events, save_attachments,
                    tell)


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
    not delivered, out of the protection window, already has a dispute (open, withdrawn —
    that one is reopened instead — or ended, which is final), the amount is not positive,
    not in the currency's minor units, or exceeds what was paid minus refunds, a dispute
    that is not a local return has no photo or video, or a local return is not available
    for this item in the buyer's country. Refused (``INVALID_UPLOAD``) when a file is not a
    photo or video or too large.
    """
    if kind == Dispute.Kind.REFUND_ONLY:
        route = Dispute.Route.NONE
    if kind not in Dispute.Kind.values or (kind == Dispute.Kind.RETURN and route not in
                                           (Dispute.Route.LOCAL, Dispute.Route.INTERNATIONAL)):
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Choose what you want: a return or a refund only."))
    if not isinstance(amount, Decimal):
        raise DomainError(ErrorCode.INVALID_AMOUNT, _("Enter the compensation you ask for."))
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
                    deadline_at=deadline_for(Dispute.State.AWAITING_SELLER, now),
                    created_at=now,
                )
        except IntegrityError as error:
            raise DomainError(ErrorCode.ALREADY_OPEN, _("There is already an open dispute on this item.")) from error
        save_attachments(dispute=dispute, uploader=buyer, files=evidence)
        record_events([DisputeEvent(
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
        )])
        params = {"buyer": buyer.get_full_name() or buyer.username, "request": f"{kind}:{route}" if route else kind,
                  "amount": str(amount), "currency": dispute.currency, "deadline": dispute.deadline_at.isoformat()}
        tell([(dispute, params)], {SELLER: "disputes.opened.seller", BUYER: "disputes.opened.buyer"})
    return dispute


def dispute_withdraw(*, dispute: Dispute, buyer: User) -> Dispute:
    """The buyer drops the claim: the dispute closes without a refund. This is not a
    settlement: the buyer may reopen it once while buyer protection lasts, and it resumes
    where it stopped. Refused for someone else's dispute, once the goods were sent back
    and once the dispute has ended."""
    with transaction.atomic():
        withdrawn = dispute_transition(dispute=dispute, move="withdraw", actor=buyer)
        tell([(withdrawn, {})], {SELLER: "disputes.withdrawn.seller"})
    return withdrawn


def dispute_reopen(*, dispute: Dispute, buyer: User) -> Dispute:
    """Reopen a withdrawn dispute: it resumes the step it was withdrawn from (a rejection
    stays a rejection, an escalation stays with staff) with that step's deadline started
    afresh. Refused for someone else's dispute, one not withdrawn, one reopened before,
    once buyer protection has ended, and (``NotEligible``) whenever the claim no longer
    holds: the amount above what is left after refunds, local return no longer available."""
    with transaction.atomic():
        def check(locked: Dispute) -> None:
            # Lock order: the dispute (locked by the transition), then its line.
            line = (
                OrderLine.objects.select_for_update(of=("self",))
                .select_related("order", "product__category", "product__store")
                .get(pk=locked.order_line_id)
            )
            facts = selectors.eligibility_facts(
                buyer=buyer, line=line, kind=locked.kind, route=locked.route, amount=locked.amount,
                evidence_count=locked.attachments.filter(message__isnull=True, inspection__isnull=True).count(),
                exclude=locked,
                # A manual refund staff issued after the withdrawal may not be paid yet.
                refundable=Refund.objects.refundable_left([line])[line.pk],
            )
            result = check_eligibility(facts)
            if not result.passed:
                raise NotEligible(result)

        reopened = dispute_transition(dispute=dispute, move="reopen", actor=buyer, check=check)
        if reopened.state == Dispute.State.AWAITING_BUYER_SHIPMENT:
            # The instructions stand; the buyer's new time to ship is the step's fresh deadline.
            ReturnInstructions.objects.filter(dispute=reopened).update(ship_by=reopened.deadline_at)
        tell([(reopened, {"state": reopened.state,
                          "deadline": reopened.deadline_at.isoformat() if reopened.deadline_at else ""})],
             {SELLER: "disputes.reopened.seller"})
    return reopened


def dispute_message_post(
    *, dispute: Dispute, author: User, body: str, files: Sequence[UploadedFile] = ()
) -> DisputeMessage:
    """Add a message (with optional photos/videos) to the thread between buyer and seller.
    Refused for anyone but the buyer, the store's members and staff allowed to change
    disputes, for an empty message and once the dispute has ended."""
    body = body.strip()
    if not body and not files:
        raise DomainError(ErrorCode.EMPTY_MESSAGE, _("Write a message or attach a file."))
    party = party_of(dispute, author)
    if party is None:
        raise DomainError(ErrorCode.NOT_ALLOWED, _("You are not a party to this dispute."))
    with transaction.atomic():
        # Locked, so that a message never lands on a dispute that ended a moment before.
        if not lock_dispute(dispute.pk).is_open:
            raise DomainError(ErrorCode.INVALID_TRANSITION,
                              _("This dispute has ended; messages can no longer be added."))
        message = DisputeMessage.objects.create(dispute=dispute, author=author, body=body)
        save_attachments(dispute=dispute, uploader=author, files=files, message=message)
        outbox.message_posted(message, party=str(party), files=len(files))
        # Staff speak to both sides; each side speaks to the other.
        audience = {Party.BUYER: [SELLER], Party.SELLER: [BUYER], Party.STAFF: [BUYER, SELLER]}[party]
        key = "disputes.message" if body else "disputes.message_file"
        tell([(dispute, {"excerpt": body[:500]})], dict.fromkeys(audience, key), exclude=author,
             anchor="#messages")
    return message

