"""Dispute pages through HTTP: opening (local and international), the dispute page, withdraw
and reopen, messages, private files, access rules, and query budgets that stay flat."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import BuyerFactory, SellerFactory, StaffFactory
from catalog.models import Category
from catalog.tests.factories import CategoryFactory, StoreFactory, WarehouseFactory
from disputes.models import Dispute, DisputeAttachment, DisputeEvent, DisputeMessage
from disputes.tests.factories import (
    JPEG,
    PNG,
    DisputeAttachmentFactory,
    DisputeFactory,
    disputable_line,
    pdf,
    photo,
)
from notifications.models import Notification
from orders.tests.factories import order_with_line

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # 15:00 in Moscow, the site's time zone
PAID = Decimal("2490.00")
DISPUTE_LIST = reverse("disputes:dispute_list")
ORDER_LIST = reverse("orders:order_list")
UKRAINE_REASON = "Local return is not available in Ukraine: there is no return warehouse in your country."
SELLER_HAS_NONE_IN_RUSSIA = (
    "This seller has no return warehouse in Russia, so local return is not available for this product."
)


def open_url(line) -> str:
    return reverse("disputes:dispute_open", args=[line.pk])


def detail_url(dispute) -> str:
    return reverse("disputes:dispute_detail", args=[dispute.pk])


def file_url(attachment) -> str:
    return reverse("disputes:attachment", args=[attachment.dispute_id, attachment.pk])


def local_return(**overrides) -> dict:
    return {"kind": "return", "route": "local", "amount": "2490.00", "reason": "not_as_expected",
            "description": "The colour is not what the photo showed.", **overrides}


def international_return(**overrides) -> dict:
    return local_return(route="international", **overrides)


def rows() -> dict[str, int]:
    return {
        "disputes": Dispute.objects.count(),
        "events": DisputeEvent.objects.count(),
        "attachments": DisputeAttachment.objects.count(),
        "messages": DisputeMessage.objects.count(),
        "notifications": Notification.objects.count(),
    }


NOTHING = {"disputes": 0, "events": 0, "attachments": 0, "messages": 0, "notifications": 0}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def store():
    store = StoreFactory(name="Golden Dragon Trading")
    WarehouseFactory(store=store, country="RU", city="Podolsk", name="Golden Dragon returns, Podolsk")
    return store


@pytest.fixture
def seller(store):
    return SellerFactory(store=store)


@pytest.fixture
def buyer(client):
    """The demo's buyer in Russia, signed in."""
    buyer = BuyerFactory(country="RU")
    client.force_login(buyer)
    return buyer


@pytest.fixture
def line(buyer, store):
    """A T-shirt the buyer received yesterday; the seller offers local return."""
    return disputable_line(buyer=buyer, store=store, price=PAID, warehouse_country=None)


@pytest.fixture
def ua_buyer(client):
    buyer = BuyerFactory(country="UA")
    client.force_login(buyer)
    return buyer


@pytest.fixture
def ua_line(ua_buyer, store):
    line = disputable_line(buyer=ua_buyer, store=store, price=PAID, warehouse_country=None)
    assert line.order.delivery_country == "UA"
    return line


# --- the opening form ----------------------------------------------------------------------


def test_the_russian_buyer_sees_where_a_local_return_goes_and_what_is_checked(client, line):
    response = client.get(open_url(line))

    assert response.status_code == 200
    options = response.context["options"]
    assert options.can_open and options.local_return_available
    assert options.destination.city == "Podolsk"
    content = response.content.decode()
    assert (
        "Your return will go to a return warehouse in Podolsk, Russia (operated by Golden Dragon Trading)."
    ) in content
    codes = [condition.code for condition in options.conditions]
    assert codes == ["brand_packaging", "completeness", "signs_of_use", "washed_worn_labels", "item_identity"]
    assert "<li>Not washed, not worn, labels not torn off.</li>" in content
    assert "original brand packaging is opened" not in content
    assert "washed_worn_labels" not in content  # codes are for machines, never shown
    # Pre-filled with the price paid, never more; local return chosen.
    assert 'name="amount" value="2490.00"' in content
    assert 'value="local" id="id_route_0" checked' in content
    assert UKRAINE_REASON not in content


def test_cosmetics_that_cannot_be_returned_once_opened_show_the_sealed_packaging_condition(client, buyer, store):
    skin_care = CategoryFactory(name="Skin care", kind=Category.Kind.COSMETICS, not_returnable_once_opened=True)
    line = disputable_line(buyer=buyer, store=store, category=skin_care, warehouse_country=None)

    response = client.get(open_url(line))

    codes = [condition.code for condition in response.context["options"].conditions]
    assert codes == ["sealed_packaging_opened", "brand_packaging", "completeness", "signs_of_use", "item_identity"]
    content = response.content.decode()
    assert ("<li>Goods that cannot be sold again once the original brand packaging is opened (hygiene, cosmetics, "
            "underwear…) must come back with that packaging unopened.</li>") in content
    assert "Not washed, not worn" not in content
    assert "sealed_packaging_opened" not in content


def test_a_local_return_without_a_file_opens_and_the_seller_has_five_days(client, buyer, line, seller):
    response = client.post(open_url(line), local_return())

    dispute = Dispute.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(dispute)
    assert (dispute.buyer, dispute.order_line, dispute.kind, dispute.route) == (buyer, line, "return", "local")
    assert dispute.amount == PAID
    assert dispute.created_at == NOW
    assert dispute.deadline_at == NOW + timedelta(days=5)
    assert DisputeAttachment.objects.count() == 0

    page = client.get(response["Location"])

    content = page.content.decode()
    assert "The seller must send return instructions (where, how, and by when)." in content
    assert '<time datetime="2025-03-15T15:00:00+03:00">15 Mar 2025, 15:00</time>' in content
    assert "5 days left" in content
    assert "Your dispute is open. The seller has been notified." in messages_of(page)


def test_a_ukrainian_buyer_sees_local_return_disabled_and_why(client, ua_line):
    response = client.get(open_url(ua_line))

    assert response.status_code == 200
    assert response.context["options"].can_open is True
    assert response.context["options"].local_return_available is False
    content = response.content.decode()
    assert 'value="local" id="id_route_0" disabled aria-describedby="local-return-reasons"' in content
    # Exactly the reason: the seller's warehouse in Russia is no help to a buyer in Ukraine.
    assert f"<li>{UKRAINE_REASON}</li>" in content
    assert response.context["options"].local_return.messages == (UKRAINE_REASON,)
    assert '<input type="radio" name="route" value="international" id="id_route_1" checked>' in content


def test_a_russian_buyer_is_told_when_this_seller_has_no_return_warehouse_in_russia(client, buyer, store):
    """Another store takes returns in Russia, the marketplace does not, and this seller has
    none there: the form names the seller, not the buyer's country, as the reason."""
    other_store = StoreFactory(name="Bosphorus Textiles")
    line = disputable_line(buyer=buyer, store=other_store, price=PAID, warehouse_country=None)

    response = client.get(open_url(line))

    assert response.status_code == 200
    options = response.context["options"]
    assert options.can_open is True
    assert options.local_return_available is False
    assert options.local_return.messages == (SELLER_HAS_NONE_IN_RUSSIA,)
    content = response.content.decode()
    assert 'value="local" id="id_route_0" disabled aria-describedby="local-return-reasons"' in content
    assert f"<li>{SELLER_HAS_NONE_IN_RUSSIA}</li>" in content
    assert "there is no return warehouse in your country" not in content


def test_a_ukrainian_buyer_posting_a_local_return_anyway_is_refused(client, ua_line):
    response = client.post(open_url(ua_line), local_return())

    assert response.status_code == 422
    assert response.context["form"].errors["route"] == ["Local return is not available for this item; see why above."]
    assert rows() == NOTHING


def test_a_ukrainian_buyer_opens_an_international_return_with_a_photo(client, ua_buyer, ua_line):
    upload = SimpleUploadedFile("IMG_2041.jpg", JPEG, content_type="image/jpeg")

    response = client.post(open_url(ua_line), international_return(evidence=upload))

    dispute = Dispute.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(dispute)
    assert (dispute.buyer, dispute.route) == (ua_buyer, "international")
    attachment = DisputeAttachment.objects.get()
    assert (attachment.dispute, attachment.message, attachment.content_type) == (dispute, None, "image/jpeg")
    assert attachment.original_name == "IMG_2041.jpg"


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("0", "The compensation must be more than zero."),
        ("-5", "The compensation must be more than zero."),
        ("2490.01", "The compensation cannot be more than 2,490.00\u00a0₽, what you paid for this item minus refunds."),
        ("12.345", "Amounts in RUB can have at most 2 decimal places."),
        ("abc", "Enter an amount like 1,234.56."),
        ("1e999", "Enter an amount like 1,234.56."),
        ("1e309", "Enter an amount like 1,234.56."),
        ("١٢٣", "Enter an amount like 1,234.56."),
        ("99999999999999999", "This amount is too large."),
        ("Infinity", "Enter an amount like 1,234.56."),
        ("NaN", "Enter an amount like 1,234.56."),
        ("", "This field is required."),
    ],
)
def test_a_bad_compensation_is_a_form_error_never_a_500(client, line, amount, error):
    response = client.post(open_url(line), local_return(amount=amount))

    assert response.status_code == 422
    assert response.context["form"].errors["amount"] == [error]
    assert rows() == NOTHING


def test_the_limit_is_what_was_paid_minus_refunds(client, line):
    line.refunded_amount = Decimal("490.00")
    line.save(update_fields=["refunded_amount"])

    refused = client.post(open_url(line), local_return(amount="2000.01"))
    accepted = client.post(open_url(line), local_return(amount="2000.00"))

    assert refused.status_code == 422
    assert refused.context["form"].errors["amount"] == [
        "The compensation cannot be more than 2,000.00\u00a0₽, what you paid for this item minus refunds."
    ]
    assert accepted.status_code == 302
    assert Dispute.objects.get().amount == Decimal("2000.00")


def test_a_currency_without_minor_units_accepts_the_prefilled_whole_amount_and_refuses_cents(client, buyer, store):
    line = disputable_line(buyer=buyer, store=store, price=Decimal("1500"), warehouse_country=None)
    line.order.currency = "JPY"
    line.order.save(update_fields=["currency"])

    form_page = client.get(open_url(line))
    cents = client.post(open_url(line), local_return(amount="999.50"))
    whole = client.post(open_url(line), local_return(amount="1500"))

    # The form follows the currency's minor units: whole yen are prefilled, cents refused on the field.
    assert 'name="amount" value="1500"' in form_page.content.decode()
    assert cents.status_code == 422
    assert cents.context["form"].errors["amount"] == ["Amounts in JPY have no decimal places."]
    assert whole.status_code == 302
    assert Dispute.objects.get().amount == Decimal("1500")


@pytest.fixture
def yen_line(buyer, store):
    """A 1,500 yen line: yen have no decimal places."""
    line = disputable_line(buyer=buyer, store=store, price=Decimal("1500"), warehouse_country=None)
    line.order.currency = "JPY"
    line.order.save(update_fields=["currency"])
    return line


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("999.50", "Amounts in JPY have no decimal places."),
        ("999,50", "Amounts in JPY have no decimal places."),
        ("1e309", "Enter an amount like 1,234."),
        ("1501", "The compensation cannot be more than 1,500\u00a0¥, what you paid for this item minus refunds."),
    ],
)
def test_a_yen_compensation_with_cents_or_in_no_known_notation_is_refused_plainly(client, yen_line, amount, error):
    response = client.post(open_url(yen_line), local_return(amount=amount))

    assert response.status_code == 422
    assert response.context["form"].errors["amount"] == [error]
    assert rows() == NOTHING


@pytest.mark.parametrize("amount", ["1000", "1 000", "1,000", "1\u00a0000"])
def test_a_yen_compensation_in_whole_yen_is_accepted_with_or_without_grouping(client, yen_line, amount):
    response = client.post(open_url(yen_line), local_return(amount=amount))

    assert response.status_code == 302
    assert Dispute.objects.get().amount == Decimal("1000")


def test_the_opening_form_reads_and_writes_amounts_the_russian_way(client, line):
    client.cookies["django_language"] = "ru"

    page = client.get(open_url(line))
    refused = client.post(open_url(line), local_return(amount="2 490,01"))
    accepted = client.post(open_url(line), local_return(amount="2 490,00"))

    assert 'name="amount" value="2490,00" inputmode="decimal"' in page.content.decode()
    assert refused.context["form"].errors["amount"] == [
        "Компенсация не может быть больше 2\u00a0490,00\u00a0₽ — это сумма, которую вы заплатили за товар, за "
        "вычетом уже возвращённых денег."
    ]
    assert accepted.status_code == 302
    assert Dispute.objects.get().amount == PAID


def test_submitting_twice_opens_one_dispute(client, line):
    first = client.post(open_url(line), local_return())
    second = client.post(open_url(line), local_return())

    dispute = Dispute.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == detail_url(dispute)
    assert DisputeEvent.objects.count() == 1
    assert "This item already has an open dispute." in messages_of(client.get(second["Location"]))


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_buyers_line_is_not_found(client, buyer, store, method):
    strangers_line = disputable_line(store=store, warehouse_country=None)

    response = getattr(client, method)(open_url(strangers_line), local_return())

    assert response.status_code == 404
    assert rows() == NOTHING


def test_an_undelivered_line_cannot_be_disputed(client, buyer, store):
    order = order_with_line(buyer=buyer, store=store, shipped=True)

    page = client.get(open_url(order.lines.get()))
    posted = client.post(open_url(order.lines.get()), local_return(amount="1000.00"))

    assert page.status_code == 200
    assert "A dispute cannot be opened on this item" in page.content.decode()
    assert "Confirm that you received the order first" in page.content.decode()
    assert posted.status_code == 422
    assert rows() == NOTHING


@pytest.mark.parametrize(
    ("upload", "error"),
    [
        (pdf("receipt.pdf"), "“receipt.pdf” is not a photo or a video."),
        (SimpleUploadedFile("photo.jpg", b"just some text, honestly a photo", content_type="image/jpeg"),
         "“photo.jpg” is not a photo or a video."),
        (SimpleUploadedFile("empty.jpg", b"", content_type="image/jpeg"), "“empty.jpg” is empty."),
    ],
)
def test_an_upload_that_is_not_a_photo_or_video_is_refused(client, line, upload, error):
    response = client.post(open_url(line), international_return(evidence=upload))

    assert response.status_code == 422
    assert response.context["form"].errors["evidence"] == [error]
    assert error in response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert rows() == NOTHING


def test_a_too_large_upload_is_refused(client, line, settings):
    settings.EVIDENCE_MAX_BYTES = 500  # the JPEG is 645 bytes

    response = client.post(
        open_url(line), international_return(evidence=SimpleUploadedFile("big.jpg", JPEG, content_type="image/jpeg"))
    )

    assert response.status_code == 422
    assert response.context["form"].errors["evidence"] == [
        "“big.jpg” is too large: the limit is 500\xa0bytes per file."
    ]
    assert rows() == NOTHING


def test_an_international_return_without_a_photo_is_refused(client, line):
    response = client.post(open_url(line), international_return())

    assert response.status_code == 422
    assert response.context["form"].errors["evidence"] == ["Attach at least one photo or video showing the problem."]
    assert rows() == NOTHING


# --- My disputes ---------------------------------------------------------------------------


def test_my_disputes_lists_only_mine_filtered_by_open_or_closed(client, buyer, store):
    open_one = DisputeFactory(order_line=disputable_line(buyer=buyer, store=store, warehouse_country=None))
    closed_one = DisputeFactory(order_line=disputable_line(buyer=buyer, store=store, warehouse_country=None),
                                withdrawn=True)
    strangers = DisputeFactory()  # another buyer's, open

    default = client.get(DISPUTE_LIST)
    opened = client.get(DISPUTE_LIST, {"status": "open"})
    closed = client.get(DISPUTE_LIST, {"status": "closed"})
    everything = client.get(DISPUTE_LIST, {"status": "all"})
    nonsense = client.get(DISPUTE_LIST, {"status": "mine-and-theirs"})

    def listed(response):
        assert response.status_code == 200
        return list(response.context["page"].object_list)

    assert listed(default) == listed(opened) == listed(nonsense) == [open_one]
    assert listed(closed) == [closed_one]
    assert set(listed(everything)) == {open_one, closed_one}
    assert f'href="{detail_url(strangers)}"' not in everything.content.decode()


def test_my_disputes_is_for_buyers(client, seller):
    client.force_login(seller)

    assert client.get(DISPUTE_LIST).status_code == 403


# --- the dispute page and its files: who may see what ------------------------------------


@pytest.fixture
def dispute(line):
    dispute = DisputeFactory(order_line=line, route=Dispute.Route.INTERNATIONAL)
    DisputeAttachmentFactory(dispute=dispute)
    return dispute


@pytest.mark.parametrize(
    ("who", "status"),
    [("buyer", 200), ("store_seller", 200), ("staff", 200), ("other_buyer", 404), ("other_seller", 404),
     ("staff_without_permission", 404)],
)
def test_the_dispute_page_is_shown_only_to_its_parties_and_staff(client, dispute, seller, who, status):
    viewer = {
        "buyer": dispute.buyer,
        "store_seller": seller,
        "staff": StaffFactory(permissions=["disputes.view_dispute"]),
        "other_buyer": BuyerFactory(),
        "other_seller": SellerFactory(),
        "staff_without_permission": StaffFactory(),  # the staff flag alone grants nothing
    }[who]
    client.force_login(viewer)

    response = client.get(detail_url(dispute))

    assert response.status_code == status
    if status == 404:
        assert dispute.order_line.title not in response.content.decode()


@pytest.mark.parametrize(
    ("who", "status"),
    [("buyer", 200), ("store_seller", 200), ("staff", 200), ("other_buyer", 404), ("other_seller", 404),
     ("staff_without_permission", 404)],
)
def test_evidence_files_are_served_only_to_the_parties_and_staff(client, dispute, seller, who, status):
    attachment = dispute.attachments.get()
    viewer = {
        "buyer": dispute.buyer,
        "store_seller": seller,
        "staff": StaffFactory(permissions=["disputes.view_dispute"]),
        "other_buyer": BuyerFactory(),
        "other_seller": SellerFactory(),
        "staff_without_permission": StaffFactory(),  # the staff flag alone grants nothing
    }[who]
    client.force_login(viewer)

    response = client.get(file_url(attachment))

    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == PNG


def test_a_file_is_not_found_under_another_dispute(client, dispute, line):
    other = DisputeFactory(order_line=disputable_line(buyer=dispute.buyer, store=line.order.store,
                                                      warehouse_country=None))
    attachment = dispute.attachments.get()

    response = client.get(reverse("disputes:attachment", args=[other.pk, attachment.pk]))

    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, dispute):
    client.logout()

    page = client.get(detail_url(dispute))
    file = client.get(file_url(dispute.attachments.get()))

    assert page.status_code == file.status_code == 302
    assert page["Location"].startswith(reverse("account_login"))


# --- withdraw, reopen, messages ----------------------------------------------------------


def test_withdrawing_says_it_is_not_a_settlement_and_offers_reopening(client, line, seller):
    client.post(open_url(line), local_return())
    dispute = Dispute.objects.get()
    before = client.get(detail_url(dispute)).content.decode()

    response = client.post(reverse("disputes:dispute_withdraw", args=[dispute.pk]), follow=True)

    assert ("It is not a settlement: you can reopen it once while buyer protection lasts, and it continues where it "
            "stopped.") in before
    assert response.redirect_chain == [(detail_url(dispute), 302)]
    content = response.content.decode()
    assert "You withdrew the dispute. It is closed without a refund, not settled." in content
    assert "You can reopen it once, until 24 Mar 2025; it continues where it stopped." in content
    assert "Reopen dispute" in content and "Withdraw dispute" not in content
    assert messages_of(response) == [
        "You withdrew the dispute. It is closed without a refund; you can reopen it once while buyer protection "
        "lasts."
    ]
    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolution) == ("closed", "withdrawn")

    reopened = client.post(reverse("disputes:dispute_reopen", args=[dispute.pk]), follow=True)

    dispute.refresh_from_db()
    assert (dispute.state, dispute.deadline_at) == ("awaiting_seller", NOW + timedelta(days=5))
    assert messages_of(reopened) == [
        "The dispute is open again where it stopped: Waiting for the seller. The seller has been notified."]
    assert "Withdraw dispute" in reopened.content.decode()


def test_withdrawing_is_post_only_and_for_the_buyer(client, dispute, seller):
    assert client.get(reverse("disputes:dispute_withdraw", args=[dispute.pk])).status_code == 405
    client.force_login(seller)

    response = client.post(reverse("disputes:dispute_withdraw", args=[dispute.pk]))

    assert response.status_code == 403
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.AWAITING_SELLER


def test_another_buyer_cannot_withdraw(client, dispute):
    client.force_login(BuyerFactory())

    response = client.post(reverse("disputes:dispute_withdraw", args=[dispute.pk]))

    assert response.status_code == 404
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.AWAITING_SELLER


def test_no_reopen_button_after_buyer_protection_ended(client, dispute, clock):
    client.post(reverse("disputes:dispute_withdraw", args=[dispute.pk]), follow=True)
    clock.move_to(NOW + timedelta(days=15), tick=False)
    client.force_login(dispute.buyer)  # the two-week session expired meanwhile

    page = client.get(detail_url(dispute)).content.decode()
    refused = client.post(reverse("disputes:dispute_reopen", args=[dispute.pk]), follow=True)

    assert "Reopen dispute" not in page
    assert refused.redirect_chain == [(detail_url(dispute), 302)]
    [refusal] = messages_of(refused)
    assert refusal.startswith("Buyer protection for this order ended on ")
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.CLOSED


def test_a_message_with_a_photo_appears_in_the_thread(client, dispute, seller):
    response = client.post(
        reverse("disputes:dispute_message", args=[dispute.pk]),
        {"body": "Here is the label, torn.", "files": photo("label.png")},
    )

    assert response.status_code == 302
    assert response["Location"] == detail_url(dispute) + "#messages"
    message = DisputeMessage.objects.get()
    attachment = message.attachments.get()
    assert (message.author, attachment.content_type) == (dispute.buyer, "image/png")
    assert list(Notification.objects.values_list("recipient", flat=True)) == [seller.pk]
    content = client.get(detail_url(dispute)).content.decode()
    assert "Here is the label, torn." in content
    assert f'<img src="{file_url(attachment)}" alt="label.png"' in content


def test_the_stores_seller_answers_in_the_thread(client, dispute, seller):
    client.force_login(seller)

    response = client.post(reverse("disputes:dispute_message", args=[dispute.pk]), {"body": "Send it back, please."})

    assert response.status_code == 302
    assert DisputeMessage.objects.get().author == seller
    assert list(Notification.objects.values_list("recipient", flat=True)) == [dispute.buyer_id]


def test_an_empty_message_or_a_bad_file_is_refused(client, dispute):
    empty = client.post(reverse("disputes:dispute_message", args=[dispute.pk]), {"body": "   "})
    bad_file = client.post(reverse("disputes:dispute_message", args=[dispute.pk]),
                           {"body": "See the receipt", "files": pdf("receipt.pdf")})

    assert empty.status_code == bad_file.status_code == 422
    assert empty.context["message_form"].non_field_errors() == ["Write a message or attach a file."]
    assert bad_file.context["message_form"].errors["files"] == ["“receipt.pdf” is not a photo or a video."]
    assert DisputeMessage.objects.count() == 0
    assert DisputeAttachment.objects.count() == 1  # only the dispute's own evidence


def test_a_stranger_cannot_post_a_message(client, dispute):
    client.force_login(SellerFactory())

    response = client.post(reverse("disputes:dispute_message", args=[dispute.pk]), {"body": "Hi"})

    assert response.status_code == 404
    assert DisputeMessage.objects.count() == 0


# --- My orders -----------------------------------------------------------------------------


def test_my_orders_offers_a_dispute_in_protection_and_links_an_open_one(client, buyer, store, line):
    disputed = disputable_line(buyer=buyer, store=store, warehouse_country=None)
    dispute = DisputeFactory(order_line=disputed)
    not_delivered = order_with_line(buyer=buyer, store=store, shipped=True).lines.get()

    content = client.get(ORDER_LIST).content.decode()

    assert f'href="{open_url(line)}">Open dispute</a>' in content
    assert f'href="{detail_url(dispute)}">Dispute #{dispute.pk}</a>' in content
    assert open_url(disputed) not in content
    assert open_url(not_delivered) not in content
    assert "Protection starts when you confirm receipt" in content


# --- query budgets: flat however much data there is ------------------------------------------


def add_timeline(dispute, count: int, actors) -> None:
    DisputeEvent.objects.bulk_create(
        DisputeEvent(dispute=dispute, actor=actors[i % len(actors)], kind=DisputeEvent.Kind.REOPENED,
                     from_state="awaiting_seller", to_state="awaiting_seller")
        for i in range(count)
    )


def add_thread(dispute, count: int, authors) -> None:
    messages = DisputeMessage.objects.bulk_create(
        DisputeMessage(dispute=dispute, author=authors[i % len(authors)], body=f"Message {i}") for i in range(count)
    )
    # Two files per message; the page only links them, so the rows need no bytes on disk.
    DisputeAttachment.objects.bulk_create(
        DisputeAttachment(dispute=dispute, message=message, uploaded_by=message.author, file=f"disputes/{n}.png",
                          original_name=f"{n}.png", content_type="image/png" if n % 2 else "video/mp4", size=1)
        for message in messages
        for n in (2 * message.pk, 2 * message.pk + 1)
    )


# Session, user, the bell's unread count, the dispute (one join, with its instructions,
# shipment and inspection), events, messages, their attachments, loose files (evidence and
# inspection photos), refunds.
DETAIL_BUDGET = 9
# A seller's page adds their store for the header and, while the seller must answer, the
# answer form's default instructions (the warehouse and the store's template for it, as the
# system would issue them), warehouse options and instruction templates.
SELLER_DETAIL_BUDGET = 14


def test_the_dispute_page_costs_the_same_with_3_or_300_timeline_events(client, line, seller):
    small = DisputeFactory(order_line=line)
    large = DisputeFactory(order_line=disputable_line(buyer=line.order.buyer, store=line.order.store,
                                                      warehouse_country=None))
    actors = [line.order.buyer, seller, StaffFactory(), None]
    add_timeline(small, 3, actors)
    add_timeline(large, 300, actors)

    with_3 = query_count(client, detail_url(small))
    with_300 = query_count(client, detail_url(large))

    # Measured (SQLite and PostgreSQL): 8 and 8 — no messages, so no attachment prefetch.
    assert with_3 == with_300 <= DETAIL_BUDGET


def test_the_dispute_page_costs_the_same_with_3_or_100_messages_with_files(client, line, seller):
    small = DisputeFactory(order_line=line)
    large = DisputeFactory(order_line=disputable_line(buyer=line.order.buyer, store=line.order.store,
                                                      warehouse_country=None))
    authors = [line.order.buyer, seller, StaffFactory()]
    add_thread(small, 3, authors)
    add_thread(large, 100, authors)

    with_3 = query_count(client, detail_url(small))
    with_100 = query_count(client, detail_url(large))

    # Measured (SQLite and PostgreSQL): 9 and 9 — the messages' attachments are one prefetch.
    assert with_3 == with_100 <= DETAIL_BUDGET


def test_the_seller_view_of_a_busy_dispute_costs_the_same(client, line, seller):
    small = DisputeFactory(order_line=line)
    large = DisputeFactory(order_line=disputable_line(buyer=line.order.buyer, store=line.order.store,
                                                      warehouse_country=None))
    people = [line.order.buyer, seller]
    add_timeline(small, 3, people)
    add_thread(small, 3, people)
    add_timeline(large, 300, people)
    add_thread(large, 100, people)
    client.force_login(seller)

    # Measured (SQLite and PostgreSQL): 13 and 13 (300 events, 100 messages with 200 files on the large one).
    assert query_count(client, detail_url(small)) == query_count(client, detail_url(large)) <= SELLER_DETAIL_BUDGET


def test_my_disputes_costs_the_same_with_5_or_100_disputes(client, buyer, store):
    def make_disputes(count: int) -> None:
        # Closed disputes may share a line; each line's own store and product are read with it.
        for _ in range(count // 5):
            line = disputable_line(buyer=buyer, store=StoreFactory(), warehouse_country=None)
            DisputeFactory.create_batch(5, order_line=line, withdrawn=True)

    make_disputes(5)
    with_5 = query_count(client, DISPUTE_LIST + "?status=all")
    make_disputes(95)
    with_100 = query_count(client, DISPUTE_LIST + "?status=all")

    # Measured (SQLite and PostgreSQL): 5 and 5 — session, user, COUNT, unread count, one page of 20.
    assert with_5 == with_100 <= 5


def test_my_orders_costs_the_same_with_disputes_on_2_or_12_orders(client, buyer, store):
    def make_orders(count: int) -> None:
        for i in range(count):
            line = disputable_line(buyer=buyer, store=store, warehouse_country=None)
            DisputeFactory(order_line=line, withdrawn=i % 3 == 0)
            if i % 2:
                DisputeFactory(order_line=line, withdrawn=True)  # an older, closed one on the same line

    make_orders(2)
    with_2 = query_count(client, ORDER_LIST)
    make_orders(10)
    with_12 = query_count(client, ORDER_LIST)

    # Measured (SQLite and PostgreSQL): 7 and 7 — session, user, COUNT, unread count, orders with
    # stores, their lines with products, the lines' disputes (one prefetch each).
    assert with_2 == with_12 <= 7


def test_staff_read_the_next_step_in_the_third_person(client, dispute):
    client.force_login(StaffFactory(permissions=["disputes.view_dispute"]))

    page = client.get(detail_url(dispute)).content.decode()

    # An international return: the seller may also accept, counter-offer or reject.
    assert "The seller must send return instructions, or accept, make a counter-offer or reject." in page
    assert "You must" not in page
