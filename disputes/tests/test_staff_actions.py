"""Staff actions on a dispute (issue 10), each through a service and a move of the one
lifecycle table that keeps the state (``STAY``): extend the current deadline, add an internal
note, reclassify the buyer's reason, issue a manual refund on an ended dispute (its own
permission, four eyes above the limit, one refund per form token).

Each success is checked exactly (state, deadline, the timeline entry, who is told, the refund
rows and the line's refunded amount once paid); each refusal in words, with nothing changed.
Staff are members of the groups the migrations create: a support agent and a supervisor.
"""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.models import Warehouse
from disputes.lifecycle import STAY, allowed_actions
from disputes.models import Dispute, DisputeAttachment, DisputeEvent, DisputeMessage, Refund, ReturnInstructions
from disputes.payments import GatewayReceipt
from disputes.presentation import timeline
from disputes.services import (
    NotEligible,
    dispute_accept_rejection,
    dispute_add_note,
    dispute_escalate,
    dispute_extend_deadline,
    dispute_open,
    dispute_reclassify,
    dispute_reject,
    dispute_reopen,
    dispute_send_instructions,
    dispute_staff_decide,
    dispute_withdraw,
    refund_approve,
    refund_issue_manual,
    refund_pay,
)
from disputes.services.staff import REFUND_PARTIAL
from disputes.sweep import enforce_deadlines
from disputes.tasks import pay_due_refunds
from disputes.tests.factories import disputable_line, photo
from notifications.models import Notification
from orders.models import OrderLine
from returns_portal.errors import DomainError, ErrorCode

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # 15:00 in Moscow, the site's time zone
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
PAID = Decimal("2490.00")
LIMIT = Decimal("1000.00")
S = Dispute.State
TOKEN = "form-3f9a1c2b"


class CountingGateway:
    calls: list = []

    def refund(self, *, idempotency_key, amount, currency, payment_reference) -> GatewayReceipt:
        CountingGateway.calls.append((idempotency_key, amount))
        return GatewayReceipt(reference=f"CG-{idempotency_key}")


@pytest.fixture(autouse=True)
def clock(time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.STAFF_REFUND_APPROVAL_LIMIT = LIMIT
    settings.MAX_DEADLINE_EXTENSION_DAYS = 30
    settings.PAYMENT_GATEWAY = f"{__name__}.CountingGateway"
    CountingGateway.calls = []
    return time_machine


def in_group(name: str, **fields) -> User:
    """A staff member whose only permissions are those of a group the migrations create."""
    user = StaffFactory(**fields)
    user.groups.add(Group.objects.get(name=name))
    return User.objects.get(pk=user.pk)  # permissions are cached per instance


@pytest.fixture
def agent() -> User:
    return in_group("Support agent", first_name="Agata", last_name="Agent")


@pytest.fixture
def supervisor() -> User:
    return in_group("Supervisor", first_name="Sofia", last_name="Super")


@pytest.fixture
def line() -> OrderLine:
    return disputable_line(price=PAID)


@pytest.fixture
def buyer(line) -> User:
    return line.order.buyer


@pytest.fixture
def member(line) -> User:
    return SellerFactory(store=line.order.store)


@pytest.fixture
def clerk(line) -> User:
    return SellerFactory(store=line.order.store)


def stored(dispute: Dispute) -> Dispute:
    return Dispute.objects.get(pk=dispute.pk)


def everything() -> dict[str, list[dict]]:
    """Every row a dispute service could write or change."""
    return {model.__name__: list(model.objects.order_by("pk").values())
            for model in (Dispute, DisputeEvent, DisputeMessage, DisputeAttachment, ReturnInstructions, Refund,
                          Notification, OrderLine)}


def told(since: int = 0) -> list[tuple[int, str, str, str]]:
    """(recipient, key, subject, body) of the notifications after the first ``since``."""
    return [(n.recipient_id, n.key, n.subject, n.body) for n in Notification.objects.order_by("pk")[since:]]


def last_event(dispute: Dispute) -> tuple:
    return (DisputeEvent.objects.filter(dispute=dispute).order_by("pk")
            .values_list("kind", "actor", "from_state", "to_state", "details", "created_at").last())


# --- disputes in each step, through the services ---------------------------------------------------


def local_return(line) -> Dispute:
    return dispute_open(buyer=line.order.buyer, order_line=line, kind="return", route="local", amount=PAID,
                        reason="changed_mind")


def refund_only(line, amount: Decimal = PAID) -> Dispute:
    return dispute_open(buyer=line.order.buyer, order_line=line, kind="refund_only", route="", amount=amount,
                        reason="damaged", description="The box was crushed.", evidence=[photo()])


def closed_as_rejected(line, member) -> Dispute:
    dispute = dispute_reject(dispute=refund_only(line), seller=member, reason="It left intact.")
    return stored(dispute_accept_rejection(dispute=stored(dispute), buyer=line.order.buyer))


def escalated(line, member) -> Dispute:
    dispute = dispute_reject(dispute=refund_only(line), seller=member, reason="It left intact.")
    return stored(dispute_escalate(dispute=stored(dispute), buyer=line.order.buyer, reason="Look at the photo."))


def refunded_in_part(line, member, supervisor, amount: Decimal) -> Dispute:
    """Staff decided a partial refund and it was paid: the dispute is refunded, part of the line is left."""
    dispute = dispute_staff_decide(dispute=escalated(line, member), staff=supervisor, decision=REFUND_PARTIAL,
                                   reason="Half of the set was damaged.", amount=amount)
    refund_pay(refund_id=Refund.objects.get(dispute=dispute).pk)
    assert (stored(dispute).state, OrderLine.objects.get(pk=line.pk).refunded_amount) == (S.REFUNDED, amount)
    return stored(dispute)


# --- the lifecycle offers them ----------------------------------------------------------------------


def test_the_lifecycle_offers_each_staff_action_where_it_fits(line, member, agent, supervisor, buyer):
    # An open step with a deadline: note, reclassify, extend; deciding is the supervisor's.
    open_dispute = stored(local_return(line))
    assert allowed_actions(open_dispute, agent) == {
        "extend_deadline": ["extend_deadline"], "staff_note": ["staff_note"], "reclassify": ["reclassify"]}
    assert allowed_actions(open_dispute, buyer) == {"withdraw": ["withdraw"]}

    # An ended dispute (another line of the store): a note for everyone on staff, a manual
    # refund for the supervisor only.
    ended = closed_as_rejected(disputable_line(price=PAID, store=line.order.store, warehouse_country=None), member)
    assert allowed_actions(ended, agent) == {"staff_note": ["staff_note"]}
    assert allowed_actions(ended, supervisor) == {"staff_note": ["staff_note"], "manual_refund": ["manual_refund"]}


def test_a_support_agent_may_not_decide_and_a_supervisor_may(line, member, agent, supervisor):
    dispute = escalated(line, member)
    assert "decide" not in allowed_actions(dispute, agent)
    assert allowed_actions(dispute, supervisor)["decide"] == ["staff_refund", "staff_reject"]
    before = everything()

    with pytest.raises(DomainError) as refused:
        dispute_staff_decide(dispute=dispute, staff=agent, decision="reject", reason="No damage.")

    assert refused.value.code == ErrorCode.NOT_ALLOWED
    assert everything() == before
    dispute_staff_decide(dispute=dispute, staff=supervisor, decision="reject", reason="No damage.")
    assert stored(dispute).state == S.CLOSED


# --- extend the current deadline --------------------------------------------------------------------


def test_extending_the_sellers_deadline_tells_the_store_and_reminds_again(line, buyer, member, clerk, agent, clock):
    # Given a local return waiting for the seller, whose store was reminded of the deadline.
    dispute = local_return(line)
    old = NOW + 5 * DAY
    clock.move_to(old - 12 * 3600 * SECOND, tick=False)
    assert dict(+enforce_deadlines().counts) == {"reminders_sent": 1}
    assert stored(dispute).reminded_deadline_at == old
    moment = old - 11 * 3600 * SECOND
    clock.move_to(moment, tick=False)
    before = Notification.objects.count()
    new = old + 3 * DAY

    # When a support agent gives the seller three more days.
    extended = dispute_extend_deadline(dispute=stored(dispute), staff=agent, until=new,
                                       reason="  The seller's warehouse is closed for a holiday.  ")

    # Then the deadline moved, the state did not, the reminder of the old deadline is kept.
    fresh = stored(dispute)
    assert extended.deadline_at == new
    assert (fresh.state, fresh.deadline_at, fresh.reminded_deadline_at, fresh.overdue_flagged_at) == (
        S.AWAITING_SELLER, new, old, None)
    assert (fresh.updated_at, fresh.resolution, fresh.reason) == (moment, "", "changed_mind")
    assert last_event(dispute) == ("deadline_extended", agent.pk, S.AWAITING_SELLER, S.AWAITING_SELLER, {
        "previous_deadline": old.isoformat(), "deadline": new.isoformat(),
        "reason": "The seller's warehouse is closed for a holiday."}, moment)
    # The store (every member) is told the new deadline in words; the buyer is not on the clock.
    body = (f"Marketplace staff moved the deadline of the next step on “{line.title}” to 18 Mar 2025, 15:00. "
            "Reason: The seller's warehouse is closed for a holiday.")
    assert told(before) == [(pk, "disputes.deadline_extended", f"New deadline on dispute #{dispute.pk}", body)
                            for pk in (member.pk, clerk.pk)]

    # And the sweep keeps to the new deadline: a reminder again before it, nothing before it passes.
    clock.move_to(new - 12 * 3600 * SECOND, tick=False)
    assert dict(+enforce_deadlines().counts) == {"reminders_sent": 1}
    assert stored(dispute).reminded_deadline_at == new
    clock.move_to(new - SECOND, tick=False)
    assert dict(+enforce_deadlines().counts) == {}
    clock.move_to(new + SECOND, tick=False)
    assert dict(+enforce_deadlines().counts) == {"instructions_issued": 1}


def test_extending_the_buyers_time_to_ship_moves_ship_by_and_tells_the_buyer(line, buyer, member, agent):
    dispute = dispute_send_instructions(dispute=local_return(line), seller=member,
                                        warehouse=Warehouse.objects.get(store=line.order.store), method="drop_off",
                                        carrier="Russian Post", text="Write the RMA code on it.")
    new = NOW + 12 * DAY
    before = Notification.objects.count()

    dispute_extend_deadline(dispute=dispute, staff=agent, until=new, reason="The post office was closed.")

    assert (stored(dispute).state, stored(dispute).deadline_at) == (S.AWAITING_BUYER_SHIPMENT, new)
    assert ReturnInstructions.objects.get(dispute=dispute).ship_by == new
    assert told(before) == [(buyer.pk, "disputes.deadline_extended", f"New deadline on dispute #{dispute.pk}",
                             f"Marketplace staff moved the deadline of the next step on “{line.title}” to "
                             "22 Mar 2025, 15:00. Reason: The post office was closed.")]


def test_extending_an_overdue_escalation_clears_the_flag_and_tells_nobody(line, member, agent, clock):
    # Given an escalation staff did not decide in time: the sweep flagged it overdue.
    dispute = escalated(line, member)
    old = stored(dispute).deadline_at
    clock.move_to(old + DAY, tick=False)
    assert dict(+enforce_deadlines().counts) == {"staff_overdue_flagged": 1}
    assert stored(dispute).overdue_flagged_at == old + DAY
    before = Notification.objects.count()
    new = old + 3 * DAY

    dispute_extend_deadline(dispute=stored(dispute), staff=agent, until=new, reason="Waiting for the courier.")

    fresh = stored(dispute)
    assert (fresh.state, fresh.deadline_at, fresh.overdue_flagged_at) == (S.ESCALATED, new, None)
    assert last_event(dispute)[:5] == ("deadline_extended", agent.pk, S.ESCALATED, S.ESCALATED, {
        "previous_deadline": old.isoformat(), "deadline": new.isoformat(), "reason": "Waiting for the courier."})
    assert told(before) == []  # staff are on the clock: no buyer or store to tell
    # Flagged again, once, when the new deadline passes.
    clock.move_to(new + SECOND, tick=False)
    assert dict(+enforce_deadlines().counts) == {"staff_overdue_flagged": 1}
    assert dict(+enforce_deadlines().counts) == {}


@pytest.mark.parametrize(("case", "code", "message"), [
    ("blank_reason", ErrorCode.REASON_REQUIRED, "Write why the deadline is extended; both sides will read it."),
    ("not_later", ErrorCode.INVALID_DEADLINE,
     "The new deadline must be later than the current one, 15 Mar 2025, 15:00."),
    ("too_far", ErrorCode.INVALID_DEADLINE, "The new deadline can be at most 30 days from now: 9 Apr 2025, 15:00."),
    ("naive", ErrorCode.INVALID_DEADLINE, "Choose the new deadline's date and time."),
    ("not_a_date", ErrorCode.INVALID_DEADLINE, "Choose the new deadline's date and time."),
    ("seller", ErrorCode.NOT_ALLOWED, "Only marketplace staff can do this."),
    ("staff_flag_only", ErrorCode.NOT_ALLOWED, "Only marketplace staff can do this."),
])
def test_extending_a_deadline_is_refused_in_words_and_changes_nothing(case, code, message, line, member, agent):
    dispute = local_return(line)
    until = {"not_later": NOW + 5 * DAY, "too_far": NOW + 30 * DAY + SECOND,
             "naive": (NOW + 6 * DAY).replace(tzinfo=None), "not_a_date": "2025-03-16"}.get(case, NOW + 6 * DAY)
    staff = {"seller": member, "staff_flag_only": StaffFactory()}.get(case, agent)
    before = everything()

    with pytest.raises(DomainError) as refused:
        dispute_extend_deadline(dispute=dispute, staff=staff, until=until,
                                reason="   " if case == "blank_reason" else "More time.")

    assert (refused.value.code, refused.value.message) == (code, message)
    assert everything() == before


def test_the_longest_extension_is_allowed_to_the_second(line, agent):
    dispute = local_return(line)
    dispute_extend_deadline(dispute=dispute, staff=agent, until=NOW + 30 * DAY, reason="A long holiday.")
    assert stored(dispute).deadline_at == NOW + 30 * DAY


def test_an_overdue_deadline_is_extended_only_into_the_future(line, agent, clock):
    # The seller's deadline passed an hour ago and the sweep has not run yet.
    dispute = local_return(line)
    clock.move_to(NOW + 5 * DAY + 3600 * SECOND, tick=False)
    before = everything()

    with pytest.raises(DomainError) as refused:
        dispute_extend_deadline(dispute=dispute, staff=agent, until=NOW + 5 * DAY + 1800 * SECOND,
                                reason="More time.")

    assert (refused.value.code, refused.value.message) == (
        ErrorCode.INVALID_DEADLINE, "The new deadline must be in the future.")
    assert everything() == before


@pytest.mark.parametrize("build", ["closed", "refund_pending"])
def test_no_deadline_to_extend_once_nobody_is_on_the_clock(build, line, member, agent):
    dispute = closed_as_rejected(line, member) if build == "closed" else stored(
        dispute_staff_decide(dispute=escalated(line, member), staff=in_group("Supervisor"), decision="refund_full",
                             reason="Damaged."))
    before = everything()

    with pytest.raises(DomainError) as refused:
        dispute_extend_deadline(dispute=dispute, staff=agent, until=NOW + 6 * DAY, reason="More time.")

    label = {"closed": "Closed", "refund_pending": "Refund being paid"}[build]
    assert (refused.value.code, refused.value.message) == (
        ErrorCode.INVALID_TRANSITION, f"This dispute is “{label}”, so this cannot be done now.")
    assert everything() == before


# --- internal staff notes -----------------------------------------------------------------------------


@pytest.mark.parametrize("ended", [False, True])
def test_a_staff_note_is_recorded_in_any_state_and_tells_nobody(ended, line, member, agent):
    dispute = closed_as_rejected(line, member) if ended else stored(local_return(line))
    state, deadline = dispute.state, dispute.deadline_at
    before = Notification.objects.count()

    event = dispute_add_note(dispute=dispute, staff=agent, note="  The buyer called; they will send more photos.  ")

    assert isinstance(event, DisputeEvent) and event.pk is not None
    assert last_event(dispute) == ("staff_note", agent.pk, state, state,
                                   {"note": "The buyer called; they will send more photos."}, NOW)
    assert DisputeEvent.objects.get(pk=event.pk).kind == "staff_note"
    fresh = stored(dispute)
    assert (fresh.state, fresh.deadline_at, fresh.resolution) == (state, deadline, dispute.resolution)
    assert Notification.objects.count() == before


@pytest.mark.parametrize(("case", "code", "message"), [
    ("blank", ErrorCode.EMPTY_MESSAGE, "Write the note."),
    ("buyer", ErrorCode.NOT_ALLOWED, "Only marketplace staff can do this."),
    ("seller", ErrorCode.NOT_ALLOWED, "Only marketplace staff can do this."),
    ("view_only_staff", ErrorCode.NOT_ALLOWED, "Only marketplace staff can do this."),
])
def test_a_staff_note_is_refused_in_words_and_changes_nothing(case, code, message, line, buyer, member, agent):
    dispute = local_return(line)
    staff = {"buyer": buyer, "seller": member,
             "view_only_staff": StaffFactory(permissions=["disputes.view_dispute"])}.get(case, agent)
    before = everything()

    with pytest.raises(DomainError) as refused:
        dispute_add_note(dispute=dispute, staff=staff, note=" \n " if case == "blank" else "A note.")

    assert (refused.value.code, refused.value.message) == (code, message)
    assert everything() == before


NOTE = "Internal: the buyer has opened four disputes this month."


def test_the_buyer_and_the_seller_never_see_a_staff_note_and_staff_do(client, line, buyer, member, agent):
    # Given a dispute with a staff note among its events.
    dispute = local_return(line)
    dispute_add_note(dispute=dispute, staff=agent, note=NOTE)
    page = reverse("disputes:dispute_detail", args=[dispute.pk])

    # The buyer's and the seller's dispute pages and their notifications show nothing of it...
    for person in (buyer, member):
        client.force_login(person)
        for url in (page, reverse("notifications:list")):
            response = client.get(url)
            assert response.status_code == 200
            html = response.content.decode()
            assert NOTE not in html and "Internal staff note" not in html, (person, url)
        client.logout()
    client.force_login(buyer)
    entries = client.get(page).context["timeline"]
    assert [entry.event.kind for entry in entries] == ["opened"]

    # ...while staff working on disputes read it on the same page.
    client.force_login(agent)
    response = client.get(page)
    assert response.status_code == 200
    assert NOTE in response.content.decode()
    assert [entry.event.kind for entry in response.context["timeline"]] == ["opened", "staff_note"]


def test_the_timeline_leaves_staff_notes_out_for_the_buyer_and_the_seller(line, buyer, member, agent):
    dispute = local_return(line)
    dispute_add_note(dispute=dispute, staff=agent, note=NOTE)
    events = list(DisputeEvent.objects.filter(dispute=dispute).select_related("actor"))

    assert [e.event.kind for e in timeline(events, stored(dispute), buyer)] == ["opened"]
    assert [e.event.kind for e in timeline(events, stored(dispute), member)] == ["opened"]
    staff_view = timeline(events, stored(dispute), agent)
    assert [(e.event.kind, e.note) for e in staff_view] == [("opened", "Changed my mind"), ("staff_note", NOTE)]
    # The admin's timeline (no reader given) is staff's.
    assert [e.event.kind for e in timeline(events)] == ["opened", "staff_note"]


# --- reclassify the buyer's reason ---------------------------------------------------------------------


def test_reclassifying_the_reason_tells_both_sides_in_words(client, line, buyer, member, clerk, agent):
    dispute = local_return(line)
    deadline = stored(dispute).deadline_at
    before = Notification.objects.count()

    changed = dispute_reclassify(dispute=dispute, staff=agent, reason_code="not_as_described",
                                 why=" The photos show another model. ")

    fresh = stored(dispute)
    assert changed.reason == fresh.reason == "not_as_described"
    assert (fresh.state, fresh.deadline_at) == (S.AWAITING_SELLER, deadline)
    assert last_event(dispute) == ("reclassified", agent.pk, S.AWAITING_SELLER, S.AWAITING_SELLER, {
        "from_reason": "changed_mind", "to_reason": "not_as_described", "why": "The photos show another model."},
        NOW)
    body = (f"Marketplace staff changed the reason for the dispute on “{line.title}” from “Changed my mind” to "
            "“Not as described”. Why: The photos show another model.")
    subject = f"The reason for dispute #{dispute.pk} was changed"
    assert told(before) == [(pk, "disputes.reclassified", subject, body) for pk in (buyer.pk, member.pk, clerk.pk)]

    # The buyer's timeline reads the reasons in words, never their codes.
    client.force_login(buyer)
    html = client.get(reverse("disputes:dispute_detail", args=[dispute.pk])).content.decode()
    timeline_html = html[html.index('id="timeline-title"'):html.index('id="messages-title"')]
    assert "Reason for the dispute changed</strong>" in timeline_html
    assert "Reason changed from “Changed my mind” to “Not as described”. Why: The photos show another model." in (
        timeline_html.replace("&ldquo;", "“").replace("&rdquo;", "”"))
    assert "not_as_described" not in timeline_html and "changed_mind" not in timeline_html


@pytest.mark.parametrize(("case", "code", "message"), [
    ("same", ErrorCode.INVALID_CHOICE, "The dispute's reason already is “Changed my mind”."),
    ("unknown", ErrorCode.INVALID_CHOICE, "Choose one of the reasons."),
    ("blank_why", ErrorCode.REASON_REQUIRED, "Write why the reason changes; both sides will read it."),
    ("ended", ErrorCode.INVALID_TRANSITION, "This dispute is “Closed”, so this cannot be done now."),
    ("seller", ErrorCode.NOT_ALLOWED, "Only marketplace staff can do this."),
])
def test_reclassifying_is_refused_in_words_and_changes_nothing(case, code, message, line, member, agent):
    dispute = local_return(line)
    if case == "ended":
        dispute = dispute_withdraw(dispute=dispute, buyer=line.order.buyer)
    reason_code = {"same": "changed_mind", "unknown": "bored"}.get(case, "damaged")
    before = everything()

    with pytest.raises(DomainError) as refused:
        dispute_reclassify(dispute=stored(dispute), staff=member if case == "seller" else agent,
                           reason_code=reason_code, why="" if case == "blank_why" else "The photos.")

    assert (refused.value.code, refused.value.message) == (code, message)
    assert everything() == before


# --- manual refunds --------------------------------------------------------------------------------------


def test_a_manual_refund_on_a_closed_dispute_is_paid_and_the_dispute_stays_closed(
    line, buyer, member, supervisor, django_capture_on_commit_callbacks
):
    # Given a dispute closed as rejected (the buyer accepted the seller's answer).
    dispute = closed_as_rejected(line, member)
    closed_at = dispute.closed_at
    before = Notification.objects.count()

    # When a supervisor refunds part of it as goodwill (below the approval limit).
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refund = refund_issue_manual(dispute=dispute, staff=supervisor, amount=Decimal("500.00"),
                                     reason=" Goodwill: the courier crushed the box. ", token=TOKEN)

    # Then one refund is decided under its own key and paid once, after commit.
    refund = Refund.objects.get(pk=refund.pk)
    assert [c.args for c in callbacks if c.args[0] == "disputes.tasks.pay_refunds"] == [
        ("disputes.tasks.pay_refunds", ([refund.pk],))]
    assert (refund.amount, refund.currency, refund.status, refund.decided_by, refund.approved_by, refund.reason) == (
        Decimal("500.00"), "RUB", "paid", supervisor, None, "Goodwill: the courier crushed the box.")
    assert refund.idempotency_key == f"dispute-{dispute.pk}-manual-{TOKEN}"
    assert Refund.objects.count() == 1
    assert CountingGateway.calls == [(refund.idempotency_key, Decimal("500.00"))]
    assert OrderLine.objects.get(pk=line.pk).refunded_amount == Decimal("500.00")
    # The dispute stays closed as rejected; the timeline records the refund and its payment.
    fresh = stored(dispute)
    assert (fresh.state, fresh.resolution, fresh.closed_at, fresh.deadline_at) == (
        S.CLOSED, "rejected", closed_at, None)
    events = list(DisputeEvent.objects.filter(dispute=dispute).order_by("pk")
                  .values_list("kind", "actor", "from_state", "to_state", "details"))
    assert events[-2:] == [
        ("manual_refund", supervisor.pk, S.CLOSED, S.CLOSED, {
            "refund": refund.pk, "amount": "500.00", "currency": "RUB",
            "reason": "Goodwill: the courier crushed the box."}),
        ("refund_paid", None, S.CLOSED, S.CLOSED, {
            "refund": refund.pk, "amount": "500.00", "currency": "RUB", "reference": f"CG-{refund.idempotency_key}"}),
    ]
    # The buyer is told of the decision, then both sides of the payment.
    assert told(before) == [
        (buyer.pk, "disputes.manual_refund.buyer", f"A refund on dispute #{dispute.pk}",
         f"Marketplace staff decided to refund you 500.00\u00a0₽ for “{line.title}”. Reason: Goodwill: the courier "
         "crushed the box. You will be told when it is paid."),
        (buyer.pk, "disputes.refund_paid.buyer", "You were refunded",
         f"500.00\u00a0₽ were refunded for “{line.title}”."),
        (member.pk, "disputes.refund_paid.seller", f"Dispute #{dispute.pk} was refunded",
         f"500.00\u00a0₽ were refunded for “{line.title}”."),
    ]
    # Paying it again changes nothing.
    refund_pay(refund_id=refund.pk)
    assert OrderLine.objects.get(pk=line.pk).refunded_amount == Decimal("500.00")
    assert len(CountingGateway.calls) == 1


def test_a_manual_refund_above_the_limit_waits_for_a_second_supervisor(
    line, buyer, member, supervisor, django_capture_on_commit_callbacks
):
    dispute = closed_as_rejected(line, member)
    second = in_group("Supervisor")
    agent = in_group("Support agent")
    before = Notification.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_issue_manual(dispute=dispute, staff=supervisor, amount=Decimal("1500.00"),
                                     reason="Goodwill.", token=TOKEN)

    # It waits: nothing paid, the other supervisor is asked; the issuer and agents are not.
    assert (Refund.objects.get().status, CountingGateway.calls) == ("awaiting_approval", [])
    assert sorted((who, key) for who, key, _s, _b in told(before)) == sorted([
        (buyer.pk, "disputes.manual_refund.buyer"), (second.pk, "disputes.refund_awaits_approval.staff")])
    assert agent.pk not in [who for who, *_rest in told(before)]
    assert pay_due_refunds() == 0
    assert allowed_actions(stored(dispute), second)["approve_refund"] == ["approve_refund"]
    assert "approve_refund" not in allowed_actions(stored(dispute), supervisor)
    # The issuer cannot approve it.
    snapshot = everything()
    with pytest.raises(DomainError) as refused:
        refund_approve(refund_id=refund.pk, approver=supervisor)
    assert refused.value.message == "You decided this refund; another staff member must approve it."
    assert everything() == snapshot

    # When the second supervisor approves it, it is paid; the dispute stays closed.
    with django_capture_on_commit_callbacks(execute=True):
        refund_approve(refund_id=refund.pk, approver=second)

    refund = Refund.objects.get()
    assert (refund.status, refund.approved_by, refund.approved_at) == ("paid", second, NOW)
    assert OrderLine.objects.get(pk=line.pk).refunded_amount == Decimal("1500.00")
    fresh = stored(dispute)
    assert (fresh.state, fresh.resolution) == (S.CLOSED, "rejected")
    assert [row[:4] for row in DisputeEvent.objects.filter(dispute=dispute).order_by("pk").values_list(
        "kind", "actor", "from_state", "to_state")][-3:] == [
        ("manual_refund", supervisor.pk, S.CLOSED, S.CLOSED),
        ("refund_approved", second.pk, S.CLOSED, S.CLOSED),
        ("refund_paid", None, S.CLOSED, S.CLOSED),
    ]


def test_the_same_form_token_issues_one_refund(line, buyer, member, supervisor):
    # Given a manual refund of everything that was paid (a double click sends the form twice).
    dispute = closed_as_rejected(line, member)
    first = refund_issue_manual(dispute=dispute, staff=supervisor, amount=PAID, reason="Goodwill.", token=TOKEN)
    after_first = everything()

    # When the same form arrives again: the same refund, nothing more written.
    again = refund_issue_manual(dispute=stored(dispute), staff=supervisor, amount=PAID, reason="Goodwill.",
                                token=TOKEN)

    assert again.pk == first.pk
    assert everything() == after_first
    assert DisputeEvent.objects.filter(dispute=dispute, kind="manual_refund").count() == 1

    # A new form (a new token) for more than is left is refused.
    with pytest.raises(DomainError) as refused:
        refund_issue_manual(dispute=stored(dispute), staff=supervisor, amount=Decimal("1.00"), reason="More.",
                            token="form-other-token")
    assert refused.value.message == (
        "Nothing is left to refund on this item: all of the 2,490.00\u00a0₽ paid is refunded or being refunded.")
    assert everything() == after_first


def test_a_form_token_cannot_be_reused_for_another_refund(line, member, supervisor):
    dispute = closed_as_rejected(line, member)
    refund_issue_manual(dispute=dispute, staff=supervisor, amount=Decimal("100.00"), reason="Goodwill.", token=TOKEN)
    before = everything()

    for staff, amount in ((supervisor, Decimal("200.00")), (in_group("Supervisor"), Decimal("100.00"))):
        with pytest.raises(DomainError) as refused:
            refund_issue_manual(dispute=stored(dispute), staff=staff, amount=amount, reason="Goodwill.", token=TOKEN)
        assert (refused.value.code, refused.value.message) == (
            ErrorCode.INVALID_TOKEN,
            "This form was already used for another refund; open it again to issue a new one.")
    assert everything() == before


def test_pending_refunds_on_a_line_never_add_up_to_more_than_was_paid(line, member, supervisor):
    # Given a manual refund of 2,000.00 of the 2,490.00 paid, decided and not paid yet.
    dispute = closed_as_rejected(line, member)
    refund_issue_manual(dispute=dispute, staff=supervisor, amount=Decimal("2000.00"), reason="Goodwill.",
                        token=TOKEN)
    assert Refund.objects.get().status == "awaiting_approval"
    before = everything()

    with pytest.raises(DomainError) as refused:
        refund_issue_manual(dispute=stored(dispute), staff=supervisor, amount=Decimal("490.01"), reason="More.",
                            token="form-second")

    assert (refused.value.code, refused.value.message) == (
        ErrorCode.INVALID_AMOUNT, "A refund must be more than zero and at most 490.00\u00a0₽.")
    assert everything() == before
    refund_issue_manual(dispute=stored(dispute), staff=supervisor, amount=Decimal("490.00"), reason="More.",
                        token="form-second")
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [Decimal("490.00"), Decimal("2000.00")]


def test_a_refunded_dispute_takes_a_manual_refund_of_what_is_left(line, member, supervisor,
                                                                   django_capture_on_commit_callbacks):
    # Given staff refunded 1,000.00 of the 2,490.00 paid.
    dispute = refunded_in_part(line, member, supervisor, Decimal("1000.00"))
    before = everything()

    with pytest.raises(DomainError) as refused:
        refund_issue_manual(dispute=dispute, staff=supervisor, amount=Decimal("1490.01"), reason="The rest.",
                            token=TOKEN)
    assert refused.value.message == "A refund must be more than zero and at most 1,490.00\u00a0₽."
    assert everything() == before

    with django_capture_on_commit_callbacks(execute=True):
        refund_issue_manual(dispute=dispute, staff=supervisor, amount=Decimal("990.00"), reason="The rest.",
                            token=TOKEN)

    assert OrderLine.objects.get(pk=line.pk).refunded_amount == Decimal("1990.00")
    fresh = stored(dispute)
    assert (fresh.state, fresh.resolution) == (S.REFUNDED, "refunded")
    assert list(DisputeEvent.objects.filter(dispute=dispute).order_by("pk").values_list(
        "kind", "from_state", "to_state"))[-2:] == [
        ("manual_refund", S.REFUNDED, S.REFUNDED), ("refund_paid", S.REFUNDED, S.REFUNDED)]


@pytest.mark.parametrize(("case", "code", "message"), [
    ("support_agent", ErrorCode.NOT_ALLOWED, "You may not do this."),
    ("decider_without_the_permission", ErrorCode.NOT_ALLOWED, "You may not do this."),
    ("seller", ErrorCode.NOT_ALLOWED, "Only marketplace staff can do this."),
    ("open_dispute", ErrorCode.INVALID_TRANSITION,
     "This dispute is still open: its refund comes with its decision (the seller's answer, the inspection or a "
     "staff decision). A manual refund is for a dispute that has ended."),
    ("zero", ErrorCode.INVALID_AMOUNT, "An amount must be more than zero."),
    ("negative", ErrorCode.INVALID_AMOUNT, "An amount must be more than zero."),
    ("not_an_amount", ErrorCode.INVALID_AMOUNT, "Enter the amount of the refund."),
    ("too_many_decimals", ErrorCode.INVALID_AMOUNT, "Amounts in RUB can have at most 2 decimal places."),
    ("over_what_was_paid", ErrorCode.INVALID_AMOUNT, "A refund must be more than zero and at most 2,490.00\u00a0₽."),
    ("blank_reason", ErrorCode.REASON_REQUIRED, "Write the reason for the refund; the buyer will read it."),
    ("no_token", ErrorCode.INVALID_TOKEN, "The form has no one-time code; open it again."),
    ("odd_token", ErrorCode.INVALID_TOKEN, "The form has no one-time code; open it again."),
])
def test_a_manual_refund_is_refused_in_words_and_changes_nothing(case, code, message, line, member, supervisor):
    dispute = stored(refund_only(line)) if case == "open_dispute" else closed_as_rejected(line, member)
    staff = {
        "support_agent": in_group("Support agent"),
        "decider_without_the_permission": StaffFactory(permissions=[
            "disputes.view_dispute", "disputes.change_dispute", "disputes.decide_dispute", "disputes.pay_refund"]),
        "seller": member,
    }.get(case, supervisor)
    amount = {"zero": Decimal("0.00"), "negative": Decimal("-5.00"), "not_an_amount": 100.0,
              "too_many_decimals": Decimal("10.001"), "over_what_was_paid": Decimal("2490.01")}.get(
        case, Decimal("100.00"))
    token = {"no_token": "", "odd_token": "x" * 41}.get(case, TOKEN)
    before = everything()

    with pytest.raises(DomainError) as refused:
        refund_issue_manual(dispute=dispute, staff=staff, amount=amount,
                            reason=" " if case == "blank_reason" else "Goodwill.", token=token)

    assert (refused.value.code, refused.value.message) == (code, message)
    assert everything() == before


def test_a_withdrawn_dispute_refunded_by_hand_is_not_reopened_for_more_than_is_left(line, buyer, member, supervisor):
    # Given a withdrawn claim for the whole line, and a goodwill refund of 100.00 on it.
    dispute = dispute_withdraw(dispute=refund_only(line), buyer=buyer)
    refund_issue_manual(dispute=stored(dispute), staff=supervisor, amount=Decimal("100.00"), reason="Goodwill.",
                        token=TOKEN)
    before = everything()

    # When the buyer reopens it, asking the whole 2,490.00 again: refused, nothing changes.
    with pytest.raises(NotEligible) as refused:
        dispute_reopen(dispute=stored(dispute), buyer=buyer)

    assert refused.value.result.failed_codes == ("compensation_in_range",)
    assert everything() == before


def test_a_manual_refund_reads_in_the_buyers_timeline(client, line, buyer, member, supervisor):
    dispute = closed_as_rejected(line, member)
    refund_issue_manual(dispute=dispute, staff=supervisor, amount=Decimal("500.00"), reason="Goodwill.", token=TOKEN)

    client.force_login(buyer)
    html = client.get(reverse("disputes:dispute_detail", args=[dispute.pk])).content.decode()
    timeline_html = html[html.index('id="timeline-title"'):html.index('id="messages-title"')]

    assert "Manual refund</strong>" in timeline_html
    assert "Refund of 500.00\u00a0₽. Reason: Goodwill." in timeline_html
    assert "Closed → Closed" not in timeline_html  # a move that keeps the state shows no arrow
    assert "manual_refund" not in timeline_html


def test_stay_moves_keep_the_state(line):
    from disputes.lifecycle import MOVES

    kept = {name for name, t in MOVES.items() if t.target == STAY}
    assert kept == {"approve_refund", "extend_deadline", "staff_note", "reclassify", "manual_refund",
                    "manual_refund_paid"}


def test_the_second_buyer_cannot_touch_anything(line, agent):
    dispute = local_return(line)
    stranger = BuyerFactory()
    assert allowed_actions(dispute, stranger) == {}


def test_the_dispute_page_reads_staff_notes_in_flat_queries(client, line, buyer, member, agent, supervisor):
    # Given an ended dispute with one staff note, then thirty: each reader's page costs the same.
    dispute = closed_as_rejected(line, member)
    page = reverse("disputes:dispute_detail", args=[dispute.pk])
    counts = {}
    for notes in (1, 30):
        for _ in range(notes - DisputeEvent.objects.filter(dispute=dispute, kind="staff_note").count()):
            dispute_add_note(dispute=stored(dispute), staff=agent, note="Called the buyer.")
        for reader in (buyer, member, supervisor):
            client.force_login(reader)
            with CaptureQueriesContext(connection) as queries:
                assert client.get(page).status_code == 200
            counts[notes, reader.pk] = len(queries)

    readers = (buyer.pk, member.pk, supervisor.pk)
    assert [counts[1, reader] for reader in readers] == [counts[30, reader] for reader in readers]
    assert max(counts.values()) <= 12
