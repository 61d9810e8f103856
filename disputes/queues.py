"""The staff queues, each defined once: the admin's front page counts them, the disputes
list filters by them (``?queue=…``), the dashboard reads them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .lifecycle import EXPIRING, OPEN_STATES
from .models import Dispute, Refund


def overdue(now: datetime) -> Q:
    """Open, and the current deadline has passed."""
    return Q(state__in=OPEN_STATES, deadline_at__lt=now)


def due_soon(now: datetime) -> Q:
    """Open, and the current deadline passes within 24 hours."""
    return Q(state__in=OPEN_STATES, deadline_at__gte=now, deadline_at__lt=now + timedelta(hours=24))


def escalated(now: datetime) -> Q:
    return Q(state=Dispute.State.ESCALATED)


def staff_queue(now: datetime) -> Q:
    """What staff must look at: escalated disputes, and any open dispute past its deadline."""
    return escalated(now) | overdue(now)


def awaiting_refund_approval(now: datetime) -> Q:
    return Q(Exists(Refund.objects.filter(dispute=OuterRef("pk"), status=Refund.Status.AWAITING_APPROVAL)))


def unswept(now: datetime) -> Q:
    """Past a deadline whose outcome the sweep applies, longer ago than SWEEP_GRACE_MINUTES:
    empty while the sweep is alive."""
    return Q(state__in=[step.state for step in EXPIRING],
             deadline_at__lt=now - timedelta(minutes=settings.SWEEP_GRACE_MINUTES)) & ~Q(
        state=Dispute.State.ESCALATED, overdue_flagged_at__isnull=False)


@dataclass(frozen=True)
class Queue:
    label: Promise
    condition: object  # (now) -> Q


DISPUTE_QUEUES: dict[str, Queue] = {
    "staff": Queue(_("Escalated or overdue"), staff_queue),
    "escalated": Queue(_("Escalated"), escalated),
    "approval": Queue(_("Refund awaiting approval"), awaiting_refund_approval),
    "unswept": Queue(_("Past a deadline, not processed"), unswept),
}


def refunds_awaiting_approval() -> Q:
    return Q(status=Refund.Status.AWAITING_APPROVAL)


def refunds_failed() -> Q:
    return Q(status=Refund.Status.FAILED)
