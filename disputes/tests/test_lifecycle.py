"""The lifecycle table (``disputes/lifecycle.py``, DESIGN §3) against the services.

1. The walk: every state (reached through the services, on each track it can be reached
   on) × every kind of person × every person-facing action. Whether an action is allowed
   is read from the table (``allowed_actions``), never from a list written here; the
   matching service is then called with valid data. Allowed: it succeeds and the dispute
   is in the move's target state (for a reopening: the state it was withdrawn from; for a
   move that keeps the state, the same state, resolution and deadline, except the deadline
   an extension sets), with the resolution, deadline and timeline entry the table implies. Not allowed: a
   ``DomainError`` with a plain message, not one write sent to the database, the rows
   counted the same and the dispute's row unchanged. Each action is tried in a savepoint
   that is rolled back, so each state is built once per test and walked by everyone.
2. The table's consistency with the settings, the outcomes, the model, the seller desk
   and the reminders.
3. Endings: reopening resumes the step it was withdrawn from with a fresh deadline, once,
   while buyer protection lasts; a withdrawn line gets no second dispute.
"""
import re
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.models import Warehouse
from disputes import selectors
from disputes.lifecycle import (
    EXPIRING,
    MOVES,
    OPEN_STATES,
    RESUME,
    STAY,
    STEPS,
    TERMINAL_STATES,
    Party,
    Track,
    allowed_actions,
    deadline_for,
    track_of,
)
from disputes.models import (
    Dispute,
    DisputeAttachment,
    DisputeEvent,
    DisputeMessage,
    Inspection,
    Refund,
    ReturnInstructions,
    ReturnShipment,
)
from disputes.services import (
    NotEligible,
    dispute_accept,
    dispute_accept_offer,
    dispute_accept_rejection,
    dispute_add_note,
    dispute_counter_offer,
    dispute_escalate,
    dispute_extend_deadline,
    dispute_inspect,
    dispute_open,
    dispute_reclassify,
    dispute_reject,
    dispute_reopen,
    dispute_send_instructions,
    dispute_ship,
    dispute_staff_decide,
    dispute_withdraw,
    refund_approve,
    refund_issue_manual,
    refund_pay,
)
from disputes.services.expiry import OUTCOMES
from disputes.services.staff import REFUND_FULL, REJECT
from disputes.sweep import enforce_deadlines
from disputes.tests.factories import DisputeFactory, disputable_line, photo
from notifications.models import Notification
from orders.models import OrderLine
from returns_portal.errors import DomainError
from returns_portal.formatting import local_datetime

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # 15:00 in Moscow, the site's time zone
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
PAID = Decimal("2490.00")
OFFER = Decimal("1000.00")
# Staff decide refunds alone up to this; the full 2,490.00 waits for a second staff member.
APPROVAL_LIMIT = Decimal("1000.00")
S = Dispute.State
LOCAL, INTERNATIONAL, REFUND_ONLY = Track.LOCAL_RETURN, Track.INTERNATIONAL_RETURN, Track.REFUND_ONLY
STAFF_PERMISSIONS = ["disputes.view_dispute", "disputes.change_dispute", "disputes.decide_dispute",
                     "disputes.pay_refund"]


@pytest.fixture(autouse=True)
def clock(time_machine):
    """Every test starts on 10 March 2025, 12:00 UTC, with the clock standing still."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


# --- the world -----------------------------------------------------------------------------------


@dataclass
class World:
    """A T-shirt delivered yesterday to a buyer in Russia; its store has a return warehouse in
    Russia and a member who answers disputes."""

    line: OrderLine
    warehouse: Warehouse
    member: User
    clock: object
    decider: User | None = None  # staff who decided a refund (not one of the walk's actors)
    codes: list[str] | None = None  # the return conditions that apply to the item

    def checklist(self, **answers: str) -> dict[str, str]:
        """Every return condition that applies to the item "meets", except those given."""
        if self.codes is None:
            self.codes = selectors.enabled_condition_codes(self.line.product.category)
        return {code: "meets" for code in self.codes} | answers

    @property
    def buyer(self) -> User:
        return self.line.order.buyer


@pytest.fixture
def world(clock, settings) -> World:
    settings.STAFF_REFUND_APPROVAL_LIMIT = APPROVAL_LIMIT
    line = disputable_line(price=PAID)
    store = line.order.store
    return World(line=line, warehouse=Warehouse.objects.get(store=store, country="RU"),
                 member=SellerFactory(store=store), clock=clock)


def stored(dispute: Dispute) -> Dispute:
    return Dispute.objects.get(pk=dispute.pk)


def everything() -> dict[str, list[dict]]:
    """Every row a dispute service could write or change."""
    return {model.__name__: list(model.objects.order_by("pk").values())
            for model in (Dispute, DisputeEvent, DisputeMessage, DisputeAttachment, ReturnInstructions,
                          ReturnShipment, Inspection, Refund, Notification, OrderLine)}


# What a refused action must leave as it was: these rows, counted, and the lines' refunded total.
COUNTED = (DisputeEvent, Notification, Refund, ReturnInstructions, ReturnShipment, DisputeMessage, Inspection,
           DisputeAttachment)


def counts_and_row(dispute: Dispute) -> dict[str, object]:
    """The walk's snapshot after every refusal, in two queries: the rows counted, and the
    dispute's row value by value."""
    table = connection.ops.quote_name
    columns = [f"(SELECT COUNT(*) FROM {table(model._meta.db_table)})" for model in COUNTED]
    columns.append(f"(SELECT SUM(refunded_amount) FROM {table(OrderLine._meta.db_table)})")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)}")
        snapshot: dict[str, object] = dict(zip([m.__name__ for m in COUNTED] + ["refunded"], cursor.fetchone()))
    snapshot["dispute"] = Dispute.objects.filter(pk=dispute.pk).values().get()
    return snapshot


def timeline(dispute: Dispute) -> list[tuple]:
    return list(DisputeEvent.objects.filter(dispute=dispute).order_by("pk")
                .values_list("kind", "actor", "from_state", "to_state", "created_at"))


# --- reaching each state through the services ----------------------------------------------------


def opened(w: World, track: Track) -> Dispute:
    if track == LOCAL:
        return dispute_open(buyer=w.buyer, order_line=w.line, kind=Dispute.Kind.RETURN, route=Dispute.Route.LOCAL,
                            amount=PAID, reason=Dispute.Reason.CHANGED_MIND)
    kind, route = ((Dispute.Kind.RETURN, Dispute.Route.INTERNATIONAL) if track == INTERNATIONAL
                   else (Dispute.Kind.REFUND_ONLY, Dispute.Route.NONE))
    return dispute_open(buyer=w.buyer, order_line=w.line, kind=kind, route=route, amount=PAID,
                        reason=Dispute.Reason.DAMAGED, description="The box was crushed.", evidence=[photo()])


def instructed(w: World, track: Track) -> Dispute:
    return dispute_send_instructions(dispute=opened(w, track), seller=w.member, warehouse=w.warehouse,
                                     method="drop_off", carrier="Russian Post", text="Write the RMA code on it.")


def in_transit(w: World, track: Track) -> Dispute:
    return dispute_ship(dispute=instructed(w, track), buyer=w.buyer, carrier="Russian Post",
                        tracking_number="RR123456785RU")


def inspected(w: World, track: Track, **answers: str) -> Dispute:
    dispute = in_transit(w, track)
    return dispute_inspect(dispute=dispute, inspector=w.member, answers=w.checklist(**answers),
                           notes={code: "Checked." for code in answers})


def counter_offered(w: World, track: Track) -> Dispute:
    return dispute_counter_offer(dispute=opened(w, track), seller=w.member, amount=OFFER,
                                 message="Part of the box was fine.")


def rejected_by_seller(w: World, track: Track) -> Dispute:
    return dispute_reject(dispute=opened(w, track), seller=w.member, reason="The box was fine when it left.")


def rejected_after_inspection(w: World, track: Track) -> Dispute:
    return inspected(w, track, signs_of_use="fails")


def escalated(w: World, track: Track) -> Dispute:
    """After a counter-offer (refund only), a rejection by the seller (international) or a failed
    inspection (local return)."""
    earlier = {REFUND_ONLY: counter_offered, INTERNATIONAL: rejected_by_seller,
               LOCAL: rejected_after_inspection}[track](w, track)
    return dispute_escalate(dispute=earlier, buyer=w.buyer, reason="The photos show the damage.")


def decider(w: World) -> User:
    w.decider = StaffFactory(permissions=["disputes.view_dispute", "disputes.change_dispute",
                                          "disputes.decide_dispute"])
    return w.decider


def awaiting_approval(w: World, track: Track) -> Dispute:
    """Staff decided a refund above the limit: it waits for a second staff member."""
    dispute = dispute_staff_decide(dispute=escalated(w, track), staff=decider(w), decision=REFUND_FULL,
                                   reason="The photos show the damage.")
    assert Refund.objects.get(dispute=dispute).status == Refund.Status.AWAITING_APPROVAL
    return dispute


def refund_decided(w: World, track: Track) -> Dispute:
    """Goods passed inspection (local return) or the seller accepted: the refund is queued."""
    if track == LOCAL:
        return inspected(w, track)
    return dispute_accept(dispute=opened(w, track), seller=w.member)


def refunded(w: World, track: Track) -> Dispute:
    dispute = refund_decided(w, track)
    refund_pay(refund_id=Refund.objects.get(dispute=dispute).pk)
    return dispute


def withdrawn(w: World, track: Track) -> Dispute:
    return dispute_withdraw(dispute=opened(w, track), buyer=w.buyer)


def withdrawn_after_reopening(w: World, track: Track) -> Dispute:
    dispute = withdrawn(w, track)
    dispute_reopen(dispute=stored(dispute), buyer=w.buyer)
    return dispute_withdraw(dispute=stored(dispute), buyer=w.buyer)


def closed_as_rejected(w: World, track: Track) -> Dispute:
    return dispute_accept_rejection(dispute=rejected_by_seller(w, track), buyer=w.buyer)


def rejected_by_staff(w: World, track: Track) -> Dispute:
    return dispute_staff_decide(dispute=escalated(w, track), staff=decider(w), decision=REJECT,
                                reason="The photos do not show damage.")


def not_shipped_in_time(w: World, track: Track) -> Dispute:
    dispute = instructed(w, track)
    w.clock.move_to(stored(dispute).deadline_at + SECOND, tick=False)
    assert dict(+enforce_deadlines().counts) == {"buyer_did_not_ship": 1}
    return dispute


@dataclass(frozen=True)
class Scenario:
    state: str
    track: Track
    build: Callable[[World, Track], Dispute]


SCENARIOS: dict[str, Scenario] = {
    "awaiting_seller/local": Scenario(S.AWAITING_SELLER, LOCAL, opened),
    "awaiting_seller/international": Scenario(S.AWAITING_SELLER, INTERNATIONAL, opened),
    "awaiting_seller/refund_only": Scenario(S.AWAITING_SELLER, REFUND_ONLY, opened),
    "awaiting_buyer_shipment/local": Scenario(S.AWAITING_BUYER_SHIPMENT, LOCAL, instructed),
    "awaiting_buyer_shipment/international": Scenario(S.AWAITING_BUYER_SHIPMENT, INTERNATIONAL, instructed),
    "return_in_transit/local": Scenario(S.RETURN_IN_TRANSIT, LOCAL, in_transit),
    "return_in_transit/international": Scenario(S.RETURN_IN_TRANSIT, INTERNATIONAL, in_transit),
    "counter_offered/international": Scenario(S.COUNTER_OFFERED, INTERNATIONAL, counter_offered),
    "counter_offered/refund_only": Scenario(S.COUNTER_OFFERED, REFUND_ONLY, counter_offered),
    "rejected/local/after_inspection": Scenario(S.REJECTED, LOCAL, rejected_after_inspection),
    "rejected/international/by_seller": Scenario(S.REJECTED, INTERNATIONAL, rejected_by_seller),
    "rejected/refund_only/by_seller": Scenario(S.REJECTED, REFUND_ONLY, rejected_by_seller),
    "escalated/local": Scenario(S.ESCALATED, LOCAL, escalated),
    "escalated/international": Scenario(S.ESCALATED, INTERNATIONAL, escalated),
    "escalated/refund_only": Scenario(S.ESCALATED, REFUND_ONLY, escalated),
    "refund_pending/local/paying": Scenario(S.REFUND_PENDING, LOCAL, refund_decided),
    "refund_pending/international/paying": Scenario(S.REFUND_PENDING, INTERNATIONAL, refund_decided),
    "refund_pending/refund_only/awaiting_approval": Scenario(S.REFUND_PENDING, REFUND_ONLY, awaiting_approval),
    "refunded/local": Scenario(S.REFUNDED, LOCAL, refunded),
    "refunded/international": Scenario(S.REFUNDED, INTERNATIONAL, refunded),
    "refunded/refund_only": Scenario(S.REFUNDED, REFUND_ONLY, refunded),
    "closed/local/withdrawn": Scenario(S.CLOSED, LOCAL, withdrawn),
    "closed/international/withdrawn": Scenario(S.CLOSED, INTERNATIONAL, withdrawn),
    "closed/refund_only/withdrawn": Scenario(S.CLOSED, REFUND_ONLY, withdrawn),
    "closed/local/withdrawn_after_reopening": Scenario(S.CLOSED, LOCAL, withdrawn_after_reopening),
    "closed/local/not_shipped_in_time": Scenario(S.CLOSED, LOCAL, not_shipped_in_time),
    "closed/international/rejected_by_staff": Scenario(S.CLOSED, INTERNATIONAL, rejected_by_staff),
    "closed/refund_only/rejection_accepted": Scenario(S.CLOSED, REFUND_ONLY, closed_as_rejected),
}

def in_group(name: str) -> User:
    """Staff with exactly the permissions of a group the migrations create."""
    user = StaffFactory()
    user.groups.add(Group.objects.get(name=name))
    return User.objects.get(pk=user.pk)


ACTORS: dict[str, Callable[[World], User]] = {
    "buyer": lambda w: w.buyer,
    "store_member": lambda w: w.member,
    "staff": lambda w: StaffFactory(permissions=STAFF_PERMISSIONS),
    "support_agent": lambda w: in_group("Support agent"),
    "supervisor": lambda w: in_group("Supervisor"),  # also issues manual refunds
    "staff_flag_only": lambda w: StaffFactory(),
    "another_buyer": lambda w: BuyerFactory(),
    "another_store": lambda w: SellerFactory(),
}


# --- each person-facing move, called with valid data ---------------------------------------------


def _refund_id(dispute: Dispute) -> int:
    """The dispute's refund; 0 (no such refund) where it has none."""
    return Refund.objects.filter(dispute=dispute).values_list("pk", flat=True).first() or 0


@dataclass(frozen=True)
class Action:
    move: str  # the move a valid call makes where it is allowed
    call: Callable[[World, Dispute, User], object]


ACTIONS: dict[str, Action] = {
    "withdraw": Action("withdraw", lambda w, d, u: dispute_withdraw(dispute=d, buyer=u)),
    "reopen": Action("reopen", lambda w, d, u: dispute_reopen(dispute=d, buyer=u)),
    "send_instructions": Action("send_instructions", lambda w, d, u: dispute_send_instructions(
        dispute=d, seller=u, warehouse=w.warehouse, method="drop_off", carrier="Russian Post",
        text="Write the RMA code on it.")),
    "accept": Action("accept", lambda w, d, u: dispute_accept(dispute=d, seller=u)),
    "counter_offer": Action("counter_offer", lambda w, d, u: dispute_counter_offer(
        dispute=d, seller=u, amount=Decimal("700.00"), message="We offer part of it.")),
    "reject": Action("reject", lambda w, d, u: dispute_reject(dispute=d, seller=u, reason="It left intact.")),
    "ship": Action("ship", lambda w, d, u: dispute_ship(dispute=d, buyer=u, carrier="Russian Post",
                                                       tracking_number="RR987654321RU")),
    "accept_offer": Action("accept_offer", lambda w, d, u: dispute_accept_offer(dispute=d, buyer=u)),
    "accept_rejection": Action("accept_rejection", lambda w, d, u: dispute_accept_rejection(dispute=d, buyer=u)),
    "escalate": Action("escalate", lambda w, d, u: dispute_escalate(dispute=d, buyer=u, reason="I disagree.")),
    "inspect": Action("inspect_accept", lambda w, d, u: dispute_inspect(dispute=d, inspector=u,
                                                                         answers=w.checklist())),
    "decide/refund": Action("staff_refund", lambda w, d, u: dispute_staff_decide(
        dispute=d, staff=u, decision=REFUND_FULL, reason="The photos show the damage.")),
    "decide/reject": Action("staff_reject", lambda w, d, u: dispute_staff_decide(
        dispute=d, staff=u, decision=REJECT, reason="The photos do not show damage.")),
    "approve_refund": Action("approve_refund", lambda w, d, u: refund_approve(refund_id=_refund_id(d), approver=u)),
    "extend_deadline": Action("extend_deadline", lambda w, d, u: dispute_extend_deadline(
        dispute=d, staff=u, until=(d.deadline_at or timezone.now()) + EXTENSION, reason="The seller asked for time.")),
    "staff_note": Action("staff_note", lambda w, d, u: dispute_add_note(
        dispute=d, staff=u, note="Checked the courier's records.")),
    "reclassify": Action("reclassify", lambda w, d, u: dispute_reclassify(
        dispute=d, staff=u, reason_code=Dispute.Reason.WRONG_ITEM, why="The photos show another item.")),
    "manual_refund": Action("manual_refund", lambda w, d, u: refund_issue_manual(
        dispute=d, staff=u, amount=Decimal("100.00"), reason="Goodwill.", token="walk-form-token")),
}
# What a valid extension asks for: two more days than the current deadline.
EXTENSION = 2 * DAY

CODE_LIKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")  # refund_pending, signs_of_use: for machines only


def is_plain(message: object) -> bool:
    """A sentence for a person: text, no placeholders left, no codes."""
    return (isinstance(message, str) and bool(message.strip()) and "%(" not in message
            and not CODE_LIKE.search(message) and message.rstrip()[-1] in ".!?")


def outcome(from_state: str, state: str, resolution: str, deadline: datetime | None, event: tuple) -> str:
    return (f"{from_state} → {state} [{resolution or 'open'}], deadline "
            f"{deadline.isoformat() if deadline else 'none'}, event {event}")


def expected(dispute: Dispute, user: User, allowed: dict[str, list[str]], action: Action) -> str:
    """What the lifecycle table says must happen (``allowed``: ``allowed_actions`` for the user)."""
    move = MOVES[action.move].move
    if action.move not in allowed.get(move.verb, []):
        return "refused"
    if move.target == STAY:  # the same step: its resolution, and its deadline unless extended
        deadline = dispute.deadline_at + EXTENSION if action.move == "extend_deadline" else dispute.deadline_at
        return outcome(dispute.state, dispute.state, dispute.resolution, deadline,
                       (str(move.event), user.pk, dispute.state, dispute.state))
    target = dispute.withdrawn_from if move.target == RESUME else move.target
    resolution = move.resolution if target in TERMINAL_STATES else ""
    return outcome(dispute.state, target, resolution, deadline_for(target, timezone.now()),
                   (str(move.event), user.pk, dispute.state, str(target)))


class Undo(Exception):
    """Rolls an attempt back, so that the next one starts from the same state."""


WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def attempt(w: World, dispute: Dispute, user: User, action: Action, before: dict, events_before: int) -> str:
    """What really happens, told in the same words as ``expected``."""
    try:
        with transaction.atomic():
            try:
                with CaptureQueriesContext(connection) as queries:
                    action.call(w, copy(dispute), user)
            except DomainError as error:
                problems = []
                if not is_plain(error.message):
                    problems.append(f"message {error.message!r}")
                after = counts_and_row(dispute)
                changed = [name for name in before if after[name] != before[name]]
                if changed:
                    problems.append(f"but changed {changed}")
                # Not even a write undone by the service's own rollback.
                writes = [q["sql"][:60] for q in queries.captured_queries if WRITE.match(q["sql"])]
                if writes:
                    problems.append(f"but wrote {writes}")
                raise Undo("refused" + (", " + ", ".join(problems) if problems else ""))
            except Exception as error:  # anything else is reported in the comparison, not hidden
                raise Undo(f"crashed: {type(error).__name__}: {error}")
            fresh = stored(dispute)
            events = list(DisputeEvent.objects.filter(dispute=dispute).order_by("pk")
                          .values_list("kind", "actor", "from_state", "to_state"))[events_before:]
            shown = events[0] if len(events) == 1 else events
            raise Undo(outcome(dispute.state, fresh.state, fresh.resolution, fresh.deadline_at, shown))
    except Undo as undone:
        return undone.args[0]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_person_may_do_exactly_what_the_lifecycle_allows(scenario, world):
    # Given a dispute brought into the state through the services, and every kind of person.
    people = {name: make(world) for name, make in ACTORS.items()}
    spec = SCENARIOS[scenario]
    dispute = stored(spec.build(world, spec.track))
    assert (dispute.state, track_of(dispute)) == (spec.state, spec.track)
    before = counts_and_row(dispute)
    events_before = DisputeEvent.objects.filter(dispute=dispute).count()
    allowed = {name: allowed_actions(dispute, user) for name, user in people.items()}

    # When each of them tries every action, with valid data (each undone before the next).
    observed = {f"{name}: {verb}": attempt(world, dispute, user, action, before, events_before)
                for name, user in people.items() for verb, action in ACTIONS.items()}

    # Then what the table allows them succeeds exactly as it says, and everything else is
    # refused in words, without a trace.
    assert observed == {f"{name}: {verb}": expected(dispute, user, allowed[name], action)
                        for name, user in people.items() for verb, action in ACTIONS.items()}
    assert counts_and_row(dispute) == before


def test_the_walk_tries_every_person_facing_action():
    person_facing = {t.move.verb for t in MOVES.values() if t.move.by != Party.SYSTEM}
    walked = {MOVES[action.move].move.verb for action in ACTIONS.values()}
    assert walked == person_facing
    # Both outcomes a staff decision can have.
    assert {a.move for a in ACTIONS.values() if MOVES[a.move].move.verb == "decide"} == {
        t.name for t in MOVES.values() if t.move.verb == "decide"}


def reachable() -> set[tuple[str, Track]]:
    """(state, track) pairs a dispute can be in, following the table's moves from the opening."""
    seen = {(S.AWAITING_SELLER, track) for track in Track}
    todo = list(seen)
    while todo:
        state, track = todo.pop()
        for move in STEPS[state].moves:
            if track in move.tracks and move.target not in (RESUME, STAY) and (move.target, track) not in seen:
                seen.add((move.target, track))
                todo.append((move.target, track))
    return seen


def test_the_walk_reaches_every_state_on_every_track_the_table_allows():
    walked = {(spec.state, spec.track) for spec in SCENARIOS.values()}
    assert walked == reachable()
    assert {state for state, _track in walked} == set(STEPS)


# --- the table is consistent ---------------------------------------------------------------------


def test_every_state_has_one_step_and_the_model_agrees_how_disputes_end():
    assert set(STEPS) == set(Dispute.State.values)
    assert TERMINAL_STATES == Dispute.TERMINAL_STATES == {S.REFUNDED, S.CLOSED}
    assert OPEN_STATES == set(Dispute.State.values) - TERMINAL_STATES


def test_terminal_states_have_nobody_on_the_clock():
    for state in TERMINAL_STATES:
        step = STEPS[state]
        assert (step.who, step.deadline, step.expiry) == (None, "", ""), state
    for state in OPEN_STATES:
        assert STEPS[state].who is not None, state


def test_every_expiry_has_an_outcome_and_every_outcome_an_expiry():
    expiries = [step.expiry for step in STEPS.values() if step.expiry]
    assert set(expiries) <= set(OUTCOMES)
    assert set(OUTCOMES) == set(expiries)
    # A deadline without an outcome would flag nothing; an outcome without a deadline never runs.
    for step in STEPS.values():
        assert bool(step.deadline) == bool(step.expiry), step.state
    assert [step.state for step in EXPIRING] == [s for s, step in STEPS.items() if step.deadline]


def test_every_deadline_is_a_setting_in_whole_days():
    for step in STEPS.values():
        if step.deadline:
            days = getattr(django_settings, step.deadline)
            assert isinstance(days, int) and days > 0, step.deadline


def test_every_move_leads_to_a_state_and_starts_from_states():
    for name, transition in MOVES.items():
        assert transition.sources <= set(STEPS), name
        assert transition.target in STEPS or (name == "reopen" and transition.target == RESUME) or (
            transition.target == STAY), name
        move = transition.move
        # A move that ends the dispute says how; one that does not (or keeps the state), does not.
        if move.target in TERMINAL_STATES:
            assert move.resolution in Dispute.Resolution.values and move.resolution, name
        else:
            assert move.resolution == "", name
        assert move.event in DisputeEvent.Kind.values, name


def test_the_seller_desk_needs_action_exactly_where_the_seller_must_act(world):
    assert selectors.SELLER_MUST_ACT == {state for state, step in STEPS.items() if step.who == Party.SELLER}

    # One dispute of the store in every state.
    store = world.line.order.store
    by_state = {state: DisputeFactory(order_line=disputable_line(store=store, warehouse_country=None), state=state)
                for state in STEPS}

    needs_action = set(selectors.disputes_for_seller(world.member, status="action").values_list("pk", flat=True))

    assert needs_action == {d.pk for state, d in by_state.items() if STEPS[state].who == Party.SELLER}


@pytest.mark.parametrize("state", list(STEPS))
def test_reminders_go_exactly_to_the_party_who_must_act(state, world):
    # Given a dispute in the state whose deadline is 12 hours away; the store has two active
    # members and a former one; a staff member decides disputes.
    store = world.line.order.store
    clerk = SellerFactory(store=store)
    SellerFactory(store=store, is_active=False)
    StaffFactory(permissions=STAFF_PERMISSIONS)
    dispute = DisputeFactory(order_line=world.line, state=state, deadline_at=NOW + timedelta(hours=12))
    before = Notification.objects.count()

    report = enforce_deadlines()

    who = STEPS[state].who
    recipients = {Party.BUYER: {world.buyer.pk}, Party.SELLER: {world.member.pk, clerk.pk}}.get(who, set())
    told = list(Notification.objects.order_by("pk")[before:].values_list("recipient", "key", "params__dispute"))
    assert sorted(told) == sorted((pk, "disputes.reminder", dispute.pk) for pk in recipients)
    assert dict(+report.counts) == ({"reminders_sent": 1} if recipients else {})


# --- endings: withdraw and reopen (DESIGN §3) ------------------------------------------------------

WITHDRAWN_AT = NOW + DAY
REOPENED_AT = NOW + 3 * DAY


@pytest.mark.parametrize(
    ("build", "track", "state", "days"),
    [
        pytest.param(opened, LOCAL, S.AWAITING_SELLER, 5, id="awaiting_seller"),
        pytest.param(instructed, LOCAL, S.AWAITING_BUYER_SHIPMENT, 10, id="awaiting_buyer_shipment"),
        pytest.param(counter_offered, REFUND_ONLY, S.COUNTER_OFFERED, 7, id="counter_offered"),
        pytest.param(rejected_by_seller, REFUND_ONLY, S.REJECTED, 7, id="rejected_by_the_seller"),
        pytest.param(escalated, REFUND_ONLY, S.ESCALATED, 7, id="escalated"),
    ],
)
def test_a_reopened_dispute_resumes_the_step_it_was_withdrawn_from_with_a_fresh_deadline(
    build, track, state, days, world, clock
):
    # Given a dispute in the step, withdrawn a day later.
    dispute = build(world, track)
    assert stored(dispute).state == state
    kept = Dispute.objects.filter(pk=dispute.pk).values("counter_offer_amount", "seller_answer", "amount").get()
    clock.move_to(WITHDRAWN_AT, tick=False)
    dispute_withdraw(dispute=stored(dispute), buyer=world.buyer)
    withdrawn_row = stored(dispute)
    assert (withdrawn_row.state, withdrawn_row.resolution, withdrawn_row.withdrawn_from) == (
        S.CLOSED, "withdrawn", state)
    assert (withdrawn_row.deadline_at, withdrawn_row.closed_at) == (None, WITHDRAWN_AT)
    before = Notification.objects.count()

    # When the buyer reopens it two days after that.
    clock.move_to(REOPENED_AT, tick=False)
    dispute_reopen(dispute=stored(dispute), buyer=world.buyer)

    # Then it is back in that step, open, with the step's whole time from now.
    fresh = stored(dispute)
    new_deadline = REOPENED_AT + timedelta(days=days)
    assert new_deadline == deadline_for(state, REOPENED_AT)
    assert (fresh.state, fresh.resolution, fresh.closed_at) == (state, "", None)
    assert (fresh.deadline_at, fresh.reopened_at) == (new_deadline, REOPENED_AT)
    assert Dispute.objects.filter(pk=dispute.pk).values("counter_offer_amount", "seller_answer", "amount").get() == kept
    assert timeline(dispute)[-2:] == [
        ("withdrawn", world.buyer.pk, state, S.CLOSED, WITHDRAWN_AT),
        ("reopened", world.buyer.pk, S.CLOSED, state, REOPENED_AT),
    ]
    if state == S.AWAITING_BUYER_SHIPMENT:
        assert ReturnInstructions.objects.get(dispute=dispute).ship_by == new_deadline
    if state == S.ESCALATED:
        assert fresh.overdue_flagged_at is None

    # The store is told where it continues and by when.
    told = [(n.recipient_id, n.subject, n.body) for n in Notification.objects.order_by("pk")[before:]]
    label = Dispute.State(state).label
    assert told == [(world.member.pk, f"Dispute #{dispute.pk} was reopened",
                     f"The buyer reopened the dispute. It continues where it stopped: {label}. Next deadline: "
                     f"{local_datetime(new_deadline)}.")]

    # And the sweep keeps to the fresh deadline: nothing a second before it.
    clock.move_to(new_deadline - SECOND, tick=False)
    assert {k for k, v in enforce_deadlines().counts.items() if v} <= {"reminders_sent"}
    assert stored(dispute).state == state


def test_a_dispute_is_reopened_once(world, clock):
    # Given a local return withdrawn, reopened on 11 March and withdrawn again.
    dispute = opened(world, LOCAL)
    dispute_withdraw(dispute=stored(dispute), buyer=world.buyer)
    clock.move_to(NOW + DAY, tick=False)
    dispute_reopen(dispute=stored(dispute), buyer=world.buyer)
    clock.move_to(NOW + 2 * DAY, tick=False)
    dispute_withdraw(dispute=stored(dispute), buyer=world.buyer)
    clock.move_to(NOW + 3 * DAY, tick=False)
    before = everything()

    # When the buyer tries to reopen it a second time.
    with pytest.raises(DomainError) as refused:
        dispute_reopen(dispute=stored(dispute), buyer=world.buyer)

    # Then they are told when they reopened it, and nothing changes.
    assert refused.value.message == (
        "You already reopened this dispute once, on 11 Mar 2025, 15:00; it cannot be reopened again.")
    assert everything() == before
    assert allowed_actions(stored(dispute), world.buyer) == {}

    # Nor can a new dispute be opened on the line.
    with pytest.raises(NotEligible) as not_eligible:
        opened(world, LOCAL)
    assert not_eligible.value.message == (
        f"You withdrew dispute #{dispute.pk} on this item on 12 Mar 2025, 15:00, after reopening it once. "
        "No new dispute can be opened on this item.")
    assert everything() == before


def test_a_withdrawn_dispute_cannot_be_reopened_once_buyer_protection_ended(world, clock):
    # Given a dispute withdrawn on the day it was opened; the goods were delivered on 9 March,
    # so buyer protection (15 days) ends on 24 March, 12:00 UTC (15:00 in Moscow).
    dispute = opened(world, LOCAL)
    dispute_withdraw(dispute=stored(dispute), buyer=world.buyer)
    ends = world.line.order.delivered_at + timedelta(days=15)
    assert ends == datetime(2025, 3, 24, 12, 0, tzinfo=UTC)

    # When the buyer tries to reopen it the moment protection ends.
    clock.move_to(ends, tick=False)
    before = everything()
    with pytest.raises(DomainError) as refused:
        dispute_reopen(dispute=stored(dispute), buyer=world.buyer)

    # Then they are told the date, and nothing changes.
    assert refused.value.message == (
        "Buyer protection for this order ended on 24 Mar 2025, 15:00, so this dispute can no longer be reopened.")
    assert everything() == before
    assert allowed_actions(stored(dispute), world.buyer) == {}

    # A second earlier it could still be reopened.
    clock.move_to(ends - SECOND, tick=False)
    assert allowed_actions(stored(dispute), world.buyer) == {"reopen": ["reopen"]}
    dispute_reopen(dispute=stored(dispute), buyer=world.buyer)
    fresh = stored(dispute)
    assert (fresh.state, fresh.deadline_at) == (S.AWAITING_SELLER, ends - SECOND + timedelta(days=5))


def test_a_refund_only_dispute_reopened_into_a_rejection_is_not_refunded_by_the_sweep(
    world, clock, django_capture_on_commit_callbacks
):
    # Given the seller rejected a refund-only claim; the buyer withdrew and reopened it.
    dispute = rejected_by_seller(world, REFUND_ONLY)
    clock.move_to(WITHDRAWN_AT, tick=False)
    dispute_withdraw(dispute=stored(dispute), buyer=world.buyer)
    clock.move_to(REOPENED_AT, tick=False)
    dispute_reopen(dispute=stored(dispute), buyer=world.buyer)
    deadline = stored(dispute).deadline_at
    assert (stored(dispute).state, deadline) == (S.REJECTED, REOPENED_AT + timedelta(days=7))

    # When the sweep runs after the seller's answer time would have passed, then after the
    # buyer's time to answer the rejection has passed (payments run as they would after commit).
    with django_capture_on_commit_callbacks(execute=True):
        clock.move_to(REOPENED_AT + timedelta(days=5) + SECOND, tick=False)
        early = enforce_deadlines()
        clock.move_to(deadline + SECOND, tick=False)
        late = enforce_deadlines()

    # Then the rejection stands: it closes as rejected, and nobody is refunded.
    assert dict(+early.counts) == {}
    assert dict(+late.counts) == {"answer_timeout_closed": 1}
    fresh = stored(dispute)
    assert (fresh.state, fresh.resolution, fresh.closed_at) == (S.CLOSED, "rejected", deadline + SECOND)
    assert Refund.objects.count() == 0
    assert OrderLine.objects.get(pk=world.line.pk).refunded_amount == Decimal("0.00")
    assert [row[:4] for row in timeline(dispute)] == [
        ("opened", world.buyer.pk, "", S.AWAITING_SELLER),
        ("rejected", world.member.pk, S.AWAITING_SELLER, S.REJECTED),
        ("withdrawn", world.buyer.pk, S.REJECTED, S.CLOSED),
        ("reopened", world.buyer.pk, S.CLOSED, S.REJECTED),
        ("deadline_passed", None, S.REJECTED, S.CLOSED),
    ]
    assert DisputeEvent.objects.get(dispute=dispute, kind="deadline_passed").details == {
        "outcome": "answer_timeout_closed", "days": 7, "deadline": deadline.isoformat()}


def test_a_withdrawn_line_gets_its_dispute_reopened_never_a_second_one(world, clock, client):
    # Given a local return the buyer withdrew.
    dispute = opened(world, LOCAL)
    dispute_withdraw(dispute=stored(dispute), buyer=world.buyer)
    clock.move_to(NOW + timedelta(hours=2), tick=False)
    seller_told = Notification.objects.filter(recipient=world.member).count()
    before = everything()

    # When the buyer opens a new dispute on the same line through the service...
    with pytest.raises(NotEligible) as refused:
        opened(world, LOCAL)

    # ...then it is refused, pointing to the withdrawn one; nothing is written, nobody told.
    assert refused.value.result.failed_codes == ("one_dispute_per_line",)
    assert refused.value.message == (
        f"You withdrew dispute #{dispute.pk} on this item on 10 Mar 2025, 15:00. Reopen that dispute instead: "
        "an item has one dispute.")
    assert everything() == before

    # ...and through the page: taken to the withdrawn dispute, told to reopen it.
    client.force_login(world.buyer)
    response = client.post(reverse("disputes:dispute_open", args=[world.line.pk]), {
        "kind": "return", "route": "local", "amount": "2490.00", "reason": "changed_mind", "description": ""})
    assert (response.status_code, response["Location"]) == (302, dispute.get_absolute_url())
    followed = client.get(response["Location"])
    assert [str(m) for m in followed.context["messages"]] == [
        "You withdrew the dispute on this item; reopen it here instead of opening a new one."]
    assert everything() == before
    assert Notification.objects.filter(recipient=world.member).count() == seller_told


def test_the_staff_member_who_decided_a_large_refund_is_not_offered_to_approve_it(world):
    # Given a staff member who may decide and pay decided a refund above the limit.
    approver_too = StaffFactory(permissions=STAFF_PERMISSIONS)
    dispute = escalated(world, REFUND_ONLY)
    dispute_staff_decide(dispute=dispute, staff=approver_too, decision=REFUND_FULL, reason="Damaged.")
    refund = Refund.objects.get(dispute=dispute)
    assert refund.status == Refund.Status.AWAITING_APPROVAL
    before = everything()

    # Then approving it is refused to them (four eyes)...
    with pytest.raises(DomainError) as refused:
        refund_approve(refund_id=refund.pk, approver=approver_too)
    assert refused.value.message == "You decided this refund; another staff member must approve it."
    assert everything() == before

    # ...so the lifecycle must not offer it to them either (the page and the API read it).
    assert "approve_refund" not in allowed_actions(stored(dispute), approver_too)
