"""A Russian-speaking buyer, seller and staff member read every page of the journeys in
Russian: no English sentence of ours and no internal code reaches them. Each page is
rendered in English and in Russian; any message of our catalog that shows in the English
page must not show in the Russian one. Notifications written while the server spoke English
are read in Russian."""
import html
import re
from datetime import timedelta
from pathlib import Path

import polib
import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from catalog.models import Product, Warehouse
from disputes.models import Dispute
from disputes.services import (
    dispute_escalate,
    dispute_inspect,
    dispute_message_post,
    dispute_open,
    dispute_send_instructions,
    dispute_ship,
)
from disputes import selectors
from notifications.models import Notification
from notifications.services import notification_email_send
from orders.models import OrderLine

pytestmark = pytest.mark.django_db

CATALOG = polib.pofile(str(Path(__file__).resolve().parents[2] / "locale" / "ru" / "LC_MESSAGES" / "django.po"))
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\{[^}]*\}\}")
CODES = ["not_as_expected", "changed_mind", "signs_of_use", "washed_worn_labels", "brand_packaging",
         "awaiting_seller", "awaiting_buyer_shipment", "return_in_transit", "instructions_issued", "local_return",
         "refund_only", "seller_timeout", "disputes.", "notifications.text"]


def fragments() -> set[str]:
    """The English words of our messages, as they would appear on a page: each msgid cut at its
    placeholders, pieces of three words or more (shorter ones also occur in data)."""
    pieces = set()
    for entry in CATALOG:
        if entry.obsolete:
            continue
        for source in filter(None, [entry.msgid, entry.msgid_plural]):
            for piece in PLACEHOLDER.split(source):
                piece = piece.strip(" .,:;—–-()“”\"'")
                if len(piece.split()) >= 3:
                    pieces.add(piece)
    return pieces


FRAGMENTS = fragments()


def visible_text(response) -> str:
    content = response.content.decode()
    content = re.sub(r"<(script|style)\b.*?</\1>", " ", content, flags=re.S)
    attributes = " ".join(re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', content))
    text = re.sub(r"<[^>]+>", " ", content)
    return " ".join(html.unescape(f"{text} {attributes}").split())


def english_left(client, url: str) -> tuple[list[str], str]:
    """Our English sentences that a page still shows in Russian (and the Russian page's text)."""
    english = visible_text(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    client.post(reverse("accounts:language_set"), {"language": "ru", "next": "/"})
    russian_response = client.get(url)
    assert russian_response.status_code == 200, url
    russian = visible_text(russian_response)
    client.post(reverse("accounts:language_set"), {"language": "en", "next": "/"})
    return sorted(piece for piece in FRAGMENTS if piece in english and piece in russian), russian


@pytest.fixture
def demo(time_machine):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return {name: User.objects.get(username=name) for name in ("buyer_ru", "buyer_ua", "seller", "staff")}


def line_of(number: str) -> OrderLine:
    return OrderLine.objects.get(order__number=number)


# English words our sentences are made of; the demo's data (product titles, names) has none.
ENGLISH_WORDS = re.compile(r"\b(the|you|your|please|must|will|cannot|can't|dispute|disputes|refund|refunded|seller|"
                           r"buyer|return|order|orders|deadline|send|open|closed|waiting)\b", re.IGNORECASE)


def people_wrote() -> list[str]:
    """What people typed (the demo's descriptions, messages, addresses): their words, not ours."""
    texts = [*Dispute.objects.values_list("description", flat=True),
             *Warehouse.objects.values_list("address", flat=True),
             *Warehouse.objects.values_list("name", flat=True),
             *Product.objects.values_list("description", flat=True)]
    return [text for text in texts if text]


def assert_russian(client, url: str) -> str:
    left, russian = english_left(client, url)
    assert left == [], f"{url} shows English: {left}"
    # A string nobody wrapped in a translation function is in no catalog: catch its words.
    ours = russian
    for text in people_wrote():
        ours = ours.replace(" ".join(text.split()), " ")
    found = [ours[max(0, m.start() - 60):m.end() + 60] for m in ENGLISH_WORDS.finditer(ours)]
    assert found == [], f"{url} shows English words"
    assert not [code for code in CODES if code in russian], url
    assert re.search("[а-яА-Я]{4}", russian), url
    return russian


def test_the_buyers_pages_read_in_russian(client, demo):
    buyer = demo["buyer_ru"]
    watch = Dispute.objects.get(order_line=line_of("DEMO-1002"))
    client.force_login(buyer)

    for url in [reverse("catalog:product_list"), reverse("catalog:product_list") + "?local_return=on",
                reverse("catalog:product_detail", args=[Product.objects.get(title="Oversized cotton T-shirt").pk]),
                reverse("orders:order_list"), line_of("DEMO-1001").order.get_absolute_url(),
                reverse("disputes:dispute_open", args=[line_of("DEMO-1001").pk]),
                reverse("disputes:dispute_list"), reverse("disputes:dispute_list") + "?status=all",
                watch.get_absolute_url(), reverse("notifications:list")]:
        assert_russian(client, url)


def test_a_dispute_at_every_step_reads_in_russian_to_both_sides(client, demo):
    buyer, seller, staff = demo["buyer_ru"], demo["seller"], demo["staff"]
    watch = Dispute.objects.get(order_line=line_of("DEMO-1002"))
    pages = []  # (who, url) at each step

    def look(*people):
        pages.extend((person, watch.get_absolute_url()) for person in people)

    look(buyer, seller)  # waiting for the seller: the instructions form
    dispute_send_instructions(dispute=watch, seller=seller, method="drop_off", carrier="Russian Post",
                              warehouse=Warehouse.objects.filter(store=watch.store, country="RU").first())
    look(buyer, seller)
    pages.append((buyer, reverse("disputes:return_slip", args=[watch.pk])))
    dispute_ship(dispute=watch, buyer=buyer, carrier="Russian Post", tracking_number="RR123456785RU")
    look(buyer, seller)  # the inspection checklist
    codes = selectors.enabled_condition_codes(watch.order_line.product.category)
    dispute_inspect(dispute=watch, inspector=seller, answers={c: "meets" for c in codes} | {codes[0]: "fails"},
                    notes={codes[0]: "Scratched."})
    dispute_message_post(dispute=watch, author=seller, body="Photos attached.")
    look(buyer, seller)  # rejected: accept or escalate
    dispute_escalate(dispute=watch, buyer=buyer, reason="It was new.")
    look(buyer, seller, staff)
    pages += [(staff, reverse("admin:disputes_dispute_decide", args=[watch.pk])),
              (staff, reverse("admin:index")),  # (the admin's dispute page is rebuilt by the staff issue)
              (seller, reverse("disputes:seller_desk")), (seller, reverse("disputes:seller_desk") + "?status=all"),
              (seller, reverse("orders:seller_order_list")), (seller, reverse("disputes:instruction_templates")),
              (seller, reverse("notifications:list")), (buyer, reverse("notifications:list"))]

    for person, url in pages:
        client.force_login(person)
        assert_russian(client, url)


def test_the_sellers_warehouse_pages_read_in_russian(client, demo):
    seller = demo["seller"]
    own = Warehouse.objects.filter(store=seller.store).order_by("pk")
    Warehouse.objects.filter(pk=own.last().pk).update(is_active=False)  # "Inactive" and "Reactivate" too
    client.force_login(seller)

    for url in [reverse("catalog:seller_warehouses"),
                reverse("catalog:seller_warehouse_edit", args=[own.first().pk]),
                reverse("catalog:seller_warehouse_edit", args=[own.last().pk])]:
        assert_russian(client, url)

    # A refused form, in Russian: its messages too.
    client.post(reverse("accounts:language_set"), {"language": "ru", "next": "/"})
    refused = client.post(reverse("catalog:seller_warehouses"), {"name": own.first().name, "address": "",
                                                                 "city": "", "country": "XX"})
    assert refused.status_code == 422
    text = visible_text(refused)
    assert "Tick what the warehouse does" not in text and "already have a warehouse" not in text
    assert "У вас уже есть склад" in text and "Отметьте, что делает склад" in text


def test_the_ukrainian_buyer_is_told_why_in_russian(client, demo):
    client.force_login(demo["buyer_ua"])

    russian = assert_russian(client, reverse("disputes:dispute_open", args=[line_of("DEMO-2001").pk]))

    assert "Локальный возврат недоступен" in russian


def test_notifications_written_in_english_are_read_in_russian(client, demo):
    buyer = demo["buyer_ru"]
    line = line_of("DEMO-1001")
    with translation.override("en"):  # the server, the sweep or the seller spoke English
        dispute = dispute_open(buyer=buyer, order_line=line, kind="return", route="local",
                               amount=line.refundable_amount, reason="changed_mind")
    User.objects.filter(pk=buyer.pk).update(language="ru")
    notification = Notification.objects.filter(recipient=buyer).latest("pk")
    client.force_login(buyer)

    page = visible_text(client.get(reverse("notifications:list")))
    with translation.override("en"):  # the worker's language does not matter either
        mail.outbox.clear()
        Notification.objects.filter(pk=notification.pk).update(emailed_at=None)
        assert notification_email_send(notification_id=notification.pk)

    expected_subject = f"Ваш спор по заказу {line.order.number} открыт"
    assert expected_subject in page
    assert mail.outbox[0].subject == expected_subject
    deadline = timezone.localtime(dispute.deadline_at)
    months = ("янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.", "дек.")
    assert f"{deadline.day} {months[deadline.month - 1]} {deadline.year}" in mail.outbox[0].body
    assert "Здравствуйте" in mail.outbox[0].body


def test_amounts_and_dates_read_the_russian_way(client, demo):
    client.force_login(demo["buyer_ru"])
    client.post(reverse("accounts:language_set"), {"language": "ru", "next": "/"})

    orders = visible_text(client.get(reverse("orders:order_list")))

    assert "7 490,00 ₽" in orders  # (no-break spaces, folded by visible_text)
    assert re.search(r"\d{1,2} (янв\.|февр\.|мар\.|апр\.|мая|июн\.|июл\.|авг\.|сент\.|окт\.|нояб\.|дек\.) \d{4}",
                     orders)


@pytest.mark.parametrize("days, hours, left", [(4, 23, "Осталось 4 дня"), (0, 5, "Осталось 5 часов")])
def test_the_countdown_speaks_russian(client, demo, days, hours, left):
    watch = Dispute.objects.get(order_line=line_of("DEMO-1002"))
    Dispute.objects.filter(pk=watch.pk).update(deadline_at=timezone.now() + timedelta(days=days, hours=hours,
                                                                                        minutes=30))
    client.force_login(demo["buyer_ru"])
    client.post(reverse("accounts:language_set"), {"language": "ru", "next": "/"})

    content = client.get(watch.get_absolute_url()).content.decode()

    # What the server writes, and what the page's script fills in as time passes.
    assert re.search(r'<strong class="countdown"[^>]*>([^<]*)<', content).group(1) == left
    assert 'data-days="Осталось %(n)s дн. %(h)s ч"' in content
    assert 'data-hours="Осталось %(h)s ч %(m)s мин"' in content
