"""Invariants under any sequence (issue 12): a Hypothesis state machine drives the services
— open, instruct, ship, inspect, counter-offer, accept, reject, accept the offer or the
rejection, escalate, decide, approve, withdraw, reopen, manual refunds, pay (with a gateway
that may fail), the deadline sweep and moves of the clock — in any order, on a small world
of three order lines, and after every step checks what must always hold:

- on every line, refunded ≤ paid, the refunded amount is the sum of its paid refunds, and
  all refunds decided (paid or not) stay within what was paid;
- no refund without its reason on the timeline: an accepted inspection, the seller's
  acceptance, an accepted counter-offer, a staff decision, a passed deadline or a manual
  refund, each for exactly that amount; a refund is paid once, with one "refund paid" entry;
- terminal states stay terminal, but for the one reopening of a withdrawn dispute; every
  other ending is final for the line, and an order line has one dispute, ever;
- the timeline agrees with the state: it starts with the opening, each entry goes from the
  state the one before left, and the last one ends in the dispute's state;
- one open dispute per line.

A service that refuses (``DomainError``, ``NotEligible``) must change nothing: the rule
compares a snapshot of the disputes, their timelines, refunds, lines and everything else a
move writes, before and after.

SQLite only: the suite's SQLite run covers it (the PostgreSQL run skips it, saying why);
the same services on PostgreSQL are covered by the race and sweep tests marked ``postgres``.
The world is built once; each example runs in a savepoint rolled back at its end, with the
clock back at ``NOW``. CI runs the same derandomized 500 sequences every time;
``INVARIANT_EXAMPLES=5000 INVARIANT_RANDOM=1`` lets a developer search further.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from accounts.models import User
from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.models import Category, Warehouse
from catalog.tests.factories import CategoryFactory, StoreFactory
from disputes import selectors
from disputes.lifecycle import TERMINAL_STATES, allowed_actions
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
from disputes.payments import GatewayError
from disputes.services import (
    dispute_accept,
    dispute_accept_offer,
    dispute_accept_rejection,
    dispute_counter_offer,
    dispute_escalate,
    dispute_inspect,
    dispute_open,
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
from disputes.services.refunds import refund_key
from disputes.sweep import enforce_deadlines
from disputes.tasks import pay_due_refunds
from disputes.tests.factories import disputable_line, photo
from notifications.models import Notification
from orders.models import OrderLine
from returns_portal.errors import DomainError

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite",
                       reason="the state machine runs on SQLite (the issue's scope); PostgreSQL has the race tests"),
]

EXAMPLES = int(os.environ.get("INVARIANT_EXAMPLES", "500"))
RANDOM = os.environ.get("INVARIANT_RANDOM", "") == "1"
STEPS = 20

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
S = Dispute.State
R = Dispute.Resolution
E = DisputeEvent.Kind

# Where a refund's decision comes from: the timeline entry that moved the dispute to
# "refund pending", and the amount that entry justifies.
DECIDING_KINDS = {E.INSPECTED, E.ACCEPTED, E.OFFER_ACCEPTED, E.STAFF_DECIDED, E.DEADLINE_PASSED}


class FailingGateway:
    """A payment provider that is down: the refund is marked failed and retried later."""

    def refund(self, **kwargs):
        raise GatewayError("The provider is not answering.")


@dataclass
class World:
    lines: list[OrderLine]
    conditions: list[list[str]]  # each line's return conditions (the inspection checklist)
    buyer: User
    other_buyer: User
    seller: User
    other_seller: User
    decider: User  # staff who decide escalations (and may issue manual refunds)
    payer: User  # staff who approve large refunds
    warehouse: Warehouse


def build_world() -> World:
    """Three delivered lines of one buyer from one store with a return warehouse in Russia:
    a T-shirt (local return), a phone above the staff refund limit (four eyes), and a
    cheap item whose seller does not offer local return."""
    buyer = BuyerFactory(country="RU")
    store = StoreFactory()
    lines = [
        disputable_line(buyer=buyer, store=store, price=Decimal("2490.00"),
                        category=CategoryFactory(name="T-shirts", kind=Category.Kind.APPAREL)),
        disputable_line(buyer=buyer, store=store, price=Decimal("12000.00"), warehouse_country=None,
                        category=CategoryFactory(name="Phones", kind=Category.Kind.ELECTRONICS)),
        disputable_line(buyer=buyer, store=store, price=Decimal("990.00"), warehouse_country=None,
                        local_return=False, category=CategoryFactory(name="Mugs", kind=Category.Kind.OTHER)),
    ]
    staff_perms = ["disputes.view_dispute", "disputes.change_dispute"]
    return World(
        lines=lines,
        conditions=[selectors.enabled_condition_codes(line.product.category) for line in lines],
        buyer=buyer,
        other_buyer=BuyerFactory(country="RU"),
        seller=SellerFactory(store=store),
        other_seller=SellerFactory(),
        decider=StaffFactory(permissions=[*staff_perms, "disputes.decide_dispute", "disputes.issue_manual_refund"]),
        payer=StaffFactory(permissions=[*staff_perms, "disputes.pay_refund"]),
        warehouse=Warehouse.objects.get(store=store, country="RU"),
    )


SNAPSHOT_TABLES = [model._meta.db_table for model in (
    Dispute, DisputeEvent, Refund, OrderLine, ReturnInstructions, ReturnShipment, Inspection, DisputeMessage,
    DisputeAttachment, Notification)]


def snapshot() -> list:
    """Every row of every table a move may write (plain SQL: it is taken before each move)."""
    with connection.cursor() as cursor:
        rows = []
        for table in SNAPSHOT_TABLES:
            cursor.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 (our own table names)
            rows.append(cursor.fetchall())
    return rows


LINE = st.integers(min_value=0, max_value=2)
CLOCK_MOVES = [timedelta(hours=1), timedelta(days=1), timedelta(days=5, seconds=1), timedelta(days=7, seconds=1),
               timedelta(days=10, seconds=1), timedelta(days=16)]


class DisputeMachine(RuleBasedStateMachine):
    """One example: a fresh savepoint over the world, the clock at NOW."""

    world: World
    clock = None  # the test's time_machine fixture
    stats: Counter

    def __init__(self) -> None:
        super().__init__()
        self.clock.move_to(NOW, tick=False)
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.stats["examples"] += 1
        # What each dispute was after the last step: (state, resolution, reopened_at).
        self.seen: dict[int, tuple[str, str, datetime | None]] = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers --------------------------------------------------------------------------------

    def dispute_on(self, index: int) -> Dispute | None:
        return Dispute.objects.filter(order_line=self.world.lines[index]).order_by("-pk").first()

    def attempt(self, move: str, call) -> object:
        """Run ``call``; a refusal must leave everything as it was."""
        before = snapshot()
        try:
            result = call()
        except DomainError as error:
            after = snapshot()
            assert after == before, f"{move} was refused ({error.code}: {error}) yet changed something"
            self.stats[f"{move}: refused"] += 1
            if os.environ.get("INVARIANT_DEBUG"):
                self.stats[f"{move}: refused {error.code} {str(error)[:60]}"] += 1
            return None
        self.stats[f"{move}: done"] += 1
        return result

    def on_dispute(self, index: int, move: str, call) -> None:
        dispute = self.dispute_on(index)
        if dispute is None:
            self.stats[f"{move}: no dispute"] += 1
            return
        self.attempt(move, lambda: call(dispute))

    # --- the buyer ------------------------------------------------------------------------------

    @initialize(requests=st.lists(st.sampled_from([None, "local", "international", "refund_only"]),
                                  min_size=3, max_size=3))
    def open_some(self, requests):
        """Most sequences start with disputes to work on: lines opened at NOW with the amount paid."""
        for index, request in enumerate(requests):
            if request is not None:
                self.open(index, request, "all")

    @rule(index=LINE, request=st.sampled_from(["local", "international", "refund_only"]),
          amount=st.sampled_from(["all", "part", "too_much", "zero", "fraction"]))
    def open(self, index, request, amount):
        line = OrderLine.objects.get(pk=self.world.lines[index].pk)
        had_dispute = Dispute.objects.filter(order_line=line).exists()
        value = {"all": line.refundable_amount, "part": Decimal("100.00"),
                 "too_much": line.refundable_amount + Decimal("0.01"), "zero": Decimal("0"),
                 "fraction": Decimal("100.005")}[amount]
        kind = Dispute.Kind.REFUND_ONLY if request == "refund_only" else Dispute.Kind.RETURN
        route = "" if request == "refund_only" else request
        opened = self.attempt("open", lambda: dispute_open(
            buyer=self.world.buyer, order_line=line, kind=kind, route=route, amount=value,
            reason=Dispute.Reason.CHANGED_MIND, evidence=[photo()] if request != "local" else []))
        # A line whose dispute ended (final) or was withdrawn (reopened instead) takes no new one.
        assert not (had_dispute and opened is not None), "a second dispute was opened on a line"

    def ship(self, index, tracking):
        self.on_dispute(index, "ship", lambda d: dispute_ship(dispute=d, buyer=self.world.buyer,
                                                                carrier="Russian Post", tracking_number=tracking))

    def accept_offer(self, index):
        self.on_dispute(index, "accept_offer", lambda d: dispute_accept_offer(dispute=d, buyer=self.world.buyer))

    def accept_rejection(self, index):
        self.on_dispute(index, "accept_rejection",
                        lambda d: dispute_accept_rejection(dispute=d, buyer=self.world.buyer))

    def escalate(self, index):
        self.on_dispute(index, "escalate",
                        lambda d: dispute_escalate(dispute=d, buyer=self.world.buyer, reason="I disagree."))

    def withdraw(self, index):
        self.on_dispute(index, "withdraw", lambda d: dispute_withdraw(dispute=d, buyer=self.world.buyer))

    def reopen(self, index):
        self.on_dispute(index, "reopen", lambda d: dispute_reopen(dispute=d, buyer=self.world.buyer))

    # --- the seller -----------------------------------------------------------------------------

    def send_instructions(self, index):
        self.on_dispute(index, "send_instructions", lambda d: dispute_send_instructions(
            dispute=d, seller=self.world.seller, warehouse=self.world.warehouse, method="drop_off",
            carrier="Russian Post", text="Write the RMA code on the parcel."))

    def accept(self, index):
        self.on_dispute(index, "accept", lambda d: dispute_accept(dispute=d, seller=self.world.seller))

    def counter_offer(self, index, amount):
        def call(d: Dispute):
            value = {"part": Decimal("50.00"), "all": d.amount, "zero": Decimal("0.00")}[amount]
            return dispute_counter_offer(dispute=d, seller=self.world.seller, amount=value, message="Half.")

        self.on_dispute(index, "counter_offer", call)

    def reject(self, index):
        self.on_dispute(index, "reject", lambda d: dispute_reject(dispute=d, seller=self.world.seller,
                                                                  reason="It was fine when it left."))

    def inspect(self, index, verdict):
        codes = self.world.conditions[index]
        answers = dict.fromkeys(codes, "meets")
        if verdict == "missing":
            answers.pop(codes[0])
        elif verdict != "meets":
            answers[codes[-1]] = verdict
        self.on_dispute(index, "inspect", lambda d: dispute_inspect(dispute=d, inspector=self.world.seller,
                                                                    answers=answers))

    # --- any move, whatever the state ----------------------------------------------------------------

    @rule(index=LINE, move=st.sampled_from(sorted(["send_instructions", "accept", "counter_offer", "reject", "ship",
                                                    "inspect", "accept_offer", "accept_rejection", "escalate",
                                                    "withdraw", "reopen", "decide", "approve", "manual_refund"])),
          data=st.data())
    def blind(self, index, move, data):
        """The move's own party makes it, with good or bad input, in whatever state the
        dispute is: mostly refused, and then nothing may change."""
        self.BLIND[move](self, index, data)

    BLIND = {
        "send_instructions": lambda m, i, data: m.send_instructions(i),
        "accept": lambda m, i, data: m.accept(i),
        "counter_offer": lambda m, i, data: m.counter_offer(i, data.draw(st.sampled_from(["part", "all", "zero"]))),
        "reject": lambda m, i, data: m.reject(i),
        "ship": lambda m, i, data: m.ship(i, data.draw(st.sampled_from(["RR123456785RU", "bad"]))),
        "inspect": lambda m, i, data: m.inspect(i, data.draw(st.sampled_from(["meets", "fails", "unsure", "missing"]))),
        "accept_offer": lambda m, i, data: m.accept_offer(i),
        "accept_rejection": lambda m, i, data: m.accept_rejection(i),
        "escalate": lambda m, i, data: m.escalate(i),
        "withdraw": lambda m, i, data: m.withdraw(i),
        "reopen": lambda m, i, data: m.reopen(i),
        "decide": lambda m, i, data: m.decide(
            i, data.draw(st.sampled_from(["refund_full", "refund_partial", "reject", "bad_partial"]))),
        "approve": lambda m, i, data: m.approve(i),
        "manual_refund": lambda m, i, data: m.manual_refund(
            i, data.draw(st.sampled_from(["some", "left", "too_much"])), data.draw(st.sampled_from(["a", "b"]))),
    }

    # --- whatever the lifecycle offers -------------------------------------------------------------

    @rule(index=LINE, data=st.data(), count=st.integers(min_value=1, max_value=4))
    def act(self, index, data, count):
        """Take ``count`` actions in a row that the lifecycle offers the buyer, the store or
        staff on the line's dispute (or open one), checking the invariants after each: blind
        moves are mostly refused, these go deep."""
        for _ in range(count):
            if not self.act_once(index, data):
                return
            self.invariants_hold()

    def act_once(self, index, data) -> bool:
        w, dispute = self.world, self.dispute_on(index)
        if dispute is None:
            self.open(index, data.draw(st.sampled_from(["local", "international", "refund_only"])),
                      data.draw(st.sampled_from(["all", "part"])))
            return True
        offered = sorted({verb for user in (w.buyer, w.seller, w.decider, w.payer)
                          for verb in allowed_actions(dispute, user)} & set(self.ACTIONS))
        if not offered:
            self.stats["act: nothing offered"] += 1
            return False
        verb = data.draw(st.sampled_from(offered))
        self.stats["act"] += 1
        self.ACTIONS[verb](self, index, data)
        return True

    ACTIONS = {
        "send_instructions": lambda m, i, data: m.send_instructions(i),
        "accept": lambda m, i, data: m.accept(i),
        "counter_offer": lambda m, i, data: m.counter_offer(i, "part"),
        "reject": lambda m, i, data: m.reject(i),
        "withdraw": lambda m, i, data: m.withdraw(i),
        "ship": lambda m, i, data: m.ship(i, "RR123456785RU"),
        "inspect": lambda m, i, data: m.inspect(i, data.draw(st.sampled_from(["meets", "fails", "unsure"]))),
        "accept_offer": lambda m, i, data: m.accept_offer(i),
        "accept_rejection": lambda m, i, data: m.accept_rejection(i),
        "escalate": lambda m, i, data: m.escalate(i),
        "reopen": lambda m, i, data: m.reopen(i),
        "decide": lambda m, i, data: m.decide(i, data.draw(st.sampled_from(["refund_full", "refund_partial", "reject"]))),
        "approve_refund": lambda m, i, data: m.approve(i),
        "manual_refund": lambda m, i, data: m.manual_refund(i, data.draw(st.sampled_from(["some", "left"])), "a"),
    }

    # --- someone else ---------------------------------------------------------------------------

    @rule(index=LINE, move=st.sampled_from(["withdraw", "ship", "accept", "reject", "decide"]))
    def intrude(self, index, move):
        """Another buyer, another store, or the buyer deciding as staff: always refused."""
        w = self.world
        calls = {
            "withdraw": lambda d: dispute_withdraw(dispute=d, buyer=w.other_buyer),
            "ship": lambda d: dispute_ship(dispute=d, buyer=w.other_buyer, carrier="Post",
                                           tracking_number="RR123456785RU"),
            "accept": lambda d: dispute_accept(dispute=d, seller=w.other_seller),
            "reject": lambda d: dispute_reject(dispute=d, seller=w.other_seller, reason="No."),
            "decide": lambda d: dispute_staff_decide(dispute=d, staff=w.buyer, decision="refund_full", reason="Me."),
        }
        dispute = self.dispute_on(index)
        if dispute is not None:
            assert self.attempt(f"intrude/{move}", lambda: calls[move](dispute)) is None, f"{move} by a stranger"

    # --- staff ----------------------------------------------------------------------------------

    def decide(self, index, decision):
        def call(d: Dispute):
            amount = d.amount if decision == "bad_partial" else Decimal("30.00")
            return dispute_staff_decide(dispute=d, staff=self.world.decider, reason="Looked at the photos.",
                                        decision="refund_partial" if decision == "bad_partial" else decision,
                                        amount=amount)

        self.on_dispute(index, "decide", call)

    def approve(self, index):
        refund = Refund.objects.filter(order_line=self.world.lines[index]).order_by("-pk").first()
        if refund is not None:
            self.attempt("approve", lambda: refund_approve(refund_id=refund.pk, approver=self.world.payer))

    def manual_refund(self, index, amount, token):
        def call(d: Dispute):
            line = OrderLine.objects.get(pk=d.order_line_id)
            left = Refund.objects.refundable_left([line])[line.pk]
            value = {"some": Decimal("10.00"), "left": left, "too_much": left + Decimal("1.00")}[amount]
            return refund_issue_manual(dispute=d, staff=self.world.decider, amount=value, reason="Goodwill.",
                                       token=f"form-token-{token}")

        self.on_dispute(index, "manual_refund", call)

    # --- the system -----------------------------------------------------------------------------

    @rule(delta=st.sampled_from(CLOCK_MOVES))
    def move_clock(self, delta):
        self.clock.shift(delta)
        self.stats["move_clock"] += 1

    @rule()
    def sweep(self):
        enforce_deadlines()
        self.stats["sweep"] += 1

    @rule(index=st.none() | LINE, gateway_down=st.booleans())
    def pay(self, index, gateway_down):
        """The payment task, the provider up or down: on the line's newest refund (paid or
        not), or (``index`` None) the periodic job on every refund due."""
        gateway = "disputes.tests.test_invariants.FailingGateway" if gateway_down else \
            "disputes.payments.LocalLedgerGateway"
        with override_settings(PAYMENT_GATEWAY=gateway):
            if index is None:
                pay_due_refunds()
                self.stats["pay_due"] += 1
                return
            refund = Refund.objects.filter(order_line=self.world.lines[index]).order_by("-pk").first()
            if refund is not None:
                self.attempt("pay", lambda: refund_pay(refund_id=refund.pk))

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def invariants_hold(self):
        """Read the world once (four queries), then check every invariant on it."""
        now = Facts.read([line.pk for line in self.world.lines])
        money_adds_up(now)
        every_refund_has_its_reason(now)
        timeline_agrees_with_state(now)
        terminal_states_stay_terminal(self.seen, now)
        one_dispute_per_line(now)
        self.seen = {pk: (d["state"], d["resolution"], d["reopened_at"]) for pk, d in now.disputes.items()}


@dataclass
class Facts:
    lines: dict[int, dict]
    disputes: dict[int, dict]
    timelines: dict[int, list[dict]]  # per dispute, oldest first
    refunds: list[dict]

    @classmethod
    def read(cls, line_ids: list[int]) -> "Facts":
        timelines: dict[int, list[dict]] = {}
        for event in DisputeEvent.objects.order_by("pk").values(
                "dispute_id", "kind", "from_state", "to_state", "details", "actor_id"):
            timelines.setdefault(event["dispute_id"], []).append(event)
        return cls(
            lines={row["pk"]: row for row in OrderLine.objects.filter(pk__in=line_ids).values(
                "pk", "line_total", "refunded_amount")},
            disputes={row["pk"]: row for row in Dispute.objects.values(
                "pk", "order_line_id", "state", "resolution", "amount", "counter_offer_amount", "closed_at",
                "deadline_at", "reopened_at")},
            timelines=timelines,
            refunds=list(Refund.objects.order_by("pk").values(
                "pk", "dispute_id", "order_line_id", "amount", "status", "idempotency_key", "decided_by_id")),
        )


def money_adds_up(now: Facts) -> None:
    """Refunded ≤ paid on every line; refunded = the sum of its paid refunds; and everything
    decided (paid or still to pay) stays within what was paid."""
    for pk, line in now.lines.items():
        mine = [r for r in now.refunds if r["order_line_id"] == pk]
        paid = sum((r["amount"] for r in mine if r["status"] == Refund.Status.PAID), Decimal("0"))
        decided = sum((r["amount"] for r in mine), Decimal("0"))
        assert isinstance(line["refunded_amount"], Decimal)
        assert Decimal("0") <= line["refunded_amount"] <= line["line_total"], line
        assert line["refunded_amount"] == paid, (line, paid)
        assert decided <= line["line_total"], (line, decided, "decided beyond what was paid")


def every_refund_has_its_reason(now: Facts) -> None:
    """The dispute's own refund comes from the one move into "refund pending" — an accepted
    inspection, the seller's acceptance, an accepted counter-offer, a staff decision or a
    passed deadline — for exactly the amount that move justifies; any other refund is a
    manual refund on the timeline. Each paid refund has one "refund paid" entry."""
    decisions = {}
    for refund in now.refunds:
        dispute = now.disputes[refund["dispute_id"]]
        timeline = now.timelines.get(dispute["pk"], [])
        assert refund["order_line_id"] == dispute["order_line_id"]
        if refund["idempotency_key"] == refund_key(dispute["pk"]):
            decisions[dispute["pk"]] = refund
            entries = [e for e in timeline
                       if e["to_state"] == S.REFUND_PENDING and e["from_state"] != S.REFUND_PENDING]
            assert len(entries) == 1, (refund, [(e["kind"], e["from_state"], e["to_state"]) for e in timeline])
            [entry] = entries
            assert entry["kind"] in DECIDING_KINDS, entry
            if entry["kind"] == E.INSPECTED:
                assert entry["details"]["outcome"] == Inspection.Outcome.ACCEPTED, entry
            expected = {E.OFFER_ACCEPTED: dispute["counter_offer_amount"],
                        E.STAFF_DECIDED: Decimal(entry["details"].get("amount", "0"))}.get(
                entry["kind"], dispute["amount"])
            assert refund["amount"] == expected, (entry, refund, expected)
        else:
            assert [e for e in timeline if e["kind"] == E.MANUAL_REFUND and e["details"].get("refund") == refund["pk"]
                    and e["actor_id"] == refund["decided_by_id"]], refund
        paid = [e for e in timeline if e["kind"] == E.REFUND_PAID and e["details"].get("refund") == refund["pk"]]
        assert len(paid) == (refund["status"] == Refund.Status.PAID), (refund, paid)
    for pk, dispute in now.disputes.items():
        if dispute["state"] == S.REFUNDED:
            assert decisions[pk]["status"] == Refund.Status.PAID, dispute
        if dispute["state"] == S.REFUND_PENDING:
            assert decisions[pk]["status"] != Refund.Status.PAID, dispute


def timeline_agrees_with_state(now: Facts) -> None:
    """The timeline opens with the opening, each entry leaves from where the one before
    arrived, and the last arrives in the dispute's state; the row agrees with itself."""
    for pk, dispute in now.disputes.items():
        timeline = now.timelines.get(pk, [])
        assert timeline and timeline[0]["kind"] == E.OPENED and timeline[0]["from_state"] == "", dispute
        for before, after in zip(timeline, timeline[1:]):
            assert after["from_state"] == before["to_state"], (dispute, before, after)
        assert timeline[-1]["to_state"] == dispute["state"], (dispute, timeline[-1])
        if dispute["state"] in TERMINAL_STATES:
            assert dispute["closed_at"] is not None and dispute["resolution"], dispute
            assert (dispute["state"] == S.REFUNDED) == (dispute["resolution"] == R.REFUNDED), dispute
            assert dispute["deadline_at"] is None, dispute
        else:
            assert dispute["resolution"] == R.NONE and dispute["closed_at"] is None, dispute
        reopenings = [i for i, e in enumerate(timeline) if e["kind"] == E.REOPENED]
        assert len(reopenings) <= 1, dispute
        for i in reopenings:
            # It ended by a withdrawal (moves that keep the state, a manual refund, may follow it).
            ending = [e for e in timeline[:i] if e["from_state"] != e["to_state"]][-1]
            assert timeline[i]["from_state"] == S.CLOSED and ending["kind"] == E.WITHDRAWN, (dispute, timeline)


def terminal_states_stay_terminal(seen: dict, now: Facts) -> None:
    """An ended dispute stays as it ended, except that a withdrawn one may be reopened, once."""
    for pk, (state, resolution, reopened_at) in seen.items():
        assert pk in now.disputes, "a dispute disappeared"
        if state not in TERMINAL_STATES:
            continue
        current = now.disputes[pk]
        if resolution != R.WITHDRAWN:
            assert (current["state"], current["resolution"]) == (state, resolution), ("a final ending changed",
                                                                                      state, resolution, current)
        elif current["state"] not in TERMINAL_STATES:
            assert reopened_at is None and current["reopened_at"] is not None, ("reopened twice", current)


def one_dispute_per_line(now: Facts) -> None:
    """An order line has at most one dispute, ever: a withdrawn one is reopened, any other
    ending is final (DESIGN §3); so also at most one open."""
    per_line = Counter(d["order_line_id"] for d in now.disputes.values())
    assert all(count <= 1 for count in per_line.values()), per_line


def test_invariants_hold_under_any_sequence(time_machine, summary):
    time_machine.move_to(NOW, tick=False)
    world = build_world()
    stats: Counter = Counter()
    machine = type("Machine", (DisputeMachine,), {"world": world, "clock": time_machine, "stats": stats})
    options = {} if RANDOM else {"derandomize": True}
    started, cpu = time.monotonic(), time.process_time()
    run_state_machine_as_test(machine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], **options))
    took, cpu = time.monotonic() - started, time.process_time() - cpu
    moves = sorted((k, v) for k, v in stats.items() if k != "examples")
    summary(f"Hypothesis state machine: {stats['examples']} examples, up to {STEPS} steps each, "
            f"{sum(v for _k, v in moves)} steps, {took:.1f} s ({cpu:.1f} s of CPU)")
    summary("  " + ", ".join(f"{k} {v}" for k, v in moves))
    assert stats["examples"] >= EXAMPLES
    # Each service really ran, and was really refused, somewhere in the sequences.
    for move in ("open", "send_instructions", "ship", "inspect", "counter_offer", "accept", "reject",
                 "accept_offer", "accept_rejection", "escalate", "decide", "approve", "withdraw", "reopen",
                 "manual_refund"):
        assert stats[f"{move}: done"] and stats[f"{move}: refused"], (move, stats)
    assert stats["pay: done"] and stats["sweep"] and stats["move_clock"], stats
