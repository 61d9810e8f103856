"""What a dispute page says in words: whose move it is, what they must do, by when."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User

from .models import Dispute

S = Dispute.State


@dataclass(frozen=True)
class NextStep:
    who: str  # "buyer", "seller", "staff", "system" or "" when nobody must act
    text: str
    deadline: datetime | None


def _seller_task(dispute: Dispute) -> str:
    if dispute.kind == Dispute.Kind.RETURN:
        return _("send return instructions (where, how, and by when)")
    return _("accept, make a counter-offer or reject")


def next_step(dispute: Dispute, viewer: User) -> NextStep:
    """Phrased for the viewer: "you" for the party who must act, third person otherwise
    (staff always read the third person)."""
    is_buyer = viewer.pk == dispute.buyer_id
    is_seller = not is_buyer and bool(viewer.store_id) and viewer.store_id == dispute.store_id
    deadline = dispute.deadline_at
    state = dispute.state
    if state == S.AWAITING_SELLER:
        if is_seller:
            text = _("You must %(task)s.") % {"task": _seller_task(dispute)}
        else:
            text = _("The seller must %(task)s.") % {"task": _seller_task(dispute)}
        return NextStep("seller", text, deadline)
    if state == S.AWAITING_BUYER_SHIPMENT:
        text = (_("Ship the goods as instructed and enter the tracking number.") if is_buyer
                else _("The buyer must ship the goods and enter the tracking number."))
        return NextStep("buyer", text, deadline)
    if state == S.RETURN_IN_TRANSIT:
        text = (_("Confirm receipt and inspect the goods against the return conditions.") if is_seller
                else _("The seller must confirm receipt and inspect the goods."))
        return NextStep("seller", text, deadline)
    if state in (S.COUNTER_OFFERED, S.REJECTED):
        text = (_("Accept the seller's answer or escalate to the marketplace.") if is_buyer
                else _("The buyer must accept the seller's answer or escalate to the marketplace."))
        return NextStep("buyer", text, deadline)
    if state == S.ESCALATED:
        return NextStep("staff", _("Marketplace staff are reviewing the dispute and will decide."), deadline)
    if state == S.REFUND_PENDING:
        return NextStep("system", _("The refund is being paid."), None)
    if state == S.REFUNDED:
        return NextStep("", _("The buyer was refunded. The dispute is settled."), None)
    if dispute.resolution == Dispute.Resolution.WITHDRAWN:
        return NextStep("", _("The buyer withdrew the dispute. It is closed without a refund, not settled."), None)
    return NextStep("", _("The dispute is closed."), None)


def time_left(deadline: datetime | None, now: datetime | None = None) -> str:
    if deadline is None:
        return ""
    seconds = int((deadline - (now or timezone.now())).total_seconds())
    if seconds <= 0:
        return _("overdue")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return ngettext("%(n)d day left", "%(n)d days left", days) % {"n": days}
    if hours:
        return ngettext("%(n)d hour left", "%(n)d hours left", hours) % {"n": hours}
    minutes = max(1, rest // 60)
    return ngettext("%(n)d minute left", "%(n)d minutes left", minutes) % {"n": minutes}
