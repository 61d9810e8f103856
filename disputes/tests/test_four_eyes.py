"""Four eyes on money staff decide (DESIGN §4): a staff-decided refund above
STAFF_REFUND_APPROVAL_LIMIT waits, in a queue one click from the admin's front page, for a
second staff member holding ``disputes.pay_refund``; the decider cannot approve it; refunds a
rule decides are paid as before."""
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import SellerFactory, StaffFactory
from disputes.models import Dispute, DisputeEvent, Refund
from disputes.payments import GatewayReceipt
from disputes.services import (
    dispute_accept,
    dispute_escalate,
    dispute_open,
    dispute_reject,
    dispute_staff_decide,
    refund_approve,
    refund_pay,
)
from disputes.services.staff import REFUND_FULL, REFUND_PARTIAL
from disputes.tasks import pay_due_refunds
from disputes.tests.factories import disputable_line, notes, photo
from notifications.models import Notification
from returns_portal.errors import DomainError, ErrorCode

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PAID = Decimal("2490.00")
LIMIT = Decimal("1000.00")
DECIDER = ["disputes.view_dispute", "disputes.change_dispute", "disputes.decide_dispute"]
PAYER = ["disputes.view_dispute", "disputes.change_dispute", "disputes.pay_refund", "disputes.view_refund"]


class CountingGateway:
    calls: list = []

    def refund(self, *, idempotency_key, amount, currency, payment_reference) -> GatewayReceipt:
        CountingGateway.calls.append((idempotency_key, amount))
        return GatewayReceipt(reference=f"CG-{idempotency_key}")


@pytest.fixture(autouse=True)
def world(settings, time_machine):
    time_machine.move_to(NOW, tick=False)
    settings.STAFF_REFUND_APPROVAL_LIMIT = LIMIT
    settings.PAYMENT_GATEWAY = f"{__name__}.CountingGateway"
    CountingGateway.calls = []


def staff(permissions, **fields) -> User:
    user = StaffFactory(permissions=permissions, **fields)
    return User.objects.get(pk=user.pk)  # permissions are cached per instance


@pytest.fixture
def line():
    return disputable_line(price=PAID)


@pytest.fixture
def seller(line):
    return SellerFactory(store=line.order.store)


@pytest.fixture
def escalated(line, seller):
    dispute = dispute_open(buyer=line.order.buyer, order_line=line, kind="refund_only", route="", amount=PAID,
                           reason="damaged", evidence=[photo()])
    dispute_reject(dispute=dispute, seller=seller, reason="Damaged by the buyer.")
    dispute_escalate(dispute=dispute, buyer=dispute.buyer, reason="It arrived like that.")
    return Dispute.objects.get(pk=dispute.pk)


def snapshot(dispute):
    fresh = Dispute.objects.get(pk=dispute.pk)
    return (fresh.state, list(Refund.objects.values_list("status", "approved_by", "paid_at")),
            DisputeEvent.objects.count(), Notification.objects.count(), list(CountingGateway.calls),
            fresh.order_line.refunded_amount)


def test_a_staff_refund_above_the_limit_waits_for_a_second_staff_member(escalated, django_capture_on_commit_callbacks):
    decider, payer = staff(DECIDER), staff(PAYER)
    bystander = staff(["disputes.view_dispute"])
    before = Notification.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        dispute_staff_decide(dispute=escalated, staff=decider, decision=REFUND_FULL, reason="Transport damage.")

    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.decided_by, refund.approved_by) == (
        PAID, "awaiting_approval", decider, None)
    assert Dispute.objects.get(pk=escalated.pk).state == "refund_pending"
    assert CountingGateway.calls == []  # nothing paid
    # Whoever may approve is asked; the decider and staff who may not pay are not.
    asked = [(who, subject) for who, subject, _url in notes(before) if who not in (escalated.buyer_id,)]
    assert (payer.pk, f"Refund on dispute #{escalated.pk} waits for your approval") in asked
    assert decider.pk not in [who for who, subject in asked if "approval" in subject]
    assert bystander.pk not in [who for who, _subject in asked]
    body = Notification.objects.get(recipient=payer).body
    assert body == (f"A refund of 2,490.00\u00a0₽ was decided by {decider.get_full_name()} and needs a second "
                    "staff member's approval before it is paid.")
    # The periodic payment job does not pay it either.
    assert pay_due_refunds() == 0
    assert Refund.objects.get().status == "awaiting_approval"


def test_the_decider_cannot_approve_their_own_refund(escalated):
    decider = staff(DECIDER + ["disputes.pay_refund"])
    dispute_staff_decide(dispute=escalated, staff=decider, decision=REFUND_FULL, reason="Transport damage.")
    refund = Refund.objects.get()
    before = snapshot(escalated)

    with pytest.raises(DomainError) as refused:
        refund_approve(refund_id=refund.pk, approver=decider)

    assert (refused.value.code, refused.value.message) == (
        ErrorCode.NOT_ALLOWED, "You decided this refund; another staff member must approve it.")
    assert snapshot(escalated) == before


@pytest.mark.parametrize("permissions", [
    ["disputes.view_dispute", "disputes.change_dispute"],  # may work on disputes, may not pay
    ["disputes.pay_refund"],  # may pay, but the staff flag and that alone do not let them act on disputes
])
def test_only_staff_who_may_pay_and_work_on_disputes_approve(escalated, permissions):
    dispute_staff_decide(dispute=escalated, staff=staff(DECIDER), decision=REFUND_FULL, reason="Damage.")
    refund = Refund.objects.get()
    before = snapshot(escalated)

    with pytest.raises(DomainError) as refused:
        refund_approve(refund_id=refund.pk, approver=staff(permissions))

    assert refused.value.code == ErrorCode.NOT_ALLOWED
    assert snapshot(escalated) == before


def test_a_second_staff_member_approves_and_the_refund_is_paid_once(escalated, django_capture_on_commit_callbacks):
    decider, payer = staff(DECIDER), staff(PAYER)
    dispute_staff_decide(dispute=escalated, staff=decider, decision=REFUND_FULL, reason="Transport damage.")
    refund = Refund.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        refund_approve(refund_id=refund.pk, approver=payer)

    refund.refresh_from_db()
    assert (refund.status, refund.approved_by, refund.approved_at) == ("paid", payer, NOW)
    assert CountingGateway.calls == [(f"dispute-{escalated.pk}-refund", PAID)]
    fresh = Dispute.objects.get(pk=escalated.pk)
    assert (fresh.state, fresh.resolution, fresh.order_line.refunded_amount) == ("refunded", "refunded", PAID)
    assert list(fresh.events.values_list("kind", "actor", "from_state", "to_state"))[-3:] == [
        ("staff_decided", decider.pk, "escalated", "refund_pending"),
        ("refund_approved", payer.pk, "refund_pending", "refund_pending"),
        ("refund_paid", None, "refund_pending", "refunded"),
    ]
    # Approving again changes nothing.
    before = snapshot(escalated)
    with pytest.raises(DomainError):
        refund_approve(refund_id=refund.pk, approver=staff(PAYER))
    assert snapshot(escalated) == before


def test_paying_a_refund_that_waits_for_approval_is_refused(escalated):
    dispute_staff_decide(dispute=escalated, staff=staff(DECIDER), decision=REFUND_FULL, reason="Damage.")
    refund = Refund.objects.get()
    before = snapshot(escalated)

    with pytest.raises(DomainError) as refused:
        refund_pay(refund_id=refund.pk, actor=staff(PAYER))

    assert (refused.value.code, refused.value.message) == (
        ErrorCode.NOT_ALLOWED, "This refund waits for a second staff member's approval before it is paid.")
    assert snapshot(escalated) == before


@pytest.mark.parametrize("amount", [Decimal("999.99"), LIMIT])
def test_a_staff_refund_up_to_the_limit_is_paid_at_once(escalated, amount, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dispute_staff_decide(dispute=escalated, staff=staff(DECIDER), decision=REFUND_PARTIAL, amount=amount,
                             reason="Half of the box was fine.")

    assert list(Refund.objects.values_list("amount", "status", "approved_by")) == [(amount, "paid", None)]
    assert Dispute.objects.get(pk=escalated.pk).state == "refunded"


def test_a_refund_a_rule_decides_is_paid_whatever_its_amount(line, seller, django_capture_on_commit_callbacks):
    dispute = dispute_open(buyer=line.order.buyer, order_line=line, kind="refund_only", route="", amount=PAID,
                           reason="damaged", evidence=[photo()])

    with django_capture_on_commit_callbacks(execute=True):
        dispute_accept(dispute=dispute, seller=seller)

    assert list(Refund.objects.values_list("amount", "status")) == [(PAID, "paid")]


def test_the_database_refuses_a_refund_approved_by_its_decider(escalated):
    decider = staff(DECIDER)
    dispute_staff_decide(dispute=escalated, staff=decider, decision=REFUND_FULL, reason="Damage.")

    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.update(approved_by=decider)


# --- in the admin --------------------------------------------------------------------------------


def test_the_queue_is_one_click_from_the_admins_front_page(client, escalated):
    dispute_staff_decide(dispute=escalated, staff=staff(DECIDER), decision=REFUND_FULL, reason="Damage.")
    payer, agent = staff(PAYER), staff(["disputes.view_dispute"])
    queue = reverse("admin:disputes_refund_changelist") + "?approval=waiting"

    client.force_login(payer)
    front = client.get(reverse("admin:index")).content.decode()
    listed = client.get(queue)
    client.force_login(agent)
    agents_front = client.get(reverse("admin:index")).content.decode()

    assert '<tr data-queue="refunds_awaiting_approval" data-count="1">' in front
    assert f'<a href="{queue}">Refunds waiting for a second staff member&#x27;s approval</a>' in front
    assert listed.status_code == 200
    assert list(listed.context["cl"].queryset) == list(Refund.objects.filter(status="awaiting_approval"))
    assert queue not in agents_front  # refunds are not shown to staff who may not see them


def test_approving_in_the_admin_pays_it_and_the_decider_is_refused(client, escalated,
                                                                  django_capture_on_commit_callbacks):
    decider = staff(DECIDER + ["disputes.pay_refund", "disputes.view_refund"])  # may pay, not their own
    dispute_staff_decide(dispute=escalated, staff=decider, decision=REFUND_FULL, reason="Damage.")
    refund = Refund.objects.get()
    changelist = reverse("admin:disputes_refund_changelist")
    action = {"action": "approve", "_selected_action": [refund.pk]}

    client.force_login(decider)
    own = client.post(changelist, action, follow=True)
    assert [str(m) for m in own.context["messages"]] == [
        "0 refunds approved; they are being paid.", "You decided this refund; another staff member must approve it."]
    assert Refund.objects.get().status == "awaiting_approval"

    client.force_login(staff(PAYER))
    with django_capture_on_commit_callbacks(execute=True):
        approved = client.post(changelist, action, follow=True)
    assert [str(m) for m in approved.context["messages"]] == ["1 refund approved; it is being paid."]
    assert Refund.objects.get().status == "paid"
