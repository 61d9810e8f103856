"""What a dispute page says in words: whose move it is, what they must do, by when."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import User
from returns_portal.formatting import local_datetime
from returns_portal.labels import choice_label
from returns_portal.money import format_money

from .lifecycle import STEPS, Party, next_step_text, party_of
from .models import Dispute, DisputeEvent
from .rules.base import Outcome
from .rules.conditions import CONDITIONS_BY_CODE
from .rules.inspection import finding_text
from .services import expiry


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


# What a timeline entry adds in words when the system acted: the outcome of a passed deadline
# (the codes the expiry services record); the rules page says each step's outcomes with them.
OUTCOME_TEXTS = {
    expiry.INSTRUCTIONS_ISSUED: gettext_lazy(
        "A local return whose seller did not send return instructions within %(days)s days gets default "
        "instructions for the return warehouse in the buyer's country."),
    expiry.SELLER_TIMEOUT_REFUNDED: gettext_lazy(
        "The seller did not answer within %(days)s days, so the buyer is refunded the amount asked."),
    expiry.SELLER_TIMEOUT_ESCALATED: gettext_lazy(
        "The seller did not answer within %(days)s days; marketplace staff will decide."),
    expiry.NO_WAREHOUSE_ESCALATED: gettext_lazy(
        "The seller did not send return instructions within %(days)s days, and no return warehouse in the "
        "buyer's country takes returns any more; marketplace staff will decide."),
    expiry.BUYER_DID_NOT_SHIP: gettext_lazy(
        "The goods were not shipped within %(days)s days of the return instructions; the dispute is closed "
        "without a refund."),
    expiry.RECEIPT_TIMEOUT_REFUNDED: gettext_lazy(
        "The seller did not confirm receipt of the return within %(days)s days, so the buyer is refunded."),
    expiry.ANSWER_TIMEOUT_CLOSED: gettext_lazy(
        "The buyer neither accepted nor escalated within %(days)s days; the dispute is closed as rejected."),
    expiry.STAFF_OVERDUE_FLAGGED: gettext_lazy(
        "Marketplace staff did not decide within %(days)s days; the dispute is flagged overdue."),
}


def _buyer_name(dispute: Dispute) -> str:
    return dispute.buyer.get_full_name() or dispute.buyer.username


def acted_by(actor, dispute: Dispute, viewer: User | None) -> str:
    """Who did it, for the reader: "by you", the other party named, staff, or the system."""
    if actor is None:
        return _("automatically")
    if viewer is not None and actor.pk == viewer.pk:
        return _("by you")
    if actor.pk == dispute.buyer_id:
        return _("by %(name)s, the buyer") % {"name": _buyer_name(dispute)}
    if actor.store_id and actor.store_id == dispute.store_id:
        return _("by %(store)s, the seller") % {"store": dispute.store.name}
    return _("by marketplace staff")


def author_party(author, dispute: Dispute) -> str:
    """Which side wrote a message: "buyer", "seller" or "staff" (what it was written as, whatever
    the author's permissions are today)."""
    if author.pk == dispute.buyer_id:
        return "buyer"
    if author.store_id and author.store_id == dispute.store_id:
        return "seller"
    return "staff"


def author_name(author, dispute: Dispute, viewer: User | None) -> str:
    """Who wrote a message, for the reader."""
    if viewer is not None and author.pk == viewer.pk:
        return _("You")
    side = author_party(author, dispute)
    if side == "buyer":
        return _("%(name)s, the buyer") % {"name": _buyer_name(dispute)}
    if side == "seller":
        return _("%(store)s, the seller") % {"store": dispute.store.name}
    return _("Marketplace staff")


@dataclass(frozen=True)
class TimelineEntry:
    event: DisputeEvent
    note: str  # what happened, in words: the outcome of a deadline, a reason someone wrote, an RMA code
    by: str = ""  # who did it, for the reader
    what: str = ""  # the event's kind, in words
    change: tuple[str, str] | None = None  # (from, to) states in words, when the event moved the state


def _moment(value) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else None
    return local_datetime(moment) if moment else ""


def _reason_label(code) -> str:
    return str(Dispute.Reason(code).label) if code in Dispute.Reason.values else ""


def kept_state_note(kind: str, details: dict) -> str | None:
    """What a staff move that keeps the state says, from the details it recorded (None: not one)."""
    if kind == DisputeEvent.Kind.DEADLINE_EXTENDED:
        return _("Deadline moved from %(from)s to %(to)s. Reason: %(reason)s") % {
            "from": _moment(details.get("previous_deadline")), "to": _moment(details.get("deadline")),
            "reason": details.get("reason", "")}
    if kind == DisputeEvent.Kind.RECLASSIFIED:
        return _("Reason changed from “%(from)s” to “%(to)s”. Why: %(why)s") % {
            "from": _reason_label(details.get("from_reason")), "to": _reason_label(details.get("to_reason")),
            "why": details.get("why", "")}
    if kind == DisputeEvent.Kind.MANUAL_REFUND:
        return _("Refund of %(amount)s. Reason: %(reason)s") % {
            "amount": format_money(Decimal(details.get("amount", "0")), details.get("currency", "")),
            "reason": details.get("reason", "")}
    if kind == DisputeEvent.Kind.STAFF_NOTE:
        return str(details.get("note", ""))
    return None


def timeline(events: list[DisputeEvent], dispute: Dispute | None = None, viewer: User | None = None
             ) -> list[TimelineEntry]:
    """The timeline as people read it: codes stored in the events become sentences, and the
    actor is "you" or named. Staff-only entries (internal notes) are left out for a reader
    who is not staff; without a reader (the admin) they are kept."""
    hide_staff_only = viewer is not None and (dispute is None or party_of(dispute, viewer) != Party.STAFF)
    entries = []
    by_actor: dict[int | None, str] = {}  # "by you", "by <store>, the seller"...: once per person
    for event in events:
        if hide_staff_only and event.kind in DisputeEvent.STAFF_ONLY_KINDS:
            continue
        details = event.details or {}
        if details.get("outcome") in OUTCOME_TEXTS:
            note = str(OUTCOME_TEXTS[details["outcome"]]) % {"days": details.get("days", "")}
        elif event.kind == DisputeEvent.Kind.OPENED:
            # The reason is stored as its code; people read its label.
            note = _reason_label(details.get("reason"))
        elif (kept := kept_state_note(event.kind, details)) is not None:
            note = kept
        elif event.kind == DisputeEvent.Kind.INSTRUCTIONS_SENT:
            note = _("RMA code %(rma)s.") % {"rma": details.get("rma_code", "")}
            if event.actor_id is None:
                note = "%s %s" % (_("Issued automatically because the seller did not answer in time."), note)
        else:
            note = str(details.get("reason", ""))
        by = ""
        if dispute is not None:
            if event.actor_id not in by_actor:
                by_actor[event.actor_id] = acted_by(event.actor, dispute, viewer)
            by = by_actor[event.actor_id]
        moved = event.from_state and event.to_state and event.from_state != event.to_state
        change = (choice_label(Dispute.State, event.from_state), choice_label(Dispute.State, event.to_state)
                  ) if moved else None
        entries.append(TimelineEntry(event, note, by, choice_label(DisputeEvent.Kind, event.kind), change))
    return entries


def thread(messages, dispute: Dispute, viewer: User | None) -> list[tuple]:
    """Each message with its author's name for the reader (named once per author)."""
    names: dict[int, str] = {}
    rows = []
    for message in messages:
        if message.author_id not in names:
            names[message.author_id] = author_name(message.author, dispute, viewer)
        rows.append((message, names[message.author_id]))
    return rows


@dataclass(frozen=True)
class Finding:
    text: str
    failed: bool  # a failed condition; else something marketplace staff decide
    code: str = ""  # for machines (the browser tests read it), never shown
    outcome: str = ""


def inspection_findings(inspection) -> list[Finding]:
    """Each condition that did not pass, as a sentence in the reader's language (never its code)."""
    if inspection is None:
        return []
    return [Finding(finding_text(f["code"], f["outcome"], (inspection.notes or {}).get(f["code"], "")),
                    f["outcome"] == Outcome.FAIL, f["code"], f["outcome"])
            for f in inspection.findings if f.get("code") in CONDITIONS_BY_CODE]
