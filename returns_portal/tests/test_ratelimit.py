"""Per-person limits on opening disputes, posting messages and uploading photos and videos:
past a limit the page answers 429 with the form as it was sent and a sentence saying when to
try again; nothing is written; a form sent back with a mistake costs nothing; the window
passes; another person is not affected."""
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.tests.factories import BuyerFactory
from disputes.models import Dispute, DisputeAttachment, DisputeMessage
from disputes.tests.factories import DisputeFactory, disputable_line, photo
from returns_portal import ratelimit

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_counts(time_machine):
    time_machine.move_to(NOW, tick=False)
    cache.clear()
    yield time_machine
    cache.clear()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def open_form(**extra) -> dict:
    return {"kind": "return", "route": "local", "amount": "2490.00", "reason": "changed_mind",
            "description": "Too small.", **extra}


def test_past_the_opening_limit_the_form_comes_back_with_a_429_and_nothing_is_opened(settings, clean_counts):
    settings.RATE_LIMIT_OPEN_DISPUTES = "1/hour"
    buyer = BuyerFactory(country="RU")
    first, second = disputable_line(buyer=buyer), disputable_line(buyer=buyer)
    client = signed_in(buyer)

    assert client.post(reverse("disputes:dispute_open", args=[first.pk]), open_form()).status_code == 302
    refused = client.post(reverse("disputes:dispute_open", args=[second.pk]),
                          open_form(description="The colour is wrong."))

    assert refused.status_code == 429
    assert refused.context["form"].non_field_errors() == [
        "You have opened as many disputes as allowed for now (1). Please try again in 60 minutes; what you "
        "entered is still here."]
    assert "The colour is wrong." in refused.content.decode()
    assert list(Dispute.objects.values_list("order_line", flat=True)) == [first.pk]

    clean_counts.move_to(NOW + timedelta(hours=1))
    assert client.post(reverse("disputes:dispute_open", args=[second.pk]), open_form()).status_code == 302
    assert Dispute.objects.count() == 2


def test_a_form_sent_back_with_a_mistake_costs_nothing(settings):
    settings.RATE_LIMIT_OPEN_DISPUTES = "1/hour"
    buyer = BuyerFactory(country="RU")
    line = disputable_line(buyer=buyer)
    client = signed_in(buyer)
    assert client.post(reverse("disputes:dispute_open", args=[line.pk]), open_form(amount="")).status_code == 422
    assert client.post(reverse("disputes:dispute_open", args=[line.pk]), open_form()).status_code == 302


def test_messages_are_limited_per_person(settings):
    settings.RATE_LIMIT_MESSAGES = "2/hour"
    dispute = DisputeFactory(order_line=disputable_line())
    buyer, url = dispute.buyer, reverse("disputes:dispute_message", args=[dispute.pk])
    client = signed_in(buyer)
    for n in range(2):
        assert client.post(url, {"body": f"Message {n}"}).status_code == 302
    refused = client.post(url, {"body": "A third one"})
    assert refused.status_code == 429
    assert refused.context["message_form"].non_field_errors()[0].startswith(
        "You have sent as many messages as allowed for now (2).")
    assert "A third one" in refused.content.decode()
    assert DisputeMessage.objects.count() == 2
    # The seller is someone else: not limited by the buyer's messages.
    from accounts.tests.factories import SellerFactory

    seller = SellerFactory(store=dispute.store)
    assert signed_in(seller).post(url, {"body": "We answer."}).status_code == 302


def test_every_file_of_every_form_counts_towards_the_upload_limit(settings):
    settings.RATE_LIMIT_UPLOADS = "2/hour"
    dispute = DisputeFactory(order_line=disputable_line())
    url = reverse("disputes:dispute_message", args=[dispute.pk])
    client = signed_in(dispute.buyer)
    assert client.post(url, {"body": "Two photos", "files": [photo("a.png"), photo("b.png")]}).status_code == 302
    refused = client.post(url, {"body": "One more", "files": [photo("c.png")]})
    assert refused.status_code == 429
    assert "uploaded as many photos and videos as allowed for now (2)" in refused.content.decode()
    assert DisputeMessage.objects.count() == 1
    assert DisputeAttachment.objects.count() == 2
    # A message without a file still goes through: only the upload limit was reached.
    assert client.post(url, {"body": "Without a photo"}).status_code == 302


def test_the_refusal_reads_in_russian():
    refusal = ratelimit.Refusal(ratelimit.MESSAGE, 60, 121)
    with translation.override("ru"):
        assert refusal.message == ("Вы отправили столько сообщений, сколько сейчас можно (60). Попробуйте снова "
                                   "через 3 минуты; всё, что вы ввели, сохранено.")


@pytest.mark.parametrize("text, count, seconds", [("10/hour", 10, 3600), ("5/min", 5, 60), (" 3 / day ", 3, 86400),
                                                  ("1/s", 1, 1)])
def test_rates_read_like_count_per_period(text, count, seconds):
    assert ratelimit.parse_rate(text) == ratelimit.Rate(count, seconds)


@pytest.mark.parametrize("text", ["", "10", "ten/hour", "10/fortnight", "10/hour/2"])
def test_a_rate_that_does_not_read_so_stops_start_up(settings, text):
    with pytest.raises(ImproperlyConfigured):
        ratelimit.parse_rate(text)
    settings.RATE_LIMIT_MESSAGES = text
    assert [error.id for error in ratelimit.check_rates()] == ["returns_portal.E001"]
