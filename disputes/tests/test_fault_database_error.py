"""Fault: a database error inside a transition that carries evidence files.

The error is injected at the last writes of the transition (the webhook outbox row after the
timeline entry, or the notifications after the refund was decided), so everything before it
was already written in the transaction. The page answers 500 (an injected database fault is
a server error), and nothing of the transition remains: no dispute, event, message,
inspection, refund, attachment, notification or webhook delivery row, no e-mail. The files
themselves were written before the rollback; no row names them, and the periodic orphan sweep
(``sweep_orphan_evidence``) deletes them once they are older than EVIDENCE_ORPHAN_HOURS,
leaving every file that has a row.

Transactional tests: the transitions commit (or roll back) for real, so on-commit work
(e-mails, payments, run eagerly in tests) would run if anything had committed.
"""
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import SellerFactory
from disputes.models import Dispute, DisputeAttachment, DisputeEvent, DisputeMessage, Inspection, Refund
from disputes.tasks import sweep_orphan_evidence
from disputes.tests.factories import DisputeFactory, disputable_line, photo
from notifications.models import Notification
from orders.models import OrderLine
from webhooks import outbox
from webhooks.models import WebhookDelivery
from webhooks.tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db(transaction=True)

PAID = Decimal("2490.00")


def browser(user) -> Client:
    """A signed-in browser that sees a server error as a 500, as a real one would."""
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def database_state() -> dict:
    return {
        "disputes": list(Dispute.objects.order_by("pk").values()),
        "events": list(DisputeEvent.objects.order_by("pk").values()),
        "messages": list(DisputeMessage.objects.order_by("pk").values()),
        "inspections": list(Inspection.objects.order_by("pk").values()),
        "refunds": list(Refund.objects.order_by("pk").values()),
        "attachments": list(DisputeAttachment.objects.order_by("pk").values()),
        "notifications": list(Notification.objects.order_by("pk").values()),
        "deliveries": list(WebhookDelivery.objects.order_by("pk").values()),
        "lines": list(OrderLine.objects.order_by("pk").values("pk", "refunded_amount")),
    }


def evidence_files() -> set[str]:
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def fail_after(monkeypatch):
    """Make ``module.name`` do its real work, then raise a DatabaseError: the transition's
    writes so far are in the transaction when it fails."""
    calls = []

    def arm(module, name: str):
        real = getattr(module, name)

        def failing(*args, **kwargs):
            real(*args, **kwargs)
            calls.append(name)
            raise DatabaseError("injected: the connection to the server was lost")

        monkeypatch.setattr(module, name, failing)
        return calls

    return arm


def assert_orphans_swept(left: set[str]) -> None:
    """The orphan sweep leaves young files alone (their transaction might still commit) and
    deletes the orphans once they are older than EVIDENCE_ORPHAN_HOURS; files with rows stay."""
    kept = set(DisputeAttachment.objects.values_list("file", flat=True))
    sweep_orphan_evidence()
    assert left <= evidence_files()
    assert kept <= evidence_files()
    later = timezone.now() + timedelta(hours=settings.EVIDENCE_ORPHAN_HOURS, minutes=1)
    with time_machine.travel(later, tick=False):
        assert sweep_orphan_evidence() >= len(left)
    assert not (left & evidence_files())
    assert kept <= evidence_files()


def test_opening_a_dispute_with_photos_leaves_nothing_when_the_database_fails(fail_after, mailoutbox):
    # Given a buyer with a delivered line, the store with a member and a webhook endpoint
    line = disputable_line(price=PAID)
    SellerFactory(store=line.order.store)
    EndpointFactory(store=line.order.store)
    before, files_before = database_state(), evidence_files()
    calls = fail_after(outbox, "record")  # after the dispute, its files and its timeline entry

    # When the buyer opens an international return with two photos and the database fails
    response = browser(line.order.buyer).post(reverse("disputes:dispute_open", args=[line.pk]), {
        "kind": "return", "route": "international", "amount": "2490.00", "reason": "not_as_expected",
        "description": "Wrong colour.", "evidence": [photo("front.png"), photo("back.png")]})

    # Then the page is a server error and nothing of the opening remains, nor was anyone told
    assert calls == ["record"], "the fault was not reached"
    assert response.status_code == 500
    assert database_state() == before
    assert mailoutbox == []
    # The two photos were written before the rollback: orphans, which the sweep removes
    left = evidence_files() - files_before
    assert len(left) == 2
    assert_orphans_swept(left)


def test_a_message_with_a_photo_leaves_nothing_when_the_database_fails(fail_after, mailoutbox):
    # Given a dispute with one committed message and photo (its file has a row)
    dispute = DisputeFactory(state=Dispute.State.AWAITING_SELLER)
    SellerFactory(store=dispute.store)
    EndpointFactory(store=dispute.store)
    buyer = browser(dispute.buyer)
    url = reverse("disputes:dispute_message", args=[dispute.pk])
    assert buyer.post(url, {"body": "First photo.", "files": photo("first.png")}).status_code == 302
    kept = {DisputeAttachment.objects.get().file.name}
    assert kept <= evidence_files()
    mailoutbox.clear()
    before, files_before = database_state(), evidence_files()
    calls = fail_after(outbox, "record")  # after the message and its file

    # When the buyer posts a second message with a photo and the database fails
    response = buyer.post(url, {"body": "Second photo.", "files": photo("second.png")})

    # Then nothing of the second message remains, and nobody was told
    assert calls == ["record"]
    assert response.status_code == 500
    assert database_state() == before
    assert mailoutbox == []
    [left] = evidence_files() - files_before
    assert_orphans_swept({left})
    assert DisputeAttachment.objects.get().file.name in evidence_files()


def test_an_inspection_with_photos_that_would_refund_leaves_nothing_when_the_database_fails(
        fail_after, mailoutbox):
    # Given a return in transit; the store has a member and a webhook endpoint
    dispute = DisputeFactory(state=Dispute.State.RETURN_IN_TRANSIT)
    seller = SellerFactory(store=dispute.store)
    EndpointFactory(store=dispute.store)
    desk = browser(seller)
    form = desk.get(reverse("disputes:dispute_detail", args=[dispute.pk])).context["forms"]["inspect"]
    answers = {f"answer_{condition.code}": "meets" for condition in form.conditions}
    before, files_before = database_state(), evidence_files()
    # The last write: the notifications, after the state, timeline, inspection, photos, refund
    calls = fail_after(Notification.objects, "bulk_create")

    # When the seller records an inspection that passes (a refund is decided) and the database fails
    response = desk.post(reverse("disputes:dispute_action", args=[dispute.pk, "inspect"]),
                         {**answers, "general_notes": "Fine.", "photos": [photo("parcel.png"), photo("label.png")]})

    # Then no refund, no inspection, no state change, no files' rows, no e-mail, no webhook
    assert calls == ["bulk_create"]
    assert response.status_code == 500
    assert database_state() == before
    assert Dispute.objects.get().state == Dispute.State.RETURN_IN_TRANSIT
    assert mailoutbox == []
    left = evidence_files() - files_before
    assert len(left) == 2
    assert_orphans_swept(left)
