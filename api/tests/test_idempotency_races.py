"""Twenty requests at once on one dispute, over HTTP, on PostgreSQL (SQLite serialises writers
on the whole file, so it cannot show that the Idempotency-Key's unique claim and the
dispute's row lock are what keep the outcome single).

One Idempotency-Key: one action, and every answer is the first one. Twenty keys: the first
acts, the lifecycle refuses the others (409), one timeline entry."""
import json
from collections import Counter

import pytest
from django.test import Client

from disputes.models import Dispute, DisputeEvent, ReturnInstructions
from returns_portal.testing import together

from .world import build_world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20


@pytest.fixture
def world():
    return build_world(every_state=False, staff=False)


def requests(world, action: str) -> tuple[Dispute, str, dict]:
    if action == "instructions":
        return (world.ours.disputes["local_awaiting_seller"], "instructions",
                {"warehouse": world.ours.warehouse.pk, "method": "drop_off", "carrier": "Russian Post"})
    return world.ours.disputes["refund_awaiting_seller"], "counter-offer", {"amount": "1000.00", "message": "Half?"}


def poster(world, url: str, body: dict, idempotency_key: str):
    def post():
        client = Client(HTTP_AUTHORIZATION=f"Bearer {world.ours.key}")
        response = client.post(url, json.dumps(body), content_type="application/json",
                               HTTP_IDEMPOTENCY_KEY=idempotency_key)
        return response.status_code, response.json(), response.headers.get("Idempotent-Replayed")
    return post


@pytest.mark.parametrize("action", ["instructions", "counter-offer"])
def test_twenty_posts_with_one_key_act_once_and_answer_alike(world, action):
    dispute, path, body = requests(world, action)
    url = f"/api/v1/disputes/{dispute.pk}/{path}/"
    events_before = DisputeEvent.objects.filter(dispute=dispute).count()

    outcomes = together(*[poster(world, url, body, "erp-42")] * THREADS)

    assert [kind for kind, _value in outcomes] == ["ok"] * THREADS, outcomes
    answers = [value for _kind, value in outcomes]
    assert {status for status, _body, _replayed in answers} == {200}
    first = answers[0][1]
    assert all(answer_body == first for _status, answer_body, _replayed in answers)
    assert Counter(replayed for _s, _b, replayed in answers) == {None: 1, "true": THREADS - 1}
    dispute.refresh_from_db()
    expected_state = "awaiting_buyer_shipment" if action == "instructions" else "counter_offered"
    assert dispute.state == first["state"] == expected_state
    new_events = DisputeEvent.objects.filter(dispute=dispute).order_by("pk")[events_before:]
    assert [(e.kind, e.from_state, e.to_state) for e in new_events] == [
        ("instructions_sent" if action == "instructions" else "counter_offered", "awaiting_seller", expected_state)]
    if action == "instructions":
        assert ReturnInstructions.objects.filter(dispute=dispute).count() == 1


def test_twenty_posts_with_twenty_keys_one_acts_the_others_are_refused(world):
    dispute, path, body = requests(world, "counter-offer")
    url = f"/api/v1/disputes/{dispute.pk}/{path}/"
    events_before = DisputeEvent.objects.filter(dispute=dispute).count()

    outcomes = together(*[poster(world, url, body, f"erp-{n}") for n in range(THREADS)])

    assert [kind for kind, _value in outcomes] == ["ok"] * THREADS, outcomes
    statuses = Counter(status for status, _body, _replayed in (value for _kind, value in outcomes))
    assert statuses == {200: 1, 409: THREADS - 1}
    refusals = {answer["code"] for status, answer, _r in (v for _k, v in outcomes) if status == 409}
    assert refusals == {"invalid_transition"}
    dispute.refresh_from_db()
    assert dispute.state == "counter_offered"
    assert DisputeEvent.objects.filter(dispute=dispute).count() == events_before + 1
