"""What happens when a deadline passes (DESIGN §3), and the reminders before it.

Each expiring step of the lifecycle names its outcome (``Step.expiry``); ``OUTCOMES`` maps
that name to the batch service below. The sweep locks a batch of due disputes and hands
it over; the outcome goes through the same batch services a person's click uses
(``transition_many``, ``instructions_issue_many``, ``refund_decide_many``, ``tell``), so it
looks the same to the buyer whoever caused it. Every move re-checks the state and that
the deadline passed, so a batch applied twice, or raced by a person, has one effect.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from notifications.services import Draft, notify_many

from ..lifecycle import REMINDED, STEPS, Party, Track, deadline_days, track_of
from ..models import Dispute, DisputeEvent
from webhooks import outbox

from ._base import BUYER, SELLER, Change, record_events, staff_with, tell, transition_many
from .answers import default_instructions_many, instructions_issue_many
from .refunds import RefundDecision, refund_decide_many

S = Dispute.State

# What the sweep reports (and the timeline records as the outcome of a passed deadline).
INSTRUCTIONS_ISSUED = "instructions_issued"
SELLER_TIMEOUT_REFUNDED = "seller_timeout_refunded"
SELLER_TIMEOUT_ESCALATED = "seller_timeout_escalated"
NO_WAREHOUSE_ESCALATED = "no_warehouse_escalated"  # reported as seller_timeout_escalated
BUYER_DID_NOT_SHIP = "buyer_did_not_ship"
RECEIPT_TIMEOUT_REFUNDED = "receipt_timeout_refunded"
ANSWER_TIMEOUT_CLOSED = "answer_timeout_closed"
STAFF_OVERDUE_FLAGGED = "staff_overdue_flagged"
REMINDERS_SENT = "reminders_sent"
REPORTED = (INSTRUCTIONS_ISSUED, SELLER_TIMEOUT_REFUNDED, SELLER_TIMEOUT_ESCALATED, BUYER_DID_NOT_SHIP,
            RECEIPT_TIMEOUT_REFUNDED, ANSWER_TIMEOUT_CLOSED, STAFF_OVERDUE_FLAGGED, REMINDERS_SENT)


@dataclass(frozen=True)
class Outcome:
    apply: Callable[[Sequence[Dispute], datetime], Counter]
    # Beyond "the deadline passed": which due disputes still need the outcome (one that
    # leaves the state as it is must not be applied again).
    pending: Q | None = None
    # What it may record (the codes above), under the settings in force: the rules page
    # says them in words (``presentation.OUTCOME_TEXTS``).
    results: Callable[[], tuple[str, ...]] = tuple


def _expire(disputes: Sequence[Dispute], *, move: str, now: datetime, outcome: str) -> list[Dispute]:
    """``move`` on the disputes whose deadline really passed, each timeline entry naming the outcome."""
    changes = [Change(d, {"outcome": outcome, "days": deadline_days(d.state),
                          "deadline": d.deadline_at.isoformat()}) for d in disputes]
    return [change.dispute for change in transition_many(changes, move=move, now=now, due_by=now)]


def _refund_asked(disputes: Sequence[Dispute], reason: str) -> None:
    refund_decide_many([RefundDecision(d, d.amount, None, reason) for d in disputes])


def _amounts(disputes: Sequence[Dispute], days: int) -> list[tuple[Dispute, dict]]:
    return [(d, {"amount": str(d.amount), "currency": d.currency, "days": days}) for d in disputes]


def seller_timeout_many(disputes: Sequence[Dispute], now: datetime) -> Counter:
    """The seller did not answer: a local return gets default instructions for the return
    warehouse in the buyer's country (staff decide when none takes returns any more);
    another dispute is refunded the amount asked, or escalated (SELLER_TIMEOUT_POLICY)."""
    counts: Counter = Counter()
    days = settings.SELLER_RESPONSE_DAYS
    local = [d for d in disputes if track_of(d) == Track.LOCAL_RETURN]
    others = [d for d in disputes if track_of(d) != Track.LOCAL_RETURN]
    defaults = default_instructions_many(local)
    issued = instructions_issue_many([(d, defaults[d.pk]) for d in local if defaults[d.pk] is not None],
                                     move="expire_seller_instructions", actor=None, now=now, due_by=now)
    counts[INSTRUCTIONS_ISSUED] += len(issued)

    escalated = _expire([d for d in local if defaults[d.pk] is None], move="expire_seller_escalate", now=now,
                        outcome=NO_WAREHOUSE_ESCALATED)
    tell([(d, {"days": days}) for d in escalated],
         {BUYER: "disputes.no_warehouse_escalated.buyer", SELLER: "disputes.no_warehouse_escalated.seller"})
    if settings.SELLER_TIMEOUT_POLICY == "escalate":
        by_policy = _expire(others, move="expire_seller_escalate", now=now, outcome=SELLER_TIMEOUT_ESCALATED)
        tell([(d, {"days": days}) for d in by_policy],
             {BUYER: "disputes.seller_timeout_escalated.buyer", SELLER: "disputes.seller_timeout_escalated.seller"})
        escalated += by_policy
    else:
        refunded = _expire(others, move="expire_seller_refund", now=now, outcome=SELLER_TIMEOUT_REFUNDED)
        _refund_asked(refunded, _("The seller did not answer in time."))
        tell(_amounts(refunded, days),
             {BUYER: "disputes.seller_timeout_refunded.buyer", SELLER: "disputes.seller_timeout_refunded.seller"})
        counts[SELLER_TIMEOUT_REFUNDED] += len(refunded)
    counts[SELLER_TIMEOUT_ESCALATED] += len(escalated)
    _tell_staff_of_escalations(len(escalated))
    return counts


def _tell_staff_of_escalations(count: int) -> None:
    """One summary per batch to the staff who decide, not one notification per dispute."""
    if count:
        url = reverse("admin:disputes_dispute_changelist") + "?state__exact=escalated"
        notify_many([Draft(pk, "disputes.sweep_escalated.staff", {"count": count}, url)
                     for pk in staff_with("decide_dispute")])


def buyer_did_not_ship_many(disputes: Sequence[Dispute], now: datetime) -> Counter:
    closed = _expire(disputes, move="expire_shipment", now=now, outcome=BUYER_DID_NOT_SHIP)
    tell([(d, {"days": settings.BUYER_SHIP_DAYS}) for d in closed], 
         dict.fromkeys((BUYER, SELLER), "disputes.buyer_did_not_ship"))
    return Counter({BUYER_DID_NOT_SHIP: len(closed)})


def receipt_timeout_many(disputes: Sequence[Dispute], now: datetime) -> Counter:
    refunded = _expire(disputes, move="expire_receipt", now=now, outcome=RECEIPT_TIMEOUT_REFUNDED)
    _refund_asked(refunded, _("The seller did not confirm receipt of the return in time."))
    tell(_amounts(refunded, settings.SELLER_RECEIPT_DAYS), 
         dict.fromkeys((BUYER, SELLER), "disputes.receipt_timeout_refunded"))
    return Counter({RECEIPT_TIMEOUT_REFUNDED: len(refunded)})


def answer_timeout_many(disputes: Sequence[Dispute], now: datetime) -> Counter:
    closed = _expire(disputes, move="expire_buyer_answer", now=now, outcome=ANSWER_TIMEOUT_CLOSED)
    tell([(d, {"days": settings.ESCALATION_DAYS}) for d in closed], 
         dict.fromkeys((BUYER, SELLER), "disputes.answer_timeout_closed"))
    return Counter({ANSWER_TIMEOUT_CLOSED: len(closed)})


# A flag set before the current deadline belongs to an earlier escalation (the buyer
# withdrew, reopened and escalated again): the new staff deadline gets its own flag.
NOT_FLAGGED_FOR_THIS_DEADLINE = Q(overdue_flagged_at__isnull=True) | Q(overdue_flagged_at__lt=F("deadline_at"))


def staff_overdue_many(disputes: Sequence[Dispute], now: datetime) -> Counter:
    """Staff missed their decision deadline: the dispute stays with them, flagged overdue once."""
    ids = [d.pk for d in disputes]
    Dispute.objects.filter(NOT_FLAGGED_FOR_THIS_DEADLINE, pk__in=ids, state=S.ESCALATED,
                           deadline_at__lte=now).update(overdue_flagged_at=now, updated_at=now)
    flagged = set(Dispute.objects.filter(pk__in=ids, overdue_flagged_at=now).values_list("pk", flat=True))
    record_events([
        DisputeEvent(dispute_id=d.pk, actor=None, kind=DisputeEvent.Kind.STAFF_OVERDUE, from_state=S.ESCALATED,
                     to_state=S.ESCALATED, created_at=now,
                     details={"outcome": STAFF_OVERDUE_FLAGGED, "days": settings.STAFF_DECISION_DAYS,
                              "deadline": d.deadline_at.isoformat()})
        for d in disputes if d.pk in flagged])
    return Counter({STAFF_OVERDUE_FLAGGED: len(flagged)})


def _seller_timeout_results() -> tuple[str, ...]:
    by_policy = SELLER_TIMEOUT_ESCALATED if settings.SELLER_TIMEOUT_POLICY == "escalate" else SELLER_TIMEOUT_REFUNDED
    return INSTRUCTIONS_ISSUED, NO_WAREHOUSE_ESCALATED, by_policy


OUTCOMES: dict[str, Outcome] = {
    "seller_timeout": Outcome(seller_timeout_many, results=_seller_timeout_results),
    "buyer_did_not_ship": Outcome(buyer_did_not_ship_many, results=lambda: (BUYER_DID_NOT_SHIP,)),
    "receipt_timeout": Outcome(receipt_timeout_many, results=lambda: (RECEIPT_TIMEOUT_REFUNDED,)),
    "answer_timeout": Outcome(answer_timeout_many, results=lambda: (ANSWER_TIMEOUT_CLOSED,)),
    "staff_overdue": Outcome(staff_overdue_many, pending=NOT_FLAGGED_FOR_THIS_DEADLINE,
                             results=lambda: (STAFF_OVERDUE_FLAGGED,)),
}


# --- reminders ------------------------------------------------------------------------------------


def reminders_due(now: datetime) -> Q:
    """Disputes whose person on the clock is due within REMINDER_HOURS and not yet reminded
    of this deadline."""
    return (Q(state__in=[step.state for step in REMINDED],
              deadline_at__gt=now, deadline_at__lte=now + timedelta(hours=settings.REMINDER_HOURS))
            & ~Q(reminded_deadline_at=F("deadline_at")))


def reminders_send_many(disputes: Sequence[Dispute], now: datetime) -> Counter:
    """Remind whoever must act (the buyer or the store), once per deadline."""
    ids = [d.pk for d in disputes]
    # Claim: only rows whose deadline is still the one we remind about, and not yet reminded.
    Dispute.objects.filter(pk__in=ids, deadline_at__gt=now).exclude(
        reminded_deadline_at=F("deadline_at")).update(reminded_deadline_at=F("deadline_at"))
    claimed = {pk for pk, deadline, reminded in
               Dispute.objects.filter(pk__in=ids).values_list("pk", "deadline_at", "reminded_deadline_at")
               if reminded is not None and reminded == deadline}
    due = [d for d in disputes if d.pk in claimed]
    outbox.reminders_sent(due, now)
    for party, audience in ((Party.BUYER, BUYER), (Party.SELLER, SELLER)):
        tell([(d, {"deadline": d.deadline_at.isoformat()}) for d in due if STEPS[d.state].who == party],
             {audience: "disputes.reminder"})
    return Counter({REMINDERS_SENT: len(due)})
