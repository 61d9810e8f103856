"""Requests per API key (API_RATE_LIMIT) and per address without a valid key
(API_ANON_RATE_LIMIT): past the limit, 429 with Retry-After in the API's error shape; one
key's count is not another's."""
import pytest
from django.core.cache import cache
from django.test import Client

from .world import build_world

pytestmark = pytest.mark.django_db

LIST = "/api/v1/disputes/"


@pytest.fixture
def world(settings):
    settings.API_RATE_LIMIT = "3/min"
    settings.API_ANON_RATE_LIMIT = "2/min"
    cache.clear()
    yield build_world(every_state=False, staff=False)
    cache.clear()


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    assert 0 < int(response["Retry-After"]) <= 60
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == "throttled"
    assert body["fields"] == {}


def test_the_fourth_request_with_a_key_is_429_and_another_key_is_not_affected(world):
    erp = Client(HTTP_AUTHORIZATION=f"Bearer {world.ours.key}")
    dispute = world.ours.disputes["local_awaiting_seller"]
    assert [erp.get(url).status_code for url in (LIST, f"{LIST}{dispute.pk}/", "/api/v1/warehouses/")] == [200] * 3
    assert_throttled(erp.get(LIST))
    assert_throttled(erp.post(f"{LIST}{dispute.pk}/messages/", {"body": "Hello?"}))
    assert not dispute.messages.filter(body="Hello?").exists()

    other = Client(HTTP_AUTHORIZATION=f"Bearer {world.theirs.key}")
    assert [other.get(LIST).status_code for _ in range(3)] == [200] * 3
    assert_throttled(other.get(LIST))


def test_without_a_valid_key_the_limit_per_address_applies(world):
    for header in (None, "Bearer rp_notakey"):
        cache.clear()
        client = Client(**({"HTTP_AUTHORIZATION": header} if header else {}))
        assert [client.get(LIST).status_code for _ in range(2)] == [401, 401]
        assert_throttled(client.get(LIST))
    # The schema is public, under the same limit per address (answered in the schema's format).
    cache.clear()
    assert [Client().get("/api/schema/").status_code for _ in range(2)] == [200, 200]
    refused = Client().get("/api/schema/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    # A valid key from the same address has its own count.
    assert Client(HTTP_AUTHORIZATION=f"Bearer {world.ours.key}").get(LIST).status_code == 200
