"""Sending: the signature checked by an implementation written here (hmac over the raw bytes
received by a real HTTP server), the back-off schedule to the second, a receiver that fails
twice then succeeds, one attempt however often the task runs, giving up, and an endpoint
disabled after repeated failures with its store told (in each member's language)."""
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import close_old_connections
from django.utils import translation

from accounts.tests.factories import SellerFactory
from disputes.services import dispute_message_post
from disputes.tests.factories import DisputeFactory, disputable_line
from notifications.models import Notification
from webhooks import services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.payloads import DisputeSnapshotSerializer
from webhooks.services import backoff_delay, delivery_attempt
from webhooks.tasks import deliver_due_webhooks, deliver_webhook

from .factories import EndpointFactory
from .receiver import Receiver

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
D = WebhookDelivery.State


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def dispute():
    return DisputeFactory()


def post_message(dispute, callbacks, body="Where do I send it?"):
    """A message from the buyer, committed (its delivery queued, sent eagerly on commit)."""
    with callbacks(execute=True):
        return dispute_message_post(dispute=dispute, author=dispute.buyer, body=body)


def in_message_order():
    return sorted(WebhookDelivery.objects.all(), key=lambda d: json.loads(d.body)["event"]["message"]["id"])


def verify(secret: str, headers: dict, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does, independently of the portal's code (the README's recipe)."""
    timestamp = headers["X-Returns-Timestamp"]
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Returns-Signature"])


def test_a_receiver_verifies_the_signature_over_timestamp_and_body(clock, receiver, dispute,
                                                                   django_capture_on_commit_callbacks):
    endpoint = EndpointFactory(store=dispute.store, url=receiver.url)

    message = post_message(dispute, django_capture_on_commit_callbacks)

    [request] = receiver.received
    delivery = WebhookDelivery.objects.get()
    headers = request.headers
    assert request.path == "/hooks/returns"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Returns-Timestamp"] == str(int(NOW.timestamp()))
    assert headers["X-Returns-Event"] == "dispute.message"
    assert headers["X-Returns-Delivery"] == str(delivery.pk)
    assert verify(endpoint.secret, headers, request.body, now=int(NOW.timestamp()))
    # The signature covers the bytes received: another body, another timestamp or another secret fails.
    assert not verify(endpoint.secret, headers, request.body.replace(b"Where", b"When"), now=int(NOW.timestamp()))
    assert not verify(endpoint.secret, {**headers, "X-Returns-Timestamp": str(int(NOW.timestamp()) + 1)},
                      request.body, now=int(NOW.timestamp()))
    assert not verify(EndpointFactory().secret, headers, request.body, now=int(NOW.timestamp()))
    # A captured request replayed ten minutes later is refused by the timestamp check.
    assert not verify(endpoint.secret, headers, request.body, now=int(NOW.timestamp()) + 600)

    body = json.loads(request.body)
    assert body == {
        "id": str(delivery.event_id),
        "type": "dispute.message",
        "created_at": "2025-03-10T12:00:00Z",
        "event": {"kind": "message", "message": {"id": message.pk, "from": "buyer", "body": "Where do I send it?",
                                                  "files": 0}},
        "dispute": DisputeSnapshotSerializer(dispute).data,
    }
    assert body["dispute"]["id"] == dispute.pk and body["dispute"]["state"] == "awaiting_seller"
    assert "allowed_actions" not in body["dispute"]
    assert request.body == delivery.body.encode()


def test_the_back_off_doubles_from_a_minute_up_to_a_day():
    assert [backoff_delay(n) for n in range(1, 16)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1440, 1440, 1440, 1440)]


def test_a_receiver_that_fails_twice_then_succeeds(clock, allow_http, dispute, django_capture_on_commit_callbacks):
    with Receiver(statuses=[500, 500, 200], delay=0.02) as receiver:
        endpoint = EndpointFactory(store=dispute.store, url=receiver.url)

        post_message(dispute, django_capture_on_commit_callbacks)  # attempt 1, at once
        delivery = WebhookDelivery.objects.get()
        assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (D.FAILED, 1, NOW + MINUTE)

        clock.move_to(NOW + MINUTE - timedelta(seconds=1))
        assert deliver_due_webhooks() == 0  # not due yet: nothing sent
        clock.move_to(NOW + MINUTE)
        assert deliver_due_webhooks() == 1  # attempt 2
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (D.FAILED, 2, NOW + 3 * MINUTE)

        clock.move_to(NOW + 3 * MINUTE)
        assert deliver_due_webhooks() == 1  # attempt 3
        clock.move_to(NOW + 4 * MINUTE)
        assert deliver_due_webhooks() == 0

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.delivered_at, delivery.next_attempt_at,
            delivery.last_status_code) == (D.DELIVERED, 3, NOW + 3 * MINUTE, None, 200)
    log = list(delivery.attempt_log.order_by("number"))
    assert [(a.number, a.status_code, a.started_at) for a in log] == [
        (1, 500, NOW), (2, 500, NOW + MINUTE), (3, 200, NOW + 3 * MINUTE)]
    assert all(20 <= a.latency_ms < 5000 for a in log)
    assert [a.error for a in log] == ["HTTP 500 Internal Server Error", "HTTP 500 Internal Server Error", ""]
    # The same bytes each time, signed afresh with each attempt's timestamp.
    assert len({r.body for r in receiver.received}) == 1
    assert [r.headers["X-Returns-Timestamp"] for r in receiver.received] == [
        str(int((NOW + m * MINUTE).timestamp())) for m in (0, 1, 3)]
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.last_success_at, endpoint.is_active) == (0, NOW + 3 * MINUTE, True)


def test_the_task_run_twice_makes_one_attempt(clock, receiver, dispute):
    EndpointFactory(store=dispute.store, url=receiver.url)
    dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")  # on-commit not run: nothing sent yet
    delivery = WebhookDelivery.objects.get()

    assert deliver_webhook(str(delivery.pk)) is True
    assert deliver_webhook(str(delivery.pk)) is False
    assert deliver_due_webhooks() == 0

    assert len(receiver.received) == 1
    assert list(WebhookAttempt.objects.values_list("number", "status_code")) == [(1, 200)]


def test_a_redirect_is_a_failed_attempt_and_not_followed(clock, allow_http, dispute):
    with Receiver(statuses=[302]) as receiver:
        EndpointFactory(store=dispute.store, url=receiver.url)
        dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")
        attempt = delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    assert (attempt.status_code, attempt.error, len(receiver.received)) == (302, "HTTP 302 Found", 1)
    assert WebhookDelivery.objects.get().state == D.FAILED


def test_no_answer_within_the_timeout_is_a_failed_attempt(clock, allow_http, settings, dispute):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.2
    with Receiver(delay=1.0) as receiver:
        EndpointFactory(store=dispute.store, url=receiver.url)
        dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")
        attempt = delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    assert attempt.status_code is None
    assert "timed out" in attempt.error.lower()
    assert 200 <= attempt.latency_ms < 1000


def test_nobody_listening_is_a_failed_attempt(clock, allow_http, dispute):
    with Receiver() as gone:
        url = gone.url
    EndpointFactory(store=dispute.store, url=url)
    dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")
    attempt = delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    assert attempt.status_code is None and "refused" in attempt.error.lower()


def test_an_endpoint_failing_again_and_again_is_disabled_and_its_store_told(clock, allow_http, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.WEBHOOK_DISABLE_AFTER_GIVEN_UP = 2
    line = disputable_line()
    dispute = DisputeFactory(order_line=line)
    english = SellerFactory(store=dispute.store, language="en")
    russian = SellerFactory(store=dispute.store, language="ru")
    SellerFactory(store=dispute.store, is_active=False)
    outsider = SellerFactory()
    with Receiver(statuses=[503]) as receiver:
        endpoint = EndpointFactory(store=dispute.store, url=receiver.url)
        for text in ("One", "Two", "Three"):
            dispute_message_post(dispute=dispute, author=dispute.buyer, body=text)
        first, second, third = in_message_order()

        delivery_attempt(delivery_id=first.pk)
        clock.move_to(NOW + MINUTE)
        delivery_attempt(delivery_id=first.pk)  # the first is given up: one in a row, not yet disabled
        endpoint.refresh_from_db()
        assert (endpoint.is_active, endpoint.consecutive_failures, endpoint.consecutive_given_up) == (True, 2, 1)
        assert Notification.objects.filter(key="webhooks.endpoint_disabled").count() == 0

        delivery_attempt(delivery_id=second.pk)
        clock.move_to(NOW + 2 * MINUTE)
        delivery_attempt(delivery_id=second.pk)  # two given up in a row: disabled
        assert len(receiver.received) == 4

        assert deliver_due_webhooks() == 0  # the third is not sent to a disabled endpoint
        dispute_message_post(dispute=dispute, author=dispute.buyer, body="Four")  # nor is anything new recorded
        assert len(receiver.received) == 4

    endpoint.refresh_from_db()
    assert (endpoint.disabled_at, endpoint.disabled_reason) == (NOW + 2 * MINUTE, WebhookEndpoint.DisabledReason.FAILING)
    assert [d.state for d in in_message_order()] == [D.GIVEN_UP, D.GIVEN_UP, D.PENDING]
    told = Notification.objects.filter(key="webhooks.endpoint_disabled").order_by("recipient_id")
    assert [(n.recipient_id, n.key, n.url) for n in told] == [
        (english.pk, "webhooks.endpoint_disabled", f"/seller/webhooks/{endpoint.pk}/"),
        (russian.pk, "webhooks.endpoint_disabled", f"/seller/webhooks/{endpoint.pk}/")]
    assert not Notification.objects.filter(recipient=outsider).exists()  # another store's member
    with translation.override("en"):
        assert told[0].subject == f"Webhook endpoint disabled: {receiver.url}"
        assert told[0].body == (f"2 events in a row could not be delivered to {receiver.url} despite every retry, so "
                                "the endpoint was disabled on 10 Mar 2025, 15:02. Fix it, then enable it again on the "
                                "webhooks page: the events it still owes are sent then.")
    with translation.override("ru"):
        assert told[1].subject == f"Точка приёма вебхуков отключена: {receiver.url}"
        assert receiver.url in told[1].body and "2 события подряд" in told[1].body

    # Enabled again (once fixed), it gets what it still owes at the next periodic run.
    with Receiver() as fixed:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=fixed.url)
        endpoint.refresh_from_db()
        assert services.endpoint_enable(endpoint=endpoint, user=english) is True
        assert deliver_due_webhooks() == 1
    assert [json.loads(r.body)["event"]["message"]["body"] for r in fixed.received] == ["Three"]
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.consecutive_failures, endpoint.consecutive_given_up) == (True, 0, 0)


def test_a_success_between_failures_starts_the_count_again(clock, allow_http, settings, dispute):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    settings.WEBHOOK_DISABLE_AFTER_GIVEN_UP = 2
    with Receiver(statuses=[500, 200, 500]) as receiver:
        endpoint = EndpointFactory(store=dispute.store, url=receiver.url)
        for text in ("One", "Two", "Three"):
            dispute_message_post(dispute=dispute, author=dispute.buyer, body=text)
        for delivery in in_message_order():
            delivery_attempt(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.consecutive_given_up) == (True, 1)
    assert Notification.objects.filter(key="webhooks.endpoint_disabled").count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_workers_at_once_make_one_attempt(allow_http):
    dispute = DisputeFactory()
    with Receiver(delay=0.1) as receiver:
        EndpointFactory(store=dispute.store, url=receiver.url)
        # Committed, so sent at once (Celery runs eagerly in tests); then made due again from scratch.
        dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")
        delivery = WebhookDelivery.objects.get()
        WebhookAttempt.objects.all().delete()
        WebhookDelivery.objects.update(state=D.PENDING, attempts=0, delivered_at=None,
                                       next_attempt_at=datetime.now(UTC))
        receiver.received.clear()
        start = threading.Barrier(10)
        made = []

        def work():
            try:
                start.wait()
                made.append(delivery_attempt(delivery_id=delivery.pk))
            finally:
                close_old_connections()

        threads = [threading.Thread(target=work) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert len([m for m in made if m is not None]) == 1
    assert len(receiver.received) == 1
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1


def test_the_readmes_recipe_verifies_a_real_delivery(clock, receiver, dispute, django_capture_on_commit_callbacks):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    recipe = readme.split("**Webhooks.**", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(recipe, namespace)  # the README's few lines, as a receiver would paste them
    endpoint = EndpointFactory(store=dispute.store, url=receiver.url)

    post_message(dispute, django_capture_on_commit_callbacks)

    [request] = receiver.received
    assert namespace["verify"](endpoint.secret, request.headers, request.body) is True
    assert namespace["verify"](endpoint.secret, request.headers, request.body + b" ") is False
    clock.move_to(NOW + timedelta(minutes=6))
    assert namespace["verify"](endpoint.secret, request.headers, request.body) is False


def test_an_endpoint_deleted_during_an_attempt_leaves_nothing_behind(clock, allow_http, dispute, monkeypatch):
    from webhooks import transport

    with Receiver() as receiver:
        endpoint = EndpointFactory(store=dispute.store, url=receiver.url)
        dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")
        real_post = transport.post

        def post_then_delete(*args, **kwargs):
            answer = real_post(*args, **kwargs)
            services.endpoint_delete(endpoint=endpoint, user=None)  # the store deleted it meanwhile
            return answer

        monkeypatch.setattr(transport, "post", post_then_delete)
        assert delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk) is None
    assert (WebhookEndpoint.objects.count(), WebhookDelivery.objects.count(), WebhookAttempt.objects.count()) == (0, 0, 0)
    assert len(receiver.received) == 1


def test_the_periodic_job_queues_a_lost_delivery_once_an_attempt_could_have_ended(clock, receiver, dispute, settings):
    # Given a delivery whose task was queued on commit but never ran (the broker lost it)
    EndpointFactory(store=dispute.store, url=receiver.url)
    dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")  # on-commit not run: "lost"
    lease = timedelta(seconds=3 * settings.WEBHOOK_TIMEOUT_SECONDS + 60)

    # While its task may still be on its way, the periodic job leaves it alone (no pile of copies)
    clock.move_to(NOW + lease - timedelta(seconds=1))
    assert deliver_due_webhooks() == 0
    # Once that task is surely lost, it is queued again, and sent
    clock.move_to(NOW + lease + timedelta(seconds=1))
    assert deliver_due_webhooks() == 1
    assert WebhookDelivery.objects.get().state == D.DELIVERED and len(receiver.received) == 1
