"""The stores' read API over HTTP: a store's key lists and reads exactly the store's disputes
(what its members see), filters and pages them, never shows a staff note, and refuses
everyone else in one error shape; its schema and docs are served without a CDN."""
import json
import re
from urllib.parse import quote
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from accounts.tests.factories import SellerFactory
from api.errors import exception_handler
from api.keys import issue_key, revoke_key
from api.models import ApiKey
from catalog.models import Warehouse
from catalog.tests.factories import StoreFactory
from disputes.lifecycle import STEPS, Party
from disputes.models import Dispute, DisputeEvent, Inspection, Refund, ReturnInstructions, ReturnShipment
from disputes.tests.bulk import bulk_disputes
from disputes.tests.factories import DisputeEventFactory, DisputeFactory, disputable_line
from returns_portal.errors import DomainError, ErrorCode

pytestmark = pytest.mark.django_db

LIST = "/api/v1/disputes/"
S = Dispute.State


def detail(pk) -> str:
    return f"{LIST}{pk}/"


def key_for(store) -> str:
    _key, raw = issue_key(store=store, user=SellerFactory(store=store), name="ERP")
    return raw


def api(raw=None, header=None, **extra) -> Client:
    client = Client()
    if header is None and raw is not None:
        header = f"Bearer {raw}"
    if header is not None:
        client.defaults["HTTP_AUTHORIZATION"] = header
    client.defaults.update(extra)
    return client


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    assert body["message"] and "_" not in body["message"].split()[0]
    return body


def all_ids(client, query: str = "") -> list[int]:
    response = client.get(f"{LIST}?page_size=200{query}")
    assert response.status_code == 200, response.content
    assert response.json()["next"] is None
    return [item["id"] for item in response.json()["results"]]


@pytest.fixture
def store():
    return StoreFactory(name="Watch House")


@pytest.fixture
def dispute(store):
    return DisputeFactory(order_line=disputable_line(store=store))


# --- who gets in -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["list", "detail"])
@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Token abc"])
def test_no_bearer_key_is_401_not_authenticated(dispute, path, header):
    url = LIST if path == "list" else detail(dispute.pk)
    response = api(header=header).get(url)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["list", "detail"])
@pytest.mark.parametrize("header", [
    "Bearer", "Bearer nonsense", "Bearer rp_abcdefgh_short", "Bearer rp_abcdefgh_" + "A" * 43,
    "Bearer a b", "Bearer rp_abcdefgh_" + "A" * 42 + "é",
])
def test_malformed_or_unknown_key_is_401(dispute, path, header):
    url = LIST if path == "list" else detail(dispute.pk)
    response = api(header=header).get(url)
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["list", "detail"])
def test_revoked_key_is_401(store, dispute, path):
    key, raw = issue_key(store=store, user=SellerFactory(store=store), name="Old ERP")
    revoke_key(key=key, user=None)
    url = LIST if path == "list" else detail(dispute.pk)
    assert_error(api(raw).get(url), 401, "authentication_failed")


def test_a_buyers_session_alone_is_401(dispute):
    client = Client()
    client.force_login(dispute.buyer)
    assert_error(client.get(LIST), 401, "not_authenticated")
    assert_error(client.get(detail(dispute.pk)), 401, "not_authenticated")


def test_a_store_members_session_alone_is_401(store, dispute):
    client = Client()
    client.force_login(SellerFactory(store=store))
    assert_error(client.get(LIST), 401, "not_authenticated")


def test_another_stores_key_neither_lists_nor_reads_the_dispute(dispute):
    other = StoreFactory(name="Other shop")
    theirs = DisputeFactory(order_line=disputable_line(store=other))
    client = api(key_for(other))
    assert all_ids(client) == [theirs.pk]
    body = assert_error(client.get(detail(dispute.pk)), 404, "not_found")
    assert body["fields"] == {}
    assert_error(client.get(detail(999999)), 404, "not_found")


def test_the_stores_key_reads_its_dispute_and_records_its_use(store, dispute):
    raw = key_for(store)
    assert all_ids(api(raw)) == [dispute.pk]
    assert api(raw).get(detail(dispute.pk)).status_code == 200
    assert ApiKey.objects.get(store=store).last_used_at is not None


def test_writes_are_refused_in_the_error_shape(store, dispute):
    client = api(key_for(store))
    before = Dispute.objects.values().get(pk=dispute.pk)
    assert_error(client.post(LIST, {}, content_type="application/json"), 405, "method_not_allowed")
    assert_error(client.delete(detail(dispute.pk)), 405, "method_not_allowed")
    assert Dispute.objects.values().get(pk=dispute.pk) == before


def test_domain_errors_map_to_4xx_by_code():
    for code, status in [(ErrorCode.NOT_ALLOWED, 403), (ErrorCode.INVALID_TRANSITION, 409),
                         (ErrorCode.INVALID_AMOUNT, 400)]:
        response = exception_handler(DomainError(code, "Said in words."), {})
        assert response.status_code == status
        assert response.data == {"code": str(code), "message": "Said in words.", "fields": {}}


# --- what it says --------------------------------------------------------------------------------


def test_list_item_says_everything_in_codes_with_texts_in_the_requests_language(store, dispute):
    response = api(key_for(store), HTTP_ACCEPT_LANGUAGE="ru").get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    line = dispute.order_line
    with translation.override("ru"):
        state_text = str(Dispute.State.AWAITING_SELLER.label)
    assert state_text != "Awaiting seller" and re.search("[а-я]", state_text)
    assert body["results"] == [{
        "id": dispute.pk,
        "state": "awaiting_seller",
        "state_text": state_text,
        "who_must_act": "seller",
        "deadline_at": dispute.deadline_at.isoformat().replace("+00:00", "Z"),
        "kind": "return",
        "route": "local",
        "amount": "2490.00",
        "currency": "RUB",
        "order_number": line.order.number,
        "line_title": line.title,
        "buyer_country": "RU",
        "created_at": dispute.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": Dispute.objects.get(pk=dispute.pk).updated_at.isoformat().replace("+00:00", "Z"),
        "allowed_actions": {"send_instructions": ["send_instructions"]},
    }]


def test_allowed_actions_are_the_stores_by_the_lifecycle_table(store):
    refund_only = DisputeFactory(order_line=disputable_line(store=store), kind=Dispute.Kind.REFUND_ONLY,
                                 route=Dispute.Route.NONE)
    buyers_turn = DisputeFactory(order_line=disputable_line(store=store), state=S.AWAITING_BUYER_SHIPMENT)
    results = {i["id"]: i for i in api(key_for(store)).get(LIST).json()["results"]}
    assert results[refund_only.pk]["route"] is None
    assert results[refund_only.pk]["allowed_actions"] == {
        "accept": ["accept"], "counter_offer": ["counter_offer"], "reject": ["reject"]}
    assert results[buyers_turn.pk]["who_must_act"] == "buyer"
    assert results[buyers_turn.pk]["allowed_actions"] == {}


def test_detail_has_timeline_without_staff_notes_return_leg_inspection_and_refunds(store, dispute):
    buyer = dispute.buyer
    member = SellerFactory(store=store)
    now = timezone.now()
    warehouse = Warehouse.objects.filter(store=store).first()
    address = {"name": "Watch House returns", "street": "Tverskaya 1", "city": "Moscow", "country": "RU"}
    ReturnInstructions.objects.create(dispute=dispute, warehouse=warehouse, address=address, method="drop_off",
                                      carrier="Russian Post", text="Pack it well.", rma_code="RMA-API-1",
                                      ship_by=now + timedelta(days=10), issued_by=member)
    ReturnShipment.objects.create(dispute=dispute, carrier="Russian Post", tracking_number="RA123456789RU")
    Inspection.objects.create(dispute=dispute, inspector=member, answers={}, outcome=Inspection.Outcome.REJECTED,
                              findings=[{"code": "signs_of_use", "outcome": "fail", "message": "x"}])
    Refund.objects.create(dispute=dispute, order_line=dispute.order_line, amount=Decimal("100.00"), currency="RUB",
                          idempotency_key="api-test-1", status=Refund.Status.PAID, paid_at=now)
    DisputeEventFactory(dispute=dispute, actor=buyer, kind=DisputeEvent.Kind.OPENED, to_state=S.AWAITING_SELLER,
                        details={"reason": "changed_mind"}, created_at=now - timedelta(hours=3))
    DisputeEventFactory(dispute=dispute, actor=None, kind=DisputeEvent.Kind.STAFF_NOTE,
                        details={"reason": "SECRET staff remark"}, created_at=now - timedelta(hours=2))
    DisputeEventFactory(dispute=dispute, actor=member, kind=DisputeEvent.Kind.INSTRUCTIONS_SENT,
                        from_state=S.AWAITING_SELLER, to_state=S.AWAITING_BUYER_SHIPMENT,
                        details={"rma_code": "RMA-API-1"}, created_at=now - timedelta(hours=1))
    Dispute.objects.filter(pk=dispute.pk).update(state=S.REJECTED)

    response = api(key_for(store)).get(detail(dispute.pk))
    assert response.status_code == 200
    assert b"SECRET" not in response.content and b"staff_note" not in response.content
    body = response.json()
    assert body["state"] == "rejected" and body["who_must_act"] == "buyer" and body["allowed_actions"] == {}
    assert [(e["kind"], e["from_state"], e["to_state"]) for e in body["timeline"]] == [
        ("opened", "", "awaiting_seller"), ("instructions_sent", "awaiting_seller", "awaiting_buyer_shipment")]
    assert body["timeline"][1]["by"] == "by Watch House, the seller"
    assert body["timeline"][1]["note"] == "RMA code RMA-API-1."
    assert body["instructions"]["address"] == address
    assert body["instructions"]["rma_code"] == "RMA-API-1"
    assert body["shipment"]["tracking_number"] == "RA123456789RU"
    assert body["inspection"]["outcome"] == "rejected"
    [finding] = body["inspection"]["findings"]
    assert finding["code"] == "signs_of_use" and finding["outcome"] == "fail"
    assert finding["text"] and "signs_of_use" not in finding["text"]
    assert body["refunds"] == [{"amount": "100.00", "currency": "RUB", "status": "paid", "status_text": "Paid",
                                "created_at": body["refunds"][0]["created_at"],
                                "paid_at": now.isoformat().replace("+00:00", "Z")}]


def test_detail_of_a_fresh_dispute_has_no_return_leg(store, dispute):
    body = api(key_for(store)).get(detail(dispute.pk)).json()
    assert body["instructions"] is None and body["shipment"] is None and body["inspection"] is None
    assert body["refunds"] == [] and body["timeline"] == []


# --- filters and pages -----------------------------------------------------------------------------


@pytest.fixture
def many():
    """40 disputes of one store (and 80 of two others), over every state of bulk.MIX and five countries."""
    disputes = bulk_disputes(120, stores=3, prefix="F")
    mine = [d for d in disputes if d.store_id == disputes[0].store_id]
    return mine, api(key_for(disputes[0].store))


def ids(disputes) -> set[int]:
    return {d.pk for d in disputes}


@pytest.mark.parametrize("query,expected", [
    ("state=awaiting_seller", lambda d: d.state == S.AWAITING_SELLER),
    ("who=seller", lambda d: STEPS[d.state].who == Party.SELLER),
    ("who=buyer", lambda d: STEPS[d.state].who == Party.BUYER),
    ("who=staff", lambda d: d.state == S.ESCALATED),
    ("route=international", lambda d: d.route == "international"),
    ("route=local", lambda d: d.route == "local"),
    ("country=KZ", lambda d: d.order_line.order.delivery_country == "KZ"),
    ("country=by", lambda d: d.order_line.order.delivery_country == "BY"),
    ("state=escalated&who=staff", lambda d: d.state == S.ESCALATED),
    ("state=escalated&who=seller", lambda d: False),
])
def test_each_filter_gives_exactly_its_disputes(many, query, expected):
    mine, client = many
    wanted = ids(d for d in mine if expected(d))
    got = all_ids(client, "&" + query)
    assert len(got) == len(set(got)) and set(got) == wanted
    assert query.endswith("seller") or wanted  # the data has some of each


def test_deadline_and_updated_filters(many):
    mine, client = many
    now = timezone.now()
    # An offset other than UTC's, sent as a client must (a "+" in a query string is a space).
    moscow = (now + timedelta(hours=30)).astimezone(timezone.get_fixed_timezone(180)).isoformat()
    got_before = set(all_ids(client, "&deadline_before=" + quote(moscow)))
    assert got_before == ids(d for d in mine if d.deadline_at and d.deadline_at < now + timedelta(hours=30))
    after = (now + timedelta(hours=60)).isoformat().replace("+00:00", "Z")
    assert set(all_ids(client, "&deadline_after=" + after)) == ids(
        d for d in mine if d.deadline_at and d.deadline_at > now + timedelta(hours=60))
    changed = mine[:3]
    Dispute.objects.filter(pk__in=ids(changed)).update(updated_at=now + timedelta(days=1))
    since = (now + timedelta(hours=12)).isoformat().replace("+00:00", "Z")
    assert all_ids(client, "&updated_since=" + since) == sorted(d.pk for d in changed)


@pytest.mark.parametrize("query,field", [
    ("state=bogus", "state"), ("who=system", "who"), ("route=none", "route"),
    ("country=RUS", "country"), ("country=1A", "country"), ("updated_since=yesterday", "updated_since"),
    ("deadline_before=2025-13-01T00:00:00", "deadline_before"), ("deadline_after=%00", "deadline_after"),
    ("cursor=garbage", "cursor"),
])
def test_bad_filter_is_400_naming_the_parameter(many, query, field):
    _mine, client = many
    body = assert_error(client.get(f"{LIST}?{query}"), 400, "invalid")
    assert list(body["fields"]) == [field]
    assert body["fields"][field] and all(isinstance(m, str) and m for m in body["fields"][field])


def test_bad_filter_message_is_in_russian_for_a_russian_client(many):
    _mine, client = many
    body = assert_error(client.get(f"{LIST}?country=RUS", HTTP_ACCEPT_LANGUAGE="ru"), 400, "invalid")
    assert re.search("[а-я]", body["message"]) and re.search("[а-я]", body["fields"]["country"][0])


def test_pages_walk_every_dispute_once_in_update_order(many):
    mine, client = many
    Dispute.objects.filter(pk__in=ids(mine[:10])).update(updated_at=timezone.now())  # ties on updated_at
    seen, url, pages = [], f"{LIST}?page_size=7", 0
    while url:
        body = client.get(url).json()
        seen += [(item["updated_at"], item["id"]) for item in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 6
    assert sorted(pk for _at, pk in seen) == sorted(ids(mine)) and len(seen) == 40
    updated = dict(Dispute.objects.filter(pk__in=ids(mine)).values_list("pk", "updated_at"))
    assert [pk for _at, pk in seen] == sorted(updated, key=lambda pk: (updated[pk], pk))


# --- query budgets ---------------------------------------------------------------------------------


def count_queries(client, url) -> int:
    client.get(url)  # the key's last use is written once a minute: not part of every request
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_list_query_budget_is_flat_from_10_to_1000_disputes():
    small = bulk_disputes(10, stores=1, prefix="S")
    large = bulk_disputes(1000, stores=1, prefix="L")
    counts = [count_queries(api(key_for(batch[0].store)), f"{LIST}?page_size=200") for batch in (small, large)]
    assert counts[0] == counts[1] <= 10, counts


def test_detail_query_budget_is_flat_from_3_to_300_events(store):
    client, counts = api(key_for(store)), []
    for events in (3, 300):
        dispute = DisputeFactory(order_line=disputable_line(store=store))
        member = SellerFactory(store=store)
        DisputeEvent.objects.bulk_create([
            DisputeEvent(dispute=dispute, actor=member if i % 2 else dispute.buyer,
                         kind=DisputeEvent.Kind.STAFF_NOTE if i % 10 == 0 else DisputeEvent.Kind.REOPENED)
            for i in range(events)])
        Refund.objects.create(dispute=dispute, order_line=dispute.order_line, amount=Decimal("10.00"),
                              currency="RUB", idempotency_key=f"budget-{events}")
        counts.append(count_queries(client, detail(dispute.pk)))
    assert counts[0] == counts[1] <= 10, counts


# --- schema and docs -------------------------------------------------------------------------------


def test_schema_is_openapi_3_with_both_paths_and_the_bearer_scheme():
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/disputes/", "/api/v1/disputes/{id}/"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "rp_<prefix>_<secret>"}
    names = {p["name"] for p in schema["paths"]["/api/v1/disputes/"]["get"]["parameters"]}
    assert {"cursor", "state", "who", "route", "country", "updated_since", "deadline_before",
            "deadline_after"} <= names


def test_schema_validates_against_the_openapi_spec():
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    validate_schema(SchemaGenerator().get_schema(request=None, public=True))


def test_docs_page_loads_with_nothing_from_outside():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert not re.findall(r"(?:src|href)=[\"']?(?:https?:)?//", html), html
    # The start-up script is a URL of its own (the Content-Security-Policy runs no inline script).
    assert '<script src="/api/docs/?script="></script>' in html
    assert "/api/schema/" in Client().get("/api/docs/?script=").content.decode()


@pytest.mark.parametrize("position", ["garbage", "2025-13-01", "", "\x00"])
def test_a_forged_cursor_position_is_400_not_500(many, position):
    from base64 import b64encode
    from urllib.parse import urlencode

    _mine, client = many
    cursor = b64encode(urlencode({"p": position, "o": "0"}).encode()).decode()
    body = assert_error(client.get(f"{LIST}?" + urlencode({"cursor": cursor})), 400, "invalid")
    assert list(body["fields"]) == ["cursor"]
