"""The seller pages, over HTTP: add an endpoint (its secret shown once, on the answer), rotate
it, disable, enable, delete, read the delivery log with status codes and latencies, and send
one delivery again (a double submit sends once). Another store's endpoint or delivery is a
404; buyers are refused; the pages' queries stay flat as the log grows."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerFactory
from disputes.services import dispute_message_post
from disputes.tests.factories import DisputeFactory, disputable_line
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import delivery_attempt

from .factories import EndpointFactory
from .receiver import Receiver

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
LIST = reverse("webhooks:endpoint_list")
SECRET = re.compile(r"whsec_[A-Za-z0-9_-]{43}")
D = WebhookDelivery.State


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def dispute():
    return DisputeFactory()


@pytest.fixture
def seller(dispute):
    return SellerFactory(store=dispute.store)


@pytest.fixture
def desk(seller) -> Client:
    client = Client()
    client.force_login(seller)
    return client


def url(name: str, *args) -> str:
    return reverse(f"webhooks:{name}", args=args)


def test_a_seller_adds_an_endpoint_and_sees_its_secret_once(desk, seller):
    answer = desk.post(LIST, {"url": "https://erp.example.com/returns/hook", "description": "ERP"})

    assert answer.status_code == 201
    assert answer["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.store_id, endpoint.url, endpoint.description, endpoint.created_by, endpoint.is_active) == (
        seller.store_id, "https://erp.example.com/returns/hook", "ERP", seller, True)
    assert SECRET.fullmatch(endpoint.secret)
    assert SECRET.findall(answer.content.decode()) == [endpoint.secret]

    listed = desk.get(LIST)
    assert listed.status_code == 200
    assert "erp.example.com" in listed.content.decode() and not SECRET.search(listed.content.decode())
    detail = desk.get(url("endpoint_detail", endpoint.pk))
    assert detail.status_code == 200 and not SECRET.search(detail.content.decode())


@pytest.mark.parametrize("address, refusal", [
    ("http://erp.example.com/hook", "The URL must start with https://"),
    ("http://127.0.0.1:8000/hook", "The URL must start with https://"),
    ("https://127.0.0.1/hook", "Events cannot be sent to this address"),
    ("https://10.0.0.7/hook", "Events cannot be sent to this address"),
    ("https://user:pass@erp.example.com/hook", "Leave the user name and password out of the URL."),
    ("erp.example.com/hook", "Enter a full URL"),
    ("ftp://erp.example.com/hook", "Enter a full URL"),
])
def test_an_address_that_is_not_public_https_is_refused(desk, address, refusal):
    answer = desk.post(LIST, {"url": address})

    assert answer.status_code == 422
    assert refusal in answer.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_plain_http_to_this_machine_only_where_allowed(desk, allow_http):
    assert desk.post(LIST, {"url": "http://127.0.0.1:8123/hook"}).status_code == 201
    assert desk.post(LIST, {"url": "http://localhost:8123/hook"}).status_code == 201
    assert desk.post(LIST, {"url": "http://erp.example.com/hook"}).status_code == 422
    assert WebhookEndpoint.objects.count() == 2


def test_a_store_has_at_most_so_many_endpoints(desk, seller, settings):
    settings.WEBHOOK_MAX_ENDPOINTS = 2
    EndpointFactory.create_batch(2, store=seller.store)

    answer = desk.post(LIST, {"url": "https://erp.example.com/hook"})

    assert answer.status_code == 422
    assert "A store has at most 2 webhook endpoints." in answer.content.decode()


def test_rotating_the_secret_shows_the_new_one_and_signs_with_it(desk, seller):
    endpoint = EndpointFactory(store=seller.store)
    old = endpoint.secret

    answer = desk.post(url("endpoint_rotate_secret", endpoint.pk))

    endpoint.refresh_from_db()
    assert answer.status_code == 200
    assert endpoint.secret != old and endpoint.secret_rotated_at == NOW
    assert SECRET.findall(answer.content.decode()) == [endpoint.secret]


def test_disable_enable_and_delete(desk, seller):
    endpoint = EndpointFactory(store=seller.store)
    detail = url("endpoint_detail", endpoint.pk)

    assert desk.post(url("endpoint_disable", endpoint.pk)).url == detail
    endpoint.refresh_from_db()
    assert (endpoint.disabled_at, endpoint.disabled_reason) == (NOW, WebhookEndpoint.DisabledReason.BY_STORE)
    page = desk.get(detail).content.decode()
    assert "Disabled by the store" in page and "Enable" in page

    desk.post(url("endpoint_disable", endpoint.pk))  # twice: still one change
    endpoint.refresh_from_db()
    assert endpoint.disabled_at == NOW

    desk.post(url("endpoint_enable", endpoint.pk))
    endpoint.refresh_from_db()
    assert (endpoint.disabled_at, endpoint.disabled_reason) == (None, "")

    assert desk.post(url("endpoint_delete", endpoint.pk)).url == LIST
    assert WebhookEndpoint.objects.count() == 0


def test_the_delivery_log_shows_each_attempt_with_its_status_and_latency(desk, seller, dispute, allow_http, clock):
    with Receiver(statuses=[500, 200]) as receiver:
        endpoint = EndpointFactory(store=seller.store, url=receiver.url)
        dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")
        delivery = WebhookDelivery.objects.get()
        delivery_attempt(delivery_id=delivery.pk)
        clock.move_to(NOW + timedelta(minutes=1))
        delivery_attempt(delivery_id=delivery.pk)
    latencies = list(WebhookAttempt.objects.order_by("number").values_list("latency_ms", flat=True))

    page = desk.get(url("endpoint_detail", endpoint.pk)).content.decode()

    row = re.search(rf'<tr data-delivery="{delivery.pk}">(.*?)</tr>', page, re.S).group(1)
    assert "dispute.message" in row and f"#{dispute.pk}" in row and "Delivered" in row
    assert re.findall(r'data-status="(\d*)">(\d+) · (\d+) ms', row) == [
        ("500", "500", str(latencies[0])), ("200", "200", str(latencies[1]))]


def test_redeliver_sends_the_event_again_once_however_often_it_is_submitted(
        desk, seller, dispute, allow_http, django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        endpoint = EndpointFactory(store=seller.store, url=receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")
        original = WebhookDelivery.objects.get()
        assert original.state == D.DELIVERED

        with django_capture_on_commit_callbacks(execute=True):  # a double submit: queued, then sent once
            first = desk.post(url("delivery_redeliver", original.pk))
            second = desk.post(url("delivery_redeliver", original.pk))

    assert first.url == second.url == url("endpoint_detail", endpoint.pk)
    again = WebhookDelivery.objects.get(redelivery_of=original)
    assert (again.state, again.attempts, again.requested_by, again.event_id, again.body) == (
        D.DELIVERED, 1, seller, original.event_id, original.body)
    assert len(receiver.received) == 2
    assert receiver.received[1].body == receiver.received[0].body
    assert receiver.received[1].headers["X-Returns-Delivery"] == str(again.pk) != str(original.pk)
    page = desk.get(url("endpoint_detail", endpoint.pk))
    assert "sent again on request" in page.content.decode()


def test_redeliver_is_refused_while_the_endpoint_is_disabled(desk, seller, dispute):
    endpoint = EndpointFactory(store=seller.store)
    dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")
    endpoint.disabled_at = NOW
    endpoint.save()

    answer = desk.post(url("delivery_redeliver", WebhookDelivery.objects.get().pk), follow=True)

    assert "This endpoint is disabled: enable it to send events again." in answer.content.decode()
    assert WebhookDelivery.objects.count() == 1


def test_another_stores_endpoint_and_delivery_are_404(desk, seller):
    theirs = EndpointFactory()
    other_dispute = DisputeFactory(order_line=disputable_line(store=theirs.store))
    dispute_message_post(dispute=other_dispute, author=other_dispute.buyer, body="Hello")
    delivery = WebhookDelivery.objects.get()

    assert desk.get(url("endpoint_detail", theirs.pk)).status_code == 404
    for name in ("endpoint_rotate_secret", "endpoint_disable", "endpoint_enable", "endpoint_delete"):
        assert desk.post(url(name, theirs.pk)).status_code == 404
    assert desk.post(url("delivery_redeliver", delivery.pk)).status_code == 404
    theirs_then = WebhookEndpoint.objects.get(pk=theirs.pk)
    assert (theirs_then.secret, theirs_then.disabled_at) == (theirs.secret, None)
    assert WebhookDelivery.objects.count() == 1
    assert theirs.url not in desk.get(LIST).content.decode()


def test_buyers_and_visitors_are_refused(seller):
    endpoint = EndpointFactory(store=seller.store)
    buyer = Client()
    buyer.force_login(BuyerFactory())
    assert buyer.get(LIST).status_code == 403
    assert buyer.post(url("endpoint_disable", endpoint.pk)).status_code == 403
    assert Client().get(LIST).status_code == 302
    assert WebhookEndpoint.objects.get().is_active


def log_of(endpoint, dispute, count: int) -> None:
    """``count`` deliveries to ``endpoint``, each with three attempts."""
    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(endpoint=endpoint, dispute=dispute, event_id=__import__("uuid").uuid4(),
                        event_type="dispute.message", body="{}", state=D.DELIVERED, attempts=3)
        for _ in range(count)])
    WebhookAttempt.objects.bulk_create([
        WebhookAttempt(delivery=d, number=n, started_at=NOW, status_code=500 if n < 3 else 200, latency_ms=12)
        for d in deliveries for n in (1, 2, 3)])


def test_the_pages_queries_stay_flat_as_the_log_grows(desk, seller, dispute, django_assert_max_num_queries):
    endpoint = EndpointFactory(store=seller.store)
    EndpointFactory.create_batch(3, store=seller.store)
    log_of(endpoint, dispute, 2)
    with django_assert_max_num_queries(9) as few:
        assert desk.get(url("endpoint_detail", endpoint.pk)).status_code == 200
    log_of(endpoint, dispute, 60)
    with django_assert_max_num_queries(len(few)) as many:
        page = desk.get(url("endpoint_detail", endpoint.pk))
    assert page.content.decode().count("data-delivery=") == 50
    assert len(many) == len(few)
    with django_assert_max_num_queries(6):
        assert desk.get(LIST).status_code == 200


def test_the_webhook_pages_read_in_russian(seller, dispute, allow_http, clock):
    from disputes.tests.test_russian_pages import english_left

    with Receiver(statuses=[500, 200]) as receiver:
        endpoint = EndpointFactory(store=seller.store, url=receiver.url, consecutive_failures=1)
        dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello")
        delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    EndpointFactory(store=seller.store, disabled_at=NOW, disabled_reason=WebhookEndpoint.DisabledReason.FAILING)
    client = Client()
    client.force_login(seller)

    for address, expected in [(LIST, ["Ваши точки приёма", "Отключена после повторяющихся сбоев",
                                      "2 неудачные попытки подряд"]),
                              (url("endpoint_detail", endpoint.pk), ["Доставки", "Не доставлено, будет повтор",
                                                                     "Отправить ещё раз", "мс"])]:
        left, russian = english_left(client, address)
        assert left == [], f"{address} shows English: {left}"
        assert [text for text in expected if text not in russian] == [], russian
