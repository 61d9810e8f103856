"""Dispute use cases: opening, withdrawing, reopening, messages. Exact outcomes, and on every
refusal path proof that nothing was written (no dispute, event, file or notification)."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
import time_machine
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.models import Category
from catalog.tests.factories import CategoryFactory, StoreFactory, WarehouseFactory
from disputes.models import Dispute, DisputeAttachment, DisputeEvent, DisputeMessage
from disputes.services import (
    NotEligible,
    dispute_message_post,
    dispute_open,
    dispute_reopen,
    dispute_withdraw,
)
from disputes.tests.factories import PNG, DisputeFactory, disputable_line, pdf, photo
from disputes.tests.factories import notes
from notifications.models import Notification
from returns_portal.formatting import local_datetime
from orders.tests.factories import order_with_line
from returns_portal.errors import DomainError, ErrorCode

pytestmark = pytest.mark.django_db

OPENED_AT = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PAID = Decimal("2490.00")


def stored_files() -> set[Path]:
    return {path for path in Path(settings.PRIVATE_MEDIA_ROOT).rglob("*") if path.is_file()}


def rows() -> dict[str, int]:
    return {
        "disputes": Dispute.objects.count(),
        "events": DisputeEvent.objects.count(),
        "attachments": DisputeAttachment.objects.count(),
        "messages": DisputeMessage.objects.count(),
        "notifications": Notification.objects.count(),
    }


NOTHING = {"disputes": 0, "events": 0, "attachments": 0, "messages": 0, "notifications": 0}


def open_dispute(line, **overrides) -> Dispute:
    """The demo's request: a local return of the whole line, no proof."""
    arguments = {
        "buyer": line.order.buyer,
        "order_line": line,
        "kind": Dispute.Kind.RETURN,
        "route": Dispute.Route.LOCAL,
        "amount": PAID,
        "reason": Dispute.Reason.CHANGED_MIND,
        "description": "Wrong shade of blue.",
    }
    return dispute_open(**{**arguments, **overrides})


@pytest.fixture(autouse=True)
def clock(time_machine):
    """Every test starts on 10 March 2025, 12:00 UTC, with the clock standing still."""
    time_machine.move_to(OPENED_AT, tick=False)
    return time_machine


@pytest.fixture
def line():
    """Delivered to the demo's Russian buyer a day ago; a local return is available."""
    return disputable_line(price=PAID)


@pytest.fixture
def seller(line):
    return SellerFactory(store=line.order.store, email="seller@example.com")


# --- opening: the local return the design is built around --------------------------------


def test_a_local_return_without_proof_waits_for_the_seller_for_exactly_five_days(
    django_capture_on_commit_callbacks, mailoutbox
):
    line = disputable_line(price=PAID)
    buyer = line.order.buyer
    seller = SellerFactory(store=line.order.store, email="seller@example.com")
    colleague = SellerFactory(store=line.order.store, email="colleague@example.com")
    SellerFactory(store=line.order.store, email="gone@example.com", is_active=False)
    SellerFactory(email="other-store@example.com")

    with time_machine.travel(OPENED_AT, tick=False):  # frozen: the deadline is exact to the microsecond
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            dispute = open_dispute(line, description="  Wrong shade of blue.  ")
            assert mailoutbox == []  # nothing is e-mailed before the transaction commits

    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.AWAITING_SELLER
    assert dispute.resolution == ""
    assert dispute.created_at == OPENED_AT
    assert dispute.deadline_at == OPENED_AT + timedelta(days=5)
    assert dispute.closed_at is None
    assert (dispute.buyer, dispute.store, dispute.order_line) == (buyer, line.order.store, line)
    assert (dispute.kind, dispute.route, dispute.reason) == ("return", "local", "changed_mind")
    assert dispute.amount == PAID and isinstance(dispute.amount, Decimal)
    assert dispute.currency == "RUB"
    assert dispute.description == "Wrong shade of blue."
    events = DisputeEvent.objects.values_list("dispute", "kind", "actor", "from_state", "to_state", "created_at")
    assert list(events) == [(dispute.pk, "opened", buyer.pk, "", "awaiting_seller", OPENED_AT)]
    assert DisputeEvent.objects.get().details == {
        "kind": "return",
        "route": "local",
        "amount": "2490.00",
        "currency": "RUB",
        "reason": "changed_mind",
        "deadline_at": (OPENED_AT + timedelta(days=5)).isoformat(),
        "evidence_files": 0,
    }
    assert DisputeAttachment.objects.count() == 0
    # The store's active members are told; a deactivated member and other stores are not.
    assert sorted(notes()) == sorted([
        (seller.pk, f"New dispute on order {line.order.number}", f"/disputes/{dispute.pk}/"),
        (colleague.pk, f"New dispute on order {line.order.number}", f"/disputes/{dispute.pk}/"),
        (buyer.pk, f"Your dispute on order {line.order.number} is open", f"/disputes/{dispute.pk}/"),
    ])
    seller_note = Notification.objects.get(recipient=seller)
    # 12:00 UTC + 5 days is 15:00 in Moscow, the site's time zone.
    assert "Please respond by 15 Mar 2025, 15:00." in seller_note.body
    assert "for 2,490.00\u00a0₽." in seller_note.body
    assert len(callbacks) == 1  # the e-mails go out together, once the dispute is committed
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted(
        ["seller@example.com", "colleague@example.com", buyer.email]
    )


def test_the_amount_may_be_what_is_left_after_an_earlier_refund(line):
    line.refunded_amount = Decimal("490.00")
    line.save(update_fields=["refunded_amount"])

    dispute = open_dispute(line, amount=Decimal("2000.00"))

    dispute.refresh_from_db()
    assert dispute.amount == Decimal("2000.00")


def test_an_international_return_stores_its_photo_in_private_storage(line):
    before = stored_files()

    dispute = open_dispute(line, route=Dispute.Route.INTERNATIONAL, evidence=[photo("IMG_0001.png")])

    attachment = DisputeAttachment.objects.get()
    assert (attachment.dispute, attachment.message, attachment.uploaded_by) == (dispute, None, line.order.buyer)
    assert attachment.content_type == "image/png"
    assert attachment.original_name == "IMG_0001.png"
    assert attachment.size == len(PNG)
    # Under the private root (not static, not MEDIA_ROOT), with a random name, never the buyer's.
    assert attachment.file.storage.location == str(settings.PRIVATE_MEDIA_ROOT)
    assert attachment.file.name.startswith("disputes/") and attachment.file.name.endswith(".png")
    assert "IMG_0001" not in attachment.file.name
    assert stored_files() - before == {Path(attachment.file.path)}
    assert Path(attachment.file.path).read_bytes() == PNG
    assert DisputeEvent.objects.get().details["evidence_files"] == 1


def test_a_refund_only_dispute_ignores_any_route_given(line):
    dispute = open_dispute(line, kind=Dispute.Kind.REFUND_ONLY, route=Dispute.Route.LOCAL, evidence=[photo()])

    dispute.refresh_from_db()
    assert (dispute.kind, dispute.route) == ("refund_only", "")


# --- opening: every refusal names the rule and writes nothing ----------------------------


def assert_not_eligible(error_info, *codes: str) -> None:
    error = error_info.value
    assert isinstance(error, NotEligible)
    assert error.code == ErrorCode.NOT_ELIGIBLE
    assert error.result.failed_codes == codes
    assert error.message == " ".join(error.result.messages)


def test_another_buyers_line_is_refused(line):
    with pytest.raises(DomainError) as refused:
        open_dispute(line, buyer=BuyerFactory(country="RU"))

    assert_not_eligible(refused, "line_belongs_to_buyer")
    assert refused.value.message == "This order is not yours."
    assert rows() == NOTHING


def test_an_order_not_yet_delivered_is_refused():
    WarehouseFactory(country="RU")  # the marketplace's: local return itself is available
    order = order_with_line(buyer=BuyerFactory(country="RU"), shipped=True, line__product__local_return=True)

    with pytest.raises(DomainError) as refused:
        open_dispute(order.lines.get(), amount=Decimal("1000.00"))

    assert_not_eligible(refused, "line_delivered")
    assert rows() == NOTHING


def test_opening_after_the_protection_window_is_refused():
    line = disputable_line(price=PAID, delivered_days_ago=0)

    with time_machine.travel(OPENED_AT + timedelta(days=16), tick=False), pytest.raises(DomainError) as refused:
        open_dispute(line)

    assert_not_eligible(refused, "protection_window_open")
    # Delivered 10 March 12:00 UTC: protection ended 15 days later, 15:00 in Moscow.
    assert refused.value.message == "Buyer protection for this order ended on 25 Mar 2025, 15:00."
    assert rows() == NOTHING


def test_opening_on_the_last_minute_of_protection_is_allowed():
    line = disputable_line(price=PAID, delivered_days_ago=0)

    with time_machine.travel(OPENED_AT + timedelta(days=15, seconds=-60), tick=False):
        open_dispute(line)

    assert Dispute.objects.count() == 1


@pytest.mark.parametrize(
    ("refunded", "amount", "message"),
    [
        ("0", "0", "The compensation must be more than zero."),
        ("0", "-5", "The compensation must be more than zero."),
        ("0", "2490.01",
         "The compensation cannot be more than 2,490.00\u00a0₽, what you paid for this item minus refunds."),
        ("490.00", "2000.01",
         "The compensation cannot be more than 2,000.00\u00a0₽, what you paid for this item minus refunds."),
        ("0", "12.345", "Amounts in RUB can have at most 2 decimal places."),
    ],
)
def test_a_compensation_out_of_range_is_refused(line, refunded, amount, message):
    line.refunded_amount = Decimal(refunded)
    line.save(update_fields=["refunded_amount"])

    with pytest.raises(DomainError) as refused:
        open_dispute(line, amount=Decimal(amount))

    assert_not_eligible(refused, "compensation_in_range")
    assert refused.value.message == message
    assert rows() == NOTHING


@pytest.mark.parametrize(("kind", "route"), [("return", "international"), ("refund_only", "")])
def test_a_dispute_other_than_local_return_without_proof_is_refused(line, kind, route):
    with pytest.raises(DomainError) as refused:
        open_dispute(line, kind=kind, route=route)

    assert_not_eligible(refused, "evidence_required")
    assert refused.value.message == "Attach at least one photo or video showing the problem."
    assert rows() == NOTHING


def test_local_return_is_refused_when_the_seller_does_not_offer_it():
    line = disputable_line(price=PAID, local_return=False)

    with pytest.raises(DomainError) as refused:
        open_dispute(line)

    assert_not_eligible(refused, "seller_offers_local_return")
    assert rows() == NOTHING


def test_local_return_is_refused_when_the_category_disallows_it():
    perfume = CategoryFactory(name="Perfume", kind=Category.Kind.COSMETICS, local_return_allowed=False)
    line = disputable_line(price=PAID, category=perfume)

    with pytest.raises(DomainError) as refused:
        open_dispute(line)

    assert_not_eligible(refused, "category_allows_local_return")
    assert refused.value.message == "Goods in the category “Perfume” cannot be returned locally."
    assert rows() == NOTHING


def test_local_return_is_refused_to_a_buyer_in_ukraine():
    line = disputable_line(price=PAID, country="UA")

    with pytest.raises(DomainError) as refused:
        open_dispute(line)

    assert_not_eligible(refused, "return_warehouse_in_country")
    # The seller's return warehouse in Russia is no help to a buyer in Ukraine, and not worth mentioning.
    assert refused.value.message == (
        "Local return is not available in Ukraine: there is no return warehouse in your country."
    )
    assert rows() == NOTHING


def test_local_return_is_refused_when_only_another_sellers_warehouse_is_in_the_buyers_country():
    line = disputable_line(price=PAID, warehouse_country=None)
    WarehouseFactory(store=StoreFactory(), country="RU")

    with pytest.raises(DomainError) as refused:
        open_dispute(line)

    assert_not_eligible(refused, "return_warehouse_in_country")
    assert refused.value.message == (
        "This seller has no return warehouse in Russia, so local return is not available for this product."
    )
    assert rows() == NOTHING


def test_an_inactive_warehouse_does_not_make_local_return_available():
    line = disputable_line(price=PAID, warehouse_country=None)
    WarehouseFactory(store=line.order.store, country="RU", is_active=False)

    with pytest.raises(DomainError) as refused:
        open_dispute(line)

    assert_not_eligible(refused, "return_warehouse_in_country")
    assert rows() == NOTHING


def test_every_failed_rule_is_reported_together():
    line = disputable_line(price=PAID, country="UA", local_return=False)

    with pytest.raises(DomainError) as refused:
        open_dispute(line, buyer=BuyerFactory(country="UA"), amount=Decimal("5000"))

    assert_not_eligible(
        refused,
        "line_belongs_to_buyer",
        "compensation_in_range",
        "seller_offers_local_return",
        "return_warehouse_in_country",
    )
    assert rows() == NOTHING


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kind": "exchange"}, "Choose what you want: a return or a refund only."),
        ({"route": "pigeon"}, "Choose what you want: a return or a refund only."),
        ({"route": ""}, "Choose what you want: a return or a refund only."),
        ({"reason": "because"}, "Choose a reason from the list."),
    ],
)
def test_an_unknown_kind_route_or_reason_is_refused(line, overrides, message):
    with pytest.raises(DomainError) as refused:
        open_dispute(line, **overrides)

    assert not isinstance(refused.value, NotEligible)
    assert (refused.value.code, refused.value.message) == (ErrorCode.INVALID_CHOICE, message)
    assert rows() == NOTHING


def test_a_second_dispute_on_a_line_with_an_open_one_is_refused(line, seller):
    first = open_dispute(line)
    before = rows()

    with pytest.raises(DomainError) as refused:
        open_dispute(line, amount=Decimal("100.00"))

    assert_not_eligible(refused, "one_dispute_per_line")
    assert refused.value.message == "There is already an open dispute on this item."
    assert rows() == before
    assert list(Dispute.objects.all()) == [first]


def test_a_withdrawn_dispute_is_reopened_never_opened_anew(line, seller):
    # Given a dispute the buyer withdrew
    first = open_dispute(line)
    with time_machine.travel(OPENED_AT + timedelta(hours=1), tick=False):
        dispute_withdraw(dispute=first, buyer=line.order.buyer)
    before = rows()

    # When they try to open another one on the same line
    with pytest.raises(DomainError) as refused:
        open_dispute(line, amount=Decimal("100.00"))

    # Then they are sent back to the first, and nothing is written or sent (the seller is not told twice)
    assert_not_eligible(refused, "one_dispute_per_line")
    assert refused.value.message == (f"You withdrew dispute #{first.pk} on this item on 10 Mar 2025, 16:00. Reopen "
                                     "that dispute instead: an item has one dispute.")
    assert rows() == before
    assert list(Dispute.objects.all()) == [first]


@pytest.mark.parametrize("resolution", ["rejected", "buyer_timeout", "refunded"])
def test_every_other_ending_is_final_for_the_line(line, resolution):
    state = "refunded" if resolution == "refunded" else "closed"
    ended = DisputeFactory(order_line=line, state=state, resolution=resolution, deadline_at=None,
                           closed_at=OPENED_AT - timedelta(hours=3))
    before = rows()

    with pytest.raises(DomainError) as refused:
        open_dispute(line, amount=Decimal("100.00"))

    assert_not_eligible(refused, "one_dispute_per_line")
    assert refused.value.message == (f"The dispute on this item (#{ended.pk}) ended on 10 Mar 2025, 12:00. That is "
                                     "final: no new dispute can be opened on this item.")
    assert rows() == before


def test_the_database_allows_one_open_dispute_per_line_but_any_number_of_closed(line):
    DisputeFactory(order_line=line)

    with pytest.raises(IntegrityError), transaction.atomic():
        DisputeFactory(order_line=line)

    DisputeFactory(order_line=line, withdrawn=True)
    DisputeFactory(order_line=line, state=Dispute.State.REFUNDED, resolution=Dispute.Resolution.REFUNDED)
    assert Dispute.objects.filter(order_line=line).count() == 3


def test_a_file_that_is_not_a_photo_or_video_is_refused_and_nothing_is_kept(line):
    before = stored_files()

    with pytest.raises(DomainError) as refused:
        open_dispute(line, route=Dispute.Route.INTERNATIONAL, evidence=[pdf("receipt.pdf")])

    assert (refused.value.code, refused.value.message) == (
        ErrorCode.INVALID_UPLOAD,
        "“receipt.pdf” is not a photo or a video.",
    )
    assert rows() == NOTHING
    assert stored_files() == before


def test_one_bad_file_among_good_ones_refuses_all_and_keeps_no_file(line):
    before = stored_files()

    with pytest.raises(DomainError) as refused:
        open_dispute(line, route=Dispute.Route.INTERNATIONAL, evidence=[photo(), pdf("receipt.pdf")])

    assert refused.value.code == ErrorCode.INVALID_UPLOAD
    assert rows() == NOTHING
    assert stored_files() == before  # the good photo was not written for a refused dispute


def test_a_file_over_the_size_limit_is_refused(line, settings):
    settings.EVIDENCE_MAX_BYTES = 50  # the test photo is 93 bytes

    with pytest.raises(DomainError) as refused:
        open_dispute(line, route=Dispute.Route.INTERNATIONAL, evidence=[photo("big.png")])

    assert (refused.value.code, refused.value.message) == (
        ErrorCode.INVALID_UPLOAD,
        "“big.png” is too large: the limit is 50\xa0bytes per file.",
    )
    assert rows() == NOTHING


# --- withdrawing ---------------------------------------------------------------------------


@pytest.fixture
def dispute(line, seller):
    """Opened through the service at OPENED_AT, so it has its "opened" event."""
    return open_dispute(line)


def test_the_buyer_withdraws_and_the_dispute_closes_without_a_refund(dispute, seller):
    withdrawn_at = OPENED_AT + timedelta(days=1)
    notifications_before = Notification.objects.count()

    with time_machine.travel(withdrawn_at, tick=False):
        result = dispute_withdraw(dispute=dispute, buyer=dispute.buyer)

    dispute.refresh_from_db()
    assert result == dispute
    assert dispute.state == Dispute.State.CLOSED
    assert dispute.resolution == Dispute.Resolution.WITHDRAWN
    assert dispute.deadline_at is None
    assert dispute.closed_at == withdrawn_at
    assert list(dispute.events.values_list("kind", "actor", "from_state", "to_state")) == [
        ("opened", dispute.buyer_id, "", "awaiting_seller"),
        ("withdrawn", dispute.buyer_id, "awaiting_seller", "closed"),
    ]
    assert notes(notifications_before) == [(seller.pk, f"Dispute #{dispute.pk} was withdrawn", f"/disputes/{dispute.pk}/")]


@pytest.mark.parametrize("who", ["other_buyer", "seller", "staff"])
def test_only_the_buyer_may_withdraw(dispute, seller, who):
    actor = {"other_buyer": BuyerFactory(), "seller": seller, "staff": StaffFactory()}[who]
    before = rows()

    with pytest.raises(DomainError) as refused:
        dispute_withdraw(dispute=dispute, buyer=actor)

    assert (refused.value.code, refused.value.message) == (
        ErrorCode.NOT_ALLOWED,
        "Only the buyer who opened this dispute can do this.",
    )
    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution, dispute.deadline_at) == (
        "awaiting_seller", "", OPENED_AT + timedelta(days=5)
    )
    assert rows() == before


def test_withdrawing_twice_has_one_effect(dispute):
    dispute_withdraw(dispute=dispute, buyer=dispute.buyer)
    before = rows()

    with pytest.raises(DomainError) as refused:
        dispute_withdraw(dispute=dispute, buyer=dispute.buyer)  # the stale object still says "awaiting seller"

    assert (refused.value.code, refused.value.message) == (
        ErrorCode.INVALID_TRANSITION,
        "This dispute is “Closed”, so this cannot be done now.",
    )
    assert dispute.events.filter(kind=DisputeEvent.Kind.WITHDRAWN).count() == 1
    assert rows() == before


# --- reopening -----------------------------------------------------------------------------


def test_a_withdrawn_dispute_reopens_with_a_fresh_five_day_deadline(dispute, seller):
    dispute_withdraw(dispute=dispute, buyer=dispute.buyer)
    reopened_at = OPENED_AT + timedelta(days=2, hours=3)

    with time_machine.travel(reopened_at, tick=False):
        dispute_reopen(dispute=dispute, buyer=dispute.buyer)

    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.AWAITING_SELLER
    assert dispute.resolution == ""
    assert dispute.closed_at is None
    assert dispute.deadline_at == reopened_at + timedelta(days=5)
    assert list(dispute.events.values_list("kind", "from_state", "to_state")) == [
        ("opened", "", "awaiting_seller"),
        ("withdrawn", "awaiting_seller", "closed"),
        ("reopened", "closed", "awaiting_seller"),
    ]
    assert [subject for _r, subject, _u in notes(recipient=seller)].count(f"Dispute #{dispute.pk} was reopened") == 1


def test_reopening_after_buyer_protection_ended_is_refused(dispute):
    dispute_withdraw(dispute=dispute, buyer=dispute.buyer)
    before = rows()

    with time_machine.travel(dispute.order_line.order.delivered_at + timedelta(days=15), tick=False):
        with pytest.raises(DomainError) as refused:
            dispute_reopen(dispute=dispute, buyer=dispute.buyer)

    ends = local_datetime(dispute.order_line.order.delivered_at + timedelta(days=15))
    assert (refused.value.code, refused.value.message) == (
        ErrorCode.INVALID_TRANSITION,
        f"Buyer protection for this order ended on {ends}, so this dispute can no longer be reopened.",
    )
    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution) == ("closed", "withdrawn")
    assert rows() == before


def test_a_dispute_is_reopened_once(dispute, seller):
    # Given a dispute withdrawn, reopened, and withdrawn again
    dispute_withdraw(dispute=dispute, buyer=dispute.buyer)
    with time_machine.travel(OPENED_AT + timedelta(days=1), tick=False):
        dispute_reopen(dispute=dispute, buyer=dispute.buyer)
    dispute_withdraw(dispute=dispute, buyer=dispute.buyer)
    before = rows()

    # When the buyer tries to reopen it a second time
    with pytest.raises(DomainError) as refused:
        dispute_reopen(dispute=dispute, buyer=dispute.buyer)

    # Then it is refused with the date of the first reopening, and nothing changes
    assert (refused.value.code, refused.value.message) == (
        ErrorCode.INVALID_TRANSITION,
        "You already reopened this dispute once, on 11 Mar 2025, 15:00; it cannot be reopened again.",
    )
    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution) == ("closed", "withdrawn")
    assert rows() == before


@pytest.mark.parametrize(
    ("state", "resolution", "message"),
    [
        ("awaiting_seller", "", "This dispute is “Waiting for the seller”, so this cannot be done now."),
        ("closed", "rejected", "This dispute was closed as rejected on 10 Mar 2025, 15:00. That is final: no new "
                               "dispute can be opened on this item."),
        ("closed", "buyer_timeout", "This dispute closed on 10 Mar 2025, 15:00 because the goods were not shipped "
                                    "in time. That is final: no new dispute can be opened on this item."),
        ("refunded", "refunded", "This dispute is “Refunded”, so this cannot be done now."),
    ],
)
def test_only_a_withdrawn_dispute_can_be_reopened(line, state, resolution, message):
    dispute = DisputeFactory(order_line=line, state=state, resolution=resolution,
                             closed_at=OPENED_AT if state != "awaiting_seller" else None)
    before = rows()

    with pytest.raises(DomainError) as refused:
        dispute_reopen(dispute=dispute, buyer=dispute.buyer)

    assert (refused.value.code, refused.value.message) == (ErrorCode.INVALID_TRANSITION, message)
    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution) == (state, resolution)
    assert rows() == before


def test_only_the_buyer_may_reopen(dispute):
    dispute_withdraw(dispute=dispute, buyer=dispute.buyer)

    with pytest.raises(DomainError) as refused:
        dispute_reopen(dispute=dispute, buyer=BuyerFactory())

    assert refused.value.code == ErrorCode.NOT_ALLOWED
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.CLOSED


# --- messages ------------------------------------------------------------------------------


def new_notifications(before: int) -> list[tuple[int, str, str]]:
    return notes(before)


def test_the_buyer_writes_and_the_store_is_told(dispute, seller):
    before = Notification.objects.count()

    message = dispute_message_post(dispute=dispute, author=dispute.buyer, body="  When will you answer?  ")

    assert (message.dispute, message.author, message.body) == (dispute, dispute.buyer, "When will you answer?")
    assert new_notifications(before) == [
        (seller.pk, f"New message on dispute #{dispute.pk}", f"/disputes/{dispute.pk}/#messages")
    ]
    assert Notification.objects.order_by("pk").last().body == "When will you answer?"


def test_the_seller_writes_and_the_buyer_is_told(dispute, seller):
    before = Notification.objects.count()

    message = dispute_message_post(dispute=dispute, author=seller, body="Instructions follow.")

    assert message.author == seller
    assert new_notifications(before) == [
        (dispute.buyer_id, f"New message on dispute #{dispute.pk}", f"/disputes/{dispute.pk}/#messages")
    ]


def test_a_message_may_carry_a_photo(dispute, seller):
    message = dispute_message_post(dispute=dispute, author=seller, body="", files=[photo("label.png")])

    attachment = DisputeAttachment.objects.get()
    assert (attachment.dispute, attachment.message, attachment.uploaded_by) == (dispute, message, seller)
    assert attachment.content_type == "image/png"
    assert Notification.objects.order_by("pk").last().body == "A file was attached."


@pytest.mark.parametrize("who", ["seller_of_another_store", "another_buyer"])
def test_strangers_cannot_write(dispute, who):
    stranger = SellerFactory() if who == "seller_of_another_store" else BuyerFactory()
    before = rows()

    with pytest.raises(DomainError) as refused:
        dispute_message_post(dispute=dispute, author=stranger, body="Hello")

    assert (refused.value.code, refused.value.message) == (
        ErrorCode.NOT_ALLOWED,
        "You are not a party to this dispute.",
    )
    assert rows() == before


@pytest.mark.parametrize("body", ["", "   \n\t "])
def test_an_empty_message_is_refused(dispute, body):
    before = rows()

    with pytest.raises(DomainError) as refused:
        dispute_message_post(dispute=dispute, author=dispute.buyer, body=body)

    assert (refused.value.code, refused.value.message) == (ErrorCode.EMPTY_MESSAGE, "Write a message or attach a file.")
    assert rows() == before


def test_a_message_with_a_bad_file_is_refused_whole(dispute):
    before = rows()

    with pytest.raises(DomainError) as refused:
        dispute_message_post(dispute=dispute, author=dispute.buyer, body="See attached", files=[pdf()])

    assert refused.value.code == ErrorCode.INVALID_UPLOAD
    assert rows() == before


def test_timestamps_follow_the_clock(dispute):
    # The event written by a transition carries the transition's time, not the opening time.
    later = OPENED_AT + timedelta(hours=5)
    with time_machine.travel(later, tick=False):
        dispute_withdraw(dispute=dispute, buyer=dispute.buyer)

    assert dispute.events.get(kind=DisputeEvent.Kind.WITHDRAWN).created_at == later
    assert timezone.is_aware(dispute.events.get(kind=DisputeEvent.Kind.WITHDRAWN).created_at)


# --- edges found in review ------------------------------------------------------------------


def test_no_message_can_be_added_once_the_dispute_has_ended(dispute):
    dispute_withdraw(dispute=dispute, buyer=dispute.buyer)
    dispute.refresh_from_db()
    before = rows()

    with pytest.raises(DomainError) as refused:
        dispute_message_post(dispute=dispute, author=dispute.buyer, body="Hello?")

    assert refused.value.code == ErrorCode.INVALID_TRANSITION
    assert rows() == before


def test_a_staff_message_notifies_both_sides(dispute, seller):
    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="change_dispute"))
    before = set(Notification.objects.values_list("pk", flat=True))

    dispute_message_post(dispute=dispute, author=staff, body="We are looking into it.")

    told = set(Notification.objects.exclude(pk__in=before).values_list("recipient_id", flat=True))
    assert told == {dispute.buyer_id, seller.pk}


@pytest.mark.parametrize("permission", [None, "view_dispute"])
def test_the_staff_flag_alone_or_viewing_does_not_let_staff_write(dispute, permission):
    staff = StaffFactory()
    if permission:
        staff.user_permissions.add(Permission.objects.get(codename=permission))
    before = rows()

    with pytest.raises(DomainError) as refused:
        dispute_message_post(dispute=dispute, author=staff, body="We are looking into it.")

    assert (refused.value.code, refused.value.message) == (ErrorCode.NOT_ALLOWED, "You are not a party to this dispute.")
    assert rows() == before


def test_reopening_is_refused_when_local_return_is_no_longer_available(dispute):
    dispute_withdraw(dispute=dispute, buyer=dispute.buyer)
    dispute.refresh_from_db()
    dispute.order_line.product.store.warehouses.update(is_active=False)
    before = rows()

    with pytest.raises(NotEligible) as refused:
        dispute_reopen(dispute=dispute, buyer=dispute.buyer)

    assert refused.value.result.failed_codes == ("return_warehouse_in_country",)
    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution) == ("closed", "withdrawn")
    assert rows() == before


def test_reopening_is_refused_when_refunds_since_leave_less_than_the_amount(dispute):
    dispute_withdraw(dispute=dispute, buyer=dispute.buyer)
    dispute.refresh_from_db()
    line = dispute.order_line
    line.refunded_amount = Decimal("1.00")
    line.save(update_fields=["refunded_amount"])

    with pytest.raises(NotEligible) as refused:
        dispute_reopen(dispute=dispute, buyer=dispute.buyer)

    assert refused.value.result.failed_codes == ("compensation_in_range",)


def test_opening_without_an_amount_is_refused_plainly(line):
    with pytest.raises(DomainError) as refused:
        open_dispute(line, amount=None)

    assert (refused.value.code, refused.value.message) == (ErrorCode.INVALID_AMOUNT,
                                                           "Enter the compensation you ask for.")
    assert rows() == NOTHING
