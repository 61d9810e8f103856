"""What an order line says about its dispute, where the buyer looks for the button."""
from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.utils import timezone

from ..lifecycle import GUARDS
from ..models import Dispute

register = template.Library()


@dataclass(frozen=True)
class LineDispute:
    dispute: Dispute
    status: str  # "open", "reopenable" (withdrawn, may be reopened once) or "ended" (final)
    note: str = ""  # why it cannot be reopened, with the date


@register.simple_tag
def line_dispute(line) -> LineDispute | None:
    """The line's dispute and what may still be done with it (DESIGN §3: a withdrawn dispute is
    reopened, never opened anew; every other ending is final for the line). No queries: the
    line's disputes are prefetched and its order is at hand."""
    dispute = line.current_dispute
    if dispute is None:
        return None
    if dispute.is_open:
        return LineDispute(dispute, "open")
    dispute.order_line = line  # the guard reads the order's protection window from the line at hand
    why_not = GUARDS["reopenable"](dispute, timezone.now(), None)  # any ending but a withdrawal: final
    return LineDispute(dispute, "ended", why_not) if why_not else LineDispute(dispute, "reopenable")
