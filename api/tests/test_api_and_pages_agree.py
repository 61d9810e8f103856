"""The API and the pages are two doors to the same rooms: each seller action and a message,
done once by a signed-in seller on the dispute page and once through the API on an identical
dispute, leave identical timeline entries (kind, from and to state, details; the RMA code is
each dispute's own), tell the buyer the same things (message keys and parameters), and pay
the same refunds."""
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerFactory
from api.keys import issue_key
from catalog.tests.factories import StoreFactory, WarehouseFactory
from disputes.models import Dispute, ReturnInstructions
from disputes.services import dispute_send_instructions, dispute_ship
from disputes.tests.factories import DisputeFactory, disputable_line, photo
from notifications.models import Notification

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PAID = Decimal("2490.00")
CODES = ["brand_packaging", "completeness", "signs_of_use", "washed_worn_labels", "item_identity"]
ANSWERS = {**dict.fromkeys(CODES, "meets"), "signs_of_use": "fails"}
NOTES = {"signs_of_use": "Stains on the sleeve."}

# action: (the dispute it needs, the page's form fields, the API's path and JSON body)
ACTIONS = {
    "instructions": ("local", lambda w: {"warehouse": w.pk, "method": "drop_off", "carrier": "Russian Post",
                                         "text": "Keep the receipt."},
                     "instructions", lambda w: {"warehouse": w.pk, "method": "drop_off", "carrier": "Russian Post",
                                                "text": "Keep the receipt."}),
    "accept": ("refund_only", lambda w: {}, "accept", lambda w: {}),
    "counter-offer": ("refund_only", lambda w: {"amount": "1000.00", "message": "Half?"},
                      "counter-offer", lambda w: {"amount": "1000.00", "message": "Half?"}),
    "reject": ("refund_only", lambda w: {"reason": "Used."}, "reject", lambda w: {"reason": "Used."}),
    "inspect": ("in_transit", lambda w: {**{f"answer_{c}": a for c, a in ANSWERS.items()},
                                         **{f"note_{c}": n for c, n in NOTES.items()}, "general_notes": "Plain bag."},
                "inspection", lambda w: {"answers": ANSWERS, "notes": NOTES, "general_notes": "Plain bag."}),
    "inspect-passed": ("in_transit", lambda w: {f"answer_{c}": "meets" for c in CODES},
                       "inspection", lambda w: {"answers": dict.fromkeys(CODES, "meets")}),
}


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def shop():
    store = StoreFactory(name="Golden Dragon Trading")
    seller = SellerFactory(store=store)
    warehouse = WarehouseFactory(store=store, country="RU", city="Podolsk", name="Golden Dragon returns")
    return store, seller, warehouse, issue_key(store=store, user=seller, name="ERP")[1]


def a_dispute(kind: str, store, seller, warehouse) -> Dispute:
    buyer = BuyerFactory(country="RU", first_name="Anna", last_name="Petrova")
    line = disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None)
    if kind == "refund_only":
        return DisputeFactory(order_line=line, buyer=buyer, kind=Dispute.Kind.REFUND_ONLY, route=Dispute.Route.NONE)
    dispute = DisputeFactory(order_line=line, buyer=buyer)
    if kind == "in_transit":
        dispute_send_instructions(dispute=dispute, seller=seller, warehouse=warehouse, method="drop_off",
                                  carrier="Russian Post")
        dispute_ship(dispute=dispute, buyer=buyer, carrier="Russian Post", tracking_number="RR123456785RU")
    return dispute


def normalised(value, dispute: Dispute):
    """``value`` with what is each dispute's own replaced: the dispute's and its refunds' ids
    (under the keys ``dispute`` and ``refund``), and within texts its order number, RMA code, product title and buyer's name."""
    own = {dispute.order_line.order.number: "<order>", dispute.buyer.get_full_name(): "<buyer>",
           dispute.order_line.product.title: "<product>"}
    own[f"dispute-{dispute.pk}-"] = "dispute-<dispute>-"  # a refund's reference
    refunds = set(dispute.refunds.values_list("pk", flat=True))
    rma = ReturnInstructions.objects.filter(dispute=dispute).values_list("rma_code", flat=True).first()
    if rma:
        own[rma] = "<rma>"

    def walk(item, key=None):
        if key == "dispute" and item == dispute.pk:
            return "<dispute>"
        if key == "refund" and item in refunds:
            return "<refund>"
        if isinstance(item, dict):
            return {k: walk(v, k) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [walk(v) for v in item]
        if isinstance(item, str):
            for mine, placeholder in own.items():
                item = item.replace(mine, placeholder)
        return item

    return walk(value)


def outcome(dispute: Dispute, since_event: int) -> dict:
    dispute.refresh_from_db()
    events = dispute.events.filter(pk__gt=since_event).order_by("created_at", "pk")
    return {
        "state": dispute.state,
        "timeline": normalised([(e.kind, e.from_state, e.to_state, e.details) for e in events], dispute),
        "buyer_told": sorted((n.key, json.dumps(normalised(n.params, dispute), sort_keys=True))
                             for n in Notification.objects.filter(recipient=dispute.buyer)),
        "refunds": [(r.amount, r.currency, r.status) for r in dispute.refunds.order_by("pk")],
        "messages": [(m.body, [a.original_name for a in m.attachments.all()]) for m in dispute.messages.order_by("pk")],
    }


def last_event(dispute: Dispute) -> int:
    return dispute.events.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.parametrize("action", list(ACTIONS))
def test_the_same_action_through_the_page_and_the_api_has_the_same_outcome(shop, commit, action):
    store, seller, warehouse, key = shop
    kind, page_fields, api_path, api_body = ACTIONS[action]
    on_page, on_api = (a_dispute(kind, store, seller, warehouse) for _ in range(2))
    marks = {on_page.pk: last_event(on_page), on_api.pk: last_event(on_api)}
    Notification.objects.all().delete()

    desk = Client()
    desk.force_login(seller)
    page_action = action.removesuffix("-passed")
    with commit():
        page = desk.post(reverse("disputes:dispute_action", args=[on_page.pk, page_action]), page_fields(warehouse))
    assert page.status_code == 302, page.content[:500]
    with commit():
        answer = Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(
            f"/api/v1/disputes/{on_api.pk}/{api_path}/", json.dumps(api_body(warehouse)),
            content_type="application/json")
    assert answer.status_code == 200, answer.content

    through_page, through_api = outcome(on_page, marks[on_page.pk]), outcome(on_api, marks[on_api.pk])
    assert through_page["timeline"], "the action wrote no timeline entry"
    assert through_page["buyer_told"], "the buyer was told nothing"
    assert through_api == through_page


def test_evidence_and_a_message_through_the_page_and_the_api_have_the_same_outcome(shop, commit):
    store, seller, warehouse, key = shop
    on_page, on_api = (a_dispute("refund_only", store, seller, warehouse) for _ in range(2))
    marks = {on_page.pk: last_event(on_page), on_api.pk: last_event(on_api)}
    Notification.objects.all().delete()
    desk, erp = Client(), Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    desk.force_login(seller)

    with commit():
        assert desk.post(reverse("disputes:dispute_message", args=[on_page.pk]),
                         {"body": "Can you send a photo?", "files": [photo("label.png")]}).status_code == 302
        assert desk.post(reverse("disputes:dispute_action", args=[on_page.pk, "reject"]),
                         {"reason": "Used.", "evidence": [photo()]}).status_code == 302
    with commit():
        assert erp.post(f"/api/v1/disputes/{on_api.pk}/messages/",
                        {"body": "Can you send a photo?", "files": [photo("label.png")]}).status_code == 201
        assert erp.post(f"/api/v1/disputes/{on_api.pk}/reject/",
                        {"reason": "Used.", "evidence": [photo()]}).status_code == 200

    through_page, through_api = outcome(on_page, marks[on_page.pk]), outcome(on_api, marks[on_api.pk])
    assert through_page["messages"][0] == ("Can you send a photo?", ["label.png"])
    assert {key for key, _params in through_page["buyer_told"]} == {"disputes.message", "disputes.rejected.buyer"}
    assert through_api == through_page
