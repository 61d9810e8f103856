"""What a dispute page says in words: whose move it is, what they must do, by when."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User

from .lifecycle import STEPS, Party, next_step_text, party_of
from .models import Dispute


@dataclass(frozen=True)
class NextStep:
    who: str  # "buyer", "seller", "staff", "system" or "" when nobody must act
    text: str
    deadline: datetime | None


def next_step(dispute: Dispute, viewer: User) -> NextStep:
    """Phrased for the viewer from the lifecycle table: "you" for the party who must act,
    third person otherwise (staff always read the third person)."""
    step = STEPS[dispute.state]
    who = str(step.who) if step.who else ""
    return NextStep(who, next_step_text(dispute, party_of(dispute, viewer)),
                    dispute.deadline_at if step.who in (Party.BUYER, Party.SELLER, Party.STAFF) else None)


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
