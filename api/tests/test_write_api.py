"""The stores' write API over HTTP: a store runs its whole side of a local return from a
script (list what waits, send instructions, inspect, the refund), answers refund-only
disputes (accept, counter-offer, reject), talks in the thread with files, and staff tokens
decide escalations. Each action is the pages' own: the same refusals, in the same words,
and the same timeline entries. Retries with an Idempotency-Key act once."""
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import User
from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from api.keys import issue_key
from api.models import IdempotentRequest
from catalog.tests.factories import StoreFactory, WarehouseFactory
from disputes.models import (
    Dispute,
    DisputeAttachment,
    InstructionTemplate,
    Refund,
    ReturnInstructions,
)
from disputes.services import dispute_escalate, dispute_reject, dispute_send_instructions, dispute_ship
from disputes.tests.factories import PNG, DisputeFactory, disputable_line, notes, photo
from notifications.models import Notification

from .world import snapshot

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PAID = Decimal("2490.00")
LIST = "/api/v1/disputes/"
APPAREL_CODES = ["brand_packaging", "completeness", "signs_of_use", "washed_worn_labels", "item_identity"]


def url(dispute, action: str = "") -> str:
    return f"{LIST}{dispute.pk}/{action + '/' if action else ''}"


def api(raw: str) -> Client:
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def post(client, path, body=None, **headers):
    return client.post(path, json.dumps(body or {}), content_type="application/json", **headers)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code, body
    return body


def timeline(dispute) -> list[tuple]:
    return list(dispute.events.order_by("created_at", "pk").values_list("kind", "from_state", "to_state", "details"))


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


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
def key(store, seller):
    return issue_key(store=store, user=seller, name="ERP")[1]


@pytest.fixture
def buyer():
    return BuyerFactory(country="RU", username="anna", email="anna@example.com")


@pytest.fixture
def line(buyer, store, warehouse):
    return disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None)


@pytest.fixture
def dispute(line, buyer):
    return DisputeFactory(order_line=line, buyer=buyer)


@pytest.fixture
def refund_only(buyer, store):
    line = disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None)
    return DisputeFactory(order_line=line, buyer=buyer, kind=Dispute.Kind.REFUND_ONLY, route=Dispute.Route.NONE)


def api_account(store) -> User:
    return User.objects.get(store=store, is_api_account=True)


# --- the whole local return from a script ---------------------------------------------------------


def test_a_store_runs_a_local_return_from_a_script(key, store, seller, buyer, dispute, warehouse, commit,
                                                   mailoutbox):
    erp = api(key)

    # What is waiting for the store
    waiting = erp.get(f"{LIST}?who=seller")
    assert waiting.status_code == 200
    assert [(d["id"], d["allowed_actions"]) for d in waiting.json()["results"]] == [
        (dispute.pk, {"send_instructions": ["send_instructions"]})]
    assert erp.get("/api/v1/warehouses/").json()[0]["id"] == warehouse.pk

    # Send the instructions
    with commit():
        sent = post(erp, url(dispute, "instructions"), {
            "warehouse": warehouse.pk, "method": "drop_off", "carrier": "Russian Post",
            "text": "Keep the receipt."})
    assert sent.status_code == 200, sent.content
    body = sent.json()
    assert body["state"] == "awaiting_buyer_shipment"
    instructions = ReturnInstructions.objects.get()
    assert body["instructions"]["rma_code"] == instructions.rma_code
    assert (instructions.warehouse, instructions.method, instructions.carrier, instructions.text,
            instructions.issued_by) == (warehouse, "drop_off", "Russian Post", "Keep the receipt.", api_account(store))
    assert body["timeline"][-1]["by"] == "by you"
    # What the inspection will answer, condition by condition
    assert [c["code"] for c in body["conditions"]] == APPAREL_CODES
    assert body["conditions"][0]["text"] == "The undamaged brand packaging in which the goods were received is kept."

    # The buyer ships (on the pages)
    dispute_ship(dispute=dispute, buyer=buyer, carrier="Russian Post", tracking_number="RR123456785RU")

    # The parcel arrives and meets every condition
    with commit():
        inspected = post(erp, url(dispute, "inspection"), {
            "answers": dict.fromkeys(APPAREL_CODES, "meets"), "general_notes": "All fine."})
    assert inspected.status_code == 200, inspected.content
    assert inspected.json()["state"] == "refund_pending"  # paid once the request has committed
    assert inspected.json()["inspection"]["outcome"] == "accepted"
    assert inspected.json()["refunds"] == [{
        "amount": "2490.00", "currency": "RUB", "status": "pending", "status_text": "Decided, not paid yet",
        "created_at": "2025-03-10T12:00:00Z", "paid_at": None}]
    dispute.refresh_from_db()
    assert dispute.state == "refunded"
    refund = erp.get(url(dispute)).json()["refunds"]
    assert [(r["amount"], r["status"], r["paid_at"]) for r in refund] == [("2490.00", "paid", "2025-03-10T12:00:00Z")]
    account = api_account(store)
    assert list(dispute.events.order_by("created_at", "pk").values_list("kind", "actor")) == [
        ("instructions_sent", account.pk), ("shipped", buyer.pk), ("inspected", account.pk),
        ("refund_paid", None)]
    # The store's people are told of what its system did; its API account never is.
    assert not Notification.objects.filter(recipient=account).exists()
    assert account.email == "" and not account.has_usable_password()
    assert any(who == seller.pk for who, _s, _u in notes())


# --- the answers to a refund-only dispute ---------------------------------------------------------


def test_accept_refunds_the_amount_asked(key, refund_only, commit):
    with commit():
        accepted = post(api(key), url(refund_only, "accept"))
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["state"] == "refund_pending"
    refund = Refund.objects.get()
    assert (refund.amount, refund.status) == (PAID, "paid")


def test_a_counter_offer(key, refund_only):
    offered = post(api(key), url(refund_only, "counter-offer"), {"amount": "1000.00", "message": "Half?"})
    assert offered.status_code == 200, offered.content
    refund_only.refresh_from_db()
    assert (refund_only.state, refund_only.counter_offer_amount, refund_only.seller_answer) == (
        "counter_offered", Decimal("1000.00"), "Half?")


def test_a_counter_offer_above_the_amount_asked_is_refused_in_the_services_words(key, refund_only):
    before = snapshot()
    refused = post(api(key), url(refund_only, "counter-offer"), {"amount": "9999.00"})
    body = assert_error(refused, 400, "invalid_amount")
    assert body["message"] == "A counter-offer must be more than zero and less than 2,490.00\xa0₽."
    assert snapshot() == before


def test_a_counter_offer_with_too_many_decimals_names_the_field(key, refund_only):
    before = snapshot()
    body = assert_error(post(api(key), url(refund_only, "counter-offer"), {"amount": "10.001"}), 400, "invalid")
    assert list(body["fields"]) == ["amount"]
    assert snapshot() == before


def test_reject_with_evidence_in_multipart(key, refund_only):
    rejected = api(key).post(url(refund_only, "reject"), {"reason": "Used.", "evidence": [photo()]})
    assert rejected.status_code == 200, rejected.content
    refund_only.refresh_from_db()
    assert (refund_only.state, refund_only.seller_answer) == ("rejected", "Used.")
    assert DisputeAttachment.objects.get().original_name == "photo.png"


def test_instructions_from_a_template(key, store, dispute, warehouse):
    template = InstructionTemplate.objects.create(store=store, name="Podolsk", warehouse=warehouse,
                                                  method="courier_pickup", carrier="CDEK", text="We collect it.")
    sent = post(api(key), url(dispute, "instructions"), {"template": template.pk})
    assert sent.status_code == 200, sent.content
    instructions = ReturnInstructions.objects.get()
    assert (instructions.warehouse, instructions.method, instructions.carrier, instructions.text) == (
        warehouse, "courier_pickup", "CDEK", "We collect it.")
    listed = api(key).get("/api/v1/instruction-templates/").json()
    assert listed == [{"id": template.pk, "name": "Podolsk", "warehouse": warehouse.pk, "method": "courier_pickup",
                       "carrier": "CDEK", "text": "We collect it."}]


def test_instructions_to_another_stores_warehouse_are_refused_and_change_nothing(key, dispute):
    theirs = WarehouseFactory(store=StoreFactory(), country="RU")
    before = snapshot()
    body = assert_error(post(api(key), url(dispute, "instructions"), {
        "warehouse": theirs.pk, "method": "drop_off", "carrier": "Russian Post"}), 400, "invalid")
    assert list(body["fields"]) == ["warehouse"]
    assert snapshot() == before


def test_a_body_of_the_wrong_shape_is_a_400_naming_the_fields(key, dispute):
    before = snapshot()
    body = assert_error(post(api(key), url(dispute, "instructions"), {"warehouse": "Podolsk", "method": 7}),
                        400, "invalid")
    assert set(body["fields"]) == {"warehouse", "method"}
    assert_error(api(key).post(url(dispute, "instructions"), "{not json", content_type="application/json"),
                 400, "parse_error")
    assert snapshot() == before


def test_an_action_the_lifecycle_does_not_allow_now_is_a_409_in_the_lifecycles_words(key, dispute):
    before = snapshot()
    body = assert_error(post(api(key), url(dispute, "inspection"), {"answers": {}}), 409, "invalid_transition")
    assert body["message"] == "This dispute is “Waiting for the seller”, so this cannot be done now."
    assert snapshot() == before


def test_accept_is_not_for_a_local_return(key, dispute):
    before = snapshot()
    refused = post(api(key), url(dispute, "accept"))
    assert refused.status_code in (403, 409)
    assert snapshot() == before


def test_an_inspection_missing_a_condition_names_it(key, dispute, seller, buyer, warehouse):
    dispute_send_instructions(dispute=dispute, seller=seller, warehouse=warehouse, method="drop_off",
                              carrier="Russian Post")
    dispute_ship(dispute=dispute, buyer=buyer, carrier="Russian Post", tracking_number="RR123456785RU")
    before = snapshot()
    answers = dict.fromkeys(APPAREL_CODES[1:], "meets")
    body = assert_error(post(api(key), url(dispute, "inspection"), {"answers": answers}), 400, "invalid")
    assert body["fields"] == {"answers.brand_packaging": ["Answer this condition."]}
    assert snapshot() == before


def test_another_stores_dispute_is_a_404_for_every_action(dispute):
    other = StoreFactory()
    raw = issue_key(store=other, user=SellerFactory(store=other), name="ERP")[1]
    before = snapshot()
    for action in ("instructions", "accept", "counter-offer", "reject", "inspection", "decision", "messages"):
        assert_error(post(api(raw), url(dispute, action), {"body": "hi"}), 404, "not_found")
    assert api(raw).get(url(dispute, "messages")).status_code == 404
    assert snapshot() == before


# --- messages and files ---------------------------------------------------------------------------


def test_messages_with_files_both_ways(key, dispute, buyer, commit):
    from disputes.services import dispute_message_post

    dispute_message_post(dispute=dispute, author=buyer, body="Where do I send it?", files=[photo()])
    erp = api(key)
    listed = erp.get(url(dispute, "messages"))
    assert listed.status_code == 200
    [message] = listed.json()["results"]
    assert (message["author"], message["author_text"], message["body"]) == (
        "buyer", f"{buyer.get_full_name()}, the buyer", "Where do I send it?")
    [file] = message["files"]
    assert (file["name"], file["content_type"], file["size"]) == ("photo.png", "image/png", len(PNG))
    download = erp.get(file["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Disposition"] == f'inline; filename="attachment-{file["id"]}.png"'  # one rule with the page: images inline
    assert download["X-Content-Type-Options"] == "nosniff"

    with commit():
        sent = erp.post(url(dispute, "messages"), {"body": "To Podolsk.", "files": [photo("label.png")]})
    assert sent.status_code == 201, sent.content
    assert (sent.json()["author"], sent.json()["author_text"], sent.json()["body"]) == ("seller", "You", "To Podolsk.")
    assert [f["name"] for f in sent.json()["files"]] == ["label.png"]
    assert ("disputes.message" in [n.key for n in Notification.objects.filter(recipient=buyer)])


def test_an_empty_message_is_refused(key, dispute):
    before = snapshot()
    assert_error(post(api(key), url(dispute, "messages"), {"body": "  "}), 400, "invalid")
    assert snapshot() == before


def test_a_file_of_another_dispute_is_a_404(key, dispute, buyer):
    other = DisputeFactory()
    from disputes.services import dispute_message_post

    dispute_message_post(dispute=other, author=other.buyer, body="x", files=[photo()])
    attachment = DisputeAttachment.objects.get()
    assert_error(api(key).get(f"{url(dispute)}files/{attachment.pk}/"), 404, "not_found")
    assert_error(api(key).get(f"{url(other)}files/{attachment.pk}/"), 404, "not_found")


# --- staff tokens ---------------------------------------------------------------------------------


@pytest.fixture
def escalated(refund_only, seller, buyer):
    dispute_reject(dispute=refund_only, seller=seller, reason="Used.")
    return dispute_escalate(dispute=refund_only, buyer=buyer, reason="It was new.")


def staff_token(group: str) -> str:
    staff = StaffFactory()
    staff.groups.add(Group.objects.get(name=group))
    return issue_key(store=None, user=staff, name="Desk")[1]


def test_a_supervisors_token_reads_every_dispute_and_decides(escalated, dispute, commit):
    token = staff_token("Supervisor")
    assert sorted(d["id"] for d in api(token).get(LIST).json()["results"]) == sorted([escalated.pk, dispute.pk])
    with commit():
        decided = post(api(token), url(escalated, "decision"),
                       {"decision": "refund_partial", "amount": "1000.00", "reason": "Half is fair."})
    assert decided.status_code == 200, decided.content
    escalated.refresh_from_db()
    assert escalated.state == "refunded"
    assert Refund.objects.get().amount == Decimal("1000.00")


def test_a_support_agents_token_may_not_decide(escalated):
    token = staff_token("Support agent")
    before = snapshot()
    refused = post(api(token), url(escalated, "decision"),
                   {"decision": "refund_full", "reason": "ok"})
    assert refused.status_code == 403, refused.content
    assert snapshot() == before


def test_a_store_key_may_not_decide(key, escalated):
    before = snapshot()
    assert post(api(key), url(escalated, "decision"), {"decision": "refund_full", "reason": "ok"}).status_code == 403
    assert snapshot() == before


def test_a_staff_token_may_not_answer_for_the_store(dispute, warehouse):
    token = staff_token("Supervisor")
    before = snapshot()
    refused = post(api(token), url(dispute, "instructions"),
                   {"warehouse": warehouse.pk, "method": "drop_off", "carrier": "Russian Post"})
    assert refused.status_code == 403, refused.content
    assert snapshot() == before


def test_a_staff_token_of_someone_no_longer_staff_is_refused(escalated):
    token = staff_token("Supervisor")
    User.objects.filter(is_staff=True).update(is_staff=False)
    assert_error(api(token).get(LIST), 401, "authentication_failed")


def test_only_staff_have_staff_tokens(seller):
    from returns_portal.errors import DomainError

    with pytest.raises(DomainError):
        issue_key(store=None, user=seller, name="Mine")


# --- idempotency ----------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_without_acting_again(key, refund_only, commit):
    erp = api(key)
    with commit():
        first = post(erp, url(refund_only, "counter-offer"), {"amount": "1000.00", "message": "Half?"},
                     HTTP_IDEMPOTENCY_KEY="offer-1")
    assert first.status_code == 200
    after_first = snapshot()
    with commit():
        again = post(erp, url(refund_only, "counter-offer"), {"message": "Half?", "amount": "1000.00"},
                     HTTP_IDEMPOTENCY_KEY="offer-1")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert snapshot() == after_first


def test_the_same_key_with_another_body_is_a_409_and_changes_nothing(key, refund_only):
    erp = api(key)
    post(erp, url(refund_only, "counter-offer"), {"amount": "1000.00"}, HTTP_IDEMPOTENCY_KEY="offer-1")
    before = snapshot()
    body = assert_error(post(erp, url(refund_only, "counter-offer"), {"amount": "900.00"},
                             HTTP_IDEMPOTENCY_KEY="offer-1"), 409, "idempotency_key_reused")
    assert "another request" in body["message"]
    assert_error(post(erp, url(refund_only, "accept"), {"amount": "1000.00"}, HTTP_IDEMPOTENCY_KEY="offer-1"),
                 409, "idempotency_key_reused")
    assert snapshot() == before


def test_a_refusal_is_kept_and_replayed_too(key, dispute):
    erp = api(key)
    first = post(erp, url(dispute, "accept"), HTTP_IDEMPOTENCY_KEY="a-1")
    again = post(erp, url(dispute, "accept"), HTTP_IDEMPOTENCY_KEY="a-1")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again["Idempotent-Replayed"] == "true"


def test_keys_are_per_api_key(key, store, refund_only, commit):
    other_raw = issue_key(store=store, user=SellerFactory(store=store), name="Other system")[1]
    post(api(key), url(refund_only, "counter-offer"), {"amount": "1000.00"}, HTTP_IDEMPOTENCY_KEY="k")
    second = post(api(other_raw), url(refund_only, "counter-offer"), {"amount": "1000.00"}, HTTP_IDEMPOTENCY_KEY="k")
    assert_error(second, 409, "invalid_transition")  # it acted (and was refused by the lifecycle): no replay


def test_a_bad_idempotency_key_is_a_400(key, refund_only):
    before = snapshot()
    body = assert_error(post(api(key), url(refund_only, "accept"), HTTP_IDEMPOTENCY_KEY="x" * 256), 400, "invalid")
    assert list(body["fields"]) == ["Idempotency-Key"]
    assert snapshot() == before


def test_an_idempotency_key_is_forgotten_after_its_lifetime(key, refund_only, clock):
    from api.idempotency import forget_expired

    post(api(key), url(refund_only, "counter-offer"), {"amount": "1000.00"}, HTTP_IDEMPOTENCY_KEY="k")
    clock.move_to(NOW + timedelta(hours=23))
    assert forget_expired() == 0
    clock.move_to(NOW + timedelta(hours=24, seconds=1))
    assert forget_expired() == 1
    assert not IdempotentRequest.objects.exists()


def test_the_periodic_task_forgets_old_keys_and_may_run_twice(key, refund_only, clock):
    from api.tasks import forget_idempotency_keys

    post(api(key), url(refund_only, "counter-offer"), {"amount": "1000.00"}, HTTP_IDEMPOTENCY_KEY="k")
    clock.move_to(NOW + timedelta(days=2))
    assert forget_idempotency_keys.delay().get() == 1
    assert forget_idempotency_keys.delay().get() == 0


@pytest.mark.parametrize("path", ["/api/v1/disputes/abc/", "/api/v1/nothing/", "/api/v2/disputes/"])
def test_an_address_under_api_that_nothing_answers_is_a_json_404(key, path):
    assert_error(api(key).get(path), 404, "not_found")
    assert_error(Client(enforce_csrf_checks=True).post(path), 404, "not_found")
