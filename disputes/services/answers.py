"""The seller's answer to a dispute and the buyer's replies to it."""
from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.models import Warehouse
from notifications.services import notify
from returns_portal.errors import DomainError, ErrorCode
from returns_portal.formatting import local_datetime

from ..models import Dispute, DisputeEvent, DisputeMessage, ReturnInstructions, ReturnShipment
from ..models.returns import ReturnMethod
from ._base import deadline_in, dispute_transition, only_the_buyer, only_the_store, save_attachments, store_members
from .refunds import refund_decide

TRACKING_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]{6,38}[A-Z0-9]$")


def new_rma_code(now=None) -> str:
    """``RMA-YYMMDD-`` + 40 random bits: collisions are negligible even for a sweep issuing
    100,000 codes in a day (and the unique index refuses one anyway)."""
    return f"RMA-{timezone.localtime(now or timezone.now()):%y%m%d}-{secrets.token_hex(5).upper()}"


def return_warehouses_for(dispute: Dispute):
    """Where this dispute's goods may be sent: for a local return, an active return
    warehouse of the store or the marketplace in the buyer's delivery country; for an
    international return, one of the store's own active warehouses."""
    if dispute.is_local_return:
        return Warehouse.objects.return_points_for(dispute.store).filter(
            country=dispute.order_line.order.delivery_country
        )
    return Warehouse.objects.filter(store=dispute.store, is_active=True)


def issue_instructions(
    *, dispute: Dispute, actor: User | None, warehouse: Warehouse, method: str, carrier: str, text: str,
    event_details: dict | None = None,
) -> Dispute:
    """Record return instructions and start the buyer's shipping clock. Call inside a
    transaction; the transition locks and re-checks the dispute. Used by the seller and,
    when the seller's deadline passes, by the deadline sweep (``actor`` None)."""
    if method not in ReturnMethod.values:
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Choose how the goods are returned."))
    if not carrier.strip():
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Name the carrier the buyer should use."))

    def check(locked: Dispute) -> None:
        if actor is not None:
            only_the_store(actor)(locked)
        if locked.kind != Dispute.Kind.RETURN:
            raise DomainError(ErrorCode.INVALID_TRANSITION, _("Return instructions are only for returns."))
        if not return_warehouses_for(locked).filter(pk=warehouse.pk).exists():
            raise DomainError(
                ErrorCode.INVALID_WAREHOUSE,
                _("Choose an active return warehouse in the buyer's country.") if locked.is_local_return
                else _("Choose one of your store's active warehouses."),
            )

    ship_by = deadline_in(settings.BUYER_SHIP_DAYS)
    rma_code = new_rma_code()
    updated = dispute_transition(
        dispute=dispute, name="send_instructions", actor=actor, event_kind=DisputeEvent.Kind.INSTRUCTIONS_SENT,
        check=check,
        details={"rma_code": rma_code, "warehouse": warehouse.pk, "method": method, "carrier": carrier.strip(),
                 "ship_by": ship_by.isoformat(), **(event_details or {})},
        deadline_at=ship_by,
    )
    try:
        with transaction.atomic():
            # A reopened dispute may have had instructions before: the new ones replace them
            # (the earlier RMA code stays in the timeline).
            ReturnInstructions.objects.filter(dispute=updated).delete()
            ReturnInstructions.objects.create(
                dispute=updated, warehouse=warehouse, method=method, carrier=carrier.strip(), text=text.strip(),
                rma_code=rma_code, ship_by=ship_by, issued_by=actor,
            )
    except IntegrityError as error:  # 40 random bits collided on the same day: let the caller retry
        raise DomainError(ErrorCode.INVALID_TRANSITION, _("Please try again.")) from error
    notify(
        recipients=[updated.buyer],
        subject=_("Return instructions for dispute #%(id)s") % {"id": updated.pk},
        body=_("Send the goods to %(warehouse)s with %(carrier)s by %(date)s. Your RMA code is %(rma)s.")
        % {"warehouse": warehouse, "carrier": carrier.strip(), "date": local_datetime(ship_by), "rma": rma_code},
        url=updated.get_absolute_url(),
    )
    return updated


def dispute_send_instructions(
    *, dispute: Dispute, seller: User, warehouse: Warehouse, method: str, carrier: str, text: str = ""
) -> Dispute:
    """The seller tells the buyer where, how and by when to return the goods; an RMA code
    is issued and the buyer has BUYER_SHIP_DAYS to ship. Refused for another store, for a
    refund-only dispute, a warehouse that does not take this return, or the wrong state."""
    with transaction.atomic():
        return issue_instructions(
            dispute=dispute, actor=seller, warehouse=warehouse, method=method, carrier=carrier, text=text
        )


def _not_for_local_return(dispute: Dispute) -> None:
    if dispute.is_local_return:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            _("A local return needs no proof: send return instructions; the goods are checked when they arrive."),
        )


def dispute_accept(*, dispute: Dispute, seller: User) -> Dispute:
    """The seller agrees to refund the amount asked (refund-only or international return,
    without a return shipment). Refused for another store, a local return or the wrong state."""
    with transaction.atomic():
        def check(locked: Dispute) -> None:
            only_the_store(seller)(locked)
            _not_for_local_return(locked)

        accepted = dispute_transition(dispute=dispute, name="accept", actor=seller,
                                      event_kind=DisputeEvent.Kind.ACCEPTED, check=check, deadline_at=None)
        refund_decide(dispute=accepted, amount=accepted.amount, decided_by=seller,
                      reason=_("Accepted by the seller."))
        notify(recipients=[accepted.buyer], subject=_("The seller accepted dispute #%(id)s") % {"id": accepted.pk},
               body=_("Your refund of %(amount)s %(currency)s is on its way.")
               % {"amount": accepted.amount, "currency": accepted.currency}, url=accepted.get_absolute_url())
    return accepted


def dispute_counter_offer(*, dispute: Dispute, seller: User, amount: Decimal, message: str) -> Dispute:
    """The seller offers a smaller refund; the buyer may accept it or escalate within
    ESCALATION_DAYS. Refused for another store, a local return, an amount not between zero
    and the amount asked, or the wrong state."""
    with transaction.atomic():
        def check(locked: Dispute) -> None:
            only_the_store(seller)(locked)
            _not_for_local_return(locked)
            if not (Decimal("0") < amount < locked.amount):
                raise DomainError(ErrorCode.INVALID_AMOUNT,
                                  _("A counter-offer must be more than zero and less than %(amount)s.")
                                  % {"amount": locked.amount})

        offered = dispute_transition(
            dispute=dispute, name="counter_offer", actor=seller, event_kind=DisputeEvent.Kind.COUNTER_OFFERED,
            check=check, details={"amount": str(amount), "message": message.strip()},
            counter_offer_amount=amount, seller_answer=message.strip(),
            deadline_at=deadline_in(settings.ESCALATION_DAYS),
        )
        notify(recipients=[offered.buyer], subject=_("Counter-offer on dispute #%(id)s") % {"id": offered.pk},
               body=_("The seller offers %(amount)s %(currency)s. Accept it or escalate by %(date)s.")
               % {"amount": amount, "currency": offered.currency, "date": local_datetime(offered.deadline_at)},
               url=offered.get_absolute_url())
    return offered


def dispute_reject(*, dispute: Dispute, seller: User, reason: str, evidence: Sequence[UploadedFile] = ()) -> Dispute:
    """The seller refuses the claim with a written reason (and optional photos); the buyer
    may accept or escalate within ESCALATION_DAYS. Not available for a local return."""
    if not reason.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, _("Explain why you reject the dispute."))
    with transaction.atomic():
        def check(locked: Dispute) -> None:
            only_the_store(seller)(locked)
            _not_for_local_return(locked)

        rejected = dispute_transition(
            dispute=dispute, name="reject", actor=seller, event_kind=DisputeEvent.Kind.REJECTED, check=check,
            details={"reason": reason.strip()}, seller_answer=reason.strip(),
            deadline_at=deadline_in(settings.ESCALATION_DAYS),
        )
        if evidence:
            message = DisputeMessage.objects.create(dispute=rejected, author=seller, body=reason.strip())
            save_attachments(dispute=rejected, uploader=seller, files=evidence, message=message)
        notify(recipients=[rejected.buyer], subject=_("The seller rejected dispute #%(id)s") % {"id": rejected.pk},
               body=_("Reason: %(reason)s Accept or escalate to the marketplace by %(date)s.")
               % {"reason": reason.strip(), "date": local_datetime(rejected.deadline_at)},
               url=rejected.get_absolute_url())
    return rejected


def normalise_tracking_number(raw: str) -> str:
    return re.sub(r"[\s]", "", raw or "").upper()


def dispute_ship(*, dispute: Dispute, buyer: User, carrier: str, tracking_number: str) -> Dispute:
    """The buyer has sent the goods back; the seller has SELLER_RECEIPT_DAYS to confirm
    receipt. Refused for someone else's dispute, an empty carrier, a tracking number that
    is not 8–40 letters, digits or dashes, or the wrong state."""
    tracking = normalise_tracking_number(tracking_number)
    if not carrier.strip():
        raise DomainError(ErrorCode.INVALID_TRACKING, _("Name the carrier you shipped with."))
    if not TRACKING_NUMBER.match(tracking) or not any(ch.isdigit() for ch in tracking):
        raise DomainError(ErrorCode.INVALID_TRACKING,
                          _("Enter the tracking number from your receipt: 8 to 40 letters, digits or dashes."))
    with transaction.atomic():
        shipped = dispute_transition(
            dispute=dispute, name="ship", actor=buyer, event_kind=DisputeEvent.Kind.SHIPPED,
            check=only_the_buyer(buyer), details={"carrier": carrier.strip(), "tracking_number": tracking},
            deadline_at=deadline_in(settings.SELLER_RECEIPT_DAYS),
        )
        ReturnShipment.objects.create(dispute=shipped, carrier=carrier.strip(), tracking_number=tracking)
        notify(recipients=store_members(shipped), subject=_("Return on its way: dispute #%(id)s") % {"id": shipped.pk},
               body=_("The buyer shipped the goods with %(carrier)s, tracking %(tracking)s. Confirm receipt and "
                      "inspect them by %(date)s.")
               % {"carrier": carrier.strip(), "tracking": tracking, "date": local_datetime(shipped.deadline_at)},
               url=shipped.get_absolute_url())
    return shipped


def dispute_accept_offer(*, dispute: Dispute, buyer: User) -> Dispute:
    """The buyer takes the seller's counter-offer: it is refunded."""
    with transaction.atomic():
        accepted = dispute_transition(dispute=dispute, name="accept_offer", actor=buyer,
                                      event_kind=DisputeEvent.Kind.OFFER_ACCEPTED, check=only_the_buyer(buyer),
                                      deadline_at=None)
        refund_decide(dispute=accepted, amount=accepted.counter_offer_amount, decided_by=buyer,
                      reason=_("The buyer accepted the seller's counter-offer."))
        notify(recipients=store_members(accepted),
               subject=_("Counter-offer accepted: dispute #%(id)s") % {"id": accepted.pk},
               body=_("The buyer accepted %(amount)s %(currency)s.")
               % {"amount": accepted.counter_offer_amount, "currency": accepted.currency},
               url=accepted.get_absolute_url())
    return accepted


def dispute_accept_rejection(*, dispute: Dispute, buyer: User) -> Dispute:
    """The buyer accepts the rejection: the dispute closes without a refund."""
    with transaction.atomic():
        closed = dispute_transition(dispute=dispute, name="accept_rejection", actor=buyer,
                                    event_kind=DisputeEvent.Kind.REJECTION_ACCEPTED, check=only_the_buyer(buyer),
                                    resolution=Dispute.Resolution.REJECTED, deadline_at=None,
                                    closed_at=timezone.now())
        notify(recipients=store_members(closed), subject=_("Dispute #%(id)s closed") % {"id": closed.pk},
               body=_("The buyer accepted your answer."), url=closed.get_absolute_url())
    return closed


def dispute_escalate(*, dispute: Dispute, buyer: User, reason: str) -> Dispute:
    """The buyer asks marketplace staff to decide (after a rejection or a counter-offer);
    staff have STAFF_DECISION_DAYS. A reason is required."""
    if not reason.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, _("Tell the marketplace why you disagree."))
    with transaction.atomic():
        escalated = dispute_transition(
            dispute=dispute, name="escalate", actor=buyer, event_kind=DisputeEvent.Kind.ESCALATED,
            check=only_the_buyer(buyer), details={"reason": reason.strip()},
            deadline_at=deadline_in(settings.STAFF_DECISION_DAYS),
        )
        DisputeMessage.objects.create(dispute=escalated, author=buyer, body=reason.strip())
        notify(recipients=store_members(escalated), subject=_("Dispute #%(id)s was escalated") % {"id": escalated.pk},
               body=_("The buyer asked marketplace staff to decide."), url=escalated.get_absolute_url())
        notify(recipients=User.objects.filter(is_staff=True, is_active=True),
               subject=_("Escalated dispute #%(id)s needs a decision") % {"id": escalated.pk},
               body=reason.strip()[:500], url=f"/admin/disputes/dispute/{escalated.pk}/change/")
    return escalated
