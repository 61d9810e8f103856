"""What is recorded, and when: a delivery for every event on a store's disputes that its
parties may read (never a staff note), written in the transaction of the event and queued
only once it commits; the deadline sweep's batches in a constant number of queries."""
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.tests.factories import SellerFactory, StaffFactory
from disputes.models import Dispute
from disputes.services import (
    dispute_add_note,
    dispute_escalate,
    dispute_message_post,
    dispute_open,
    dispute_reject,
    dispute_staff_decide,
)
from disputes.sweep import enforce_deadlines
from disputes.tests.factories import DisputeFactory, disputable_line, photo
from webhooks import events
from webhooks.models import WebhookDelivery
from webhooks.outbox import record

from .factories import EndpointFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
S = Dispute.State


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def sent(endpoint=None) -> list[tuple[str, str | None]]:
    """(type, event kind) of each delivery recorded, oldest first."""
    deliveries = WebhookDelivery.objects.order_by("created_at", "event_type")
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    return [(d.event_type, json.loads(d.body)["event"]["kind"]) for d in deliveries]


def supervisor() -> User:
    user = StaffFactory()
    user.groups.add(Group.objects.get(name="Supervisor"))
    return User.objects.get(pk=user.pk)


def test_every_event_the_parties_read_is_recorded_with_its_type(time_machine, django_capture_on_commit_callbacks):
    clock = time_machine
    clock.move_to(NOW)  # ticking: what happens in one service is recorded in its order
    line = disputable_line(price=Decimal("2490.00"))
    store = line.order.store
    seller = SellerFactory(store=store)
    endpoint = EndpointFactory(store=store)
    other_store = EndpointFactory()  # another store's endpoint hears nothing of it
    staff = supervisor()

    # A local return: opened, reminded, its deadline passed (default instructions issued).
    local = dispute_open(buyer=line.order.buyer, order_line=line, kind=Dispute.Kind.RETURN,
                         route=Dispute.Route.LOCAL, amount=Decimal("2000.00"), reason=Dispute.Reason.CHANGED_MIND)
    clock.move_to(local.deadline_at - timedelta(hours=1))
    enforce_deadlines()
    clock.move_to(local.deadline_at + timedelta(seconds=1))
    enforce_deadlines()
    dispute_message_post(dispute=local, author=line.order.buyer, body="Which box?")
    assert sent(endpoint) == [
        ("dispute.opened", "opened"),
        ("dispute.deadline_reminder", "deadline_reminder"),
        ("dispute.deadline_passed", "instructions_sent"),
        ("dispute.message", "message"),
    ]
    assert json.loads(WebhookDelivery.objects.get(event_type="dispute.deadline_passed").body)["event"] == {
        "kind": "instructions_sent", "from_state": S.AWAITING_SELLER, "to_state": S.AWAITING_BUYER_SHIPMENT}

    # A refund-only claim: rejected, escalated, a staff note (never sent), decided and refunded.
    WebhookDelivery.objects.all().delete()
    other = disputable_line(buyer=line.order.buyer, store=store, warehouse_country=None)
    claim = dispute_open(buyer=other.order.buyer, order_line=other, kind=Dispute.Kind.REFUND_ONLY,
                         route=Dispute.Route.NONE, amount=Decimal("1000.00"), reason=Dispute.Reason.DAMAGED,
                         evidence=[photo()])
    dispute_reject(dispute=claim, seller=seller, reason="It left us intact.")
    dispute_escalate(dispute=claim, buyer=other.order.buyer, reason="It arrived broken.")
    dispute_add_note(dispute=claim, staff=staff, note="Buyer has three earlier claims: check the photos.")
    with django_capture_on_commit_callbacks(execute=True):  # the refund is paid once the decision commits
        dispute_staff_decide(dispute=claim, staff=staff, decision="refund_full", reason="The photos show damage.")
    assert sent(endpoint) == [
        ("dispute.opened", "opened"),
        ("dispute.decided", "rejected"),
        ("dispute.escalated", "escalated"),
        ("dispute.message", "message"),  # the buyer's reason for escalating is a message in the thread
        ("dispute.decided", "staff_decided"),
        ("dispute.refunded", "refund_paid"),
    ]
    assert not WebhookDelivery.objects.filter(endpoint=other_store).exists()
    assert all("three earlier claims" not in d.body for d in WebhookDelivery.objects.all())
    refunded = json.loads(WebhookDelivery.objects.get(event_type="dispute.refunded").body)
    assert (refunded["dispute"]["state"], refunded["dispute"]["amount"]) == ("refunded", "1000.00")


def test_a_staff_note_is_never_sent():
    dispute = DisputeFactory()
    EndpointFactory(store=dispute.store)
    staff = supervisor()

    dispute_add_note(dispute=dispute, staff=staff, note="Internal only.")

    assert WebhookDelivery.objects.count() == 0
    assert all(events.type_of(type("E", (), {"kind": kind, "actor_id": None, "details": {"outcome": "x"}})) is None
               for kind in Dispute.events.rel.related_model.STAFF_ONLY_KINDS)


def test_every_endpoint_of_the_store_gets_the_event_except_disabled_ones(clock):
    dispute = DisputeFactory()
    first, second = EndpointFactory(store=dispute.store), EndpointFactory(store=dispute.store)
    EndpointFactory(store=dispute.store, disabled_at=NOW)

    dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")

    deliveries = list(WebhookDelivery.objects.order_by("endpoint_id"))
    assert [d.endpoint_id for d in deliveries] == [first.pk, second.pk]
    assert deliveries[0].event_id == deliveries[1].event_id and deliveries[0].body == deliveries[1].body
    assert [(d.state, d.attempts, d.next_attempt_at) for d in deliveries] == [(WebhookDelivery.State.PENDING, 0, NOW)] * 2


def test_nothing_is_queued_before_the_commit_and_nothing_at_all_after_a_rollback(django_capture_on_commit_callbacks):
    dispute = DisputeFactory()
    EndpointFactory(store=dispute.store)

    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True) as queued:
        with transaction.atomic():
            dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")
            assert WebhookDelivery.objects.count() == 1  # written in the same transaction
            raise RuntimeError("the request failed after the message was written")

    assert WebhookDelivery.objects.count() == 0
    assert queued == []


@pytest.mark.django_db(transaction=True)
def test_committed_events_are_sent_and_rolled_back_ones_never(allow_http):
    from .receiver import Receiver

    dispute = DisputeFactory()
    with Receiver() as receiver:
        EndpointFactory(store=dispute.store, url=receiver.url)
        with pytest.raises(RuntimeError), transaction.atomic():
            dispute_message_post(dispute=dispute, author=dispute.buyer, body="Never sent")
            raise RuntimeError
        assert receiver.received == [] and WebhookDelivery.objects.count() == 0

        dispute_message_post(dispute=dispute, author=dispute.buyer, body="Sent")  # commits: queued, sent eagerly

    assert [json.loads(r.body)["event"]["message"]["body"] for r in receiver.received] == ["Sent"]
    assert WebhookDelivery.objects.get().state == WebhookDelivery.State.DELIVERED


def test_recording_the_same_event_twice_for_an_endpoint_is_refused_by_the_database():
    dispute = DisputeFactory()
    endpoint = EndpointFactory(store=dispute.store)
    [delivery] = record([__import__("webhooks.outbox", fromlist=["Occurrence"]).Occurrence(
        dispute.pk, events.UPDATED, NOW, {"kind": "withdrawn"})])
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.create(endpoint=endpoint, dispute=dispute, event_id=delivery.event_id,
                                       event_type=events.UPDATED, body="{}")


# --- the deadline sweep: a batch in a constant number of queries ---------------------------------------


def due_disputes(count: int, stores) -> list[Dispute]:
    disputes = []
    for i in range(count):
        store = stores[i % len(stores)]
        disputes.append(DisputeFactory(order_line=disputable_line(store=store, warehouse_country=None),
                                       state=S.AWAITING_BUYER_SHIPMENT, deadline_at=NOW - timedelta(hours=1)))
    return disputes


def sweep_queries(count: int) -> tuple[int, int, int]:
    """(queries other than the deliveries' inserts, those inserts, deliveries recorded)."""
    WebhookDelivery.objects.all().delete()
    Dispute.objects.all().update(state=S.CLOSED, deadline_at=None)
    stores = [EndpointFactory().store for _ in range(3)]
    for store in stores[:2]:
        EndpointFactory(store=store)  # two endpoints on two of the stores
    due_disputes(count, stores)
    with CaptureQueriesContext(connection) as queries:
        report = enforce_deadlines(now=NOW)
    assert report.counts["buyer_did_not_ship"] == count
    inserts = sum('INSERT INTO "webhooks_webhookdelivery"' in q["sql"] for q in queries.captured_queries)
    return len(queries) - inserts, inserts, WebhookDelivery.objects.filter(event_type=events.DEADLINE_PASSED).count()


def test_the_sweep_records_a_batch_of_deliveries_in_a_constant_number_of_queries():
    small, small_inserts, small_deliveries = sweep_queries(6)
    large, large_inserts, large_deliveries = sweep_queries(60)

    assert (small_deliveries, large_deliveries) == (6 * 5 // 3, 60 * 5 // 3)  # 2 + 2 + 1 endpoints per 3 disputes
    assert small == large, (small, large)
    # One insert, split only where the database caps the parameters of a statement (SQLite: 999).
    per_insert = connection.ops.bulk_batch_size(WebhookDelivery._meta.concrete_fields, [None] * 500)
    assert (small_inserts, large_inserts) == (1, -(-100 // per_insert))
