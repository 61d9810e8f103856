"""Staff actions on the admin's dispute page, over HTTP, as a support agent and as a
supervisor (the real groups): each goes through its service, is audited in the timeline,
and a refused one changes nothing and says why."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import StaffFactory
from disputes.models import Dispute, DisputeEvent, Refund
from disputes.tests.factories import DisputeFactory

pytestmark = pytest.mark.django_db

S = Dispute.State


def member(group: str) -> User:
    user = StaffFactory()
    user.groups.add(Group.objects.get(name=group))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def agent():
    return member("Support agent")


@pytest.fixture
def supervisor():
    return member("Supervisor")


@pytest.fixture
def escalated():
    return DisputeFactory(state=S.ESCALATED, deadline_at=timezone.now() - timedelta(hours=3),
                          overdue_flagged_at=timezone.now() - timedelta(hours=1))


@pytest.fixture
def closed():
    return DisputeFactory(state=S.CLOSED, resolution=Dispute.Resolution.REJECTED, deadline_at=None,
                          closed_at=timezone.now())


def act(client, dispute, action, data, *, follow=False):
    return client.post(reverse("admin:disputes_dispute_action", args=[dispute.pk, action]), data, follow=follow)


def page(client, dispute) -> str:
    return client.get(reverse("admin:disputes_dispute_change", args=[dispute.pk])).content.decode()


def snapshot(dispute) -> tuple:
    d = Dispute.objects.get(pk=dispute.pk)
    return (d.state, d.deadline_at, d.reason, d.overdue_flagged_at, d.resolution,
            list(DisputeEvent.objects.filter(dispute=d).values_list("kind", flat=True)),
            list(Refund.objects.filter(dispute=d).values_list("amount", "status")))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_support_agent_is_offered_what_the_lifecycle_allows_them(client, agent, escalated):
    client.force_login(agent)

    shown = page(client, escalated)

    assert 'id="action-extend_deadline"' in shown
    assert 'id="action-reclassify"' in shown
    assert 'id="action-staff_note"' in shown
    assert 'id="action-manual_refund"' not in shown  # open: decided, not refunded by hand
    assert "Decide this dispute" not in shown  # supervisors decide


def test_a_supervisor_is_offered_the_decision_and_on_an_ended_dispute_a_manual_refund(client, supervisor, escalated,
                                                                                        closed):
    client.force_login(supervisor)

    assert "Decide this dispute" in page(client, escalated)
    ended = page(client, closed)
    assert 'id="action-manual_refund"' in ended
    assert 'id="action-staff_note"' in ended
    assert 'id="action-extend_deadline"' not in ended  # nobody is on the clock


@pytest.mark.parametrize("who", ["Support agent", "Supervisor"])
def test_extending_the_deadline(client, escalated, who):
    staff = member(who)
    client.force_login(staff)
    until = timezone.localtime() + timedelta(days=3)

    response = act(client, escalated, "extend_deadline",
                   {"until": until.strftime("%Y-%m-%dT%H:%M"), "reason": "Waiting for the courier's report."},
                   follow=True)

    assert response.redirect_chain == [(reverse("admin:disputes_dispute_change", args=[escalated.pk]), 302)]
    assert messages_of(response) == ["The deadline was extended; whoever must act was told."]
    escalated.refresh_from_db()
    assert escalated.state == S.ESCALATED
    assert escalated.deadline_at == until.replace(second=0, microsecond=0)
    assert escalated.overdue_flagged_at is None
    event = DisputeEvent.objects.get(dispute=escalated)
    assert (event.kind, event.actor_id, event.from_state, event.to_state, event.details["reason"]) == (
        "deadline_extended", staff.pk, S.ESCALATED, S.ESCALATED, "Waiting for the courier's report.")
    assert "Waiting for the courier&#x27;s report." in response.content.decode()  # in the timeline


def test_an_extension_into_the_past_is_refused_and_changes_nothing(client, agent, escalated):
    client.force_login(agent)
    before = snapshot(escalated)

    response = act(client, escalated, "extend_deadline",
                   {"until": (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                    "reason": "Because."})  # later than the deadline three hours ago, yet past

    assert response.status_code == 422
    assert "The new deadline must be in the future." in response.content.decode()
    assert 'id="action-extend_deadline" class="staff-action" open' in response.content.decode()
    assert snapshot(escalated) == before


def test_an_action_without_its_reason_is_refused_and_changes_nothing(client, agent, escalated):
    client.force_login(agent)
    before = snapshot(escalated)

    response = act(client, escalated, "reclassify", {"reason_code": "damaged", "why": "  "})

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert snapshot(escalated) == before


def test_reclassifying_and_a_staff_note(client, agent, escalated):
    client.force_login(agent)

    reclassified = act(client, escalated, "reclassify", {"reason_code": "damaged", "why": "The photos show a crack."})
    noted = act(client, escalated, "staff_note", {"note": "Called the store; they agree."})

    assert reclassified.status_code == noted.status_code == 302
    escalated.refresh_from_db()
    assert escalated.reason == "damaged"
    assert list(DisputeEvent.objects.filter(dispute=escalated).values_list("kind", "actor", "details")) == [
        ("reclassified", agent.pk, {"from_reason": "changed_mind", "to_reason": "damaged", "why": "The photos show a crack."}),
        ("staff_note", agent.pk, {"note": "Called the store; they agree."}),
    ]
    assert "Called the store; they agree." in page(client, escalated)


def test_a_support_agent_may_not_issue_a_manual_refund(client, agent, closed):
    client.force_login(agent)
    before = snapshot(closed)

    response = act(client, closed, "manual_refund",
                   {"amount": "100", "reason": "Goodwill.", "token": "tok-agent-0001"}, follow=True)

    assert messages_of(response) == ["You may not do this."]
    assert snapshot(closed) == before


def test_a_supervisor_issues_a_manual_refund_once_however_often_the_form_is_sent(
        client, supervisor, closed, django_capture_on_commit_callbacks):
    client.force_login(supervisor)
    form = {"amount": "300.00", "reason": "Goodwill for the delay.", "token": "tok-supervisor-0001"}

    with django_capture_on_commit_callbacks(execute=True):
        first = act(client, closed, "manual_refund", form)
        again = act(client, closed, "manual_refund", form)

    assert first.status_code == again.status_code == 302
    assert list(Refund.objects.filter(dispute=closed).values_list("amount", "status", "decided_by")) == [
        (Decimal("300.00"), "paid", supervisor.pk)]
    closed.refresh_from_db()
    assert closed.state == S.CLOSED
    assert closed.order_line.refunded_amount == Decimal("300.00")


def test_a_manual_refund_over_what_was_paid_is_refused(client, supervisor, closed):
    client.force_login(supervisor)
    before = snapshot(closed)

    response = act(client, closed, "manual_refund", {"amount": "99999", "reason": "Oops.", "token": "tok-over-0001"})

    assert response.status_code == 422
    assert "2,490.00\u00a0₽" in response.content.decode()
    assert snapshot(closed) == before


def test_a_second_supervisor_approves_a_large_refund_on_the_page(client, closed, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.STAFF_REFUND_APPROVAL_LIMIT = Decimal("100")
    decider, approver = member("Supervisor"), member("Supervisor")
    client.force_login(decider)
    act(client, closed, "manual_refund", {"amount": "500", "reason": "Goodwill.", "token": "tok-large-0001"})
    refund = Refund.objects.get(dispute=closed)
    assert refund.status == "awaiting_approval"
    assert "Approve and pay</button>" not in page(client, closed)  # not their own

    refused = act(client, closed, "approve_refund", {"refund": refund.pk}, follow=True)
    assert messages_of(refused) == ["You decided this refund; another staff member must approve it."]
    assert Refund.objects.get().status == "awaiting_approval"

    client.force_login(approver)
    assert "Approve and pay</button>" in page(client, closed)
    with django_capture_on_commit_callbacks(execute=True):
        approved = act(client, closed, "approve_refund", {"refund": refund.pk}, follow=True)
    assert messages_of(approved) == ["Refund approved; it is being paid."]
    refund.refresh_from_db()
    assert (refund.status, refund.approved_by_id) == ("paid", approver.pk)


def test_viewing_staff_cannot_act_and_an_unknown_action_is_not_found(client, escalated):
    viewer = StaffFactory(permissions=["disputes.view_dispute"])
    client.force_login(viewer)
    before = snapshot(escalated)

    assert act(client, escalated, "staff_note", {"note": "Hi."}).status_code == 403
    assert snapshot(escalated) == before

    client.force_login(member("Supervisor"))
    assert act(client, escalated, "delete_everything", {}).status_code == 404
    assert act(client, Dispute(pk=999999), "staff_note", {"note": "Hi."}).status_code == 404
    assert client.get(reverse("admin:disputes_dispute_action", args=[escalated.pk, "staff_note"])).status_code == 302
    assert snapshot(escalated) == before


def test_extending_an_ended_dispute_is_refused_in_words(client, agent, closed):
    client.force_login(agent)
    before = snapshot(closed)

    response = act(client, closed, "extend_deadline",
                   {"until": (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"), "reason": "x"},
                   follow=True)

    [message] = messages_of(response)
    assert message.endswith(".") and "extend_deadline" not in message
    assert snapshot(closed) == before


def test_the_manual_refund_form_offers_what_is_left_after_refunds_not_paid_yet(client, closed, settings):
    settings.STAFF_REFUND_APPROVAL_LIMIT = Decimal("100")
    client.force_login(member("Supervisor"))
    act(client, closed, "manual_refund", {"amount": "500", "reason": "Goodwill.", "token": "tok-left-0001"})
    assert Refund.objects.get(dispute=closed).status == "awaiting_approval"

    shown = page(client, closed)

    # 2,490.00 paid, 500.00 waiting for approval: the service refuses more than 1,990.00.
    assert "At most 1,990.00\u00a0₽: paid for the line, less what was refunded or is waiting to be paid." in shown
