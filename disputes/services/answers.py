"""The seller's answer to a dispute (return instructions, accept, counter-offer, reject)
and the buyer's replies to it (ship, accept the offer or the rejection, escalate)."""
from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from catalog.models import Warehouse
from returns_portal.errors import DomainError, ErrorCode
from webhooks import outbox

from ..lifecycle import deadline_for
from ..models import Dispute, DisputeMessage, InstructionTemplate, ReturnInstructions, ReturnShipment
from ..models.returns import ReturnMethod
from ..notices import warehouse_params

from ._base import (
    BUYER,
    SELLER,
    STAFF,
    Change,
    check_part_of_asked,
    dispute_locked_for,
    dispute_transition,
    save_attachments,
    tell,
    transition_many,
)
from .refunds import RefundDecision, refund_decide_many

TRACKING_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]{6,38}[A-Z0-9]$")
DEFAULT_INSTRUCTIONS_TEXT = gettext_lazy(
    "Pack the item as you received it, write the RMA code on the parcel and drop it off.")


def new_rma_code(now=None) -> str:
    """``RMA-YYMMDD-`` + 40 random bits: collisions are negligible even for a sweep issuing
    100,000 codes in a day (and the unique index refuses one anyway)."""
    return f"RMA-{timezone.localtime(now or timezone.now()):%y%m%d}-{secrets.token_hex(5).upper()}"


def return_warehouses_for(dispute: Dispute):
    """Where this dispute's goods may be sent: for a local return, an active return
    warehouse of the store or the marketplace in the buyer's delivery country (the store's
    own first); for an international return, one of the store's own active warehouses that
    take returns."""
    if dispute.is_local_return:
        return Warehouse.objects.return_points_for(dispute.store).filter(
            country=dispute.order_line.order.delivery_country
        )
    return Warehouse.objects.accepting_returns().filter(store=dispute.store_id).order_by("pk")


@dataclass(frozen=True)
class Instructions:
    """Where (warehouse), how (method and carrier) and what else the buyer is told."""

    warehouse: Warehouse
    method: str
    carrier: str
    text: str


def default_instructions_many(disputes: Sequence[Dispute]) -> dict[int, Instructions | None]:
    """The instructions issued when the seller says nothing, which also pre-fill the seller's
    form: the return warehouse in the buyer's country (the store's own first, else the
    marketplace's), with the store's template for that warehouse (the first by name) or
    else a drop-off with ``DEFAULT_RETURN_CARRIER``. None where no warehouse takes the
    return. Two queries, however many disputes."""
    pairs = {(d.store_id, d.order_line.order.delivery_country) for d in disputes}
    warehouses = Warehouse.objects.first_return_points(pairs) if pairs else {}
    templates: dict[tuple[int, int], InstructionTemplate] = {}
    chosen = {w.pk for w in warehouses.values()}
    for template in InstructionTemplate.objects.filter(store_id__in={s for s, _c in pairs},
                                                       warehouse_id__in=chosen).order_by("name", "pk"):
        templates.setdefault((template.store_id, template.warehouse_id), template)
    result: dict[int, Instructions | None] = {}
    for dispute in disputes:
        warehouse = warehouses.get((dispute.store_id, dispute.order_line.order.delivery_country))
        if warehouse is None:
            result[dispute.pk] = None
            continue
        template = templates.get((dispute.store_id, warehouse.pk))
        result[dispute.pk] = Instructions(
            warehouse=warehouse,
            method=template.method if template else ReturnMethod.DROP_OFF,
            carrier=template.carrier if template else settings.DEFAULT_RETURN_CARRIER,
            text=template.text if template else str(DEFAULT_INSTRUCTIONS_TEXT),
        )
    return result


def instructions_issue_many(
    items: Sequence[tuple[Dispute, Instructions]],
    *,
    move: str,
    actor: User | None,
    now: datetime | None = None,
    due_by: datetime | None = None,
) -> list[Dispute]:
    """Issue return instructions on disputes the caller has locked: the move
    (``send_instructions`` by the seller, ``expire_seller_instructions`` when the seller's
    deadline passed), an RMA code each, the timeline entry with it, and the buyer told
    where, how and by when. The same writes whoever issues them; when the system issued
    them, the store is also told that its deadline passed. Returns the disputes moved."""
    now = now or timezone.now()
    ship_by = deadline_for(Dispute.State.AWAITING_BUYER_SHIPMENT, now)
    # Each dispute's instructions, RMA code and the address the buyer is told (kept with the
    # instructions: the store may edit or deactivate the warehouse later).
    issued: dict[int, tuple[Instructions, str, dict[str, str]]] = {}
    changes = []
    for dispute, instructions in items:
        code = new_rma_code(now)
        issued[dispute.pk] = (instructions, code, warehouse_params(instructions.warehouse))
        changes.append(Change(dispute, {
            "rma_code": code, "warehouse": instructions.warehouse.pk, "method": instructions.method,
            "carrier": instructions.carrier, "ship_by": ship_by.isoformat()}))
    moved = [change.dispute for change in transition_many(changes, move=move, actor=actor, now=now, due_by=due_by)]
    if not moved:
        return []
    try:
        with transaction.atomic():
            # Instructions from an earlier round (a dispute reopened from the start before
            # reopening resumed the step) are replaced; their RMA code stays in the timeline.
            ReturnInstructions.objects.filter(dispute__in=moved).delete()
            ReturnInstructions.objects.bulk_create([
                ReturnInstructions(dispute=d, warehouse=issued[d.pk][0].warehouse, address=issued[d.pk][2],
                                   method=issued[d.pk][0].method, carrier=issued[d.pk][0].carrier,
                                   text=issued[d.pk][0].text,
                                   rma_code=issued[d.pk][1], ship_by=ship_by, issued_by=actor, created_at=now)
                for d in moved], batch_size=1000)
    except IntegrityError as error:  # 40 random bits collided on the same day: let the caller retry
        raise DomainError(ErrorCode.INVALID_TRANSITION, _("Please try again.")) from error
    told = [(d, {"warehouse": issued[d.pk][2], "carrier": issued[d.pk][0].carrier,
                 "ship_by": ship_by.isoformat(), "rma": issued[d.pk][1]}) for d in moved]
    tell(told, {BUYER: "disputes.instructions_sent.buyer"})
    if actor is None:
        days = settings.SELLER_RESPONSE_DAYS
        tell([(d, {**params, "days": days}) for d, params in told], {SELLER: "disputes.instructions_issued.seller"})
    return moved


def dispute_send_instructions(
    *, dispute: Dispute, seller: User, warehouse: Warehouse, method: str, carrier: str, text: str = ""
) -> Dispute:
    """The seller tells the buyer where, how and by when to return the goods; an RMA code
    is issued and the buyer has BUYER_SHIP_DAYS to ship. Refused for another store, for a
    refund-only dispute, a warehouse that does not take this return, or the wrong state."""
    if method not in ReturnMethod.values:
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Choose how the goods are returned."))
    if not carrier.strip():
        raise DomainError(ErrorCode.INVALID_CHOICE, _("Name the carrier the buyer should use."))
    instructions = Instructions(warehouse=warehouse, method=method, carrier=carrier.strip(), text=text.strip())

    def check(locked: Dispute) -> None:
        if not return_warehouses_for(locked).filter(pk=warehouse.pk).exists():
            raise DomainError(
                ErrorCode.INVALID_WAREHOUSE,
                _("Choose an active return warehouse in the buyer's country.") if locked.is_local_return
                else _("Choose one of your store's active warehouses that take returns."),
            )

    with transaction.atomic():
        locked = dispute_locked_for(dispute=dispute, move="send_instructions", actor=seller, check=check)
        instructions_issue_many([(locked, instructions)], move="send_instructions", actor=seller)
    return locked


def dispute_accept(*, dispute: Dispute, seller: User) -> Dispute:
    """The seller agrees to refund the amount asked (refund-only or international return,
    without a return shipment). Refused for another store, a local return or the wrong state."""
    with transaction.atomic():
        accepted = dispute_transition(dispute=dispute, move="accept", actor=seller)
        refund_decide_many([RefundDecision(accepted, accepted.amount, seller, _("Accepted by the seller."))])
        tell([(accepted, {"amount": str(accepted.amount), "currency": accepted.currency})],
             {BUYER: "disputes.accepted.buyer"})
    return accepted


def dispute_counter_offer(*, dispute: Dispute, seller: User, amount: Decimal, message: str) -> Dispute:
    """The seller offers a smaller refund; the buyer may accept it or escalate within
    ESCALATION_DAYS. Refused for another store, a local return, an amount not between zero
    and the amount asked (in the currency's minor units), or the wrong state."""
    if not isinstance(amount, Decimal):
        raise DomainError(ErrorCode.INVALID_AMOUNT, _("Enter the amount you offer."))
    with transaction.atomic():
        def check(locked: Dispute) -> None:
            check_part_of_asked(amount, locked, _("A counter-offer must be more than zero and less than %(amount)s."))

        offered = dispute_transition(
            dispute=dispute, move="counter_offer", actor=seller, check=check,
            details={"amount": str(amount), "message": message.strip()},
            counter_offer_amount=amount, seller_answer=message.strip(),
        )
        tell([(offered, {"offer": str(amount), "currency": offered.currency,
                         "deadline": offered.deadline_at.isoformat()})], {BUYER: "disputes.counter_offered.buyer"})
    return offered


def dispute_reject(*, dispute: Dispute, seller: User, reason: str, evidence: Sequence[UploadedFile] = ()) -> Dispute:
    """The seller refuses the claim with a written reason (and optional photos); the buyer
    may accept or escalate within ESCALATION_DAYS. Not available for a local return."""
    if not reason.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, _("Explain why you reject the dispute."))
    with transaction.atomic():
        rejected = dispute_transition(dispute=dispute, move="reject", actor=seller,
                                      details={"reason": reason.strip()}, seller_answer=reason.strip())
        if evidence:
            message = DisputeMessage.objects.create(dispute=rejected, author=seller, body=reason.strip())
            outbox.message_posted(message, party="seller", files=len(evidence))
            save_attachments(dispute=rejected, uploader=seller, files=evidence, message=message)
        tell([(rejected, {"reason": reason.strip(), "deadline": rejected.deadline_at.isoformat()})],
             {BUYER: "disputes.rejected.buyer"})
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
        shipped = dispute_transition(dispute=dispute, move="ship", actor=buyer,
                                     details={"carrier": carrier.strip(), "tracking_number": tracking})
        ReturnShipment.objects.create(dispute=shipped, carrier=carrier.strip(), tracking_number=tracking)
        tell([(shipped, {"carrier": carrier.strip(), "tracking": tracking,
                         "deadline": shipped.deadline_at.isoformat()})], {SELLER: "disputes.shipped.seller"})
    return shipped


def dispute_accept_offer(*, dispute: Dispute, buyer: User) -> Dispute:
    """The buyer takes the seller's counter-offer: it is refunded."""
    with transaction.atomic():
        accepted = dispute_transition(dispute=dispute, move="accept_offer", actor=buyer)
        refund_decide_many([RefundDecision(accepted, accepted.counter_offer_amount, buyer,
                                           _("The buyer accepted the seller's counter-offer."))])
        tell([(accepted, {"offer": str(accepted.counter_offer_amount), "currency": accepted.currency})],
             {SELLER: "disputes.offer_accepted.seller"})
    return accepted


def dispute_accept_rejection(*, dispute: Dispute, buyer: User) -> Dispute:
    """The buyer accepts the rejection: the dispute closes without a refund."""
    with transaction.atomic():
        closed = dispute_transition(dispute=dispute, move="accept_rejection", actor=buyer)
        tell([(closed, {})], {SELLER: "disputes.rejection_accepted.seller"})
    return closed


def dispute_escalate(*, dispute: Dispute, buyer: User, reason: str) -> Dispute:
    """The buyer asks marketplace staff to decide (after a rejection or a counter-offer);
    staff have STAFF_DECISION_DAYS. A reason is required."""
    if not reason.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, _("Tell the marketplace why you disagree."))
    with transaction.atomic():
        escalated = dispute_transition(dispute=dispute, move="escalate", actor=buyer,
                                       details={"reason": reason.strip()})
        message = DisputeMessage.objects.create(dispute=escalated, author=buyer, body=reason.strip())
        outbox.message_posted(message, party="buyer", files=0)
        tell([(escalated, {})], {SELLER: "disputes.escalated.seller"})
        tell([(escalated, {"reason": reason.strip()[:500]})], {STAFF: "disputes.escalated.staff"})
    return escalated

