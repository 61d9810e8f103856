"""The JSON API's read endpoints for the store's webhooks, with the store's API key: its
endpoints (never their secrets) and each one's delivery log with every attempt, newest
first by cursor pages. Another store's endpoint is a 404 in the one error shape; no key, a
revoked key: 401. Queries stay flat as the log grows."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from accounts.tests.factories import SellerFactory
from api.keys import issue_key, revoke_key
from disputes.tests.factories import DisputeFactory
from webhooks.models import WebhookAttempt, WebhookDelivery

from .factories import EndpointFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
ENDPOINTS = "/api/v1/webhooks/endpoints/"
D = WebhookDelivery.State


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def dispute():
    return DisputeFactory()


@pytest.fixture
def endpoint(dispute):
    return EndpointFactory(store=dispute.store, url="https://erp.example.com/hook", description="ERP")


def api(store=None, raw=None) -> Client:
    client = Client()
    if store is not None:
        raw = issue_key(store=store, user=SellerFactory(store=store), name=f"ERP {uuid.uuid4()}")[1]
    if raw is not None:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert set(response.json()) == {"code", "message", "fields"} and response.json()["code"] == code


def deliveries(endpoint, dispute, count: int, start=NOW) -> list[WebhookDelivery]:
    made = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(endpoint=endpoint, dispute=dispute, event_id=uuid.uuid4(), event_type="dispute.message",
                        body="{}", state=D.FAILED, attempts=2, created_at=start + timedelta(seconds=i),
                        next_attempt_at=NOW + timedelta(minutes=2), last_status_code=500)
        for i in range(count)])
    WebhookAttempt.objects.bulk_create([
        WebhookAttempt(delivery=d, number=n, started_at=NOW, status_code=500, latency_ms=10 + n,
                       error="HTTP 500 Internal Server Error") for d in made for n in (1, 2)])
    return made


def test_the_store_reads_its_endpoints_without_their_secrets(dispute, endpoint):
    EndpointFactory()  # another store's

    answer = api(dispute.store).get(ENDPOINTS)

    assert answer.status_code == 200
    assert answer.json() == [{
        "id": endpoint.pk, "url": "https://erp.example.com/hook", "description": "ERP", "active": True,
        "disabled_reason": None, "disabled_at": None, "created_at": "2025-03-10T12:00:00Z",
        "secret_rotated_at": None, "consecutive_failures": 0, "last_success_at": None, "last_failure_at": None,
    }]
    assert endpoint.secret not in answer.content.decode()
    assert api(dispute.store).get(f"{ENDPOINTS}{endpoint.pk}/").json()["url"] == endpoint.url


def test_the_delivery_log_with_every_attempt_newest_first_by_pages(dispute, endpoint):
    made = deliveries(endpoint, dispute, 3)
    client = api(dispute.store)

    first = client.get(f"{ENDPOINTS}{endpoint.pk}/deliveries/?page_size=2")

    assert first.status_code == 200
    page = first.json()
    assert [d["id"] for d in page["results"]] == [str(made[2].pk), str(made[1].pk)]
    assert page["results"][0] == {
        "id": str(made[2].pk), "event_id": str(made[2].event_id), "event_type": "dispute.message",
        "dispute": dispute.pk, "state": "failed", "created_at": "2025-03-10T12:00:02Z", "attempts": 2,
        "next_attempt_at": "2025-03-10T12:02:00Z", "delivered_at": None, "last_status_code": 500,
        "redelivery_of": None,
        "attempt_log": [
            {"number": 1, "started_at": "2025-03-10T12:00:00Z", "status_code": 500, "latency_ms": 11,
             "error": "HTTP 500 Internal Server Error"},
            {"number": 2, "started_at": "2025-03-10T12:00:00Z", "status_code": 500, "latency_ms": 12,
             "error": "HTTP 500 Internal Server Error"}],
    }
    second = client.get(page["next"]).json()
    assert [d["id"] for d in second["results"]] == [str(made[0].pk)] and second["next"] is None


def test_another_stores_endpoint_is_404_and_no_key_or_a_revoked_one_401(dispute, endpoint):
    theirs = EndpointFactory()
    client = api(dispute.store)
    error(client.get(f"{ENDPOINTS}{theirs.pk}/"), 404, "not_found")
    error(client.get(f"{ENDPOINTS}{theirs.pk}/deliveries/"), 404, "not_found")
    error(client.get(f"{ENDPOINTS}{endpoint.pk}/deliveries/?cursor=forged"), 400, "invalid")

    error(Client().get(ENDPOINTS), 401, "not_authenticated")
    key, raw = issue_key(store=dispute.store, user=SellerFactory(store=dispute.store), name="Old")
    revoke_key(key=key, user=None)
    error(api(raw=raw).get(ENDPOINTS), 401, "authentication_failed")
    # A browser's session is not a way in.
    browser = Client()
    browser.force_login(SellerFactory(store=dispute.store))
    error(browser.get(ENDPOINTS), 401, "not_authenticated")


def test_queries_stay_flat_as_the_log_grows(dispute, endpoint, django_assert_max_num_queries):
    client = api(dispute.store)
    deliveries(endpoint, dispute, 2)
    with django_assert_max_num_queries(6) as few:
        assert client.get(f"{ENDPOINTS}{endpoint.pk}/deliveries/").status_code == 200
    deliveries(endpoint, dispute, 80, start=NOW + timedelta(hours=1))
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(f"{ENDPOINTS}{endpoint.pk}/deliveries/").json()["results"]) == 50
    EndpointFactory.create_batch(5, store=dispute.store)
    with django_assert_max_num_queries(3):
        assert len(client.get(ENDPOINTS).json()) == 6


def test_the_schema_describes_the_webhook_endpoints():
    schema = Client().get("/api/schema/?format=json")
    paths = schema.json()["paths"]
    assert {"/api/v1/webhooks/endpoints/", "/api/v1/webhooks/endpoints/{id}/",
            "/api/v1/webhooks/endpoints/{id}/deliveries/"} <= set(paths)
