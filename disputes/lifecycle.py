"""The dispute lifecycle of DESIGN §3, written once.

``STEPS`` is the table: for each state, who must act, which deadline setting runs, what
happens when it passes, the moves each party may make from it and what the page says
the next step is. Everything else is derived from it: the transition table the services
check (``MOVES``), the deadline sweep's work list (``EXPIRING``), reminders, the seller
desk's "needs your action" filter, the action forms of the dispute page and the admin's
staff actions, withdraw and reopen availability, and the API's allowed actions.

Some moves keep the state (``STAY``): a staff note, an extended deadline, a reclassified
reason, a manual refund, approving or paying a refund on a dispute that has ended. They are
moves all the same: checked by ``authorize``, offered by ``allowed_actions``, recorded with
``from_state == to_state``.

Adding a deadline is one ``Step`` (with its ``expiry`` key) plus its outcome service in
``services/expiry.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from returns_portal.errors import DomainError, ErrorCode
from returns_portal.formatting import local_datetime
from returns_portal.money import format_money

from .models import Dispute, DisputeEvent, Refund

S = Dispute.State
R = Dispute.Resolution
E = DisputeEvent.Kind


class Party(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    STAFF = "staff"
    SYSTEM = "system"  # the deadline sweep and the payment step


class Track(StrEnum):
    """What kind of dispute, as far as the lifecycle cares."""

    LOCAL_RETURN = "local_return"
    INTERNATIONAL_RETURN = "international_return"
    REFUND_ONLY = "refund_only"


ALL_TRACKS = frozenset(Track)
RETURNS = frozenset({Track.LOCAL_RETURN, Track.INTERNATIONAL_RETURN})
NOT_LOCAL = frozenset({Track.INTERNATIONAL_RETURN, Track.REFUND_ONLY})

# A reopened dispute resumes the step it was withdrawn from (DESIGN §3).
RESUME = "resume"
# A move that keeps the state: its deadline runs on (unless the move sets it), nothing ends.
STAY = "stay"


def track_of(dispute: Dispute) -> Track:
    if dispute.kind == Dispute.Kind.REFUND_ONLY:
        return Track.REFUND_ONLY
    return Track.LOCAL_RETURN if dispute.route == Dispute.Route.LOCAL else Track.INTERNATIONAL_RETURN


@dataclass(frozen=True)
class Move:
    """One transition: ``action`` is what a party does (the form's and the API's verb);
    ``name`` tells its outcomes apart where one action has several (an inspection may
    accept, reject or pass the goods to staff)."""

    name: str
    by: Party
    target: str
    event: str  # the timeline entry it writes
    action: str = ""
    tracks: frozenset[Track] = ALL_TRACKS
    # Said when the action exists in this state but not for this kind of dispute.
    wrong_track: Promise | None = None
    # Said when the dispute is in a state the move does not start from (else the state is named).
    wrong_state: Promise | None = None
    # The resolution a move into a terminal state records.
    resolution: str = ""
    # A further condition (see ``GUARDS``) that may refuse with a reason in words.
    guard: str = ""
    # A permission the acting staff member needs, beyond seeing and changing disputes.
    permission: str = ""

    @property
    def verb(self) -> str:
        return self.action or self.name


@dataclass(frozen=True)
class NextStep:
    """What the page says: for the party who must act ("you") and for everyone else."""

    you: Promise
    others: Promise


@dataclass(frozen=True)
class Step:
    state: str
    who: Party | None  # who must act now; None once the dispute has ended
    deadline: str = ""  # the setting (days) of this step's deadline
    expiry: str = ""  # the outcome service run when the deadline passes (services/expiry.py)
    moves: tuple[Move, ...] = ()
    next_step: dict[Track | None, NextStep] = field(default_factory=dict)

    def next_step_for(self, track: Track) -> NextStep | None:
        return self.next_step.get(track) or self.next_step.get(None)


_LOCAL_NEEDS_NO_PROOF = gettext_lazy(
    "A local return needs no proof: send return instructions; the goods are checked when they arrive.")
_ONLY_FOR_RETURNS = gettext_lazy("Return instructions are only for returns.")


def _withdraw() -> Move:
    return Move("withdraw", Party.BUYER, S.CLOSED, E.WITHDRAWN, resolution=R.WITHDRAWN, guard="goods_not_sent_back")


def _escalate() -> Move:
    return Move("escalate", Party.BUYER, S.ESCALATED, E.ESCALATED)


def _answer_timeout() -> Move:
    return Move("expire_buyer_answer", Party.SYSTEM, S.CLOSED, E.DEADLINE_PASSED, resolution=R.REJECTED)


def _approve_refund() -> Move:
    # Four eyes (DESIGN §4): a large refund staff decide waits for a second staff member;
    # a manual refund on an ended dispute too, and the dispute stays ended.
    return Move("approve_refund", Party.STAFF, STAY, E.REFUND_APPROVED, permission="disputes.pay_refund",
                guard="refund_awaits_approval")


def _manual_refund() -> Move:
    # A goodwill or after-the-fact refund; an open dispute's refund comes with its decision.
    return Move("manual_refund", Party.STAFF, STAY, E.MANUAL_REFUND, permission="disputes.issue_manual_refund",
                guard="refundable_left", wrong_state=_DECIDE_OPEN_DISPUTES)


_DECIDE_OPEN_DISPUTES = gettext_lazy(
    "This dispute is still open: its refund comes with its decision (the seller's answer, the inspection or a "
    "staff decision). A manual refund is for a dispute that has ended.")


def _staff_and_payment_moves(step: Step) -> Step:
    """Moves every step takes by what it is, keeping the state: staff write an internal note
    anywhere, reclassify the buyer's reason while the dispute is open, extend the deadline
    where one runs; a refund other than the dispute's own decision (a manual refund) is
    paid without moving it."""
    moves = [*step.moves, Move("staff_note", Party.STAFF, STAY, E.STAFF_NOTE)]
    if step.who is not None:
        moves.append(Move("reclassify", Party.STAFF, STAY, E.RECLASSIFIED))
    if step.deadline:
        moves.append(Move("extend_deadline", Party.STAFF, STAY, E.DEADLINE_EXTENDED, guard="on_the_clock"))
    moves.append(Move("manual_refund_paid", Party.SYSTEM, STAY, E.REFUND_PAID))
    return replace(step, moves=tuple(moves))


_BUYER_ANSWERS = NextStep(gettext_lazy("Accept the seller's answer or escalate to the marketplace."),
                          gettext_lazy("The buyer must accept the seller's answer or escalate to the marketplace."))

STEPS: dict[str, Step] = {step.state: _staff_and_payment_moves(step) for step in (
    Step(
        S.AWAITING_SELLER, Party.SELLER, deadline="SELLER_RESPONSE_DAYS", expiry="seller_timeout",
        moves=(
            Move("send_instructions", Party.SELLER, S.AWAITING_BUYER_SHIPMENT, E.INSTRUCTIONS_SENT, tracks=RETURNS,
                 wrong_track=_ONLY_FOR_RETURNS),
            Move("accept", Party.SELLER, S.REFUND_PENDING, E.ACCEPTED, tracks=NOT_LOCAL, wrong_track=_LOCAL_NEEDS_NO_PROOF),
            Move("counter_offer", Party.SELLER, S.COUNTER_OFFERED, E.COUNTER_OFFERED, tracks=NOT_LOCAL,
                 wrong_track=_LOCAL_NEEDS_NO_PROOF),
            Move("reject", Party.SELLER, S.REJECTED, E.REJECTED, tracks=NOT_LOCAL, wrong_track=_LOCAL_NEEDS_NO_PROOF),
            _withdraw(),
            # The deadline passed: default instructions (local return), else the refund policy.
            Move("expire_seller_instructions", Party.SYSTEM, S.AWAITING_BUYER_SHIPMENT, E.INSTRUCTIONS_SENT, tracks=RETURNS),
            Move("expire_seller_refund", Party.SYSTEM, S.REFUND_PENDING, E.DEADLINE_PASSED, tracks=NOT_LOCAL),
            Move("expire_seller_escalate", Party.SYSTEM, S.ESCALATED, E.DEADLINE_PASSED),
        ),
        next_step={
            Track.LOCAL_RETURN: NextStep(
                gettext_lazy("Send return instructions: where, how, and by when."),
                gettext_lazy("The seller must send return instructions (where, how, and by when).")),
            Track.INTERNATIONAL_RETURN: NextStep(
                gettext_lazy("Send return instructions, or accept, make a counter-offer or reject."),
                gettext_lazy("The seller must send return instructions, or accept, make a counter-offer or "
                             "reject.")),
            Track.REFUND_ONLY: NextStep(
                gettext_lazy("Accept, make a counter-offer or reject."),
                gettext_lazy("The seller must accept, make a counter-offer or reject.")),
        },
    ),
    Step(
        S.AWAITING_BUYER_SHIPMENT, Party.BUYER, deadline="BUYER_SHIP_DAYS", expiry="buyer_did_not_ship",
        moves=(
            Move("ship", Party.BUYER, S.RETURN_IN_TRANSIT, E.SHIPPED),
            _withdraw(),
            Move("expire_shipment", Party.SYSTEM, S.CLOSED, E.DEADLINE_PASSED, resolution=R.BUYER_TIMEOUT),
        ),
        next_step={None: NextStep(
            gettext_lazy("Ship the goods as instructed and enter the tracking number."),
            gettext_lazy("The buyer must ship the goods and enter the tracking number."))},
    ),
    Step(
        S.RETURN_IN_TRANSIT, Party.SELLER, deadline="SELLER_RECEIPT_DAYS", expiry="receipt_timeout",
        moves=(
            Move("inspect_accept", Party.SELLER, S.REFUND_PENDING, E.INSPECTED, action="inspect"),
            Move("inspect_reject", Party.SELLER, S.REJECTED, E.INSPECTED, action="inspect"),
            Move("inspect_review", Party.SELLER, S.ESCALATED, E.INSPECTED, action="inspect"),
            _withdraw(),  # listed so the buyer is told why not: the goods are on their way back
            Move("expire_receipt", Party.SYSTEM, S.REFUND_PENDING, E.DEADLINE_PASSED),
        ),
        next_step={None: NextStep(
            gettext_lazy("Confirm receipt and inspect the goods against the return conditions."),
            gettext_lazy("The seller must confirm receipt and inspect the goods."))},
    ),
    Step(
        S.COUNTER_OFFERED, Party.BUYER, deadline="ESCALATION_DAYS", expiry="answer_timeout",
        moves=(Move("accept_offer", Party.BUYER, S.REFUND_PENDING, E.OFFER_ACCEPTED), _escalate(), _withdraw(), _answer_timeout()),
        next_step={None: _BUYER_ANSWERS},
    ),
    Step(
        S.REJECTED, Party.BUYER, deadline="ESCALATION_DAYS", expiry="answer_timeout",
        moves=(Move("accept_rejection", Party.BUYER, S.CLOSED, E.REJECTION_ACCEPTED, resolution=R.REJECTED), _escalate(), _withdraw(),
               _answer_timeout()),
        next_step={None: _BUYER_ANSWERS},
    ),
    Step(
        S.ESCALATED, Party.STAFF, deadline="STAFF_DECISION_DAYS", expiry="staff_overdue",
        moves=(
            Move("staff_refund", Party.STAFF, S.REFUND_PENDING, E.STAFF_DECIDED, action="decide", permission="disputes.decide_dispute"),
            Move("staff_reject", Party.STAFF, S.CLOSED, E.STAFF_DECIDED, action="decide", resolution=R.REJECTED,
                 permission="disputes.decide_dispute"),
            _withdraw(),
        ),
        next_step={None: NextStep(gettext_lazy("Marketplace staff are reviewing the dispute and will decide."),
                                  gettext_lazy("Marketplace staff are reviewing the dispute and will decide."))},
    ),
    Step(
        S.REFUND_PENDING, Party.SYSTEM,
        moves=(
            _approve_refund(),
            Move("refund_paid", Party.SYSTEM, S.REFUNDED, E.REFUND_PAID, resolution=R.REFUNDED),
        ),
        next_step={None: NextStep(gettext_lazy("The refund is being paid."),
                                  gettext_lazy("The refund is being paid."))},
    ),
    Step(S.REFUNDED, None, moves=(_manual_refund(), _approve_refund())),
    Step(S.CLOSED, None, moves=(Move("reopen", Party.BUYER, RESUME, E.REOPENED, guard="reopenable"), _manual_refund(),
                                _approve_refund())),
)}

# --- derived -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """A move with every state it may start from (the services' check)."""

    move: Move
    sources: frozenset[str]

    @property
    def name(self) -> str:
        return self.move.name

    @property
    def target(self) -> str:
        return self.move.target


def _transitions() -> dict[str, Transition]:
    moves: dict[str, Move] = {}
    sources: dict[str, set[str]] = {}
    for step in STEPS.values():
        for move in step.moves:
            if moves.setdefault(move.name, move) != move:
                raise ValueError(f"Move {move.name!r} is defined twice with different rules.")
            sources.setdefault(move.name, set()).add(step.state)
    return {name: Transition(move, frozenset(sources[name])) for name, move in moves.items()}


MOVES: dict[str, Transition] = _transitions()
OPEN_STATES = frozenset(state for state, step in STEPS.items() if step.who is not None)
TERMINAL_STATES = frozenset(STEPS) - OPEN_STATES
# The model states them too, for the database's one-open-dispute-per-line constraint.
if TERMINAL_STATES != Dispute.TERMINAL_STATES:  # checked at import, also under python -O
    raise ImproperlyConfigured("The lifecycle and the model disagree on how disputes end.")
# Steps whose deadline has an outcome, in the order the sweep runs them.
EXPIRING: tuple[Step, ...] = tuple(step for step in STEPS.values() if step.deadline and step.expiry)
# Steps where a person is on the clock: they are reminded before the deadline.
REMINDED: tuple[Step, ...] = tuple(step for step in EXPIRING if step.who in (Party.BUYER, Party.SELLER))


def states_where(party: Party) -> frozenset[str]:
    """States in which ``party`` must act (the seller desk's "needs your action")."""
    return frozenset(state for state, step in STEPS.items() if step.who == party)


def deadline_days(state: str) -> int | None:
    step = STEPS[state]
    return getattr(settings, step.deadline) if step.deadline else None


def deadline_for(state: str, now: datetime) -> datetime | None:
    """The deadline a dispute gets when it enters ``state`` at ``now`` (None: nobody is on the clock)."""
    days = deadline_days(state)
    return None if days is None else now + timedelta(days=days)


# --- who is asking ---------------------------------------------------------------------------------


def party_of(dispute: Dispute, user) -> Party | None:
    """The buyer who opened it, a member of the store that sold it, or marketplace staff
    allowed to work on disputes. The staff flag alone grants nothing (DESIGN §5)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.pk == dispute.buyer_id:
        return Party.BUYER
    if user.store_id and user.store_id == dispute.store_id:
        return Party.SELLER
    if user.is_staff and user.has_perm("disputes.change_dispute"):
        return Party.STAFF
    return None


# --- guards: conditions beyond the state, each with its reason in words -----------------------------
# Each is called with the dispute, the moment and the person asking (None: the system), and
# returns None, the reason (the move does not fit now), or a DomainError of its own.


def _goods_not_sent_back(dispute: Dispute, now: datetime, user) -> str | None:
    # After a rejected or unclear inspection the goods are back with the seller: the buyer
    # accepts or escalates; a withdrawal could be reopened into a second return of them.
    if getattr(dispute, "shipment", None) is not None:
        return _("The goods were sent back to the seller, so this dispute can no longer be withdrawn.")
    return None


def _reopenable(dispute: Dispute, now: datetime, user) -> str | None:
    if dispute.resolution != R.WITHDRAWN:
        return ending_text(dispute)
    if dispute.reopened_at is not None:
        return _("You already reopened this dispute once, on %(date)s; it cannot be reopened again.") % {
            "date": local_datetime(dispute.reopened_at)}
    ends = dispute.order_line.order.protection_ends_at
    if ends is None or now >= ends:
        return _("Buyer protection for this order ended on %(date)s, so this dispute can no longer be reopened.") % {
            "date": local_datetime(ends) if ends else "—"}
    return None


def _refund_awaits_approval(dispute: Dispute, now: datetime, user) -> str | DomainError | None:
    waiting = Refund.objects.filter(dispute=dispute, status=Refund.Status.AWAITING_APPROVAL)
    if not waiting.exists():
        return _("No refund of this dispute is waiting for approval.")
    if user is not None and not waiting.exclude(decided_by=user).exists():
        return DomainError(ErrorCode.NOT_ALLOWED, _("You decided this refund; another staff member must approve it."))
    return None


def _on_the_clock(dispute: Dispute, now: datetime, user) -> str | None:
    if dispute.deadline_at is None:
        return _("Nobody is on the clock in this dispute, so there is no deadline to extend.")
    return None


def _refundable_left(dispute: Dispute, now: datetime, user) -> str | None:
    line = dispute.order_line
    if Refund.objects.refundable_left([line])[line.pk] <= 0:
        return _("Nothing is left to refund on this item: all of the %(paid)s paid is refunded or being "
                 "refunded.") % {"paid": format_money(line.line_total, dispute.currency)}
    return None


GUARDS = {
    "goods_not_sent_back": _goods_not_sent_back,
    "reopenable": _reopenable,
    "refund_awaits_approval": _refund_awaits_approval,
    "on_the_clock": _on_the_clock,
    "refundable_left": _refundable_left,
}


_ENDINGS = {
    R.REFUNDED: gettext_lazy("This dispute ended on %(date)s with a refund."),
    R.REJECTED: gettext_lazy("This dispute was closed as rejected on %(date)s."),
    R.BUYER_TIMEOUT: gettext_lazy("This dispute closed on %(date)s because the goods were not shipped in time."),
}


def ending_text(dispute: Dispute) -> str:
    """Why an ended dispute stays ended, with the date (DESIGN §3: every ending but a
    withdrawal is final for the line)."""
    date = local_datetime(dispute.closed_at) if dispute.closed_at else "—"
    if dispute.resolution == R.WITHDRAWN:
        return _("You withdrew this dispute on %(date)s.") % {"date": date}
    ended = _ENDINGS.get(dispute.resolution, gettext_lazy("This dispute ended on %(date)s."))
    return "%s %s" % (ended % {"date": date}, _("That is final: no new dispute can be opened on this item."))


# --- what may be done now ---------------------------------------------------------------------------


def refusal(dispute: Dispute, move_name: str, party: Party | None, *, user=None,
            now: datetime | None = None) -> DomainError | None:
    """Why ``party`` may not make ``move_name`` on ``dispute`` now, or None when it may.
    Checked in this order: the party, the state, the kind of dispute, the permission, the guard."""
    transition = MOVES[move_name]
    move = transition.move
    if party != move.by and not (move.by == Party.SYSTEM and party is None):
        return DomainError(ErrorCode.NOT_ALLOWED, _party_refusal(move.by))
    if dispute.state not in transition.sources:
        if move.wrong_state:
            return DomainError(ErrorCode.INVALID_TRANSITION, str(move.wrong_state))
        return DomainError(ErrorCode.INVALID_TRANSITION,
                           _("This dispute is “%(state)s”, so this cannot be done now.")
                           % {"state": dispute.get_state_display()})
    if track_of(dispute) not in move.tracks:
        return DomainError(ErrorCode.INVALID_TRANSITION,
                           str(move.wrong_track or _("This cannot be done on this kind of dispute.")))
    if move.permission and (user is None or not user.has_perm(move.permission)):
        return DomainError(ErrorCode.NOT_ALLOWED, _("You may not do this."))
    if move.guard:
        reason = GUARDS[move.guard](dispute, now or timezone.now(), user)
        if isinstance(reason, DomainError):
            return reason
        if reason:
            return DomainError(ErrorCode.INVALID_TRANSITION, reason)
    return None


def _party_refusal(party: Party) -> str:
    if party == Party.BUYER:
        return _("Only the buyer who opened this dispute can do this.")
    if party == Party.SELLER:
        return _("Only the store that sold this item can do this.")
    if party == Party.STAFF:
        return _("Only marketplace staff can do this.")
    return _("Only the system does this, when a deadline passes or a refund is paid.")


def authorize(dispute: Dispute, move_name: str, party: Party | None, *, user=None, now=None) -> None:
    error = refusal(dispute, move_name, party, user=user, now=now)
    if error is not None:
        raise error


def allowed_actions(dispute: Dispute, user) -> dict[str, list[str]]:
    """The actions ``user`` may take on ``dispute`` now: action verb → the moves it may lead to.
    The page shows a form for each; the API lists them."""
    party = party_of(dispute, user)
    if party is None:
        return {}
    now = timezone.now()
    actions: dict[str, list[str]] = {}
    for move in STEPS[dispute.state].moves:
        if move.by == party and refusal(dispute, move.name, party, user=user, now=now) is None:
            actions.setdefault(move.verb, []).append(move.name)
    return actions


# How an ended dispute reads: to the buyer ("you") and to everyone else, by its resolution.
ENDED: dict[str, NextStep] = {
    R.REFUNDED: NextStep(gettext_lazy("You were refunded. The dispute is settled."),
                         gettext_lazy("The buyer was refunded. The dispute is settled.")),
    R.WITHDRAWN: NextStep(gettext_lazy("You withdrew the dispute. It is closed without a refund, not settled."),
                          gettext_lazy("The buyer withdrew the dispute. It is closed without a refund, not settled.")),
    R.REJECTED: NextStep(gettext_lazy("The dispute is closed as rejected, without a refund."),
                         gettext_lazy("The dispute is closed as rejected, without a refund.")),
    R.BUYER_TIMEOUT: NextStep(
        gettext_lazy("The dispute is closed without a refund: you did not ship the goods in time."),
        gettext_lazy("The dispute is closed without a refund: the buyer did not ship the goods in time.")),
}


def next_step_text(dispute: Dispute, party: Party | None) -> str:
    """What happens next, for ``party``: "you" for the party who must act (for the buyer, once
    the dispute has ended), the third person for everyone else."""
    step = STEPS[dispute.state]
    texts = step.next_step_for(track_of(dispute))
    if texts is not None:
        return str(texts.you if party is not None and party == step.who else texts.others)
    ended = ENDED.get(dispute.resolution)
    if ended is None:
        return _("The dispute is closed.")
    return str(ended.you if party == Party.BUYER else ended.others)
