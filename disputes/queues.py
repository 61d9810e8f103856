"""The staff's work queues, each defined once.

The admin's front page counts them (``queue_counts``) and links each to its change list,
whose filters (``?queue=staff``, ``?queue=unswept`` on disputes; ``?approval=waiting`` and
``?status__exact=failed`` on refunds) select the same rows: they import these conditions.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .lifecycle import OPEN_STATES
from .models import Dispute, Refund
from .sweep import any_outcome_due

S = Dispute.State


# --- the queues ---------------------------------------------------------------------------------


def escalated() -> Q:
    """Disputes marketplace staff must decide."""
    return Q(state=S.ESCALATED)


def overdue(now: datetime) -> Q:
    """Open disputes past the deadline of their step."""
    return Q(state__in=OPEN_STATES, deadline_at__lt=now)


def staff_queue(now: datetime) -> Q:
    """The staff's dispute queue: escalated, or open and past its deadline."""
    return escalated() | overdue(now)


def unswept(now: datetime) -> Q:
    """Open disputes past a deadline whose outcome the sweep should have applied more than
    SWEEP_GRACE_MINUTES ago (the sweep's own condition, asked of that moment). Always empty
    while the sweep runs: a row here means it stopped or fell behind."""
    return any_outcome_due(now - timedelta(minutes=settings.SWEEP_GRACE_MINUTES))


def due_soon(now: datetime) -> Q:
    """Open disputes whose deadline passes within the next 24 hours."""
    return Q(state__in=OPEN_STATES, deadline_at__gte=now, deadline_at__lt=now + timedelta(hours=24))


def awaiting_refund_approval(now: datetime) -> Q:
    """Disputes with a refund waiting for a second staff member's approval."""
    return Q(Exists(Refund.objects.filter(refunds_awaiting_approval(), dispute=OuterRef("pk"))))


def refunds_awaiting_approval() -> Q:
    """Refunds staff decided above STAFF_REFUND_APPROVAL_LIMIT, waiting for a second staff member."""
    return Q(status=Refund.Status.AWAITING_APPROVAL)


def refunds_failed() -> Q:
    """Refunds whose payment failed (staff retry them with the "Pay now" action)."""
    return Q(status=Refund.Status.FAILED)


# The disputes list's "queue" filter: its choices, in words, and the rows each selects.
LIST_QUEUES: dict[str, tuple[Promise, Callable[[datetime], Q]]] = {
    "staff": (gettext_lazy("Escalated or overdue"), staff_queue),
    "escalated": (gettext_lazy("Escalated"), lambda now: escalated()),
    "approval": (gettext_lazy("Refund awaiting approval"), awaiting_refund_approval),
    "unswept": (gettext_lazy("Past a deadline, not processed"), unswept),
}


def queue_counts(now: datetime, *, disputes: bool = True, refunds: bool = True) -> dict[str, int]:
    """How many rows each queue holds at ``now``: one query for the disputes, one for the refunds
    (leave out what the reader may not see)."""
    counts: dict[str, int] = {}
    if disputes:
        counts.update(Dispute.objects.filter(state__in=OPEN_STATES).aggregate(
            staff=Count("pk", filter=staff_queue(now)),
            escalated=Count("pk", filter=escalated()),
            overdue=Count("pk", filter=overdue(now)),
            unswept=Count("pk", filter=unswept(now)),
        ))
    if refunds:
        counts.update(Refund.objects.filter(refunds_awaiting_approval() | refunds_failed()).aggregate(
            refunds_awaiting_approval=Count("pk", filter=refunds_awaiting_approval()),
            refunds_failed=Count("pk", filter=refunds_failed()),
        ))
    return counts


# --- the admin's front page -----------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    key: str
    name: str
    count: int
    url: str
    note: str = ""
    # The queue that should be empty: ``ok`` says whether it is (None for the others).
    ok: bool | None = None


def dispute_queue_url(queue: str) -> str:
    return reverse("admin:disputes_dispute_changelist") + f"?queue={queue}"


def front_page_queues(user, now: datetime) -> list[Queue]:
    """The queues ``user`` may see (disputes need ``disputes.view_dispute``, refunds
    ``disputes.view_refund``), with their counts and links, in the order staff work them."""
    see_disputes, see_refunds = user.has_perm("disputes.view_dispute"), user.has_perm("disputes.view_refund")
    if not (see_disputes or see_refunds):
        return []
    counts = queue_counts(now, disputes=see_disputes, refunds=see_refunds)
    queues = []
    if see_disputes:
        queues.append(Queue(
            "staff", _("Disputes for staff: escalated or past their deadline"), counts["staff"],
            dispute_queue_url("staff"),
            _("%(escalated)s escalated, %(overdue)s past their deadline") % {
                "escalated": counts["escalated"], "overdue": counts["overdue"]}))
    if see_refunds:
        refunds = reverse("admin:disputes_refund_changelist")
        queues += [
            Queue("refunds_awaiting_approval", _("Refunds waiting for a second staff member's approval"),
                  counts["refunds_awaiting_approval"], refunds + "?approval=waiting"),
            Queue("refunds_failed", _("Refunds whose payment failed"), counts["refunds_failed"],
                  refunds + "?status__exact=failed",
                  _("Select them and choose “%(action)s”.") % {"action": _("Pay now (or retry a failed payment)")}),
        ]
    if see_disputes:
        ok = counts["unswept"] == 0
        note = (
            _("OK: the deadline sweep is running.") if ok else
            _("The deadline sweep has not acted on these for more than %(minutes)s minutes: check that the Celery "
              "beat and worker are running.") % {"minutes": settings.SWEEP_GRACE_MINUTES})
        queues.append(Queue("unswept", _("Disputes past a deadline the sweep has not processed"),
                            counts["unswept"], dispute_queue_url("unswept"), note, ok))
    return queues
