"""The return leg through HTTP, with real users signing in: a local return from opening to the
refund, a rejection carried to a staff decision in the admin, an inspection the goods failed,
every refusal of the action endpoint, the seller desk, instruction templates, and paying a
failed refund from the admin."""
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.models import Category, Warehouse
from catalog.tests.factories import CategoryFactory, ProductFactory, StoreFactory, WarehouseFactory
from disputes import views
from disputes.models import (
    Dispute,
    DisputeAttachment,
    DisputeEvent,
    DisputeMessage,
    Inspection,
    InstructionTemplate,
    Refund,
    ReturnInstructions,
    ReturnShipment,
)
from disputes.payments import GatewayError, GatewayReceipt
from disputes.services import dispute_accept, dispute_send_instructions, dispute_ship
from disputes.tests.factories import notes, DisputeFactory, disputable_line, photo
from notifications.models import Notification
from orders.models import Order, OrderLine

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # 15:00 in Moscow, the site's time zone
PAID = Decimal("2490.00")
PASSWORD = "secret-pass-123"  # the user factories' password
LOCAL_GATEWAY = "disputes.payments.LocalLedgerGateway"
SELLER_DESK = reverse("disputes:seller_desk")
TEMPLATES = reverse("disputes:instruction_templates")
REFUND_CHANGELIST = reverse("admin:disputes_refund_changelist")

APPAREL_CODES = ["brand_packaging", "completeness", "signs_of_use", "washed_worn_labels", "item_identity"]
APPAREL_CONDITIONS = [
    "The undamaged brand packaging in which the goods were received is kept.",
    "Accessories, invoices and documents, labels and tags are all present.",
    "No signs of use or damage.",
    "Not washed, not worn, labels not torn off.",
    "It is the item that was sold, in the quantity claimed: not empty, not swapped, not short.",
]
WAITING_FOR_SELLER = "This dispute is “Waiting for the seller”, so this cannot be done now."
ONLY_THE_STORE = "Only the store that sold this item can do this."
ONLY_THE_BUYER = "Only the buyer who opened this dispute can do this."
REQUIRED = "This field is required."


class FailingGateway:
    """A payment provider that is down."""

    def refund(self, *, idempotency_key, amount, currency, payment_reference) -> GatewayReceipt:
        raise GatewayError("Provider unavailable (HTTP 503)")


# --- helpers -------------------------------------------------------------------------------


def signed_in(user) -> Client:
    """A browser of its own, signed in through the login page like a person would."""
    browser = Client()
    response = browser.post(reverse("account_login"), {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302, "the login page refused the user"
    return browser


def detail_url(dispute) -> str:
    return reverse("disputes:dispute_detail", args=[dispute.pk])


def action_url(dispute, action: str) -> str:
    return reverse("disputes:dispute_action", args=[dispute.pk, action])


def decide_url(dispute) -> str:
    return reverse("admin:disputes_dispute_decide", args=[dispute.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def text_of(response) -> str:
    return response.content.decode()


def snapshot() -> dict:
    """Everything an action may write: compared before and after a refusal."""
    return {
        "disputes": list(Dispute.objects.order_by("pk").values()),
        "events": list(DisputeEvent.objects.order_by("pk").values()),
        "instructions": list(ReturnInstructions.objects.order_by("pk").values()),
        "shipments": list(ReturnShipment.objects.order_by("pk").values()),
        "inspections": list(Inspection.objects.order_by("pk").values()),
        "refunds": list(Refund.objects.order_by("pk").values()),
        "messages": list(DisputeMessage.objects.order_by("pk").values()),
        "attachments": list(DisputeAttachment.objects.order_by("pk").values_list("pk", flat=True)),
        "notifications": list(Notification.objects.order_by("pk").values_list("pk", flat=True)),
        "lines": list(OrderLine.objects.order_by("pk").values_list("pk", "refunded_amount")),
        "templates": list(InstructionTemplate.objects.order_by("pk").values()),
    }


def timeline(dispute) -> list[tuple]:
    return list(dispute.events.order_by("created_at", "pk").values_list("kind", "actor", "from_state", "to_state"))


def staff_in(group: str):
    staff = StaffFactory()
    staff.groups.add(Group.objects.get(name=group))
    return staff


# --- the world -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def store():
    return StoreFactory(name="Golden Dragon Trading")


@pytest.fixture
def warehouse(store):
    return WarehouseFactory(store=store, country="RU", city="Podolsk", address="12 Klimovskaya Street",
                            name="Golden Dragon returns, Podolsk")


@pytest.fixture
def seller(store):
    return SellerFactory(store=store, username="golden-dragon", email="desk@golden-dragon.example")


@pytest.fixture
def buyer():
    """The demo's buyer in Russia."""
    return BuyerFactory(country="RU", username="anna", email="anna@example.com")


@pytest.fixture
def line(buyer, store, warehouse):
    """A T-shirt the buyer received yesterday; the seller offers local return to Podolsk."""
    return disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None)


@pytest.fixture
def other_seller():
    """A member of another store, with a return warehouse of its own in Russia."""
    store = StoreFactory(name="Silver Fox Goods")
    WarehouseFactory(store=store, country="RU", city="Kazan", name="Silver Fox returns")
    return SellerFactory(store=store, username="silver-fox")


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what a request queues for after its commit (refund payment, e-mails)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def local_return(dispute_line, buyer) -> Dispute:
    """A local return opened by the buyer, waiting for the seller's instructions."""
    return DisputeFactory(order_line=dispute_line, buyer=buyer)


def instructed(dispute, seller, warehouse) -> Dispute:
    return dispute_send_instructions(dispute=dispute, seller=seller, warehouse=warehouse, method="drop_off",
                                     carrier="Russian Post", text="")


def in_transit(dispute, seller, warehouse) -> Dispute:
    instructed(dispute, seller, warehouse)
    return dispute_ship(dispute=dispute, buyer=dispute.buyer, carrier="Russian Post", tracking_number="RR123456785RU")


# --- the whole local return --------------------------------------------------------------------


def test_a_local_return_from_the_opening_form_to_the_refund(
    buyer, seller, line, warehouse, commit, mailoutbox
):
    anna, desk = signed_in(buyer), signed_in(seller)

    # Given the buyer opens a local return on the T-shirt, without any photo
    with commit():
        opened = anna.post(reverse("disputes:dispute_open", args=[line.pk]), {
            "kind": "return", "route": "local", "amount": "2490.00", "reason": "not_as_expected",
            "description": "The colour is not what the photo showed."})
    dispute = Dispute.objects.get()
    assert opened.status_code == 302 and opened["Location"] == detail_url(dispute)
    assert (dispute.kind, dispute.route, dispute.state, dispute.amount) == ("return", "local", "awaiting_seller", PAID)

    # The seller finds it first under "Needs your action" and answers with return instructions
    desk_page = desk.get(SELLER_DESK)
    assert desk_page.status_code == 200
    assert [row[0] for row in desk_page.context["rows"]] == [dispute]
    assert 'aria-current="page">Needs your action</a>' in text_of(desk_page)
    assert f'<a href="{detail_url(dispute)}">#{dispute.pk}</a>' in text_of(desk_page)
    with commit():
        sent = desk.post(action_url(dispute, "instructions"), {
            "warehouse": warehouse.pk, "method": "drop_off", "carrier": "Russian Post",
            "text": "Drop the parcel at any Russian Post office and keep the receipt."}, follow=True)
    assert sent.redirect_chain == [(detail_url(dispute), 302)]
    assert messages_of(sent) == ["Return instructions sent. The buyer has been notified."]
    instructions = ReturnInstructions.objects.get()
    assert (instructions.warehouse, instructions.method, instructions.carrier, instructions.issued_by) == (
        warehouse, "drop_off", "Russian Post", seller)
    assert instructions.ship_by == NOW + timedelta(days=10)

    # The buyer sees the RMA code, prints the slip with the address and the conditions, ships
    page = text_of(anna.get(detail_url(dispute)))
    assert f'<strong class="mono">{instructions.rma_code}</strong>' in page
    assert "Ship the goods as instructed and enter the tracking number." in page
    slip = anna.get(reverse("disputes:return_slip", args=[dispute.pk]))
    assert slip.status_code == 200
    slip_text = text_of(slip)
    assert f'<p class="rma">{instructions.rma_code}</p>' in slip_text
    assert ("<address>Golden Dragon returns, Podolsk<br>12 Klimovskaya Street<br>Podolsk, Russia</address>"
            in slip_text)
    assert "Drop the parcel at any Russian Post office and keep the receipt." in slip_text
    assert [c.text for c in slip.context["conditions"]] == APPAREL_CONDITIONS
    for condition in APPAREL_CONDITIONS:
        assert f"<li>{condition}</li>" in slip_text
    with commit():
        shipped = anna.post(action_url(dispute, "ship"), {"carrier": "Russian Post",
                                                          "tracking_number": "RR 1234 5678 RU"}, follow=True)
    assert messages_of(shipped) == ["Thank you: the seller now waits for your parcel."]
    shipment = ReturnShipment.objects.get()
    assert (shipment.carrier, shipment.tracking_number) == ("Russian Post", "RR12345678RU")

    # When the seller inspects the parcel and it meets every condition on the checklist
    checklist = desk.get(detail_url(dispute)).context["forms"]["inspect"]
    assert [c.code for c in checklist.conditions] == APPAREL_CODES
    with commit():
        inspected = desk.post(action_url(dispute, "inspect"),
                              {f"answer_{code}": "meets" for code in APPAREL_CODES}, follow=True)
    assert messages_of(inspected) == ["Inspection recorded."]

    # Then the refund is paid once, the line records it, and the timeline tells the whole story
    dispute.refresh_from_db()
    line.refresh_from_db()
    refund = Refund.objects.get()
    assert (refund.dispute, refund.amount, refund.status, refund.attempts, refund.decided_by) == (
        dispute, PAID, "paid", 1, seller)
    assert line.refunded_amount == PAID
    assert (dispute.state, dispute.resolution, dispute.deadline_at, dispute.closed_at) == (
        "refunded", "refunded", None, NOW)
    assert Inspection.objects.get().outcome == "accepted"
    assert timeline(dispute) == [
        ("opened", buyer.pk, "", "awaiting_seller"),
        ("instructions_sent", seller.pk, "awaiting_seller", "awaiting_buyer_shipment"),
        ("shipped", buyer.pk, "awaiting_buyer_shipment", "return_in_transit"),
        ("inspected", seller.pk, "return_in_transit", "refund_pending"),
        ("refund_paid", None, "refund_pending", "refunded"),
    ]
    # Both sides were told at every step, in the bell and by e-mail.
    number = line.order.number
    told = [
        (seller.pk, f"New dispute on order {number}"),
        (buyer.pk, f"Your dispute on order {number} is open"),
        (buyer.pk, f"Return instructions for dispute #{dispute.pk}"),
        (seller.pk, f"Return on its way: dispute #{dispute.pk}"),
        (buyer.pk, f"Your return was inspected: dispute #{dispute.pk}"),
        (buyer.pk, "You were refunded"),
        (seller.pk, f"Dispute #{dispute.pk} was refunded"),
    ]
    assert [(who, subject) for who, subject, _url in notes()] == told
    emails = {buyer.pk: buyer.email, seller.pk: seller.email}
    assert [(mail.to, mail.subject) for mail in mailoutbox] == [([emails[who]], subject) for who, subject in told]
    # And the buyer's page says so.
    final = anna.get(detail_url(dispute))
    assert '<span class="status status--refunded">Refunded</span>' in text_of(final)
    assert "You were refunded. The dispute is settled." in text_of(final)
    assert final.context["forms"] == {}


# --- a rejection carried to marketplace staff ---------------------------------------------------


@pytest.fixture
def escalated(buyer, seller, line, commit) -> Dispute:
    """A refund-only dispute with a photo, rejected by the seller and escalated by the buyer, all in the browser."""
    anna, desk = signed_in(buyer), signed_in(seller)
    with commit():
        anna.post(reverse("disputes:dispute_open", args=[line.pk]), {
            "kind": "refund_only", "amount": "2490.00", "reason": "damaged",
            "description": "A hole in the sleeve.", "evidence": photo("sleeve.png")}, follow=True)
    dispute = Dispute.objects.get()
    assert (dispute.kind, dispute.route, dispute.attachments.count()) == ("refund_only", "", 1)

    with commit():
        rejected = desk.post(action_url(dispute, "reject"), {"reason": "The sleeve was intact when we shipped it."},
                             follow=True)
    assert messages_of(rejected) == ["You rejected the dispute. The buyer may accept or escalate."]
    with commit():
        escalation = anna.post(action_url(dispute, "escalate"), {"reason": "It arrived torn, see the photo."},
                               follow=True)
    assert messages_of(escalation) == ["Marketplace staff will review the dispute."]
    dispute.refresh_from_db()
    assert (dispute.state, dispute.deadline_at) == ("escalated", NOW + timedelta(days=7))
    return dispute


def test_a_supervisor_decides_a_partial_refund_in_the_admin(escalated, buyer, seller, line, commit):
    supervisor = signed_in(staff_in("Supervisor"))

    page = supervisor.get(decide_url(escalated))
    assert page.status_code == 200
    assert "The sleeve was intact when we shipped it." in text_of(page)
    assert "It arrived torn, see the photo." in text_of(page)

    with commit():
        decided = supervisor.post(decide_url(escalated), {
            "decision": "refund_partial", "amount": "1000.00", "reason": "Torn sleeve: half the price back."})

    assert decided.status_code == 302
    assert decided["Location"] == reverse("admin:disputes_dispute_change", args=[escalated.pk])
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.reason) == (
        Decimal("1000.00"), "paid", "Torn sleeve: half the price back.")
    line.refresh_from_db()
    assert line.refunded_amount == Decimal("1000.00")
    escalated.refresh_from_db()
    assert (escalated.state, escalated.resolution) == ("refunded", "refunded")
    assert [kind for kind, *_ in timeline(escalated)] == [
        "opened", "rejected", "escalated", "staff_decided", "refund_paid"]
    assert escalated.events.get(kind="staff_decided").details == {
        "decision": "refund_partial", "reason": "Torn sleeve: half the price back.", "amount": "1000.00"}
    summary = "Marketplace staff decided a refund of 1,000.00\u00a0₽. Reason: Torn sleeve: half the price back."
    assert [(n.recipient_id, n.body) for n in Notification.objects.order_by("pk")
            if n.subject == f"Decision on dispute #{escalated.pk}"] == [(buyer.pk, summary), (seller.pk, summary)]
    assert messages_of(supervisor.get(decided["Location"])) == ["Decision recorded; both sides were notified."]


def test_a_support_agent_may_not_decide(escalated):
    agent = signed_in(staff_in("Support agent"))
    before = snapshot()

    page = agent.get(decide_url(escalated))
    posted = agent.post(decide_url(escalated), {"decision": "refund_full", "reason": "Looks torn to me."})

    assert page.status_code == posted.status_code == 403
    assert snapshot() == before
    # Support agents still read the dispute in the admin.
    assert agent.get(reverse("admin:disputes_dispute_change", args=[escalated.pk])).status_code == 200


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"decision": "refund_partial", "amount": "1000.00", "reason": ""}, "reason", REQUIRED),
        ({"decision": "refund_partial", "amount": "1000.00", "reason": "   "}, "reason", REQUIRED),
        ({"decision": "refund_partial", "amount": "", "reason": "Half."}, "amount",
         "Enter the amount of the partial refund."),
        ({"decision": "refund_partial", "amount": "2490.00", "reason": "Half."}, "__all__",
         "A partial refund must be more than zero and less than 2,490.00\u00a0₽."),
        ({"decision": "refund_partial", "amount": "1000.005", "reason": "Half."}, "amount",
         "Amounts in RUB can have at most 2 decimal places."),
        ({"decision": "refund_partial", "amount": "half", "reason": "Half."}, "amount",
         "Enter an amount like 1,234.56."),
        ({"decision": "refund_everything", "reason": "Half."}, "decision",
         "Select a valid choice. refund_everything is not one of the available choices."),
    ],
)
def test_a_decision_the_form_refuses_is_shown_again_with_the_error_and_changes_nothing(
    escalated, data, field, error
):
    supervisor = signed_in(staff_in("Supervisor"))
    before = snapshot()

    response = supervisor.post(decide_url(escalated), data)

    assert response.status_code == 422
    assert response.context["form"].errors[field] == [error]
    assert error in text_of(response)
    assert snapshot() == before


@pytest.fixture
def escalated_in_yen(buyer, store) -> Dispute:
    yen_line = disputable_line(buyer=buyer, store=store, price=Decimal("1500"), warehouse_country=None)
    yen_line.order.currency = "JPY"
    yen_line.order.save(update_fields=["currency"])
    return DisputeFactory(order_line=yen_line, buyer=buyer, kind=Dispute.Kind.REFUND_ONLY, route=Dispute.Route.NONE,
                          state=Dispute.State.ESCALATED)


def test_a_partial_refund_in_yen_is_whole_yen(escalated_in_yen, commit):
    supervisor = signed_in(staff_in("Supervisor"))
    before = snapshot()

    cents = supervisor.post(decide_url(escalated_in_yen), {
        "decision": "refund_partial", "amount": "999.50", "reason": "Half."})
    assert cents.status_code == 422
    assert cents.context["form"].errors["amount"] == ["Amounts in JPY have no decimal places."]
    assert snapshot() == before

    with commit():
        whole = supervisor.post(decide_url(escalated_in_yen), {
            "decision": "refund_partial", "amount": "1 000", "reason": "Half."})

    assert whole.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.currency, refund.status) == (Decimal("1000"), "JPY", "paid")


# --- an inspection the goods failed -----------------------------------------------------------------


def test_the_buyer_sees_which_condition_failed_and_may_accept_the_rejection(buyer, seller, line, warehouse, commit):
    dispute = in_transit(local_return(line, buyer), seller, warehouse)
    desk, anna = signed_in(seller), signed_in(buyer)
    answers = {f"answer_{code}": "meets" for code in APPAREL_CODES}

    with commit():
        inspected = desk.post(action_url(dispute, "inspect"), {
            **answers, "answer_signs_of_use": "fails", "note_signs_of_use": "Deodorant stains under both arms",
            "general_notes": "Received in a plain bag."})

    assert inspected.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.state, dispute.deadline_at) == ("rejected", NOW + timedelta(days=7))
    inspection = Inspection.objects.get()
    assert inspection.findings == [{
        "code": "signs_of_use", "outcome": "fail",
        "message": "Signs of use or damage found. Inspector’s note: Deodorant stains under both arms"}]
    page = anna.get(detail_url(dispute))
    content = text_of(page)
    assert "<strong>Rejected: a return condition failed</strong>" in content
    assert ('<li class="finding--failed" data-condition="signs_of_use" data-outcome="fail">Signs of use or damage '
            "found. Inspector’s note: Deodorant stains under both arms</li>") in content
    assert "Received in a plain bag." in content
    assert "brand packaging" not in content.split("Inspection of the returned goods")[1]  # only what failed is listed
    assert "signs_of_use" not in re.sub(r"<[^>]+>", " ", content)  # codes are for machines, never shown
    assert set(page.context["forms"]) == {"accept_rejection", "escalate"}
    assert [subject for _who, subject, _url in notes(recipient=buyer)].count(
        f"Your return was inspected: dispute #{dispute.pk}") == 1

    with commit():
        accepted = anna.post(action_url(dispute, "accept-rejection"), follow=True)

    assert messages_of(accepted) == ["The dispute is closed."]
    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution, dispute.closed_at) == ("closed", "rejected", NOW)
    assert Refund.objects.count() == 0
    line.refresh_from_db()
    assert line.refunded_amount == Decimal("0.00")
    assert [kind for kind, *_ in timeline(dispute)] == [
        "instructions_sent", "shipped", "inspected", "rejection_accepted"]


# --- the seller's other answers -------------------------------------------------------------------


def test_the_seller_accepts_a_refund_only_dispute_and_it_is_paid(seller, refund_only, line, commit):
    with commit():
        response = signed_in(seller).post(action_url(refund_only, "accept"), follow=True)

    assert messages_of(response) == ["You accepted the dispute; the refund is being paid."]
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.decided_by) == (PAID, "paid", seller)
    line.refresh_from_db()
    assert line.refunded_amount == PAID
    assert [kind for kind, *_ in timeline(refund_only)] == ["accepted", "refund_paid"]


def test_a_counter_offer_the_buyer_accepts_is_refunded(buyer, seller, refund_only, line, commit):
    desk, anna = signed_in(seller), signed_in(buyer)

    offered = desk.post(action_url(refund_only, "counter-offer"),
                        {"amount": "1500.00", "message": "We can return part of the price."}, follow=True)

    assert messages_of(offered) == ["Counter-offer sent."]
    page = anna.get(detail_url(refund_only))
    assert set(page.context["forms"]) == {"accept_offer", "escalate"}
    assert "We can return part of the price." in text_of(page)

    with commit():
        accepted = anna.post(action_url(refund_only, "accept-offer"), follow=True)

    assert messages_of(accepted) == ["You accepted the counter-offer; the refund is being paid."]
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.decided_by) == (Decimal("1500.00"), "paid", buyer)
    line.refresh_from_db()
    assert line.refunded_amount == Decimal("1500.00")
    assert [kind for kind, *_ in timeline(refund_only)] == ["counter_offered", "offer_accepted", "refund_paid"]


# --- refusals -----------------------------------------------------------------------------------

# One payload that every action would accept, so a refusal cannot hide behind a form error.
EVERYTHING = {
    "method": "drop_off", "carrier": "Russian Post", "text": "Send it.", "amount": "100.00", "message": "Half?",
    "reason": "No.", "tracking_number": "RR123456785RU", **{f"answer_{code}": "meets" for code in APPAREL_CODES},
}
ALL_ACTIONS = ["instructions", "accept", "counter-offer", "reject", "inspect", "ship", "accept-offer",
               "accept-rejection", "escalate"]


def test_the_list_of_actions_is_complete():
    assert sorted(views.ACTIONS) == sorted(ALL_ACTIONS)


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_another_stores_seller_finds_nothing(buyer, line, warehouse, other_seller, action):
    dispute = local_return(line, buyer)
    stranger = signed_in(other_seller)
    before = snapshot()

    page = stranger.get(detail_url(dispute))
    posted = stranger.post(action_url(dispute, action), {**EVERYTHING, "warehouse": warehouse.pk})

    assert page.status_code == posted.status_code == 404
    assert line.title not in text_of(page) + text_of(posted)
    assert snapshot() == before


def test_another_stores_seller_cannot_act_on_a_return_in_transit_either(buyer, seller, line, warehouse,
                                                                       other_seller):
    dispute = in_transit(local_return(line, buyer), seller, warehouse)
    before = snapshot()

    response = signed_in(other_seller).post(action_url(dispute, "inspect"), EVERYTHING)

    assert response.status_code == 404
    assert snapshot() == before


def test_an_unknown_action_is_not_found(buyer, seller, line):
    dispute = local_return(line, buyer)
    before = snapshot()

    response = signed_in(seller).post(action_url(dispute, "refund-everything"), EVERYTHING)

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_actions_are_post_only(buyer, seller, line, action):
    dispute = local_return(line, buyer)

    assert signed_in(seller).get(action_url(dispute, action)).status_code == 405
    assert signed_in(buyer).get(action_url(dispute, action)).status_code == 405


def test_an_anonymous_visitor_is_sent_to_sign_in(buyer, line):
    dispute = local_return(line, buyer)
    before = snapshot()

    response = Client().post(action_url(dispute, "accept-rejection"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert snapshot() == before


def test_the_seller_cannot_inspect_before_the_buyer_shipped(buyer, seller, line):
    dispute = local_return(line, buyer)
    before = snapshot()

    response = signed_in(seller).post(action_url(dispute, "inspect"),
                                      {f"answer_{code}": "meets" for code in APPAREL_CODES}, follow=True)

    # Refused before the form is bound (the page offers no checklist before the goods are shipped).
    assert response.redirect_chain == [(detail_url(dispute), 302)]
    assert messages_of(response) == [WAITING_FOR_SELLER]
    assert "inspect" not in response.context["forms"]
    assert snapshot() == before


def test_the_buyer_cannot_ship_before_the_instructions(buyer, line):
    dispute = local_return(line, buyer)
    before = snapshot()

    response = signed_in(buyer).post(action_url(dispute, "ship"),
                                     {"carrier": "Russian Post", "tracking_number": "RR 1234 5678 RU"}, follow=True)

    assert response.redirect_chain == [(detail_url(dispute), 302)]
    assert messages_of(response) == [WAITING_FOR_SELLER]
    assert "ship" not in response.context["forms"]
    assert snapshot() == before


def test_a_buttons_action_in_the_wrong_state_is_a_flash_message(buyer, line):
    dispute = local_return(line, buyer)
    before = snapshot()

    response = signed_in(buyer).post(action_url(dispute, "accept-rejection"), follow=True)

    assert response.redirect_chain == [(detail_url(dispute), 302)]
    assert messages_of(response) == [
        "This dispute is “Waiting for the seller”, so this cannot be done now."]
    assert snapshot() == before


def test_the_seller_cannot_accept_a_local_return_without_the_goods(buyer, seller, line):
    dispute = local_return(line, buyer)
    before = snapshot()

    response = signed_in(seller).post(action_url(dispute, "accept"), follow=True)

    assert messages_of(response) == [
        "A local return needs no proof: send return instructions; the goods are checked when they arrive."]
    assert snapshot() == before


def refund_only_dispute(dispute_line, buyer) -> Dispute:
    return DisputeFactory(order_line=dispute_line, buyer=buyer, kind=Dispute.Kind.REFUND_ONLY,
                          route=Dispute.Route.NONE)


@pytest.fixture
def refund_only(buyer, line) -> Dispute:
    """A refund-only dispute waiting for the seller's answer."""
    return refund_only_dispute(line, buyer)


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("999.50", "Amounts in JPY have no decimal places."),
        ("1e309", "Enter an amount like 1,234."),
        ("0", "Enter an amount more than zero."),
    ],
)
def test_a_counter_offer_in_yen_with_cents_or_in_no_known_notation_is_refused_plainly(buyer, seller, store, amount,
                                                                                     error):
    yen_line = disputable_line(buyer=buyer, store=store, price=Decimal("1500"), warehouse_country=None)
    yen_line.order.currency = "JPY"
    yen_line.order.save(update_fields=["currency"])
    dispute = refund_only_dispute(yen_line, buyer)
    before = snapshot()

    response = signed_in(seller).post(action_url(dispute, "counter-offer"), {"amount": amount, "message": ""})

    assert response.status_code == 422
    assert response.context["forms"]["counter_offer"].errors["amount"] == [error]
    assert snapshot() == before


def test_a_counter_offer_in_whole_yen_is_sent(buyer, seller, store):
    yen_line = disputable_line(buyer=buyer, store=store, price=Decimal("1500"), warehouse_country=None)
    yen_line.order.currency = "JPY"
    yen_line.order.save(update_fields=["currency"])
    dispute = refund_only_dispute(yen_line, buyer)
    desk = signed_in(seller)

    form = desk.get(detail_url(dispute)).context["forms"]["counter_offer"]
    offered = desk.post(action_url(dispute, "counter-offer"), {"amount": "1000", "message": "Half?"}, follow=True)

    assert form.fields["amount"].currency == "JPY"
    assert messages_of(offered) == ["Counter-offer sent."]
    dispute.refresh_from_db()
    assert (dispute.state, dispute.counter_offer_amount) == ("counter_offered", Decimal("1000"))
    assert "1,000\u00a0¥" in text_of(offered)


def dispute_in(situation: str, *, buyer, seller, line, warehouse) -> Dispute:
    if situation == "refund_only":
        return refund_only_dispute(line, buyer)
    dispute = local_return(line, buyer)
    if situation == "instructed":
        return instructed(dispute, seller, warehouse)
    if situation == "in_transit":
        return in_transit(dispute, seller, warehouse)
    return dispute


@pytest.mark.parametrize(
    ("who", "situation", "action", "data", "slot", "field", "error"),
    [
        ("buyer", "instructed", "ship", {"carrier": "", "tracking_number": "RR 1234 5678 RU"}, "ship", "carrier",
         REQUIRED),
        ("buyer", "instructed", "ship", {"carrier": "Russian Post", "tracking_number": "abc"}, "ship", "__all__",
         "Enter the tracking number from your receipt: 8 to 40 letters, digits or dashes."),
        ("buyer", "instructed", "ship", {"carrier": "Russian Post", "tracking_number": ""}, "ship", "tracking_number",
         REQUIRED),
        ("seller", "opened", "instructions", {"method": "drop_off", "carrier": "", "text": ""}, "instructions",
         "carrier", "Name the carrier the buyer should use."),
        ("seller", "opened", "instructions", {"method": "by_pigeon", "carrier": "Russian Post"}, "instructions",
         "method", "Select a valid choice. by_pigeon is not one of the available choices."),
        ("seller", "refund_only", "counter-offer", {"amount": "2490.01", "message": "More?"}, "counter_offer",
         "__all__", "A counter-offer must be more than zero and less than 2,490.00\u00a0₽."),
        ("seller", "refund_only", "counter-offer", {"amount": "2490.00", "message": ""}, "counter_offer",
         "__all__", "A counter-offer must be more than zero and less than 2,490.00\u00a0₽."),
        ("seller", "refund_only", "counter-offer", {"amount": "lots"}, "counter_offer", "amount",
         "Enter an amount like 1,234.56."),
        ("seller", "refund_only", "reject", {"reason": ""}, "reject", "reason", REQUIRED),
        ("seller", "refund_only", "reject", {"reason": "   "}, "reject", "reason", REQUIRED),
        ("seller", "in_transit", "inspect", {"answer_brand_packaging": "meets"}, "inspect", "answer_completeness",
         "Answer this condition."),
        ("seller", "in_transit", "inspect", {**{f"answer_{c}": "meets" for c in APPAREL_CODES},
                                             "answer_signs_of_use": "maybe"}, "inspect", "answer_signs_of_use",
         "Select a valid choice. maybe is not one of the available choices."),
    ],
)
def test_invalid_input_is_shown_with_its_error_and_changes_nothing(
    buyer, seller, line, warehouse, who, situation, action, data, slot, field, error
):
    dispute = dispute_in(situation, buyer=buyer, seller=seller, line=line, warehouse=warehouse)
    if action == "instructions":
        data = {**data, "warehouse": warehouse.pk}
    before = snapshot()

    response = signed_in(buyer if who == "buyer" else seller).post(action_url(dispute, action), data)

    assert response.status_code == 422
    assert response.context["forms"][slot].errors[field] == [error]
    assert error in text_of(response)
    assert snapshot() == before


@pytest.mark.parametrize("data", [
    {"method": "drop_off", "carrier": "Russian Post", "text": "Ship it to me."},
    {"method": "drop_off", "carrier": "", "text": ""},  # invalid too: still no seller's form for the buyer
])
def test_the_buyer_cannot_send_the_sellers_instructions(buyer, store, line, warehouse, data):
    InstructionTemplate.objects.create(store=store, name="Podolsk, staff only", carrier="CDEK", text="Pack it.")
    dispute = local_return(line, buyer)
    before = snapshot()

    response = signed_in(buyer).post(action_url(dispute, "instructions"), {**data, "warehouse": warehouse.pk},
                                     follow=True)

    assert response.redirect_chain == [(detail_url(dispute), 302)]
    assert messages_of(response) == [ONLY_THE_STORE]
    assert response.context["forms"] == {}
    assert "Podolsk, staff only" not in text_of(response)  # the store's templates stay the store's
    assert snapshot() == before


SELLERS_ACTIONS = ["instructions", "accept", "counter-offer", "reject", "inspect"]
STAFF_AT_WORK = ["disputes.view_dispute", "disputes.change_dispute"]
BUYERS_ACTIONS = ["ship", "accept-offer", "accept-rejection", "escalate"]


@pytest.mark.parametrize(
    ("state", "action"),
    [("awaiting_seller", action) for action in SELLERS_ACTIONS if action != "inspect"]
    + [("return_in_transit", "inspect")],
)
def test_only_the_store_takes_the_sellers_actions(buyer, line, warehouse, state, action):
    # An international return in the state where the action applies: only the actor is wrong.
    dispute = DisputeFactory(order_line=line, buyer=buyer, route=Dispute.Route.INTERNATIONAL, state=state)
    before = snapshot()

    for person in (buyer, StaffFactory(permissions=STAFF_AT_WORK)):
        response = signed_in(person).post(action_url(dispute, action), {**EVERYTHING, "warehouse": warehouse.pk},
                                          follow=True)

        assert response.redirect_chain == [(detail_url(dispute), 302)]
        assert messages_of(response) == [ONLY_THE_STORE]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("state", "action"),
    [("awaiting_buyer_shipment", "ship"), ("counter_offered", "accept-offer"), ("rejected", "accept-rejection"),
     ("rejected", "escalate")],
)
def test_only_the_buyer_takes_the_buyers_actions(buyer, seller, line, warehouse, state, action):
    dispute = DisputeFactory(order_line=line, buyer=buyer, route=Dispute.Route.INTERNATIONAL, state=state,
                             counter_offer_amount=Decimal("1000.00") if state == "counter_offered" else None)
    before = snapshot()

    for person in (seller, StaffFactory(permissions=STAFF_AT_WORK)):
        response = signed_in(person).post(action_url(dispute, action), EVERYTHING, follow=True)

        assert response.redirect_chain == [(detail_url(dispute), 302)]
        assert messages_of(response) == [ONLY_THE_BUYER]
    assert snapshot() == before


def test_every_action_belongs_to_one_side():
    assert sorted(SELLERS_ACTIONS + BUYERS_ACTIONS) == sorted(ALL_ACTIONS)


def test_without_templates_the_form_says_where_they_are_made(buyer, seller, line):
    dispute = local_return(line, buyer)

    page = signed_in(seller).get(detail_url(dispute))

    form = page.context["forms"]["instructions"]
    assert "template" not in form.fields
    assert form.initial["carrier"] == "Russian Post"  # as the automatic instructions would say
    assert ("You have no instruction templates yet; make them once on the Instruction templates page of your seller "
            "desk and start from them here.") in text_of(page)
    assert f'href="{reverse("disputes:instruction_templates")}"' in text_of(page)


def test_the_slip_waits_for_instructions_and_is_only_for_the_parties(buyer, seller, line, warehouse, other_seller):
    dispute = local_return(line, buyer)
    slip = reverse("disputes:return_slip", args=[dispute.pk])

    assert signed_in(buyer).get(slip).status_code == 404
    instructed(dispute, seller, warehouse)
    assert signed_in(buyer).get(slip).status_code == 200
    assert signed_in(seller).get(slip).status_code == 200
    assert signed_in(other_seller).get(slip).status_code == 404
    assert signed_in(BuyerFactory()).get(slip).status_code == 404


# --- the seller desk -------------------------------------------------------------------------------


@pytest.fixture
def desk_disputes(store, warehouse):
    """Seven disputes of the store in every kind of state, and one of another store due sooner than all."""
    def make(state, deadline, kind="local", created=NOW, **extra):
        route = {"local": "local", "international": "international", "refund_only": ""}[kind]
        return DisputeFactory(
            order_line=disputable_line(store=store, price=PAID, warehouse_country=None),
            kind="refund_only" if kind == "refund_only" else "return", route=route, state=state,
            deadline_at=None if deadline is None else NOW + deadline, created_at=created, **extra)

    disputes = {
        "overdue": make("awaiting_seller", -timedelta(hours=2)),
        "in_transit": make("return_in_transit", timedelta(hours=1)),
        "rejected": make("rejected", timedelta(days=1), kind="refund_only"),
        "escalated": make("escalated", timedelta(days=2), kind="international"),
        "answer_later": make("awaiting_seller", timedelta(days=3), kind="refund_only"),
        "withdrawn": make("closed", None, created=NOW - timedelta(days=2), resolution="withdrawn"),
        "refunded": make("refunded", None, created=NOW - timedelta(days=3), resolution="refunded"),
    }
    DisputeFactory(deadline_at=NOW - timedelta(days=1))  # another store's, more urgent than any
    return disputes


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["overdue", "in_transit", "answer_later"]),
        ({"status": "action"}, ["overdue", "in_transit", "answer_later"]),
        ({"status": "open"}, ["overdue", "in_transit", "rejected", "escalated", "answer_later"]),
        ({"status": "closed"}, ["withdrawn", "refunded"]),
        ({"status": "all"}, ["overdue", "in_transit", "rejected", "escalated", "answer_later", "withdrawn",
                             "refunded"]),
        ({"status": "nonsense"}, ["overdue", "in_transit", "answer_later"]),
        ({"status": "all", "kind": "refund_only"}, ["rejected", "answer_later"]),
        ({"status": "action", "kind": "return"}, ["overdue", "in_transit"]),
        ({"status": "all", "kind": "bogus"}, ["overdue", "in_transit", "rejected", "escalated", "answer_later",
                                              "withdrawn", "refunded"]),
    ],
)
def test_the_seller_desk_lists_the_stores_disputes_most_urgent_first(seller, desk_disputes, query, expected):
    response = signed_in(seller).get(SELLER_DESK, query)

    assert response.status_code == 200
    assert [row[0] for row in response.context["rows"]] == [desk_disputes[name] for name in expected]
    content = text_of(response)
    listed = [pk for pk in Dispute.objects.values_list("pk", flat=True) if f'href="/disputes/{pk}/"' in content]
    assert sorted(listed) == sorted(desk_disputes[name].pk for name in expected)


def test_the_seller_desk_shows_whose_move_and_how_long_is_left(seller, desk_disputes):
    response = signed_in(seller).get(SELLER_DESK, {"status": "all"})

    rows = {dispute.pk: (who, left) for dispute, who, left, _country in response.context["rows"]}
    d = desk_disputes
    assert rows == {
        d["overdue"].pk: ("seller", "overdue"), d["in_transit"].pk: ("seller", "1 hour left"),
        d["rejected"].pk: ("buyer", "1 day left"), d["escalated"].pk: ("staff", "2 days left"),
        d["answer_later"].pk: ("seller", "3 days left"), d["withdrawn"].pk: ("", ""), d["refunded"].pk: ("", ""),
    }


def test_the_seller_desk_says_when_nothing_needs_action(seller):
    response = signed_in(seller).get(SELLER_DESK)

    assert response.status_code == 200
    assert "Nothing needs your action right now." in text_of(response)


@pytest.mark.parametrize("who", ["buyer", "staff"])
def test_the_seller_desk_is_for_sellers(who):
    person = BuyerFactory() if who == "buyer" else StaffFactory()

    assert signed_in(person).get(SELLER_DESK).status_code == 403
    assert signed_in(person).get(TEMPLATES).status_code == 403


def bulk_disputes(*, store, buyer, product, count: int, start: int) -> None:
    """``count`` disputes on as many delivered lines, written in three INSERTs."""
    orders = Order.objects.bulk_create(
        Order(number=f"BULK-{store.pk}-{start + i}", buyer=buyer, store=store, status=Order.Status.DELIVERED,
              currency="RUB", total=PAID, delivery_country="RU", paid_at=NOW - timedelta(days=5),
              shipped_at=NOW - timedelta(days=4), delivered_at=NOW - timedelta(days=1))
        for i in range(count)
    )
    lines = OrderLine.objects.bulk_create(
        OrderLine(order=order, product=product, title=product.title, unit_price=PAID, quantity=1, line_total=PAID)
        for order in orders
    )
    kinds = [("return", "local"), ("return", "international"), ("refund_only", "")]
    states = ["awaiting_seller", "return_in_transit"]
    Dispute.objects.bulk_create(
        Dispute(order_line=line, buyer=buyer, store=store, kind=kinds[i % 3][0], route=kinds[i % 3][1],
                state=states[i % 2] if kinds[i % 3][0] == "return" else "awaiting_seller",
                amount=PAID, currency="RUB", reason="changed_mind",
                deadline_at=NOW + timedelta(hours=start + i + 1))
        for i, line in enumerate(lines)
    )


def query_count(browser, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(url)
    assert response.status_code == 200
    return len(captured)


# Session, user, the bell's unread count, the store's name for the heading, COUNT for the
# pager, one page of disputes with their lines, orders and buyers.
SELLER_DESK_BUDGET = 6


@pytest.mark.parametrize("status", ["action", "all"])
def test_the_seller_desk_costs_the_same_with_10_or_500_disputes(store, seller, status):
    product = ProductFactory(store=store, price=PAID, local_return=True,
                             category=CategoryFactory(kind=Category.Kind.APPAREL))
    desk = signed_in(seller)
    url = f"{SELLER_DESK}?status={status}"

    bulk_disputes(store=store, buyer=BuyerFactory(), product=product, count=10, start=0)
    with_10 = query_count(desk, url)
    bulk_disputes(store=store, buyer=BuyerFactory(), product=product, count=490, start=10)
    with_500 = query_count(desk, url)

    # Measured (SQLite and PostgreSQL): 6 and 6 on both tabs.
    assert with_10 == with_500 <= SELLER_DESK_BUDGET
    assert Dispute.objects.filter(store=store).count() == 500


# --- instruction templates ----------------------------------------------------------------------


def test_a_seller_saves_a_template_and_deletes_it(store, seller, warehouse):
    desk = signed_in(seller)

    saved = desk.post(TEMPLATES, {"name": "Podolsk drop-off", "warehouse": warehouse.pk, "method": "drop_off",
                                  "carrier": "Russian Post", "text": "Any post office; keep the receipt."},
                      follow=True)

    assert saved.redirect_chain == [(TEMPLATES, 302)]
    assert messages_of(saved) == ["Template saved."]
    template = InstructionTemplate.objects.get()
    assert (template.store, template.name, template.warehouse, template.method, template.carrier, template.text) == (
        store, "Podolsk drop-off", warehouse, "drop_off", "Russian Post", "Any post office; keep the receipt.")
    assert list(saved.context["templates"]) == [template]
    assert "<td>Podolsk drop-off</td>" in text_of(saved)

    deleted = desk.post(reverse("disputes:instruction_template_delete", args=[template.pk]), follow=True)

    assert deleted.redirect_chain == [(TEMPLATES, 302)]
    assert messages_of(deleted) == ["Template deleted."]
    assert InstructionTemplate.objects.count() == 0
    assert "No templates yet." in text_of(deleted)


def test_a_seller_lists_only_the_stores_templates(store, seller, other_seller):
    mine = InstructionTemplate.objects.create(store=store, name="Ours", carrier="CDEK", text="Pack it well.")
    InstructionTemplate.objects.create(store=other_seller.store, name="Theirs", carrier="DPD", text="No.")

    response = signed_in(seller).get(TEMPLATES)

    assert list(response.context["templates"]) == [mine]
    assert "Theirs" not in text_of(response)


def test_another_stores_template_cannot_be_deleted(seller, other_seller):
    theirs = InstructionTemplate.objects.create(store=other_seller.store, name="Theirs", carrier="DPD", text="No.")
    before = snapshot()

    response = signed_in(seller).post(reverse("disputes:instruction_template_delete", args=[theirs.pk]))

    assert response.status_code == 404
    assert snapshot() == before


def test_deleting_a_template_is_post_only(store, seller):
    template = InstructionTemplate.objects.create(store=store, name="Ours", carrier="CDEK", text="Pack it well.")

    response = signed_in(seller).get(reverse("disputes:instruction_template_delete", args=[template.pk]))

    assert response.status_code == 405
    assert InstructionTemplate.objects.filter(pk=template.pk).exists()


def test_a_duplicate_template_name_is_refused(store, seller, other_seller):
    InstructionTemplate.objects.create(store=store, name="Podolsk drop-off", carrier="CDEK", text="Pack it well.")
    # Another store may use the same name.
    InstructionTemplate.objects.create(store=other_seller.store, name="Kazan", carrier="DPD", text="No.")
    before = snapshot()

    response = signed_in(seller).post(TEMPLATES, {"name": "Podolsk drop-off", "method": "drop_off",
                                                  "carrier": "Russian Post", "text": "Any post office."})

    assert response.status_code == 422
    assert response.context["form"].errors == {
        "name": ["You already have a template named “Podolsk drop-off”."]}
    assert "You already have a template named “Podolsk drop-off”." in text_of(response)
    assert snapshot() == before

    same_name_elsewhere = signed_in(other_seller).post(TEMPLATES, {
        "name": "Podolsk drop-off", "method": "drop_off", "carrier": "DPD", "text": "Their own."})
    assert same_name_elsewhere.status_code == 302
    assert InstructionTemplate.objects.filter(name="Podolsk drop-off").count() == 2


def test_a_template_offers_only_the_stores_warehouses(store, seller, other_seller):
    theirs = Warehouse.objects.get(store=other_seller.store)
    before = snapshot()

    response = signed_in(seller).post(TEMPLATES, {"name": "Kazan", "warehouse": theirs.pk, "method": "drop_off",
                                                  "carrier": "DPD", "text": "Kazan."})

    assert response.status_code == 422
    assert response.context["form"].errors["warehouse"] == [
        "This warehouse cannot take returns: it is inactive, takes no returns or is not yours. Choose one from the "
        "list."]
    assert snapshot() == before


def test_the_instructions_form_fills_empty_fields_from_a_template(buyer, seller, line, store, warehouse):
    template = InstructionTemplate.objects.create(
        store=store, name="Courier", warehouse=warehouse, method="courier_pickup", carrier="CDEK",
        text="A CDEK courier calls you the day before.")
    dispute = local_return(line, buyer)

    response = signed_in(seller).post(action_url(dispute, "instructions"),
                                      {"template": template.pk, "warehouse": "", "method": "", "carrier": "",
                                       "text": ""})

    assert response.status_code == 302
    instructions = ReturnInstructions.objects.get()
    assert (instructions.warehouse, instructions.method, instructions.carrier, instructions.text) == (
        warehouse, "courier_pickup", "CDEK", "A CDEK courier calls you the day before.")


def test_what_the_seller_typed_wins_over_the_template(buyer, seller, line, store, warehouse):
    template = InstructionTemplate.objects.create(
        store=store, name="Courier", warehouse=warehouse, method="courier_pickup", carrier="CDEK",
        text="A CDEK courier calls you the day before.")
    dispute = local_return(line, buyer)

    response = signed_in(seller).post(action_url(dispute, "instructions"), {
        "template": template.pk, "warehouse": warehouse.pk, "method": "drop_off", "carrier": "Boxberry", "text": ""})

    assert response.status_code == 302
    instructions = ReturnInstructions.objects.get()
    assert (instructions.method, instructions.carrier, instructions.text) == (
        "drop_off", "Boxberry", "A CDEK courier calls you the day before.")


def test_another_stores_template_is_not_a_choice(buyer, seller, line, warehouse, other_seller):
    theirs = InstructionTemplate.objects.create(store=other_seller.store, name="Theirs", carrier="DPD", text="No.")
    InstructionTemplate.objects.create(store=seller.store, name="Ours", carrier="CDEK", text="Yes.")
    dispute = local_return(line, buyer)
    before = snapshot()

    response = signed_in(seller).post(action_url(dispute, "instructions"), {
        "template": theirs.pk, "warehouse": warehouse.pk, "method": "", "carrier": "", "text": ""})

    assert response.status_code == 422
    assert response.context["forms"]["instructions"].errors["template"] == [
        "Select a valid choice. That choice is not one of the available choices."]
    assert snapshot() == before


def test_the_instructions_form_starts_from_the_default_carrier_when_the_buyers_country_has_no_return_warehouse(
    seller, store, warehouse, settings
):
    # A buyer in Ukraine returns abroad: the store takes returns only in Russia, so there are no
    # default instructions for Ukraine to start the form from (this page answered 500 once).
    settings.DEFAULT_RETURN_CARRIER = "Nova Poshta"
    line = disputable_line(buyer=BuyerFactory(country="UA"), store=store, price=PAID, warehouse_country=None)
    dispute = DisputeFactory(order_line=line, route=Dispute.Route.INTERNATIONAL)

    response = signed_in(seller).get(detail_url(dispute))

    assert response.status_code == 200
    form = response.context["forms"]["instructions"]
    assert (form["warehouse"].value(), form["method"].value(), form["carrier"].value()) == (
        warehouse.pk, "drop_off", "Nova Poshta")


# --- paying a failed refund from the admin ------------------------------------------------------------


@pytest.fixture
def failed_refund(refund_only, seller, settings, commit) -> Refund:
    """The seller accepted; the provider was down when the payment ran after the commit."""
    settings.PAYMENT_GATEWAY = f"{__name__}.FailingGateway"
    with commit():
        dispute_accept(dispute=refund_only, seller=seller)
    refund = Refund.objects.get()
    assert (refund.status, refund.attempts) == ("failed", 1)
    settings.PAYMENT_GATEWAY = LOCAL_GATEWAY
    return refund


def pay_now(browser, refund):
    return browser.post(REFUND_CHANGELIST, {"action": "pay_now", "_selected_action": [refund.pk], "index": 0},
                        follow=True)


def test_a_supervisor_pays_a_failed_refund_from_the_admin(failed_refund, line, commit):
    supervisor = signed_in(staff_in("Supervisor"))
    changelist = supervisor.get(REFUND_CHANGELIST)
    assert ("pay_now", "Pay now (or retry a failed payment)") in changelist.context["action_form"].fields[
        "action"].choices
    assert '<option value="pay_now">' in text_of(changelist)

    with commit():
        response = pay_now(supervisor, failed_refund)

    assert response.redirect_chain == [(REFUND_CHANGELIST, 302)]
    assert messages_of(response) == ["1 paid, 0 failed."]
    failed_refund.refresh_from_db()
    assert (failed_refund.status, failed_refund.attempts, failed_refund.last_error) == ("paid", 2, "")
    line.refresh_from_db()
    assert line.refunded_amount == PAID
    assert [kind for kind, *_ in timeline(failed_refund.dispute)] == [
        "accepted", "refund_failed", "refund_paid"]

    again = pay_now(supervisor, failed_refund)  # a second click pays nothing more

    assert messages_of(again) == ["0 paid, 0 failed."]
    line.refresh_from_db()
    assert line.refunded_amount == PAID
    assert Refund.objects.get().attempts == 2


def test_a_supervisor_sees_a_payment_fail_again(failed_refund, settings):
    supervisor = signed_in(staff_in("Supervisor"))
    settings.PAYMENT_GATEWAY = f"{__name__}.FailingGateway"

    response = pay_now(supervisor, failed_refund)

    assert messages_of(response) == ["0 paid, 1 failed."]
    failed_refund.refresh_from_db()
    assert (failed_refund.status, failed_refund.attempts) == ("failed", 2)


def test_a_support_agent_cannot_pay_a_refund(failed_refund):
    agent = signed_in(staff_in("Support agent"))
    changelist = agent.get(REFUND_CHANGELIST)
    assert changelist.status_code == 200
    assert "pay_now" not in text_of(changelist)
    before = snapshot()

    response = pay_now(agent, failed_refund)

    assert response.status_code == 200
    assert snapshot() == before
    assert Refund.objects.get().status == "failed"
