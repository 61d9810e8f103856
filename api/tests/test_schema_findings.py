"""What the schema run (``test_schemathesis``) found, each pinned by a plain test: the error
shape's ``fields`` is one level of names with lists of messages, also for an item of a list;
a bad cursor on the messages is a documented 400."""
import json

import pytest
from django.test import Client

from .world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_a_list_item_that_is_not_a_file_is_named_by_its_path(world):
    erp = Client(HTTP_AUTHORIZATION=f"Bearer {world.ours.key}")
    dispute = world.ours.disputes["return_in_transit"]
    refused = post(erp, f"/api/v1/disputes/{dispute.pk}/messages/", {"body": "x", "files": ["a", "b"]})
    assert refused.status_code == 400
    assert refused.json()["fields"] == {
        "files.0": ["The submitted data was not a file. Check the encoding type on the form."],
        "files.1": ["The submitted data was not a file. Check the encoding type on the form."]}
    refused = post(erp, f"/api/v1/disputes/{dispute.pk}/inspection/", {"answers": {}, "photos": ["a"]})
    assert refused.status_code == 400
    assert list(refused.json()["fields"]) == ["photos.0"]


def test_a_bad_messages_cursor_is_a_400_the_schema_documents(world):
    erp = Client(HTTP_AUTHORIZATION=f"Bearer {world.ours.key}")
    dispute = world.ours.disputes["local_awaiting_seller"]
    refused = erp.get(f"/api/v1/disputes/{dispute.pk}/messages/?cursor=forged")
    assert refused.status_code == 400
    assert set(refused.json()) == {"code", "message", "fields"}
    schema = Client().get("/api/schema/?format=json").json()
    assert "400" in schema["paths"]["/api/v1/disputes/{id}/messages/"]["get"]["responses"]
